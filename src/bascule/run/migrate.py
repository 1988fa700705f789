"""`bascule migrate` and `bascule plan`: the transfer, group by group.

A run, in order:

1. Reflect the source (shape 2021/2023, columns read, legacy columns ignored) and the target
   (Camap 2023/head). Any missing required table/column is an error before anything is written.
2. Select the AMAP-mode groups (``(flags & 2) = 0``), narrowed by ``groups`` / ``exclude_groups``,
   and cut them into units of work (a few groups, bounded by an estimate of their rows).
3. Prepare: what the target holds (id map, next ids, e-mails), the double-encoded columns, then
   (migrate) bascule's tables, a run row, the indexes to build after the data.
4. For each unit: read its closure from the source snapshot (``extract``), build its changes
   (``plan``), write them with the id map and the group status in ONE target transaction
   (``load.apply``): in this process (``executor``) or in worker processes (``parallel``).
5. Complete the target (indexes, foreign keys, sequences), close the run.

A migrate run holds the target's run lock (``load.runlock``) from step 2 to its end; before
anything is written it checks that the groups its source name recorded are the same groups in
the source (``preflight.check_identities``), then opens its run row (``runlog.start_run``: a
target of an earlier release's layout is adopted under the source name there). It reads and
writes only the bookkeeping of its source (``settings.source_name``).

``dry_run=True`` (``bascule plan``) runs steps 1–4 up to the comparison and writes nothing
anywhere (the target is read in a read-only transaction; bascule's own tables are not created;
no lock is taken).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from sqlalchemy.engine import Engine

from bascule.config import Settings
from bascule.errors import MigrationError
from bascule.extract.source import GroupRef, SourceReader
from bascule.load.apply import UnitLoad, row_encoders
from bascule.load.chunks import BASIS_KEY, WHOLE_KEY, store_checksums, wholes
from bascule.load.dialects import dialect_for
from bascule.load.finish import (
    Prepared,
    complete_target,
    defer_indexes,
    prepare_bookkeeping,
    restore_indexes,
)
from bascule.load.runlock import run_lock
from bascule.load.runlog import close_run, groups_committed, start_run
from bascule.model.tables import MIGRATION, Migration
from bascule.plan.build import Planner
from bascule.plan.ids import Preserve, Sequential, SharedCounters
from bascule.run.changes import (
    SourceChanges,
    complete,
    drop_beside,
    find_changes,
    start_beside,
)
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
from bascule.run.executor import UnitExecutor, run_serial
from bascule.run.parallel import Counters, Side, run_steps
from bascule.run.preflight import (
    UNIT_BATCHES,
    WORKER_UNIT_BATCHES,
    check_identities,
    cut_units,
    estimate_rows,
    group_identities,
    open_state,
    preserve_preflight,
    select_groups,
    record_identities,
    refused_value_checks,
    workers_for,
    workers_wanted,
)
from bascule.report.models import now
from bascule.run.report import NullProgress, Progress, RunReport
from bascule.run.shared_pass import move_shared, share_result, shared_pass
from bascule.signals import interrupted, pause, received, stopping

log = logging.getLogger(__name__)

__all__ = ["MigrationError", "migrate"]


def migrate(settings: Settings, *, dry_run: bool = False, prune: bool = False,
            progress: Progress | None = None, migration: Migration = MIGRATION,
            source: Engine | None = None, target: Engine | None = None,
            wait: bool = False, target_backend: str | None = None) -> RunReport:
    """One run of ``bascule migrate`` (or ``bascule plan`` with ``dry_run``). ``wait``: for
    the run lock another run holds (else CannotProceed, naming it). ``target_backend``: plan
    against a stand-in ``target`` (``plan --create-schema``): the values that backend refuses
    are checked."""
    with run_engines(settings, source, target) as (source, target):
        return _migrate(settings, dry_run, prune, progress or NullProgress(), migration, source,
                        target, wait, target_backend)


def _migrate(settings: Settings, dry_run: bool, prune: bool, progress: Progress,
             migration: Migration, source: Engine, target: Engine, wait: bool,
             target_backend: str | None = None) -> RunReport:
    t0, started = time.monotonic(), now()
    with progress.phase("inspecting the source and the target"):
        sinfo, tinfo = inspect_both(source, target, migration, settings.source_kind)
    if not dry_run:
        pause("inspected")
    migration = sinfo.migration
    report = RunReport(command="plan" if dry_run else "migrate", dry_run=dry_run,
                       started_at=started, source=sinfo.as_dict(), target=tinfo.as_dict(),
                       settings=settings.safe_dict(), prune=prune)
    wanted = workers_wanted(settings, source, target, parallel_ok=not dry_run)
    with run_lock(target, wait=wait, enabled=not dry_run), relaxed_gc(), \
            SourceReader(source, sinfo, snapshots=wanted if wanted > 1 else 0,
                         spare=1) as reader:
        groups = select_groups(reader, settings)
        identities = group_identities(reader, groups)
        recorded = check_identities(target, tinfo, tinfo.book(settings.source_name), groups,
                                    identities)
        run_id = None
        todo: list[GroupRef] | None = None
        if not dry_run:
            run_id = start_run(target, settings, tinfo, "migrate", sinfo.shape)
            report.run_id = run_id
        try:
            if run_id is not None:
                record_identities(target, tinfo.book(settings.source_name), recorded,
                                  identities)
                pause("started")
            run, changes, todo = _open(settings, migration, source, target, sinfo, tinfo,
                                       reader, groups, report, dry_run=dry_run, prune=prune,
                                       progress=progress, run_id=run_id,
                                       identities=identities, target_backend=target_backend)
            _move(run, report, groups, todo, wanted, changes)
            report.changes = changes.as_dict()
            if changes.seconds:
                run.timings.seconds["checksums"] = changes.seconds
            _close(run, report, changes, prune, t0, progress)
        except BaseException as e:
            if run_id is not None:  # the run row says how it ended (the lock goes with it)
                _close_unfinished(target, run_id, e, len(groups if todo is None else todo),
                                  tinfo.book(settings.source_name))
            raise
    report.seconds = time.monotonic() - t0
    report.ended_at = now()
    log.info("seconds: %s (read and write run in their own threads, beside the build)",
             ", ".join(f"{k} {v:.1f}" for k, v in report.timings.items()))
    return report


def _close_unfinished(target: Engine, run_id: int, e: BaseException, total: int, book
                      ) -> None:
    """A run that raised: its row closed ``interrupted`` (a signal, Ctrl-C) or ``failed``;
    an interrupt says what the run committed (``Interrupted.detail``). The error that raised
    stays the run's error, whatever happens here."""
    stopped, signalled = stopping(e), interrupted(e)
    summary: dict[str, Any] = {"error": f"{type(e).__name__}: {e}"[:2000]}
    try:
        if stopped:
            summary["groups_committed"] = committed = groups_committed(target, run_id, book)
            summary["groups"] = total
            if signalled is not None:
                signalled.detail = (f"run {run_id} stopped, {committed} of {total} groups committed; "
                            "run bascule migrate again to finish")
        close_run(target, run_id, "interrupted" if stopped else "failed", summary)
    except Exception as err:  # noqa: BLE001 - the next run marks it interrupted
        log.debug("run %d not closed: %s", run_id, err)


