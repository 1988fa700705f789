"""The one place where a database error becomes one of bascule's errors (``bascule.errors``).

Every engine bascule makes (``dbutil.make_engine``, ``extract.drivers.source_engine``) is
``watch``ed for its side (``source`` or ``target``): a connection that cannot be opened (the
server unreachable or unknown, access refused, the database missing, a server limit, a driver
that is not installed) or that is lost in the middle of a run becomes a ``CannotProceed`` whose
message is one line: the side, its URL with the password masked, the server's own message and
what to do. ``translate`` does the same for any error that reaches the command line.

A transient refusal when connecting (MySQL's ``Too many connections``, a user's
``max_user_connections``, PostgreSQL's ``too many clients`` or ``the database system is starting
up``, a refused connection while a server restarts) is tried again: ``ConnectRetry`` (settings
``connect_tries``, default 3 attempts in all, and ``connect_pause``, 1 s before the second
attempt, doubled before each next one).
"""

from __future__ import annotations

import logging
import re
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Engine, make_url

from bascule.config import safe_url
from bascule.errors import CannotProceed, MigrationError, SettingsError

log = logging.getLogger(__name__)

#: What a setting is called on each side (in the messages: what to fix).
SETTING = {"source": "source_url", "target": "target_url"}

#: MySQL/MariaDB error codes, by what they mean to a person.
MYSQL_ACCESS = {1044, 1045, 1698, 1227, 1142, 1143}
MYSQL_NO_DATABASE = {1049}
MYSQL_LIMIT = {1040, 1203, 1226}
MYSQL_UNREACHABLE = {2002, 2003, 2005, 2059}
MYSQL_LOST = {2006, 2013, 2055, 1053, 1927, 4031}

#: Words of PostgreSQL's (libpq's) messages, which often come without an SQLSTATE on connect.
PG_ACCESS = ("password authentication failed", "no password supplied", "role \"",
             "permission denied", "no pg_hba.conf entry", "authentication failed")
PG_LIMIT = ("too many clients", "remaining connection slots are reserved",
            "too many connections")
PG_STARTING = ("the database system is starting up", "the database system is shutting down",
               "the database system is in recovery mode", "the database system is not yet "
               "accepting connections")
PG_UNREACHABLE = ("connection refused", "could not translate host name", "name or service not "
                  "known", "no route to host", "timeout expired", "could not connect",
                  "network is unreachable", "nodename nor servname")
PG_LOST = ("server closed the connection unexpectedly", "terminating connection",
           "consuming input failed", "the connection is closed", "connection already closed",
           "ssl connection has been closed unexpectedly", "connection is lost",
           "connection lost")

#: What to do, by kind of error. ``{setting}``: source_url or target_url.
TODO = {
    "access": "check the user and password of {setting} (and that user's rights on the database)",
    "unreachable": "check the host and port of {setting} and that the server is running",
    "no-database": "check the database name in {setting}, or create it",
    "limit": "the server's connection limit is reached: stop other clients, raise its "
             "max_connections (or the user's max_user_connections), or lower the setting workers",
    "starting": "the server is starting or stopping: run the same command again once it is up",
    "lost": "the connection was lost (the server restarted, or the connection was killed): "
            "run the same command again (each group is committed whole or not at all)",
    "driver": "install it (pip install bascule's dependencies) or name another driver in "
              "{setting} (mysql+pymysql://, postgresql+psycopg://)",
    "other": "check {setting} and the server",
}
WHAT = {
    "access": "access refused",
    "unreachable": "cannot reach the server",
    "no-database": "no such database",
    "limit": "the server refused the connection (limit)",
    "starting": "the server is not ready",
    "lost": "connection lost",
    "driver": "driver not installed",
    "other": "database error",
}
def masked(url: str | URL | None) -> str:
    """``url`` with its password replaced by ``***`` (never raises, never shows it)."""
    return "?" if url is None else safe_url(url if isinstance(url, str) else
                                            url.render_as_string(hide_password=True)) or "?"


def _password(url: str | URL | None) -> str | None:
    try:
        return make_url(url).password if url is not None else None
    except Exception:
        return None


