"""Bulk writes into the target, with the fastest path of each engine, inside the caller's transaction.

```python
w = BulkWriter(conn)                      # conn: SQLAlchemy Connection, transaction begun by caller
w.insert(table, columns, rows)            # plain insert
w.upsert(table, columns, rows, key)       # insert, or update the non-key columns when key exists
w.update(table, key, columns, rows)       # rows = key values + new values
w.delete(table, key, keys)
```

The statements of each engine are in ``bascule.load.dialects`` (COPY on PostgreSQL, multi-row
INSERT on MySQL, executemany on SQLite; see docs/measurements.md and
bench/load_throughput.py). This module is what they share: chunks, savepoints, the search for a
bad row, and the error that names it.

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
import queue
import threading
import weakref
from typing import Any, Callable, Iterable, Iterator, Sequence

from sqlalchemy import Table, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from bascule.load.dialects import (
    RawSavepoint,
    dialect_for,
    driver_connection,
    int_pk,
    new_savepoint_name,
    quote,
    quote_table,
)

__all__ = ["BulkWriter", "LoadError", "db_message", "fix_sequences", "max_ids"]


class LoadError(Exception):
    """The target database rejected a row.

    Attributes: ``table`` (name), ``key`` (dict column -> value identifying the row: its primary
    key when the written columns hold it, else the operation's key), ``column`` (the column the
    database or the metadata points at, or None), ``db_message`` (the database's own words),
    ``operation`` ("insert", "upsert", "update", "delete"), ``source_id`` (the row's id in the
    source, once the writer of a unit knows it: ``named_by_source``; the message names the row
    by it, the target id being one that was never committed).
    """

    def __init__(self, table: str, key: dict[str, Any] | None, column: str | None,
                 db_message: str, operation: str = "insert", source_id: int | None = None):
        self.table = table
        self.key = key or {}
        self.column = column
        self.db_message = db_message
        self.operation = operation
        self.source_id = source_id
        super().__init__(self._message())

    def _message(self) -> str:
        col = f", column {self.column}" if self.column else ""
        if self.source_id is not None:
            return (f"{self.operation} into {self.table} rejected the row of source id "
                    f"{self.source_id}{col}: {self.db_message}")
        keytxt = ", ".join(f"{k}={v!r}" for k, v in self.key.items()) or "?"
        return f"{self.operation} into {self.table} rejected row {keytxt}{col}: {self.db_message}"

    def named_by_source(self, source_id: int | None) -> "LoadError":
        """The same error, naming the row by its source id (when known)."""
        if source_id is not None:
            self.source_id = source_id
            self.args = (self._message(),)
        return self

    def __reduce__(self):  # picklable (multiprocessing, logging)
        return (LoadError, (self.table, self.key, self.column, self.db_message, self.operation,
                            self.source_id))


class _BadRow(Exception):
    def __init__(self, item, exc: BaseException):
        super().__init__(str(exc))
        self.item = item
        self.exc = exc


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


def _column_from_metadata(table: Table, columns: Sequence[str], row: Sequence, msg: str
                          ) -> str | None:
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
    wrapped = sa_exc.DBAPIError.instance(statement, None, exc, dbapi.Error,
                                         connection_invalidated=disconnect, dialect=dialect)
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
        self._thread = threading.Thread(target=self._run, name="bascule-load-prefetch",
                                        daemon=True)
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

    def __init__(self, conn: Connection, *, batch_rows: int | None = None,
                 batch_bytes: int | None = None, pg_copy: str = "rows",
                 mysql_method: str = "insert", prefetch: bool | None = None):
        if pg_copy not in ("text", "rows"):
            raise ValueError("pg_copy must be 'text' or 'rows'")
        if mysql_method not in ("insert", "load_data"):
            raise ValueError("mysql_method must be 'insert' or 'load_data'")
        self.conn = conn
        self.dialect = dialect_for(conn)
        self.kind = self.dialect.name
        self.dconn = driver_connection(conn)
        self.dbapi = conn.dialect.loaded_dbapi
        # the engine's statements reach back to this writer through a weak reference: no
        # reference cycle, so a writer is freed with its last use (one per unit of work)
        self.ops = self.dialect.bulk_ops(weakref.proxy(self), pg_copy=pg_copy,
                                         mysql_method=mysql_method, batch_bytes=batch_bytes)
        self.batch_rows = batch_rows or self.ops.default_batch_rows
        self.batch_chars = self.ops.batch_chars
        self.prefetch = self.ops.prefetch if prefetch is None else prefetch

    # ------------------------------------------------------------------ public API

    def row_encoder(self, table: Table, columns: Sequence[str]) -> Callable[[Sequence], Any] | None:
        """The function that ``insert`` and ``upsert`` apply to each row of ``table`` before
        sending it (PostgreSQL with ``pg_copy="text"``: the COPY line; MySQL with
        ``mysql_method="insert"``: the SQL literal), or None when rows are sent otherwise.
        A caller may encode rows ahead with it and pass the results as ``encoded``."""
        if self.ops.processors(table, list(columns)):
            return None
        return self.ops.row_encoder()

    def insert(self, table: Table, columns: Sequence[str], rows: Iterable[Sequence],
               encoded: Sequence | None = None) -> int:
        """Insert rows (tuples in ``columns`` order). Returns the number of rows written.
        ``encoded``: each row already encoded by ``row_encoder`` (None where it is not)."""
        self._ensure_tx()
        columns = list(columns)
        _check_columns(table, columns)
        op = self.ops.insert(table, columns)
        return self._drive("insert", table, columns, rows, op,
                           _row_key_fn(table, columns, None), encoded=encoded)

    def upsert(self, table: Table, columns: Sequence[str], rows: Iterable[Sequence],
               key: Sequence[str], encoded: Sequence | None = None) -> int:
        """Insert rows; where ``key`` already exists, update the other columns. Returns rows given.
        ``encoded`` as for ``insert``.

        On MySQL the update also happens on a conflict with any other unique index (that is what
        ON DUPLICATE KEY does); Camap's unique keys are primary keys, so it makes no difference.
        """
        self._ensure_tx()
        columns, key = list(columns), list(key)
        _check_columns(table, columns)
        missing = [k for k in key if k not in columns]
        if missing:
            raise ValueError(f"upsert key columns {missing} are not among the written columns")
        others = [c for c in columns if c not in key]
        rowkey = _row_key_fn(table, columns, key)
        with self.ops.upsert(table, columns, key, others) as op:
            return self._drive("upsert", table, columns, rows, op, rowkey, encoded=encoded)

    def update(self, table: Table, key: Sequence[str], columns: Sequence[str],
               rows: Iterable[Sequence]) -> int:
        """Set ``columns`` of the rows whose ``key`` matches; each row is key values then new values.

        Returns the number of target rows matched, as the database reports it.
        """
        self._ensure_tx()
        key, columns = list(key), list(columns)
        allcols = key + columns
        _check_columns(table, allcols)
        if not columns:
            return 0
        rowkey = _row_key_fn(table, allcols, key)
        with self.ops.update(table, key, columns) as op:
            self._drive("update", table, allcols, rows, op, rowkey)
        return op.matched()

    def delete(self, table: Table, key: Sequence[str], keys: Iterable[Sequence]) -> int:
        """Delete the rows whose ``key`` columns equal each tuple of ``keys``. Returns rows deleted."""
        self._ensure_tx()
        key = list(key)
        _check_columns(table, key)
        op = self.ops.delete(table, key)
        self._drive("delete", table, key, keys, op, _row_key_fn(table, key, key),
                    batch_rows=1000)
        return op.matched()

    def find_bad_row(self, table: Table, columns: Sequence[str], rows: Iterable[Sequence]
                     ) -> LoadError | None:
        """Try to insert ``rows`` under a savepoint that is always rolled back; return the LoadError
        of the first row the database rejects, or None when all of them would go in."""
        self._ensure_tx()
        name = new_savepoint_name()
        if self.kind == "sqlite" and not self.dconn.in_transaction:
            self.exec("BEGIN")
        self.exec(f"SAVEPOINT {name}")
        try:
            self.insert(table, columns, rows)
            return None
        except LoadError as e:
            return e
        finally:
            self.exec(f"ROLLBACK TO SAVEPOINT {name}")
            self.exec(f"RELEASE SAVEPOINT {name}")

    # ------------------------------------------------------------------ for the engine ops

    def exec(self, sql: str, params=None) -> int:
        """Run one statement on the DBAPI connection; the rows it matched."""
        cur = self.dconn.cursor()
        try:
            if params is None:
                cur.execute(sql)
            else:
                cur.execute(sql, params)
            return cur.rowcount if cur.rowcount is not None and cur.rowcount >= 0 else 0
        finally:
            cur.close()

    def exec_many(self, sql: str, params: list) -> int:
        cur = self.dconn.cursor()
        try:
            cur.executemany(sql, params)
            return cur.rowcount if cur.rowcount is not None and cur.rowcount >= 0 else 0
        finally:
            cur.close()

    def wrap(self, fn, *args):
        """``fn(*args)``, a driver error raised as SQLAlchemy's."""
        try:
            return fn(*args)
        except self.dbapi.Error as exc:
            _reraise_sa(self.conn, exc, args[0] if args and isinstance(args[0], str) else None)

    @contextlib.contextmanager
    def temp_table(self, drop_sql: str):
        """Drop the helper table at the end; after a failure, only try (the error that matters
        is the one in flight, and the caller's rollback removes the table anyway)."""
        try:
            yield
        except BaseException:
            try:
                if self.ops.usable():
                    self.exec(drop_sql)
            except self.dbapi.Error:
                pass
            raise
        else:
            self.wrap(self.exec, drop_sql)

    # ------------------------------------------------------------------ the driving loop

    def _ensure_tx(self) -> None:
        """Writes go through the DBAPI connection, which SQLAlchemy does not watch: begin the
        SQLAlchemy transaction (as its autobegin would) so that ``conn.commit()`` commits them."""
        if not self.conn.in_transaction():
            self.conn.begin()

    def _drive(self, op_name: str, table: Table, columns: list[str], rows: Iterable[Sequence],
               op, rowkey: Callable[[Sequence], dict], *, batch_rows: int | None = None,
               encoded: Sequence | None = None) -> int:
        procs = self.ops.processors(table, columns)
        if encoded is not None and (procs or op.encode is None):
            encoded = None  # not encoded the way this writer sends rows: encode here
        chunks = _chunks(rows, procs, op.encode, table, columns, rowkey, op_name,
                         batch_rows or self.batch_rows, self.batch_chars, encoded)
        if not self.prefetch:
            return self._drive_chunks(op_name, table, columns, chunks, op.run, rowkey)
        pf = _Prefetch(chunks)
        try:
            return self._drive_chunks(op_name, table, columns, iter(pf), op.run, rowkey)
        finally:
            pf.close()

    def _drive_chunks(self, op_name, table, columns, chunks, run, rowkey) -> int:
        total = 0
        for items in chunks:
            try:
                with RawSavepoint(self.kind, self.dconn):
                    run(items)
            except self.dbapi.Error as exc:
                if not self.ops.is_data_error(exc):
                    _reraise_sa(self.conn, exc)
                self._find_and_raise(op_name, table, columns, items, run, rowkey)
            total += len(items)
        return total

    def _find_and_raise(self, op_name, table, columns, items, run, rowkey) -> None:
        """A chunk failed for a data reason: bisect it (under a savepoint) to the first bad row
        and raise its LoadError."""
        try:
            with RawSavepoint(self.kind, self.dconn):
                self._bisect(items, run)
        except _BadRow as bad:
            row = bad.item[0]
            msg = db_message(bad.exc)
            column = (self.ops.column_from_error(table, bad.exc)
                      or _column_from_metadata(table, columns, row, msg)
                      or (self._column_from_fk(table, columns, row)
                          if op_name != "delete" and "foreign key" in msg.lower() else None))
            raise LoadError(table.name, rowkey(row), column, msg, op_name) from bad.exc
        except self.dbapi.Error as exc2:
            _reraise_sa(self.conn, exc2)

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
            except self.dbapi.Error as exc:
                if not self.ops.is_data_error(exc):
                    raise
                raise _BadRow(items[0], exc) from exc
            return
        mid = len(items) // 2
        for part in (items[:mid], items[mid:]):
            try:
                with RawSavepoint(self.kind, self.dconn):
                    run(part)
            except self.dbapi.Error as exc:
                if not self.ops.is_data_error(exc):
                    raise
                self._bisect(part, run)

    def _column_from_fk(self, table: Table, columns: Sequence[str], row: Sequence) -> str | None:
        """The first foreign-key column of ``row`` whose value has no parent row (SQLite does not
        say which constraint failed)."""
        ph = self.dialect.placeholder
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
                cur.execute(f"SELECT 1 FROM {quote_table(self.conn, ref.table)} "
                            f"WHERE {quote(self.conn, ref.name)} = {ph}", (v,))
                found = cur.fetchone() is not None
            except self.dbapi.Error:
                return None
            finally:
                cur.close()
            if not found:
                return name
        return None


# ============================================================================ rows to chunks


def _chunks(rows, procs, encode, table, columns, rowkey, op, max_rows: int, max_chars: int,
            encoded=None):
    """Yield lists of (row, encoded) pairs, bounded by rows and by encoded size."""
    items: list = []
    size = 0
    pre_iter = iter(encoded) if encoded is not None else None
    for row in rows:
        pre = next(pre_iter) if pre_iter is not None else None
        if pre is not None:
            items.append((row, pre))
            size += len(pre)
        else:
            row = _prepared(row, procs, table, columns, rowkey, op)
            if encode is not None:
                enc = _encoded(encode, row, table, columns, rowkey, op)
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


def _prepared(row, procs, table, columns, rowkey, op):
    """The row after the bind conversions of its columns, checked for its length."""
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
            f"{op} into {table.name}: row has {len(row)} values for {len(columns)} columns")
    return row


