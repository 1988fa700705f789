"""Exit codes and one line per error (bascule.errors, bascule.dberrors, the CLI group): a
database that cannot be reached, entered or found, a driver typo, a bad setting, a target
never migrated into, a server limit (tried again), a lost connection, a rejected row named by
its source id; never a traceback unless --traceback, never a password."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import psycopg
import pymysql
import pytest
from click.testing import CliRunner
from sqlalchemy import MetaData, Table, insert, select, text
from sqlalchemy.engine import make_url

from bascule import __version__, api
from bascule.cli import cli
from bascule.config import ConfigError, load_settings
from bascule.dberrors import ConnectRetry, is_transient_connect, kind_of, translate
from bascule.dbutil import make_engine
from bascule.errors import CannotProceed

from conftest import MYSQL_URL, PG_URL
from faults import BASCULE
from helpers import make_source, make_target, rows
from samples import free_port

#: No pause between two attempts to connect (the retries are counted, not timed).
ENV = {"BASCULE_CONNECT_PAUSE": "0"}


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, list(args), env={**ENV, **(env or {})})


def one_error(r, code: int, *words: str) -> str:
    """The run ended with ``code`` and exactly one line on stderr, no traceback, no password."""
    assert r.exit_code == code, (r.exit_code, r.output)
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.output and "secret" not in r.output, r.output
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


def server(kind: str, database: str, password: str | None = "secret", **parts) -> str:
    """A URL of the test server of ``kind`` (mysql, postgresql), with a password (which
    PostgreSQL's trust ignores)."""
    base = make_url(MYSQL_URL if kind == "mysql" else PG_URL)
    u = base.set(database=database, password=password, **parts)
    return u.render_as_string(hide_password=False)


# --- connecting ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_unreachable_unknown_host_missing_database_exit_3_in_one_line(kind, tmp_path):
    tgt = f"sqlite:///{tmp_path / 't.sqlite'}"
    port = free_port()
    cases = [
        (server(kind, "x", port=port), "cannot reach the server", "host and port of source_url"),
        (server(kind, "x", host="nosuchhost.invalid"), "cannot reach the server",
         "source_url"),
        (server(kind, f"bt_none_{uuid.uuid4().hex[:8]}",
                password=None if kind == "mysql" else "secret"), "no such database",
         "database name in source_url"),
    ]
    for url, what, todo in cases:
        r = run("plan", "-q", "--source", url, "--target", tgt)
        line = one_error(r, 3, "error: source ", what, todo)
        assert make_url(url).render_as_string(hide_password=True) in line


def test_wrong_password_mysql_and_unknown_role_postgresql_are_access_refused():
    r = run("describe", "--source", "mysql+pymysql://root:secret@127.0.0.1:3306/x")
    one_error(r, 3, "source mysql+pymysql://root:***@127.0.0.1:3306/x", "access refused",
              "Access denied", "user and password of source_url")
    pg = server("postgresql", "postgres", username=f"nobody_{uuid.uuid4().hex[:6]}")
    r = run("runs", "--target", pg)
    one_error(r, 3, "error: target postgresql", "access refused", "user and password of "
              "target_url")


def test_driver_typos_are_settings_errors_and_a_missing_driver_cannot_proceed(tmp_path):
    tgt = f"sqlite:///{tmp_path / 't.sqlite'}"
    r = run("plan", "--source", "postgres://u:secret@127.0.0.1/x", "--target", tgt)
    one_error(r, 2, "setting source_url", "postgresql+psycopg://")
    r = run("plan", "--source", "mysql+nosuchdriver://u:secret@127.0.0.1/x", "--target", tgt)
    one_error(r, 2, "setting source_url", "driver 'nosuchdriver'", "mysql+pymysql://")
    r = run("runs", "--target", "mysql+mysqlconnector://u:secret@127.0.0.1/x")
    one_error(r, 3, "target mysql+mysqlconnector://u:***@127.0.0.1/x", "driver not installed")


def test_a_port_out_of_range_is_a_settings_error_when_settings_load(tmp_path):
    with pytest.raises(ConfigError, match="port 99999 is out of range"):
        load_settings(None, target_url="mysql+pymysql://root:secret@127.0.0.1:99999/x")
    f = tmp_path / "b.toml"
    f.write_text('source_url = "postgresql+psycopg://u:secret@db:99999/x"\n')
    r = run("describe", "--config", str(f))
    one_error(r, 2, f"setting source_url (from {f})", "port 99999 is out of range")
    r = run("describe", "--source", "mysql+pymysql://u:secret@db:http/x")
    one_error(r, 2, "setting source_url", "port 'http' is not a number")


def test_a_bad_server_tz_is_a_settings_error(tmp_path):
    r = run("redirects", "--emit", "apache", "--server-tz", "Nowhere/Land", "--until",
            "2099-12-31", "--target",
            f"sqlite:///{tmp_path / 't.sqlite'}")
    one_error(r, 2, "--server-tz 'Nowhere/Land'", "unknown time zone")


@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_verbs_before_any_migrate_say_run_migrate(kind, db_factory, tmp_path):
    tgt = make_target(db_factory(kind), "head")
    src = db_factory("sqlite").new("src")
    full = make_source(db_factory("sqlite"))
    shown = make_url(tgt).render_as_string(hide_password=True)
    for args in (["redirects", "--emit", "csv", "--until", "2099-12-31", "--target", tgt],
                 ["producers", "--source", src, "--target", tgt],
                 ["verify", "-q", "--source", full, "--target", tgt,
                  "--report-dir", str(tmp_path)],
                 ["rollback", "-q", "--yes", "--group", "1", "--target", tgt, "--report-dir",
                  str(tmp_path)]):
        r = run(*args)
        one_error(r, 3, f"target {shown}", "nothing was migrated into this target yet",
                  "run bascule migrate")


# --- the stack, and what was not foreseen ------------------------------------------------

def test_traceback_flag_and_vv_show_the_stack_nothing_else_does(monkeypatch):
    url = "mysql+pymysql://root:secret@127.0.0.1:3306/x"
    for flags in (["--traceback"], ["-vv"]):
        r = run(*flags, "describe", "--source", url)
        assert r.exit_code == 3
        assert "Traceback (most recent call last)" in r.stderr
        assert r.stderr.splitlines()[-1].startswith("error: source ")
        assert "secret" not in r.output
    r = run("describe", "--source", url, "--traceback")  # after the verb as well
    assert r.exit_code == 3 and "Traceback" in r.stderr

    def boom(_s):
        raise RuntimeError("something\nunforeseen")

    monkeypatch.setattr(api, "describe", boom)
    r = run("describe", "--source", "sqlite:///x.sqlite")
    one_error(r, 3, "internal error: RuntimeError: something unforeseen (rerun with "
              "--traceback)")
    r = run("--traceback", "describe", "--source", "sqlite:///x.sqlite")
    assert r.exit_code == 3 and "Traceback" in r.stderr and "boom" in r.stderr


# --- transient refusals: tried again -----------------------------------------------------

def test_a_refused_port_is_tried_connect_tries_times_then_exit_3():
    pauses: list[float] = []
    eng = make_engine(f"mysql+pymysql://root:secret@127.0.0.1:{free_port()}/x", side="target",
                      retry=ConnectRetry(tries=3, pause=0.5, sleep=pauses.append))
    try:
        with pytest.raises(CannotProceed, match=r"^target mysql\+pymysql://root:\*\*\*@"):
            eng.connect()
    finally:
        eng.dispose()
    assert pauses == [0.5, 1.0]  # three attempts, the pause doubled
    r = run("-v", "runs", "--target", f"mysql+pymysql://root:secret@127.0.0.1:{free_port()}/x",
            env={"BASCULE_CONNECT_TRIES": "4"})
    assert r.exit_code == 3 and r.stderr.count("trying again") == 3, r.stderr
    assert r.stderr.splitlines()[-1].startswith("error: target ")


def _limited_user(kind: str):
    """A user of the test server allowed one connection at a time: (its URL, admin engine,
    drop)."""
    name = f"bt_lim_{uuid.uuid4().hex[:8]}"
    admin = make_engine(MYSQL_URL if kind == "mysql" else PG_URL,
                        isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        if kind == "mysql":
            c.execute(text(f"CREATE USER '{name}'@'%' IDENTIFIED BY 'pw' WITH "
                           "MAX_USER_CONNECTIONS 1"))
            c.execute(text(f"CREATE USER '{name}'@'localhost' IDENTIFIED BY 'pw' WITH "
                           "MAX_USER_CONNECTIONS 1"))
            c.execute(text(f"CREATE USER '{name}'@'127.0.0.1' IDENTIFIED BY 'pw' WITH "
                           "MAX_USER_CONNECTIONS 1"))
        else:
            c.execute(text(f"CREATE ROLE {name} LOGIN PASSWORD 'pw' CONNECTION LIMIT 1"))
    base = make_url(MYSQL_URL if kind == "mysql" else PG_URL)
    url = base.set(username=name, password="pw",
                   database=None if kind == "mysql" else "postgres")

    def drop():
        with admin.connect() as c:
            if kind == "mysql":
                for host in ("%", "localhost", "127.0.0.1"):
                    c.execute(text(f"DROP USER IF EXISTS '{name}'@'{host}'"))
            else:
                c.execute(text(f"DROP ROLE IF EXISTS {name}"))
        admin.dispose()

    return url.render_as_string(hide_password=False), drop


@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_a_server_limit_is_tried_again_and_passes_once_a_connection_is_freed(kind):
    url, drop = _limited_user(kind)
    holder = make_engine(url)
    try:
        held = holder.connect()  # the user's one connection
        released = []

        def release(pause: float) -> None:  # instead of waiting: free the connection
            released.append(pause)
            held.close()
            holder.dispose()

        eng = make_engine(url, side="source", retry=ConnectRetry(tries=3, pause=0.25,
                                                                 sleep=release))
        with eng.connect() as c:
            assert c.execute(text("SELECT 1")).scalar() == 1
        eng.dispose()
        assert released == [0.25]  # refused once, then in

        held = make_engine(url).connect()  # hold it again: now nothing frees it
        eng = make_engine(url, side="source", retry=ConnectRetry(tries=2, pause=0,
                                                                 sleep=lambda _p: None))
        with pytest.raises(CannotProceed, match="connection limit is reached") as ei:
            eng.connect()
        assert "pw" not in str(ei.value).replace("password", "") and "***" in str(ei.value)
        eng.dispose()
        held.close()
    finally:
        holder.dispose()
        drop()


# --- a connection lost midway ------------------------------------------------------------

@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_a_killed_connection_is_a_lost_connection_exit_3(kind, db_factory):
    url = db_factory(kind).new("lost")
    eng = make_engine(url, side="target")
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as c:
            if kind == "mysql":
                pid = c.execute(text("SELECT CONNECTION_ID()")).scalar()
                with admin.connect() as a:
                    a.execute(text(f"KILL {int(pid)}"))
            else:
                pid = c.execute(text("SELECT pg_backend_pid()")).scalar()
                with admin.connect() as a:
                    a.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            with pytest.raises(CannotProceed) as ei:
                c.execute(text("SELECT 1"))
        msg = str(ei.value)
        assert msg.startswith("target ") and "connection lost" in msg and "\n" not in msg
        assert "run the same command again" in msg
    finally:
        eng.dispose()
        admin.dispose()


# --- a rejected row, named by its source id -----------------------------------------------

BIG_ID = 2147483000


def _add_user_with_a_long_name(src: str) -> None:
    """A copy of a member of an AMAP group at id BIG_ID, member of the same group, whose last
    name is longer than the target's column will be."""
    eng = make_engine(src)
    try:
        md = MetaData()
        user, ug = Table("User", md, autoload_with=eng), Table("UserGroup", md,
                                                               autoload_with=eng)
        group = Table("Group", md, autoload_with=eng)
        with eng.begin() as c:
            member = c.execute(select(ug).join(group, group.c.id == ug.c.groupId)
                               .where(group.c.flags.op("&")(2) == 0)
                               .order_by(ug.c.userId)).mappings().first()
            row = dict(c.execute(select(user).where(user.c.id == member["userId"]))
                       .mappings().one())
            row.update(id=BIG_ID, email="long.name@example.org", email2=None,
                       lastName="Averyveryverylongname")
            c.execute(insert(user).values(**row))
            c.execute(insert(ug).values(**{**dict(member), "userId": BIG_ID}))
    finally:
        eng.dispose()


@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_a_rejected_row_is_named_by_its_source_id_table_and_column(kind, db_factory,
                                                                   tmp_path):
    src = make_source(db_factory("mysql"))
    _add_user_with_a_long_name(src)
    longest = rows(src, 'SELECT MAX(LENGTH("lastName")) FROM "User" WHERE id <> :i', i=BIG_ID)
    width = int(longest[0][0]) + 1
    assert width < len("Averyveryverylongname")
    tgt = make_target(db_factory(kind), "head")
    alter = (f'ALTER TABLE `User` MODIFY `lastName` VARCHAR({width}) NOT NULL'
             if kind == "mysql" else
             f'ALTER TABLE "User" ALTER COLUMN "lastName" TYPE VARCHAR({width})')
    eng = make_engine(tgt)
    with eng.begin() as c:
        c.execute(text(alter))
    eng.dispose()
    r = run("migrate", "--source", src, "--target", tgt, "--report-dir", str(tmp_path),
            "--format", "json", "--workers", "1", "-q")
    assert r.exit_code == 1, r.output
    failed = [g for g in json.loads(r.stdout)["groups"] if g["status"] == "failed"]
    assert failed, r.stdout
    errors = " ".join(g.get("error") or "" for g in failed)
    assert f"into User rejected the row of source id {BIG_ID}, column lastName" in errors, \
        errors
    assert "Traceback" not in r.output


# --- the classification of the servers' refusals ------------------------------------------

@pytest.mark.parametrize("exc, kind, transient", [
    (("pymysql", 1040, "Too many connections"), "limit", True),
    (("pymysql", 1203, "User x already has more than 'max_user_connections' active "
                       "connections"), "limit", True),
    (("pymysql", 2003, "Can't connect to MySQL server on 'db' ([Errno 111] Connection "
                       "refused)"), "unreachable", True),
    (("pymysql", 2005, "Unknown MySQL server host 'db'"), "unreachable", False),
    (("pymysql", 1045, "Access denied for user 'x'"), "access", False),
    (("pymysql", 2013, "Lost connection to MySQL server during query"), "lost", False),
    (("psycopg", None, 'connection failed: FATAL:  sorry, too many clients already'), "limit",
     True),
    (("psycopg", None, "connection failed: FATAL:  the database system is starting up"),
     "starting", True),
    (("psycopg", None, 'connection failed: connection to server at "db", port 5432 failed: '
                       "Connection refused\n\tIs the server running"), "unreachable", True),
    (("psycopg", None, 'FATAL:  database "x" does not exist'), "no-database", False),
])
def test_what_a_refusal_means_and_whether_it_is_tried_again(exc, kind, transient):
    """The drivers' own exceptions as they come (the messages of the servers)."""
    driver, code, msg = exc
    e = pymysql.err.OperationalError(code, msg) if driver == "pymysql" else \
        psycopg.OperationalError(msg)
    assert kind_of(e) == kind and is_transient_connect(e) is transient
    err = translate(e, "target", "mysql+pymysql://u:secret@db/x")
    assert isinstance(err, CannotProceed) and "\n" not in str(err) and "secret" not in str(err)


@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_a_migrate_whose_target_connections_are_killed_ends_exit_3_in_one_line(kind, db_factory,
                                                                               tmp_path):
    """The target's connections killed while a unit waits for its commit (the hook of
    tests/faults.py holds it there): the run stops with exit 3 and the error as its last line,
    naming the target, the lost connection and what to do; no traceback."""
    src = make_source(db_factory("sqlite"))
    tgt = make_target(db_factory(kind), "head")
    p = subprocess.Popen(
        BASCULE + ["migrate", "--source", src, "--target", tgt, "--batch-size", "40",
                   "--no-progress", "--workers", "1", "--report-dir", str(tmp_path / "out")],
        stdin=subprocess.PIPE, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
        env={**os.environ, **ENV, "BASCULE_TEST_PAUSE_BEFORE_COMMIT": "1"})
    assert p.stderr is not None and p.stdin is not None
    for line in p.stderr:
        if "bascule-fault" in line:
            break
    name = make_url(tgt).database
    admin = make_engine(MYSQL_URL if kind == "mysql" else PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            if kind == "mysql":
                ids = [r[0] for r in c.execute(text(
                    "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = :d"), {"d": name})]
                for i in ids:
                    c.execute(text(f"KILL {int(i)}"))
            else:
                ids = c.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d AND "
                                     "pid <> pg_backend_pid()"), {"d": name}).scalars().all()
                for i in ids:
                    c.execute(text("SELECT pg_terminate_backend(:p)"), {"p": i})
    finally:
        admin.dispose()
    assert ids
    p.stdin.write("\n")
    p.stdin.flush()
    rest = p.stderr.read()
    assert p.wait() == 3, rest
    last = rest.strip().splitlines()[-1]
    shown = make_url(tgt).render_as_string(hide_password=True)
    assert last.startswith(f"error: target {shown}: connection lost"), rest
    assert "run the same command again" in last and "Traceback" not in rest


def test_the_process_leaves_with_its_code_and_its_whole_output(tmp_path):
    """``bascule`` (``cli.main``) ends its process with ``os._exit`` once its output is
    flushed: the exit code is the verb's, the last buffered line of a piped stdout is there,
    an error is its one line."""
    r = subprocess.run(BASCULE + ["--version"], capture_output=True, text=True)
    assert (r.returncode, r.stdout, r.stderr) == (0, f"bascule, version {__version__}\n", "")
    r = subprocess.run(BASCULE + ["nosuch"], capture_output=True, text=True)
    assert r.returncode == 2 and "No such command 'nosuch'" in r.stderr and r.stdout == ""
    r = subprocess.run(BASCULE + ["describe", "--source", f"sqlite:///{tmp_path}/no/x.db"],
                       capture_output=True, text=True, env={**os.environ, **ENV})
    assert r.returncode == 3 and r.stderr.count("\n") == 1 and r.stderr.startswith("error: ")
    with open("/dev/full", "w") as full:  # stdout cannot be written: one line, exit 3
        r = subprocess.run(BASCULE + ["--version"], stdout=full, stderr=subprocess.PIPE,
                           text=True)
    assert r.returncode == 3 and r.stderr == "error: [Errno 28] No space left on device\n"
