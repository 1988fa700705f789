"""Small database helpers shared by the CLI, the tests, the demo and the benchmark.

Everything goes through SQLAlchemy Core engines built by ``make_engine``: the same URL forms for
MariaDB/MySQL (pymysql), PostgreSQL (psycopg 3) and SQLite.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine, URL, make_url

from bascule.dberrors import ConnectRetry, translate, watch


def normalize_url(url: str | URL) -> URL:
    """Pick our drivers when the URL names none: pymysql for MySQL, psycopg 3 for PostgreSQL."""
    u = make_url(url)
    backend, driver = u.get_backend_name(), u.get_driver_name()
    if backend in ("mysql", "mariadb") and driver in ("mysqldb", "", None):
        u = u.set(drivername=f"{backend}+pymysql")
    elif backend == "postgresql" and driver in ("psycopg2", "", None):
        u = u.set(drivername="postgresql+psycopg")
    if backend in ("mysql", "mariadb"):
        q = dict(u.query)
        q.setdefault("charset", "utf8mb4")
        q.setdefault("local_infile", "1")
        u = u.set(query=q)
    return u


def engine_url(url: str | URL, side: str | None = None) -> URL:
    """``normalize_url(url)``; text that is not a URL is a SettingsError naming ``side``."""
    try:
        return normalize_url(url)
    except (sa_exc.ArgumentError, ValueError) as e:
        raise translate(sa_exc.ArgumentError(str(e)), side, url) from e


def make_engine(url: str | URL, *, side: str | None = None, retry: ConnectRetry | None = None,
                shown: str | URL | None = None, **kw) -> Engine:
    """The engine of ``url``; its errors become bascule's (``dberrors``: the ``side``, source or
    target, and the URL masked, named: ``shown``, default ``url``), a transient refusal to
    connect is tried again (``retry``)."""
    u = engine_url(url, side)
    kw.setdefault("future", True)
    try:
        return watch(_create(u, **kw), side, retry, shown=url if shown is None else shown)
    except (ImportError, sa_exc.ArgumentError) as e:  # a driver unknown or not installed
        raise translate(e, side, url) from e


def _create(u: URL, **kw) -> Engine:
    if u.get_backend_name() == "sqlite":
        eng = create_engine(u, **kw)

        @event.listens_for(eng, "connect")
        def _fk_on(dbapi_conn, _rec):  # SQLite enforces foreign keys only when asked
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return eng
    kw.setdefault("pool_pre_ping", True)
    return create_engine(u, **kw)


def server_url(url: str | URL) -> URL:
    """The URL of the server itself (no database), to create or drop databases."""
    u = normalize_url(url)
    if u.get_backend_name() == "postgresql":
        return u.set(database="postgres")
    # URL.set(database=None) leaves the database in place on SQLAlchemy 2.1: replace the field
    return u._replace(database=None)


def create_database(url: str | URL, exist_ok: bool = False) -> None:
    """Create the database the URL names (utf8mb4 on MySQL, UTF8 on PostgreSQL)."""
    u = normalize_url(url)
    name = u.database
    if u.get_backend_name() == "sqlite":
        if name and name != ":memory:":
            p = Path(name)
            if p.exists() and not exist_ok:
                raise FileExistsError(f"{p} already exists")
            p.parent.mkdir(parents=True, exist_ok=True)
        return
    eng = watch(create_engine(server_url(u), isolation_level="AUTOCOMMIT"), None, shown=url)
    try:
        with eng.connect() as c:
            if u.get_backend_name() == "postgresql":
                exists = c.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
                ).scalar()
                if exists and exist_ok:
                    return
                c.execute(text(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0'))
            else:
                ine = "IF NOT EXISTS " if exist_ok else ""
                c.execute(
                    text(
                        f"CREATE DATABASE {ine}`{name}` CHARACTER SET utf8mb4 "
                        "COLLATE utf8mb4_unicode_ci"
                    )
                )
    finally:
        eng.dispose()


def drop_database(url: str | URL, missing_ok: bool = True) -> None:
    u = normalize_url(url)
    name = u.database
    if u.get_backend_name() == "sqlite":
        if name and name != ":memory:":
            try:
                os.unlink(name)
            except FileNotFoundError:
                if not missing_ok:
                    raise
        return
    eng = watch(create_engine(server_url(u), isolation_level="AUTOCOMMIT"), None, shown=url)
    try:
        with eng.connect() as c:
            ie = "IF EXISTS " if missing_ok else ""
            if u.get_backend_name() == "postgresql":
                c.execute(text(f'DROP DATABASE {ie}"{name}" WITH (FORCE)'))
            else:
                c.execute(text(f"DROP DATABASE {ie}`{name}`"))
    finally:
        eng.dispose()


def database_exists(url: str | URL) -> bool:
    u = normalize_url(url)
    if u.get_backend_name() == "sqlite":
        return bool(u.database) and Path(u.database).exists()
    eng = watch(create_engine(server_url(u), isolation_level="AUTOCOMMIT"), None, shown=url)
    try:
        with eng.connect() as c:
            if u.get_backend_name() == "postgresql":
                q = "SELECT 1 FROM pg_database WHERE datname = :n"
            else:
                q = "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = :n"
            return c.execute(text(q), {"n": u.database}).scalar() is not None
    finally:
        eng.dispose()


def chunks(seq: Sequence, n: int = 1000) -> Iterator[Sequence]:
    """``seq`` in slices of ``n`` (the ids of an IN list, a batch of statements)."""
    for i in range(0, len(seq), n):
        yield seq[i : i + n]