def _close(run: Run, report: RunReport, changes: SourceChanges, prune: bool, t0: float,
           progress: Progress) -> None:
    """The report's notes, status and timings; for migrate, the checksums kept (a clean run)
    and the run row closed, before the run lock is released."""
    report.notes = run.planner.ctx.notes_summary()
    report.rows_read = run.rows_read
    report.timings = run.timings.rounded()
    report.status = "done" if report.ok else "failed"
    if run.load is not None:
        summary = {"groups": len(report.groups), "failed": len(report.failed),
                   "unchanged": len(report.unchanged_groups),
                   "rows_written": report.rows_written(),
                   # the groups it wrote: `rollback --run` finds them after a later run
                   "moved": sorted(g.source_id for g in report.groups if g.status == "done")}
        if _keep_checksums(report, changes, prune):
            with run.timings("checksums_store"), progress.phase("storing the checksums"):
                store_checksums(run.target, run.load.run_id, changes.sums or {}, run.book)
            summary[BASIS_KEY] = changes.basis
            if changes.statements is not None:
                summary[WHOLE_KEY] = wholes(changes.sums or {}, changes.statements)
        report.timings = run.timings.rounded()
        report.seconds = time.monotonic() - t0
        summary["seconds"] = round(report.seconds, 3)
        close_run(run.target, run.load.run_id, report.status, summary)


