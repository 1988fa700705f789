"""Reading the source, a Cagette or a Camap database: kind and shape detection, and one read-only
connection in a consistent snapshot with the queries every stage runs through it.

The source is never written. Every read goes through one connection opened in a read-only
transaction with a consistent snapshot (how, per engine: ``load.dialects``), so a running instance
can be read while it serves users and every table is read at the same instant. What is read for
a unit of groups (its closure) is in ``extract.closure``.
"""

from __future__ import annotations

import functools
import logging
import operator
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import MetaData, Table, inspect, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.processors import to_float as _to_float

from bascule.dbutil import chunks
from bascule.extract.drivers import source_engine
from bascule.load.dialects import MYSQL, backend, dialect_for
from bascule.model.tables import CAMAP_SHAPES, MIGRATION, PRODUCER_TABLES, Migration
from bascule.schema import cagette_metadata, camap_metadata
from bascule.schema.shapes import (
    CAGETTE_ONLY_TABLES,
    CAMAP,
    CAMAP_ONLY_TABLES,
    ShapeError,
    detect_camap_shape,
    detect_kind,
)

log = logging.getLogger(__name__)

_MY_FLOATS = (4, 5)  # MySQL field types FLOAT, DOUBLE

__all__ = ["GroupRef", "SourceError", "SourceInfo", "SourceReader", "detect_shape",
           "expected_columns", "inspect_source", "source_engine"]


class SourceError(Exception):
    """The source cannot be read as a Cagette or Camap database (named table, column, reason)."""


@dataclass
class SourceInfo:
    """What reflection found in the source. ``shape`` names the kind too: "2021" and "2023" are
    Cagette shapes, "camap-2023" and "camap-head" Camap ones (``model.tables.CAMAP_SHAPES``).
    ``migration``: the tables this source moves (``Migration.for_source``)."""

    backend: str
    shape: str  # "2021" | "2023" | "camap-2023" | "camap-head"
    shape_reasons: list[str]
    columns: dict[str, list[str]]  # columns bascule reads, per table present
    ignored_columns: dict[str, list[str]]  # extra (legacy) columns present and not read
    missing_tables: list[str]  # optional tables that are absent
    producer_tables: list[str]  # producer-space tables present (read, never moved)
    tables: dict[str, Table] = field(repr=False, default_factory=dict)
    migration: Migration = field(repr=False, default=MIGRATION)

    @property
    def kind(self) -> str:
        """"cagette" or "camap"."""
        return CAMAP if self.shape in CAMAP_SHAPES else "cagette"

    def is_amap(self, flags: int) -> bool:
        """Whether a group of these flags moves: every group of a Camap source (Camap has no shop
        mode), the AMAP-mode ones of a Cagette source (``flags & 2`` clear)."""
        return self.kind == CAMAP or not int(flags or 0) & 2

    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "kind": self.kind,
            "shape": self.shape,
            "shape_reasons": self.shape_reasons,
            "ignored_columns": self.ignored_columns,
            "missing_tables": self.missing_tables,
            "producer_tables": self.producer_tables,
        }


def detect_shape(columns: dict[str, set[str]]) -> tuple[str, list[str]]:
    """Tell the 2021 public-source shape from the early-2023 one, with the evidence."""
    ev21, ev23 = [], []
    if "rights2" in columns.get("UserGroup", set()):
        ev21.append("UserGroup.rights2 exists")
    if "data2" in columns.get("Operation", set()):
        ev21.append("Operation.data2 exists")
    if "vatRates2" in columns.get("Group", set()):
        ev21.append("Group.vatRates2 exists")
    if "TmpBasket" in columns:
        ev21.append("table TmpBasket exists")
    basket = columns.get("Basket", set())
    if basket and "status" not in basket:
        ev21.append("Basket has no status")
    if "status" in basket:
        ev23.append("Basket.status exists")
    if "vatRates" in columns.get("Group", set()) and "vatRates2" not in columns.get("Group", set()):
        ev23.append("Group.vatRates (JSON) without vatRates2")
    if ev21 and ev23:
        raise SourceError(
            "source shape is ambiguous: " + "; ".join(ev21) + " but " + "; ".join(ev23)
        )
    if ev23:
        return "2023", ev23
    if ev21:
        return "2021", ev21
    raise SourceError("source does not look like a Cagette database (no Basket/UserGroup/Group)")


