"""Where generated rows go: per-table outputs, per-engine encodings and bulk loaders.

The generator emits each row as a tuple in a *logical* column order (a superset of both Cagette
shapes, see ``model.SPECS``). A :class:`TableOut` projects it onto the columns the metadata really
has (``table.c``), fills NOT NULL columns it does not know with a constant of the column's type,
and hands the row to the engine's writer:

* MariaDB/MySQL: tab-separated text files (the ``LOAD DATA`` default format), loaded in chunks by a
  background thread with ``LOAD DATA LOCAL INFILE`` while generation goes on (FK and unique checks
  are off for that session: the rows satisfy the FKs by construction, the tests prove it).
* PostgreSQL: the same text format (it is also ``COPY``'s), one file per table, loaded with
  ``COPY ... FROM STDIN`` in FK order at the end.
* SQLite: marshal'ed tuples, loaded with ``executemany`` in one transaction in FK order.

Columns closing a FK cycle (``use_alter``: ``Group.placeId``, ``CagettePro.demoCatalogId``) are
written NULL on PostgreSQL/SQLite and set by an UPDATE once every table is loaded.

Value kinds (the second letter of a spec entry): ``i`` int, ``f`` float, ``s`` text that never holds
tab/newline/backslash, ``S`` any text, ``b`` bytes, ``d`` 'YYYY-MM-DD HH:MM:SS', ``D`` 'YYYY-MM-DD'.
"""

from __future__ import annotations

import logging
import marshal
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy import types as sqltypes

log = logging.getLogger("bascule.generate")

_ESC = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class GenerateError(RuntimeError):
    """A generation or load failure, naming the table."""


def _is_binary(col) -> bool:
    return isinstance(col.type, sqltypes._Binary)


def _default_for(col) -> tuple[Any, str]:
    """A constant (value, kind) for a NOT NULL column the generator does not know."""
    t = col.type
    if isinstance(t, sqltypes._Binary):
        return b"", "b"
    if isinstance(t, sqltypes.DateTime):
        return "2020-01-01 00:00:00", "d"
    if isinstance(t, sqltypes.Date):
        return "2020-01-01", "D"
    if isinstance(t, (sqltypes.Integer, sqltypes.Float, sqltypes.Numeric, sqltypes.Boolean)):
        return 0, "i"
    return "", "s"


def _projection(table: Table, spec: Sequence[tuple[str, str]], rename: dict[str, str]
                ) -> tuple[list[int], list[str], list[str], list[Any]]:
    """(positions of the logical row kept, real columns, their kinds, values of the NOT NULL
    columns the spec does not fill) of one table."""
    idx: list[int] = []
    cols: list[str] = []
    kinds: list[str] = []
    seen: set[str] = set()
    for i, (lname, kind) in enumerate(spec):
        phys = rename.get(lname, lname)
        if phys is None or phys not in table.c or phys in seen:
            continue
        c = table.c[phys]
        if kind != "b" and _is_binary(c):
            kind = "B" + kind  # text value into a binary column: encode it
        idx.append(i)
        cols.append(phys)
        kinds.append(kind)
        seen.add(phys)
    extras: list[Any] = []
    for c in table.c:
        if c.name in seen or c.nullable or c.server_default is not None:
            continue
        v, k = _default_for(c)
        cols.append(c.name)
        kinds.append(k)
        extras.append(v)
    return idx, cols, kinds, extras


