"""One run at a time in a target: the database's own advisory lock.

``migrate``, ``verify`` and ``rollback`` (not their dry runs: ``plan``, ``rollback --dry-run``)
hold the target's run lock from before they read what the target holds until their run row is
closed: ``GET_LOCK`` on MariaDB/MySQL, ``pg_advisory_lock`` on PostgreSQL, an exclusive
``flock`` beside a SQLite file (``Dialect.take_run_lock``). The lock is the target's, whatever
the source: two sources moving into one target allocate ids in the same tables, one after the
other.

A second run refuses at once, in one line naming the run that holds the lock (its run id,
command, source, host, process and start, from its ``bascule_run`` row), or waits for it
(``wait``, the ``--wait`` flag). The server (or the kernel, for a file) releases the lock when
the process that holds it ends, however it ends: the next run to take it marks the runs still
``running`` ``interrupted`` (``load.runlog.interrupt_dead``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine

from bascule.errors import CannotProceed
from bascule.load.dialects import dialect_for
from bascule.load.runlog import running, this_process

log = logging.getLogger(__name__)


def _running(engine: Engine) -> list[dict]:
    try:
        with engine.connect() as conn:
            return running(conn)
    except Exception:  # noqa: BLE001 - the lock's holder is named as well as can be
        return []


def holder(engine: Engine, rows: list[dict] | None = None) -> str:
    """The run that holds the lock, in words (its ``bascule_run`` row)."""
    rows = _running(engine) if rows is None else rows
    if not rows:
        return ("a bascule run that has not recorded itself in bascule_run yet (it is "
                "starting)")
    r = rows[0]
    source = f", source {r['source']}" if r.get("source") else ""
    where = f" on host {r['host']}, process {r['pid']}" if r.get("host") else ""
    return f"run {r['id']} ({r['command']}{source}){where}, started {r['started']}"


@contextmanager
def run_lock(engine: Engine, *, wait: bool = False, enabled: bool = True) -> Iterator[None]:
    """Hold the target's run lock for the ``with`` block (see the module docstring); nothing
    when not ``enabled``. Raises CannotProceed naming the holder, unless ``wait`` (then the
    lock is waited for, and said so), or unless the holder's process is known to be gone (it
    ran on this host: the server releases its lock in a moment)."""
    if not enabled:
        yield
        return
    dialect = dialect_for(engine)
    release = dialect.take_run_lock(engine, wait=False)
    if release is None:
        rows = _running(engine)
        who = holder(engine, rows)
        if rows and _gone(rows[0]):
            # killed a moment ago: its server has not ended its session yet
            log.warning("the target's run lock is held by %s, whose process is gone: waiting "
                        "for the server to release it", who)
            wait = True
        if not wait:
            raise CannotProceed(f"another bascule run holds the target: {who}; wait for it to "
                                "end (or pass --wait)")
        log.warning("waiting for the target's run lock, held by %s", who)
        release = dialect.take_run_lock(engine, wait=True)
        if release is None:
            raise CannotProceed(f"the target's run lock was not given within the wait: held by "
                                f"{holder(engine)}")
    try:
        yield
    finally:
        release()


def _gone(row: dict) -> bool:
    """Whether the process of a run row is known to be gone: it ran on this host and no
    process has its id any more."""
    if row.get("host") != this_process()["host"] or not row.get("pid"):
        return False
    try:
        os.kill(int(row["pid"]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process: alive
        return False
    return False
