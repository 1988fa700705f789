"""Whole-table checksums (``CHECKSUM TABLE`` on MariaDB): a rerun takes the stored chunk sums of
the tables whose whole checksum did not change, and the result is the one a full computation
gives; the checksums are kept with the chunk sums and used again only for the same statements."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from bascule import api
from bascule.cli import cli
from bascule.extract.checksums import source_checksums, statements_digest, table_checksums
from bascule.extract.drivers import source_engine
from bascule.extract.source import SourceReader, inspect_source
from bascule.load.bookkeeping import RUN
from bascule.load.chunks import WHOLE_KEY, load_checksums
from bascule.load.target import inspect_target
from bascule.dbutil import make_engine
from bascule.model.tables import MIGRATION

from helpers import execute, make_source, make_target, rows, settings_for

SCALE = 0.01


def _sums(src: str, reuse=None):
    eng = source_engine(src)
    try:
        with SourceReader(eng, inspect_source(eng)) as reader:
            tables = [t for t in MIGRATION.order if reader.has(t)]
            return (source_checksums(reader, MIGRATION, reuse=reuse),
                    table_checksums(reader, tables), statements_digest(reader, MIGRATION))
    finally:
        eng.dispose()


def _same(a, b) -> bool:
    return a.keys() == b.keys() and all(a[t] == b[t] and a[t].whole == b[t].whole for t in a)


def test_a_changed_table_alone_is_checksummed_again(db_factory):
    src = make_source(db_factory("mysql"), scale=SCALE, seed=2)
    first, whole, _d = _sums(src)
    assert whole and set(whole) == set(first)
    assert all(d.whole == whole[t] for t, d in first.items())
    again, _w, _d = _sums(src, reuse=first)
    assert all(again[t] is first[t] for t in first)  # nothing changed: every table taken
    (oid,), = rows(src, 'SELECT MIN(id) FROM "UserOrder"')
    execute(src, 'UPDATE "UserOrder" SET quantity = quantity + 1 WHERE id = :i', i=oid)
    after, _w, _d = _sums(src, reuse=first)
    assert after["UserOrder"] is not first["UserOrder"]
    assert after["UserOrder"].whole != first["UserOrder"].whole
    assert after["UserOrder"] != first["UserOrder"]  # the chunk of the row changed
    assert all(after[t] is first[t] for t in first if t != "UserOrder")
    fresh, _w, _d = _sums(src)
    assert _same(after, fresh)


def test_stored_sums_of_other_statements_are_not_taken(db_factory, tmp_path):
    """The whole checksums are kept in the summary of the run that stored the chunk sums; read
    back for the same statements, dropped for others (chunk sums of other statements must be
    computed again)."""
    f = db_factory("mysql")
    src, tgt = make_source(f, scale=SCALE, seed=4), make_target(f)
    s = settings_for(src, tgt, tmp_path)
    assert api.migrate(s).ok
    _sums_now, whole, digest = _sums(src)
    eng = make_engine(tgt)
    try:
        tinfo = inspect_target(eng)
        book = tinfo.book(s.source_name)
        with eng.connect() as conn:
            (summary,), = conn.execute(book.table(RUN).select().with_only_columns(
                book.table(RUN).c.summary).order_by(book.table(RUN).c.id.desc()).limit(1))
            assert json.loads(summary)[WHOLE_KEY] == {"statements": digest, "tables": whole}
            _b, kept = load_checksums(conn, book, digest)
            assert {t: d.whole for t, d in kept.items()} == whole
            _b, other = load_checksums(conn, book, "another")
            assert other.keys() == kept.keys() and all(d.whole is None for d in other.values())
            _b, none = load_checksums(conn, book)
            assert all(d.whole is None for d in none.values())
    finally:
        eng.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "mysql"])
def test_reruns_count_the_tables_taken(db_factory, tmp_path, kind):
    """A rerun after no change takes every table's stored chunk sums on MariaDB; after one
    changed product, every table but Product; a SQLite source has no whole checksum: none."""
    f = db_factory(kind)
    src, tgt = make_source(f, kind=kind, scale=SCALE, seed=6), make_target(f)
    s = settings_for(src, tgt, tmp_path)
    first = api.migrate(s)
    assert first.ok and first.changes["tables_unchanged"] == 0
    n = len(_sums(src)[0])  # the tables checksummed
    again = api.migrate(s)
    assert again.ok and again.changes["compared"]
    assert again.changes["tables_unchanged"] == (n if kind == "mysql" else 0)
    (pid,), = rows(src, 'SELECT MIN(id) FROM "Product"')
    execute(src, 'UPDATE "Product" SET price = price + 1.25 WHERE id = :i', i=pid)
    third = api.migrate(s)
    assert third.ok and third.changes["changed_chunks"] == {"Product": 1}
    assert third.changes["tables_unchanged"] == (n - 1 if kind == "mysql" else 0)
    assert api.verify(s).ok
    # the report says it
    out = tmp_path / "reports"
    r = CliRunner().invoke(cli, ["migrate", "--source", src, "--target", tgt, "--no-progress",
                                 "--report-dir", str(out)])
    assert r.exit_code == 0, r.output
    md = next(out.glob("migrate-*.md")).read_text()
    said = f"{n} tables unchanged (their whole-table checksum)"
    assert (said in md) == (kind == "mysql"), md[-2000:]

