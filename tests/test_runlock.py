"""One run at a time in a target: a second migrate, verify or rollback refuses in one line naming
the run that holds the target's lock (run id, host, process, start), or waits for it; a run
whose process was killed is marked interrupted by the next one."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import threading

import pytest

from bascule import api
from bascule.errors import CannotProceed, SettingsError

from faults import BASCULE
from helpers import amap_and_shop, make_source, make_target, rows, settings_for


def _paused_migrate(src: str, tgt: str, tmp_path) -> subprocess.Popen:
    """``bascule migrate`` in another process, paused with its first unit written and not
    committed (it holds the run lock)."""
    env = dict(os.environ, BASCULE_TEST_PAUSE_BEFORE_COMMIT="1")
    p = subprocess.Popen(BASCULE + ["-v", "migrate", "--source", src, "--target", tgt,
                                    "--workers", "1", "--no-progress", "--report-dir",
                                    str(tmp_path / "out1")],
                         stdin=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, env=env, text=True)
    assert p.stderr is not None
    for line in p.stderr:
        if "not committed" in line:
            return p
    p.wait()
    raise AssertionError(f"the first run ended before pausing (exit {p.returncode})")


class _Waiting(logging.Handler):
    """Set when a run says that it waits for the lock."""

    def __init__(self) -> None:
        super().__init__()
        self.event = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "waiting for the target's run lock" in record.getMessage():
            self.event.set()


@pytest.mark.parametrize("target_kind", ["mysql", "postgresql", "sqlite"])
def test_a_second_run_refuses_then_waits(db_factory, tmp_path, target_kind):
    src = make_source(db_factory("mysql"), seed=8)
    tgt = make_target(db_factory(target_kind), "2023")
    s = settings_for(src, tgt, tmp_path)
    group = sorted(amap_and_shop(src)[0])[0]
    first = _paused_migrate(src, tgt, tmp_path)
    try:
        run_id, started = rows(tgt, "SELECT id, started_at FROM bascule_run WHERE "
                                    "status = 'running'")[0]
        for call in (lambda: api.migrate(s), lambda: api.verify(s),
                     lambda: api.rollback(s, groups=[group])):
            with pytest.raises(CannotProceed) as e:
                call()
            msg = str(e.value)
            assert f"run {run_id} (migrate, source app.cagette.net)" in msg, msg
            assert f"host {socket.gethostname()}, process {first.pid}" in msg
            assert str(started)[:16] in msg and "\n" not in msg
        # plan and a dry-run rollback take no lock
        assert api.plan(s) is not None
        with pytest.raises(SettingsError, match=f"group {group} was never moved"):
            api.rollback(s, groups=[group], dry_run=True)  # not committed yet: not moved
        # --wait: the second run starts when the first one ends
        waiting = _Waiting()
        logging.getLogger("bascule").addHandler(waiting)
        result: dict = {}
        t = threading.Thread(target=lambda: result.update(rep=api.migrate(s, wait=True)))
        try:
            t.start()
            assert waiting.event.wait(timeout=300)
            assert first.stdin is not None
            first.stdin.write("\n")
            first.stdin.flush()
            assert first.wait() == 0
            t.join()
        finally:
            logging.getLogger("bascule").removeHandler(waiting)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert result["rep"].ok
    assert rows(tgt, "SELECT command, status FROM bascule_run ORDER BY id") == [
        ("migrate", "done"), ("migrate", "done")]
    assert api.verify(s).ok


@pytest.mark.parametrize("target_kind", ["mysql", "postgresql"])
def test_a_killed_run_is_marked_interrupted(db_factory, tmp_path, target_kind):
    src = make_source(db_factory("mysql"), seed=8)
    tgt = make_target(db_factory(target_kind), "2023")
    s = settings_for(src, tgt, tmp_path)
    first = _paused_migrate(src, tgt, tmp_path)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert rows(tgt, "SELECT status FROM bascule_run") == [("running",)]
    rep = api.migrate(s)  # its process is gone: the next run waits for the server, if need be
    assert rep.ok
    assert rows(tgt, "SELECT id, status FROM bascule_run ORDER BY id") == [
        (1, "interrupted"), (rep.run_id, "done")]
    assert [r["status"] for r in api.runs(s)] == ["interrupted", "done"]
    assert api.verify(s).ok
