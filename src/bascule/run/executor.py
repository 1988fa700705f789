"""Doing the units of a migrate (or plan) run: read, build, write, one unit after the other.

A unit is built (``Planner.build``) and its delta applied to the run's state at once, so that the
next unit can be built while this one is written: on a server target the write runs in a writer
thread (``UnitWriter``) while the next unit is read ahead (``ReadAhead``) and built. A unit whose
write fails is rolled back whole; its state, and that of the unit built meanwhile, are taken
back (newest first). A deadlock or a lock wait timeout is not the data's fault: the unit is done
again, up to ``TRANSIENT_RETRIES`` times. Otherwise a unit of several groups is done again one
group at a time, so that only the bad group stays out, named with table, id and column.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bascule.errors import DataRefused, MigrationError
from bascule.extract.closure import UnitRead
from bascule.extract.source import GroupRef
from bascule.load.apply import record_failure, write_changeset
from bascule.load.dialects import dialect_for, is_transient_error
from bascule.plan.changeset import ChangeSet, GroupResult
from bascule.plan.ids import Undo
from bascule.run.context import Run
from bascule.run.report import RunReport
from bascule.signals import check, pause
from bascule.transform.clean import display_text

log = logging.getLogger(__name__)

#: Times a unit that a deadlock or a lock wait timeout rolled back is done again (then it is
#: retried group by group, as after any failure).
TRANSIENT_RETRIES = 3

#: ``write(changeset, unit number)``: one unit in one target transaction.
Write = Callable[[ChangeSet, int], None]


class UnitFailed(Exception):
    """A unit's write failed and was rolled back; ``cause`` is why."""

    def __init__(self, cause: BaseException):
        super().__init__(str(cause))
        self.cause = cause


@dataclass
class Job:
    """A built unit: its number, groups, changes, and the undo of its state."""

    n: int
    groups: list[GroupRef]
    cs: ChangeSet
    undo: Undo
    started: float = 0.0  # time.monotonic() when its build began


