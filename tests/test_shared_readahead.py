"""The shared-row pass reads its next chunk while it builds and writes the current one
(``run.shared_pass``): a row that the current chunk handles meanwhile (a vendor's logo that a
product shows too) is not read again, so it is written once."""

from __future__ import annotations

import pytest

from bascule import api
from bascule.extract.closure import UnitRead
from bascule.model.tables import MIGRATION
from bascule.plan.changeset import ExistingEntries

from helpers import execute, idmap_entries, make_source, make_target, rows, settings_for
from test_plan_build import planner, state


def test_a_row_handled_meanwhile_is_dropped_from_the_read_ahead():
    # the planner skips a shared row read ahead that the chunk before handled meanwhile
    st = state()
    st.apply(planner(st).build([], UnitRead({t: [] for t in MIGRATION.group}, {}, {},
                                            {"File": {5}, "User": set(), "Vendor": set()},
                                            {"File": [{"id": 5}], "User": [], "Vendor": []}),
                               ExistingEntries(), st)[1])
    pre = UnitRead({t: [] for t in MIGRATION.group}, {}, {},
                   {"File": {5, 6}, "User": set(), "Vendor": set()},
                   {"File": [{"id": 5}, {"id": 6}], "User": [], "Vendor": []})
    cs, _delta = planner(st).build([], pre, ExistingEntries(), st)
    f = cs.tables["File"]
    assert [row[f.columns.index("id")] for row in f.inserts] == [1001]  # file 6 alone
    assert st.shared_id("File", 5) == 1000


@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_a_vendor_logo_shown_by_a_product_is_written_once(db_factory, tmp_path, kind):
    src = make_source(db_factory("mysql"))
    logo = rows(src, "SELECT v.imageId FROM Vendor v JOIN Catalog c ON c.vendorId = v.id "
                     "JOIN `Group` g ON g.id = c.groupId WHERE v.imageId IS NOT NULL "
                     "AND (g.flags & 2) = 0 ORDER BY v.id LIMIT 1")[0][0]
    execute(src, "UPDATE Product p JOIN Catalog c ON c.id = p.catalogId "
                 "JOIN `Group` g ON g.id = c.groupId SET p.imageId = :f "
                 "WHERE (g.flags & 2) = 0", f=logo)
    tgt = make_target(db_factory(kind), "head")
    r = api.migrate(settings_for(src, tgt, tmp_path, workers=2, batch_size=1))
    assert r.ok and r.workers == 2 and not r.shared_failed
    files = [e for e in idmap_entries(tgt, "File")]
    assert len({e[1] for e in files}) == len(files)  # one entry per source file
    assert rows(tgt, 'SELECT COUNT(*) FROM "File"')[0][0] == len(files)
    new_logo = {e[2] for e in files if e[1] == logo}
    assert len(new_logo) == 1
    shown = rows(tgt, 'SELECT DISTINCT "imageId" FROM "Product" WHERE "imageId" IS NOT NULL')
    assert {v for (v,) in shown} == new_logo
