"""MariaDB / MySQL: multi-row ``INSERT ... VALUES`` built by bascule, ``ON DUPLICATE KEY UPDATE``,
``foreign_key_checks``, consistent snapshots shared by several connections.

Values are escaped with the connection's own string escaping (PyMySQL's ``escape`` honours
NO_BACKSLASH_ESCAPES); a statement is bounded in characters well below ``max_allowed_packet``.
``LOAD DATA LOCAL INFILE`` is there (``mysql_method="load_data"``) but is not the default: no
faster here, and LOCAL turns row errors into warnings, which the writer must then turn back into
errors. The next chunk is read and encoded in a helper thread while the server runs the current
statement (the writer's ``prefetch``).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import tempfile
import uuid
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any, Iterator

from sqlalchemy import BigInteger, Float, Table, cast, func, literal_column, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from bascule.load.dialects.base import (
    MYSQL,
    TRANSIENT_MYSQL_CODES,
    Counter,
    Dialect,
    Op,
    decorator_processors,
    held_lock,
    quote,
    quote_list,
    quote_table,
)
from bascule.load.encode import load_data_line, make_mysql_literal

_tmp_counter = itertools.count(1)
#: GET_LOCK's timeout when a run waits for the run lock (seconds: a year; MariaDB takes no
#: negative "forever").
LOCK_WAIT_S = 365 * 86400

_MY_COL_PATTERNS = [
    re.compile(r"for column `[^`]*`\.`[^`]*`\.`([^`]+)`"),  # MariaDB: `db`.`t`.`c`
    re.compile(r"for column '([^']+)'"),
    re.compile(r"[Cc]olumn '([^']+)'"),
    re.compile(r"FOREIGN KEY \(`([^`]+)`"),
]
_MY_DUP_KEY = re.compile(r"for key '(?:[^'.]*\.)?([^']+)'")

#: Seconds the global read lock that gives the workers one snapshot may wait for running queries.
SNAPSHOT_LOCK_WAIT = 10


def _index_columns(table: Table, name: str) -> list[str] | None:
    if name.upper() == "PRIMARY":
        return [c.name for c in table.primary_key.columns]
    for idx in table.indexes:
        if idx.name == name:
            return [c.name for c in idx.columns]
    for cons in table.constraints:
        if getattr(cons, "name", None) == name and hasattr(cons, "columns"):
            return [c.name for c in cons.columns]
    return None


class MySQLOps:
    """The statements of the bulk writer on MariaDB/MySQL."""

    default_batch_rows = 5000
    prefetch = True  # each chunk is a synchronous statement: encode the next one meanwhile

    def __init__(self, w: Any, *, mysql_method: str = "insert", batch_bytes: int | None = None,
                 **_other: Any):
        self.w = w
        self.method = mysql_method
        cur = w.dconn.cursor()
        try:
            cur.execute("SELECT @@max_allowed_packet")
            packet = int(cur.fetchone()[0])
        finally:
            cur.close()
        # characters, worst case 4 bytes each in utf8mb4 (and 2 hex chars per blob byte)
        default = max(64 * 1024, min(packet // 5, 4 * 1024 * 1024))
        chars = min(batch_bytes // 4, packet // 5) if batch_bytes else default
        self.batch_chars = max(chars, 1024)
        self.literal, self.row_literal = make_mysql_literal(w.dconn.escape)

    # -- encoding -------------------------------------------------------------------------

    def row_encoder(self):
        return self.row_literal if self.method == "insert" else None

    def processors(self, table: Table, columns: Sequence[str]) -> list:
        return decorator_processors(table, columns, self.w.conn.dialect)

    # -- statements -----------------------------------------------------------------------

    def _values(self, head: str, items: list, tail: str) -> None:
        cur = self.w.dconn.cursor()
        try:
            cur.execute(head + ",".join([lit for _, lit in items]) + tail)
        finally:
            cur.close()

    def insert(self, table: Table, columns: list[str]) -> Op:
        if self.method == "load_data":
            return Op(load_data_line, lambda items: self._load_data(table, columns, items))
        c = self.w.conn
        head = f"INSERT INTO {quote_table(c, table)} ({quote_list(c, columns)}) VALUES "
        return Op(self.row_literal, lambda items: self._values(head, items, ""))

    @contextmanager
    def upsert(self, table: Table, columns: list[str], key: list[str], others: list[str]
               ) -> Iterator[Op]:
        c = self.w.conn
        upd = ", ".join(f"{quote(c, x)} = VALUES({quote(c, x)})" for x in (others or key[:1]))
        head = f"INSERT INTO {quote_table(c, table)} ({quote_list(c, columns)}) VALUES "
        tail = f" ON DUPLICATE KEY UPDATE {upd}"
        yield Op(self.row_literal, lambda items: self._values(head, items, tail))

    @contextmanager
    def update(self, table: Table, key: list[str], columns: list[str]) -> Iterator[Op]:
        c = self.w.conn
        q = lambda n: quote(c, n)  # noqa: E731
        allcols = key + columns
        tname = quote_table(c, table)
        tmp = q(f"bascule_tmp_{next(_tmp_counter)}")
        self.w.wrap(self.w.exec, f"CREATE TEMPORARY TABLE {tmp} SELECT "
                                 f"{quote_list(c, allcols)} FROM {tname} LIMIT 0")
        head = f"INSERT INTO {tmp} ({quote_list(c, allcols)}) VALUES "
        sets = ", ".join(f"t.{q(x)} = s.{q(x)}" for x in columns)
        on = " AND ".join(f"t.{q(k)} = s.{q(k)}" for k in key)
        upd = f"UPDATE {tname} AS t JOIN {tmp} AS s ON {on} SET {sets}"
        matched = Counter()

        def run(items):
            self._values(head, items, "")
            matched.add(self.w.exec(upd))
            self.w.exec(f"DELETE FROM {tmp}")

        with self.w.temp_table(f"DROP TEMPORARY TABLE IF EXISTS {tmp}"):
            yield Op(self.row_literal, run, matched)

    def delete(self, table: Table, key: list[str]) -> Op:
        c = self.w.conn
        matched = Counter()
        if len(key) == 1:
            head = f"DELETE FROM {quote_table(c, table)} WHERE {quote(c, key[0])} IN ("

            def run(items):
                matched.add(self.w.exec(head + ",".join(self.literal(r[0]) for r, _ in items)
                                        + ")"))
        else:
            sql = (f"DELETE FROM {quote_table(c, table)} WHERE "
                   + " AND ".join(f"{quote(c, k)} = %s" for k in key))

            def run(items):
                matched.add(self.w.exec_many(sql, [tuple(r) for r, _ in items]))
        return Op(None, run, matched)

    def _load_data(self, table: Table, columns: list[str], items: list) -> None:
        fd, path = tempfile.mkstemp(prefix="bascule_ld_", suffix=".tsv")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(b"".join([line for _, line in items]))
            sql = (f"LOAD DATA LOCAL INFILE {self.literal(path)} INTO TABLE "
                   f"{quote_table(self.w.conn, table)} CHARACTER SET binary "
                   "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' "
                   f"({quote_list(self.w.conn, columns)})")
            cur = self.w.dconn.cursor()
            first = None
            try:
                cur.execute(sql)
                warnings, done = cur.warning_count, cur.rowcount
                if warnings:
                    cur.execute("SHOW WARNINGS LIMIT 1")
                    first = cur.fetchone()
            finally:
                cur.close()
            if warnings or done != len(items):
                # LOCAL turns errors into warnings and skips the rows: refuse the chunk (the
                # savepoint undoes it) with the server's first warning as the error
                if first is not None:
                    code, message = int(first[1]), str(first[2])
                else:
                    code, message = 1265, f"LOAD DATA wrote {done} of {len(items)} rows"
                my_err = self.w.dbapi.err  # PyMySQL's errors (the writer's driver)
                cls = my_err.error_map.get(code, my_err.DataError)
                if not issubclass(cls, (my_err.IntegrityError, my_err.DataError)):
                    cls = my_err.DataError
                raise cls(code, message)
        finally:
            os.unlink(path)

    # -- errors ---------------------------------------------------------------------------

    def usable(self) -> bool:
        return True

    def is_data_error(self, exc: BaseException) -> bool:
        pymysql = self.w.dbapi  # the driver module, as the engine loaded it
        if isinstance(exc, (pymysql.IntegrityError, pymysql.DataError)):
            return True
        if isinstance(exc, (pymysql.OperationalError, pymysql.InternalError)):
            code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
            return 1000 <= code < 2000 and code not in TRANSIENT_MYSQL_CODES
        return False

    def column_from_error(self, table: Table, exc: BaseException) -> str | None:
        msg = str(getattr(exc, "args", [""])[-1])
        m = _MY_DUP_KEY.search(msg)
        if m and "Duplicate entry" in msg:
            cols = _index_columns(table, m.group(1))
            return ",".join(cols) if cols else m.group(1)
        for pat in _MY_COL_PATTERNS:
            m = pat.search(msg)
            if m:
                return m.group(1)
        return None


_SECONDARY = """
SELECT s.INDEX_NAME, s.COLUMN_NAME, s.SUB_PART, s.COLLATION
FROM information_schema.STATISTICS s
WHERE s.TABLE_SCHEMA = DATABASE() AND s.TABLE_NAME = :t AND s.NON_UNIQUE = 1
  AND s.INDEX_TYPE = 'BTREE'
  AND NOT EXISTS (SELECT 1 FROM information_schema.STATISTICS o
                  WHERE o.TABLE_SCHEMA = s.TABLE_SCHEMA AND o.TABLE_NAME <> s.TABLE_NAME
                    AND o.INDEX_NAME = s.INDEX_NAME)
