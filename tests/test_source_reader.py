"""SourceReader.select_in: the rows of many ids, read in chunks of ids, come back in primary-key
order, as one query gives them (every run reads the same rows in the same order)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import func, literal, select, text

from bascule.dbutil import make_engine
from bascule.extract.drivers import source_engine
from bascule.extract.source import SourceReader, inspect_source

from helpers import make_source


@pytest.mark.parametrize("table, column, key", [
    ("UserOrder", "userId", ("id",)),
    ("UserGroup", "groupId", ("userId", "groupId")),
])
def test_rows_of_many_ids_in_primary_key_order(db_factory, table, column, key):
    src = make_source(db_factory("mysql"))
    eng = source_engine(src)
    try:
        with SourceReader(eng, inspect_source(eng)) as reader:
            t = reader.info.tables[table]
            every = reader.rows(select(*reader.cols(table)).order_by(
                *[t.c[k] for k in key]), table)
            users = sorted({r[column] for r in every})  # user or group ids
            assert len(users) > 2
            # the users in reverse order, padded past one chunk of ids with ids of no row
            asked = users[::-1] + list(range(10**6, 10**6 + 2500))
            got = reader.select_in(table, column, asked)
        assert len(got) == len(every)
        assert [tuple(r[k] for k in key) for r in got] == \
            [tuple(r[k] for k in key) for r in every]
        # the rows of the first chunk alone would not be in that order
        first = [r for r in every if r[column] in set(users[: len(users) // 2])]
        assert first and first != every
    finally:
        eng.dispose()


def test_dates_read_through_mysqlclient_keep_zero_dates_as_their_text():
    """The date converter (compiled with the hot path): a valid date parsed, a zero or invalid
    one given back as its text (the transform reports it), a TIME through mysqlclient's own."""
    import datetime as dt

    converters = pytest.importorskip("MySQLdb.converters")
    from MySQLdb.constants import FIELD_TYPE

    from bascule.extract.drivers import _mysqldb_conversions
    conv = _mysqldb_conversions()
    assert conv is not None
    dtm, date, time = conv[FIELD_TYPE.DATETIME], conv[FIELD_TYPE.DATE], conv[FIELD_TYPE.TIME]
    assert dtm("2022-01-02 03:04:05") == dt.datetime(2022, 1, 2, 3, 4, 5)
    assert dtm("2022-01-02 03:04:05.250000") == dt.datetime(2022, 1, 2, 3, 4, 5, 250000)
    assert dtm("0000-00-00 00:00:00") == "0000-00-00 00:00:00"
    assert dtm("2022-02-30 00:00:00") == "2022-02-30 00:00:00"
    assert date("2022-01-02") == dt.date(2022, 1, 2)
    assert date("0000-00-00") == "0000-00-00"
    assert time("12:30:00") == converters.conversions[FIELD_TYPE.TIME]("12:30:00")



@contextmanager
def generated_reader(db_factory, **kw):
    """A SourceReader (``kw``: its options) of a generated Cagette source on MariaDB."""
    eng = source_engine(make_source(db_factory("mysql")))
    try:
        with SourceReader(eng, inspect_source(eng), **kw) as reader:
            yield reader
    finally:
        eng.dispose()


@pytest.mark.parametrize("snapshots", [0, 2])
def test_run_all_runs_the_jobs_then_adds_before_those_waiting(db_factory, snapshots):
    """``run_all(..., then=)``: the jobs a finished job asks for run before the jobs still
    waiting (a checksum that differs asks for its table's chunk sums at once); every result
    is consumed once. One connection: the order is exact; three: every job still runs."""
    with generated_reader(db_factory, snapshots=snapshots) as reader:
        stmt = select(func.count()).select_from(reader.info.tables["Group"])
        n = reader.scalar_rows(stmt)[0][0]
        seen: list[str] = []

        def consume(tag, rows):
            assert [tuple(r) for r in rows] == [(n,)]
            seen.append(tag)

        def then(tag):
            return [(stmt, f"{tag}.{i}") for i in (1, 2)] if tag in ("a", "a.2") else []

        reader.run_all([(stmt, "a"), (stmt, "b"), (stmt, "c")], consume, then=then)
    assert sorted(seen) == ["a", "a.1", "a.2", "a.2.1", "a.2.2", "b", "c"]
    if not snapshots:
        assert seen == ["a", "a.1", "a.2", "a.2.1", "a.2.2", "b", "c"]


def test_run_all_stops_taking_jobs_after_a_failure(db_factory):
    """A job that fails: the jobs not started yet are skipped and its error is raised; the
    reader is still usable."""
    with generated_reader(db_factory) as reader:
        ok = select(literal(1))
        bad = text("SELECT no_such_column FROM `Group`")
        seen: list[str] = []
        with pytest.raises(Exception, match="no_such_column"):
            reader.run_all([(ok, "a"), (bad, "b"), (ok, "c")],
                           lambda tag, rows: seen.append(tag))
        assert seen == ["a"]
        assert reader.scalar_rows(select(literal(2))) == [(2,)]
