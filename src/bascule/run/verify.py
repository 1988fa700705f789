"""`bascule verify`: prove that the target holds what the source held.

For every group of the selection that a run that ended moved (``run.proof``), unit by unit: the source rows are read
again from a consistent snapshot (``extract``) and built again with the ids of the id map, never
allocating (``Planner.build`` with a ``ReadOnly`` allocator and ``capture``), which gives the rows
the target must hold; ``compare`` fetches the target rows by their new ids and names every
difference. Then every foreign key of the target is checked (no dangling reference anywhere), and
the moved users are checked (none has id 1, none has site rights).

The result names each difference (table, source id, target id, column) and each selected group
that is not proven (never moved, failed, moved by a run that did not end: not compared); ``ok``
is true only when there is neither; the CLI exits 1 otherwise.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from bascule.config import Settings
from bascule.dberrors import nothing_migrated
from bascule.extract.closure import UnitRead, all_shared_refs, empty_read, read_shared
from bascule.extract.source import GroupRef, SourceReader
from bascule.load.bookkeeping import IDMAP, Book
from bascule.load.dialects import dialect_for
from bascule.load.indexes import pending
from bascule.load.runlock import run_lock
from bascule.load.runlog import close_run, groups_done, run_statuses, start_run
from bascule.load.target import dangling_foreign_keys, fk_check_ways
from bascule.model.tables import MIGRATION, Migration
from bascule.plan.build import Planner
from bascule.plan.changeset import GroupResult
from bascule.plan.ids import ReadOnly
from bascule.run.changes import Precomputed
from bascule.run.compare import Difference, VerifyReport, compare_unit
from bascule.run.context import (
    Run,
    Written,
    become_worker,
    inspect_both,
    lent_snapshots,
    owner_keys,
    relaxed_gc,
    run_engines,
    take_worker_state,
    transform_context,
    worker_state,
)
from bascule.run.executor import ReadAhead
from bascule.run.parallel import Side, run_steps
from bascule.run.preflight import (
    UNIT_BATCHES,
    VERIFY_WORKER_UNIT_BATCHES,
    TargetState,
    check_identities,
    cut_units,
    estimate_rows,
    group_identities,
    open_state,
    workers_for,
    workers_wanted,
)
from bascule.report.models import now
from bascule.run.proof import LOGGED, action, selection, unproven_groups
from bascule.run.report import NullProgress, Progress
from bascule.run.shared_pass import shared_chunks
from bascule.run.verify_scope import DEFAULT_SAMPLE, Scope, changed_scope
from bascule.signals import check, interrupted, pause, stopping
from bascule.transform.clean import display_text

log = logging.getLogger(__name__)

#: Keys of shared rows compared at once by the parent of a parallel verify.
SHARED_CHUNK = 20_000


def verify(settings: Settings, *, progress: Progress | None = None,
           migration: Migration = MIGRATION, source: Engine | None = None,
           target: Engine | None = None, changed_only: bool = False,
           sample: float = DEFAULT_SAMPLE, seed: int | None = None, wait: bool = False,
           record: bool = True) -> VerifyReport:
    """One run of ``bascule verify`` (see the module docstring). ``changed_only``: what the
    last migrate run wrote, what changed in the source since, and a random ``sample`` of the
    other groups (``run.verify_scope``). ``record``: hold the run lock (``wait``: for it) and
    log the run in ``bascule_run``; not when a rollback that holds them verifies a group."""
    # verify only reads Camap's tables: a MariaDB target is read with mysqlclient (C) too
    with run_engines(settings, source, target, read_target=True) as (source, target):
        return _verify_run(settings, progress or NullProgress(), migration, source, target,
                           changed_only, sample, seed, wait, record)


def _verify_run(settings: Settings, progress: Progress, migration: Migration,
                source: Engine, target: Engine, changed_only: bool, sample: float,
                seed: int | None, wait: bool, record: bool) -> VerifyReport:
    t0, started = time.monotonic(), now()
    with progress.phase("inspecting the source and the target"):
        sinfo, tinfo = inspect_both(source, target, migration, settings.source_kind)
    if record:
        pause("inspected")
    migration = sinfo.migration
    if not tinfo.has_bookkeeping:
        raise nothing_migrated(settings.target_url or target.url)
    rep = VerifyReport(started_at=started, settings=settings.safe_dict(),
                       source=sinfo.as_dict(), target=tinfo.as_dict())
    wanted = workers_wanted(settings, source, target, parallel_ok=True)
    with run_lock(target, wait=wait, enabled=record), relaxed_gc(), \
            SourceReader(source, sinfo, snapshots=wanted if wanted > 1 else 0) as reader:
        book = tinfo.book(settings.source_name)
        with target.connect() as conn:
            done = groups_done(conn, book)
            runs = run_statuses(conn, [info["run_id"] for info in done.values()])
            rep.indexes_missing = [f"{x['table_name']}.{x['index_name']}" for x in pending(conn)]
        _warn_missing_indexes(rep.indexes_missing)
        selected = selection(reader.amap_groups(), settings)
        rep.selected = len(selected)
        rep.unproven = unproven_groups(selected, done, runs)
        _log_unproven(rep.unproven, len(selected))
        groups = _moved_groups(reader, settings, done, rep,
                               {g["source_id"] for g in rep.unproven})
        check_identities(target, tinfo, book, groups, group_identities(reader, groups))
        run_id = start_run(target, settings, tinfo, "verify", sinfo.shape) if record else None
        try:
            if run_id is not None:
                pause("started")
            _verify(settings, migration, source, target, sinfo, tinfo, reader, rep, groups,
                    progress, changed_only, sample, seed, wanted)
            rep.seconds = time.monotonic() - t0
            rep.ended_at = now()
        except BaseException as e:
            if (signalled := interrupted(e)) is not None:
                signalled.detail = (f"verify{f' run {run_id}' if run_id else ''} stopped "
                                    "before its end: nothing proven, nothing written; run "
                                    "bascule verify again")
            if run_id is not None:
                try:
                    close_run(target, run_id, "interrupted" if stopping(e) else "failed",
                              {"error": f"{type(e).__name__}: {e}"[:2000]})
                except Exception as err:  # noqa: BLE001 - the next run marks it interrupted
                    log.debug("run %s not closed: %s", run_id, err)
            raise
        if run_id is not None:
            rep.run_id = run_id
            close_run(target, run_id, "done" if rep.ok else "failed",
                      {"groups": len(groups), "differences": len(rep.differences),
                       "unproven": len(rep.unproven),
                       "scope": rep.scope, "seconds": round(rep.seconds, 3)})
    return rep


def _verify(settings: Settings, migration: Migration, source: Engine, target: Engine, sinfo,
            tinfo, reader: SourceReader, rep: VerifyReport, groups: list[GroupRef],
            progress: Progress, changed_only: bool, sample: float, seed: int | None,
            wanted: int) -> None:
    """The comparison of ``groups`` (all of them, or ``--changed``'s scope), then the foreign
    keys and the moved users."""
    with progress.phase("reading the target's id map, sampling the source's text"):
        run, held, mojibake, ahead = _open(settings, migration, source, target, sinfo, tinfo,
                                          reader, progress, changed_only)
    if changed_only:
        with progress.phase("finding what changed since the last run"):
            scope = changed_scope(run, held.previous_run, groups, mojibake, sample, seed, ahead)
    else:
        scope = Scope(groups)
    rep.scope = scope.as_dict()
    # the rows whose foreign keys are checked
    run.written = Written(scope.restricted, owner_keys(run.migration))
    if any(scope.shared.values()):
        compare_shared(run, rep, scope.shared)
    _compare_all(run, rep, scope.groups, wanted)
    with target.connect() as conn:
        with run.timings("fk_check"), run.progress.phase("checking foreign keys"):
            _check_fks(conn, rep, run.written, target)
        _check_users(conn, tinfo, rep, run.book)
    rep.timings = run.timings.rounded()


def _warn_missing_indexes(missing: list[str]) -> None:
    if missing:
        log.warning("%d secondary indexes dropped by a migrate run that did not end are "
                    "still missing (%s): the data is compared all the same; the next "
                    "`bascule migrate` builds them again", len(missing),
                    ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else ""))


def _log_unproven(unproven: list[dict], selected: int) -> None:
    for g in unproven[:LOGGED]:
        log.error("group %d (%s) is not proven: %s; run %s", g["source_id"],
                  display_text(g["name"]), g["detail"], g["action"])
    if len(unproven) > LOGGED:
        log.error("... and %d more groups not proven (the report lists them)",
                  len(unproven) - LOGGED)
    if unproven:
        log.error("%d of %d selected groups are not proven (not compared): run %s, then "
                  "bascule verify", len(unproven), selected, action(unproven))


def _moved_groups(reader: SourceReader, settings: Settings, done: dict[int, dict],
                  rep: VerifyReport, unproven: set[int]) -> list[GroupRef]:
    """The groups moved (status done) by a run that ended, and selected; a moved group gone
    from the source is a difference."""
    by_id = {g.id: g for g in reader.all_groups()}
    gids = sorted(g for g, info in done.items()
                  if info["status"] == "done" and g not in unproven)
    if settings.groups:
        gids = [g for g in gids if g in set(settings.groups)]
    gids = [g for g in gids if g not in set(settings.exclude_groups)]
    for g in gids:
        if g not in by_id:
            rep.differences.append(Difference("missing", "Group", "moved group no longer in "
                                              "the source (deleted since the run?)", g,
                                              done[g]["target_group_id"]))
        elif not reader.info.is_amap(by_id[g].flags):
            rep.vanished_groups.append(g)
    if rep.vanished_groups:
        log.warning("%d moved groups are shop-mode groups in the source now, not compared (the "
                    "target keeps what was moved): %s", len(rep.vanished_groups),
                    ", ".join(map(str, rep.vanished_groups)))
    groups = [by_id[g] for g in gids if g in by_id and reader.info.is_amap(by_id[g].flags)]
    vanished = set(rep.vanished_groups)
    rep.groups = [{"source_id": g, "name": by_id[g].name if g in by_id else done[g].get("name"),
                   "target_id": done[g]["target_group_id"],
                   "status": "vanished" if g in vanished else "compared"}
                  for g in gids if g in by_id]
    return groups


def _open(settings: Settings, migration: Migration, source: Engine, target: Engine, sinfo,
          tinfo, reader: SourceReader, progress: Progress, changed_only: bool
          ) -> tuple[Run, TargetState, list[str], Precomputed | None]:
    """The run's state and planner, the double-encoded columns, and for ``--changed`` the
    source's checksums, computed as for a rerun (``open_state``)."""
    opened = open_state(progress, reader, migration, target, tinfo,
                        tinfo.book(settings.source_name), checksums=changed_only)
    held = opened.held
    state = held.run_state()
    ctx = transform_context(settings, sinfo, tinfo, migration, opened.mojibake)
    planner = Planner(migration, ctx, ReadOnly(), _no_encoding, sinfo.columns, capture=True,
                      pack=False)
    run = Run(settings, migration, source, target, sinfo, tinfo, reader, planner, state,
              progress, groups_done=held.groups_done)
    return run, held, sorted(f"{t}.{c}" for t, c in opened.mojibake), opened.ahead


def _no_encoding(table: str, columns: tuple[str, ...]) -> None:
    """verify compares the rows themselves: nothing is encoded or hashed."""
    return None


def verify_unit(run: Run, groups: Sequence[GroupRef], pre: UnitRead | None = None):
    """Read (unless read ahead) and build one unit; its delta goes into the run's state (the
    shared rows it saw are looked up by the next units). The changes hold the expected rows."""
    if groups:
        pause("verify_unit")
    if pre is None:
        pre = run.read(groups)
    existing = run.existing(groups)
    if run.written.enabled:  # the rows whose foreign keys are checked (verify --changed)
        for t, entries in existing.entries.items():
            if not run.migration[t].composite:
                run.written.add_ids(t, [e[0] for e in entries.values()])
            elif t in run.written.keys:  # by the new ids of its owners
                owners = existing.entries.get(run.migration.paths(t)[0].parent, {})
                run.written.add_ids(t, [e[0] for e in owners.values()])
            else:
                run.written.add_ids(t, None)
        for t, rows in pre.shared.items():
            known = run.state.shared[t]
            run.written.add_ids(t, [e[0] for r in rows
                                    if isinstance(e := known.get(r["id"]), tuple)])
    cs, delta = run.planner.build(groups, pre, existing, run.state)
    run.state.apply(delta)
    return cs


def _compare_all(run: Run, rep: VerifyReport, groups: list[GroupRef], wanted: int) -> None:
    with run.progress.phase("estimating the groups' sizes"):
        est = estimate_rows(run.reader, groups)
    run.progress.start(len(groups), sum(est.values()))
    # two units in memory (compare thread), or one per worker
    units = cut_units(groups, est, min(40_000, run.settings.batch_size * UNIT_BATCHES))
    workers = workers_for(wanted, units, run.reader)
    rep.workers = workers
    try:
        if workers > 1:  # one unit per worker process
            units = cut_units(groups, est, run.settings.batch_size * VERIFY_WORKER_UNIT_BATCHES)
            step = VerifyStep(run, rep, units, est)
            with lent_snapshots(run, workers):
                run_steps(workers, len(units), step)
        else:
            _compare_serial(run, rep, units, est)
    finally:
        run.progress.stop()


def _compare_serial(run: Run, rep: VerifyReport, units: list[list[GroupRef]],
                    est: dict[int, int]) -> None:
    """The target rows of unit n are fetched and compared in a thread while unit n+1 is read
    and built (the target's server works meanwhile); one comparison at a time. SQLite
    compares inline."""
    ahead = ReadAhead(run.read)
    inline = not dialect_for(run.target).pipelined
    cmp_ex = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bascule-compare")
    pending_cmp: Future | None = None
    try:
        if units:
            ahead.submit(units[0])
        for n, unit in enumerate(units, 1):
            pre = ahead.take(unit)
            if n < len(units):  # read the next unit while this one is compared
                ahead.submit(units[n])
            cs = verify_unit(run, unit, pre)
            if pending_cmp is not None:
                with run.timings("wait_compare"):
                    pending_cmp.result()
            pending_cmp = None
            if inline:
                compare_unit(run.target, run.tinfo, run.migration, cs, rep)
            else:
                pending_cmp = cmp_ex.submit(compare_unit, run.target, run.tinfo, run.migration,
                                            cs, rep)
            for g in unit:
                run.progress.group_done(GroupResult(g.id, g.name, status="done"),
                                        est.get(g.id, 0))
            check()
        if pending_cmp is not None:
            pending_cmp.result()
    finally:
        cmp_ex.shutdown(wait=True)
        ahead.close()


class VerifyStep:
    """verify's ``UnitStep``: as migrate's, the shared rows every group references are compared
    first, in the parent, while each forked worker reads its first unit; then the units are
    compared by every process, each on its own connection of the same source snapshot; their
    counts and differences are merged."""

    def __init__(self, run: Run, rep: VerifyReport, units: list[list[GroupRef]],
                 est: dict[int, int]):
        self.run, self.rep, self.units, self.est = run, rep, units, est
        self.prefetched: dict[int, Any] = {}

    def before(self, side: Side) -> dict:  # verify hands the workers no share
        run = self.run
        with run.progress.phase("finding the users, vendors and files the groups reference"):
            refs = all_shared_refs(run.reader, run.migration,
                                   [g for u in self.units for g in u])
        compare_shared(run, self.rep, refs)
        return worker_state(run)

    def side(self, share: Any) -> None:  # never handed one
        raise NotImplementedError

    def prefetch(self, n: int) -> None:
        self.prefetched[n] = self.run.read(self.units[n - 1])

    def take_state(self, payload: dict) -> None:
        take_worker_state(self.run, payload, self.prefetched)

    def setup(self, index: int) -> None:
        become_worker(self.run, index)
        self.rep.tables.clear()
        self.rep.differences = []
        self.run.written = self.run.written.again()

    def work(self, n: int) -> None:
        cs = verify_unit(self.run, self.units[n - 1], self.prefetched.pop(n, None))
        compare_unit(self.run.target, self.run.tinfo, self.run.migration, cs, self.rep)

    def partial(self) -> dict:
        return {"tables": {t: dict(v) for t, v in self.rep.tables.items()},
                "differences": self.rep.differences, "written": self.run.written.tables}

    def on_result(self, n: int, _none: None) -> None:
        for g in self.units[n - 1]:
            self.run.progress.group_done(GroupResult(g.id, g.name, status="done"),
                                         self.est.get(g.id, 0))

    def merge(self, partials: list[dict]) -> None:
        for f in partials:
            self.rep.merge(f["tables"], f["differences"])
            self.run.written.merge(f["written"])


def compare_shared(run: Run, rep: VerifyReport, refs: dict[str, set[int]]) -> None:
    """Compare these shared rows (table → ids), by chunks of ``SHARED_CHUNK``."""
    shared = run.migration.shared
    total = sum(len(v) for v in refs.values())
    with run.progress.phase("comparing the shared rows (users, vendors, files)", total) as step:
        for part in shared_chunks(shared, {t: sorted(refs.get(t, ()))
                                           for t in reversed(shared)}, SHARED_CHUNK):
            pre = empty_read(run.migration, part, read_shared(run.reader, run.migration, part,
                                                              run.state.unhandled))
            compare_unit(run.target, run.tinfo, run.migration, verify_unit(run, [], pre), rep)
            step(sum(map(len, part.values())))


# -- whole-target checks ----------------------------------------------------------------------


def _check_fks(conn: Connection, rep: VerifyReport, written: Written, engine: Engine) -> None:
    """Every foreign key of the target resolves (declared FKs of the reflected tables; with
    ``written`` enabled, of the rows compared), checked on several connections at once."""
    rep.fk_checked, bad = dangling_foreign_keys(conn, written.tables, engine,
                                                fk_check_ways(engine), keys=written.keys)
    for b in bad:
        cols = ",".join(b["columns"])
        rep.differences.append(Difference(
            "fk", b["table"], f"{b['rows']} rows whose {cols} points at no {b['parent']} row",
            column=cols))


def _check_users(conn: Connection, tinfo, rep: VerifyReport, book: Book) -> None:
    """No user moved from this source has id 1 or site rights."""
    idm = book.table(IDMAP)
    u = tinfo.tables["User"]
    stmt = (select(idm.c.old_id, u.c.id, u.c.rights)
            .select_from(idm.join(u, u.c.id == idm.c.new_id))
            .where(book.mine(idm), idm.c.table_name == "User", idm.c.row_hash.is_not(None))
            .where((u.c.id == 1) | (u.c.rights != 0)))
    for old, new, rights in conn.execute(stmt):
        rep.differences.append(Difference("user", "User", f"moved user has id {new} / "
                                          f"rights {rights}", old, new, "rights"))