class UnitExecutor:
    """Builds, writes and recovers the units of one run; results go to ``report``. ``write``
    is ``load.apply.write_changeset`` unless another is given (the tests give one that fails).
    ``only_handled_shared``: in a worker of a parallel run, every shared row must have been
    moved by the parent's shared-row pass."""

    def __init__(self, run: Run, report: RunReport, *, write: Write | None = None,
                 only_handled_shared: bool = False):
        self.run = run
        self.report = report
        self._write = write or self._write_changeset
        self.only_handled_shared = only_handled_shared

    def _write_changeset(self, cs: ChangeSet, n: int) -> None:
        assert self.run.load is not None
        write_changeset(self.run.target, cs, self.run.load, n)

    def write(self, cs: ChangeSet, n: int) -> None:
        """Write one unit (may run in the writer thread: touches only the changes and the
        target)."""
        with self.run.timings("write"):
            self._write(cs, n)
        pause("committed")
        if cs.results:
            log.info("unit %d/%d committed: groups %s", n, self.run.units,
                     ",".join(str(g) for g in cs.results))
        else:
            log.info("shared rows committed: %s", ", ".join(
                f"{len(t.inserts) + len(t.updates)} {name}" for name, t in cs.tables.items()
                if name in self.run.migration.shared))

    # -- one unit -------------------------------------------------------------------------

    def build(self, n: int, groups: Sequence[GroupRef], pre: UnitRead | None = None) -> Job:
        """Read (unless read ahead), build, and apply the unit's delta to the run's state."""
        run = self.run
        started = time.monotonic()
        if pre is None:
            pre = run.read(groups)
        if self.only_handled_shared and groups:
            self._check_shared_done(pre)
        with run.timings("build"):
            cs, delta = run.planner.build(groups, pre, run.existing(groups), run.state)
        return Job(n, list(groups), cs, run.state.apply(delta), started)

    def attempt(self, n: int, groups: Sequence[GroupRef], pre: UnitRead | None = None
                ) -> list[GroupResult]:
        try:
            job = self.build(n, groups, pre)
        except DataRefused as e:  # a row the data forbids (two users of one e-mail)
            raise UnitFailed(e) from e
        if not self.run.dry_run:
            try:
                self.write(job.cs, job.n)
            except Exception as e:  # rolled back: nothing of this unit stays
                self.run.state.undo(job.undo)
                raise UnitFailed(e) from e
        return self.finish(job)

    def do_unit(self, n: int, groups: Sequence[GroupRef], pre: UnitRead | None = None
                ) -> list[GroupResult]:
        try:
            return self.attempt(n, groups, pre)
        except UnitFailed as e:
            return self.after_failure(n, groups, e)

    def after_failure(self, n: int, groups: Sequence[GroupRef], exc: UnitFailed,
                      retries: int = TRANSIENT_RETRIES) -> list[GroupResult]:
        """A unit failed and was rolled back (see the module docstring)."""
        if retries and not self.run.dry_run and is_transient_error(exc.cause):
            log.warning("unit %s (groups %s) was rolled back by the database (%s); doing it "
                        "again", n, ",".join(str(g.id) for g in groups), exc.cause)
            try:
                return self.attempt(n, groups)
            except UnitFailed as e:
                return self.after_failure(n, groups, e, retries - 1)
        if len(groups) == 1:
            g = groups[0]
            log.error("group %s (%s) failed and was rolled back: %s", g.id,
                      display_text(g.name), exc.cause)
            if not self.run.dry_run:
                record_failure(self.run.target, g.id, g.name, str(exc.cause),
                               self.run.load, self.run.groups_done.get(g.id))
            return [GroupResult(g.id, g.name, status="failed", error=str(exc.cause))]
        log.warning("a unit of %d groups failed (%s); retrying group by group", len(groups),
                    exc.cause)
        return [r for g in groups for r in self.do_unit(n, [g])]

    def finish(self, job: Job) -> list[GroupResult]:
        """The unit is committed (or planned): its groups' results count."""
        cs = job.cs
        spent = time.monotonic() - job.started
        weight = sum(max(r.rows_written, 1) for r in cs.results.values()) or 1
        for r in cs.results.values():
            r.status = "planned" if self.run.dry_run else "done"
            r.seconds = spent * max(r.rows_written, 1) / weight
        if not self.run.dry_run:
            self.run.written.add(cs)
        for t, c in cs.shared_counts.items():
            self.report.shared[t].add(c)
        self.report.email_matches.extend(cs.email_matches)
        self.report.email_conflicts.extend(cs.email_conflicts)
        self.report.refused_values.extend(cs.refused)
        return [cs.results[g.id] for g in job.groups]

    def _check_shared_done(self, pre: UnitRead) -> None:
        """The shared-row pass moved every shared row the unit needs; a row it could not write
        fails the unit (and then its groups, one by one)."""
        for t, rows in pre.shared.items():
            for r in rows:
                err = self.run.state.failed[t].get(r["id"])
                why = f"could not be written: {err}" if err is not None else \
                    "was not moved by the shared-row pass (did the source change?)"
                raise UnitFailed(MigrationError(f"{t} id {r['id']} (referenced by this group) "
                                                f"{why}"))

    def record(self, results: list[GroupResult], est: dict[int, int]) -> None:
        for r in results:
            self.report.groups.append(r)
            self.run.progress.group_done(r, est.get(r.source_id, 0))
        check()


