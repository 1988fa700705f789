"""Worker processes for a parallel run: the units of work are spread over forked processes.

Python runs one thread at a time per process, so a run that reads, transforms and writes in
threads uses one core for its Python work. ``run_steps`` forks processes that take units of work
from the parent through pipes (units queued ahead, so that they never wait), while the parent
works units too; the processes stay busy whatever the size of the units. Each worker inherits
the parent's state at the fork (copy on write) and works on its own connections.

What a command does in the processes is a :class:`UnitStep`, implemented once by migrate and
once by verify:

1. right after the fork each worker ``prefetch``es (reads) its first unit while the parent runs
   ``before`` (the shared rows); ``before`` may hand part of its work to the workers
   (``Side``: each worker runs ``side`` on its share while the parent does its own); what
   ``before`` returns goes to every worker's ``take_state``;
2. every process ``work``s units; the parent gets each result in ``on_result``;
3. each worker's ``partial`` (its counts, notes, timings) comes back to the parent's ``merge``.

A worker that fails unexpectedly (an exception outside the unit's own error handling) stops the
run: the parent stops the other workers and raises ``WorkerError`` with the worker's traceback.
A SIGINT or SIGTERM sent to a worker goes to the parent (``bascule.signals``), which stops the
run as for its own. Workers die with the parent (``PR_SET_PDEATHSIG``): a parent killed with SIGKILL
leaves no worker writing behind it, and their open transactions roll back.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, Pipe, wait
from typing import Any, Protocol

from bascule import signals
from bascule.errors import MigrationError

log = logging.getLogger(__name__)

#: In a worker: what it inherited from the parent and must never finalize (a connection object
#: that is garbage-collected closes its socket, which is the parent's too: MySQLdb sends QUIT,
#: SQLAlchemy rolls back on check-in). The worker ends with os._exit, without finalizing.
_INHERITED: list[Any] = []


def keep_inherited(*objs: Any) -> None:
    """In a worker, before replacing the parent's engines or connections: keep them alive."""
    _INHERITED.extend(objs)


class WorkerError(Exception):
    """A worker process failed outside the handling of a unit: the message is its last line,
    ``worker_traceback`` the worker's stack (the CLI shows it with --traceback)."""

    def __init__(self, message: str, worker_traceback: str | None = None) -> None:
        super().__init__(message)
        self.worker_traceback = worker_traceback


#: ``side(mine, theirs)``: the parent runs ``mine()`` while worker i runs ``step.side(theirs[i])``
#: (one share per worker, at most); returns (what ``mine`` returned, the workers' results).
Side = Callable[[Callable[[], Any], Sequence[Any]], tuple[Any, list[Any]]]


class UnitStep(Protocol):
    """What a command does in the processes of a parallel run (see the module docstring).
    Units are numbered from 1."""

    def before(self, side: Side) -> Any: ...  # parent, while the workers prefetch

    def side(self, share: Any) -> Any: ...  # worker: its share of ``before``'s work

    def prefetch(self, n: int) -> None: ...  # worker: read unit n ahead

    def take_state(self, payload: Any) -> None: ...  # worker: what ``before`` returned

    def setup(self, index: int) -> None: ...  # worker ``index``, right after the fork

    def work(self, n: int) -> Any: ...  # any process

    def partial(self) -> Any: ...  # worker: what it has to add to the parent's report

    def on_result(self, n: int, result: Any) -> None: ...  # parent

    def merge(self, partials: list[Any]) -> None: ...  # parent, once every worker is done


def _libc_trim():
    try:
        return ctypes.CDLL(None).malloc_trim  # glibc
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _libc_trim()


