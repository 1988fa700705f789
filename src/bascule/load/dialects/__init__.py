"""The engines bascule knows, one module each (``mysql``, ``postgresql``, ``sqlite``), and the one
way to ask which engine a URL, an engine or a connection is: ``backend(x)`` (its name) or
``dialect_for(x)`` (its :class:`Dialect`)."""

from __future__ import annotations

from sqlalchemy.engine import URL, Connection, Engine, make_url

from bascule.load.dialects.base import (
    MYSQL,
    POSTGRESQL,
    SQLITE,
    TRANSIENT_MYSQL_CODES,
    TRANSIENT_PG_STATES,
    Counter,
    Dialect,
    Op,
    RawSavepoint,
    TransactionLost,
    driver_connection,
    int_pk,
    is_transient_error,
    new_savepoint_name,
    quote,
    quote_list,
    quote_table,
)
from bascule.load.dialects.mysql import MySQL
from bascule.load.dialects.postgresql import PostgreSQL
from bascule.load.dialects.sqlite import SQLite

_DIALECTS: dict[str, Dialect] = {MYSQL: MySQL(), POSTGRESQL: PostgreSQL(), SQLITE: SQLite()}


def backend(x: str | URL | Engine | Connection) -> str:
    """'mysql' (MySQL or MariaDB), 'postgresql' or 'sqlite', of a URL, engine or connection."""
    if isinstance(x, (str, URL)):
        name = make_url(x).get_backend_name()
    else:
        name = x.dialect.name
    if name in ("mysql", "mariadb"):
        return MYSQL
    if name in (POSTGRESQL, SQLITE):
        return name
    raise ValueError(f"unsupported database engine: {name}")


def dialect_for(x: str | URL | Engine | Connection) -> Dialect:
    """The :class:`Dialect` of a URL, engine or connection."""
    return _DIALECTS[backend(x)]


__all__ = [
    "MYSQL", "POSTGRESQL", "SQLITE", "TRANSIENT_MYSQL_CODES", "TRANSIENT_PG_STATES", "Counter",
    "Dialect", "Op", "RawSavepoint", "TransactionLost", "backend", "dialect_for",
    "driver_connection", "int_pk", "is_transient_error", "new_savepoint_name", "quote",
    "quote_list", "quote_table",
]
