"""`bascule migrate` and `bascule plan`: the transfer, group by group.

A run, in order:

1. Reflect the source (shape 2021/2023, columns read, legacy columns ignored) and the target
   (Camap 2023/head). Any missing required table/column is an error before anything is written.
2. Select the AMAP-mode groups (``(flags & 2) = 0``), narrowed by ``groups`` / ``exclude_groups``.
3. Cut them into units of work (a few groups, bounded by an estimate of their rows). For each
   unit: read the closure of its groups from the source snapshot, fetch the shared rows they
   reference (users, vendors, files), allocate new ids, transform every row (pure functions of
   bascule.transform), compare with what the previous run wrote (``bascule_idmap.row_hash``) and
   write inserts, updates (and deletes with ``--prune``) plus the id map and the group status in
   ONE target transaction. A unit that fails is retried one group at a time, so that a bad group
   is rolled back alone, named with table, id and column, and the others finish.
4. Fix the target's AUTO_INCREMENT / sequences, close the run, write the reports.

``dry_run=True`` (``bascule plan``) runs steps 1–3 up to the comparison and writes nothing
anywhere (the target is read in a read-only transaction; bascule's own tables are not created).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import operator
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.engine import Connection, Engine

from bascule.config import Settings
from bascule.dbutil import make_engine
from bascule.extract.source import (
    GROUP_TABLES,
    SHARED_TABLES,
    GroupRef,
    SourceInfo,
    SourceReader,
    inspect_source,
)
from bascule.extract.source import source_engine as source_engine_for
from bascule.load.bookkeeping import (
    GROUP,
    IDBLOCK,
    IDMAP,
    RUN,
    bookkeeping_metadata,
    ensure_bookkeeping,
)
from bascule.pipeline.idmap import (
    Entry,
    IdMap,
    key_hash,
    load_group_entries,
    max_new_ids,
    pack_blocks,
    row_hash,
    text_hash,
)
from bascule.pipeline.target import REQUIRED_TARGET_TABLES, TargetInfo, inspect_target

log = logging.getLogger(__name__)

#: Composite-key tables: source key columns → target key columns.
COMPOSITE_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "UserGroup": (("userId", "groupId"), ("groupId", "userId")),
    "Membership": (("userId", "groupId", "year"), ("year", "groupId", "userId")),
    "Volunteer": (("userId", "multiDistribId", "volunteerRoleId"),
                  ("userId", "multiDistribId", "volunteerRoleId")),
    "WaitingList": (("userId", "amapId"), ("amapId", "userId")),
}

#: Columns that reference a shared row (to know which users, vendors, files a unit needs).
USER_REFS = {
    "Group": ("userId", "legalReprId"),
    "Catalog": ("userId",),
    "UserOrder": ("userId", "userId2"),
    "Subscription": ("userId", "userId2"),
    "Basket": ("userId",),
    "Operation": ("userId",),
    "Membership": ("userId",),
    "UserGroup": ("userId",),
    "WaitingList": ("userId",),
    "Volunteer": ("userId",),
    "Message": ("senderId",),
}
FILE_REFS = {"Group": ("imageId",), "Product": ("imageId",), "EntityFile": ("fileId",)}

#: PostgreSQL rows go as COPY text built by bascule: each row is encoded once, when the unit is
#: built, and its row hash is that text's (cheaper than hashing the values apart)
PG_COPY = "text"

#: Rows in one unit of work (estimate), in batches: big enough to amortise round trips, small
#: enough to keep memory flat and a failed unit cheap to retry group by group.
UNIT_BATCHES = 12
#: The same in a parallel run, where every worker process holds its own unit.
WORKER_UNIT_BATCHES = 6
#: Times a unit that a deadlock or a lock wait timeout rolled back is done again (then it is
#: retried group by group, as after any failure).
TRANSIENT_RETRIES = 3


# --------------------------------------------------------------------------------------------
# results


@dataclass
class TableCounts:
    insert: int = 0
    update: int = 0
    unchanged: int = 0
    delete: int = 0
    dropped: int = 0

    def add(self, other: "TableCounts") -> None:
        for k in ("insert", "update", "unchanged", "delete", "dropped"):
            setattr(self, k, getattr(self, k) + getattr(other, k))

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("insert", "update", "unchanged", "delete", "dropped")}

    @property
    def written(self) -> int:
        return self.insert + self.update + self.delete


@dataclass
class GroupResult:
    source_id: int
    name: str
    target_id: int | None = None
    status: str = "pending"  # planned | done | failed
    tables: dict[str, TableCounts] = field(default_factory=lambda: defaultdict(TableCounts))
    linked_catalogs: list[dict] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "source_id": self.source_id,
            "name": self.name,
            "target_id": self.target_id,
            "status": self.status,
            "tables": {t: c.as_dict() for t, c in sorted(self.tables.items())},
            "linked_catalogs": self.linked_catalogs,
            "error": self.error,
        }

    @property
    def rows_written(self) -> int:
        return sum(c.written for c in self.tables.values())


@dataclass
class RunReport:
    command: str  # plan | migrate
    dry_run: bool
    started_at: str
    source: dict
    target: dict
    settings: dict
    groups: list[GroupResult] = field(default_factory=list)
    shared: dict[str, TableCounts] = field(default_factory=lambda: defaultdict(TableCounts))
    notes: list[dict] = field(default_factory=list)
    email_matches: list[dict] = field(default_factory=list)
    vanished_groups: list[dict] = field(default_factory=list)
    sequences: dict[str, int] = field(default_factory=dict)
    run_id: int | None = None
    previous_run: dict | None = None
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    fk_check: dict | None = None  # fk_checks=after: {"checked": n, "dangling": [...]}
    indexes: dict | None = None  # secondary indexes dropped and built again (load.indexes)
    status: str = "running"

    @property
    def ok(self) -> bool:
        """No group failed, no foreign key dangles, every dropped index is back (exit 0)."""
        return not self.failed and not (self.fk_check and self.fk_check["dangling"]) \
            and not (self.indexes and self.indexes["failed"])

    @property
    def failed(self) -> list[GroupResult]:
        return [g for g in self.groups if g.status == "failed"]

    def totals(self) -> dict[str, TableCounts]:
        tot: dict[str, TableCounts] = defaultdict(TableCounts)
        for g in self.groups:
            if g.status == "failed":
                continue
            for t, c in g.tables.items():
                tot[t].add(c)
        for t, c in self.shared.items():
            tot[t].add(c)
        return dict(sorted(tot.items()))

    def rows_written(self) -> int:
        return sum(c.written for c in self.totals().values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "dry_run": self.dry_run,
            "status": self.status,
            "run_id": self.run_id,
            "started_at": self.started_at,
            "seconds": round(self.seconds, 3),
            "timings": self.timings,
            "fk_check": self.fk_check,
            "indexes": self.indexes,
            "source": self.source,
            "target": self.target,
            "settings": self.settings,
            "previous_run": self.previous_run,
            "totals": {t: c.as_dict() for t, c in self.totals().items()},
            "shared": {t: c.as_dict() for t, c in sorted(self.shared.items())},
            "groups": [g.as_dict() for g in self.groups],
            "notes": self.notes,
            "email_matches": self.email_matches,
            "vanished_groups": self.vanished_groups,
            "sequences": self.sequences,
        }


class MigrationError(Exception):
    """A run could not start or could not finish (bad config, bad source/target shape...)."""


# --------------------------------------------------------------------------------------------
# helpers


def settings_fingerprint(settings: Settings) -> str:
    keys = ("groups", "exclude_groups", "id_strategy", "keep_linked_stock")
    d = {k: getattr(settings, k) for k in keys}
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


def select_groups(reader: SourceReader, settings: Settings) -> list[GroupRef]:
    amap = reader.amap_groups()
    if settings.groups:
        by_id = {g.id: g for g in amap}
        all_ids = {g.id for g in reader.all_groups()}
        problems = []
        for gid in settings.groups:
            if gid not in all_ids:
                problems.append(f"group {gid}: not in the source")
            elif gid not in by_id:
                problems.append(f"group {gid}: is a shop-mode group ((flags & 2) != 0), never moved")
        if problems:
            raise MigrationError("; ".join(problems))
        amap = [by_id[g] for g in sorted(set(settings.groups))]
    excl = set(settings.exclude_groups)
    return [g for g in amap if g.id not in excl]


def estimate_rows(reader: SourceReader, groups: Sequence[GroupRef]) -> dict[int, int]:
    """Rough rows per group (orders weigh most), to cut units of work and for the ETA."""
    T = reader.info.tables
    uo, p, c = T["UserOrder"], T["Product"], T["Catalog"]
    stmt = (
        select(c.c.groupId, func.count())
        .select_from(uo.join(p, p.c.id == uo.c.productId).join(c, c.c.id == p.c.catalogId))
        .group_by(c.c.groupId)
    )
    assert reader.conn is not None
    orders = {int(g): int(n) for g, n in reader.conn.execute(stmt)}
    return {g.id: int(orders.get(g.id, 0) * 1.7) + 50 for g in groups}


def cut_units(groups: Sequence[GroupRef], est: dict[int, int], limit: int) -> list[list[GroupRef]]:
    units: list[list[GroupRef]] = []
    cur: list[GroupRef] = []
    n = 0
    for g in groups:
        if cur and n + est[g.id] > limit:
            units.append(cur)
            cur, n = [], 0
        cur.append(g)
        n += est[g.id]
    if cur:
        units.append(cur)
    return units


def _tuple_key(row: dict, cols: Sequence[str]) -> tuple:
    return tuple(row.get(c) for c in cols)


# --------------------------------------------------------------------------------------------
# the migrator


class Migrator:
    """One run of ``bascule migrate`` (or ``plan`` with dry_run=True)."""

    def __init__(
        self,
        settings: Settings,
        *,
        dry_run: bool = False,
        prune: bool = False,
        progress: "Progress | None" = None,
        source_engine: Engine | None = None,
        target_engine: Engine | None = None,
    ):
        if not settings.source_url:
            raise MigrationError("source_url is not set (bascule.toml, BASCULE_SOURCE_URL or "
                                 "--source)")
        if not settings.target_url:
            raise MigrationError("target_url is not set (bascule.toml, BASCULE_TARGET_URL or "
                                 "--target)")
        self.s = settings
        self.dry_run = dry_run
        self.prune = prune
        self.progress = progress or NullProgress()
        self.src_engine = source_engine or source_engine_for(settings.source_url)
        self.tgt_engine = target_engine or make_engine(settings.target_url)
        # fault-injection hook for the kill tests: before committing unit N, say so on stderr
        # and wait for a line on stdin (the test kills the process meanwhile)
        import os

        pause = os.environ.get("BASCULE_FAULT_PAUSE_BEFORE_COMMIT")
        self.pause_before_commit = int(pause) if pause else None
        self.unit_no = 0
        self.fk_after = False  # foreign keys checked at the end of the run, not row by row
        self.indexes_dropped: list[str] = []  # "Table.index" dropped for the load, until rebuilt
        # seconds per stage (read: read-ahead thread, write: writer thread, others: main thread)
        self.timings: dict[str, float] = defaultdict(float)
        self.collect_expected = False  # verify keeps the transformed rows to compare them
        # parallel run: next ids shared by the processes (None: this process allocates alone)
        self.counters: Any = None
        self.shared_failed: dict[str, dict[int, str]] = {t: {} for t in SHARED_TABLES}
        self._encoders: dict[tuple, Callable | None] = {}
        self.workers_used = 1

    # -- public -------------------------------------------------------------------------------

    def run(self) -> RunReport:
        t0 = time.monotonic()
        started = dt.datetime.now().replace(microsecond=0)
        try:
            self.sinfo: SourceInfo = inspect_source(self.src_engine)
        except Exception as e:
            from bascule.extract.source import SourceError

            if isinstance(e, SourceError):
                raise MigrationError(f"source: {e}") from None
            raise
        try:
            self.tinfo: TargetInfo = inspect_target(self.tgt_engine)
        except Exception as e:
            from bascule.pipeline.target import TargetError

            if isinstance(e, TargetError):
                raise MigrationError(f"target: {e}") from None
            raise
        log.info("source shape %s (%s); target Camap %s (%s)", self.sinfo.shape,
                 "; ".join(self.sinfo.shape_reasons), self.tinfo.shape,
                 "; ".join(self.tinfo.shape_reasons))
        report = RunReport(
            command="plan" if self.dry_run else "migrate",
            dry_run=self.dry_run,
            started_at=started.isoformat(),
            source=self.sinfo.as_dict(),
            target=self.tinfo.as_dict(),
            settings=self.s.safe_dict(),
        )
        self.report = report

        with SourceReader(self.src_engine, self.sinfo, snapshots=self._snapshots_wanted()) \
                as reader:
            self.reader = reader
            groups = select_groups(reader, self.s)
            est = estimate_rows(reader, groups)
            units = cut_units(groups, est, self.s.batch_size * UNIT_BATCHES)
            self._prepare(report, groups)
            self.progress.start(len(groups), sum(est.values()))
            self.n_units = len(units)
            workers = self._workers_for(units)
            if workers > 1:  # one unit in memory per worker, smaller: each process holds one
                units = cut_units(groups, est, self.s.batch_size * WORKER_UNIT_BATCHES)
                self.n_units = len(units)
                try:
                    self._run_parallel(units, est, workers)
                    self._vanished(report, groups)
                    self._end_of_load(report)
                finally:
                    self.progress.stop()
                    self._restore_indexes(report)
                units = []  # done
            ahead = ReadAhead(self._read_unit)
            writer = UnitWriter(self._write) if self._pipelined() and units else None
            try:
                if not workers > 1 and units:
                    ahead.submit([g.id for g in units[0]])
                for n, unit in enumerate(units, 1):
                    self.unit_no = n
                    with self._timed("wait_read"):
                        pre = ahead.take([g.id for g in unit])
                    if n < len(units):  # read the next unit while this one is built and written
                        ahead.submit([g.id for g in units[n]])
                    if writer is None:
                        results = self._do_unit(unit, pre)
                        if self.dry_run:
                            log.info("unit %d/%d planned: groups %s", n, len(units),
                                     ",".join(str(g.id) for g in unit))
                        self._report_results(results, est)
                        continue
                    # pipelined: build unit n while unit n-1 is written by the writer thread
                    job = self._build_job(n, unit, pre)
                    if not self._collect(writer, est, job):
                        # unit n-1 failed: its state and unit n's were rolled back; the read of
                        # unit n+1 saw that state, so it is thrown away and done again
                        ahead.take([g.id for g in units[n]] if n < len(units) else [])
                        self._report_results(self._do_unit(unit), est)
                        if n < len(units):
                            ahead.submit([g.id for g in units[n]])
                        continue
                    writer.submit(job)
                if writer is not None:
                    self._collect(writer, est, None)
                ahead.close()
                if not workers > 1:
                    self._vanished(report, groups)
                    if not self.dry_run:
                        self._end_of_load(report)
            finally:
                if writer is not None:  # a write in flight finishes (or rolls back) first
                    writer.close()
                ahead.close()
                self.progress.stop()
                self._restore_indexes(report)
        report.notes = self.ctx_notes()
        report.seconds = time.monotonic() - t0
        report.timings = {k: round(v, 3) for k, v in sorted(self.timings.items())}
        log.info("seconds: %s (read and write run in their own threads, beside the build)",
                 ", ".join(f"{k} {v:.1f}" for k, v in report.timings.items()))
        report.status = "done" if report.ok else "failed"
        if not self.dry_run:
            self._close_run(report)
        return report

    # -- preparation ----------------------------------------------------------------------------

    def _prepare(self, report: RunReport, groups: Sequence[GroupRef]) -> None:
        from bascule.transform.clean import detect_mojibake_columns
        from bascule.transform.context import TransformContext

        # target reads: id map of shared rows, max ids, e-mails
        with self._target_read() as conn:
            has_bk = self.tinfo.has_bookkeeping
            self.rerun_possible = has_bk  # else no id map to rewrite: blocks are only added
            self.idmap = IdMap.load_shared(conn if has_bk else None)
            mx = max_new_ids(conn if has_bk else None, blocks=self.tinfo.has_idblock)
            self.next_id: dict[str, int] = {}
            for t, tbl in self.tinfo.tables.items():
                if "id" in tbl.c and t not in COMPOSITE_KEYS:
                    cur = conn.execute(select(func.max(tbl.c.id))).scalar() or 0
                    self.next_id[t] = max(int(cur), mx.get(t, 0)) + 1
            self.next_id["User"] = max(self.next_id["User"], 2)  # never give a moved user id 1
            u = self.tinfo.tables["User"]
            self.emails: dict[str, int] = {}
            for uid, e1, e2 in conn.execute(select(u.c.id, u.c.email, u.c.email2)):
                for e in (e1, e2):
                    if e:
                        self.emails.setdefault(e.strip().lower(), int(uid))
            if has_bk:
                report.previous_run = self._previous_run(conn)
                self.done_before = self._groups_done(conn)
            else:
                self.done_before = {}

        if self.s.id_strategy == "preserve":
            self._preserve_preflight(groups)

        samples = self._text_samples()
        self.mojibake = detect_mojibake_columns(samples)
        if self.mojibake:
            log.info("double-encoded text columns: %s",
                     ", ".join(f"{t}.{c}" for t, c in sorted(self.mojibake)))
        report.source["mojibake_columns"] = sorted(f"{t}.{c}" for t, c in self.mojibake)

        self.unit: _Unit | None = None
        self.shared_handled: dict[str, set[int]] = {t: set() for t in SHARED_TABLES}
        self._handled_lock = threading.Lock()  # read by the read-ahead thread
        self.ctx = TransformContext(
            self.sinfo.shape,
            self.tinfo.shape,
            self._lookup,
            target_columns={t: set(c) for t, c in self.tinfo.columns.items()},
            target_not_null=self.tinfo.not_null,
            keep_linked_stock=self.s.keep_linked_stock,
            mojibake_columns=self.mojibake,
            multidistrib=self._hook_md,
            distribution_md=self._hook_dist_md,
            basket_for=self._hook_basket_for,
            basket_total=self._hook_basket_total,
            product_price=self._hook_product_price,
        )
        if not self.dry_run:
            ensure_bookkeeping(self.tgt_engine)
            self.tinfo.has_idblock = True
            self._restore_left_indexes()
            self.fk_after = self._can_skip_fk_checks()
            with self.tgt_engine.begin() as conn:
                t = bookkeeping_metadata().tables[RUN]
                res = conn.execute(t.insert().values(
                    command="migrate", started_at=dt.datetime.now().replace(microsecond=0),
                    status="running", fingerprint=settings_fingerprint(self.s),
                    source_shape=self.sinfo.shape, target_shape=self.tinfo.shape,
                    settings=json.dumps(self.s.safe_dict(), sort_keys=True)))
                self.run_id = int(res.inserted_primary_key[0])
            report.run_id = self.run_id
            self._defer_indexes()
        else:
            self.run_id = 0

    def _restore_left_indexes(self) -> None:
        """Build the indexes a run that died left dropped (recorded in bascule_index), before
        this run starts; one that cannot be built stops it, named (load.indexes)."""
        from bascule.load import indexes

        left = indexes.restore(self.tgt_engine)
        if left.restored:
            log.info("%d secondary indexes left dropped by a run that did not end were built "
                     "again (%.1f s)", len(left.restored), left.seconds)
        if left.failed:
            raise MigrationError(
                "target: secondary indexes that an earlier run dropped could not be built "
                "again: " + "; ".join(f"{f['index']} on {f['table']}: {f['error']}"
                                      for f in left.failed)
                + f" (their definitions are in {indexes.INDEX}: fix the cause and run again, or "
                "delete a row there to give that index up)")

    def _defer_indexes(self) -> None:
        """secondary_indexes=after (PostgreSQL): drop the secondary indexes of the empty tables,
        to build them after the data (load.indexes)."""
        from bascule.load import indexes

        if self.s.secondary_indexes != "after" or self.tinfo.backend != "postgresql":
            return
        dropped = indexes.drop_for_empty_tables(
            self.tgt_engine, [t for t in REQUIRED_TARGET_TABLES if t in self.tinfo.tables],
            self.run_id)
        self.indexes_dropped = dropped
        if dropped:
            log.info("%d secondary indexes of %d empty tables dropped; they are built again "
                     "after the data", len(dropped), len({d.split(".")[0] for d in dropped}))

    def _end_of_load(self, report: RunReport) -> None:
        """After the units: the dropped indexes are built again while the foreign keys are
        checked in a thread (other connections; the checks join on the parents' keys, which were
        never dropped), then the sequences are fixed."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bascule-fk-check") as ex:
            check = ex.submit(self._check_fks, report) if self.fk_after else None
            self._restore_indexes(report)
            if check is not None:
                check.result()  # its error, if any, is raised here
        report.sequences = self._fix_sequences()

    def _restore_indexes(self, report: RunReport) -> None:
        """Build again the indexes this run dropped (once; also when the run fails)."""
        from bascule.load import indexes

        if not self.indexes_dropped:
            return
        dropped, self.indexes_dropped = self.indexes_dropped, []
        with self._timed("indexes"):
            r = indexes.restore(self.tgt_engine)
        r.dropped = dropped
        report.indexes = r.as_dict()
        log.info("%d secondary indexes built again in %.1f s%s", len(r.restored), r.seconds,
                 f"; {len(r.failed)} could not be" if r.failed else "")

    def _can_skip_fk_checks(self) -> bool:
        """fk_checks=after, and the target lets this session turn its checks off."""
        if self.s.fk_checks != "after" or self.tinfo.backend not in ("postgresql", "mysql"):
            return False
        if self.tinfo.backend == "mysql":
            return True
        with self.tgt_engine.connect() as conn:
            su = conn.exec_driver_sql("SELECT rolsuper FROM pg_roles WHERE rolname = "
                                      "current_user").scalar()
        if not su:
            log.warning("fk_checks=after needs a PostgreSQL superuser (session_replication_role);"
                        " %s is not one: foreign keys are checked row by row",
                        self.tgt_engine.url.username)
        return bool(su)

    @contextmanager
    def _timed(self, stage: str):
        """Add the seconds spent inside to ``timings[stage]`` (each stage is timed by one
        thread only, so no lock)."""
        t0 = time.monotonic()
        try:
            yield
        finally:
            self.timings[stage] += time.monotonic() - t0

    @contextmanager
    def _target_read(self):
        """A read-only transaction on the target (for plan: nothing is ever written)."""
        conn = self.tgt_engine.connect()
        try:
            b = self.tinfo.backend
            if b == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            elif b == "mysql":
                conn.exec_driver_sql("START TRANSACTION READ ONLY")
            yield conn
        finally:
            conn.rollback()
            conn.close()

    def _previous_run(self, conn: Connection) -> dict | None:
        t = bookkeeping_metadata().tables[RUN]
        row = conn.execute(
            select(t).where(t.c.command == "migrate").order_by(t.c.id.desc()).limit(1)
        ).mappings().first()
        if row is None:
            return None
        return {"id": row["id"], "started_at": str(row["started_at"]),
                "ended_at": str(row["ended_at"]) if row["ended_at"] else None,
                "status": row["status"], "fingerprint": row["fingerprint"]}

    def _groups_done(self, conn: Connection) -> dict[int, dict]:
        t = bookkeeping_metadata().tables[GROUP]
        return {int(r["source_group_id"]): dict(r)
                for r in conn.execute(select(t)).mappings()}

    def _text_samples(self) -> dict[tuple[str, str], list[str]]:
        """Up to 2000 non-ASCII values per text column of the moved tables, in id order.

        Among the first 20000 non-NULL values of each column (by primary key). The server keeps
        only the values that are not pure ASCII (a superset test, checked again here), so that
        the values that cannot be double-encoded are never sent.
        """
        from sqlalchemy import String, Text

        out: dict[tuple[str, str], list[str]] = {}
        reader = self.reader
        assert reader.conn is not None
        backend = self.sinfo.backend
        for t in SHARED_TABLES + GROUP_TABLES:
            tbl = self.sinfo.tables.get(t)
            if tbl is None:
                continue
            pk = list(tbl.primary_key.columns)
            for cname in self.sinfo.columns[t]:
                col = tbl.c[cname]
                if not isinstance(col.type, (String, Text)):
                    continue
                stmt = self._text_sample_stmt(backend, col, pk)
                vals: list[str] = []
                with reader.lock:
                    res = reader.conn.execute(stmt)
                    for (v,) in res:
                        if isinstance(v, str) and not v.isascii():
                            vals.append(v)
                            if len(vals) >= 2000:
                                break
                    res.close()
                if vals:
                    out[(t, cname)] = vals
        return out

    @staticmethod
    def _text_sample_stmt(backend: str, col, pk: list):
        from sqlalchemy import LargeBinary, cast

        inner = select(*pk, col.label("bascule_v")).where(col.is_not(None))
        if pk:
            inner = inner.order_by(*pk)
        sub = inner.limit(20000).subquery("bascule_s")
        v = sub.c.bascule_v
        if backend == "mysql":  # bytes in UTF-8 > characters: some character is not ASCII
            cond = func.length(func.convert(v.op("USING")(literal_column("utf8mb4")))) \
                != func.char_length(v)
        elif backend == "postgresql":
            cond = func.octet_length(v) != func.char_length(v)
        else:
            cond = func.length(cast(v, LargeBinary)) != func.length(v)
        stmt = select(v).where(cond)
        if pk:
            stmt = stmt.order_by(*[sub.c[c.name] for c in pk])
        return stmt.limit(2000)

    def _preserve_preflight(self, groups: Sequence[GroupRef]) -> None:
        """id_strategy=preserve: refuse to start when any source id is taken in the target."""
        problems: list[str] = []
        owned: dict[str, set[int]] = defaultdict(set)
        with self._target_read() as conn:
            if self.tinfo.has_bookkeeping:
                t = bookkeeping_metadata().tables[IDMAP]
                for tn, old in conn.execute(select(t.c.table_name, t.c.old_id)):
                    owned[tn].add(int(old))
            gids = [g.id for g in groups]
            for i in range(0, len(gids), 200):
                rows = self.reader.group_closure(gids[i:i + 200])
                shared = self._shared_refs(rows)
                for tname, ids in list(rows.items()) + [(k, [{"id": x} for x in v])
                                                        for k, v in shared.items()]:
                    if tname in COMPOSITE_KEYS or tname not in self.tinfo.tables:
                        continue
                    want = sorted({int(r["id"]) for r in ids} - owned[tname])
                    if tname == "User" and 1 in want:
                        problems.append("User id 1 would keep id 1 (Camap's super-admin)")
                    tbl = self.tinfo.tables[tname]
                    for j in range(0, len(want), 1000):
                        taken = conn.execute(select(tbl.c.id).where(
                            tbl.c.id.in_(want[j:j + 1000]))).scalars().all()
                        if taken:
                            problems.append(f"{tname}: ids {sorted(taken)[:10]} already exist in "
                                            f"the target ({len(taken)} collisions)")
        if problems:
            raise MigrationError("id_strategy=preserve refused: " + "; ".join(problems[:20]))

    # -- lookups & hooks used by the transform context ----------------------------------------

    def _lookup(self, table: str, old: Any) -> int | None:
        u = self.unit
        if u is not None:
            al = u.alloc.get(table)
            if al is not None:
                e = al.get(old)
                if e is not None:
                    return e
        shared = self.idmap.shared.get(table)
        if shared is not None:
            e2 = shared.get(old)
            if e2 is not None:
                return _new_id(e2)
        return None

    def _hook_md(self, old_md: Any) -> dict | None:
        return self.unit.by_id["MultiDistrib"].get(old_md) if self.unit else None

    def _hook_dist_md(self, old_d: Any) -> Any:
        if not self.unit:
            return None
        d = self.unit.by_id["Distribution"].get(old_d)
        return None if d is None else d["multiDistribId"]

    def _hook_basket_for(self, old_user: Any, old_md: Any) -> Any:
        return self.unit.synth.basket_for(old_user, old_md) if self.unit else None

    def _hook_basket_total(self, old_basket: Any) -> float | None:
        return self.unit.synth.total(old_basket) if self.unit else None

    def _hook_product_price(self, old_p: Any) -> float | None:
        if not self.unit:
            return None
        p = self.unit.by_id["Product"].get(old_p)
        return None if p is None else p["price"]

    def ctx_notes(self) -> list[dict]:
        return self.ctx.notes_summary() if hasattr(self, "ctx") else []

    # -- shared references ----------------------------------------------------------------------

    def _shared_refs(self, rows: dict[str, list[dict]]) -> dict[str, set[int]]:
        users: set[int] = set()
        for t, cols in USER_REFS.items():
            for r in rows.get(t, ()):
                for c in cols:
                    v = r.get(c)
                    if v is not None:
                        users.add(int(v))
        for r in rows.get("Subscription", ()):
            users.update(_json_ids(r.get("defaultOrders"), "userId2"))
        files: set[int] = set()
        for t, cols in FILE_REFS.items():
            for r in rows.get(t, ()):
                for c in cols:
                    v = r.get(c)
                    if v is not None:
                        files.add(int(v))
        vendors = {int(r["vendorId"]) for r in rows.get("Catalog", ()) if r.get("vendorId")}
        return {"User": users, "Vendor": vendors, "File": files}

    # -- reading a unit (in the read-ahead thread, or inline) ----------------------------------

    def _read_unit(self, gids: Sequence[int]) -> "_Read":
        """Everything a unit needs from the source: its closure, the producer-space links of its
        catalogs, and the shared rows it references that no earlier unit handled (as known at
        the time of reading: the build drops those handled since). Touches no state of the run
        but ``shared_handled`` (read under its lock), so it can run in the read-ahead thread."""
        with self._timed("read"):
            return self._read_unit_untimed(gids)

    def _read_unit_untimed(self, gids: Sequence[int]) -> "_Read":
        reader = self.reader
        rows = reader.group_closure(gids)
        linked = reader.linked_catalogs([r["id"] for r in rows["Catalog"]])
        cat_vendor = {r["id"]: r["vendorId"] for r in rows["Catalog"]}
        prod_users = reader.producer_users({cat_vendor[c] for c in linked})
        refs = self._shared_refs(rows)
        for c in linked:  # producers get a membership (and rights) in the catalog's group
            refs["User"].update(prod_users.get(cat_vendor[c], ()))
        return _Read(rows, linked, prod_users, refs, self._read_shared(refs))

    def _read_shared(self, refs: dict[str, set[int]]) -> dict[str, list[dict]]:
        """The referenced shared rows that no earlier unit handled (vendors' logos are added
        to ``refs['File']``)."""
        shared: dict[str, list[dict]] = {}
        for t in SHARED_TABLES:
            with self._handled_lock:
                want = refs[t] - self.shared_handled[t]
            fetched = self.reader.select_in(t, "id", sorted(want))
            if t == "Vendor":  # vendor logos are files too
                for r in fetched:
                    if r.get("imageId") is not None:
                        refs["File"].add(int(r["imageId"]))
            shared[t] = fetched
        return shared

    # -- parallel run: shared rows first, then the units in worker processes ------------------

    def _workers_wanted(self) -> int:
        """Worker processes this run may use (1: none): the setting (0 = one per core), when
        the source can be read by several connections in one snapshot (MariaDB/MySQL) and the
        target is a server (MariaDB/MySQL, PostgreSQL). Not for plan; verify, yes."""
        import os

        n = self.s.workers or (os.cpu_count() or 1)
        if (n <= 1 or (self.dry_run and not self.collect_expected)  # verify reads in workers
                or self.sinfo.backend != "mysql"
                or self.tinfo.backend not in ("mysql", "postgresql")
                or os.environ.get("BASCULE_PIPELINE", "1") == "0"):
            return 1
        return n

    def _snapshots_wanted(self) -> int:
        """Connections of the source snapshot beside the main one: one per forked worker (the
        parent is a worker too), and one more for the parent's own queries while they read."""
        n = self._workers_wanted()
        return n if n > 1 else 0

    def _workers_for(self, units: Sequence[Sequence[GroupRef]]) -> int:
        """The worker processes this run uses (1: none), recorded in ``workers_used``."""
        want = min(self._workers_wanted(), len(units))
        if want > 1 and self.reader.snapshot_error:
            log.warning("one process: the source refused FLUSH TABLES WITH READ LOCK, needed to "
                        "give the worker processes the same snapshot (%s)",
                        self.reader.snapshot_error)
            want = 1
        self.workers_used = max(1, min(want, len(self.reader.snapshots)))
        return self.workers_used

    def _run_parallel(self, units: list[list[GroupRef]], est: dict[int, int],
                      workers: int) -> None:
        """The shared rows (users, vendors, files) every selected group references are moved
        first, in this process, while each forked worker reads its first unit; then the units
        are spread over ``workers`` processes (this one and ``workers - 1`` forked ones), each
        reading from its own connection of the same source snapshot and writing over its own
        target connection. New ids come from counters the processes share."""
        from bascule.pipeline.workers import Counters

        report = self.report
        self.counters = Counters(self.next_id)
        log.info("%d units of work over %d worker processes", len(units), workers)
        prefetched: dict[int, _Read] = {}

        def before() -> dict:
            """In the parent while each worker reads its first unit: the shared rows."""
            self._shared_pass([g for unit in units for g in unit])
            self.counters.reset(self.next_id)  # the shared rows took ids
            # from now on only new ids are looked up (no shared row is written again): keep
            # old -> new id alone, compact, and no e-mails (memory that grew with the users)
            for t in SHARED_TABLES:  # (the handled ids are folded chunk by chunk)
                self.idmap.shared[t].fold(_new_id)
            self.emails = {}
            return {"shared": self.idmap.shared, "handled": self.shared_handled,
                    "failed": self.shared_failed}

        def prefetch(n: int) -> None:
            prefetched[n] = self._read_unit([g.id for g in units[n - 1]])

        def state(st: dict) -> None:
            self.shared_failed = st["failed"]
            self._take_shared_state(st, prefetched)

        def setup(i: int) -> None:
            self._become_worker(i)
            self.timings = defaultdict(float)
            report.shared = defaultdict(TableCounts)
            report.email_matches = []
            self.ctx.counts, self.ctx.examples = {}, {}

        def work(n: int) -> list[GroupResult]:
            self.unit_no = n
            return self._do_unit(units[n - 1], prefetched.pop(n, None))

        def finish() -> dict:
            return {"timings": dict(self.timings), "counts": self.ctx.counts,
                    "examples": self.ctx.examples, "shared": dict(report.shared),
                    "email_matches": report.email_matches}

        done: dict[int, list[GroupResult]] = {}

        def on_result(n: int, results: list[GroupResult]) -> None:
            done[n] = results
            for r in results:
                self.progress.group_done(r, est.get(r.source_id, 0))

        with self._timed("workers"):
            finals = self._run_units(workers, len(units), setup=setup, work=work, finish=finish,
                                     on_result=on_result, before=before, prefetch=prefetch,
                                     state=state)
        for n in sorted(done):  # in the order of the units, as one process would
            report.groups.extend(done[n])
        for f in finals:
            for k, v in f["timings"].items():
                self.timings[f"workers_{k}"] += v
            other = _Notes(f["counts"], f["examples"])
            self.ctx.merge_notes(other)  # type: ignore[arg-type]
            for t, c in f["shared"].items():
                report.shared[t].add(c)
            report.email_matches.extend(f["email_matches"])

    def _run_units(self, workers: int, n_units: int, **callbacks: Any) -> list:
        """``run_in_workers`` over units 1..n_units, this process working units too; meanwhile
        one snapshot connection per forked worker is lent to it (``_become_worker``) and the
        others stay here (the reference queries)."""
        from bascule.pipeline.workers import run_in_workers

        every = self.reader.snapshots
        self._lent, self.reader.snapshots = every[:workers - 1], every[workers - 1:]
        try:
            return run_in_workers(workers, [(n, n) for n in range(1, n_units + 1)],
                                  parent_work=callbacks["work"], **callbacks)
        finally:
            self.reader.snapshots = every

    def _become_worker(self, i: int) -> None:
        """In forked worker i: read from its own connection of the source snapshot, leave the
        parent's connections alone (kept referenced, never closed here), no progress display."""
        from bascule.pipeline.workers import keep_inherited

        keep_inherited(self.reader, self.src_engine.pool, self.tgt_engine.pool, *self._lent,
                       *self.reader.snapshots)
        self.reader = self.reader.adopt(self._lent[i])
        self.src_engine.dispose(close=False)
        self.tgt_engine.dispose(close=False)
        self.progress = NullProgress()
        self.indexes_dropped = []  # the parent builds them again, once every worker is done

    def _take_shared_state(self, st: dict, prefetched: dict[int, "_Read"]) -> None:
        """In a worker, after the parent's shared-row pass: its id map and handled rows; the
        units read before it re-read only the shared rows it did not handle."""
        self.idmap.shared = st["shared"]
        self.shared_handled = st["handled"]
        for pre in prefetched.values():
            pre.shared = self._read_shared(pre.refs)

    def _all_shared_refs(self, groups: Sequence[GroupRef]) -> dict[str, set[int]]:
        """The users, vendors and files that the rows of these groups reference (the union of
        what ``_read_unit`` finds unit by unit), computed by the source's server."""
        reader = self.reader
        cols: dict[str, list[str]] = defaultdict(list)
        bucket: dict[tuple[str, str], str] = {}
        for refs, kind in ((USER_REFS, "User"), (FILE_REFS, "File")):
            for t, cs in refs.items():
                cols[t].extend(cs)
                bucket.update(((t, c), kind) for c in cs)
        cols["Catalog"] += ["vendorId", "id"]
        bucket[("Catalog", "vendorId")] = "Vendor"
        cols["Subscription"].append("defaultOrders")
        gids = [g.id for g in groups]
        found = reader.distinct_refs(gids, cols, like={("Subscription", "defaultOrders"):
                                                       "%userId2%"}, buckets=bucket)
        users = {int(v) for v in found["User"]}
        for text in found[("Subscription", "defaultOrders")]:
            users.update(_json_ids(text, "userId2"))
        files = {int(v) for v in found["File"]}
        vendors = {int(v) for v in found["Vendor"] if v}
        linked = reader.linked_catalogs(sorted(found[("Catalog", "id")]))
        del found
        cat_vendor = {r["id"]: r["vendorId"] for r in reader.select_in("Catalog", "id", linked)}
        prod = reader.producer_users({cat_vendor[c] for c in linked if c in cat_vendor})
        for c in linked:
            users.update(prod.get(cat_vendor.get(c), ()))
        return {"User": users, "Vendor": vendors, "File": files}

    def _shared_pass(self, groups: Sequence[GroupRef]) -> None:
        """Move every shared row the groups reference, in chunks of ``batch_size`` rows (one
        transaction each; vendors, then files, then users). A chunk that fails is split until
        the rows that fail are alone; those are remembered (``shared_failed``) and the groups
        that reference them fail with their error.

        The id map and the handled rows are kept compact (``IntMap``, ``IntSet``): after each
        chunk its rows' entries are folded into sorted arrays, new id only, so that the memory
        of the pass does not grow with the number of users."""
        from array import array

        from bascule.pipeline.compact import IntMap, IntSet

        for t in SHARED_TABLES:
            cur = self.idmap.shared[t]
            if not isinstance(cur, IntMap):
                self.idmap.shared[t] = IntMap(cur)
            h = self.shared_handled[t]
            if not isinstance(h, IntSet):
                self.shared_handled[t] = IntSet(h)
        with self._timed("shared_refs"):
            refs = self._all_shared_refs(groups)
        order = ("Vendor", "File", "User")
        ids = {t: array("q", sorted(refs.pop(t))) for t in order}
        del refs
        log.info("shared rows referenced: %s", ", ".join(f"{len(ids[t])} {t}"
                                                         for t in SHARED_TABLES))
        for chunk in shared_chunks(ids, max(1, self.s.batch_size)):
            self._shared_chunk(chunk)

    def _shared_chunk(self, refs: dict[str, set[int]]) -> None:
        with self._timed("read"):
            pre = _Read({t: [] for t in GROUP_TABLES}, {}, {}, refs,
                        self._read_shared({t: set(v) for t, v in refs.items()}))
        job = self._build_job(0, [], pre)
        try:
            self._write(job.plan, 0)
        except Exception as e:  # noqa: BLE001 - rolled back; split to find the rows at fault
            self._undo(job.undo)
            total = sum(len(v) for v in refs.values())
            if total <= 1:
                for t, v in refs.items():
                    for i in v:
                        self.shared_failed[t][i] = str(e)
                        log.error("%s %s could not be written (the groups that reference it "
                                  "will fail): %s", t, i, e)
                return
            # halves of the chunk's rows, whatever their tables (a chunk of one vendor and one
            # user splits too)
            for half in shared_chunks({t: sorted(v) for t, v in refs.items()}, (total + 1) // 2):
                self._shared_chunk(half)
            return
        self._finish(job)
        for t in SHARED_TABLES:  # written: keep the new ids alone, compact
            self.idmap.shared[t].fold(_new_id, keys=job.plan.new_shared.get(t, ()))
            self.shared_handled[t].fold()

    def _check_shared_done(self, pre: "_Read") -> None:
        """Worker of a parallel run: the shared-row pass moved every shared row the unit
        needs; a row it could not write fails the unit (and then its groups, one by one)."""
        for t in SHARED_TABLES:
            for r in pre.shared.get(t, ()):
                err = self.shared_failed[t].get(r["id"])
                if err is not None:
                    raise _UnitFailed(MigrationError(
                        f"{t} id {r['id']} (referenced by this group) could not be written: "
                        f"{err}"))
                raise _UnitFailed(MigrationError(
                    f"{t} id {r['id']} (referenced by this group) was not moved by the "
                    "shared-row pass (did the source change?)"))

    # -- one unit of work -----------------------------------------------------------------------

    def _do_unit(self, unit: Sequence[GroupRef], pre: "_Read | None" = None) -> list[GroupResult]:
        try:
            return self._attempt(unit, pre)
        except _UnitFailed as e:
            return self._after_failure(unit, e)

    def _after_failure(self, unit: Sequence[GroupRef], exc: "_UnitFailed",
                       retries: int = TRANSIENT_RETRIES) -> list[GroupResult]:
        """A unit failed and was rolled back. A deadlock or a lock wait timeout is not the
        data's fault: the unit is read and done again (up to ``retries`` times). Otherwise one
        group is recorded as failed; several are done again one by one, so that only the bad
        group stays out."""
        from bascule.load.dialects import is_transient_error

        if retries and not self.dry_run and is_transient_error(exc.cause):
            log.warning("unit %s (groups %s) was rolled back by the database (%s); doing it "
                        "again", self.unit_no, ",".join(str(g.id) for g in unit), exc.cause)
            try:
                return self._attempt(unit)
            except _UnitFailed as e:
                return self._after_failure(unit, e, retries - 1)
        if len(unit) == 1:
            g = unit[0]
            r = GroupResult(g.id, g.name, status="failed", error=str(exc.cause))
            log.error("group %s (%s) failed and was rolled back: %s", g.id, g.name, exc.cause)
            if not self.dry_run:
                self._record_failure(g, str(exc.cause))
            return [r]
        log.warning("a unit of %d groups failed (%s); retrying group by group",
                    len(unit), exc.cause)
        out: list[GroupResult] = []
        for g in unit:
            out.extend(self._do_unit([g]))
        return out

    def _attempt(self, groups: Sequence[GroupRef], pre: "_Read | None" = None
                 ) -> list[GroupResult]:
        job = self._build_job(self.unit_no, groups, pre)
        if not self.dry_run:
            try:
                self._write(job.plan, job.n)
            except Exception as e:  # rolled back: nothing of this unit stays
                self._undo(job.undo)
                raise _UnitFailed(e) from e
        return self._finish(job)

    def _build_job(self, n: int, groups: Sequence[GroupRef], pre: "_Read | None") -> "_Job":
        """Read (unless read ahead), build, and apply the unit's effect on the run's state (id
        map of shared rows, handled rows, e-mails, next ids) so that the next unit can be built
        at once; ``_undo`` takes it back if the unit's write fails."""
        if pre is None:
            pre = self._read_unit([g.id for g in groups])
        if self.counters is not None and groups:
            self._check_shared_done(pre)
        u = _Unit(groups, pre.rows, self.sinfo.shape)
        self.unit = u
        try:
            with self._timed("build"):
                plan = self._build(u, pre)
        finally:
            self.unit = None
        return _Job(n, list(groups), plan, self._apply(u, plan))

    def _apply(self, u: "_Unit", plan: "_Plan") -> "_Undo":
        undo = _Undo(next_id=dict(self.next_id))
        for t, entries in plan.new_shared.items():
            cur = self.idmap.shared[t]
            prev = undo.shared.setdefault(t, {})
            for k, v in entries.items():
                if k not in prev:
                    prev[k] = cur.get(k)
                cur[k] = v
        with self._handled_lock:
            for t, rs in u.shared_rows.items():
                h = self.shared_handled[t]
                added = {r["id"] for r in rs} - h
                h |= added
                undo.handled[t] = added
        for e, uid in plan.new_emails.items():
            if e not in self.emails:
                self.emails[e] = uid
                undo.emails.append(e)
        for t, nxt in u.next_id.items():
            self.next_id[t] = max(self.next_id.get(t, 1), nxt)
        return undo

    def _undo(self, undo: "_Undo") -> None:
        for t, prev in undo.shared.items():
            cur = self.idmap.shared[t]
            for k, v in prev.items():
                if v is None:
                    cur.pop(k, None)
                else:
                    cur[k] = v
        with self._handled_lock:
            for t, added in undo.handled.items():
                self.shared_handled[t] -= added
        for e in undo.emails:
            self.emails.pop(e, None)
        self.next_id.clear()
        self.next_id.update(undo.next_id)

    def _finish(self, job: "_Job") -> list[GroupResult]:
        """The unit is committed (or planned): its groups' results count."""
        plan = job.plan
        for r in plan.results.values():
            r.status = "planned" if self.dry_run else "done"
        for t, c in plan.shared_counts.items():
            self.report.shared[t].add(c)
        self.report.email_matches.extend(plan.email_matches)
        return [plan.results[g.id] for g in job.groups]

    def _report_results(self, results: list[GroupResult], est: dict[int, int]) -> None:
        for r in results:
            self.report.groups.append(r)
            self.progress.group_done(r, est.get(r.source_id, 0))

    def _pipelined(self) -> bool:
        """Write unit n in a thread while unit n+1 is built (client and servers work at once).
        Not for plan (nothing written) nor SQLite (one writer per file, reads would wait)."""
        import os

        return (not self.dry_run and self.tgt_engine.dialect.name in ("mysql", "mariadb",
                                                                      "postgresql")
                and os.environ.get("BASCULE_PIPELINE", "1") != "0")

    def _collect(self, writer: "UnitWriter", est: dict[int, int], built: "_Job | None") -> bool:
        """Wait for the unit being written. Committed: its results count, True. Failed: the state
        of that unit and of ``built`` (the unit built meanwhile) is rolled back, newest first,
        the failed unit is done again group by group, and False (``built`` must be redone)."""
        with self._timed("wait_write"):
            done = writer.wait()
        if done is None:
            return True
        job, exc = done
        if exc is None:
            self._report_results(self._finish(job), est)
            return True
        if built is not None:
            self._undo(built.undo)
        self._undo(job.undo)
        self._report_results(self._after_failure(job.groups, _UnitFailed(exc)), est)
        return False

    # -- build: allocate, transform, compare --------------------------------------------------

    def _mark_handled(self, u: "_Unit") -> None:
        with self._handled_lock:
            for t, rs in u.shared_rows.items():
                self.shared_handled[t].update(r["id"] for r in rs)

    def _build(self, u: "_Unit", pre: "_Read") -> "_Plan":
        from bascule.transform.order import TABLE_ORDER
        from bascule.transform.rows import transform_row
        from bascule.transform.textids import grant_contract_admin

        plan = _Plan({g.id: GroupResult(g.id, g.name) for g in u.groups})
        if self.tinfo.has_bookkeeping:
            with self.tgt_engine.connect() as conn:
                existing, u.existing_owner = load_group_entries(
                    conn, [g.id for g in u.groups], blocks=self.tinfo.has_idblock)
        else:
            existing = {}
        u.existing = existing
        rows = u.rows

        # producer space: linked catalogs and their producers' users
        linked = pre.linked
        self.ctx.linked_catalogs.update(linked)
        cat_vendor = {r["id"]: r["vendorId"] for r in rows["Catalog"]}
        prod_users = pre.prod_users
        grants: dict[tuple[int, int], list[int]] = defaultdict(list)  # (user, group) → catalogs
        for c in linked:
            crow = u.by_id["Catalog"][c]
            for uid in prod_users.get(cat_vendor[c], []):
                grants[(uid, crow["groupId"])].append(c)
            plan.results[crow["groupId"]].linked_catalogs.append(
                {"catalog": c, "name": crow["name"], "vendor": cat_vendor[c],
                 "pcatalog": linked[c], "producer_users": prod_users.get(cat_vendor[c], [])})
        # producers who are not members yet get a membership row (rights granted below)
        members = {(r["userId"], r["groupId"]) for r in rows["UserGroup"]}
        rights_col = "rights2" if "rights2" in self.sinfo.columns["UserGroup"] else "rights"
        for (uid, gid) in sorted(grants):
            if (uid, gid) not in members:
                synth = {"userId": uid, "groupId": gid, rights_col: None, "balance": 0.0}
                if "rights" in self.sinfo.columns["UserGroup"] and rights_col != "rights":
                    synth["rights"] = None
                rows["UserGroup"].append(synth)

        # shared rows (the read counted the producers' users among the references)
        self._prepare_shared(u, plan, pre.refs, pre.shared)

        # orders without a basket (2021 shape): the transform joins them to a basket
        self._prepare_baskets(u)

        # allocate ids of every group-scoped row
        for t in GROUP_TABLES:
            if t in COMPOSITE_KEYS or t not in rows:
                continue
            ex = existing.get(t, {})
            al = u.alloc.setdefault(t, {})
            need = []
            for r in rows[t]:
                old = r["id"]
                e = ex.get(old)
                if e is not None:
                    al[old] = e[0]
                else:
                    need.append(old)
            if need:
                al.update(zip(need, self._allocate_block(u, t, need)))

        # transform, in dependency order
        for t in TABLE_ORDER:
            if t not in rows and t not in SHARED_TABLES:
                continue
            src_rows = u.shared_rows.get(t, []) if t in SHARED_TABLES else rows.get(t, [])
            cols = self.ctx.columns(t)
            getcols = operator.itemgetter(*cols) if len(cols) > 1 else \
                (lambda o, _c=cols: tuple(o[c] for c in _c))
            # rows encoded here as the writer sends them; the hash is that text's
            encode = None if self.collect_expected else self._encoder(t, cols)
            ins_enc, upd_enc = plan.inserts_enc[t], plan.updates_enc[t]
            tc_shared = t in SHARED_TABLES
            seen_keys: set[tuple] = set()
            ex = existing.get(t, {}) if not tc_shared else None
            for r in src_rows:
                gid = None if tc_shared else u.owner(t, r)
                counts = plan.shared_counts[t] if tc_shared else plan.results[gid].tables[t] \
                    if gid in plan.results else plan.shared_counts[t]
                if tc_shared:
                    m = self.idmap.shared[t].get(r["id"]) or plan.new_shared[t].get(r["id"])
                    if m is not None and m[1] is None:
                        counts.unchanged += 1  # matched to an existing target user: not ours
                        continue
                out = transform_row(t, r, self.ctx)
                if out is None:
                    counts.dropped += 1
                    continue
                if t == "UserGroup":
                    for c in grants.get((r["userId"], r["groupId"]), ()):
                        newc = self.ctx.map("Catalog", c)
                        if newc is not None:
                            before = out.get("rights")
                            out["rights"] = grant_contract_admin(before, newc)
                            if out["rights"] != before:
                                self.ctx.note("UserGroup", (r["userId"], r["groupId"]),
                                              "rights", "right_granted",
                                              "producer keeps ContractAdmin on its catalog")
                try:
                    vals = getcols(out)
                except KeyError:
                    vals = tuple(out.get(c) for c in cols)
                # verify compares the rows themselves: no hash needed
                enc = None
                if self.collect_expected:
                    h = 0
                elif encode is not None:
                    try:
                        enc = encode(vals)
                    except Exception:  # noqa: BLE001 - the writer encodes it and names the column
                        enc = None
                    h = text_hash(enc) if enc is not None else row_hash(vals)
                else:
                    h = row_hash(vals)
                if t in COMPOSITE_KEYS:
                    skey, tkey = COMPOSITE_KEYS[t]
                    tk = tuple(out.get(c) for c in tkey)
                    if tk in seen_keys:  # two source users merged into one target user
                        self.ctx.note(t, _tuple_key(r, skey), None, "dropped_row",
                                      "duplicate after e-mail merge")
                        counts.dropped += 1
                        continue
                    seen_keys.add(tk)
                    old_key = key_hash(t, _tuple_key(r, skey))
                    new_id, new_key = 0, ",".join(str(x) for x in tk)
                else:
                    old_key = r["id"]
                    new_id, new_key = out["id"], None
                if tc_shared:
                    prev = self.idmap.shared[t].get(old_key) or plan.new_shared[t].get(old_key)
                    prev_hash = prev[1] if prev is not None else None
                    is_new = prev is None
                    plan.new_shared[t][old_key] = (new_id, h, None)
                else:
                    prev = ex.get(old_key)
                    prev_hash = prev[1] if prev is not None else None
                    is_new = prev is None
                u.seen.setdefault(t, set()).add(old_key)
                if self.collect_expected and is_new:  # verify: in the source, not moved
                    plan.missing[t].add(old_key if t not in COMPOSITE_KEYS
                                        else _tuple_key(r, COMPOSITE_KEYS[t][0]))
                    continue
                if self.collect_expected:
                    tk = tuple(out.get(c) for c in COMPOSITE_KEYS[t][1]) if t in COMPOSITE_KEYS \
                        else (new_id,)
                    src_key = _tuple_key(r, COMPOSITE_KEYS[t][0]) if t in COMPOSITE_KEYS \
                        else r["id"]
                    plan.expected[t][tk] = (src_key, vals)
                if is_new:
                    plan.inserts[t].append(vals)
                    ins_enc.append(enc)
                    counts.insert += 1
                    plan.idmap_rows.append((t, old_key, new_id, gid, h, new_key))
                elif prev_hash != h:
                    plan.updates[t].append(vals)
                    upd_enc.append(enc)
                    counts.update += 1
                    plan.idmap_changed.append((t, old_key, new_id, gid, h, new_key))
                else:
                    counts.unchanged += 1
            plan.columns[t] = cols
            if t == "Group":
                for r in src_rows:
                    plan.results[r["id"]].target_id = u.alloc["Group"][r["id"]]

        # deleted from the source since the last run
        for t, ex in existing.items():
            seen = u.seen.get(t, set())
            for old, (new, _h, nk) in ex.items():
                if old in seen:
                    continue
                plan.deletes[t].append((old, new, nk))
        for t, dels in plan.deletes.items():
            owner = u.existing_owner.get(t, {})
            for old, _n, _k in dels:
                gid = owner.get(old)
                if gid in plan.results:
                    plan.results[gid].tables[t].delete += 1
        if not self.dry_run:
            self._pack_idmap(u, plan)
        return plan

    def _pack_idmap(self, u: "_Unit", plan: "_Plan") -> None:
        """The id map of every group of the unit that changed, packed (bascule_idblock): its
        entries from the previous runs, with this run's new and changed entries, less the rows
        pruned. Entries of shared rows (no owning group) stay rows of bascule_idmap."""
        owner = u.existing_owner
        changes = [e for e in plan.idmap_rows + plan.idmap_changed if e[3] is not None]
        touched = {e[3] for e in changes}
        if self.prune:
            for t, dels in plan.deletes.items():
                ot = owner.get(t, {})
                touched.update(ot[old] for old, _n, _k in dels if old in ot)
        touched &= set(plan.results)
        if not touched:
            return
        per: dict[int, dict[str, dict[int, Entry]]] = {g: defaultdict(dict) for g in touched}
        for t, ex in u.existing.items():
            ot = owner.get(t, {})
            for old, e in ex.items():
                g = ot.get(old)
                if g in per:
                    per[g][t][old] = e
        for t, old, new, g, h, nk in changes:
            prev = owner.get(t, {}).get(old)
            if prev is not None and prev != g and prev in per:  # the row changed group
                per[prev][t].pop(old, None)
            if g in per:
                per[g][t][old] = (new, h, nk)
        if self.prune:
            for t, dels in plan.deletes.items():
                for old, _n, _k in dels:
                    g = owner.get(t, {}).get(old)
                    if g in per:
                        per[g][t].pop(old, None)
        plan.idblock_groups = sorted(touched)
        for g in plan.idblock_groups:
            for t, entries in sorted(per[g].items()):
                if entries:
                    plan.idblocks.extend(pack_blocks(g, t, entries, self.run_id))

    def _encoder(self, table: str, cols: Sequence[str]) -> Callable | None:
        """How the writer encodes rows of ``table`` (None: it does not encode them); cached per
        table. plan encodes too: its row hashes must be the ones migrate would write."""
        key = (table, tuple(cols))
        if key not in self._encoders:
            enc = None
            if self.tinfo.backend in ("mysql", "postgresql"):
                from bascule.load.writer import BulkWriter

                conn = self.tgt_engine.connect()
                try:  # the MySQL literal encoder escapes as this connection does
                    enc = BulkWriter(conn, pg_copy=PG_COPY).row_encoder(
                        self.tinfo.tables[table], cols)
                finally:
                    conn.close()
            self._encoders[key] = enc
        return self._encoders[key]

    def _allocate(self, u: "_Unit", table: str, old: int) -> int:
        if self.s.id_strategy == "preserve":
            return int(old)
        nxt = u.next_id.get(table) or self.next_id[table]
        u.next_id[table] = nxt + 1
        return nxt

    def _allocate_block(self, u: "_Unit", table: str, olds: list) -> Sequence[int]:
        """New ids for these rows, in their order: consecutive ids of the unit's (or, in a
        parallel run, reserved from the counters the processes share)."""
        if self.s.id_strategy == "preserve":
            return [int(o) for o in olds]
        if self.counters is not None:
            first = self.counters.take(table, len(olds))
        else:
            first = u.next_id.get(table) or self.next_id[table]
        u.next_id[table] = first + len(olds)
        return range(first, first + len(olds))

    def _prepare_shared(self, u: "_Unit", plan: "_Plan", refs: dict[str, set[int]],
                        read: dict[str, list[dict]]) -> None:
        """Fetch the users/vendors/files a unit references; match users by e-mail; allocate.

        Rows already handled by an earlier unit of this run are not fetched again: their new id
        is in the run's id map. Referenced ids that the source does not have (dangling
        references) get no id, so the transform nulls or drops what points at them.
        """
        from bascule.transform.rows import email_keys

        for t in SHARED_TABLES:
            known = self.idmap.shared[t]
            handled = self.shared_handled[t]
            al = u.alloc.setdefault(t, {})
            ids = refs.get(t, set())
            for i in ids & handled:
                e = known.get(i)
                if e is not None:
                    al[i] = _new_id(e)
            # read before the previous unit committed: drop what that unit handled meanwhile
            fetched = [r for r in read.get(t, ()) if r["id"] not in handled]
            u.shared_rows[t] = fetched
            for r in fetched:
                old = r["id"]
                if old in known:
                    al[old] = _new_id(known[old])
                    continue
                if t == "User":
                    match = None
                    for k in sorted(email_keys(r)):
                        match = self.emails.get(k, plan.new_emails.get(k))
                        if match is not None:
                            break
                    if match is not None:
                        al[old] = match
                        plan.new_shared[t][old] = (match, None, None)
                        plan.idmap_rows.append(("User", old, match, None, None, None))
                        plan.email_matches.append({"source_user": old, "target_user": match,
                                                   "email": (r.get("email") or "").lower()})
                        self.ctx.note("User", old, "email", "matched",
                                      "same e-mail as an existing user: reused, not duplicated")
                        continue
                    new = self._allocate(u, t, old)
                    if new == 1:
                        raise MigrationError("internal error: a moved user would get id 1")
                    al[old] = new
                    for k in email_keys(r):
                        plan.new_emails.setdefault(k, new)
                else:
                    al[old] = self._allocate(u, t, old)

    def _prepare_baskets(self, u: "_Unit") -> None:
        """Orders without a basket (2021 shape) join the user's basket at their multidistrib, or
        a basket created for them (Camap's Basket.getOrCreate); created baskets get a
        deterministic synthetic old id so that reruns find them again."""
        from bascule.transform.baskets import BasketSynthesizer

        rows = u.rows
        syn = BasketSynthesizer(distribution_md=self._hook_dist_md)
        for b in rows["Basket"]:
            syn.add_existing(b)
        for o in rows["UserOrder"]:
            syn.add_order(o)
        u.synth = syn
        for b in syn.rows():
            rows["Basket"].append(b)
            u.by_id["Basket"][b["id"]] = b

    # -- write ----------------------------------------------------------------------------------

    def _write(self, plan: "_Plan", unit_no: int) -> None:
        """Write one unit (rows, id map, group status) in ONE target transaction (may run in
        the writer thread: touches only the plan and the target)."""
        with self._timed("write"):
            self._write_untimed(plan, unit_no)

    def _write_untimed(self, plan: "_Plan", unit_no: int) -> None:
        from bascule.load.writer import BulkWriter
        from bascule.transform.order import TABLE_ORDER, TWO_PASS

        bk = bookkeeping_metadata()
        idmap_t, group_t, idblock_t = bk.tables[IDMAP], bk.tables[GROUP], bk.tables[IDBLOCK]
        with self.tgt_engine.begin() as conn:
            # foreign keys checked once at the end of the run (fk_checks=after), except in a
            # unit that deletes (ON DELETE actions are foreign-key triggers on PostgreSQL)
            checks_off = self.fk_after and not (self.prune and plan.deletes)
            if self.tinfo.backend == "postgresql" and checks_off:
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            elif self.tinfo.backend == "mysql":
                conn.exec_driver_sql(f"SET SESSION foreign_key_checks = {0 if checks_off else 1}")
            w = BulkWriter(conn, pg_copy=PG_COPY)
            second: list[tuple[str, str, list]] = []
            for t in TABLE_ORDER:
                cols = plan.columns.get(t)
                if not cols:
                    continue
                table = self.tinfo.tables[t]
                deferred = [c for c in TWO_PASS.get(t, ()) if c in cols]
                ins, upd = plan.inserts.get(t, []), plan.updates.get(t, [])
                ins_enc, upd_enc = plan.inserts_enc.get(t), plan.updates_enc.get(t)
                if deferred and (ins or upd):
                    ins_enc = upd_enc = None  # rows changed below: encoded by the writer
                    idx = [cols.index(c) for c in deferred]
                    pairs = []
                    for vals in ins + upd:
                        for c, i in zip(deferred, idx):
                            if vals[i] is not None:
                                pairs.append((c, vals[cols.index("id")], vals[i]))
                    ins = [tuple(None if i in idx else v for i, v in enumerate(vals))
                           for vals in ins]
                    upd = [tuple(None if i in idx else v for i, v in enumerate(vals))
                           for vals in upd]
                    second.append((t, "id", pairs))
                if ins:
                    w.insert(table, cols, ins, encoded=ins_enc)
                if upd:
                    key = COMPOSITE_KEYS[t][1] if t in COMPOSITE_KEYS else ("id",)
                    w.upsert(table, cols, upd, key=list(key), encoded=upd_enc)
            for t, keycol, pairs in second:
                table = self.tinfo.tables[t]
                by_col: dict[str, list] = defaultdict(list)
                for c, k, v in pairs:
                    by_col[c].append((k, v))
                for c, kv in by_col.items():
                    w.update(table, [keycol], [c], kv)
            if self.prune:
                for t in reversed(TABLE_ORDER):
                    dels = plan.deletes.get(t)
                    if not dels:
                        continue
                    table = self.tinfo.tables[t]
                    if t in COMPOSITE_KEYS:
                        tkey = list(COMPOSITE_KEYS[t][1])
                        keys = [tuple(int(x) for x in nk.split(",")) for _o, _n, nk in dels]
                        w.delete(table, tkey, keys)
                    else:
                        w.delete(table, ["id"], [(n,) for _o, n, _k in dels])
            # id map: shared rows one by one, the groups' rows packed (every block of a
            # changed group is rewritten; rows of the one-row-per-entry layout of earlier
            # versions of bascule are folded into the blocks)
            idcols = ["table_name", "old_id", "new_id", "group_id", "row_hash", "new_key",
                      "run_id"]
            new = [(t, o, n, g, h, k, self.run_id) for (t, o, n, g, h, k) in plan.idmap_rows
                   if g is None]
            if new:
                w.insert(idmap_t, idcols, new)
            changed = [(t, o, n, g, h, k, self.run_id)
                       for (t, o, n, g, h, k) in plan.idmap_changed if g is None]
            if changed:
                w.upsert(idmap_t, idcols, changed, key=["table_name", "old_id"])
            if plan.idblock_groups:
                keys = [(g,) for g in plan.idblock_groups]
                if self.rerun_possible:
                    w.delete(idblock_t, ["group_id"], keys)
                    w.delete(idmap_t, ["group_id"], keys)
                w.insert(idblock_t, ["group_id", "table_name", "block", "run_id", "n",
                                     "max_new_id", "old_ids", "new_ids", "row_hashes",
                                     "new_keys"], plan.idblocks)
            now = dt.datetime.now().replace(microsecond=0)
            grows = [(r.source_id, r.target_id, (r.name or "")[:128], "done", self.run_id,
                      r.rows_written, now, None) for r in plan.results.values()]
            w.upsert(group_t, ["source_group_id", "target_group_id", "name", "status", "run_id",
                               "rows", "updated_at", "error"], grows, key=["source_group_id"])
            if self.pause_before_commit == unit_no:
                import sys

                print(f"bascule-fault: unit {unit_no} written, not committed", file=sys.stderr,
                      flush=True)
                sys.stdin.readline()
        if plan.results:
            log.info("unit %d/%d committed: groups %s", unit_no, getattr(self, "n_units", 0),
                     ",".join(str(g) for g in plan.results))
        else:
            log.info("shared rows committed: %s", ", ".join(
                f"{len(plan.new_shared.get(t, ()))} {t}" for t in SHARED_TABLES))

    def _record_failure(self, g: GroupRef, error: str) -> None:
        from bascule.load.writer import BulkWriter

        group_t = bookkeeping_metadata().tables[GROUP]
        prev = self.done_before.get(g.id)
        with self.tgt_engine.begin() as conn:
            BulkWriter(conn).upsert(
                group_t,
                ["source_group_id", "target_group_id", "name", "status", "run_id", "rows",
                 "updated_at", "error"],
                [(g.id, prev["target_group_id"] if prev else None, (g.name or "")[:128],
                  "done" if prev and prev["status"] == "done" else "failed", self.run_id,
                  prev["rows"] if prev else 0, dt.datetime.now().replace(microsecond=0),
                  error[:60000])],
                key=["source_group_id"],
            )

    # -- end of run -----------------------------------------------------------------------------

    def _check_fks(self, report: RunReport) -> None:
        """fk_checks=after: the rows were written without the target checking their foreign
        keys; now every foreign key of the target is checked once. A dangling one fails the
        run (exit 1) and is named."""
        from bascule.pipeline.target import dangling_foreign_keys

        with self._timed("fk_check"), self._target_read() as conn:
            checked, bad = dangling_foreign_keys(conn)
        report.fk_check = {"checked": checked, "dangling": bad}
        for b in bad:
            log.error("foreign key %s.%s -> %s: %d rows point at nothing", b["table"],
                      ",".join(b["columns"]), b["parent"], b["rows"])

    def _vanished(self, report: RunReport, groups: Sequence[GroupRef]) -> None:
        """Groups moved by an earlier run that are no longer AMAP groups of the source."""
        selected = {g.id for g in groups}
        amap = {g.id for g in self.reader.amap_groups()}
        for gid, info in sorted(self.done_before.items()):
            if gid in selected or info.get("status") != "done":
                continue
            if gid not in amap:
                report.vanished_groups.append({"source_id": gid, "name": info.get("name"),
                                               "target_id": info.get("target_group_id")})

    def _fix_sequences(self) -> dict[str, int]:
        from bascule.load.writer import fix_sequences

        with self.tgt_engine.begin() as conn:
            return fix_sequences(conn, [self.tinfo.tables[t] for t in self.tinfo.tables
                                        if t not in COMPOSITE_KEYS])

    def _close_run(self, report: RunReport) -> None:
        t = bookkeeping_metadata().tables[RUN]
        summary = {"groups": len(report.groups), "failed": len(report.failed),
                   "rows_written": report.rows_written(), "seconds": round(report.seconds, 3)}
        with self.tgt_engine.begin() as conn:
            conn.execute(t.update().where(t.c.id == self.run_id).values(
                ended_at=dt.datetime.now().replace(microsecond=0), status=report.status,
                summary=json.dumps(summary)))


# --------------------------------------------------------------------------------------------


@dataclass
class _Read:
    """What was read from the source for one unit (see Migrator._read_unit)."""

    rows: dict[str, list[dict]]
    linked: dict[int, int]
    prod_users: dict[int, list[int]]
    refs: dict[str, set[int]]
    shared: dict[str, list[dict]]


@dataclass
class _Notes:
    """The notes of a worker's transform context (TransformContext.merge_notes reads these)."""

    counts: dict
    examples: dict


class ReadAhead:
    """Reads the next unit in one helper thread while the main thread builds and writes the
    current one (the driver parses while the target's server works). At most one read is in
    flight and one read result waits, so memory holds two units at most. The reader's lock
    keeps the source connection to one query at a time; the snapshot is the same."""

    def __init__(self, fn: Callable[[Sequence[int]], Any]):
        self._fn = fn
        self._ex: Any = None
        self._pending: dict[tuple[int, ...], Any] = {}

    def submit(self, gids: Sequence[int]) -> None:
        from concurrent.futures import ThreadPoolExecutor

        if self._ex is None:
            self._ex = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bascule-read")
        self._pending[tuple(gids)] = self._ex.submit(self._fn, list(gids))

    def take(self, gids: Sequence[int]) -> Any:
        """The read of these groups (waiting for it), or None when it was not submitted."""
        f = self._pending.pop(tuple(gids), None)
        return None if f is None else f.result()

    def close(self) -> None:
        """Wait for the read in flight (the connection is shared) and stop the thread."""
        for f in self._pending.values():
            f.cancel()
        self._pending.clear()
        if self._ex is not None:
            self._ex.shutdown(wait=True)
            self._ex = None


class UnitWriter:
    """Writes one unit at a time in a helper thread (Migrator._write: one target transaction per
    unit) while the main thread builds the next unit. At most one write is in flight; ``wait``
    returns it with its exception, if any, so units commit in order and a failure is handled
    by the main thread before anything else is written."""

    def __init__(self, fn: Callable[["_Plan", int], None]):
        from concurrent.futures import ThreadPoolExecutor

        self._fn = fn
        self._ex = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bascule-write")
        self._job: tuple[_Job, Any] | None = None

    def submit(self, job: "_Job") -> None:
        assert self._job is None, "one write at a time"
        self._job = (job, self._ex.submit(self._fn, job.plan, job.n))

    def wait(self) -> "tuple[_Job, BaseException | None] | None":
        if self._job is None:
            return None
        job, f = self._job
        self._job = None
        try:
            f.result()
        except Exception as e:  # the transaction was rolled back by the writer
            return job, e
        return job, None

    def close(self) -> None:
        self._job = None
        self._ex.shutdown(wait=True)


@dataclass
class _Undo:
    """What applying a built unit changed in the run's state, to take it back."""

    next_id: dict[str, int]
    shared: dict[str, dict[int, Any]] = field(default_factory=dict)  # previous entry or None
    handled: dict[str, set[int]] = field(default_factory=dict)
    emails: list[str] = field(default_factory=list)


@dataclass
class _Job:
    """A built unit: its number, groups, plan (rows to write) and the undo of its state."""

    n: int
    groups: list[GroupRef]
    plan: "_Plan"
    undo: _Undo


class _UnitFailed(Exception):
    def __init__(self, cause: BaseException):
        super().__init__(str(cause))
        self.cause = cause


@dataclass
class _Plan:
    results: dict[int, GroupResult]
    inserts: dict[str, list[tuple]] = field(default_factory=lambda: defaultdict(list))
    updates: dict[str, list[tuple]] = field(default_factory=lambda: defaultdict(list))
    # the same rows as the writer sends them (BulkWriter.row_encoder), or None
    inserts_enc: dict[str, list] = field(default_factory=lambda: defaultdict(list))
    updates_enc: dict[str, list] = field(default_factory=lambda: defaultdict(list))
    deletes: dict[str, list[tuple]] = field(default_factory=lambda: defaultdict(list))
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    idmap_rows: list[tuple] = field(default_factory=list)  # new entries
    idmap_changed: list[tuple] = field(default_factory=list)  # entries whose row changed
    idblock_groups: list[int] = field(default_factory=list)  # groups whose id map is rewritten
    idblocks: list[tuple] = field(default_factory=list)  # their bascule_idblock rows
    new_shared: dict[str, dict[int, Entry]] = field(default_factory=lambda: defaultdict(dict))
    new_emails: dict[str, int] = field(default_factory=dict)
    email_matches: list[dict] = field(default_factory=list)
    shared_counts: dict[str, TableCounts] = field(default_factory=lambda: defaultdict(TableCounts))
    expected: dict[str, dict[tuple, tuple]] = field(default_factory=lambda: defaultdict(dict))
    missing: dict[str, set] = field(default_factory=lambda: defaultdict(set))


class _Unit:
    """The rows of one unit of work and its id allocations."""

    def __init__(self, groups: Sequence[GroupRef], rows: dict[str, list[dict]], shape: str):
        self.groups = list(groups)
        self.rows = rows
        self.alloc: dict[str, dict[Any, int]] = {}
        self.next_id: dict[str, int] = {}
        self.shared_rows: dict[str, list[dict]] = {}
        self.seen: dict[str, set] = {}
        self.existing: dict[str, dict[int, Entry]] = {}
        self.existing_owner: dict[str, dict[int, int]] = {}  # table → old id → source group
        self.by_id: dict[str, dict[Any, dict]] = defaultdict(dict)
        for t, rs in rows.items():
            if rs and "id" in rs[0]:
                self.by_id[t] = {r["id"]: r for r in rs}
        self.synth = None  # BasketSynthesizer of the unit

    def owner(self, t: str, r: dict) -> int | None:
        """The source group that owns a group-scoped row."""
        if t == "Group":
            return r["id"]
        if t in ("WaitingList", "Message"):
            return r.get("amapId")
        if "groupId" in r:
            return r["groupId"]
        cat = self.by_id["Catalog"]
        if t in ("Product", "Distribution", "Subscription"):
            c = cat.get(r["catalogId"])
            return c["groupId"] if c else None
        if t in ("Basket", "Volunteer"):
            md = self.by_id["MultiDistrib"].get(r["multiDistribId"])
            return md["groupId"] if md else None
        if t == "UserOrder":
            p = self.by_id["Product"].get(r["productId"])
            c = cat.get(p["catalogId"]) if p else None
            return c["groupId"] if c else None
        if t == "EntityFile":
            if r["entityType"] == "group":
                return r["entityId"]
            c = cat.get(r["entityId"])
            return c["groupId"] if c else None
        return None


def shared_chunks(ids: dict[str, Iterable[int]], size: int) -> Iterator[dict[str, set[int]]]:
    """The shared rows' ids, table after table in the order of ``ids``, cut into chunks of
    ``size`` rows whatever their tables: {table: ids} with every shared table present."""
    chunk: dict[str, set[int]] = {t: set() for t in SHARED_TABLES}
    n = 0
    for t, vs in ids.items():
        for i in vs:
            chunk[t].add(i)
            n += 1
            if n == size:
                yield chunk
                chunk, n = {t2: set() for t2 in SHARED_TABLES}, 0
    if n:
        yield chunk


def _new_id(entry: Any) -> int:
    """The new id of a shared row's id-map entry: (new id, hash, key), or the new id alone."""
    return entry if type(entry) is int else entry[0]


def _json_ids(text: Any, key: str) -> set[int]:
    if not text or not isinstance(text, str):
        return set()
    try:
        data = json.loads(text)
    except ValueError:
        return set()
    out: set[int] = set()
    if isinstance(data, list):
        for e in data:
            if isinstance(e, dict):
                v = e.get(key)
                try:
                    if v is not None:
                        out.add(int(v))
                except (TypeError, ValueError):
                    pass
    return out


# --------------------------------------------------------------------------------------------
# progress


class Progress:
    """Interface of the progress display (rich on stderr in the CLI)."""

    def start(self, groups: int, rows_estimate: int) -> None: ...

    def group_done(self, result: GroupResult, rows_estimate: int) -> None: ...

    def stop(self) -> None: ...


class NullProgress(Progress):
    pass
