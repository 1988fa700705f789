"""verify: the target holds what the source held, and every difference is named (real MariaDB
and PostgreSQL targets)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from bascule import api
from bascule.dbutil import make_engine
from bascule.load.dialects import dialect_for
from bascule.load.target import inspect_target
from bascule.run.compare import RANGE_DENSITY, normalize

from helpers import execute, make_source, make_target, rows, settings_for


@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_verify_names_a_changed_and_a_missing_row(db_factory, tmp_path, kind):
    src = make_source(db_factory("mysql"))
    tgt = make_target(db_factory(kind), "2023")
    s = settings_for(src, tgt, tmp_path)
    assert api.migrate(s).ok
    assert api.verify(s).ok
    pid = rows(tgt, 'SELECT MAX(id) FROM "Product"')[0][0]
    oid = rows(tgt, 'SELECT MAX(id) FROM "UserOrder"')[0][0]
    execute(tgt, 'UPDATE "Product" SET price = price + 1 WHERE id = :p', p=pid)
    execute(tgt, 'DELETE FROM "UserOrder" WHERE id = :o', o=oid)
    ver = api.verify(s)
    assert not ver.ok
    got = {(d.kind, d.table, d.target_id, d.column) for d in ver.differences}
    assert ("changed", "Product", pid, "price") in got
    assert ("missing", "UserOrder", oid, None) in got


def test_verify_names_source_rows_added_and_deleted_since_the_migrate(db_factory, tmp_path):
    """A source row with no id-map entry is missing; a moved row gone from the source is extra
    (until migrate --prune)."""
    src = make_source(db_factory("mysql"))
    tgt = make_target(db_factory("postgresql"), "head")
    s = settings_for(src, tgt, tmp_path)
    assert api.migrate(s).ok
    gid = rows(src, 'SELECT MIN(id) FROM "Group" WHERE (flags & 2) = 0')[0][0]
    execute(src, 'INSERT INTO "Place" (name, "zipCode", city, "groupId") VALUES '
                 f"('Nouveau lieu', '44000', 'Nantes', {gid})")
    oid = rows(src, 'SELECT MAX(o.id) FROM "UserOrder" o JOIN "Product" p ON p.id = o."productId" '
                    f'JOIN "Catalog" k ON k.id = p."catalogId" WHERE k."groupId" = {gid}')[0][0]
    execute(src, 'DELETE FROM "UserOrder" WHERE id = :o', o=oid)
    ver = api.verify(s)
    kinds = {(d.kind, d.table) for d in ver.differences}
    assert kinds == {("missing", "Place"), ("extra", "UserOrder")}
    assert any(d.kind == "extra" and d.source_id == oid for d in ver.differences)
    assert api.migrate(s, prune=True).ok
    assert api.verify(s).ok


@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_verify_fetches_by_range_or_by_list_alike(db_factory, tmp_path, kind):
    """verify fetches a chunk of target rows by id range when the ids are dense, by id list when
    not; rows of the range that were not asked for (other groups) are left out either way."""
    src = make_source(db_factory("mysql"))
    tgt = make_target(db_factory(kind), "2023")
    s = settings_for(src, tgt, tmp_path)
    assert api.migrate(s).ok
    ids = [r[0] for r in rows(tgt, 'SELECT id FROM "UserOrder" ORDER BY id')]
    assert len(ids) > 40
    gone = ids[10]
    execute(tgt, 'DELETE FROM "UserOrder" WHERE id = :o', o=gone)
    every_other = ids[:40:2]  # span 39 for 20 ids: dense enough for a range
    eng = make_engine(tgt)
    table = inspect_target(eng).tables["UserOrder"]
    dialect = dialect_for(eng)
    got = {}
    with eng.connect() as conn:
        for density in (0, RANGE_DENSITY, 10**9):  # list always, the default, range always
            for name, keys in (("dense", every_other), ("sparse", [ids[0], ids[-1]])):
                got[density, name] = dialect.fetch_by_ids(
                    conn, table, ["id"], ["quantity", "userId"], [(i,) for i in keys], density)
    eng.dispose()
    assert set(got[0, "dense"]) == {(i,) for i in every_other if i != gone}
    assert set(got[0, "sparse"]) == {(ids[0],), (ids[-1],)}
    for density in (RANGE_DENSITY, 10**9):
        assert got[density, "dense"] == got[0, "dense"]
        assert got[density, "sparse"] == got[0, "sparse"]


def test_verify_refuses_a_target_bascule_never_wrote(db_factory, tmp_path):
    src = make_source(db_factory("mysql"))
    tgt = make_target(db_factory("sqlite"), "head")
    with pytest.raises(api.MigrationError, match="nothing was migrated into this target yet"):
        api.verify(settings_for(src, tgt, tmp_path))


def test_normalize_makes_engine_values_comparable():
    assert normalize(True) == 1 and normalize(2.0) == 2 and normalize(Decimal("2.50")) == "2.5"
    assert normalize(dt.datetime(2023, 3, 14, 8, 0, 0, 123)) == "2023-03-14 08:00:00"
    assert normalize(b"ab") == normalize(memoryview(b"ab")) != normalize(b"ac")
    assert normalize(None) is None and normalize("x") == "x"