class TableOut:
    """One table's output: projection of logical rows onto the real columns, then the writer."""

    def __init__(
        self,
        table: Table,
        spec: Sequence[tuple[str, str]],
        rename: dict[str, str],
        writer_factory: Callable[["TableOut"], "Writer"],
        deferred: Sequence[str] = (),
        text_fix: dict[str, Callable[[str], str]] | None = None,
    ):
        self.table = table
        self.name = table.name
        idx, cols, kinds, extras = _projection(table, spec, rename)
        self.columns = cols
        self.kinds = kinds
        self.nullable = [table.c[c].nullable for c in cols]
        self.binary = [_is_binary(table.c[c]) for c in cols]
        n = len(spec)
        if idx == list(range(n)) and not extras:
            self.project: Callable[[tuple], tuple] | None = None
        elif len(idx) == 1:
            g = itemgetter(idx[0])
            ext = tuple(extras)
            self.project = lambda r, g=g, ext=ext: (g(r),) + ext
        else:
            g = itemgetter(*idx)
            ext = tuple(extras)
            self.project = (lambda r, g=g, ext=ext: g(r) + ext) if ext else g
        # FK-cycle columns written NULL and set afterwards (PostgreSQL/SQLite)
        self.deferred_cols = [c for c in deferred if c in cols]
        self.deferred_pos = [cols.index(c) for c in self.deferred_cols]
        self.deferred_rows: list[tuple] = []
        pkc = list(table.primary_key.columns)
        self.pk_pos = cols.index(pkc[0].name) if len(pkc) == 1 and pkc[0].name in cols else None
        # per-column text rewrite (dirty MariaDB: UTF-8 bytes into latin1 columns)
        self.text_fix = [(cols.index(c), fn) for c, fn in (text_fix or {}).items() if c in cols]
        fixed_pos = {p for p, _ in self.text_fix}
        self.proper_pos = [
            j for j, k in enumerate(kinds) if text_fix is not None and k in ("s", "S") and j not in fixed_pos
        ]
        self.fixed = 0
        self.proper = 0
        self.width = len(spec)
        self.count = 0
        self.writer = writer_factory(self)

    def add(self, row: tuple) -> None:
        if not self.count and len(row) != self.width:
            raise GenerateError(
                f"generator bug: table {self.name} row has {len(row)} values, spec has {self.width}"
            )
        if self.project is not None:
            row = self.project(row)
        if self.text_fix:
            row = list(row)
            for p, fn in self.text_fix:
                v = row[p]
                if v is not None and not v.isascii():
                    row[p] = fn(v)
                    self.fixed += 1
            for p in self.proper_pos:
                v = row[p]
                if isinstance(v, str) and not v.isascii():
                    self.proper += 1
            row = tuple(row)
        if self.deferred_pos:
            vals = tuple(row[p] for p in self.deferred_pos)
            if any(v is not None for v in vals):
                self.deferred_rows.append((row[self.pk_pos],) + vals)
                row = list(row)
                for p in self.deferred_pos:
                    row[p] = None
                row = tuple(row)
        self.count += 1
        self.writer.write(row)


# --------------------------------------------------------------------------- writers


def _text_encoder(out: TableOut, binary_style: str) -> Callable[[tuple], str]:
    """Compile a function tuple -> one line of LOAD DATA / COPY text (tab separated, \\N null)."""
    parts = []
    for j, (k, null) in enumerate(zip(out.kinds, out.nullable)):
        v = f"r[{j}]"
        if k == "i":
            e = f"str({v})"
        elif k == "f":
            e = f"repr({v})"
        elif k in ("s", "d", "D"):
            e = v
        elif k == "S":
            e = f"{v}.translate(ESC)"
        elif k == "b" or k.startswith("B"):
            val = v if k == "b" else f"{v}.encode('utf-8')"
            e = f"{val}.hex()" if binary_style == "hex" else f"'\\\\\\\\x' + {val}.hex()"
        else:  # pragma: no cover
            raise ValueError(k)
        parts.append(f"('\\\\N' if {v} is None else {e})")
    src = "def enc(r):\n    return '\\t'.join((" + ", ".join(parts) + ",)) + '\\n'\n"
    ns: dict[str, Any] = {"ESC": _ESC}
    exec(src, ns)  # noqa: S102 - generated from our own column kinds only
    return ns["enc"]


class Writer:
    def write(self, row: tuple) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        pass