def to_move(groups: Sequence[GroupRef], changes: SourceChanges, done: dict[int, dict]
            ) -> list[GroupRef]:
    """The groups this run moves: all of them, unless the source's checksums could be compared;
    then those whose rows changed and those not done yet."""
    if not changes.compared:
        return list(groups)
    return [g for g in groups
            if g.id in changes.redo or done.get(g.id, {}).get("status") != "done"]


def _keep_checksums(report: RunReport, changes: SourceChanges, prune: bool) -> bool:
    """The source's checksums become the next run's reference only after a clean run: every
    group moved, every shared row written, and no row deleted from the source left in the
    target (a run without --prune keeps them: the next one must find them again)."""
    if changes.sums is None or not report.ok or report.shared_failed:
        return False
    left = sum(c.delete for c in report.totals().values())
    if left and not prune:
        log.info("the source's checksums are not kept: %d rows deleted from the source stay in "
                 "the target until a run with --prune, which finds them again", left)
        return False
    return True


def _open(settings: Settings, migration: Migration, source: Engine, target: Engine, sinfo,
          tinfo, reader: SourceReader, groups: Sequence[GroupRef], report: RunReport, *,
          dry_run: bool, prune: bool, progress: Progress, run_id: int | None,
          identities: dict[int, str | None], target_backend: str | None = None
          ) -> tuple[Run, SourceChanges, list[GroupRef]]:
    """Step 3: what the target holds, what changed in the source since the last clean run
    (the groups to move), the transform's context, the planner; for migrate (``run_id``, its
    run row) the bookkeeping and the indexes deferred."""
    book = tinfo.book(settings.source_name)
    with progress.phase("reading the target's id map, sampling the source's text"):
        opened = open_state(progress, reader, migration, target, tinfo, book, run_id=run_id)
    held = opened.held
    report.previous_run = held.previous_run
    report.source["mojibake_columns"] = sorted(f"{t}.{c}" for t, c in opened.mojibake)
    with progress.phase("comparing the source with the last clean run"):
        changes = find_changes(reader, target, tinfo, migration, settings,
                               report.source["mojibake_columns"], held.shared, opened.ahead)
    todo = to_move(groups, changes, held.groups_done)
    moving = {g.id for g in todo}
    report.unchanged_groups = [g.id for g in groups if g.id not in moving]
    if settings.id_strategy == "preserve":
        preserve_preflight(reader, target, tinfo, migration, todo, book)
    state = held.run_state()
    ctx = transform_context(settings, sinfo, tinfo, migration, opened.mojibake)
    planner = Planner(migration, ctx, Preserve() if settings.id_strategy == "preserve"
                      else Sequential(state), row_encoders(target, tinfo.tables), sinfo.columns,
                      pack=not dry_run, prune=prune,
                      checks=refused_value_checks(target, tinfo, migration, target_backend),
                      collect_refused=dry_run)
    run = Run(settings, migration, source, target, sinfo, tinfo, reader, planner, state,
              progress, groups_done=held.groups_done,
              written=Written(changes.compared, owner_keys(migration)))
    if run_id is not None:
        defer_fks = prepare_bookkeeping(target, settings)
        tinfo.has_idblock = True
        run.load = UnitLoad(migration, tinfo.tables, dialect_for(target), run_id,
                            settings.source_name, defer_fks=defer_fks, prune=prune,
                            rerun=held.rerun, identities=identities)
        run.prepared = Prepared(defer_fks, defer_indexes(target, settings, migration, tinfo,
                                                         run_id, defer_fks))
    return run, changes, todo


