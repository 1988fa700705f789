"""The two consoles of the command line and the log lines on them.

The result of a verb goes to stdout, progress and logs to stderr. On a terminal both are rich
consoles of the terminal's width; piped or redirected, a console is not wrapped at 80 columns
(lines are as long as they need, tables as wide as their cells) and carries no colour.

Logs go through rich's logging handler on the stderr console, the console the progress bars
use, so that a log line appears above the bars instead of in the middle of them. Levels:
``-q`` errors only (no progress either); default warnings and the progress lines of a run off a
terminal (level PROGRESS, between INFO and WARNING); ``-v`` info; ``-vv`` debug; ``-vvv`` also
the SQL statements (SQLAlchemy's engine log).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
from typing import IO, Any

from rich.console import Console
from rich.logging import RichHandler
from rich.text import Text

#: Between INFO and WARNING: progress lines off a terminal (phases, heartbeat), shown by default.
PROGRESS = 25
logging.addLevelName(PROGRESS, "PROGRESS")

#: The width of a console that is not a terminal: no line is cut or wrapped before it.
WIDE = 10_000

_consoles: dict[int, Console] = {}


def console_for(stream: IO[str]) -> Console:
    """The console of ``stream`` (one per stream: the progress bars and the log lines share
    the stderr one)."""
    c = _consoles.get(id(stream))
    if c is None or c.file is not stream:
        c = _make(stream)
        _consoles[id(stream)] = c
    return c


def _make(stream: IO[str]) -> Console:
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    if tty:
        return Console(file=stream)
    return Console(file=stream, width=WIDE, soft_wrap=True, color_system=None,
                   force_terminal=False, highlight=False)


def out() -> Console:
    """The console of the result (stdout)."""
    return console_for(sys.stdout)


def err() -> Console:
    """The console of progress and logs (stderr)."""
    return console_for(sys.stderr)


class LogHandler(RichHandler):
    """rich's handler on the stderr console. On a terminal, rich's layout (time, level,
    message); elsewhere one plain line per record, dated, never wrapped nor padded."""

    def render(self, *, record: logging.LogRecord, traceback: Any,
               message_renderable: Any) -> Any:
        if self.console.is_terminal:
            return super().render(record=record, traceback=traceback,
                                  message_renderable=message_renderable)
        when = dt.datetime.fromtimestamp(record.created).astimezone()
        line = Text(f"{when:%Y-%m-%d %H:%M:%S%z} {record.levelname} ")
        line.append_text(message_renderable if isinstance(message_renderable, Text)
                         else Text(str(message_renderable)))
        return line


def level_of(verbose: int, quiet: int) -> int:
    if quiet:
        return logging.ERROR
    return {0: PROGRESS, 1: logging.INFO}.get(verbose, logging.DEBUG)


def setup_logging(verbose: int = 0, quiet: int = 0) -> None:
    """One handler on the root logger, on the stderr console, at the level of -v/-q."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if isinstance(h, LogHandler):
            root.removeHandler(h)
    h = LogHandler(console=err(), show_path=False, markup=False, rich_tracebacks=False,
                   log_time_format="[%X]")
    h.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(h)
    root.setLevel(level_of(verbose, quiet))
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)  # its pool's debug lines too
    logging.getLogger("sqlalchemy.engine").setLevel(
        logging.INFO if verbose >= 3 and not quiet else logging.WARNING)


def _after_fork_in_child() -> None:
    """A forked worker logs on a console of its own: the parent's may have been locked by its
    progress display's thread at the instant of the fork."""
    _consoles.clear()
    for h in logging.getLogger().handlers:
        if isinstance(h, LogHandler):
            h.console = err()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
