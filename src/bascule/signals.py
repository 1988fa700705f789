"""SIGINT and SIGTERM during a run: stop, say what was committed, exit 130 / 143.

The command line installs ``handled()`` around ``migrate``, ``verify`` and ``rollback``. The
first signal raises :class:`Interrupted` (a ``KeyboardInterrupt``) in the main thread, wherever
it is: the run unwinds through its ``finally`` blocks (a write in flight finishes or rolls back,
the worker processes are killed, their transactions roll back), closes its ``bascule_run`` row
``interrupted`` and sets ``Interrupted.detail`` (what was committed); the command line prints
that one line and exits 130 (SIGINT) or 143 (SIGTERM). Every later signal is only recorded, so
that nothing interrupts the cleanup and a second Ctrl-C changes nothing. A signal that some code
swallowed is raised again at the next unit boundary (``check``).

In a worker process of a parallel run (``worker``) a signal is forwarded to the parent, which
decides; the parent stops its workers with SIGKILL.

The test hook: ``BASCULE_TEST_PAUSE=<phase>[:<n>][,<phase>...]`` makes the process print
``bascule-pause: <phase> (process <pid>)`` on stderr the n-th time (default: first) it reaches
``pause(<phase>)``, and block there until a signal comes (a worker blocks until it is killed).
The phases are listed in ``PHASES``.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from bascule.errors import EXIT_SIGINT, EXIT_SIGTERM

#: The signals a run handles, and the exit code of each.
EXIT_CODES = {signal.SIGINT: EXIT_SIGINT, signal.SIGTERM: EXIT_SIGTERM}

PAUSE_ENV = "BASCULE_TEST_PAUSE"
#: Where ``BASCULE_TEST_PAUSE`` can stop a run (see DEVELOPERS.md).
PHASES = {
    "inspected": "source and target inspected, before the run lock (migrate, verify)",
    "started": "the run row opened, nothing written yet (migrate, verify)",
    "shared": "the shared-row pass (users, vendors, files), before it writes (migrate)",
    "committed": "unit n committed, the next not yet (migrate, in the process that wrote it)",
    "worker_unit": "a worker process about to do unit n of its own (migrate, verify)",
    "indexes": "the units done, before the indexes are built again (migrate)",
    "verify_unit": "verify about to compare its n-th unit (in the process that compares it)",
    "rollback_group": "rollback about to remove its n-th group (in its transaction's turn)",
}


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal; ``detail`` says what it had committed."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.detail: str | None = None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(signal.Signals(self.signum), 128 + self.signum)


_received: list[int] = []  # the signals received, first first (the handler takes no lock:
#                             a second signal may come while it runs)
_tick = threading.Event()  # never set: timed waits
_parent: int | None = None  # in a worker process: the parent's pid
_paused: dict[str, int] = {}


def _handler(signum: int, _frame) -> None:
    _received.append(signum)
    if _parent is not None:  # a worker: the parent decides (it kills the workers)
        if len(_received) == 1:
            try:
                os.kill(_parent, signum)
            except ProcessLookupError:
                pass
        return
    if len(_received) == 1:
        raise Interrupted(signum)


#: How long the watcher lets the main thread take a signal before it delivers it again.
KICK_SECONDS = 0.05


def _watch(fd: int, main: int) -> None:
    """The watcher thread: Python writes the number of every signal to the wakeup ``fd``,
    whichever thread the kernel delivered it to; only the main thread runs Python's handlers,
    and a main thread that was entering a blocking wait (a lock: a unit's write, a future) as
    the signal came, or whose signal went to another thread, would wait for ever. Until the
    handler has run, the signal is sent again to the main thread (``pthread_kill``): its wait
    is interrupted and the handler runs."""
    signal.pthread_sigmask(signal.SIG_BLOCK, set(EXIT_CODES))
    try:
        while data := os.read(fd, 64):
            for signum in data:
                while signum in EXIT_CODES and not _tick.wait(KICK_SECONDS) \
                        and not _received:
                    signal.pthread_kill(main, signum)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def handled() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`Interrupted` (once) in the main thread during the
    block (see ``_watch``: never lost). Once a signal came, the handlers stay: a later signal
    during the exit is only recorded. Nothing outside the main thread (signals are its)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _handler) for s in EXIT_CODES}
    r, w = os.pipe()
    os.set_blocking(w, False)
    old_fd = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
    threading.Thread(target=_watch, args=(r, threading.main_thread().ident),
                     name="bascule-signals", daemon=True).start()
    try:
        yield
    finally:
        if not _received:
            signal.set_wakeup_fd(old_fd)
            os.close(w)  # the watcher's read ends
            for s, h in previous.items():
                signal.signal(s, h)


def received() -> int | None:
    """The first signal received since ``handled()`` began (None: none)."""
    return _received[0] if _received else None


def interrupted(e: BaseException | None) -> Interrupted | None:
    """The Interrupted that ``e`` is, or that it was raised while handling."""
    seen = set()
    while e is not None and id(e) not in seen:
        if isinstance(e, Interrupted):
            return e
        seen.add(id(e))
        e = e.__context__
    return None


def stopping(e: BaseException | None) -> bool:
    """Whether ``e`` ends a run stopped by Ctrl-C or a signal: a KeyboardInterrupt, or any
    error raised while one was handled (a layer that translates errors may have wrapped it),
    or any error after a signal came."""
    return isinstance(e, KeyboardInterrupt) or interrupted(e) is not None or bool(_received)


def check() -> None:
    """At a unit boundary: a signal received whose Interrupted was swallowed is raised again."""
    if _received and _parent is None and signal.getsignal(signal.SIGINT) is _handler:
        raise Interrupted(_received[0])


def worker(parent_pid: int) -> None:
    """In a forked worker process: signals go to the parent, which stops the workers."""
    global _parent
    _parent = parent_pid
    _received.clear()
    try:  # the parent's watcher thread is not in this process
        signal.set_wakeup_fd(-1)
    except ValueError:  # not the main thread
        pass
    for s in EXIT_CODES:
        signal.signal(s, _handler)


def pause(phase: str) -> None:
    """The test hook (see the module docstring); nothing unless ``BASCULE_TEST_PAUSE`` names
    this phase."""
    spec = os.environ.get(PAUSE_ENV)
    if not spec:
        return
    for item in spec.split(","):
        name, _, nth = item.strip().partition(":")
        if name != phase:
            continue
        seen = _paused[phase] = _paused.get(phase, 0) + 1
        if seen != int(nth or 1):
            continue
        print(f"bascule-pause: {phase} (process {os.getpid()})", file=sys.stderr, flush=True)
        # the main thread leaves by the handler's Interrupted (or Python's default handlers),
        # another thread once a signal came; a worker waits until the parent kills it. Timed
        # waits: a handler runs (a worker forwards its signal) even if the signal came as the
        # wait began
        while _parent is not None or not _received:
            _tick.wait(KICK_SECONDS)
        return