class ReadAhead:
    """Reads the next unit in one helper thread while the main thread builds and writes the
    current one (the driver parses while the target's server works). At most one read is in
    flight and one read result waits, so memory holds two units at most. The reader's lock
    keeps the source connection to one query at a time; the snapshot is the same."""

    def __init__(self, fn: Callable[[Sequence[GroupRef]], Any]):
        self._fn = fn
        self._ex: ThreadPoolExecutor | None = None
        self._pending: dict[tuple[int, ...], Future] = {}

    def submit(self, groups: Sequence[GroupRef]) -> None:
        if self._ex is None:
            self._ex = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bascule-read")
        self._pending[tuple(g.id for g in groups)] = self._ex.submit(self._fn, list(groups))

    def take(self, groups: Sequence[GroupRef]) -> Any:
        """The read of these groups (waiting for it), or None when it was not submitted."""
        f = self._pending.pop(tuple(g.id for g in groups), None)
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
    """Writes one unit at a time in a helper thread while the main thread builds the next unit.
    At most one write is in flight; ``wait`` returns it with its exception, if any, so units
    commit in order and a failure is handled by the main thread before anything else is
    written."""

    def __init__(self, fn: Write):
        self._fn = fn
        self._ex = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bascule-write")
        self._job: tuple[Job, Future] | None = None

    def submit(self, job: Job) -> None:
        assert self._job is None, "one write at a time"
        self._job = (job, self._ex.submit(self._fn, job.cs, job.n))

    def wait(self) -> tuple[Job, BaseException | None] | None:
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


def pipelined(run: Run) -> bool:
    """Write unit n in a thread while unit n+1 is built (client and servers work at once).
    Not for plan (nothing written) nor SQLite (one writer per file, reads would wait)."""
    return (not run.dry_run and dialect_for(run.target).pipelined
            and os.environ.get("BASCULE_PIPELINE", "1") != "0")


def _collect(ex: UnitExecutor, writer: UnitWriter, est: dict[int, int], built: Job | None
             ) -> bool:
    """Wait for the unit being written. Committed: its results count, True. Failed: the state
    of that unit and of ``built`` (the unit built meanwhile) is rolled back, newest first, the
    failed unit is done again group by group, and False (``built`` must be redone)."""
    with ex.run.timings("wait_write"):
        done = writer.wait()
    if done is None:
        return True
    job, exc = done
    if exc is None:
        ex.record(ex.finish(job), est)
        return True
    if built is not None:
        ex.run.state.undo(built.undo)
    ex.run.state.undo(job.undo)
    ex.record(ex.after_failure(job.n, job.groups, UnitFailed(exc)), est)
    return False


def run_serial(ex: UnitExecutor, units: list[list[GroupRef]], est: dict[int, int]) -> None:
    """Every unit in this process: the next one read ahead; on a server target, unit n written
    in a thread while unit n+1 is built."""
    run = ex.run
    ahead = ReadAhead(run.read)
    writer = UnitWriter(ex.write) if pipelined(run) and units else None
    try:
        if units:
            ahead.submit(units[0])
        for n, unit in enumerate(units, 1):
            with run.timings("wait_read"):
                pre = ahead.take(unit)
            following = units[n] if n < len(units) else []
            if following:  # read the next unit while this one is built and written
                ahead.submit(following)
            if writer is None:
                ex.record(ex.do_unit(n, unit, pre), est)
                if run.dry_run:
                    log.info("unit %d/%d planned: groups %s", n, len(units),
                             ",".join(str(g.id) for g in unit))
                continue
            try:
                job: Job | None = ex.build(n, unit, pre)
            except DataRefused:  # a row the data forbids: the unit is done as a failed one
                job = None
            if not _collect(ex, writer, est, job):
                # unit n-1 failed: its state and unit n's were rolled back; the read of unit
                # n+1 saw that state, so it is thrown away and done again
                ahead.take(following)
                ex.record(ex.do_unit(n, unit), est)
                if following:
                    ahead.submit(following)
                continue
            if job is None:
                ex.record(ex.do_unit(n, unit, pre), est)
                continue
            writer.submit(job)
        if writer is not None:
            _collect(ex, writer, est, None)
    finally:
        if writer is not None:  # a write in flight finishes (or rolls back) first
            writer.close()
        ahead.close()
