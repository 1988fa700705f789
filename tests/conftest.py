"""Test fixtures: real databases, created and dropped by each test.

MariaDB and PostgreSQL on localhost by default; BASCULE_TEST_MYSQL_URL / BASCULE_TEST_PG_URL point
the suite at other servers (a server URL; the database part is ignored). SQLite files live in the
test's tmp_path. No test is skipped for a missing server: a missing server is a failure.
"""

from __future__ import annotations

import logging
import os
import uuid

import pytest
from sqlalchemy.engine import make_url

from bascule.dbutil import create_database, drop_database

from samples import build_source, build_target

MYSQL_URL = os.environ.get("BASCULE_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/")
PG_URL = os.environ.get("BASCULE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/")

ENGINES = ("sqlite", "mysql", "postgresql")


class DatabaseFactory:
    """Creates uniquely named databases on one engine and drops them all at teardown."""

    def __init__(self, kind: str, tmp_path):
        self.kind = kind
        self.tmp_path = tmp_path
        self.created: list[str] = []

    def new(self, label: str = "db") -> str:
        name = f"bt_{label}_{uuid.uuid4().hex[:10]}"
        if self.kind == "sqlite":
            url = f"sqlite:///{self.tmp_path / (name + '.sqlite')}"
        elif self.kind == "mysql":
            url = make_url(MYSQL_URL).set(database=name).render_as_string(hide_password=False)
        elif self.kind == "postgresql":
            url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        else:  # pragma: no cover
            raise ValueError(self.kind)
        create_database(url)
        self.created.append(url)
        return url

    def cleanup(self) -> None:
        for url in reversed(self.created):
            try:
                drop_database(url)
            except Exception:  # pragma: no cover - best effort at teardown
                pass


@pytest.fixture(autouse=True)
def _logging_as_it_was():
    """A CLI test sets the root logger's level (-q: errors only) and handler: every test gets
    them back as they were, so that a test listening to bascule's log lines (test_runlock's
    "waiting") hears them whatever ran before it."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.setLevel(level)
    root.handlers[:] = handlers


@pytest.fixture(params=ENGINES)
def engine_kind(request) -> str:
    """Parametrizes a test over sqlite, mysql and postgresql."""
    return request.param


@pytest.fixture
def dbs(engine_kind, tmp_path):
    """A DatabaseFactory for the parametrized engine."""
    f = DatabaseFactory(engine_kind, tmp_path)
    yield f
    f.cleanup()


@pytest.fixture
def mysql_dbs(tmp_path):
    f = DatabaseFactory("mysql", tmp_path)
    yield f
    f.cleanup()


@pytest.fixture
def pg_dbs(tmp_path):
    f = DatabaseFactory("postgresql", tmp_path)
    yield f
    f.cleanup()


@pytest.fixture
def sqlite_dbs(tmp_path):
    f = DatabaseFactory("sqlite", tmp_path)
    yield f
    f.cleanup()


@pytest.fixture
def db_factory(tmp_path):
    """db_factory(kind) -> DatabaseFactory, for tests that mix engines (source MariaDB, target PG)."""
    made: list[DatabaseFactory] = []

    def _make(kind: str) -> DatabaseFactory:
        f = DatabaseFactory(kind, tmp_path)
        made.append(f)
        return f

    yield _make
    for f in made:
        f.cleanup()


@pytest.fixture(params=["sqlite", "mysql"])
def producers_pair(request, db_factory):
    """(source, target) URLs: the hand-built Cagette source with a producer space and its id
    mapping (samples.py), on SQLite and on MariaDB."""
    f = db_factory(request.param)
    src, tgt = f.new("src"), f.new("tgt")
    build_source(src)
    build_target(tgt)
    return src, tgt
