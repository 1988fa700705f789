"""SourceReader.select_in: the rows of many ids, read in chunks of ids, come back in primary-key
order, as one query gives them (every run reads the same rows in the same order)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

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
