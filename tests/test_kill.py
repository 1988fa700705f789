"""A run killed with SIGKILL at several points, then rerun: verify passes, nothing duplicated.

The test starts a real `bascule migrate` subprocess and reads its stderr: it kills the process
right after the N-th unit is committed, or while the N-th unit is written but not committed
(the process announces that point and waits on stdin: no timing involved).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys

import pytest

from bascule.config import load_settings
from bascule.pipeline.migrate import Migrator
from bascule.pipeline.verify import Verifier

from helpers import idmap_entries, rows
from test_migrate import make_source, make_target

BASCULE = [sys.executable, "-c", "from bascule.cli import main; main()"]


def _run_and_kill(src, tgt, tmp_path, marker: str, nth: int) -> tuple[bool, list[int]]:
    """Start migrate; SIGKILL it when the nth line containing marker appears. (killed, pids of
    the worker processes it had forked)."""
    env = dict(os.environ)
    if "not committed" in marker:  # the process pauses inside unit nth: one such line only
        env["BASCULE_FAULT_PAUSE_BEFORE_COMMIT"] = str(nth)
        nth = 1
    p = subprocess.Popen(
        BASCULE + ["-v", "migrate", "--source", src, "--target", tgt, "--batch-size", "40",
                   "--no-progress", "--report-dir", str(tmp_path / "out")],
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


def _no_duplicates(tgt):
    """Every target row of the moved tables has exactly one id-map entry, and vice versa."""
    for t in ("Group", "Place", "Catalog", "Product", "MultiDistrib", "Distribution",
              "Subscription", "Basket", "UserOrder", "Operation"):
        n_rows = rows(tgt, f'SELECT COUNT(*) FROM "{t}"')[0][0]
        entries = idmap_entries(tgt, t)
        assert n_rows == len(entries), (t, n_rows, len(entries))
        olds, news = [e[1] for e in entries], [e[2] for e in entries]
        assert len(set(olds)) == len(olds) and len(set(news)) == len(news), t


@pytest.mark.parametrize("marker,nth", [
    ("committed: groups", 1),
    ("committed: groups", 3),
    ("written, not committed", 2),
])
def test_kill_then_rerun(db_factory, tmp_path, marker, nth):
    src = make_source(db_factory("mysql"), seed=5)
    tgt = make_target(db_factory("mysql"), "2023")
    killed, _workers = _run_and_kill(src, tgt, tmp_path, marker, nth)
    assert killed, "the run ended before the kill point"
    s = load_settings(None, source_url=src, target_url=tgt, report_dir=str(tmp_path / "o2"),
                      batch_size=40)
    rep = Migrator(s).run()
    assert not rep.failed
    ver = Verifier(s).run()
    assert ver.ok, [d.line() for d in ver.differences]
    _no_duplicates(tgt)
    # a killed run stays "running" in bascule_run; the rerun is "done"
    statuses = [r[0] for r in rows(tgt, "SELECT status FROM bascule_run ORDER BY id")]
    assert statuses[-1] == "done"
