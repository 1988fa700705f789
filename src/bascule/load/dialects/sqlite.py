"""SQLite (the demo and quick tests): ``executemany`` of prepared statements, ``ON CONFLICT`` for
upserts, ``query_only`` for a read-only source. One writer per file: no writer thread, no worker
process."""

from __future__ import annotations

import fcntl
import os
import re
import zlib
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any, Iterator

from sqlalchemy import Table, func, select, text, tuple_
from sqlalchemy.engine import Connection, Engine

from bascule.load.dialects.base import (
    SQLITE,
    Counter,
    Dialect,
    Op,
    quote,
    quote_list,
    quote_table,
)

_SQLITE_COL = re.compile(r"constraint failed: ([^\s,]+)")


class SQLiteOps:
    """The statements of the bulk writer on SQLite."""

    default_batch_rows = 10000
    prefetch = False

    def __init__(self, w: Any, *, batch_bytes: int | None = None, **_other: Any):
        self.w = w
        self.batch_chars = batch_bytes or 16 * 1024 * 1024

    def row_encoder(self):
        return None

    def processors(self, table: Table, columns: Sequence[str]) -> list:
        """The dialect's bind conversions (its date/time text format and the like)."""
        out = []
        for i, name in enumerate(columns):
            p = table.c[name].type.bind_processor(self.w.conn.dialect)
            if p is not None:
                out.append((i, p))
        return out

    def _many(self, sql: str, items: list) -> None:
        cur = self.w.dconn.cursor()
        try:
            cur.executemany(sql, [r for r, _ in items])
        finally:
            cur.close()

    def insert(self, table: Table, columns: list[str]) -> Op:
        c = self.w.conn
        sql = (f"INSERT INTO {quote_table(c, table)} ({quote_list(c, columns)}) "
               f"VALUES ({', '.join('?' * len(columns))})")
        return Op(None, lambda items: self._many(sql, items))

    @contextmanager
    def upsert(self, table: Table, columns: list[str], key: list[str], others: list[str]
               ) -> Iterator[Op]:
        c = self.w.conn
        action = ("DO UPDATE SET " + ", ".join(f"{quote(c, x)} = excluded.{quote(c, x)}"
                                              for x in others) if others else "DO NOTHING")
        sql = (f"INSERT INTO {quote_table(c, table)} ({quote_list(c, columns)}) VALUES "
               f"({', '.join('?' * len(columns))}) ON CONFLICT ({quote_list(c, key)}) {action}")
        yield Op(None, lambda items: self._many(sql, items))

    @contextmanager
    def update(self, table: Table, key: list[str], columns: list[str]) -> Iterator[Op]:
        c = self.w.conn
        nk = len(key)
        sql = (f"UPDATE {quote_table(c, table)} SET "
               f"{', '.join(f'{quote(c, x)} = ?' for x in columns)} "
               f"WHERE {' AND '.join(f'{quote(c, k)} = ?' for k in key)}")
        matched = Counter()

        def run(items):
            matched.add(self.w.exec_many(sql, [tuple(r[nk:]) + tuple(r[:nk]) for r, _ in items]))

        yield Op(None, run, matched)

    def delete(self, table: Table, key: list[str]) -> Op:
        c = self.w.conn
        sql = (f"DELETE FROM {quote_table(c, table)} WHERE "
               + " AND ".join(f"{quote(c, k)} = ?" for k in key))
        matched = Counter()

        def run(items):
            matched.add(self.w.exec_many(sql, [tuple(r) for r, _ in items]))
        return Op(None, run, matched)

    def usable(self) -> bool:
        return True

    def is_data_error(self, exc: BaseException) -> bool:
        sqlite3 = self.w.dbapi
        return isinstance(exc, (sqlite3.IntegrityError, sqlite3.DataError))

    def column_from_error(self, table: Table, exc: BaseException) -> str | None:
        m = _SQLITE_COL.search(str(exc))
        if m:
            return ",".join(p.split(".", 1)[-1] for p in m.group(1).split(","))
        return None


