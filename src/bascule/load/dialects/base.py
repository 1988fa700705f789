"""What every engine module builds on: the ``Dialect`` interface, quoting, raw savepoints, and the
errors that mean "do the same work again".

A ``Dialect`` is the one object that knows an engine: how the bulk writer sends rows (its
``bulk_ops``), the session settings of a unit's transaction (foreign-key checks, read only), how
the source is read in one snapshot, how verify fetches target rows by id, and how sequences are
set after the load. ``bascule.load.dialects.dialect_for(bind)`` gives the one of a connection or
an engine; nothing outside this package compares engine names.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

from sqlalchemy import (
    Integer,
    LargeBinary,
    Numeric,
    Table,
    cast,
    func,
    select,
    text,
    tuple_,
)
from sqlalchemy.engine import Connection, Engine, create_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from bascule.dberrors import shown_url, watch

MYSQL = "mysql"
POSTGRESQL = "postgresql"
SQLITE = "sqlite"

_sp_counter = itertools.count(1)


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


@dataclass
class Op:
    """One bulk operation as an engine runs it: ``encode`` turns a row into what ``run`` sends
    (None: rows go as they are); ``run(items)`` writes one chunk of (row, encoded) pairs;
    ``matched()`` is the number of target rows the operation matched (update, delete)."""

    encode: Callable[[Sequence], Any] | None
    run: Callable[[list], None]
    matched: Callable[[], int] = lambda: 0


class Counter:
    """Rows matched, added up chunk by chunk (``Op.matched``)."""

    def __init__(self) -> None:
        self.n = 0

    def add(self, n: int) -> None:
        self.n += n

    def __call__(self) -> int:
        return self.n


def decorator_processors(table: Table, columns: Sequence[str], dialect) -> list:
    """(position, bind conversion) of the columns whose type is a user TypeDecorator: the bulk
    paths send the other values as the driver would."""
    out = []
    for i, name in enumerate(columns):
        typ = table.c[name].type
        if isinstance(typ, TypeDecorator):
            out.append((i, (lambda t: (lambda v: t.process_bind_param(v, dialect)))(typ)))
    return out


def int_pk(table: Table):
    """The single integer primary-key column of ``table``, or None."""
    pk = list(table.primary_key.columns)
    if len(pk) != 1:
        return None
    col = pk[0]
    try:
        if not issubclass(col.type._type_affinity, Integer):
            return None
    except Exception:  # pragma: no cover - exotic types
        return None
    return col


class Dialect:
    """The engine-specific parts of bascule (see the module docstring). One instance per engine
    kind; stateless."""

    name: ClassVar[str]
    #: a unit is written in a thread while the next one is built (client and server at work at
    #: once): a server engine; SQLite has one writer per file and its reads would wait
    pipelined: ClassVar[bool] = True
    #: several connections can read one snapshot of a source (workers of a parallel run)
    shared_snapshots: ClassVar[bool] = False
    #: a target that worker processes can write into at once
    parallel_target: ClassVar[bool] = True
    #: secondary indexes of empty tables can be built after the load (load.indexes)
    defers_indexes: ClassVar[bool] = False
    #: the indexes are built again while the foreign keys are checked on other connections
    #: (False: one after the other, when building waits for the readers' locks)
    index_builds_beside_fk_check: ClassVar[bool] = True
    #: the indexes of one table are built in one statement (one pass over the table)
    builds_indexes_per_table: ClassVar[bool] = False
    #: placeholder of the DBAPI driver
    placeholder: ClassVar[str] = "%s"
    #: its text columns refuse the NUL character (U+0000)
    text_refuses_nul: ClassVar[bool] = False

    # -- the bulk writer -------------------------------------------------------------------

    #: the class of the object that builds the bulk writer's statements (see bulk.BulkWriter)
    ops: ClassVar[type]

    def bulk_ops(self, writer: Any, **options: Any) -> Any:
        """The statements of ``writer`` on this engine (its options: pg_copy, mysql_method,
        batch_bytes)."""
        return self.ops(writer, **options)

    # -- session settings ------------------------------------------------------------------

    def begin_read_only(self, conn: Connection) -> None:
        """Start a read-only transaction on ``conn`` (plan: nothing may be written)."""

    def set_fk_checks(self, conn: Connection, on: bool) -> None:
        """Turn the row-by-row foreign-key checks of this transaction on or off."""

    def can_defer_fk_checks(self, engine: Engine) -> tuple[bool, str | None]:
        """Whether a run may write without row-by-row FK checks (and why not)."""
        return False, None

    # -- reading a source in one snapshot --------------------------------------------------

    def open_snapshot(self, engine: Engine) -> Connection:
        """One connection in a read-only transaction with a consistent snapshot."""
        raise NotImplementedError

    def open_shared_snapshots(self, engine: Engine, more: int
                              ) -> tuple[Connection, list[Connection], str | None]:
        """The main snapshot connection and ``more`` in the same snapshot (or none, and why)."""
        return self.open_snapshot(engine), [], None

    def close_snapshot(self, conn: Connection) -> None:
        try:
            conn.rollback()
        finally:
            conn.close()

    # -- checksums of source rows (reruns skip what did not change: extract.checksums) ----

    def row_checksum(self, columns: Sequence[Any]) -> Any | None:
        """An integer expression over one row's ``columns`` that changes when any of them does
        (a 32-bit CRC, summed per chunk by the caller); None when this engine has none (reruns
        then read every group again)."""
        return None

    def table_checksum(self, table: Any) -> Any | None:
        """A statement whose one row holds a checksum of every row of ``table`` (in its second
        column), computed by the server's own code and seeing the connection's snapshot; None
        when this engine has none (every table is then checksummed by chunks)."""
        return None

    def many_groups(self, stmt: Any) -> Any:
        """``stmt``, a GROUP BY with many groups over a large table, as this engine runs it
        best."""
        return stmt

    def chunk_of(self, column: Any, size: int) -> Any:
        """The chunk number of an integer id: ``column`` divided by ``size``, rounded down."""
        return column.op("/")(size)

    def non_ascii(self, expr):
        """A condition true when the text ``expr`` holds a character that is not ASCII (a
        superset test is fine: the caller checks again)."""
        return func.length(cast(expr, LargeBinary)) != func.length(expr)

    # -- verify: target rows by id ---------------------------------------------------------

    def fetch_by_ids(self, conn: Connection, table: Table, key_cols: list[str],
                     cols: Sequence[str], keys: list[tuple], range_density: float
                     ) -> dict[tuple, tuple]:
        """The target rows of these keys: key tuple → values of ``cols``. Single ids are
        fetched by one range scan when the range holds at most ``range_density`` ids per id
        asked for (rows of the range not asked for are left out), else by list."""
        n = len(key_cols)
        if n == 1:
            res, wanted = self._select_ids(conn, table, key_cols[0], [*key_cols, *cols],
                                           [int(k[0]) for k in keys], range_density)
        else:
            sel = select(*[table.c[c] for c in [*key_cols, *cols]]).where(
                tuple_(*[table.c[c] for c in key_cols]).in_(keys))
            res, wanted = conn.execute(sel), None
        return self._rows_by_key(conn, res, table, n, cols, wanted)

    def _select_ids(self, conn: Connection, table: Table, key: str, names: list[str],
                    ids: list[int], range_density: float):
        """(result, ids asked for when the result may hold others) of one id column."""
        qi = conn.dialect.identifier_preparer.quote
        head = (f"SELECT {', '.join(qi(c) for c in names)} FROM {qi(table.name)} "
                f"WHERE {qi(key)} ")
        span = ids[-1] - ids[0] + 1  # ids are sorted
        if span <= range_density * len(ids):
            # ids of one unit are mostly consecutive: one range scan of the primary key costs
            # half as much as a probe per id
            res = conn.exec_driver_sql(f"{head}BETWEEN {ids[0]} AND {ids[-1]}")
            return res, (frozenset(ids) if span > len(ids) else None)
        return self._select_id_list(conn, head, ids), None

    def _select_id_list(self, conn: Connection, head: str, ids: list[int]):
        return conn.exec_driver_sql(head + "IN (" + ",".join(map(str, ids)) + ")")

    def _rows_by_key(self, conn: Connection, res, table: Table, n: int, cols: Sequence[str],
                     wanted: frozenset | None) -> dict[tuple, tuple]:
        """The driver's rows as they are (verify normalises values), keyed by their key."""
        try:
            types = [d[1] for d in res.cursor.description]
            raw = res.cursor.fetchall()
        finally:
            res.close()
        if wanted is not None:
            raw = [r for r in raw if r[0] in wanted]
        procs = [(i, p) for i, c in enumerate(cols)
                 if not _is_numeric(table.c[c].type)
                 and (p := table.c[c].type._cached_result_processor(conn.dialect, types[n + i]))
                 is not None]
        if not procs and n == 1:  # the common case, without a per-value loop
            return {(r[0],): tuple(r[1:]) for r in raw}
        out = {}
        for r in raw:
            vals = r[n:]
            if procs:
                vals = list(vals)
                for i, p in procs:
                    if vals[i] is not None:
                        vals[i] = p(vals[i])
            out[tuple(r[:n])] = tuple(vals)
        return out

    # -- secondary indexes built after the load (load.indexes) ------------------------------

    def secondary_indexes(self, conn: Connection, table: str, defer_fks: bool
                          ) -> list[tuple[str, str]]:
        """(name, definition) of the indexes of ``table`` that may be dropped before the load
        and built after it: not unique, not a key. ``defer_fks``: the run writes without
        row-by-row FK checks."""
        return []

    def drop_indexes(self, conn: Connection, table: str, names: Sequence[str]) -> None:
        """Drop these indexes of ``table``."""
        raise NotImplementedError

    def missing_indexes(self, conn: Connection, table: str, names: Sequence[str]) -> list[str]:
        """Those of ``names`` that ``table`` does not have."""
        raise NotImplementedError

    def create_indexes(self, conn: Connection, table: str, definitions: Sequence[str]) -> None:
        """Create indexes of ``table`` from their recorded definitions (one statement when the
        engine builds several in one pass over the table)."""
        raise NotImplementedError

    def table_bytes(self, conn: Connection, table: str) -> int:
        """About how large ``table`` is (the largest are built first)."""
        return 0

    # -- after the load --------------------------------------------------------------------

    def fix_sequences(self, conn: Connection, tables: Sequence[Table]) -> dict[str, int]:
        """Make the id generator of each table with a single integer autoincrement key hand out
        ids above every id present. Returns {table: max id}."""
        out: dict[str, int] = {}
        for t in tables:
            col = int_pk(t)
            if col is None or t.autoincrement_column is None:
                continue
            tname = quote_table(conn, t)
            mx = int(conn.execute(text(f"SELECT MAX({quote(conn, col.name)}) FROM {tname}"))
                     .scalar() or 0)
            out[t.name] = mx
            self.set_sequence(conn, t, col.name, mx)
        return out

    def set_sequence(self, conn: Connection, table: Table, column: str, mx: int) -> None:
        """Make ``table``'s id generator hand out ids above ``mx``."""


    # -- the run lock, and which database a connection reaches -----------------------------

    def bmp_only_columns(self, conn: Connection) -> dict[str, set[str]]:
        """Table → its text columns that hold only the characters of 3 bytes or fewer in UTF-8
        (MariaDB/MySQL ``utf8mb3``): a character beyond U+FFFF (an emoji) is refused there."""
        return {}

    def take_run_lock(self, engine: Engine, wait: bool) -> Callable[[], None] | None:
        """Take the run lock of the database of ``engine`` (one bascule run at a time writes
        there): the function that releases it, or None when another run holds it. ``wait``:
        until it is free. The lock goes with the process that holds it, however it ends."""
        raise NotImplementedError

    def same_database(self, a: Engine, b: Engine) -> bool:
        """Whether two engines of this kind reach the same database, as the servers say (the
        URLs' text aside: ``localhost`` and ``127.0.0.1``, two user names, a proxy)."""
        raise NotImplementedError

    def describe_database(self, engine: Engine) -> str:
        """The database of ``engine`` as its server names it (for messages)."""
        return engine.url.render_as_string(hide_password=True)