def driver_error(exc: BaseException) -> BaseException:
    """The driver's own exception under SQLAlchemy's wrapper (or ``exc``)."""
    seen: set[int] = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        inner = getattr(exc, "orig", None)
        if isinstance(inner, BaseException):
            exc = inner
            continue
        break
    return exc


def server_message(exc: BaseException, url: str | URL | None = None) -> str:
    """The server's (or driver's) own message, on one line and without the password."""
    orig = driver_error(exc)
    args = getattr(orig, "args", ())
    if len(args) >= 2 and isinstance(args[0], int):  # MySQL: (code, message)
        msg = f"{args[1]} ({args[0]})"
    else:
        msg = str(orig)
    msg = re.sub(r"\(Background on this error at:[^)]*\)", "", msg)
    msg = re.sub(r"^connection failed: ", "", msg.strip())
    msg = "; ".join(line.strip() for line in msg.splitlines() if line.strip())
    msg = re.sub(r"\s+", " ", msg)
    pw = _password(url)
    if pw:
        msg = msg.replace(pw, "***")
    return msg


#: The modules of the drivers' own exceptions (raised by the bulk writers' raw cursors).
DRIVER_MODULES = ("pymysql", "MySQLdb", "psycopg", "sqlite3", "_sqlite3")


def is_database_error(exc: BaseException) -> bool:
    """An error of SQLAlchemy or of a database driver."""
    return isinstance(exc, sa_exc.SQLAlchemyError) or \
        type(exc).__module__.split(".")[0] in DRIVER_MODULES


def kind_of(exc: BaseException) -> str:
    """What a database error means to a person: access, unreachable, no-database, limit,
    starting, lost, driver, other."""
    if isinstance(exc, (ImportError, sa_exc.NoSuchModuleError)):
        return "driver"
    orig = driver_error(exc)
    args = getattr(orig, "args", ())
    code = args[0] if args and isinstance(args[0], int) else None
    if code is not None:
        for kind, codes in (("access", MYSQL_ACCESS), ("no-database", MYSQL_NO_DATABASE),
                            ("limit", MYSQL_LIMIT), ("unreachable", MYSQL_UNREACHABLE),
                            ("lost", MYSQL_LOST)):
            if code in codes:
                return kind
    text = str(orig).lower()
    state = getattr(orig, "sqlstate", None)
    if state == "53300" or any(w in text for w in PG_LIMIT):
        return "limit"
    if state == "57P03" or any(w in text for w in PG_STARTING):
        return "starting"
    if state in ("28P01", "28000", "42501") or any(w in text for w in PG_ACCESS):
        return "access"
    if state == "3D000" or ("database \"" in text and "does not exist" in text):
        return "no-database"
    if state in ("57P01", "57P02") or any(w in text for w in PG_LOST):
        return "lost"
    if any(w in text for w in PG_UNREACHABLE):
        return "unreachable"
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return "lost"
    return "other"


def is_transient_connect(exc: BaseException) -> bool:
    """A refusal worth trying again when connecting: a server limit, a server starting up or
    stopping, a refused connection (a server restarting)."""
    kind = kind_of(exc)
    if kind in ("limit", "starting"):
        return True
    if kind == "unreachable":
        orig = driver_error(exc)
        args = getattr(orig, "args", ())
        if args and args[0] in (2002, 2003):  # MySQL: cannot connect (not an unknown host)
            return "unknown" not in str(orig).lower()
        return "refused" in str(orig).lower()
    return False


def translate(exc: BaseException, side: str | None = None, url: str | URL | None = None
              ) -> MigrationError:
    """``exc`` (SQLAlchemy's, the driver's, a missing driver) as a bascule error whose message
    is one line: the side and its masked URL, what happened, the server's message, what to
    do. A MigrationError is returned as it is."""
    if isinstance(exc, MigrationError):
        return exc
    if side is None and url is None:  # an engine's error that was not translated on the spot
        side, url = getattr(exc, "bascule_where", (None, None))
    where = f"{side} {masked(url)}" if side else masked(url) if url is not None else "database"
    setting = SETTING.get(side or "", "the URL")
    if isinstance(exc, sa_exc.ArgumentError) and not isinstance(exc, sa_exc.NoSuchModuleError):
        return SettingsError(f"{where}: not a database URL bascule can use: {server_message(exc)};"
                             f" check {setting}")
    kind = kind_of(exc)
    if kind == "driver" and isinstance(exc, sa_exc.NoSuchModuleError):
        return SettingsError(f"{where}: unknown driver ({server_message(exc)}): "
                             f"{url_advice(url)}")
    return CannotProceed(f"{where}: {WHAT[kind]}: {server_message(exc, url)}; "
                         + TODO[kind].format(setting=setting))


