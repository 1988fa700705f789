"""SIGINT and SIGTERM during ``migrate``, ``verify`` and ``rollback``: one line on stderr saying
what was committed, exit 130 / 143 (``bascule.signals``), never a traceback."""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from bascule import api
from bascule.errors import EXIT_SIGINT, EXIT_SIGTERM


class _Quiet(logging.Filter):
    """Once a signal came, the log is silent: the cleanup's complaints (a connection
    interrupted mid-query that cannot be reset) are not the user's business; the one line
    is."""

    def filter(self, record: logging.LogRecord) -> bool:
        return api.received() is None


def interruptible(verb: str) -> Callable:
    """Decorate a verb's callback: the run's signals handled, an interrupt ends the process
    with one line and the signal's exit code."""
    def wrap(f: Callable) -> Callable:
        @functools.wraps(f)
        def run(*args: Any, **kwargs: Any) -> Any:
            quiet = _Quiet()
            handlers = [*logging.getLogger().handlers, logging.lastResort]
            for h in handlers:
                if h is not None:
                    h.addFilter(quiet)
            try:
                with api.handled():
                    try:
                        result = f(*args, **kwargs)
                    except BaseException as e:  # noqa: BLE001 - a signal decides the exit
                        if api.received() is None:
                            raise
                        _exit(verb, api.interrupted(e))
                    if api.received() is not None:  # came as the run ended: its end stands
                        _exit(verb, None, "the run had ended")
                    return result
            finally:
                for h in handlers:
                    if h is not None:
                        h.removeFilter(quiet)
        return run
    return wrap


def _exit(verb: str, e: api.Interrupted | None, ended: str | None = None) -> None:
    signum = api.received()
    assert signum is not None
    name = signal.Signals(signum).name
    detail = (e.detail if e is not None else None) or ended or \
        f"stopped before anything was written; run bascule {verb} again"
    try:
        sys.stdout.flush()
    except Exception:  # noqa: BLE001
        pass
    try:
        sys.stderr.write(f"interrupted by {name}: {detail}\n")
        sys.stderr.flush()
    finally:
        # threads still reading (a source query) are not waited for; the servers roll back
        # what was not committed
        os._exit(EXIT_SIGINT if signum == signal.SIGINT else EXIT_SIGTERM)
