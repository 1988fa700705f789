"""Fault injection for the kill tests, through bascule's own seam (``load.apply.BEFORE_COMMIT``).

``BASCULE`` runs the command line in a subprocess with this module installed: when the
environment asks for it (``BASCULE_TEST_PAUSE_BEFORE_COMMIT=N``), the run announces on stderr that
unit N is written but not committed, and waits for a line on stdin (the test kills it then).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

from bascule.load.apply import BEFORE_COMMIT
from bascule.run import rollback as rollback_run

HERE = Path(__file__).resolve().parent
BASCULE = [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(HERE)!r}); import faults; "
           "faults.install(); from bascule.cli import main; main()"]


def pause_before_commit(unit: int) -> None:
    def pause(unit_no: int) -> None:
        if unit_no == unit:
            print(f"bascule-fault: unit {unit_no} written, not committed", file=sys.stderr,
                  flush=True)
            sys.stdin.readline()
    BEFORE_COMMIT.append(pause)


def pause_before_rollback_commit(group: int) -> None:
    def pause(n: int) -> None:
        if n == group:
            print(f"bascule-fault: rollback of group {n} deleted, not committed",
                  file=sys.stderr, flush=True)
            sys.stdin.readline()
    rollback_run.BEFORE_COMMIT.append(pause)


def install() -> None:
    n = os.environ.get("BASCULE_TEST_PAUSE_BEFORE_COMMIT")
    if n:
        pause_before_commit(int(n))
    n = os.environ.get("BASCULE_TEST_PAUSE_ROLLBACK_COMMIT")
    if n:
        pause_before_rollback_commit(int(n))


def rollback_and_kill(tgt: str, tmp_path, nth: int, extra: list[str]) -> bool:
    """Start `bascule rollback` (options ``extra``) and SIGKILL it while the rollback of its
    nth group is deleted but not committed. True when it was killed there."""
    env = dict(os.environ, BASCULE_TEST_PAUSE_ROLLBACK_COMMIT=str(nth))
    p = subprocess.Popen(BASCULE + ["-v", "rollback", "--yes", "--target", tgt, "--report-dir",
                                    str(tmp_path / "out"), *extra],
                         stdin=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, env=env, text=True)
    killed = False
    assert p.stderr is not None
    for line in p.stderr:
        if "deleted, not committed" in line:
            p.send_signal(signal.SIGKILL)
            killed = True
            break
    p.wait()
    return killed


def run_and_kill(src, tgt, tmp_path, marker: str, nth: int, extra: list[str] | None = None
                 ) -> tuple[bool, list[int]]:
    """Start migrate (with the options ``extra``); SIGKILL it when the nth line containing
    marker appears. (killed, pids of the worker processes it had forked)."""
    env = dict(os.environ)
    if "not committed" in marker:  # the process pauses inside unit nth: one such line only
        env["BASCULE_TEST_PAUSE_BEFORE_COMMIT"] = str(nth)
        nth = 1
    p = subprocess.Popen(
        BASCULE + ["-v", "migrate", "--source", src, "--target", tgt, "--batch-size", "40",
                   "--no-progress", "--report-dir", str(tmp_path / "out"), *(extra or [])],
        stdin=subprocess.PIPE, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env,
        text=True,
    )
    seen = 0
    killed = False
    workers: list[int] = []
    assert p.stderr is not None
    for line in p.stderr:
        if "worker processes: " in line:
            workers += [int(w) for w in line.split("worker processes: ", 1)[1].split()]
        if marker in line:
            seen += 1
            if seen == nth:
                p.send_signal(signal.SIGKILL)
                killed = True
                break
    p.wait()
    for pid in workers:  # they die with the parent; the rerun starts once they are gone
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            continue
        try:
            select.select([fd], [], [])  # readable when the process has ended
        finally:
            os.close(fd)
    return killed, workers