def nothing_migrated(url: str | URL | None) -> CannotProceed:
    """The error of a verb that reads what migrate wrote (verify, rollback, redirects,
    producers), on a target bascule never wrote into."""
    return CannotProceed(f"target {masked(url)}: nothing was migrated into this target yet (no "
                         "bascule tables): run bascule migrate first")


def url_advice(url: str | URL | None) -> str:
    """What to write instead of a URL whose dialect or driver SQLAlchemy does not know."""
    text = str(url or "")
    scheme = text.split(":", 1)[0].lower()
    backend = scheme.split("+", 1)[0]
    if backend in ("postgres", "postgresql", "pg", "pgsql"):
        return "use postgresql+psycopg://user:password@host:5432/database"
    if backend in ("mysql", "mariadb"):
        return f"use {backend}+pymysql://user:password@host:3306/database"
    return ("use mysql+pymysql://, mariadb+pymysql://, postgresql+psycopg:// or "
            "sqlite:///file")


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


@dataclass(frozen=True)
class ConnectRetry:
    """How often a transient refusal at connect time is tried again: ``tries`` attempts in all,
    ``pause`` seconds before the second, doubled before each next one. ``sleep`` is what waits
    (a test gives a function that releases the connections it held)."""

    tries: int = 3
    pause: float = 1.0
    sleep: Callable[[float], None] = field(default=_sleep, compare=False)

    @classmethod
    def of(cls, settings: Any) -> "ConnectRetry":
        """The policy of the settings ``connect_tries`` and ``connect_pause``."""
        return cls(tries=settings.connect_tries, pause=settings.connect_pause)


#: The URL each watched engine is shown by (as the settings give it, not as normalized).
_SHOWN: weakref.WeakKeyDictionary[Engine, str | URL] = weakref.WeakKeyDictionary()


def shown_url(engine: Engine) -> str | URL:
    """The URL ``engine`` is named by in messages (``watch``'s ``shown``, else its own)."""
    return _SHOWN.get(engine, engine.url)


def watch(engine: Engine, side: str | None, retry: ConnectRetry | None = None,
          shown: str | URL | None = None) -> Engine:
    """Translate the errors of ``engine`` (side ``source`` or ``target``; its URL shown as
    ``shown``, the URL as the settings give it, password masked) into bascule's, and try again
    a connection refused for a transient reason."""
    policy = retry or ConnectRetry()
    url = shown if shown is not None else engine.url
    _SHOWN[engine] = url

    @event.listens_for(engine, "do_connect")
    def _connect(dialect, _conn_rec, cargs, cparams):
        pause = policy.pause
        for attempt in range(1, max(1, policy.tries) + 1):
            try:
                return dialect.connect(*cargs, **cparams)
            except dialect.loaded_dbapi.Error as e:
                if attempt >= policy.tries or not is_transient_connect(e):
                    raise
                log.info("%s %s refused the connection (%s); trying again in %.2g s (attempt "
                         "%d of %d)", side or "database", masked(url), server_message(e, url),
                         pause, attempt + 1, policy.tries)
                policy.sleep(pause)
                pause *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    @event.listens_for(engine, "handle_error")
    def _error(ctx):
        if ctx.is_pre_ping or isinstance(ctx.original_exception, MigrationError):
            return None
        if ctx.connection is None or ctx.is_disconnect:  # cannot connect, or lost
            return translate(ctx.sqlalchemy_exception or ctx.original_exception, side, url)
        if ctx.sqlalchemy_exception is not None:  # for translate, should it reach the CLI
            ctx.sqlalchemy_exception.bascule_where = (side, url)
        return None

    return engine