def hold_connection(engine: Engine) -> Connection:
    """A connection of its own (not one of the engine's pool, which the run uses whole) in
    autocommit, for a lock held for a whole run (no transaction left open meanwhile); closing
    it ends the session."""
    own = watch(create_engine(engine.url, poolclass=NullPool), "target",
                shown=shown_url(engine))
    return own.connect().execution_options(isolation_level="AUTOCOMMIT")


def held_lock(engine: Engine, acquire: Callable[[Connection], object],
              release: Callable[[Connection], object]) -> Callable[[], None] | None:
    """A lock of the server held for a whole run by a connection of its own
    (``hold_connection``): ``acquire(conn)`` says whether it got the lock. None when it did
    not (the connection closed); else the function that releases it and closes the
    connection."""
    conn = hold_connection(engine)
    try:
        got = acquire(conn)
    except BaseException:
        conn.close()
        raise
    if not got:
        conn.close()
        return None

    def release_and_close() -> None:
        try:
            release(conn)
        finally:
            conn.close()
    return release_and_close


def _is_numeric(typ) -> bool:
    """Numbers need no result conversion for verify: its normalisation treats them alike."""
    return isinstance(typ, Numeric)


__all__ = ["Counter", "Dialect", "MYSQL", "Op", "POSTGRESQL", "RawSavepoint", "SQLITE",
           "TransactionLost", "driver_connection", "held_lock", "int_pk", "is_transient_error",
           "new_savepoint_name", "quote", "quote_list", "quote_table"]