def source_shape(cols: dict[str, set[str]], kind: str = "auto") -> tuple[str, list[str]]:
    """The source's shape label ("2021", "2023", "camap-2023", "camap-head") and the evidence;
    ``kind``: the ``source_kind`` setting ("auto", "cagette", "camap")."""
    try:
        found, why = detect_kind(cols, kind)
        if found == CAMAP:
            shape, more = detect_camap_shape(cols)
            return f"camap-{shape}", list(dict.fromkeys(why + more))
    except ShapeError as e:
        raise SourceError(str(e)) from None
    shape, more = detect_shape(cols)
    return shape, more + (why if kind != "auto" else [])


def expected_columns(shape: str, migration: Migration = MIGRATION) -> dict[str, list[str]]:
    """Columns bascule reads for each moved table of a source shape (from bascule.schema, or the
    table's own ``columns`` for a table the schema does not know)."""
    md = camap_metadata(shape[6:]) if shape in CAMAP_SHAPES else cagette_metadata(shape)
    out: dict[str, list[str]] = {}
    for spec in migration:
        if spec.name in md.tables:
            out[spec.name] = [c.name for c in md.tables[spec.name].columns
                              if c.name not in spec.never_read]
        elif spec.columns is not None:
            out[spec.name] = list(spec.columns)
    for t in PRODUCER_TABLES:
        if t in md.tables:
            out[t] = [c.name for c in md.tables[t].columns]
    return out


def _check_columns(migration: Migration, reflected: dict[str, set[str]], shape: str
                   ) -> tuple[dict[str, list[str]], dict[str, list[str]], list[str], list[str]]:
    """(columns read, columns ignored, optional tables absent, problems) per moved table."""
    expected = expected_columns(shape, migration)
    problems: list[str] = []
    columns: dict[str, list[str]] = {}
    ignored: dict[str, list[str]] = {}
    missing_tables: list[str] = []
    for spec in migration:
        t = spec.name
        if t not in reflected:
            if spec.optional:
                missing_tables.append(t)
            else:
                problems.append(f"table {t}: missing (required)")
            continue
        want, have = expected.get(t, []), reflected[t]
        for c in want:
            if c not in have and c not in spec.optional_columns:
                problems.append(f"table {t}: column {c} is missing (required by the {shape} shape)")
        columns[t] = [c for c in want if c in have]
        extra = sorted(have - set(want) - spec.never_read)
        if extra:
            ignored[t] = extra
    for t in PRODUCER_TABLES:
        if t in reflected:
            columns[t] = [c for c in expected.get(t, []) if c in reflected[t]]
    return columns, ignored, missing_tables, problems