class TextWriter(Writer):
    """Text lines into files; each full chunk goes to ``on_chunk(out, path, rows)``."""

    def __init__(self, out: TableOut, tmpdir: str, binary_style: str, chunk_rows: int | None,
                 on_chunk: Callable[[TableOut, str, int], None] | None):
        self.out = out
        self.enc = _text_encoder(out, binary_style)
        self.tmpdir = tmpdir
        self.chunk_rows = chunk_rows
        self.on_chunk = on_chunk
        self.buf: list[str] = []
        self.f = None
        self.path: str | None = None
        self.rows_in_file = 0
        self.n_files = 0
        self.files: list[tuple[str, int]] = []

    def _open(self) -> None:
        self.n_files += 1
        self.path = os.path.join(self.tmpdir, f"{self.out.name}.{self.n_files}.tsv")
        self.f = open(self.path, "w", encoding="utf-8", newline="\n")
        self.rows_in_file = 0

    def write(self, row: tuple) -> None:
        self.buf.append(self.enc(row))
        if len(self.buf) >= 4096:
            self._flush()

    def _flush(self) -> None:
        if not self.buf:
            return
        if self.f is None:
            self._open()
        self.f.write("".join(self.buf))
        self.rows_in_file += len(self.buf)
        self.buf.clear()
        if self.chunk_rows and self.rows_in_file >= self.chunk_rows:
            self._rotate()

    def _rotate(self) -> None:
        if self.f is None:
            return
        self.f.close()
        self.files.append((self.path, self.rows_in_file))
        if self.on_chunk:
            self.on_chunk(self.out, self.path, self.rows_in_file)
        self.f = None

    def close(self) -> None:
        self._flush()
        self._rotate()


class MarshalWriter(Writer):
    def __init__(self, out: TableOut, tmpdir: str):
        self.path = os.path.join(tmpdir, f"{out.name}.marshal")
        self.f = open(self.path, "wb")
        self.buf: list[tuple] = []
        self.coerce = [j for j, k in enumerate(out.kinds) if k.startswith("B")]

    def write(self, row: tuple) -> None:
        if self.coerce:
            row = list(row)
            for j in self.coerce:
                if row[j] is not None:
                    row[j] = row[j].encode("utf-8")
            row = tuple(row)
        self.buf.append(row)
        if len(self.buf) >= 4096:
            marshal.dump(self.buf, self.f)
            self.buf = []

    def close(self) -> None:
        if self.buf:
            marshal.dump(self.buf, self.f)
            self.buf = []
        self.f.close()

    def batches(self):
        with open(self.path, "rb") as f:
            while True:
                try:
                    yield marshal.load(f)
                except EOFError:
                    return


# --------------------------------------------------------------------------- loaders


class ProgressLike:
    """The part of rich.progress.Progress we use (a no-op stand-in when progress is off)."""

    def add_task(self, description: str, total: float | None = None, **kw) -> int:
        return 0

    def update(self, task: int, **kw) -> None:
        pass

    def advance(self, task: int, advance: float = 1) -> None:
        pass


class MySQLLoader:
    """LOAD DATA LOCAL INFILE of chunk files in a background thread (one session, checks off)."""

    def __init__(self, engine, progress, dirty: bool):
        self.engine = engine
        self.progress = progress
        self.dirty = dirty
        self.q: queue.Queue = queue.Queue(maxsize=64)
        self.error: BaseException | None = None
        self.tasks: dict[str, int] = {}
        self.loaded: dict[str, int] = {}
        self.seconds = 0.0
        self.lock = threading.RLock()
        # two sessions: the server ingests two chunks (often of different tables) at once
        self.threads = [
            threading.Thread(target=self._run, name=f"bascule-load-{i}", daemon=True)
            for i in range(self.N_THREADS)
        ]
        for t in self.threads:
            t.start()

    N_THREADS = 2

    def task_for(self, name: str) -> int:
        with self.lock:
            if name not in self.tasks:
                self.tasks[name] = self.progress.add_task(f"load {name}", total=None)
            return self.tasks[name]

    def submit(self, out: TableOut, path: str, rows: int) -> None:
        if self.error:
            raise GenerateError(f"loading {self.error_table} failed: {self.error}") from self.error
        self.q.put((out, path, rows))

    error_table = "?"

    def _statement(self, out: TableOut, path: str) -> str:
        q = self.engine.dialect.identifier_preparer.quote
        targets, sets = [], []
        for j, (c, b) in enumerate(zip(out.columns, out.binary)):
            if b:
                targets.append(f"@v{j}")
                sets.append(f"{q(c)} = UNHEX(@v{j})")
            else:
                targets.append(q(c))
        sql = (
            f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE {q(out.name)} CHARACTER SET utf8mb4 "
            "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' "
            f"({', '.join(targets)})"
        )
        if sets:
            sql += " SET " + ", ".join(sets)
        return sql

    def _run(self) -> None:
        raw = None
        try:
            raw = self.engine.raw_connection()
            cur = raw.cursor()
            mode = "''" if self.dirty else "'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'"
            cur.execute(f"SET SESSION sql_mode={mode}")
            cur.execute("SET SESSION foreign_key_checks=0, unique_checks=0")
            while True:
                item = self.q.get()
                if item is None:
                    break
                out, path, rows = item
                if self.error:
                    os.unlink(path)
                    continue
                self.error_table = out.name
                t0 = time.perf_counter()
                cur.execute(self._statement(out, path))
                cur.execute("SHOW WARNINGS LIMIT 5")
                w = cur.fetchall()
                if w:
                    raise GenerateError(f"table {out.name}: warnings while loading: {w}")
                raw.commit()
                with self.lock:
                    self.seconds += time.perf_counter() - t0
                os.unlink(path)
                with self.lock:
                    self.loaded[out.name] = self.loaded.get(out.name, 0) + rows
                    done = self.loaded[out.name]
                self.progress.update(self.task_for(out.name), completed=done)
        except BaseException as e:  # reported by finish()/submit()
            self.error = e
            while True:  # drain so that submit() never blocks
                try:
                    item = self.q.get_nowait()
                except queue.Empty:
                    break
        finally:
            if raw is not None:
                try:
                    raw.close()
                except Exception:  # pragma: no cover
                    pass

    def finish(self) -> None:
        for _ in self.threads:
            self.q.put(None)
        for t in self.threads:
            t.join()
        if self.error:
            raise GenerateError(f"loading table {self.error_table} failed: {self.error}") from self.error


