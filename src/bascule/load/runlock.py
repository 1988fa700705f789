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
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine

from bascule.errors import CannotProceed
from bascule.load.dialects import dialect_for
from bascule.load.runlog import running

log = logging.getLogger(__name__)


def holder(engine: Engine) -> str:
    """The run that holds the lock, in words (its ``bascule_run`` row)."""
    try:
        with engine.connect() as conn:
            rows = running(conn)
    except Exception:  # noqa: BLE001 - the lock's holder is named as well as can be
        rows = []
    if not rows:
        return ("a bascule run that has not recorded itself in bascule_run yet (it is "
                "starting)")
    r = rows[0]
    source = f", source {r['source']}" if r.get("source") else ""
    where = f" on host {r['host']}, process {r['pid']}" if r.get("host") else ""
    return f"run {r['id']} ({r['command']}{source}){where}, started {r['started']}"


@contextmanager
def run_lock(engine: Engine, *, wait: bool = False, enabled: bool = True,
             on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the target's run lock for the ``with`` block (see the module docstring); nothing
    when not ``enabled``. Raises CannotProceed naming the holder, unless ``wait``: then
    ``on_wait(holder)`` is called (and logged) and the lock waited for."""
    if not enabled:
        yield
        return
    dialect = dialect_for(engine)
    release = dialect.take_run_lock(engine, wait=False)
    if release is None:
        who = holder(engine)
        if not wait:
            raise CannotProceed(f"another bascule run holds the target: {who}; wait for it to "
                                "end (or pass --wait)")
        log.warning("waiting for the target's run lock, held by %s", who)
        if on_wait is not None:
            on_wait(who)
        release = dialect.take_run_lock(engine, wait=True)
        if release is None:
            raise CannotProceed(f"the target's run lock was not given within the wait: held by "
                                f"{holder(engine)}")
    try:
        yield
    finally:
        release()