def _encoded(encode, row, table, columns, rowkey, op):
    try:
        return encode(row)
    except (TypeError, ValueError, OverflowError) as exc:
        col = _bad_value_column(encode, row, columns)
        raise LoadError(table.name, rowkey(row), col, str(exc), op) from exc


def _bad_value_column(encode, row, columns) -> str | None:
    for i, name in enumerate(columns):
        probe = [None] * len(row)
        probe[i] = row[i]
        try:
            encode(probe)
        except Exception:
            return name
    return None


def _row_key_fn(table: Table, columns: list[str], key: list[str] | None):
    """A function row → {column: value} naming the row in errors: its primary key when the
    written columns hold it, else the operation's key."""
    pk = [c.name for c in table.primary_key.columns]
    if pk and all(c in columns for c in pk):
        names = pk
    elif key:
        names = key
    else:
        names = columns[:1]
    idx = [columns.index(n) for n in names]
    return lambda row: {n: row[i] for n, i in zip(names, idx)}


def _check_columns(table: Table, columns: Sequence[str]) -> None:
    unknown = [c for c in columns if c not in table.c]
    if unknown:
        raise ValueError(f"{table.name} has no column(s) {unknown}")
    if len(set(columns)) != len(columns):
        raise ValueError(f"{table.name}: duplicate column names in {list(columns)}")


# ============================================================================ ids and sequences


def max_ids(conn: Connection, tables: Iterable[Table]) -> dict[str, int]:
    """Current MAX(id) of each table with a single integer primary key (0 when empty)."""
    out: dict[str, int] = {}
    for t in tables:
        col = int_pk(t)
        if col is None:
            continue
        sql = f"SELECT MAX({quote(conn, col.name)}) FROM {quote_table(conn, t)}"
        out[t.name] = int(conn.execute(text(sql)).scalar() or 0)
    return out


def fix_sequences(conn: Connection, tables: Iterable[Table]) -> dict[str, int]:
    """Make the id generator of each table hand out ids above every id present.

    Tables: those with a single integer autoincrement primary key. Returns {table: max id}.
    MySQL/MariaDB: ``ALTER TABLE ... AUTO_INCREMENT`` (DDL: it commits the current transaction,
    call this after the data is committed); PostgreSQL: ``setval``; SQLite: the
    ``sqlite_sequence`` row of an AUTOINCREMENT table.
    """
    return dialect_for(conn).fix_sequences(conn, list(tables))