def load_postgres(engine, outs: list[TableOut], progress) -> None:
    q = engine.dialect.identifier_preparer.quote
    with engine.begin() as conn:
        dbapi = conn.connection.driver_connection
        cur = dbapi.cursor()
        for out in outs:
            w: TextWriter = out.writer  # type: ignore[assignment]
            if not out.count:
                continue
            task = progress.add_task(f"load {out.name}", total=out.count)
            cols = ", ".join(q(c) for c in out.columns)
            try:
                with cur.copy(f"COPY {q(out.name)} ({cols}) FROM STDIN") as cp:
                    for path, rows in w.files:
                        with open(path, "rb") as f:
                            while True:
                                block = f.read(1 << 20)
                                if not block:
                                    break
                                cp.write(block)
                        progress.advance(task, rows)
                        os.unlink(path)
            except Exception as e:
                raise GenerateError(f"COPY into {out.name} failed: {e}") from e
        _apply_deferred(conn, outs, q)
        for out in outs:
            t = out.table
            pkc = list(t.primary_key.columns)
            if len(pkc) == 1 and pkc[0].autoincrement is True and out.count:
                c = pkc[0].name
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{q(out.name)}', '{c}'), "
                    f"(SELECT max({q(c)}) FROM {q(out.name)}))"
                )


def load_sqlite(engine, outs: list[TableOut], progress) -> None:
    q = engine.dialect.identifier_preparer.quote
    with engine.begin() as conn:
        dbapi = conn.connection.driver_connection
        for out in outs:
            if not out.count:
                continue
            w: MarshalWriter = out.writer  # type: ignore[assignment]
            task = progress.add_task(f"load {out.name}", total=out.count)
            cols = ", ".join(q(c) for c in out.columns)
            sql = f"INSERT INTO {q(out.name)} ({cols}) VALUES ({', '.join('?' * len(out.columns))})"
            try:
                for batch in w.batches():
                    dbapi.executemany(sql, batch)
                    progress.advance(task, len(batch))
            except Exception as e:
                raise GenerateError(f"INSERT into {out.name} failed: {e}") from e
            os.unlink(w.path)
        _apply_deferred(conn, outs, q)


def _apply_deferred(conn, outs: list[TableOut], q) -> None:
    for out in outs:
        if not out.deferred_rows:
            continue
        pk = out.columns[out.pk_pos]
        sets = ", ".join(f"{q(c)} = :{c}" for c in out.deferred_cols)
        stmt = text(f"UPDATE {q(out.name)} SET {sets} WHERE {q(pk)} = :pk")
        params = [
            {"pk": r[0], **dict(zip(out.deferred_cols, r[1:]))} for r in out.deferred_rows
        ]
        conn.execute(stmt, params)