def inspect_source(engine: Engine, migration: Migration = MIGRATION, kind: str = "auto"
                   ) -> SourceInfo:
    """Reflect the source, detect its kind (Cagette or Camap, or as ``kind`` says) and shape,
    check every required column is there. The tables it moves are ``migration`` as that shape
    needs it (``Migration.for_source``: a current Camap source has one table more).

    Raises SourceError naming each missing table/column before anything is read or written.
    """
    insp = inspect(engine)
    wanted = (set(migration.order) | set(PRODUCER_TABLES) | CAGETTE_ONLY_TABLES
              | CAMAP_ONLY_TABLES)
    reflected = {t: {c["name"] for c in insp.get_columns(t)}
                 for t in insp.get_table_names() if t in wanted}
    shape, reasons = source_shape(reflected, kind)
    migration = migration.for_source(shape)
    columns, ignored, missing_tables, problems = _check_columns(migration, reflected, shape)
    if problems:
        raise SourceError("the source cannot be read:\n  " + "\n  ".join(problems))
    md = MetaData()
    tables = {}
    for t in columns:
        tables[t] = Table(t, md, autoload_with=engine)
        for c in tables[t].columns:  # DOUBLE columns come back as floats, as they are stored
            if getattr(c.type, "asdecimal", False):
                c.type.asdecimal = False
    return SourceInfo(
        backend=backend(engine), shape=shape, shape_reasons=reasons, columns=columns,
        ignored_columns=ignored, missing_tables=missing_tables,
        producer_tables=[t for t in PRODUCER_TABLES if t in reflected], tables=tables,
        migration=migration)


@functools.lru_cache(maxsize=256)
def _row_maker(keys: tuple[str, ...]):
    """A function driver tuple → dict of these keys: ``{k0: r[0], k1: r[1], ...}`` written out
    (the dict is built at its final size, about twice as fast as ``dict(zip(keys, r))``)."""
    if not keys:
        return lambda r: {}
    names = [f"v{i}" for i in range(len(keys))]
    body = ", ".join(f"{k!r}: {n}" for k, n in zip(keys, names))
    src = f"def make(r):\n    {', '.join(names)}, = r\n    return {{{body}}}\n"
    ns: dict[str, Any] = {}
    exec(compile(src, "<bascule row maker>", "exec"), ns)  # noqa: S102 - generated above
    return ns["make"]


@dataclass(frozen=True)
class GroupRef:
    id: int
    name: str
    flags: int


