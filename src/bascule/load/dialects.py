"""Small per-engine helpers for the write layer: engine kind, identifier quoting, savepoints.

Everything here works on an open SQLAlchemy ``Connection`` and, for the fast paths, on the DBAPI
connection underneath it (``conn.connection.driver_connection``), so that the bulk statements run
in the caller's transaction.
"""

from __future__ import annotations

import itertools
from typing import Sequence

from sqlalchemy import Table
from sqlalchemy.engine import Connection

MYSQL = "mysql"
POSTGRESQL = "postgresql"
SQLITE = "sqlite"

_sp_counter = itertools.count(1)


def kind_of(conn: Connection) -> str:
    """'mysql' (MySQL or MariaDB), 'postgresql' or 'sqlite'."""
    name = conn.dialect.name
    if name in ("mysql", "mariadb"):
        return MYSQL
    if name in ("postgresql", "sqlite"):
        return name
    raise ValueError(f"unsupported target engine: {name}")


def driver_connection(conn: Connection):
    """The DBAPI connection (pymysql / psycopg / sqlite3) under a SQLAlchemy Connection."""
    return conn.connection.driver_connection


def quote(conn: Connection, name: str) -> str:
    """Quote one identifier for the connection's dialect (always quoted: `Group`, "desc")."""
    return conn.dialect.identifier_preparer.quote_identifier(name)


def quote_table(conn: Connection, table: Table) -> str:
    """The table's (schema-qualified) name, quoted for the connection's dialect."""
    return conn.dialect.identifier_preparer.format_table(table)


def quote_list(conn: Connection, names: Sequence[str]) -> str:
    q = conn.dialect.identifier_preparer.quote_identifier
    return ", ".join(q(n) for n in names)


class TransactionLost(Exception):
    """The database threw the whole transaction away while a statement ran under a savepoint
    (MariaDB/MySQL roll a deadlock victim back entirely, savepoints included): what was written
    before is gone, so nothing may be written after it in the same "transaction". ``cause`` is
    the error of the statement."""

    def __init__(self, cause: BaseException, rollback_error: BaseException):
        super().__init__(f"the database rolled the whole transaction back ({cause}); "
                         f"its savepoint is gone ({rollback_error})")
        self.cause = cause


#: Errors after which the same work may well succeed if done again: deadlock, lock wait
#: timeout (MariaDB/MySQL codes; PostgreSQL SQLSTATEs, with serialization failure and lock not
#: available).
TRANSIENT_MYSQL_CODES = (1205, 1213)
TRANSIENT_PG_STATES = ("40P01", "40001", "55P03")


def is_transient_error(exc: BaseException | None) -> bool:
    """True when ``exc`` (or what caused it: SQLAlchemy's ``orig``, ``__cause__``) is a
    deadlock, a lock wait timeout or a lost transaction (``TransactionLost``)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, TransactionLost):
            return True
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        if code in TRANSIENT_MYSQL_CODES:
            return True
        if getattr(exc, "sqlstate", None) in TRANSIENT_PG_STATES:
            return True
        exc = getattr(exc, "orig", None) or getattr(exc, "cause", None) or exc.__cause__
    return False


def new_savepoint_name() -> str:
    return f"bascule_sp_{next(_sp_counter)}"


class RawSavepoint:
    """A SAVEPOINT issued straight on the DBAPI connection (cheap; no SQLAlchemy bookkeeping).

    ``with RawSavepoint(kind, dbapi_conn):`` releases on success and rolls back to the savepoint
    (then releases it) on any exception, which propagates. On SQLite the implicit transaction of
    the sqlite3 module is opened first, so that releasing the savepoint never commits.
    """

    __slots__ = ("kind", "dconn", "name")

    def __init__(self, kind: str, dconn):
        self.kind = kind
        self.dconn = dconn
        self.name = new_savepoint_name()

    def _exec(self, sql: str) -> None:
        cur = self.dconn.cursor()
        try:
            cur.execute(sql)
        finally:
            cur.close()

    def __enter__(self) -> "RawSavepoint":
        if self.kind == SQLITE and not self.dconn.in_transaction:
            self._exec("BEGIN")
        self._exec(f"SAVEPOINT {self.name}")
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self._exec(f"RELEASE SAVEPOINT {self.name}")
            return False
        try:
            self._exec(f"ROLLBACK TO SAVEPOINT {self.name}")
        except Exception as e:  # noqa: BLE001 - the savepoint went with the transaction
            if exc is not None and self.kind != SQLITE:
                raise TransactionLost(exc, e) from exc
            raise
        self._exec(f"RELEASE SAVEPOINT {self.name}")
        return False
