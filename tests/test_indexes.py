"""secondary_indexes=after: on a PostgreSQL or MariaDB target, the secondary indexes of the empty
tables are dropped before the data and built again after it; a run that dies leaves them
recorded, and the next run puts them back first."""

from __future__ import annotations

from io import StringIO

import pytest
from rich.console import Console
from sqlalchemy import text

from bascule import api
from bascule.config import load_settings
from bascule.dbutil import make_engine
from bascule.load import indexes
from bascule.load.bookkeeping import ensure_bookkeeping
from bascule.model.tables import MIGRATION
from bascule.report import print_report, to_markdown

from faults import run_and_kill
from helpers import execute, make_source, make_target, rows, settings_for

REQUIRED_TARGET_TABLES = MIGRATION.order


def index_defs(url) -> dict[str, str]:
    """Every index of the Camap tables (bascule's own left out): name -> definition."""
    if url.startswith("mysql"):
        defs: dict[str, list] = {}
        for t, n, nu, typ, col, sub in rows(
                url, "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, INDEX_TYPE, COLUMN_NAME, SUB_PART "
                     "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND "
                     "TABLE_NAME NOT LIKE 'bascule%' ORDER BY TABLE_NAME, INDEX_NAME, "
                     "SEQ_IN_INDEX"):
            key = n if n != "PRIMARY" else f"{t}_pkey"
            defs.setdefault(key, [f"{'' if nu else 'UNIQUE '}{typ} ON {t} "])
            defs[key].append(f"{col}({sub})" if sub else col)
        return {n: d[0] + ",".join(d[1:]) for n, d in defs.items()}
    return {n: d for n, d in rows(url, "SELECT indexname, indexdef FROM pg_indexes WHERE "
                                       "schemaname = 'public' AND tablename NOT LIKE 'bascule%'")}


def on_table(definition: str, table: str) -> bool:
    return f'public."{table}" ' in definition or f" ON {table} " in definition


def plain(name: str) -> str:
    """An index name as index_defs gives it, from bascule's "Table.index" or a quoted name."""
    return name.split(".", 1)[-1].strip('"')


def recorded(url) -> list[str]:
    return sorted(plain(r[0]) for r in rows(url, "SELECT index_name FROM bascule_index"))


@pytest.fixture(params=["postgresql", "mysql"])
def pair(request, db_factory):
    src = make_source(db_factory("mysql"))
    tgt = make_target(db_factory(request.param), "2023")
    return src, tgt


def test_indexes_are_built_after_the_data(pair, tmp_path):
    src, tgt = pair
    before = index_defs(tgt)
    secondary = {n for n, d in before.items() if "UNIQUE" not in d and not n.endswith("_pkey")
                 and any(on_table(d, t) for t in REQUIRED_TARGET_TABLES)}
    assert len(secondary) > 20  # the Camap schema's indexes on foreign key columns and others
    rep = api.migrate(settings_for(src, tgt, tmp_path / "a"))
    assert rep.ok and rep.status == "done"
    assert rep.indexes["dropped"] == len(secondary) == rep.indexes["restored"]
    assert rep.indexes["failed"] == []
    assert index_defs(tgt) == before  # every index back, with the same definition
    assert recorded(tgt) == []
    ver = api.verify(settings_for(src, tgt, tmp_path / "v"))
    assert ver.ok and ver.indexes_missing == []
    # a rerun finds the tables full: they keep their indexes
    rep = api.migrate(settings_for(src, tgt, tmp_path / "b"))
    assert rep.ok and rep.indexes is None and index_defs(tgt) == before


@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
def test_only_empty_tables_lose_their_indexes(db_factory, engine):
    tgt = make_target(db_factory(engine), "2023")
    before = index_defs(tgt)
    execute(tgt, 'INSERT INTO "File" (id, name, data, cdate) VALUES (1, \'a\', \'\\x00\', '
                 '\'2023-01-01\')')
    eng = make_engine(tgt)
    ensure_bookkeeping(eng)
    dropped = indexes.drop_for_empty_tables(eng, REQUIRED_TARGET_TABLES, run_id=7)
    after = index_defs(tgt)
    file_ix = {n for n, d in before.items() if on_table(d, "File")}
    assert file_ix and file_ix <= set(after)  # File holds a row: its indexes stay
    assert dropped and not any(d.startswith("File.") for d in dropped)
    assert recorded(tgt) == sorted(plain(d) for d in dropped)
    assert set(before) - set(after) == {plain(d) for d in dropped}
    r = indexes.restore(eng)
    assert len(r.restored) == len(dropped) and r.failed == []
    assert index_defs(tgt) == before and recorded(tgt) == []
    eng.dispose()


def test_mariadb_keeps_them_when_foreign_keys_are_checked_row_by_row(db_factory, tmp_path):
    """InnoDB lets an index that backs a foreign key go only while its checks are off."""
    src = make_source(db_factory("mysql"))
    tgt = make_target(db_factory("mysql"), "2023")
    before = index_defs(tgt)
    rep = api.migrate(settings_for(src, tgt, tmp_path, fk_checks="load"))
    assert rep.ok and rep.indexes is None and index_defs(tgt) == before


