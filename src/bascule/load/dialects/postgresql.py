"""PostgreSQL: ``COPY ... FROM STDIN`` for the rows, a TEMP table for upserts and updates,
``session_replication_role`` for the foreign-key checks, ``REPEATABLE READ`` snapshots.

Rows go to COPY either through psycopg's C ``write_row`` (``pg_copy="rows"``, the default of the
writer) or as COPY text built by bascule (``pg_copy="text"``: the migration encodes each row once,
when the unit is built, and hashes that text). Upsert and update COPY the chunk into a TEMP table
(ON COMMIT DROP), then ``INSERT ... SELECT ... ON CONFLICT`` / ``UPDATE ... FROM``.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import re
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any, Iterator

from sqlalchemy import BigInteger, Float, Table, Text, cast, func, text
from sqlalchemy.engine import Connection, Engine

from bascule.load.dialects.base import (
    POSTGRESQL,
    Counter,
    Dialect,
    Op,
    decorator_processors,
    held_lock,
    quote,
    quote_list,
    quote_table,
)
from bascule.load.encode import pg_copy_line

_tmp_counter = itertools.count(1)
#: The key of the run lock (an advisory lock, of the database it is taken in).
RUN_LOCK_KEY = int.from_bytes(hashlib.blake2b(b"bascule run lock", digest_size=8).digest(),
                              "big", signed=True)
_PG_KEY = re.compile(r"Key \(([^)]+)\)=")
_PG_COPY_COL = re.compile(r"column ([^:]+):")
#: planner switches turned off while a chunk's TEMP table is joined to the target (see update)
_PLANNER = ("enable_hashjoin", "enable_mergejoin")


class PgOps:
    """The statements of the bulk writer on PostgreSQL."""

    default_batch_rows = 10000
    prefetch = False

    def __init__(self, w: Any, *, pg_copy: str = "rows", batch_bytes: int | None = None,
                 **_other: Any):
        self.w = w
        self.pg_copy = pg_copy
        self.batch_chars = batch_bytes or 16 * 1024 * 1024

    # -- encoding -------------------------------------------------------------------------

    def encoder(self):
        return pg_copy_line if self.pg_copy == "text" else None

    def row_encoder(self):
        return pg_copy_line if self.pg_copy == "text" else None

    def processors(self, table: Table, columns: Sequence[str]) -> list:
        return decorator_processors(table, columns, self.w.conn.dialect)

    # -- statements -----------------------------------------------------------------------

    def _copy(self, sql: str, items: list) -> None:
        cur = self.w.dconn.cursor()
        try:
            with cur.copy(sql) as cp:
                if self.pg_copy == "text":
                    buf: list[str] = []
                    n = 0
                    for _, line in items:
                        buf.append(line)
                        n += len(line)
                        if n >= 1 << 20:
                            cp.write("".join(buf).encode("utf-8"))
                            buf, n = [], 0
                    if buf:
                        cp.write("".join(buf).encode("utf-8"))
                else:
                    for row, _ in items:
                        cp.write_row(row)
        finally:
            cur.close()

    def insert(self, table: Table, columns: list[str]) -> Op:
        c = self.w.conn
        sql = f"COPY {quote_table(c, table)} ({quote_list(c, columns)}) FROM STDIN"
        return Op(self.encoder(), lambda items: self._copy(sql, items))

    @contextmanager
    def _temp(self, table: Table, columns: list[str]) -> Iterator[str]:
        c = self.w.conn
        tmp = quote(c, f"bascule_tmp_{next(_tmp_counter)}")
        self.w.wrap(self.w.exec, f"CREATE TEMP TABLE {tmp} ON COMMIT DROP AS SELECT "
                                 f"{quote_list(c, columns)} FROM {quote_table(c, table)} "
                                 "WITH NO DATA")
        with self.w.temp_table(f"DROP TABLE IF EXISTS {tmp}"):
            yield tmp

    @contextmanager
    def upsert(self, table: Table, columns: list[str], key: list[str], others: list[str]
               ) -> Iterator[Op]:
        c = self.w.conn
        q = lambda n: quote(c, n)  # noqa: E731
        collist = quote_list(c, columns)
        with self._temp(table, columns) as tmp:
            action = ("DO UPDATE SET " + ", ".join(f"{q(x)} = EXCLUDED.{q(x)}" for x in others)
                      if others else "DO NOTHING")
            merge = (f"INSERT INTO {quote_table(c, table)} ({collist}) SELECT {collist} FROM "
                     f"{tmp} ON CONFLICT ({quote_list(c, key)}) {action}")
            copy_sql = f"COPY {tmp} ({collist}) FROM STDIN"

            def run(items):
                self._copy(copy_sql, items)
                self.w.exec(merge)
                self.w.exec(f"TRUNCATE {tmp}")

            yield Op(self.encoder(), run)

    @contextmanager
    def update(self, table: Table, key: list[str], columns: list[str]) -> Iterator[Op]:
        c = self.w.conn
        q = lambda n: quote(c, n)  # noqa: E731
        allcols = key + columns
        # the planner, without statistics on the temp table, hash-joins it against a seq scan
        # of the whole target for every chunk; make it use the key index instead
        saved = self.w.wrap(self._planner_nested_loops)
        with self._temp(table, allcols) as tmp:
            sets = ", ".join(f"{q(x)} = s.{q(x)}" for x in columns)
            on = " AND ".join(f"t.{q(k)} = s.{q(k)}" for k in key)
            upd = f"UPDATE {quote_table(c, table)} AS t SET {sets} FROM {tmp} AS s WHERE {on}"
            copy_sql = f"COPY {tmp} ({quote_list(c, allcols)}) FROM STDIN"
            matched = Counter()

            def run(items):
                self._copy(copy_sql, items)
                matched.add(self.w.exec(upd))
                self.w.exec(f"TRUNCATE {tmp}")

            yield Op(self.encoder(), run, matched)
        self.w.wrap(self._planner_restore, saved)

    def delete(self, table: Table, key: list[str]) -> Op:
        c = self.w.conn
        matched = Counter()
        if len(key) == 1:
            sql = f"DELETE FROM {quote_table(c, table)} WHERE {quote(c, key[0])} = ANY(%s)"

            def run(items):
                matched.add(self.w.exec(sql, ([r[0] for r, _ in items],)))
        else:
            sql = (f"DELETE FROM {quote_table(c, table)} WHERE "
                   + " AND ".join(f"{quote(c, k)} = %s" for k in key))

            def run(items):
                matched.add(self.w.exec_many(sql, [tuple(r) for r, _ in items]))
        return Op(None, run, matched)

    def _planner_nested_loops(self) -> list:
        cur = self.w.dconn.cursor()
        try:
            saved = []
            for name in _PLANNER:
                cur.execute("SELECT current_setting(%s)", (name,))
                saved.append(cur.fetchone()[0])
                cur.execute("SELECT set_config(%s, 'off', true)", (name,))
            return saved
        finally:
            cur.close()

    def _planner_restore(self, saved: list) -> None:
        cur = self.w.dconn.cursor()
        try:
            for name, value in zip(_PLANNER, saved):
                cur.execute("SELECT set_config(%s, %s, true)", (name, value))
        finally:
            cur.close()

    # -- errors ---------------------------------------------------------------------------

    def usable(self) -> bool:
        """The connection can still run a statement (not broken, not in a failed
        transaction): cleanup after an error is worth trying."""
        d, psycopg = self.w.dconn, self.w.dbapi
        return not (d.broken or d.closed
                    or d.info.transaction_status == psycopg.pq.TransactionStatus.INERROR)

    def is_data_error(self, exc: BaseException) -> bool:
        if self.w.dconn.broken or self.w.dconn.closed:
            return False
        psycopg = self.w.dbapi  # the driver module, as the engine loaded it
        return isinstance(exc, (psycopg.IntegrityError, psycopg.DataError,
                                psycopg.errors.CardinalityViolation))

    def column_from_error(self, table: Table, exc: BaseException) -> str | None:
        diag = getattr(exc, "diag", None)
        if diag is None:
            return None
        if diag.column_name:
            return diag.column_name
        if diag.message_detail:
            m = _PG_KEY.search(diag.message_detail)
            if m:
                return m.group(1).replace('"', "").replace(" ", "")
        if diag.context:
            m = _PG_COPY_COL.search(diag.context)
            if m:
                return m.group(1).strip().strip('"')
        return None


#: Memory each connection may use to sort an index it builds (PostgreSQL's own setting, set for
#: the building transaction only; the server's default of 64MB spills the larger tables to disk).
MAINTENANCE_WORK_MEM = "256MB"

_SECONDARY = """
SELECT x.indexrelid::regclass::text AS index_name, pg_get_indexdef(x.indexrelid) AS definition
FROM pg_index x
WHERE x.indrelid = to_regclass(:t)
  AND NOT x.indisunique AND NOT x.indisprimary AND NOT x.indisexclusion
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
ORDER BY 1
"""


class PostgreSQL(Dialect):
    name = POSTGRESQL
    ops = PgOps
    defers_indexes = True
    text_refuses_nul = True  # "invalid byte sequence for encoding UTF8: 0x00"

    def secondary_indexes(self, conn: Connection, table: str, defer_fks: bool
                          ) -> list[tuple[str, str]]:
        """Not unique, not a key, not backing a constraint (foreign keys need no index here);
        the definition is ``pg_get_indexdef``."""
        res = conn.execute(text(_SECONDARY), {"t": quote(conn, table)})
        return [(r.index_name, r.definition) for r in res]

    def drop_indexes(self, conn: Connection, table: str, names: Sequence[str]) -> None:
        for name in names:
            conn.exec_driver_sql(f"DROP INDEX {name}")

    def missing_indexes(self, conn: Connection, table: str, names: Sequence[str]) -> list[str]:
        return [n for n in names
                if conn.execute(text("SELECT to_regclass(:n)"), {"n": n}).scalar() is None]

    def create_indexes(self, conn: Connection, table: str, definitions: Sequence[str]) -> None:
        conn.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
        for d in definitions:
            conn.exec_driver_sql(d)

    def table_bytes(self, conn: Connection, table: str) -> int:
        return int(conn.execute(text("SELECT pg_relation_size(to_regclass(:q))"),
                                {"q": quote(conn, table)}).scalar() or 0)

    def row_checksum(self, columns: Sequence[Any]) -> Any:
        """``hashtext`` of the row's values as text joined by '|' (NULL as \\x01, a
        floating-point value as its billionths, as on MySQL)."""
        parts = []
        for c in columns:
            v = cast(c * 1_000_000_000, BigInteger) if isinstance(c.type, Float) else c
            parts.append(func.coalesce(cast(v, Text), "\x01"))
        return func.hashtext(func.concat_ws("|", *parts))

    def begin_read_only(self, conn: Connection) -> None:
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")

    def set_fk_checks(self, conn: Connection, on: bool) -> None:
        if not on:  # foreign keys are triggers: a replica session does not fire them
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")

    def can_defer_fk_checks(self, engine: Engine) -> tuple[bool, str | None]:
        with engine.connect() as conn:
            su = conn.exec_driver_sql("SELECT rolsuper FROM pg_roles WHERE rolname = "
                                      "current_user").scalar()
        if su:
            return True, None
        return False, (f"fk_checks=after needs a PostgreSQL superuser (session_replication_role);"
                       f" {engine.url.username} is not one: foreign keys are checked row by row")

    def open_snapshot(self, engine: Engine) -> Connection:
        conn = engine.connect().execution_options(isolation_level="REPEATABLE READ",
                                                  postgresql_readonly=True)
        conn.exec_driver_sql("SELECT 1")
        return conn

    def non_ascii(self, expr):
        return func.octet_length(expr) != func.char_length(expr)

    def _select_id_list(self, conn: Connection, head: str, ids: list[int]):
        return conn.exec_driver_sql(head + "= ANY(%s)", (ids,))

    def set_sequence(self, conn: Connection, table: Table, column: str, mx: int) -> None:
        seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                           {"t": quote_table(conn, table), "c": column}).scalar()
        if seq is None:
            return
        if mx > 0:
            conn.execute(text("SELECT setval(:s, :v, true)"), {"s": seq, "v": mx})
        else:
            conn.execute(text("SELECT setval(:s, 1, false)"), {"s": seq})

    # -- the run lock, and which database a connection reaches -----------------------------

    def take_run_lock(self, engine: Engine, wait: bool):
        """``pg_advisory_lock``: a lock of this database, held by one session (the server
        releases it when that session ends)."""
        def acquire(conn: Connection) -> bool:
            if wait:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": RUN_LOCK_KEY})
                return True
            return bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                     {"k": RUN_LOCK_KEY}).scalar())

        return held_lock(engine, acquire, lambda conn: conn.execute(
            text("SELECT pg_advisory_unlock(:k)"), {"k": RUN_LOCK_KEY}))

    def same_database(self, a: Engine, b: Engine) -> bool:
        """An advisory lock of a random key taken on ``b`` is in ``a``'s ``pg_locks`` for
        ``a``'s database: the same cluster and the same database."""
        key = random.SystemRandom().randrange(1, 1 << 62)
        with b.connect() as cb, a.connect() as ca:
            cb.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            try:
                n = ca.execute(text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND "
                    "database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                    " AND classid::bigint = :hi AND objid::bigint = :lo AND objsubid = 1"),
                    {"hi": key >> 32, "lo": key & 0xFFFFFFFF}).scalar()
            finally:
                cb.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        return bool(n)

    def describe_database(self, engine: Engine) -> str:
        with engine.connect() as c:
            addr, port, db = c.execute(text(
                "SELECT inet_server_addr(), inet_server_port(), current_database()")).one()
        return f"database {db} on server {addr or 'local socket'}:{port}"
