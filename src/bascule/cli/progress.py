"""Progress of a run on stderr: on a terminal, one line per phase (a spinner, or a bar when the
phase has a count) and the group and row bars; off a terminal (nohup, cron, CI), one log line
when a phase starts and a heartbeat line every ``heartbeat`` seconds with the phase and counts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from bascule.cli.console import PROGRESS, err
from bascule.run.report import Progress as ProgressInterface

log = logging.getLogger("bascule.progress")


class _Phase:
    def __init__(self, name: str, total: int | None):
        self.name, self.total, self.done, self.t0 = name, total, 0, time.monotonic()

    def text(self) -> str:
        count = f" {self.done:,}/{self.total:,}" if self.total else ""
        return f"{self.name}{count} ({time.monotonic() - self.t0:,.0f} s)"


class RichProgress(ProgressInterface):
    """The progress of one run (see the module docstring). ``enabled`` False (``--no-progress``,
    ``-q``): nothing at all."""

    def __init__(self, label: str, enabled: bool = True, heartbeat: float = 30.0):
        self.label = label
        self.enabled = bool(enabled)
        self.console = err()
        self.live = self.enabled and self.console.is_terminal
        self.heartbeat = heartbeat
        self.p: Progress | None = None
        self.lock = threading.Lock()
        self.phases: list[_Phase] = []
        self.groups = self.groups_done = self.failed = self.rows = self.rows_estimate = 0
        self.t0 = time.monotonic()
        self._stop = threading.Event()
        self._beater: threading.Thread | None = None
        self.tg = self.tr = None

    # -- display ----------------------------------------------------------------------------

    def _bars(self) -> Progress | None:
        if self.live and self.p is None:
            self.p = Progress(SpinnerColumn(finished_text="✓"),
                              TextColumn("[bold]{task.description}"), BarColumn(),
                              MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                              TimeElapsedColumn(), TimeRemainingColumn(), console=self.console,
                              transient=False)
            self.p.start()
        elif not self.live and self.enabled and self._beater is None and self.heartbeat > 0:
            self._beater = threading.Thread(target=self._beat_loop, name="bascule-heartbeat",
                                            daemon=True)
            self._beater.start()
        return self.p

    def _beat_loop(self) -> None:
        while not self._stop.wait(self.heartbeat):
            log.log(PROGRESS, self.beat())

    def beat(self) -> str:
        """The heartbeat line: the phases running, the groups and rows so far."""
        with self.lock:
            now = [p.text() for p in self.phases]
            parts = [f"{self.label}: " + ("; ".join(now) if now else "working")]
            if self.groups:
                parts.append(f"groups {self.groups_done:,}/{self.groups:,}"
                             + (f" ({self.failed:,} failed)" if self.failed else ""))
                parts.append(f"rows {self.rows:,} of about {self.rows_estimate:,}")
        parts.append(f"{time.monotonic() - self.t0:,.0f} s elapsed")
        return ", ".join(parts)

    # -- the interface ----------------------------------------------------------------------

    @contextmanager
    def phase(self, name: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        if not self.enabled:
            yield lambda n=1: None
            return
        ph = _Phase(name, total)
        with self.lock:
            self.phases.append(ph)
        p = self._bars()
        task = p.add_task(name, total=total, info="") if p is not None else None
        if p is None:
            log.log(PROGRESS, "%s: %s%s", self.label, name,
                    f" ({total:,})" if total else "")

        def advance(n: int = 1) -> None:
            ph.done += n
            if task is not None:
                p.update(task, advance=n)

        try:
            yield advance
        finally:
            with self.lock:
                self.phases.remove(ph)
            if task is not None:
                done = total if total else 1
                p.update(task, total=done, completed=done)
            else:
                log.info("%s: %s done in %.1f s", self.label, name, time.monotonic() - ph.t0)

    def start(self, groups: int, rows_estimate: int) -> None:
        if not self.enabled:
            return
        with self.lock:
            self.groups, self.rows_estimate = groups, rows_estimate
        p = self._bars()
        if p is not None:
            self.tg = p.add_task(f"{self.label} groups", total=groups, info="")
            self.tr = p.add_task("rows (estimate)", total=max(rows_estimate, 1), info="")
        else:
            log.log(PROGRESS, "%s: %d groups, about %d rows", self.label, groups, rows_estimate)

    def group_done(self, result, rows_estimate: int) -> None:
        if result.status == "failed" and self.p is None:
            log.error("group %s failed: %s", result.source_id, result.error)
        with self.lock:
            self.groups_done += 1
            self.failed += result.status == "failed"
            self.rows += rows_estimate
            done, failed, rows = self.groups_done, self.failed, self.rows
        if self.p is not None and self.tg is not None:
            secs = max(time.monotonic() - self.t0, 1e-6)
            self.p.update(self.tg, advance=1, info=f"{done - failed:,} done"
                          + (f", {failed:,} failed" if failed else ""))
            self.p.update(self.tr, advance=rows_estimate, info=f"{rows / secs:,.0f} rows/s")

    def stop(self) -> None:
        self._stop.set()
        if self.p is not None:
            self.p.stop()
            self.p = None