def _move(run: Run, report: RunReport, groups: Sequence[GroupRef], todo: list[GroupRef],
          wanted: int, changes: SourceChanges) -> None:
    """Steps 4 and 5: the groups ``todo`` (of the selected ``groups``) and the shared rows
    of ``changes`` (moved before, changed in the source since)."""
    changed_shared = changes.shared
    with run.progress.phase("estimating the groups' sizes"):
        est = estimate_rows(run.reader, todo)
    units = cut_units(todo, est, run.settings.batch_size * UNIT_BATCHES)
    run.progress.start(len(todo), sum(est.values()))
    workers = workers_for(wanted, units, run.reader)
    try:
        if workers > 1:  # one unit in memory per worker, smaller: each process holds one
            units = cut_units(todo, est, run.settings.batch_size * WORKER_UNIT_BATCHES)
            run.units = len(units)
            _run_parallel(run, report, units, est, workers, changes)
        else:
            run.units = len(units)
            ex = UnitExecutor(run, report)
            if any(changed_shared.values()):
                shared = run.migration.shared
                move_shared(ex, {t: sorted(changed_shared.get(t, ())) for t in reversed(shared)},
                            fold=False)
            run_serial(ex, units, est)
        report.workers, report.units = workers, run.units
        report.vanished_groups = _vanished(run, groups)
        if not run.dry_run:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bascule-sums") as ex:
                sums = ex.submit(_complete_sums, run.progress, changes, run.reader,
                                 run.migration) if changes.deferred and report.ok else None
                with run.progress.phase("building indexes again, checking foreign keys"):
                    done = complete_target(run.target, run.tinfo, run.migration, run.prepared,
                                           run.written.tables, run.written.keys)
                if sums is not None:
                    sums.result()
            report.fk_check, report.sequences = done.fk_check, done.sequences
            report.indexes = done.indexes or report.indexes
            run.timings.merge(done.seconds)
    finally:
        drop_beside(changes)  # a run that failed or stopped before it used them
        run.progress.stop()
        if run.prepared.indexes_dropped and received() is None:  # a failing run builds them
            # too; one stopped by a signal leaves them to the next run (bascule_index)
            dropped, run.prepared.indexes_dropped = run.prepared.indexes_dropped, []
            with run.timings("indexes"), run.progress.phase("building indexes again"):
                report.indexes = restore_indexes(run.target, dropped)


def _complete_sums(progress: Progress, changes: SourceChanges, reader: SourceReader,
                   migration: Migration) -> None:
    with progress.phase("checksumming the source (for the next run)"):
        complete(changes, reader, migration)


def _vanished(run: Run, groups: Sequence[GroupRef]) -> list[dict]:
    """Groups moved by an earlier run that are no longer AMAP groups of the source."""
    selected = {g.id for g in groups}
    amap = {g.id for g in run.reader.amap_groups()}
    return [{"source_id": gid, "name": info.get("name"), "target_id": info.get("target_group_id")}
            for gid, info in sorted(run.groups_done.items())
            if gid not in selected and info.get("status") == "done" and gid not in amap]


# -- in worker processes --------------------------------------------------------------------