class SourceReader:
    """One read-only, consistent-snapshot connection to the source and the queries bascule runs.

    Use as a context manager. Rows come back as dicts keyed by source column names, ordered by
    primary key, so that every run sees the same order. ``snapshots`` more connections in the
    same snapshot (MariaDB/MySQL) serve the worker processes of a parallel run and the server-side
    queries run at once (``run_all``); empty when they could not be opened (``snapshot_error``).
    ``spare`` more are kept apart for one long query beside everything else (a first run's
    checksums, ``run.changes.Beside``): ``run_all`` never takes them.
    """

    def __init__(self, engine: Engine, info: SourceInfo, *, snapshots: int = 0,
                 spare: int = 0):
        self.engine = engine
        self.info = info
        self.dialect = dialect_for(engine)
        self.conn: Connection | None = None
        self.want_snapshots = snapshots
        self.snapshots: list[Connection] = []
        self.want_spare = spare if snapshots else 0
        self.spare: list[Connection] = []
        self.snapshot_error: str | None = None
        # one query at a time on the connection: the next unit is read in a helper thread while
        # the main thread may ask for a few rows of its own
        self.lock = threading.RLock()
        self._procs: dict[tuple, list] = {}

    # -- connection -------------------------------------------------------------------------

    def __enter__(self) -> "SourceReader":
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self) -> None:
        if self.want_snapshots:
            self.conn, every, self.snapshot_error = self.dialect.open_shared_snapshots(
                self.engine, self.want_snapshots + self.want_spare)
            if len(every) > self.want_snapshots:
                self.snapshots, self.spare = every[:self.want_snapshots], \
                    every[self.want_snapshots:]
            else:
                self.snapshots = every
        else:
            self.conn = self.dialect.open_snapshot(self.engine)

    def adopt(self, conn: Connection) -> "SourceReader":
        """A reader on one of ``snapshots`` (in a worker process: same snapshot as the main
        reader's)."""
        r = SourceReader(self.engine, self.info)
        r.conn = conn
        r._procs = dict(self._procs)
        return r

    def close(self) -> None:
        for c in self.snapshots + self.spare:
            try:
                c.rollback()
                c.close()
            except Exception:  # noqa: BLE001 - closing; the server drops the session anyway
                pass
        self.snapshots, self.spare = [], []
        if self.conn is not None:
            conn, self.conn = self.conn, None
            self.dialect.close_snapshot(conn)

    # -- rows -------------------------------------------------------------------------------

    def has(self, table: str) -> bool:
        return table in self.info.tables

    def cols(self, table: str):
        t = self.info.tables[table]
        return [t.c[c] for c in self.info.columns[table]]

    def _processors(self, table: str, keys: Sequence[str], types: Sequence[Any]
                    ) -> list[tuple[int, Any]]:
        """SQLAlchemy's result conversions of the columns that have one (e.g. DOUBLE → float,
        ENUM checks), by position; computed once per (table, columns, driver type codes)."""
        ck = (table, tuple(keys), tuple(types))
        procs = self._procs.get(ck)
        if procs is None:
            t = self.info.tables[table]
            dialect = self.engine.dialect
            procs = []
            for i, k in enumerate(keys):
                col = t.c.get(k)
                p = col.type._cached_result_processor(dialect, types[i]) \
                    if col is not None else None
                if p is _to_float and self.info.backend == MYSQL and types[i] in _MY_FLOATS:
                    p = None  # the MySQL drivers return DOUBLE and FLOAT as Python floats
                if p is not None:
                    procs.append((i, p))
            self._procs[ck] = procs
        return procs

    def rows(self, stmt, table: str | None = None) -> list[dict]:
        """Run ``stmt``; rows as dicts. With ``table`` (the table whose columns are selected),
        the rows are taken from the driver's cursor as they are and only the columns that have
        a result conversion go through it: SQLAlchemy's per-row processing is skipped."""
        assert self.conn is not None, "SourceReader is not open"
        with self.lock:
            res = self.conn.execute(stmt)
            keys = list(res.keys())
            if table is None or self.info.backend == "sqlite":
                return [dict(zip(keys, r)) for r in res]
            try:
                types = [d[1] for d in res.cursor.description]
                raw = res.cursor.fetchall()
            finally:
                res.close()
        procs = self._processors(table, keys, types)
        make = _row_maker(tuple(keys))
        if not procs:
            return list(map(make, raw))
        out = []
        append = out.append
        for r in raw:
            d = make(r)
            for i, p in procs:
                k = keys[i]
                v = d[k]
                if v is not None:
                    d[k] = p(v)
            append(d)
        return out

    def select_where(self, table: str, where, order_by: Sequence[str] | None = None) -> list[dict]:
        if not self.has(table):
            return []
        t = self.info.tables[table]
        stmt = select(*self.cols(table)).where(where)
        keys = order_by or [c.name for c in t.primary_key.columns]
        stmt = stmt.order_by(*[t.c[k] for k in keys])
        return self.rows(stmt, table)

    def select_in(self, table: str, column: str, ids: Iterable[int]) -> list[dict]:
        ids = sorted({int(i) for i in ids if i is not None})
        if not ids or not self.has(table):
            return []
        t = self.info.tables[table]
        out: list[dict] = []
        for chunk in chunks(ids):
            out.extend(self.select_where(table, t.c[column].in_(chunk)))
        if len(ids) > 1000:  # keep the order by primary key across chunks
            # itemgetter: the key of a composite key is the tuple of its columns, of a single
            # one its value (the same order), without a Python frame per row
            out.sort(key=operator.itemgetter(*[c.name for c in t.primary_key.columns]))
        return out

    def scalar_rows(self, stmt) -> list[tuple]:
        """The rows of a small query, as tuples, on the main connection."""
        assert self.conn is not None, "SourceReader is not open"
        with self.lock:
            return [tuple(r) for r in self.conn.execute(stmt)]

    def run_all(self, jobs: Sequence[tuple[Any, Any]], consume, *,
                on: Sequence[Connection] | None = None,
                stop: threading.Event | None = None,
                then: Callable[[Any], Iterable[tuple[Any, Any]]] | None = None) -> None:
        """Run the statements of ``jobs`` ((statement, tag) pairs), in that order, at once on
        the main connection and the ``snapshots`` (the same snapshot), or on the connections
        ``on`` (of that snapshot), streaming each result into ``consume(tag, rows)``, which is
        called under one lock. ``then(tag)``, under that lock once a job's rows are all
        consumed: the jobs it returns run next, before those still waiting (a checksum that
        differs asks for its table's chunk sums at once). ``stop``: once set, the jobs not
        started yet are skipped. A job that fails stops the others from starting; its error
        is raised once the running ones end."""
        every = [self.conn, *self.snapshots] if on is None else list(on)
        todo = deque(jobs)
        fold = threading.Lock()
        turn = threading.Condition()
        running = 0
        failed = False

        def next_job() -> tuple[Any, Any] | None:
            nonlocal running
            with turn:
                while not todo and running and not failed:
                    turn.wait()  # a running job may still add some
                if not todo or failed or (stop is not None and stop.is_set()):
                    return None
                running += 1
                return todo.popleft()

        def run(conn: Connection) -> None:
            nonlocal running, failed
            while (job := next_job()) is not None:
                stmt, tag = job
                more: list[tuple[Any, Any]] | None = None  # None: the job failed
                try:
                    with self.lock if conn is self.conn else nullcontext():
                        res = conn.execute(stmt, execution_options={"stream_results": True})
                        for part in res.partitions(20_000):
                            with fold:
                                consume(tag, part)
                    with fold:
                        more = list(then(tag)) if then is not None else []
                finally:
                    with turn:
                        running -= 1
                        if more is None:
                            failed = True
                        else:
                            todo.extendleft(reversed(more))
                        turn.notify_all()

        with ThreadPoolExecutor(max_workers=len(every),
                                thread_name_prefix="bascule-refs") as ex:
            for f in [ex.submit(run, c) for c in every]:
                f.result()

    # -- groups and the producer space ----------------------------------------------------

    def _groups(self, amap_only: bool) -> list[GroupRef]:
        g = self.info.tables["Group"]
        stmt = select(g.c.id, g.c.name, g.c.flags).order_by(g.c.id)
        if amap_only and self.info.kind != CAMAP:
            stmt = stmt.where(g.c.flags.op("&")(2) == 0)
        return [GroupRef(int(r[0]), r[1], int(r[2])) for r in self.scalar_rows(stmt)]

    def amap_groups(self) -> list[GroupRef]:
        """Every AMAP-mode group: ``(flags & 2) = 0`` in a Cagette source, every group in a
        Camap one (``SourceInfo.is_amap``). groupType is never used."""
        return self._groups(True)

    def all_groups(self) -> list[GroupRef]:
        return self._groups(False)

    def linked_catalogs(self, catalog_ids: Iterable[int]) -> dict[int, int]:
        """Catalog id → PCatalog id, for catalogs linked to a producer space (RemoteCatalog)."""
        if not self.has("RemoteCatalog"):
            return {}
        return {int(r["id"]): int(r["remoteCatalogId"])
                for r in self.select_in("RemoteCatalog", "id", catalog_ids)}

    def producer_users(self, vendor_ids: Iterable[int]) -> dict[int, list[int]]:
        """Vendor id → user ids of the producer-space company owning that vendor (PUserCompany)."""
        if not (self.has("CagettePro") and self.has("PUserCompany")):
            return {}
        companies = self.select_in("CagettePro", "vendorId", vendor_ids)
        by_company = {int(c["id"]): int(c["vendorId"]) for c in companies}
        out: dict[int, list[int]] = {}
        for puc in self.select_in("PUserCompany", "companyId", by_company):
            if puc.get("disabled"):
                continue
            out.setdefault(by_company[int(puc["companyId"])], []).append(int(puc["userId"]))
        return out