def _row_crc(*values: Any) -> int:
    """``bascule_crc(...)``, the row checksum of a SQLite source (a function of the reader's
    connection)."""
    return zlib.crc32(repr(values).encode("utf-8", "surrogatepass"))


class SQLite(Dialect):
    name = SQLITE
    ops = SQLiteOps
    pipelined = False
    parallel_target = False
    placeholder = "?"

    def row_checksum(self, columns: Sequence[Any]) -> Any:
        return func.bascule_crc(*columns)

    def open_snapshot(self, engine: Engine) -> Connection:
        conn = engine.connect()
        conn.connection.driver_connection.create_function(
            "bascule_crc", -1, _row_crc, deterministic=True)
        conn.exec_driver_sql("PRAGMA query_only = ON")
        conn.exec_driver_sql("BEGIN")
        return conn

    def close_snapshot(self, conn: Connection) -> None:
        try:
            conn.rollback()
        finally:
            conn.exec_driver_sql("PRAGMA query_only = OFF")
            conn.close()

    def fetch_by_ids(self, conn: Connection, table: Table, key_cols: list[str],
                     cols: Sequence[str], keys: list[tuple], range_density: float
                     ) -> dict[tuple, tuple]:
        """Through SQLAlchemy: SQLite's dates are text until its result processing converts
        them."""
        n = len(key_cols)
        sel = select(*[table.c[c] for c in [*key_cols, *cols]])
        if n == 1:
            sel = sel.where(table.c[key_cols[0]].in_([k[0] for k in keys]))
        else:
            sel = sel.where(tuple_(*[table.c[c] for c in key_cols]).in_(keys))
        return {tuple(r[:n]): tuple(r[n:]) for r in conn.execute(sel)}

    def set_sequence(self, conn: Connection, table: Table, column: str, mx: int) -> None:
        """The ``sqlite_sequence`` row, when the table uses AUTOINCREMENT."""
        if not conn.execute(text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                 "name = 'sqlite_sequence'")).scalar():
            return
        row = conn.execute(text("SELECT seq FROM sqlite_sequence WHERE name = :n"),
                           {"n": table.name}).first()
        if row is None:
            # only tables declared AUTOINCREMENT use sqlite_sequence
            ddl = conn.execute(text("SELECT sql FROM sqlite_master WHERE type = 'table' AND "
                                    "name = :n"), {"n": table.name}).scalar() or ""
            if "AUTOINCREMENT" in ddl.upper():
                conn.execute(text("INSERT INTO sqlite_sequence (name, seq) VALUES (:n, :v)"),
                             {"n": table.name, "v": mx})
        elif int(row[0] or 0) < mx:
            conn.execute(text("UPDATE sqlite_sequence SET seq = :v WHERE name = :n"),
                         {"n": table.name, "v": mx})

    # -- the run lock, and which database a connection reaches -----------------------------

    def take_run_lock(self, engine: Engine, wait: bool):
        """An exclusive ``flock`` on ``<file>.bascule-lock`` beside the database file (not on
        the file itself: closing another descriptor of it would drop SQLite's own locks); the
        kernel releases it when the process ends. An in-memory database has no other run."""
        path = _file_of(engine)
        if path is None:
            return lambda: None
        fd = os.open(path + ".bascule-lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return lambda: os.close(fd)

    def same_database(self, a: Engine, b: Engine) -> bool:
        """The same file (``os.path.samefile``: links and relative paths resolved)."""
        pa, pb = _file_of(a), _file_of(b)
        if pa is None or pb is None or not (os.path.exists(pa) and os.path.exists(pb)):
            return False
        return os.path.samefile(pa, pb)

    def describe_database(self, engine: Engine) -> str:
        path = _file_of(engine)
        return f"file {os.path.realpath(path)}" if path else "an in-memory database"


def _file_of(engine: Engine) -> str | None:
    """The database file of a SQLite engine (None: in memory)."""
    db = engine.url.database
    return None if not db or db == ":memory:" or db.startswith("file::memory:") else db
