"""What one run works with, built once and passed to every stage as an argument: the settings,
engines and shapes, the source reader, the planner, the run's state and its report. A run that
forks workers hands each one its own connections (``become_worker``)."""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection, Engine

from bascule.config import Settings
from bascule.dberrors import ConnectRetry
from bascule.dbutil import make_engine
from bascule.errors import SettingsError, require
from bascule.extract.closure import UnitRead, read_shared, read_unit
from bascule.extract.drivers import source_engine
from bascule.extract.source import GroupRef, SourceError, SourceInfo, SourceReader, inspect_source
from bascule.load.apply import UnitLoad
from bascule.load.bookkeeping import Book
from bascule.load.finish import Prepared
from bascule.load.idmap import load_group_entries
from bascule.load.target import TargetError, TargetInfo, inspect_target, refuse_source_as_target
from bascule.model.tables import Migration
from bascule.plan.build import Planner
from bascule.plan.changeset import ChangeSet, ExistingEntries
from bascule.plan.ids import RunState
from bascule.run.parallel import keep_inherited
from bascule.run.report import NullProgress, Progress
from bascule.run.timings import Timings
from bascule.transform.context import TransformContext

log = logging.getLogger(__name__)


#: Allocations between two collections of the garbage collector's young generation in a run
#: (Python's default is 700).
GC_GEN0 = 50_000