def give_back_memory() -> None:
    """Return the C heap's free pages to the system (glibc's ``malloc_trim``). A unit's rows
    are freed when it is done, but the heap keeps their pages, and a process's peak then stays
    at that of its largest unit plus what fragmentation pins; between units it costs a few
    milliseconds."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _die_with_parent(parent_pid: int) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the check below still catches most cases
        pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def _child(index: int, conn: Connection, parent_pid: int, step: UnitStep) -> None:
    code = 1
    try:
        _die_with_parent(parent_pid)
        signals.worker(parent_pid)  # a signal goes to the parent, which kills the workers
        step.setup(index)
        while True:
            msg = conn.recv()
            if msg is None:
                break
            kind, arg = msg  # prefetch: unit, side: share, state: payload, work: unit
            if kind == "prefetch":
                step.prefetch(arg)
            elif kind == "side":
                conn.send(("side", None, step.side(arg)))
            elif kind == "state":
                step.take_state(arg)
            else:
                signals.pause("worker_unit")
                result = step.work(arg)
                give_back_memory()
                conn.send(("result", arg, result))
        conn.send(("final", None, step.partial()))
        code = 0
    except BaseException as e:  # noqa: BLE001 - reported to the parent, then the process ends
        try:  # bascule's own error goes as it is: the parent raises it (one line, its exit code)
            conn.send(("error", None, (traceback.format_exc(),
                                       e if isinstance(e, MigrationError) else None)))
        except Exception:  # noqa: BLE001
            pass
    finally:
        try:
            sys.stderr.flush()
        finally:
            os._exit(code)  # no cleanup of the parent's inherited objects (connections, files)


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


class _Pool:
    """The parent's side: ``n - 1`` forked workers, the parent being the n-th. Each worker has
    two units queued ahead, so that it never waits for the parent's own unit."""

    DEPTH = 2

    def __init__(self, n: int, units: Sequence[int], step: UnitStep):
        self.step = step
        self.queue = list(reversed(units))
        self.workers: dict[Connection, int] = {}
        self.outstanding: dict[Connection, int] = {}
        self.stopped: set[Connection] = set()
        self.partials: list[Any] = []
        self.sides: dict[Connection, Any] = {}
        self._fork(n - 1)

    def _fork(self, count: int) -> None:
        parent_pid = os.getpid()
        sys.stdout.flush()
        sys.stderr.flush()
        for i in range(count):
            here, there = Pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child (its coverage is not collected)
                here.close()
                for c in self.workers:
                    c.close()
                _child(i, there, parent_pid, self.step)
            there.close()
            self.workers[here] = pid
            self.outstanding[here] = 0
        if self.workers:
            log.info("worker processes: %s", " ".join(str(p) for p in self.workers.values()))

    def feed(self, c: Connection) -> None:
        while self.outstanding[c] < self.DEPTH and self.queue:
            _send(c, ("work", self.queue.pop()))
            self.outstanding[c] += 1
        if not self.outstanding[c] and not self.queue and c not in self.stopped:
            _send(c, None)
            self.stopped.add(c)

    def start(self) -> None:
        """Each worker prefetches its first unit while the parent runs ``before``."""
        first = {c: self.queue.pop() for c in list(self.workers) if self.queue}
        for c, n in first.items():
            _send(c, ("prefetch", n))
        payload = self.step.before(self.side_by_side)
        give_back_memory()
        for c in self.workers:
            _send(c, ("state", payload))
        for c in list(self.workers):
            if c in first:
                _send(c, ("work", first[c]))
                self.outstanding[c] += 1
            self.feed(c)

    def _receive(self, c: Connection) -> None:
        pid = self.workers[c]
        try:
            kind, n, payload = c.recv()
        except EOFError:
            _, status = os.waitpid(pid, 0)
            del self.workers[c]
            raise WorkerError(f"worker process {pid} ended without a result "
                              f"({_status_text(status)})") from None
        if kind == "side":
            self.sides[c] = payload
            return
        if kind == "result":
            self.outstanding[c] -= 1
            self.step.on_result(n, payload)
            self.feed(c)
            return
        os.waitpid(pid, 0)
        del self.workers[c]
        if kind != "final":
            text, err = payload
            if err is not None:
                log.debug("worker process %s failed:\n%s", pid, text)
                raise err
            last = (text.strip().splitlines() or ["?"])[-1]
            raise WorkerError(f"worker process {pid} failed: {last}", worker_traceback=text)
        self.partials.append(payload)
        c.close()

    def side_by_side(self, mine: Callable[[], Any], theirs: Sequence[Any]
                     ) -> tuple[Any, list[Any]]:
        """See ``Side``. A worker that fails meanwhile raises here, as in ``loop``."""
        conns = list(self.workers)[:len(theirs)]
        for c, share in zip(conns, theirs):
            _send(c, ("side", share))
        out = mine()
        while any(c not in self.sides for c in conns):
            for c in wait([c for c in conns if c not in self.sides]):
                self._receive(c)
            signals.check()
        return out, [self.sides.pop(c) for c in conns]

    def loop(self) -> None:
        while self.workers or self.queue:
            busy_here = bool(self.queue)
            if self.workers:
                for c in wait(list(self.workers), timeout=0 if busy_here else None):
                    self._receive(c)
            signals.check()
            if self.queue:
                n = self.queue.pop()
                self.step.on_result(n, self.step.work(n))
                give_back_memory()
                for c in list(self.workers):
                    self.feed(c)

    def stop(self) -> None:
        """Stop the workers still running (a failure, or an interrupt): killed, their open
        transactions roll back (a worker forwards SIGTERM and SIGINT to the parent)."""
        for c, pid in self.workers.items():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for c, pid in self.workers.items():
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
            c.close()


def run_steps(n: int, units: int, step: UnitStep) -> None:
    """Work units 1..``units`` in ``n`` processes (this one and ``n - 1`` forked ones), then
    merge the workers' partials. Nothing may run in other threads of the parent while it forks."""
    pool = _Pool(n, range(1, units + 1), step)
    try:
        pool.start()
        pool.loop()
    finally:
        pool.stop()
    step.merge(pool.partials)


class Counters:
    """Next ids per table, shared by the processes of a run (a lock around each reservation)."""

    def __init__(self, start: dict[str, int]):
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
