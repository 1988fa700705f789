"""The engine bascule reads a source with (and verify reads a target with).

A MySQL/MariaDB source is read through mysqlclient (``MySQLdb``, C) when it is installed: the
pure-Python PyMySQL spends about 5 times as long parsing rows (docs/measurements.md) and
reading is most of a run. Values come back as PyMySQL gives them, zero dates included (as their
text, which the transform reports; mysqlclient would turn them into NULL). Without mysqlclient, or
with ``BASCULE_SOURCE_DRIVER=pymysql``, the source is read with PyMySQL. The target is always
written with PyMySQL (the bulk writer relies on it).
"""

from __future__ import annotations

import datetime as _dt
import os

from sqlalchemy import create_engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine

from bascule.dberrors import ConnectRetry, translate, watch
from bascule.dbutil import engine_url, make_engine
from bascule.extract.convert import KeepZero


def _mysqldb_conversions() -> dict | None:
    """mysqlclient's conversions with dates kept as PyMySQL gives them, or None when mysqlclient
    is not installed (an optional dependency: imported here only)."""
    try:
        from MySQLdb import converters  # noqa: PLC0415 - optional dependency
        from MySQLdb.constants import FIELD_TYPE  # noqa: PLC0415
    except ImportError:
        return None
    conv = dict(converters.conversions)
    # mysqlclient parses dates in Python (about 3.5 µs a value); fromisoformat is C (0.15 µs)
    for ft, fast in ((FIELD_TYPE.DATETIME, _dt.datetime.fromisoformat),
                     (FIELD_TYPE.TIMESTAMP, _dt.datetime.fromisoformat),
                     (FIELD_TYPE.DATE, _dt.date.fromisoformat), (FIELD_TYPE.TIME, None)):
        conv[ft] = KeepZero(conv[ft], fast)
    return conv


def source_engine(url, *, side: str | None = "source", retry: ConnectRetry | None = None,
                  shown=None) -> Engine:
    """The engine bascule reads a source with (see the module docstring); its errors name
    ``side`` and ``shown`` (default ``url``; ``dberrors``)."""
    shown = url if shown is None else shown
    u = engine_url(url, side)
    if u.get_backend_name() not in ("mysql", "mariadb") or u.get_driver_name() != "pymysql" \
            or os.environ.get("BASCULE_SOURCE_DRIVER", "").lower() == "pymysql":
        return make_engine(url, side=side, retry=retry, shown=shown)
    conv = _mysqldb_conversions()
    if conv is None:
        return make_engine(url, side=side, retry=retry, shown=shown)
    q = dict(u.query)
    q.pop("local_infile", None)
    u = u.set(drivername=f"{u.get_backend_name()}+mysqldb", query=q)
    try:
        eng = create_engine(u, pool_pre_ping=True, connect_args={"conv": conv})
    except (ImportError, sa_exc.ArgumentError) as e:
        raise translate(e, side, url) from e
    return watch(eng, side, retry, shown=shown)