@contextmanager
def relaxed_gc(gen0: int = GC_GEN0) -> Iterator[None]:
    """A run allocates millions of short-lived rows, tuples and dicts and makes few reference
    cycles: during it, the collector's young generation is collected every ``gen0`` allocations,
    and what exists when it starts is frozen (never traversed again; worker processes forked
    later do not dirty those pages either). Measured with callgrind on one unit of 77,000 rows:
    3% fewer instructions in the build."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(gen0, before[1], before[2])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


@contextmanager
def run_engines(settings: Settings, source: Engine | None, target: Engine | None, *,
                read_target: bool = False) -> Iterator[tuple[Engine, Engine]]:
    """The engines of a run: those given, or made from the settings (the source's with the
    fastest reading driver, the target's too when it is only read: ``read_target``) and
    disposed when the run ends, so that a process running many runs keeps no connection."""
    made: list[Engine] = []
    if source is None:
        source = source_engine(require(settings.source_url, "source_url"), side="source",
                               retry=ConnectRetry.of(settings))
        made.append(source)
    if target is None:
        url = require(settings.target_url, "target_url")
        target = source_engine(url, side="target", retry=ConnectRetry.of(settings)) \
            if read_target else make_engine(url, side="target", retry=ConnectRetry.of(settings))
        made.append(target)
    try:
        yield source, target
    finally:
        for e in made:
            e.dispose()


def inspect_both(source: Engine, target: Engine, migration: Migration, kind: str = "auto"
                 ) -> tuple[SourceInfo, TargetInfo]:
    """Both shapes, found by reflection (``kind``: the ``source_kind`` setting); a source or
    target bascule cannot use is a MigrationError that says why. The tables the run moves are
    ``sinfo.migration`` (``migration`` as the source's shape needs it). A target that is the
    source's database, or a Cagette one, is refused first (SettingsError)."""
    refuse_source_as_target(source, target)
    try:
        sinfo = inspect_source(source, migration, kind)
    except SourceError as e:
        raise SettingsError(f"source: {e}") from None
    try:
        tinfo = inspect_target(target, migration)
        if sinfo.migration is not migration:
            if tinfo.shape != "head":
                raise SettingsError(
                    f"a current Camap source ({sinfo.shape}: "
                    + "; ".join(sinfo.shape_reasons[:2]) + f") moves only into a current Camap "
                    f"target; this target is Camap {tinfo.shape} ("
                    + "; ".join(tinfo.shape_reasons[:2]) + ")")
            tinfo = inspect_target(target, sinfo.migration)
    except TargetError as e:
        raise SettingsError(f"target: {e}") from None
    log.info("source: %s, shape %s (%s); target Camap %s (%s)", sinfo.kind, sinfo.shape,
             "; ".join(sinfo.shape_reasons), tinfo.shape, "; ".join(tinfo.shape_reasons))
    return sinfo, tinfo


def transform_context(settings: Settings, sinfo: SourceInfo, tinfo: TargetInfo,
                      migration: Migration, mojibake: set[tuple[str, str]]) -> TransformContext:
    """The run's transform context: both shapes, the target's columns, the options (the same
    for migrate, plan and verify: verify must rebuild the rows migrate wrote)."""
    return TransformContext(sinfo.shape, tinfo.shape, {}, migration=migration,
                            target_columns={t: set(c) for t, c in tinfo.columns.items()},
                            target_not_null=tinfo.not_null,
                            keep_linked_stock=settings.keep_linked_stock,
                            mojibake_columns=mojibake)


def owner_keys(migration: Migration) -> dict[str, str]:
    """Composite-key tables whose one owner path (``Migration.paths``) goes through one of
    their key columns: that target column. Without an ``id``, the rows a run wrote are found
    again by it (``Written``, the foreign-key check): a superset of them, by an indexed
    column."""
    out = {}
    for t in migration.composite:
        paths = migration.paths(t)
        if len(paths) == 1 and paths[0].by is None and paths[0].column in migration.key(t):
            out[t] = paths[0].column
    return out


class Written:
    """The rows a run wrote (or verify compared), for the foreign-key check after it: table →
    ids, or for a table without ``id`` the values of its column in ``keys`` (its owner column:
    a superset of the rows written); None: every row of the table is checked (beyond ``LIMIT``
    ids in all, or a table without ``id`` nor key). Not ``enabled`` (a run that moves every
    group): ``tables`` is None, every foreign key of the target is checked."""

    LIMIT = 1_000_000

    def __init__(self, enabled: bool = True, keys: Mapping[str, str] | None = None) -> None:
        self.enabled = enabled
        self.keys = dict(keys or {})  # table without id → the column its rows are found by
        self._tables: dict[str, set[int] | None] = {}
        self.n = 0

    def again(self) -> "Written":
        """An empty one of the same kind (a worker's share)."""
        return Written(self.enabled, self.keys)

    @property
    def tables(self) -> dict[str, set[int] | None] | None:
        return self._tables if self.enabled else None

    def add(self, cs: ChangeSet) -> None:
        if not self.enabled:
            return
        for t, ch in cs.tables.items():
            if ch.inserts or ch.updates:
                key = "id" if "id" in ch.columns else self.keys.get(t)
                i = ch.columns.index(key) if key in ch.columns else None
                self.add_ids(t, None if i is None else
                             [v[i] for rows in (ch.inserts, ch.updates) for v in rows])

    def add_ids(self, table: str, ids) -> None:
        """Rows of ``table`` by id (None: every row of it)."""
        if not self.enabled:
            return
        cur = self._tables.get(table, set())
        if ids is None or cur is None or self.n > self.LIMIT:
            self._tables[table] = None
            return
        before = len(cur)
        cur.update(ids)
        self._tables[table] = cur
        self.n += len(cur) - before

    def merge(self, other: dict[str, set[int] | None] | None) -> None:
        for t, ids in (other or {}).items():
            mine = self._tables.get(t, set())
            if ids is None or mine is None:
                self._tables[t] = None
            else:
                self._tables[t] = mine | ids


@dataclass
class Run:
    """Everything one run works with (see the module docstring)."""

    settings: Settings
    migration: Migration
    source: Engine
    target: Engine
    sinfo: SourceInfo
    tinfo: TargetInfo
    reader: SourceReader
    planner: Planner
    state: RunState
    progress: Progress
    timings: Timings = field(default_factory=Timings)
    load: UnitLoad | None = None  # how units are written; None: nothing is (plan, verify)
    prepared: Prepared = field(default_factory=Prepared)
    groups_done: dict[int, dict] = field(default_factory=dict)  # bascule_group before the run
    units: int = 0
    lent: list[Connection] = field(default_factory=list)  # snapshot connections of the workers
    rows_read: int = 0  # rows read from the source for the units (not the checksums)
    written: Written = field(default_factory=Written)  # for the foreign-key check

    @property
    def dry_run(self) -> bool:
        return self.load is None

    @property
    def book(self) -> Book:
        """The bookkeeping of this run's source in the target."""
        return self.tinfo.book(self.settings.source_name)

    def read(self, groups: Sequence[GroupRef]) -> UnitRead:
        """What the unit of these groups needs from the source (in a read-ahead thread, or
        inline); only ``state.unhandled`` of the run's state is read."""
        with self.timings("read"):
            pre = read_unit(self.reader, self.migration, [g.id for g in groups],
                            self.state.unhandled)
        self.rows_read += sum(map(len, pre.rows.values())) + sum(map(len, pre.shared.values()))
        return pre

    def existing(self, groups: Sequence[GroupRef]) -> ExistingEntries:
        """What previous runs wrote for these groups (their id map)."""
        if not self.tinfo.has_bookkeeping:
            return ExistingEntries()
        with self.target.connect() as conn:
            return load_group_entries(conn, [g.id for g in groups], self.book,
                                      blocks=self.tinfo.has_idblock)


@contextmanager
def lent_snapshots(run: Run, workers: int) -> Iterator[None]:
    """While the workers run: one snapshot connection per forked worker is lent to it
    (``become_worker``), the others stay with the parent (its server-side queries). Workers
    that ended give theirs back. Workers that were stopped (a failure, a signal) may have been
    killed in the middle of reading a result on theirs: those are closed without a word (a
    ROLLBACK there would read the rest of that result, and wait for ever)."""
    every = run.reader.snapshots
    run.lent, run.reader.snapshots = every[:workers - 1], every[workers - 1:]
    try:
        yield
    except BaseException:
        for c in run.lent:
            try:
                c.invalidate()
            except Exception:  # noqa: BLE001 - the server ends the session anyway
                pass
        run.lent = []
        raise
    run.reader.snapshots = every


def become_worker(run: Run, index: int) -> None:
    """In forked worker ``index``: read from its own connection of the source snapshot, leave
    the parent's connections alone (kept referenced, never closed here), no progress display,
    no index to build (the parent does, once every worker is done)."""
    keep_inherited(run.reader, run.source.pool, run.target.pool, *run.lent,
                   *run.reader.snapshots, *run.reader.spare)
    run.reader = run.reader.adopt(run.lent[index])
    run.source.dispose(close=False)
    run.target.dispose(close=False)
    run.progress = NullProgress()
    run.prepared.indexes_dropped = []
    run.timings = Timings()


def worker_state(run: Run) -> dict[str, Any]:
    """What the parent's shared-row pass leaves for the workers: the shared rows' id map, the
    handled rows and those that failed."""
    return {"shared": run.state.shared, "handled": run.state.handled,
            "failed": run.state.failed}


def take_worker_state(run: Run, payload: dict[str, Any], prefetched: dict[int, UnitRead]
                      ) -> None:
    """In a worker, after the parent's shared-row pass: its state; the units read before it
    read again only the shared rows it did not handle."""
    run.state.shared = payload["shared"]
    run.state.handled = payload["handled"]
    run.state.failed = payload["failed"]
    for pre in prefetched.values():
        pre.shared = read_shared(run.reader, run.migration, pre.refs, run.state.unhandled)
