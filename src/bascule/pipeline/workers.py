"""Worker processes for a parallel run: the units of work are spread over forked processes.

Python runs one thread at a time per process, so a run that reads, transforms and writes in
threads uses one core for its Python work. ``run_in_workers`` forks processes that take units of
work from the parent through pipes (one unit queued ahead each, so that they never wait), while
the parent may work units too; the processes stay busy whatever the size of the units. Each
worker inherits the parent's state at the fork (copy on write) and works on its own
connections.

A worker that fails unexpectedly (an exception outside the unit's own error handling, a signal)
stops the run: the parent stops the other workers and raises ``WorkerError`` with the worker's
traceback. Workers die with the parent (``PR_SET_PDEATHSIG``): a parent killed with SIGKILL
leaves no worker writing behind it, and their open transactions roll back.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, Pipe, wait
from typing import Any

log = logging.getLogger(__name__)


#: In a worker: what it inherited from the parent and must never finalize (a connection object
#: that is garbage-collected closes its socket, which is the parent's too: MySQLdb sends QUIT,
#: SQLAlchemy rolls back on check-in). The worker ends with os._exit, without finalizing.
_INHERITED: list[Any] = []


def keep_inherited(*objs: Any) -> None:
    """In a worker, before replacing the parent's engines or connections: keep them alive."""
    _INHERITED.extend(objs)


class WorkerError(Exception):
    """A worker process failed outside the handling of a unit (its traceback is the message)."""


def _die_with_parent(parent_pid: int) -> None:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the check below still catches most cases
        pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def _child(index: int, conn: Connection, parent_pid: int, setup: Callable[[int], None],
           work: Callable[[Any], Any], finish: Callable[[], Any],
           prefetch: Callable[[Any], None] | None, state: Callable[[Any], None] | None) -> None:
    code = 1
    try:
        _die_with_parent(parent_pid)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        setup(index)
        while True:
            msg = conn.recv()
            if msg is None:
                break
            kind, key, item = msg
            if kind == "prefetch":
                if prefetch is not None:
                    prefetch(item)
            elif kind == "state":
                if state is not None:
                    state(item)
            else:
                conn.send(("result", key, work(item)))
        conn.send(("final", None, finish()))
        code = 0
    except BaseException:  # noqa: BLE001 - reported to the parent, then the process ends
        try:
            conn.send(("error", None, traceback.format_exc()))
        except Exception:  # noqa: BLE001
            pass
    finally:
        try:
            sys.stderr.flush()
        finally:
            os._exit(code)  # no cleanup of the parent's inherited objects (connections, files)


def run_in_workers(n: int, items: Sequence[tuple[Any, Any]], *, setup: Callable[[int], None],
                   work: Callable[[Any], Any], finish: Callable[[], Any],
                   on_result: Callable[[Any, Any], None],
                   before: Callable[[], Any] | None = None,
                   prefetch: Callable[[Any], None] | None = None,
                   state: Callable[[Any], None] | None = None,
                   parent_work: Callable[[Any], Any] | None = None) -> list[Any]:
    """Work ``items`` (key, item) in ``n`` processes; call ``on_result(key, result)`` in the
    parent as results come; return each forked worker's ``finish()``. ``setup(i)`` runs first in
    worker i. Nothing may run in other threads of the parent while it forks.

    With ``parent_work``, the parent is one of the ``n``: it forks ``n - 1`` workers and works
    items itself with ``parent_work`` between handing out the others (each worker then has one
    item queued ahead, so that it never waits for the parent). Otherwise it forks ``n``.

    With ``before``: right after the fork each worker gets its first item to ``prefetch`` (e.g.
    read it) while the parent runs ``before()``; what that returns is given to ``state`` in
    every worker, then the items are worked as usual, each worker starting with the one it
    prefetched."""
    parent_pid = os.getpid()
    sys.stdout.flush()
    sys.stderr.flush()
    workers: dict[Connection, int] = {}
    try:
        for i in range(n - 1 if parent_work is not None else n):
            here, there = Pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child (its coverage is not collected)
                here.close()
                for c in workers:
                    c.close()
                _child(i, there, parent_pid, setup, work, finish, prefetch, state)
            there.close()
            workers[here] = pid
        if workers:
            log.info("worker processes: %s", " ".join(str(p) for p in workers.values()))
        queue = list(reversed(items))
        depth = 2 if parent_work is not None else 1
        outstanding = dict.fromkeys(workers, 0)
        stopped: set[Connection] = set()

        def feed(c: Connection) -> None:
            while outstanding[c] < depth and queue:
                _send(c, ("work", *queue.pop()))
                outstanding[c] += 1
            if not outstanding[c] and not queue and c not in stopped:
                _send(c, None)
                stopped.add(c)

        first = {c: queue.pop() for c in list(workers) if queue}
        if before is not None:
            for c, (key, item) in first.items():
                _send(c, ("prefetch", key, item))
            payload = before()
            for c in workers:
                _send(c, ("state", None, payload))
        for c in list(workers):
            if c in first:
                _send(c, ("work", *first[c]))
                outstanding[c] += 1
            feed(c)
        finals: list[Any] = []
        while workers or (parent_work is not None and queue):
            busy_here = parent_work is not None and bool(queue)
            for c in (wait(list(workers), timeout=0 if busy_here else None) if workers else []):
                pid = workers[c]
                try:
                    kind, key, payload = c.recv()
                except EOFError:
                    _, status = os.waitpid(pid, 0)
                    del workers[c]
                    raise WorkerError(f"worker process {pid} ended without a result "
                                      f"({_status_text(status)})") from None
                if kind == "result":
                    outstanding[c] -= 1
                    on_result(key, payload)
                    feed(c)
                elif kind == "final":
                    finals.append(payload)
                    os.waitpid(pid, 0)
                    c.close()
                    del workers[c]
                else:
                    os.waitpid(pid, 0)
                    del workers[c]
                    raise WorkerError(f"worker process {pid} failed:\n{payload}")
            if parent_work is not None and queue:
                key, item = queue.pop()
                on_result(key, parent_work(item))
                for c in list(workers):
                    feed(c)
        return finals
    finally:
        for c, pid in workers.items():  # stop the others (a failure, or an interrupt)
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for c, pid in workers.items():
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
            c.close()


def _send(c: Connection, msg: Any) -> None:
    """To a worker; one that has ended is found by the loop that reads its last words."""
    try:
        c.send(msg)
    except OSError:
        pass


def _status_text(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"


class Counters:
    """Next ids per table, shared by the processes of a run (a lock around each reservation)."""

    def __init__(self, start: dict[str, int]):
        import multiprocessing

        self.names = sorted(start)
        self.index = {t: i for i, t in enumerate(self.names)}
        self.values = multiprocessing.get_context("fork").Array(
            "q", [int(start[t]) for t in self.names])

    def reset(self, start: dict[str, int]) -> None:
        """Set the next ids (before any worker takes one)."""
        with self.values.get_lock():
            for t, i in self.index.items():
                self.values[i] = int(start[t])

    def take(self, table: str, n: int) -> int:
        """Reserve ``n`` consecutive ids of ``table``; the first one."""
        i = self.index[table]
        with self.values.get_lock():
            first = self.values[i]
            self.values[i] = first + n
        return first