class MigrateStep:
    """migrate's ``UnitStep``: the shared rows first, while each forked worker reads its first
    unit (the parent finds them, then moves the vendors, the files and a share of the users
    while each worker moves another share: ``side``); then the units spread over the
    processes, each reading from its own connection of the same source snapshot and writing
    over its own target connection, new ids reserved from counters the processes share."""

    def __init__(self, run: Run, report: RunReport, units: list[list[GroupRef]],
                 est: dict[int, int], changes: SourceChanges, workers: int):
        self.run, self.report, self.units, self.est = run, report, units, est
        self.changes = changes
        self.counters = Counters(run.state.next_id)
        self.processes = workers
        if run.settings.id_strategy != "preserve":
            run.planner = replace(run.planner, allocator=SharedCounters(run.state, self.counters))
        self.ex = UnitExecutor(run, report, only_handled_shared=True)
        self.prefetched: dict[int, Any] = {}
        self.done: dict[int, list] = {}

    def before(self, side: Side) -> dict:
        run = self.run
        # a first run's checksums start once the shared rows are found, beside everything
        # else, on the snapshot's spare connection (opened with the workers' ones): started
        # before, their scans slowed the server's search for the shared rows, which nothing
        # else overlaps (4.0 s against 6.0 at scale 1.0). The workers move a share of the users
        # (their ids from the shared counters).
        shared_pass(self.ex, [g for unit in self.units for g in unit], self.changes.shared,
                    side=side, processes=self.processes,
                    found=lambda: start_beside(self.changes, run.reader, run.migration,
                                               run.reader.spare))
        # from now on only new ids are looked up (no shared row is written again): keep old ->
        # new id alone, compact, and no e-mails (memory that grew with the users)
        for t in run.migration.shared:
            run.state.fold(t)
        run.state.forget_users()
        return worker_state(run)

    def side(self, share: dict) -> dict:
        """A worker's share of the shared-row pass (users only), before any unit."""
        state = self.run.state
        state.compact()
        move_shared(self.ex, share, fold=True)
        out = share_result(state, share)
        state.forget_users()
        return out

    def prefetch(self, n: int) -> None:
        self.prefetched[n] = self.run.read(self.units[n - 1])

    def take_state(self, payload: dict) -> None:
        take_worker_state(self.run, payload, self.prefetched)

    def setup(self, index: int) -> None:
        become_worker(self.run, index)
        self.report.shared.clear()
        self.report.email_matches = []
        self.report.email_conflicts = []
        ctx = self.run.planner.ctx
        ctx.counts, ctx.examples = {}, {}
        self.run.rows_read = 0
        self.run.written = self.run.written.again()

    def work(self, n: int) -> list:
        return self.ex.do_unit(n, self.units[n - 1], self.prefetched.pop(n, None))

    def partial(self) -> dict:
        ctx = self.run.planner.ctx
        return {"timings": dict(self.run.timings.seconds), "counts": ctx.counts,
                "examples": ctx.examples, "shared": dict(self.report.shared),
                "email_matches": self.report.email_matches,
                "email_conflicts": self.report.email_conflicts, "rows_read": self.run.rows_read,
                "written": self.run.written.tables}

    def on_result(self, n: int, results: list) -> None:
        self.done[n] = results
        for r in results:
            self.run.progress.group_done(r, self.est.get(r.source_id, 0))

    def merge(self, partials: list[dict]) -> None:
        for n in sorted(self.done):  # in the order of the units, as one process would
            self.report.groups.extend(self.done[n])
        ctx = self.run.planner.ctx
        for f in partials:
            self.run.timings.merge(f["timings"], prefix="workers_")
            ctx.merge_counts(f["counts"], f["examples"])
            for t, c in f["shared"].items():
                self.report.shared[t].add(c)
            self.report.email_matches.extend(f["email_matches"])
            self.report.email_conflicts.extend(f["email_conflicts"])
            self.run.rows_read += f["rows_read"]
            self.run.written.merge(f["written"])


def _run_parallel(run: Run, report: RunReport, units: list[list[GroupRef]],
                  est: dict[int, int], workers: int, changes: SourceChanges) -> None:
    log.info("%d units of work over %d worker processes", len(units), workers)
    step = MigrateStep(run, report, units, est, changes, workers)
    with run.timings("workers"), lent_snapshots(run, workers):
        run_steps(workers, len(units), step)
    report.shared_failed = [{"table": t, "id": i, "error": e}
                            for t, rows in run.state.failed.items() for i, e in sorted(rows.items())]