ORDER BY s.INDEX_NAME, s.SEQ_IN_INDEX
"""


class MySQL(Dialect):
    name = MYSQL
    ops = MySQLOps
    shared_snapshots = True
    defers_indexes = True
    # ALTER TABLE waits for the metadata locks that the FK check's transaction holds on the
    # tables it read: build first, then check
    index_builds_beside_fk_check = False
    builds_indexes_per_table = True

    def bmp_only_columns(self, conn: Connection) -> dict[str, set[str]]:
        """The text columns of charset utf8mb3 (``utf8`` before MariaDB 10.6 / MySQL 8.0.30)
        in the target's database, from information_schema."""
        out: dict[str, set[str]] = {}
        for t, c in conn.execute(text(
                "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS "
                "WHERE TABLE_SCHEMA = DATABASE() AND CHARACTER_SET_NAME IN ('utf8', 'utf8mb3')")):
            out.setdefault(str(t), set()).add(str(c))
        return out

    def secondary_indexes(self, conn: Connection, table: str, defer_fks: bool
                          ) -> list[tuple[str, str]]:
        """Not unique, B-tree, of a name no other table uses (bascule_index is keyed by name).
        Most back a foreign key: InnoDB lets them go only while its foreign-key checks are off,
        so none is dropped unless the run writes without them (``defer_fks``). The definition is
        the ``ALTER TABLE ... ADD INDEX`` that makes the index again."""
        if not defer_fks:
            return []
        parts: dict[str, list[str]] = {}
        for name, col, sub, coll in conn.execute(text(_SECONDARY), {"t": table}):
            parts.setdefault(name, []).append(
                quote(conn, col) + (f"({int(sub)})" if sub else "")
                + (" DESC" if coll == "D" else ""))
        head = f"ALTER TABLE {quote(conn, table)} ADD "
        return [(n, f"{head}INDEX {quote(conn, n)} ({', '.join(cols)})")
                for n, cols in parts.items()]

    def drop_indexes(self, conn: Connection, table: str, names: Sequence[str]) -> None:
        """One ALTER TABLE (metadata only in InnoDB), with the foreign-key checks off for it."""
        conn.exec_driver_sql("SET SESSION foreign_key_checks = 0")
        try:
            conn.exec_driver_sql(f"ALTER TABLE {quote(conn, table)} "
                                 + ", ".join(f"DROP INDEX {quote(conn, n)}" for n in names))
        finally:
            conn.exec_driver_sql("SET SESSION foreign_key_checks = 1")

    def missing_indexes(self, conn: Connection, table: str, names: Sequence[str]) -> list[str]:
        have = {r[0] for r in conn.execute(text(
            "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :t"), {"t": table})}
        return [n for n in names if n not in have]

    def create_indexes(self, conn: Connection, table: str, definitions: Sequence[str]) -> None:
        """The definitions bascule recorded, in one ALTER TABLE: InnoDB reads the table once
        and sorts each index (a hand-edited definition runs on its own)."""
        head = f"ALTER TABLE {quote(conn, table)} ADD "
        ours = [d[len(head):] for d in definitions if d.startswith(head)]
        if ours:
            conn.exec_driver_sql(head + ", ADD ".join(ours))
        for d in definitions:
            if not d.startswith(head):
                conn.exec_driver_sql(d)

    def table_bytes(self, conn: Connection, table: str) -> int:
        return int(conn.execute(text(
            "SELECT DATA_LENGTH FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
            "AND TABLE_NAME = :t"), {"t": table}).scalar() or 0)

    def begin_read_only(self, conn: Connection) -> None:
        conn.exec_driver_sql("START TRANSACTION READ ONLY")

    def set_fk_checks(self, conn: Connection, on: bool) -> None:
        conn.exec_driver_sql(f"SET SESSION foreign_key_checks = {1 if on else 0}")

    def can_defer_fk_checks(self, engine: Engine) -> tuple[bool, str | None]:
        return True, None

    def open_snapshot(self, engine: Engine) -> Connection:
        conn = engine.connect()
        conn.exec_driver_sql("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        return conn

    def open_shared_snapshots(self, engine: Engine, more: int
                              ) -> tuple[Connection, list[Connection], str | None]:
        """The main connection and ``more`` more, all in one snapshot: their transactions start
        while a global read lock holds every write back for an instant (FLUSH TABLES WITH READ
        LOCK, as mydumper does; needs the RELOAD privilege, and waits at most
        SNAPSHOT_LOCK_WAIT seconds for running queries). Without it, only the main connection
        is opened and the third value says why."""
        lock = engine.connect()
        try:
            try:
                # a live server: give up (one process) rather than stall its writers behind a
                # long query that the lock would wait for
                lock.exec_driver_sql(f"SET SESSION lock_wait_timeout = {SNAPSHOT_LOCK_WAIT}")
                lock.exec_driver_sql("FLUSH TABLES WITH READ LOCK")
            except DBAPIError as e:
                lock.rollback()
                return self.open_snapshot(engine), [], (str(e.orig).strip()
                                                        or e.__class__.__name__)
            conns = []
            try:
                for _ in range(1 + more):
                    conns.append(self.open_snapshot(engine))
            finally:
                lock.exec_driver_sql("UNLOCK TABLES")
            return conns[0], conns[1:], None
        finally:
            lock.close()

    def row_checksum(self, columns: Sequence[Any]) -> Any:
        """CRC32 of the row's values joined by '|'. A NULL is written as \\x01 (CONCAT_WS
        skips NULLs, which would shift the values), a floating-point value as its billionths
        (the text of a DOUBLE costs twice as much to make; a change below 1e-9 goes unseen)."""
        parts = []
        for c in columns:
            v = cast(c * 1_000_000_000, BigInteger) if isinstance(c.type, Float) else c
            parts.append(func.ifnull(v, "\x01") if c.nullable else v)
        return func.crc32(func.concat_ws("|", *parts))

    def chunk_of(self, column: Any, size: int) -> Any:
        return column.op("DIV")(size)

    def table_checksum(self, table: Any) -> Any:
        """``CHECKSUM TABLE ... EXTENDED``: a CRC of every row, all columns, in the server's
        C loop (a third of the chunk sums' time for UserOrder at Cagette scale). InnoDB reads
        it in the transaction's snapshot and it commits nothing; EXTENDED never answers from
        a live checksum kept outside the snapshot (MyISAM, Aria)."""
        name = ".".join("`" + n.replace("`", "``") + "`"
                        for n in (table.schema, table.name) if n is not None)
        return text(f"CHECKSUM TABLE {name} EXTENDED")

    def many_groups(self, stmt: Any) -> Any:
        """SQL_BIG_RESULT: sort, then aggregate in one pass. Without it the server fills an
        in-memory temporary table that, past tmp_table_size, goes to disk: 2.6 s against 4 to
        24 s for UserOrder by product at Cagette scale."""
        return stmt.prefix_with("SQL_BIG_RESULT")

    def non_ascii(self, expr):
        # bytes in UTF-8 > characters: some character is not ASCII
        return func.length(func.convert(expr.op("USING")(literal_column("utf8mb4")))) \
            != func.char_length(expr)

    def set_sequence(self, conn: Connection, table: Table, column: str, mx: int) -> None:
        """ALTER TABLE ... AUTO_INCREMENT = max+1 when the counter is not already above (InnoDB
        moves it itself on explicit ids, so usually nothing is altered). ALTER TABLE commits
        the current transaction: call this after the data is committed."""
        schema = table.schema or conn.execute(text("SELECT DATABASE()")).scalar()
        cur = conn.execute(text("SELECT AUTO_INCREMENT FROM information_schema.TABLES "
                                "WHERE TABLE_SCHEMA = :s AND TABLE_NAME = :t"),
                           {"s": schema, "t": table.name}).scalar()
        if cur is None or int(cur) <= mx:
            conn.execute(text(f"ALTER TABLE {quote_table(conn, table)} AUTO_INCREMENT = "
                              f"{mx + 1}"))

    # -- the run lock, and which database a connection reaches -----------------------------

    def take_run_lock(self, engine: Engine, wait: bool):
        """``GET_LOCK('bascule:<database>')``: a named lock of the server, held by one
        connection (the server releases it when that connection ends)."""
        name = ""

        def acquire(conn: Connection) -> bool:
            nonlocal name
            name = _lock_name(conn.execute(text("SELECT DATABASE()")).scalar() or "")
            return conn.execute(text("SELECT GET_LOCK(:n, :t)"),
                                {"n": name, "t": LOCK_WAIT_S if wait else 0}).scalar() == 1

        return held_lock(engine, acquire, lambda conn: conn.execute(
            text("SELECT RELEASE_LOCK(:n)"), {"n": name}))

    def same_database(self, a: Engine, b: Engine) -> bool:
        """A lock of a random name taken on ``b`` is seen by ``a`` (``IS_USED_LOCK``): the same
        server; then the same database name (``DATABASE()``, compared as the server compares
        names)."""
        name = "bascule-probe-" + uuid.uuid4().hex
        with b.connect() as cb, a.connect() as ca:
            if cb.execute(text("SELECT GET_LOCK(:n, 0)"), {"n": name}).scalar() != 1:
                return False
            try:
                used = ca.execute(text("SELECT IS_USED_LOCK(:n)"), {"n": name}).scalar()
            finally:
                cb.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": name})
            if used is None:
                return False
            da, lower = ca.execute(text("SELECT DATABASE(), @@lower_case_table_names")).one()
            db = cb.execute(text("SELECT DATABASE()")).scalar()
            return da == db or bool(lower) and (da or "").lower() == (db or "").lower()

    def describe_database(self, engine: Engine) -> str:
        with engine.connect() as c:
            host, port, db, version = c.execute(text(
                "SELECT @@hostname, @@port, DATABASE(), VERSION()")).one()
        return f"database {db} on server {host}:{port} ({version})"


def _lock_name(database: str) -> str:
    """The run lock's name: GET_LOCK names are the server's (64 characters at most)."""
    name = "bascule:" + database
    return name if len(name) <= 64 else "bascule:" + hashlib.sha1(database.encode()).hexdigest()