def test_keep_leaves_the_indexes_alone(pair, tmp_path, monkeypatch):
    src, tgt = pair
    calls = []
    monkeypatch.setattr(indexes, "drop_for_empty_tables",
                        lambda *a, **k: calls.append(a) or [])
    rep = api.migrate(settings_for(src, tgt, tmp_path, secondary_indexes="keep"))
    assert rep.ok and rep.indexes is None and calls == []


def test_an_index_that_cannot_be_built_fails_the_run_and_stays_recorded(pair, tmp_path,
                                                                       monkeypatch):
    src, tgt = pair
    before = index_defs(tgt)
    real = indexes.drop_for_empty_tables

    def drop_and_spoil(engine, tables, run_id, defer_fks=True):
        out = real(engine, tables, run_id, defer_fks)
        with engine.begin() as c:  # a definition the server refuses
            first = min(r[0] for r in c.execute(text(
                "SELECT index_name FROM bascule_index WHERE table_name = 'Product'")))
            bad = ("ALTER TABLE `Product` ADD INDEX `Product_x` (nosuchcolumn)"
                   if c.dialect.name in ("mysql", "mariadb") else
                   'CREATE INDEX "Product_x" ON "Product" (nosuchcolumn)')
            c.execute(text("UPDATE bascule_index SET definition = :d WHERE index_name = :n"),
                      {"d": bad, "n": first})
        return out

    monkeypatch.setattr(indexes, "drop_for_empty_tables", drop_and_spoil)
    rep = api.migrate(settings_for(src, tgt, tmp_path / "a"))
    assert not rep.ok and rep.status == "failed" and not rep.failed  # the groups are all in
    [f] = rep.indexes["failed"]
    assert f["table"] == "Product" and "nosuchcolumn" in f["error"]
    assert rep.indexes["restored"] == rep.indexes["dropped"] - 1
    assert recorded(tgt) == [plain(f["index"])]
    assert set(before) - set(index_defs(tgt)) == {plain(f["index"])}
    # the next run tries that one first and stops, naming it
    monkeypatch.setattr(indexes, "drop_for_empty_tables", real)
    runs = rows(tgt, "SELECT COUNT(*) FROM bascule_run")[0][0]
    with pytest.raises(api.MigrationError, match=r"could not be built again: .*nosuchcolumn"):
        api.migrate(settings_for(src, tgt, tmp_path / "b"))
    # stopped before it moved anything: its run row says so
    assert rows(tgt, "SELECT COUNT(*) FROM bascule_run")[0][0] == runs + 1
    assert rows(tgt, "SELECT status FROM bascule_run ORDER BY id DESC")[0] == ("failed",)


@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
def test_a_killed_run_leaves_them_recorded_and_the_next_run_builds_them(db_factory, tmp_path,
                                                                       engine):
    src = make_source(db_factory("mysql"), seed=5)
    tgt = make_target(db_factory(engine), "2023")
    before = index_defs(tgt)
    killed, _ = run_and_kill(src, tgt, tmp_path, "committed: groups", 1)
    assert killed
    left = recorded(tgt)
    assert left and set(before) - set(index_defs(tgt)) == set(left)
    s = load_settings(None, source_url=src, target_url=tgt, report_dir=str(tmp_path / "o2"),
                      batch_size=40)
    ver = api.verify(s)  # the killed run's groups are not proven, and the gap is named
    assert not ver.ok and ver.unproven and not ver.differences
    assert sorted(plain(x) for x in ver.indexes_missing) == left
    rep = api.migrate(s)
    assert rep.ok and not rep.failed
    assert index_defs(tgt) == before and recorded(tgt) == []
    ver = api.verify(s)
    assert ver.ok and ver.indexes_missing == []


def test_verify_output_names_missing_indexes_beside_its_result():
    from bascule.report.models import now
    from bascule.run.compare import Difference, VerifyReport

    for ok, missing in ((True, []), (True, ["Product.Product_catalogId"]),
                        (False, ["Product.Product_catalogId"])):
        rep = VerifyReport(started_at=now(), settings={"old_host": "a.example"},
                           target={"backend": "sqlite"}, fk_checked=50, seconds=1.0,
                           groups=[{"source_id": 1, "name": "A", "target_id": 9,
                                    "status": "compared"},
                                   {"source_id": 2, "name": "B", "target_id": 10,
                                    "status": "compared"}],
                           indexes_missing=missing)
        rep.tables["Product"].update(source=3, target=3, chunks=1)
        if not ok:
            rep.add(Difference("missing", "Product", "row not in the target", 4, 9))
        out = StringIO()
        print_report(rep.model(), Console(file=out, width=200))
        text_out = out.getvalue()
        assert ("OK: 2 groups compared" in text_out) == ok
        assert ("1 difference found" in text_out) == (not ok)
        assert ("row not in the target" in text_out) == (not ok)
        assert ("secondary indexes still missing" in text_out) == bool(missing)
        assert ("Product.Product_catalogId" in to_markdown(rep.model())) == bool(missing)
