"""SIGINT and SIGTERM during migrate, verify and rollback: the run stops (its workers too), its
row says interrupted, ONE line on stderr says what was committed, the exit code is 130 / 143,
never a traceback; a rerun finishes and verify passes.

The runs pause where the test wants the signal (``BASCULE_TEST_PAUSE``, ``bascule.signals``):
the test reads the pause line from the subprocess's stderr, then signals it. No sleep."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from bascule import api

from faults import BASCULE
from helpers import amap_and_shop, make_source, make_target, rows, settings_for

CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


def _paused(args: list[str], phase: str, **env: str) -> tuple[subprocess.Popen, int]:
    """The command started with ``BASCULE_TEST_PAUSE=phase`` (and ``env``), once it paused
    there: (the process, the pid of the process that paused: the parent or a worker)."""
    env = dict(os.environ, BASCULE_TEST_PAUSE=phase, **env)
    p = subprocess.Popen(BASCULE + args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=env, text=True)
    assert p.stderr is not None
    seen = []
    for line in p.stderr:
        if line.startswith("bascule-pause: "):
            return p, int(line.rsplit("process ", 1)[1].rstrip(")\n"))
        seen.append(line)
    p.wait()
    raise AssertionError(f"ended (exit {p.returncode}) before pausing at {phase}: {seen[-5:]}")


def _interrupt(p: subprocess.Popen, pid: int, sig: int, twice: bool = False) -> list[str]:
    """Signal ``pid`` (twice in a row: the parent again at once); the lines bascule printed
    after that, once it ended with the signal's exit code."""
    os.kill(pid, sig)
    if twice:
        os.kill(p.pid, sig)
    assert p.stderr is not None
    rest = p.stderr.read()
    p.wait()
    assert "Traceback" not in rest, rest
    assert p.returncode == CODES[sig], (p.returncode, rest)
    lines = [x for x in rest.splitlines() if x.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"interrupted by {signal.Signals(sig).name}: "), lines
    return lines


def _migrate_args(src, tgt, tmp_path, *extra):
    return ["migrate", "--source", src, "--target", tgt, "--batch-size", "40", "--no-progress",
            "--report-dir", str(tmp_path / "out"), *extra]


def _last_run(tgt) -> tuple:
    return rows(tgt, "SELECT command, status FROM bascule_run ORDER BY id DESC")[0]


def _finish(src, tgt, tmp_path):
    """A rerun moves what is left; verify proves every group."""
    s = settings_for(src, tgt, tmp_path, batch_size=40)
    rep = api.migrate(s)
    assert rep.ok and not rep.failed
    ver = api.verify(s)
    assert ver.ok and not ver.unproven, [d.line() for d in ver.differences]
    return s


@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
@pytest.mark.parametrize("phase,sig,twice", [
    ("inspected", signal.SIGTERM, False),     # startup, before the run lock
    ("started", signal.SIGINT, False),        # before the first group commits
    ("committed:1", signal.SIGTERM, False),   # between groups
    ("committed:2", signal.SIGINT, True),     # twice in a row
    ("indexes", signal.SIGINT, False),        # the index rebuild
])
def test_migrate_interrupted(db_factory, tmp_path, kind, phase, sig, twice):
    src = make_source(db_factory("sqlite"), seed=5)
    tgt = make_target(db_factory(kind), "2023")
    amap = amap_and_shop(src)[0]
    p, pid = _paused(_migrate_args(src, tgt, tmp_path), phase)
    line = _interrupt(p, pid, sig, twice)[0]
    if phase == "inspected":
        assert "before anything was written; run bascule migrate again" in line
        assert not rows(tgt, "SELECT COUNT(*) FROM \"Group\"")[0][0]
    else:
        assert _last_run(tgt) == ("migrate", "interrupted")
        committed = rows(tgt, "SELECT COUNT(*) FROM bascule_group WHERE status = 'done'")[0][0]
        assert f" {committed} of {len(amap)} groups committed; run bascule migrate again to " \
               "finish" in line, line
        if phase == "started":
            assert committed == 0
        elif phase == "indexes":
            assert committed == len(amap)
        else:
            assert 0 < committed < len(amap)
        assert not api.verify(settings_for(src, tgt, tmp_path)).ok  # not proven yet
    _finish(src, tgt, tmp_path)


@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
@pytest.mark.parametrize("phase,sig,to_worker", [
    ("worker_unit", signal.SIGINT, True),   # the signal reaches a worker
    ("worker_unit", signal.SIGTERM, False),  # the parent, while a worker works
    ("shared", signal.SIGTERM, False),      # the shared-row pass
])
def test_parallel_migrate_interrupted(db_factory, tmp_path, kind, phase, sig, to_worker):
    src = make_source(db_factory("mysql"), seed=5)
    tgt = make_target(db_factory(kind), "2023")
    p, pid = _paused(_migrate_args(src, tgt, tmp_path, "--workers", "2"), phase)
    assert (pid != p.pid) == (phase == "worker_unit")
    _interrupt(p, pid if to_worker else p.pid, sig)
    if phase == "worker_unit":  # the worker is gone with its parent
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert _last_run(tgt) == ("migrate", "interrupted")
    _finish(src, tgt, tmp_path)


@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_verify_interrupted(db_factory, tmp_path, kind):
    src = make_source(db_factory("sqlite"), seed=5)
    tgt = make_target(db_factory(kind), "2023")
    s = _finish(src, tgt, tmp_path)
    args = ["verify", "--source", src, "--target", tgt, "--no-progress", "--report-dir",
            str(tmp_path / "v")]
    for phase, sig in (("verify_unit:2", signal.SIGINT), ("started", signal.SIGTERM)):
        p, pid = _paused(args, phase, BASCULE_BATCH_SIZE="40")  # units of one group
        line = _interrupt(p, pid, sig)[0]
        assert "nothing proven, nothing written; run bascule verify again" in line
        assert _last_run(tgt) == ("verify", "interrupted")
    assert subprocess.run(BASCULE + args, capture_output=True).returncode == 0
    assert api.verify(s).ok


@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_rollback_interrupted(db_factory, tmp_path, kind):
    src = make_source(db_factory("sqlite"), seed=5)
    tgt = make_target(db_factory(kind), "2023")
    _finish(src, tgt, tmp_path)
    three = sorted(amap_and_shop(src)[0])[:3]
    args = ["rollback", "--target", tgt, "--report-dir", str(tmp_path / "r"),
            *[x for g in three for x in ("--group", str(g))]]
    if "--yes" in subprocess.run(BASCULE + ["rollback", "--help"], capture_output=True,
                                 text=True).stdout:
        args.append("--yes")  # no confirmation asked (off a terminal, required since #22)
    p, pid = _paused(args, "rollback_group:2")
    line = _interrupt(p, pid, signal.SIGTERM, twice=True)[0]
    assert "1 of 3 groups removed (each whole)" in line, line
    assert "run bascule rollback again to finish" in line
    assert _last_run(tgt) == ("rollback", "interrupted")
    left = {r[0] for r in rows(tgt, "SELECT source_group_id FROM bascule_group")}
    assert three[0] not in left and {three[1], three[2]} <= left
    done = subprocess.run(BASCULE + args, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    left = {r[0] for r in rows(tgt, "SELECT source_group_id FROM bascule_group")}
    assert not left & set(three)
    _finish(src, tgt, tmp_path)
