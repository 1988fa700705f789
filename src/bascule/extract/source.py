"""Reading the Cagette source: shape detection, group selection, per-group closures.

The source is never written. Every read goes through one connection opened in a read-only
transaction with a consistent snapshot (MariaDB/MySQL ``START TRANSACTION WITH CONSISTENT
SNAPSHOT, READ ONLY``; PostgreSQL ``REPEATABLE READ, READ ONLY``; SQLite ``query_only``), so a
running instance can be read while it serves users and every table is read at the same instant.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import MetaData, Table, and_, inspect, or_, select
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

#: Tables whose rows move (per group, or shared). Order = dependency order for reading.
GROUP_TABLES = (
    "Group",
    "Place",
    "Catalog",
    "Product",
    "DistributionCycle",
    "MultiDistrib",
    "Distribution",
    "Subscription",
    "Basket",
    "UserOrder",
    "Operation",
    "Membership",
    "UserGroup",
    "WaitingList",
    "VolunteerRole",
    "Volunteer",
    "EntityFile",
    "Message",
)
SHARED_TABLES = ("User", "Vendor", "File")
MOVED_TABLES = SHARED_TABLES + GROUP_TABLES

#: Tables a source may lack: the group's data just has none of these rows.
OPTIONAL_TABLES = frozenset({"Message", "EntityFile", "WaitingList", "Volunteer", "VolunteerRole",
                             "DistributionCycle", "Membership"})

#: Producer-space tables read (never moved) to find linked catalogs and their producers.
PRODUCER_TABLES = ("RemoteCatalog", "CagettePro", "PUserCompany", "PCatalog")

#: Columns that some real databases lack; reading goes on without them.
OPTIONAL_COLUMNS = {
    "Message": {"slateContent", "attachments", "recipients"},
    "User": {"pass2", "currentRefreshToken", "apiKey", "tutoState", "tosVersion"},
    "Vendor": {"production2", "production3"},
    "Group": {"disabled"},
    "MultiDistrib": {"validatedStatus", "validatedDate"},
}

#: Columns never read at all (secrets or serialized blobs that are dropped anyway).
NEVER_READ = {
    "User": {"apiKey", "currentRefreshToken"},
}


class SourceError(Exception):
    """The source cannot be read as a Cagette database (named table, column, reason)."""


@dataclass
class SourceInfo:
    """What reflection found in the source."""

    backend: str
    shape: str  # "2021" | "2023"
    shape_reasons: list[str]
    columns: dict[str, list[str]]  # columns bascule reads, per table present
    ignored_columns: dict[str, list[str]]  # extra (legacy) columns present and not read
    missing_tables: list[str]  # optional tables that are absent
    producer_tables: list[str]  # producer-space tables present (read, never moved)
    tables: dict[str, Table] = field(repr=False, default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "shape": self.shape,
            "shape_reasons": self.shape_reasons,
            "ignored_columns": self.ignored_columns,
            "missing_tables": self.missing_tables,
            "producer_tables": self.producer_tables,
        }


def _backend(engine: Engine | Connection) -> str:
    name = engine.dialect.name
    return "mysql" if name in ("mysql", "mariadb") else name


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


def expected_columns(shape: str) -> dict[str, list[str]]:
    """Columns bascule reads for each moved table of a source shape (from bascule.schema)."""
    from bascule.schema import cagette_metadata

    md = cagette_metadata(shape)
    out: dict[str, list[str]] = {}
    for t in MOVED_TABLES:
        if t in md.tables:
            out[t] = [c.name for c in md.tables[t].columns if c.name not in NEVER_READ.get(t, ())]
    for t in PRODUCER_TABLES:
        if t in md.tables:
            out[t] = [c.name for c in md.tables[t].columns]
    return out


def inspect_source(engine: Engine) -> SourceInfo:
    """Reflect the source, detect its shape, check every required column is there.

    Raises SourceError naming each missing table/column before anything is read or written.
    """
    insp = inspect(engine)
    present = set(insp.get_table_names())
    reflected: dict[str, set[str]] = {}
    for t in present:
        if t in MOVED_TABLES or t in PRODUCER_TABLES or t in ("TmpBasket",):
            reflected[t] = {c["name"] for c in insp.get_columns(t)}
    shape, reasons = detect_shape(reflected)
    expected = expected_columns(shape)

    problems: list[str] = []
    columns: dict[str, list[str]] = {}
    ignored: dict[str, list[str]] = {}
    missing_tables: list[str] = []
    for t in MOVED_TABLES:
        if t not in reflected:
            if t in OPTIONAL_TABLES:
                missing_tables.append(t)
                continue
            problems.append(f"table {t}: missing (required)")
            continue
        want = expected.get(t, [])
        have = reflected[t]
        optional = OPTIONAL_COLUMNS.get(t, set())
        for c in want:
            if c not in have and c not in optional:
                problems.append(f"table {t}: column {c} is missing (required by the {shape} shape)")
        columns[t] = [c for c in want if c in have]
        extra = sorted(have - set(want) - NEVER_READ.get(t, set()))
        if extra:
            ignored[t] = extra
    producer = [t for t in PRODUCER_TABLES if t in reflected]
    for t in producer:
        columns[t] = [c for c in expected.get(t, []) if c in reflected[t]]
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
        backend=_backend(engine),
        shape=shape,
        shape_reasons=reasons,
        columns=columns,
        ignored_columns=ignored,
        missing_tables=missing_tables,
        producer_tables=producer,
        tables=tables,
    )


def source_engine(url) -> Engine:
    """The engine bascule reads a source with.

    A MySQL/MariaDB source is read through mysqlclient (``MySQLdb``, C) when it is installed:
    the pure-Python PyMySQL spends about 5 times as long parsing rows (reference/measurements.md)
    and reading is most of a run. Values come back as PyMySQL gives them, zero dates included
    (as their text, which the transform reports; mysqlclient would turn them into NULL). Without
    mysqlclient, or with ``BASCULE_SOURCE_DRIVER=pymysql``, the source is read with PyMySQL.
    The target is always written with PyMySQL (the bulk writer relies on it); verify, which only
    reads the target, reads it through this engine too.
    """
    import os

    from sqlalchemy import create_engine

    from bascule.dbutil import make_engine, normalize_url

    u = normalize_url(url)
    if u.get_backend_name() not in ("mysql", "mariadb") or u.get_driver_name() != "pymysql" \
            or os.environ.get("BASCULE_SOURCE_DRIVER", "").lower() == "pymysql":
        return make_engine(url)
    try:
        import MySQLdb  # noqa: F401
        from MySQLdb import converters
        from MySQLdb.constants import FIELD_TYPE
    except ImportError:
        return make_engine(url)

    def keep_zero(parse, fast=None):
        def conv(raw):
            if fast is not None:  # C parser for the usual 'YYYY-MM-DD hh:mm:ss[.ffffff]'
                try:
                    return fast(raw)
                except (TypeError, ValueError):
                    pass
            v = parse(raw)
            if v is None and raw is not None:  # a zero or invalid date: its text, like PyMySQL
                return raw.decode("ascii", "replace") if isinstance(raw, bytes) else raw
            return v
        return conv

    import datetime as _dt

    conv = dict(converters.conversions)
    # mysqlclient parses dates in Python (about 3.5 µs a value); fromisoformat is C (0.15 µs)
    for ft, fast in ((FIELD_TYPE.DATETIME, _dt.datetime.fromisoformat),
                     (FIELD_TYPE.TIMESTAMP, _dt.datetime.fromisoformat),
                     (FIELD_TYPE.DATE, _dt.date.fromisoformat), (FIELD_TYPE.TIME, None)):
        conv[ft] = keep_zero(conv[ft], fast)
    q = dict(u.query)
    q.pop("local_infile", None)
    u = u.set(drivername=f"{u.get_backend_name()}+mysqldb", query=q)
    return create_engine(u, pool_pre_ping=True, connect_args={"conv": conv})


from sqlalchemy.engine.processors import to_float as _to_float  # noqa: E402

_MY_FLOATS = (4, 5)  # MySQL field types FLOAT, DOUBLE

#: Seconds the global read lock that gives the workers one snapshot may wait for running queries.
SNAPSHOT_LOCK_WAIT = 10


@dataclass(frozen=True)
class GroupRef:
    id: int
    name: str
    flags: int


def _chunks(seq: Sequence[int], n: int = 1000) -> Iterable[Sequence[int]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


class SourceReader:
    """One read-only, consistent-snapshot connection to the source and the queries bascule runs.

    Use as a context manager. Rows come back as dicts keyed by source column names, ordered by
    primary key, so that every run sees the same order.
    """

    def __init__(self, engine: Engine, info: SourceInfo, *, snapshots: int = 0):
        self.engine = engine
        self.info = info
        self.conn: Connection | None = None
        #: ``snapshots`` more connections in the SAME snapshot as ``conn`` (MariaDB/MySQL only),
        #: for the worker processes of a parallel run; empty when they could not be opened
        self.want_snapshots = snapshots
        self.snapshots: list[Connection] = []
        self.snapshot_error: str | None = None
        # one query at a time on the connection: the orchestrator reads the next unit in a
        # helper thread while the main thread may ask for a few rows of its own
        self.lock = threading.RLock()
        self._procs: dict[tuple, list] = {}

    # -- connection -------------------------------------------------------------------------

    def __enter__(self) -> "SourceReader":
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self) -> None:
        backend = self.info.backend
        if backend == "postgresql":
            conn = self.engine.connect().execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
            conn.exec_driver_sql("SELECT 1")
        elif backend == "mysql":
            if self.want_snapshots:
                conn = self._open_shared_snapshots()
            else:
                conn = self.engine.connect()
                conn.exec_driver_sql("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        else:
            conn = self.engine.connect()
            conn.exec_driver_sql("PRAGMA query_only = ON")
            conn.exec_driver_sql("BEGIN")
        self.conn = conn

    def _open_shared_snapshots(self) -> Connection:
        """The main connection and ``want_snapshots`` more, all in one snapshot: their
        transactions start while a global read lock holds every write back for an instant
        (FLUSH TABLES WITH READ LOCK, as mydumper does; needs the RELOAD privilege, and waits
        at most SNAPSHOT_LOCK_WAIT seconds for running queries). Without it, only the main
        connection is opened and ``snapshot_error`` says why."""
        from sqlalchemy.exc import DBAPIError

        lock = self.engine.connect()
        try:
            try:
                # a live server: give up (one process) rather than stall its writers behind a
                # long query that the lock would wait for
                lock.exec_driver_sql(f"SET SESSION lock_wait_timeout = {SNAPSHOT_LOCK_WAIT}")
                lock.exec_driver_sql("FLUSH TABLES WITH READ LOCK")
            except DBAPIError as e:
                self.snapshot_error = str(e.orig).strip() or e.__class__.__name__
                lock.rollback()
                conn = self.engine.connect()
                conn.exec_driver_sql("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
                return conn
            conns = []
            try:
                for _ in range(1 + self.want_snapshots):
                    c = self.engine.connect()
                    conns.append(c)
                    c.exec_driver_sql("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            finally:
                lock.exec_driver_sql("UNLOCK TABLES")
            self.snapshots = conns[1:]
            return conns[0]
        finally:
            lock.close()

    def adopt(self, conn: Connection) -> "SourceReader":
        """A reader on one of ``snapshots`` (in a worker process: same snapshot as the main
        reader's)."""
        r = SourceReader(self.engine, self.info)
        r.conn = conn
        r._procs = dict(self._procs)
        return r

    def close(self) -> None:
        for c in self.snapshots:
            try:
                c.rollback()
                c.close()
            except Exception:  # noqa: BLE001 - closing; the server drops the session anyway
                pass
        self.snapshots = []
        if self.conn is not None:
            try:
                self.conn.rollback()
            finally:
                if self.info.backend == "sqlite":
                    self.conn.exec_driver_sql("PRAGMA query_only = OFF")
                self.conn.close()
                self.conn = None

    # -- helpers ----------------------------------------------------------------------------

    def has(self, table: str) -> bool:
        return table in self.info.tables

    def _cols(self, table: str):
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
                if p is _to_float and self.info.backend == "mysql" and types[i] in _MY_FLOATS:
                    p = None  # the MySQL drivers return DOUBLE and FLOAT as Python floats
                if p is not None:
                    procs.append((i, p))
            self._procs[ck] = procs
        return procs

    def _rows(self, stmt, table: str | None = None) -> list[dict]:
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
        if not procs:
            return [dict(zip(keys, r)) for r in raw]
        out = []
        append = out.append
        for r in raw:
            d = dict(zip(keys, r))
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
        stmt = select(*self._cols(table)).where(where)
        keys = order_by or [c.name for c in t.primary_key.columns]
        stmt = stmt.order_by(*[t.c[k] for k in keys])
        return self._rows(stmt, table)

    def select_in(self, table: str, column: str, ids: Iterable[int]) -> list[dict]:
        ids = sorted({int(i) for i in ids if i is not None})
        if not ids or not self.has(table):
            return []
        t = self.info.tables[table]
        out: list[dict] = []
        for chunk in _chunks(ids):
            out.extend(self.select_where(table, t.c[column].in_(chunk)))
        if len(ids) > 1000:  # keep the order by primary key across chunks
            pk = [c.name for c in t.primary_key.columns]
            out.sort(key=lambda r: tuple(r[k] for k in pk))
        return out

    # -- groups -----------------------------------------------------------------------------

    def amap_groups(self) -> list[GroupRef]:
        """Every AMAP-mode group: ``(flags & 2) = 0``. groupType is never used."""
        g = self.info.tables["Group"]
        stmt = select(g.c.id, g.c.name, g.c.flags).where(g.c.flags.op("&")(2) == 0).order_by(g.c.id)
        assert self.conn is not None
        with self.lock:
            return [GroupRef(int(r[0]), r[1], int(r[2])) for r in self.conn.execute(stmt)]

    def all_groups(self) -> list[GroupRef]:
        g = self.info.tables["Group"]
        stmt = select(g.c.id, g.c.name, g.c.flags).order_by(g.c.id)
        assert self.conn is not None
        with self.lock:
            return [GroupRef(int(r[0]), r[1], int(r[2])) for r in self.conn.execute(stmt)]

    def count(self, table: str) -> int:
        from sqlalchemy import func

        t = self.info.tables.get(table)
        if t is None:
            return 0
        assert self.conn is not None
        with self.lock:
            return int(self.conn.execute(select(func.count()).select_from(t)).scalar() or 0)

    # -- the closure of a set of groups -----------------------------------------------------

    def group_closure(self, group_ids: Sequence[int]) -> dict[str, list[dict]]:
        """Every row owned by these groups, table by table (shared rows are fetched apart)."""
        T = self.info.tables
        G = list(group_ids)
        rows: dict[str, list[dict]] = {}
        rows["Group"] = self.select_in("Group", "id", G)
        rows["Place"] = self.select_in("Place", "groupId", G)
        rows["Catalog"] = self.select_in("Catalog", "groupId", G)
        C = [r["id"] for r in rows["Catalog"]]
        rows["Product"] = self.select_in("Product", "catalogId", C)
        rows["DistributionCycle"] = self.select_in("DistributionCycle", "groupId", G)
        rows["MultiDistrib"] = self.select_in("MultiDistrib", "groupId", G)
        MD = [r["id"] for r in rows["MultiDistrib"]]
        rows["Distribution"] = self.select_in("Distribution", "catalogId", C)
        rows["Subscription"] = self.select_in("Subscription", "catalogId", C)
        rows["Basket"] = self.select_in("Basket", "multiDistribId", MD)
        # orders: through their product's catalog (legacy rows may lack distribution/basket)
        if G:
            uo, p, c = T["UserOrder"], T["Product"], T["Catalog"]
            stmt = (
                select(*self._cols("UserOrder"))
                .select_from(uo.join(p, p.c.id == uo.c.productId).join(c, c.c.id == p.c.catalogId))
                .where(c.c.groupId.in_(G))
                .order_by(uo.c.id)
            )
            rows["UserOrder"] = self._rows(stmt, "UserOrder")
        else:
            rows["UserOrder"] = []
        rows["Operation"] = self.select_in("Operation", "groupId", G)
        rows["Membership"] = self.select_in("Membership", "groupId", G)
        rows["UserGroup"] = self.select_in("UserGroup", "groupId", G)
        rows["WaitingList"] = self.select_in("WaitingList", "amapId", G)
        rows["VolunteerRole"] = self.select_in("VolunteerRole", "groupId", G)
        rows["Volunteer"] = self.select_in("Volunteer", "multiDistribId", MD)
        if self.has("EntityFile") and G:
            ef = T["EntityFile"]
            cond = and_(ef.c.entityType == "group", ef.c.entityId.in_(G))
            if C:
                cond = or_(cond, and_(ef.c.entityType == "catalog", ef.c.entityId.in_(C)))
            rows["EntityFile"] = self.select_where("EntityFile", cond)
        else:
            rows["EntityFile"] = []
        rows["Message"] = self.select_in("Message", "amapId", G)
        return rows

    def linked_catalogs(self, catalog_ids: Iterable[int]) -> dict[int, int]:
        """Catalog id → PCatalog id, for catalogs linked to a producer space (RemoteCatalog)."""
        if not self.has("RemoteCatalog"):
            return {}
        return {
            int(r["id"]): int(r["remoteCatalogId"])
            for r in self.select_in("RemoteCatalog", "id", catalog_ids)
        }

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

    # -- references of many groups at once (the shared-row pass of a parallel run) ----------

    def distinct_refs(self, group_ids: Sequence[int], columns: dict[str, Sequence[str]],
                      like: dict[tuple[str, str], str] | None = None,
                      buckets: dict[tuple[str, str], str] | None = None) -> dict[Any, set]:
        """The distinct non-NULL values of these columns over the rows these groups own (the
        same rows as ``group_closure``), computed by the server: one query per table (DISTINCT
        over its columns together, one scan), a handful of values each instead of every row. A
        column in ``like`` gets its own query, only over the values matching that LIKE pattern.

        Keyed by (table, column), or with ``buckets`` by the name each (table, column) is given
        there, the values of columns of one name going into one set. The results are streamed
        into those sets (no list of every value). The queries run at once on the main
        connection and on ``snapshots`` (the same snapshot). Tables and columns the source lacks
        give nothing."""
        from concurrent.futures import ThreadPoolExecutor
        from contextlib import nullcontext
        from queue import SimpleQueue

        like = like or {}
        name = buckets or {}
        out: dict[Any, set] = {name.get((t, c), (t, c)): set()
                               for t, cs in columns.items() for c in cs}
        assert self.conn is not None, "SourceReader is not open"
        stmts = []
        for G in _chunks(sorted(group_ids)):
            for t, cols in columns.items():
                cols = [c for c in cols if self.has(t) and c in self.info.columns[t]]
                plain = [c for c in cols if (t, c) not in like]
                if plain:
                    stmts.append((t, plain, self._refs_stmt(list(G), t, plain, None)))
                for c in cols:
                    if (t, c) in like:
                        stmts.append((t, [c], self._refs_stmt(list(G), t, [c], like[(t, c)])))
        conns: SimpleQueue = SimpleQueue()
        for c in [self.conn, *self.snapshots]:
            conns.put(c)
        fold = threading.Lock()

        def query(conn: Connection, t: str, cols: list[str], stmt) -> None:
            sets = [out[name.get((t, c), (t, c))] for c in cols]
            res = conn.execute(stmt, execution_options={"stream_results": True})
            for part in res.partitions(20_000):
                with fold:
                    for i, vals in enumerate(sets):
                        vals.update(r[i] for r in part)

        def run(job) -> None:
            conn = conns.get()
            try:
                with self.lock if conn is self.conn else nullcontext():
                    query(conn, *job)
            finally:
                conns.put(conn)

        with ThreadPoolExecutor(max_workers=1 + len(self.snapshots),
                                thread_name_prefix="bascule-refs") as ex:
            list(ex.map(run, stmts))
        for v in out.values():
            v.discard(None)
        return out

    def _refs_stmt(self, G: list[int], t: str, cols: list[str], like: str | None):
        T = self.info.tables
        tb = T[t]
        cat, md = T["Catalog"], T["MultiDistrib"]
        C = select(cat.c.id).where(cat.c.groupId.in_(G)).scalar_subquery()
        MD = select(md.c.id).where(md.c.groupId.in_(G)).scalar_subquery()
        src = tb
        if t == "Group":
            cond = tb.c.id.in_(G)
        elif t in ("WaitingList", "Message"):
            cond = tb.c.amapId.in_(G)
        elif t in ("Product", "Distribution", "Subscription"):
            cond = tb.c.catalogId.in_(C)
        elif t in ("Basket", "Volunteer"):
            cond = tb.c.multiDistribId.in_(MD)
        elif t == "UserOrder":
            p = T["Product"]
            src = tb.join(p, p.c.id == tb.c.productId)
            cond = p.c.catalogId.in_(C)
        elif t == "EntityFile":
            cond = or_(and_(tb.c.entityType == "group", tb.c.entityId.in_(G)),
                       and_(tb.c.entityType == "catalog", tb.c.entityId.in_(C)))
        else:
            cond = tb.c.groupId.in_(G)
        sel = [tb.c[c] for c in cols]
        stmt = select(*sel).select_from(src).where(cond).distinct()
        if like is not None:
            stmt = stmt.where(sel[0].like(like))
        return stmt
