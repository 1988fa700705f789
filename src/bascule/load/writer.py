"""Bulk writes into the target, with the fastest path of each engine, inside the caller's transaction.

```python
w = BulkWriter(conn)                      # conn: SQLAlchemy Connection, transaction begun by caller
w.insert(table, columns, rows)            # plain insert
w.upsert(table, columns, rows, key)       # insert, or update the non-key columns when key exists
w.update(table, key, columns, rows)       # rows = key values + new values
w.delete(table, key, keys)
```

Fast paths (see reference/measurements.md and bench/load_throughput.py):

- PostgreSQL: ``COPY ... FROM STDIN`` (text format) on the psycopg connection of ``conn``, rows
  sent with psycopg's C ``write_row`` (default; measured about as fast as pre-built COPY text,
  i.e. server-bound) or with COPY text built here (``pg_copy="text"``); upsert/update go through
  a TEMP table (ON COMMIT DROP) filled by COPY, then ``INSERT ... SELECT ... ON CONFLICT`` /
  ``UPDATE ... FROM``.
- MySQL/MariaDB: multi-row ``INSERT ... VALUES (...),(...)`` built here, bounded in bytes well
  below ``max_allowed_packet``, values escaped with the connection's own string escaping;
  ``ON DUPLICATE KEY UPDATE`` for upsert; a TEMPORARY table + ``UPDATE ... JOIN`` for update.
  ``LOAD DATA LOCAL INFILE`` is available (``mysql_method="load_data"``) but is not the default
  (no faster here, and LOCAL turns row errors into warnings). The next chunk is read and encoded
  in a helper thread while the server runs the current statement (``prefetch``).
- SQLite: ``executemany`` of a prepared statement (``ON CONFLICT (key) DO UPDATE`` for upsert).

Each chunk runs inside a SAVEPOINT. When the database rejects a chunk for a data reason
(constraint, too long, bad value, FK), the chunk is rolled back to its savepoint and bisected, each
half again under a savepoint, until the first bad row is found; then a :class:`LoadError` naming
the table, the row's key and (when known) the column is raised. Rows of that chunk are not left
written; earlier chunks are, so the caller rolls back its transaction. Errors that are not about
the data (lost connection, syntax) are re-raised as SQLAlchemy ``DBAPIError`` subclasses.

Memory: rows are consumed from any iterable, one chunk at a time.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import re
import tempfile
import threading
from typing import Any, Callable, Iterable, Iterator, Sequence

from sqlalchemy import Integer, Table, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator

from bascule.load.dialects import (
    MYSQL,
    POSTGRESQL,
    SQLITE,
    TRANSIENT_MYSQL_CODES,
    RawSavepoint,
    driver_connection,
    kind_of,
    quote,
    quote_list,
    quote_table,
)
from bascule.load.encode import (
    column_kind,
    load_data_line,
    make_mysql_literal,
    mysql_row_encoder,
    pg_copy_line,
    pg_row_encoder,
)

__all__ = ["BulkWriter", "LoadError", "fix_sequences", "max_ids"]

_tmp_counter = itertools.count(1)


# ============================================================================ errors


class LoadError(Exception):
    """The target database rejected a row.

    Attributes: ``table`` (name), ``key`` (dict column -> value identifying the row: its primary
    key when the written columns hold it, else the operation's key), ``column`` (the column the
    database or the metadata points at, or None), ``db_message`` (the database's own words),
    ``operation`` ("insert", "upsert", "update", "delete").
    """

    def __init__(
        self,
        table: str,
        key: dict[str, Any] | None,
        column: str | None,
        db_message: str,
        operation: str = "insert",
    ):
        self.table = table
        self.key = key or {}
        self.column = column
        self.db_message = db_message
        self.operation = operation
        super().__init__(self._message())

    def _message(self) -> str:
        keytxt = ", ".join(f"{k}={v!r}" for k, v in self.key.items()) or "?"
        col = f", column {self.column}" if self.column else ""
        return f"{self.operation} into {self.table} rejected row {keytxt}{col}: {self.db_message}"

    def __reduce__(self):  # picklable (multiprocessing, logging)
        return (
            LoadError,
            (self.table, self.key, self.column, self.db_message, self.operation),
        )


class _BadRow(Exception):
    def __init__(self, item, exc: BaseException):
        super().__init__(str(exc))
        self.item = item
        self.exc = exc


# ============================================================================ helpers


def db_message(exc: BaseException) -> str:
    """The database's message without driver decoration."""
    args = getattr(exc, "args", ())
    if len(args) >= 2 and isinstance(args[0], int):  # pymysql: (errno, message)
        return f"({args[0]}) {args[1]}"
    diag = getattr(exc, "diag", None)
    if diag is not None and getattr(diag, "message_primary", None):
        msg = diag.message_primary
        if diag.message_detail:
            msg += f" ({diag.message_detail})"
        return msg
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


_MY_COL_PATTERNS = [
    re.compile(r"for column `[^`]*`\.`[^`]*`\.`([^`]+)`"),  # MariaDB: `db`.`t`.`c`
    re.compile(r"for column '([^']+)'"),
    re.compile(r"[Cc]olumn '([^']+)'"),
    re.compile(r"FOREIGN KEY \(`([^`]+)`"),
]
_MY_DUP_KEY = re.compile(r"for key '(?:[^'.]*\.)?([^']+)'")
_PG_KEY = re.compile(r"Key \(([^)]+)\)=")
_PG_COPY_COL = re.compile(r"column ([^:]+):")
_SQLITE_COL = re.compile(r"constraint failed: ([^\s,]+)")


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


def _column_from_error(kind: str, table: Table, exc: BaseException) -> str | None:
    """The column the database names in its error, when it names one."""
    msg = str(getattr(exc, "args", [""])[-1]) if kind == MYSQL else str(exc)
    if kind == MYSQL:
        m = _MY_DUP_KEY.search(msg)
        if m and "Duplicate entry" in msg:
            cols = _index_columns(table, m.group(1))
            return ",".join(cols) if cols else m.group(1)
        for pat in _MY_COL_PATTERNS:
            m = pat.search(msg)
            if m:
                return m.group(1)
        return None
    if kind == POSTGRESQL:
        diag = getattr(exc, "diag", None)
        if diag is not None:
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
    m = _SQLITE_COL.search(msg)
    if m:
        names = [p.split(".", 1)[-1] for p in m.group(1).split(",")]
        return ",".join(names)
    return None


def _column_from_metadata(table: Table, columns: Sequence[str], row: Sequence, msg: str) -> str | None:
    """When the database does not say which column, guess from the metadata (too long, NOT NULL)."""
    low = msg.lower()
    if "nul (0x00)" in low or "0x00" in low:
        for name, v in zip(columns, row):
            if isinstance(v, str) and "\x00" in v:
                return name
    if "too long" in low or "right truncation" in low:
        for name, v in zip(columns, row):
            col = table.c.get(name)
            length = getattr(getattr(col, "type", None), "length", None)
            if length and isinstance(v, (str, bytes)) and len(v) > length:
                return name
    if "null" in low:
        for name, v in zip(columns, row):
            col = table.c.get(name)
            if v is None and col is not None and not col.nullable:
                return name
    return None


def _reraise_sa(conn: Connection, exc: BaseException, statement: str | None = None):
    """Raise a driver exception as the SQLAlchemy DBAPIError subclass the rest of the code knows."""
    dialect = conn.dialect
    dbapi = dialect.loaded_dbapi
    if not isinstance(exc, dbapi.Error):
        raise exc
    try:
        disconnect = dialect.is_disconnect(exc, driver_connection(conn), None)
    except Exception:  # pragma: no cover - defensive
        disconnect = False
    wrapped = sa_exc.DBAPIError.instance(
        statement,
        None,
        exc,
        dbapi.Error,
        connection_invalidated=disconnect,
        dialect=dialect,
    )
    if disconnect:
        try:
            conn.invalidate(exc)
        except Exception:  # pragma: no cover - defensive
            pass
    raise wrapped from exc


class _Prefetch:
    """Runs a chunk generator in a helper thread, one chunk ahead of the consumer.

    While the database executes one chunk (the driver waits on its socket, without the GIL), the
    next chunk is pulled from the caller's iterator and encoded, so reading, transforming and
    writing overlap. At most two chunks exist at a time. Exceptions of the generator are re-raised
    in the consumer; ``close()`` stops the helper after the chunk it is building.
    """

    _ITEM, _END, _ERROR = 0, 1, 2

    def __init__(self, gen: Iterator):
        self._gen = gen
        self._q: queue.Queue = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, name="bascule-load-prefetch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    item = next(self._gen)
                except StopIteration:
                    break
                self._q.put((self._ITEM, item))
            self._q.put((self._END, None))
        except BaseException as exc:  # handed to the consumer
            self._q.put((self._ERROR, exc))

    def __iter__(self) -> Iterator:
        while True:
            kind, value = self._q.get()
            if kind == self._ITEM:
                yield value
            else:
                self._done = True
                if kind == self._ERROR:
                    raise value
                return

    def close(self) -> None:
        if not self._done:
            self._stop.set()
            while True:  # unblock the helper and wait for its last word
                kind, _ = self._q.get()
                if kind != self._ITEM:
                    break
            self._done = True
        self._thread.join()


# ============================================================================ the writer


class BulkWriter:
    """Bulk writer bound to one SQLAlchemy Connection (and its current transaction).

    Options:
      batch_rows   rows per chunk (one SAVEPOINT and, on PostgreSQL, one COPY per chunk)
      batch_bytes  upper bound of one chunk's encoded size (MySQL: kept far below
                   max_allowed_packet; the bound is counted in characters, at most 4 bytes each)
      pg_copy      "rows" (psycopg's C write_row, default: measured faster) or "text" (COPY
                   text built here in Python and sent in 1 MB writes)
      mysql_method "insert" (multi-row INSERT, default) or "load_data" (LOAD DATA LOCAL INFILE)
      prefetch     pull and encode the next chunk in a helper thread while the database runs the
                   current one (default: on for MySQL only). The rows iterator then runs in that
                   thread: it must not use this writer's connection.
    """

    def __init__(
        self,
        conn: Connection,
        *,
        batch_rows: int | None = None,
        batch_bytes: int | None = None,
        pg_copy: str = "rows",
        mysql_method: str = "insert",
        prefetch: bool | None = None,
    ):
        self.conn = conn
        self.kind = kind_of(conn)
        self.dconn = driver_connection(conn)
        self.pg_copy = pg_copy
        self.mysql_method = mysql_method
        if pg_copy not in ("text", "rows"):
            raise ValueError("pg_copy must be 'text' or 'rows'")
        if mysql_method not in ("insert", "load_data"):
            raise ValueError("mysql_method must be 'insert' or 'load_data'")
        self.batch_rows = batch_rows or (5000 if self.kind == MYSQL else 10000)
        if self.kind == MYSQL:
            cur = self.dconn.cursor()
            try:
                cur.execute("SELECT @@max_allowed_packet")
                packet = int(cur.fetchone()[0])
            finally:
                cur.close()
            self.max_packet = packet
            # characters, worst case 4 bytes each in utf8mb4 (and 2 hex chars per blob byte)
            default = max(64 * 1024, min(packet // 5, 4 * 1024 * 1024))
            self.batch_chars = min(batch_bytes // 4, packet // 5) if batch_bytes else default
            self.batch_chars = max(self.batch_chars, 1024)
            self._literal, self._row_literal = make_mysql_literal(self.dconn.escape)
        else:
            self.max_packet = None
            self.batch_chars = (batch_bytes or 16 * 1024 * 1024)
        self._dbapi = conn.dialect.loaded_dbapi
        # helper-thread prefetch of the next chunk: default on MySQL, where each chunk is a
        # synchronous statement and the client-side encoding is as slow as the server's ingest
        self.prefetch = (self.kind == MYSQL) if prefetch is None else prefetch

    # ------------------------------------------------------------------ public API

    def row_encoder(self, table: Table, columns: Sequence[str]) -> Callable[[Sequence], Any] | None:
        """The function that ``insert`` and ``upsert`` apply to each row of ``table`` before
        sending it (PostgreSQL with ``pg_copy="text"``: the COPY line; MySQL with
        ``mysql_method="insert"``: the SQL literal), or None when rows are sent otherwise.
        A caller may encode rows ahead with it and pass the results as ``encoded``."""
        if self._processors(table, list(columns)):
            return None
        kinds = [column_kind(table.c[c]) for c in columns]
        if self.kind == POSTGRESQL and self.pg_copy == "text":
            return pg_row_encoder(kinds)  # pg_copy_line, compiled for these columns
        if self.kind == MYSQL and self.mysql_method == "insert":
            return mysql_row_encoder(kinds, self._literal)  # the same as _row_literal
        return None

    def insert(self, table: Table, columns: Sequence[str], rows: Iterable[Sequence],
               encoded: Sequence | None = None) -> int:
        """Insert rows (tuples in ``columns`` order). Returns the number of rows written.
        ``encoded``: each row already encoded by ``row_encoder`` (None where it is not)."""
        self._ensure_tx()
        columns = list(columns)
        self._check_columns(table, columns)
        if self.kind == POSTGRESQL:
            sql = f"COPY {quote_table(self.conn, table)} ({quote_list(self.conn, columns)}) FROM STDIN"
            run = lambda items: self._pg_copy(sql, items)  # noqa: E731
            encode = pg_copy_line if self.pg_copy == "text" else None
        elif self.kind == MYSQL:
            if self.mysql_method == "load_data":
                run = lambda items: self._my_load_data(table, columns, items)  # noqa: E731
                encode = load_data_line
            else:
                head = f"INSERT INTO {quote_table(self.conn, table)} ({quote_list(self.conn, columns)}) VALUES "
                run = lambda items: self._my_exec_values(head, items, "")  # noqa: E731
                encode = self._row_literal
        else:
            sql = (
                f"INSERT INTO {quote_table(self.conn, table)} ({quote_list(self.conn, columns)}) "
                f"VALUES ({', '.join('?' * len(columns))})"
            )
            run = lambda items: self._sqlite_many(sql, items)  # noqa: E731
            encode = None
        return self._drive("insert", table, columns, rows, encode, run,
                           self._row_key_fn(table, columns, None), encoded=encoded)

    def upsert(
        self,
        table: Table,
        columns: Sequence[str],
        rows: Iterable[Sequence],
        key: Sequence[str],
        encoded: Sequence | None = None,
    ) -> int:
        """Insert rows; where ``key`` already exists, update the other columns. Returns rows given.
        ``encoded`` as for ``insert``.

        On MySQL the update also happens on a conflict with any other unique index (that is what
        ON DUPLICATE KEY does); Camap's unique keys are primary keys, so it makes no difference.
        """
        self._ensure_tx()
        columns = list(columns)
        key = list(key)
        self._check_columns(table, columns)
        missing = [k for k in key if k not in columns]
        if missing:
            raise ValueError(f"upsert key columns {missing} are not among the written columns")
        others = [c for c in columns if c not in key]
        q = lambda n: quote(self.conn, n)  # noqa: E731
        tname = quote_table(self.conn, table)
        collist = quote_list(self.conn, columns)
        rowkey = self._row_key_fn(table, columns, key)
        if self.kind == POSTGRESQL:
            tmp = self._pg_temp_table(table, columns)
            action = (
                "DO UPDATE SET " + ", ".join(f"{q(c)} = EXCLUDED.{q(c)}" for c in others)
                if others
                else "DO NOTHING"
            )
            merge = (
                f"INSERT INTO {tname} ({collist}) SELECT {collist} FROM {tmp} "
                f"ON CONFLICT ({quote_list(self.conn, key)}) {action}"
            )
            copy_sql = f"COPY {tmp} ({collist}) FROM STDIN"

            def run(items):
                self._pg_copy(copy_sql, items)
                self._exec(merge)
                self._exec(f"TRUNCATE {tmp}")

            with self._temp_table(tmp, f"DROP TABLE IF EXISTS {tmp}"):
                return self._drive("upsert", table, columns, rows, self._pg_encode(), run, rowkey,
                                   encoded=encoded)
        if self.kind == MYSQL:
            upd = ", ".join(f"{q(c)} = VALUES({q(c)})" for c in (others or key[:1]))
            head = f"INSERT INTO {tname} ({collist}) VALUES "
            tail = f" ON DUPLICATE KEY UPDATE {upd}"
            run = lambda items: self._my_exec_values(head, items, tail)  # noqa: E731
            return self._drive("upsert", table, columns, rows, self._row_literal, run, rowkey,
                               encoded=encoded)
        action = (
            "DO UPDATE SET " + ", ".join(f"{q(c)} = excluded.{q(c)}" for c in others)
            if others
            else "DO NOTHING"
        )
        sql = (
            f"INSERT INTO {tname} ({collist}) VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT ({quote_list(self.conn, key)}) {action}"
        )
        run = lambda items: self._sqlite_many(sql, items)  # noqa: E731
        return self._drive("upsert", table, columns, rows, None, run, rowkey)

    def update(
        self,
        table: Table,
        key: Sequence[str],
        columns: Sequence[str],
        rows: Iterable[Sequence],
    ) -> int:
        """Set ``columns`` of the rows whose ``key`` matches; each row is key values then new values.

        Returns the number of target rows matched, as the database reports it.
        """
        self._ensure_tx()
        key = list(key)
        columns = list(columns)
        allcols = key + columns
        self._check_columns(table, allcols)
        if not columns:
            return 0
        q = lambda n: quote(self.conn, n)  # noqa: E731
        tname = quote_table(self.conn, table)
        rowkey = self._row_key_fn(table, allcols, key)
        counter = [0]
        if self.kind == POSTGRESQL:
            tmp = self._pg_temp_table(table, allcols)
            sets = ", ".join(f"{q(c)} = s.{q(c)}" for c in columns)
            on = " AND ".join(f"t.{q(k)} = s.{q(k)}" for k in key)
            upd = f"UPDATE {tname} AS t SET {sets} FROM {tmp} AS s WHERE {on}"
            copy_sql = f"COPY {tmp} ({quote_list(self.conn, allcols)}) FROM STDIN"

            def run(items):
                self._pg_copy(copy_sql, items)
                counter[0] += self._exec(upd)
                self._exec(f"TRUNCATE {tmp}")

            # the planner, without statistics on the temp table, hash-joins it against a seq
            # scan of the whole target for every chunk; make it use the key index instead
            saved = self._wrap(self._pg_planner_nested_loops)
            with self._temp_table(tmp, f"DROP TABLE IF EXISTS {tmp}"):
                self._drive("update", table, allcols, rows, self._pg_encode(), run, rowkey)
            self._wrap(self._pg_planner_restore, saved)
            return counter[0]
        if self.kind == MYSQL:
            tmp = q(f"bascule_tmp_{next(_tmp_counter)}")
            self._wrap(
                self._exec,
                f"CREATE TEMPORARY TABLE {tmp} SELECT {quote_list(self.conn, allcols)} "
                f"FROM {tname} LIMIT 0"
            )
            head = f"INSERT INTO {tmp} ({quote_list(self.conn, allcols)}) VALUES "
            sets = ", ".join(f"t.{q(c)} = s.{q(c)}" for c in columns)
            on = " AND ".join(f"t.{q(k)} = s.{q(k)}" for k in key)
            upd = f"UPDATE {tname} AS t JOIN {tmp} AS s ON {on} SET {sets}"

            def run(items):
                self._my_exec_values(head, items, "")
                counter[0] += self._exec(upd)
                self._exec(f"DELETE FROM {tmp}")

            with self._temp_table(tmp, f"DROP TEMPORARY TABLE IF EXISTS {tmp}"):
                self._drive("update", table, allcols, rows, self._row_literal, run, rowkey)
            return counter[0]
        nk = len(key)
        sql = (
            f"UPDATE {tname} SET {', '.join(f'{q(c)} = ?' for c in columns)} "
            f"WHERE {' AND '.join(f'{q(k)} = ?' for k in key)}"
        )

        def run(items):
            params = [tuple(r[nk:]) + tuple(r[:nk]) for r, _ in items]
            counter[0] += self._sqlite_exec_many(sql, params)

        self._drive("update", table, allcols, rows, None, run, rowkey)
        return counter[0]

    def delete(self, table: Table, key: Sequence[str], keys: Iterable[Sequence]) -> int:
        """Delete the rows whose ``key`` columns equal each tuple of ``keys``. Returns rows deleted."""
        self._ensure_tx()
        key = list(key)
        self._check_columns(table, key)
        q = lambda n: quote(self.conn, n)  # noqa: E731
        tname = quote_table(self.conn, table)
        rowkey = self._row_key_fn(table, key, key)
        counter = [0]
        if len(key) == 1 and self.kind == POSTGRESQL:
            sql = f"DELETE FROM {tname} WHERE {q(key[0])} = ANY(%s)"

            def run(items):
                counter[0] += self._exec(sql, ([r[0] for r, _ in items],))

        elif len(key) == 1 and self.kind == MYSQL:
            head = f"DELETE FROM {tname} WHERE {q(key[0])} IN ("

            def run(items):
                counter[0] += self._exec(head + ",".join(self._literal(r[0]) for r, _ in items) + ")")

        else:
            ph = "?" if self.kind == SQLITE else "%s"
            sql = f"DELETE FROM {tname} WHERE {' AND '.join(f'{q(k)} = {ph}' for k in key)}"

            def run(items):
                counter[0] += self._exec_many(sql, [tuple(r) for r, _ in items])

        self._drive("delete", table, key, keys, None, run, rowkey, batch_rows=1000)
        return counter[0]

    def find_bad_row(self, table: Table, columns: Sequence[str], rows: Iterable[Sequence]) -> LoadError | None:
        """Try to insert ``rows`` under a savepoint that is always rolled back; return the LoadError
        of the first row the database rejects, or None when all of them would go in."""
        from bascule.load.dialects import new_savepoint_name

        self._ensure_tx()
        name = new_savepoint_name()
        if self.kind == SQLITE and not self.dconn.in_transaction:
            self._exec("BEGIN")
        self._exec(f"SAVEPOINT {name}")
        try:
            self.insert(table, columns, rows)
            return None
        except LoadError as e:
            return e
        finally:
            self._exec(f"ROLLBACK TO SAVEPOINT {name}")
            self._exec(f"RELEASE SAVEPOINT {name}")

    def _ensure_tx(self) -> None:
        """Writes go through the DBAPI connection, which SQLAlchemy does not watch: begin the
        SQLAlchemy transaction (as its autobegin would) so that ``conn.commit()`` commits them."""
        if not self.conn.in_transaction():
            self.conn.begin()

    # ------------------------------------------------------------------ the driving loop

    def _drive(
        self,
        op: str,
        table: Table,
        columns: list[str],
        rows: Iterable[Sequence],
        encode: Callable | None,
        run: Callable[[list], None],
        rowkey: Callable[[Sequence], dict],
        *,
        batch_rows: int | None = None,
        encoded: Sequence | None = None,
    ) -> int:
        procs = self._processors(table, columns)
        if encoded is not None and (procs or encode is None):
            encoded = None  # not encoded the way this writer sends rows: encode here
        chunks = self._chunks(rows, procs, encode, table, columns, rowkey, op, batch_rows,
                              encoded)
        if not self.prefetch:
            return self._drive_chunks(op, table, columns, chunks, run, rowkey)
        pf = _Prefetch(chunks)
        try:
            return self._drive_chunks(op, table, columns, iter(pf), run, rowkey)
        finally:
            pf.close()

    def _drive_chunks(self, op, table, columns, chunks, run, rowkey) -> int:
        total = 0
        for items in chunks:
            try:
                with RawSavepoint(self.kind, self.dconn):
                    run(items)
            except self._dbapi.Error as exc:
                if not self._is_data_error(exc):
                    _reraise_sa(self.conn, exc)
                try:
                    with RawSavepoint(self.kind, self.dconn):
                        self._bisect(items, run)
                except _BadRow as bad:
                    row = bad.item[0]
                    msg = db_message(bad.exc)
                    column = (
                        _column_from_error(self.kind, table, bad.exc)
                        or _column_from_metadata(table, columns, row, msg)
                        or (self._column_from_fk(table, columns, row) if op != "delete" and "foreign key" in msg.lower() else None)
                    )
                    raise LoadError(table.name, rowkey(row), column, msg, op) from bad.exc
                except self._dbapi.Error as exc2:
                    _reraise_sa(self.conn, exc2)
            total += len(items)
        return total

    def _bisect(self, items: list, run: Callable[[list], None]) -> None:
        """Write ``items`` in order, in ever smaller savepointed parts, until the first bad row.

        Raises _BadRow for the first row whose write fails on its own (after the rows before it
        were written). If every part succeeds (e.g. an upsert chunk that held the same key twice),
        the items end up written part by part and nothing is raised.
        """
        if len(items) == 1:
            try:
                with RawSavepoint(self.kind, self.dconn):
                    run(items)
            except self._dbapi.Error as exc:
                if not self._is_data_error(exc):
                    raise
                raise _BadRow(items[0], exc) from exc
            return
        mid = len(items) // 2
        for part in (items[:mid], items[mid:]):
            try:
                with RawSavepoint(self.kind, self.dconn):
                    run(part)
            except self._dbapi.Error as exc:
                if not self._is_data_error(exc):
                    raise
                self._bisect(part, run)

    def _chunks(self, rows, procs, encode, table, columns, rowkey, op, batch_rows,
                encoded=None):
        """Yield lists of (row, encoded) pairs, bounded by rows and by encoded size."""
        max_rows = batch_rows or self.batch_rows
        max_chars = self.batch_chars
        items: list = []
        size = 0
        pre_iter = iter(encoded) if encoded is not None else None
        for row in rows:
            if pre_iter is not None:
                pre = next(pre_iter)
                if pre is not None:
                    items.append((row, pre))
                    size += len(pre)
                    if len(items) >= max_rows or size >= max_chars:
                        yield items
                        items = []
                        size = 0
                    continue
            if procs:
                row = list(row)
                for i, p in procs:
                    if row[i] is not None:
                        try:
                            row[i] = p(row[i])
                        except (TypeError, ValueError, OverflowError, AttributeError) as exc:
                            raise LoadError(table.name, rowkey(row), columns[i], f"{exc}", op) from exc
            if len(row) != len(columns):
                raise ValueError(
                    f"{op} into {table.name}: row has {len(row)} values for {len(columns)} columns"
                )
            if encode is not None:
                try:
                    enc = encode(row)
                except (TypeError, ValueError, OverflowError) as exc:
                    col = self._bad_value_column(encode, row, columns)
                    raise LoadError(table.name, rowkey(row), col, str(exc), op) from exc
                items.append((row, enc))
                size += len(enc)
            else:
                items.append((row, None))
            if len(items) >= max_rows or size >= max_chars:
                yield items
                items = []
                size = 0
        if items:
            yield items

    def _column_from_fk(self, table: Table, columns: Sequence[str], row: Sequence) -> str | None:
        """The first foreign-key column of ``row`` whose value has no parent row (SQLite does not
        say which constraint failed)."""
        ph = "?" if self.kind == SQLITE else "%s"
        for fk in table.foreign_keys:
            name = fk.parent.name
            if name not in columns:
                continue
            v = row[list(columns).index(name)]
            if v is None:
                continue
            try:
                ref = fk.column
            except Exception:  # referenced table not in this MetaData
                continue
            cur = self.dconn.cursor()
            try:
                cur.execute(
                    f"SELECT 1 FROM {quote_table(self.conn, ref.table)} "
                    f"WHERE {quote(self.conn, ref.name)} = {ph}",
                    (v,),
                )
                found = cur.fetchone() is not None
            except self._dbapi.Error:
                return None
            finally:
                cur.close()
            if not found:
                return name
        return None

    def _bad_value_column(self, encode, row, columns) -> str | None:
        for i, name in enumerate(columns):
            probe = [None] * len(row)
            probe[i] = row[i]
            try:
                encode(probe)
            except Exception:
                return name
        return None

    def _processors(self, table: Table, columns: Sequence[str]) -> list[tuple[int, Callable]]:
        """Bind-time conversions: the dialect's on SQLite (its date/time text format and the like),
        only user TypeDecorators elsewhere (the bulk paths send the values as the driver would)."""
        out = []
        for i, name in enumerate(columns):
            typ = table.c[name].type
            if self.kind == SQLITE:
                p = typ.bind_processor(self.conn.dialect)
            elif isinstance(typ, TypeDecorator):
                p = (lambda t: (lambda v: t.process_bind_param(v, self.conn.dialect)))(typ)
            else:
                p = None
            if p is not None:
                out.append((i, p))
        return out

    def _row_key_fn(self, table: Table, columns: list[str], key: list[str] | None):
        pk = [c.name for c in table.primary_key.columns]
        if pk and all(c in columns for c in pk):
            names = pk
        elif key:
            names = key
        else:
            names = columns[:1]
        idx = [columns.index(n) for n in names]
        return lambda row: {n: row[i] for n, i in zip(names, idx)}

    def _check_columns(self, table: Table, columns: Sequence[str]) -> None:
        unknown = [c for c in columns if c not in table.c]
        if unknown:
            raise ValueError(f"{table.name} has no column(s) {unknown}")
        if len(set(columns)) != len(columns):
            raise ValueError(f"{table.name}: duplicate column names in {list(columns)}")

    def _is_data_error(self, exc: BaseException) -> bool:
        """True when the error is about the rows written (worth pinpointing a row for)."""
        if self.kind == POSTGRESQL:
            import psycopg

            if self.dconn.broken or self.dconn.closed:
                return False
            return isinstance(
                exc,
                (psycopg.IntegrityError, psycopg.DataError, psycopg.errors.CardinalityViolation),
            )
        if self.kind == MYSQL:
            import pymysql

            if isinstance(exc, (pymysql.IntegrityError, pymysql.DataError)):
                return True
            if isinstance(exc, (pymysql.OperationalError, pymysql.InternalError)):
                code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
                return 1000 <= code < 2000 and code not in TRANSIENT_MYSQL_CODES
            return False
        import sqlite3

        return isinstance(exc, (sqlite3.IntegrityError, sqlite3.DataError))

    # ------------------------------------------------------------------ low-level execution

    def _exec(self, sql: str, params=None) -> int:
        cur = self.dconn.cursor()
        try:
            if params is None:
                cur.execute(sql)
            else:
                cur.execute(sql, params)
            return cur.rowcount if cur.rowcount is not None and cur.rowcount >= 0 else 0
        finally:
            cur.close()

    def _exec_many(self, sql: str, params: list) -> int:
        cur = self.dconn.cursor()
        try:
            cur.executemany(sql, params)
            return cur.rowcount if cur.rowcount is not None and cur.rowcount >= 0 else 0
        finally:
            cur.close()

    # PostgreSQL ---------------------------------------------------------

    def _pg_encode(self):
        return pg_copy_line if self.pg_copy == "text" else None

    def _pg_copy(self, sql: str, items: list) -> None:
        cur = self.dconn.cursor()
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
                            buf = []
                            n = 0
                    if buf:
                        cp.write("".join(buf).encode("utf-8"))
                else:
                    for row, _ in items:
                        cp.write_row(row)
        finally:
            cur.close()

    def _pg_temp_table(self, table: Table, columns: list[str]) -> str:
        tmp = quote(self.conn, f"bascule_tmp_{next(_tmp_counter)}")
        self._wrap(
            self._exec,
            f"CREATE TEMP TABLE {tmp} ON COMMIT DROP AS SELECT {quote_list(self.conn, columns)} "
            f"FROM {quote_table(self.conn, table)} WITH NO DATA",
        )
        return tmp

    _PLANNER = ("enable_hashjoin", "enable_mergejoin")

    def _pg_planner_nested_loops(self) -> list:
        cur = self.dconn.cursor()
        try:
            saved = []
            for name in self._PLANNER:
                cur.execute("SELECT current_setting(%s)", (name,))
                saved.append(cur.fetchone()[0])
                cur.execute("SELECT set_config(%s, 'off', true)", (name,))
            return saved
        finally:
            cur.close()

    def _pg_planner_restore(self, saved: list) -> None:
        cur = self.dconn.cursor()
        try:
            for name, value in zip(self._PLANNER, saved):
                cur.execute("SELECT set_config(%s, %s, true)", (name, value))
        finally:
            cur.close()

    @contextlib.contextmanager
    def _temp_table(self, tmp: str, drop_sql: str):
        """Drop the helper table at the end; after a failure, only try (the error that matters
        is the one in flight, and the caller's rollback removes the table anyway)."""
        try:
            yield
        except BaseException:
            try:
                if self.kind == POSTGRESQL:
                    import psycopg

                    if (
                        self.dconn.broken
                        or self.dconn.closed
                        or self.dconn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
                    ):
                        raise
                self._exec(drop_sql)
            except self._dbapi.Error:
                pass
            raise
        else:
            self._wrap(self._exec, drop_sql)

    def _wrap(self, fn, *args):
        try:
            return fn(*args)
        except self._dbapi.Error as exc:
            _reraise_sa(self.conn, exc, args[0] if args and isinstance(args[0], str) else None)

    # MySQL --------------------------------------------------------------

    def _my_exec_values(self, head: str, items: list, tail: str) -> None:
        cur = self.dconn.cursor()
        try:
            cur.execute(head + ",".join([lit for _, lit in items]) + tail)
        finally:
            cur.close()

    def _my_load_data(self, table: Table, columns: list[str], items: list) -> None:
        fd, path = tempfile.mkstemp(prefix="bascule_ld_", suffix=".tsv")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(b"".join([line for _, line in items]))
            sql = (
                f"LOAD DATA LOCAL INFILE {self._literal(path)} INTO TABLE "
                f"{quote_table(self.conn, table)} CHARACTER SET binary "
                f"FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' "
                f"({quote_list(self.conn, columns)})"
            )
            cur = self.dconn.cursor()
            first = None
            try:
                cur.execute(sql)
                warnings = cur.warning_count
                done = cur.rowcount
                if warnings:
                    cur.execute("SHOW WARNINGS LIMIT 1")
                    first = cur.fetchone()
            finally:
                cur.close()
            if warnings or done != len(items):
                # LOCAL turns errors into warnings and skips the rows: refuse the chunk (the
                # savepoint undoes it) with the server's first warning as the error
                from pymysql import err as my_err

                if first is not None:
                    code, message = int(first[1]), str(first[2])
                else:
                    code, message = 1265, f"LOAD DATA wrote {done} of {len(items)} rows"
                cls = my_err.error_map.get(code, my_err.DataError)
                if not issubclass(cls, (my_err.IntegrityError, my_err.DataError)):
                    cls = my_err.DataError
                raise cls(code, message)
        finally:
            os.unlink(path)

    # SQLite -------------------------------------------------------------

    def _sqlite_many(self, sql: str, items: list) -> None:
        cur = self.dconn.cursor()
        try:
            cur.executemany(sql, [r for r, _ in items])
        finally:
            cur.close()

    def _sqlite_exec_many(self, sql: str, params: list) -> int:
        return self._exec_many(sql, params)


# ============================================================================ ids and sequences


def _int_pk(table: Table):
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


def max_ids(conn: Connection, tables: Iterable[Table]) -> dict[str, int]:
    """Current MAX(id) of each table with a single integer primary key (0 when empty)."""
    out: dict[str, int] = {}
    for t in tables:
        col = _int_pk(t)
        if col is None:
            continue
        sql = f"SELECT MAX({quote(conn, col.name)}) FROM {quote_table(conn, t)}"
        out[t.name] = int(conn.execute(text(sql)).scalar() or 0)
    return out


def fix_sequences(conn: Connection, tables: Iterable[Table]) -> dict[str, int]:
    """Make the id generator of each table hand out ids above every id present.

    Tables: those with a single integer autoincrement primary key. Returns {table: max id}.

    - MySQL/MariaDB: ``ALTER TABLE ... AUTO_INCREMENT = max+1`` when the counter is not already
      above (InnoDB moves it itself on explicit ids, so usually nothing is altered). ALTER TABLE is
      DDL and commits the current transaction: call this after the data is committed.
    - PostgreSQL: ``setval(pg_get_serial_sequence(table, column), max, true)`` (or (1, false) for an
      empty table), transactional.
    - SQLite: the ``sqlite_sequence`` row when the table uses AUTOINCREMENT, else nothing to do.
    """
    kind = kind_of(conn)
    out: dict[str, int] = {}
    for t in tables:
        col = _int_pk(t)
        if col is None or t.autoincrement_column is None:
            continue
        tname = quote_table(conn, t)
        mx = int(
            conn.execute(text(f"SELECT MAX({quote(conn, col.name)}) FROM {tname}")).scalar() or 0
        )
        out[t.name] = mx
        if kind == POSTGRESQL:
            seq = conn.execute(
                text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": tname, "c": col.name}
            ).scalar()
            if seq is None:
                continue
            if mx > 0:
                conn.execute(text("SELECT setval(:s, :v, true)"), {"s": seq, "v": mx})
            else:
                conn.execute(text("SELECT setval(:s, 1, false)"), {"s": seq})
        elif kind == MYSQL:
            schema = t.schema or conn.execute(text("SELECT DATABASE()")).scalar()
            cur = conn.execute(
                text(
                    "SELECT AUTO_INCREMENT FROM information_schema.TABLES "
                    "WHERE TABLE_SCHEMA = :s AND TABLE_NAME = :t"
                ),
                {"s": schema, "t": t.name},
            ).scalar()
            if cur is None or int(cur) <= mx:
                conn.execute(text(f"ALTER TABLE {tname} AUTO_INCREMENT = {mx + 1}"))
        else:
            has_seq = conn.execute(
                text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'")
            ).scalar()
            if not has_seq:
                continue
            row = conn.execute(
                text("SELECT seq FROM sqlite_sequence WHERE name = :n"), {"n": t.name}
            ).first()
            if row is None:
                # only tables declared AUTOINCREMENT use sqlite_sequence
                ddl = conn.execute(
                    text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :n"),
                    {"n": t.name},
                ).scalar() or ""
                if "AUTOINCREMENT" in ddl.upper():
                    conn.execute(
                        text("INSERT INTO sqlite_sequence (name, seq) VALUES (:n, :v)"),
                        {"n": t.name, "v": mx},
                    )
            elif int(row[0] or 0) < mx:
                conn.execute(
                    text("UPDATE sqlite_sequence SET seq = :v WHERE name = :n"),
                    {"n": t.name, "v": mx},
                )
    return out
