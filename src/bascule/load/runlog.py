"""The runs in the target: one ``bascule_run`` row per migrate, verify or rollback run (its
source, the host and process that ran it, its settings' fingerprint, shapes, status and
summary), and the groups that earlier runs moved (``bascule_group``).

A run's row is ``running`` while its process holds the target's run lock (``load.runlock``); the
next run to take the lock marks the rows still ``running`` ``interrupted`` (``interrupt_dead``):
their processes are gone. ``list_runs`` is ``bascule runs``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import socket
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Connection, Engine

from bascule.config import Settings
from bascule.load.adopt import adopt
from bascule.load.bookkeeping import GROUP, RUN, Book, ensure_bookkeeping

if TYPE_CHECKING:
    from bascule.load.target import TargetInfo

log = logging.getLogger(__name__)

#: The statuses of a run (``bascule_run.status``).
RUN_STATUSES = ("running", "done", "failed", "interrupted")


def settings_fingerprint(settings: Settings) -> str:
    """What decides which rows move and how (not where from or to)."""
    keys = ("groups", "exclude_groups", "id_strategy", "keep_linked_stock")
    d = {k: getattr(settings, k) for k in keys}
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def this_process() -> dict[str, Any]:
    """The host and process id a run row records (the run lock's holder, named to the others)."""
    return {"host": socket.gethostname()[:255], "pid": os.getpid()}


def open_run(engine: Engine, settings: Settings, source_shape: str | None, target_shape: str,
             *, command: str = "migrate") -> int:
    """A new run row of ``command`` (migrate, verify, rollback) for ``settings.source_name``,
    status 'running', with this host and process; its id. The target's tables are of the
    current layout (``load.adopt``)."""
    t = Book(settings.source_name).table(RUN)
    with engine.begin() as conn:
        res = conn.execute(t.insert().values(
            command=command, source=settings.source_name, **this_process(), started_at=_now(),
            status="running", fingerprint=settings_fingerprint(settings),
            source_shape=source_shape, target_shape=target_shape,
            settings=json.dumps(settings.safe_dict(), sort_keys=True)))
        return int(res.inserted_primary_key[0])


def start_run(engine: Engine, settings: Settings, tinfo: TargetInfo, command: str,
              source_shape: str | None = None) -> int:
    """The start of a run that writes (migrate, verify, rollback), under the run lock: bascule's
    tables of the legacy layout adopted under ``settings.source_name`` (``load.adopt``), the
    missing ones created, this run's row opened, the runs left ``running`` marked
    ``interrupted``. Its run id."""
    if tinfo.legacy_bookkeeping:
        adopt(engine, settings.source_name)
        tinfo.legacy_bookkeeping = False
    ensure_bookkeeping(engine)
    run_id = open_run(engine, settings, source_shape, tinfo.shape, command=command)
    with engine.begin() as conn:
        dead = interrupt_dead(conn, by=run_id)
    if dead:
        log.warning("run%s %s had ended without closing (killed?): marked interrupted",
                    "s" if len(dead) > 1 else "", ", ".join(map(str, dead)))
    return run_id


def close_run(engine: Engine, run_id: int, status: str, summary: dict) -> None:
    t = Book("").table(RUN)
    with engine.begin() as conn:
        conn.execute(t.update().where(t.c.id == run_id).values(
            ended_at=_now(), status=status, summary=json.dumps(summary)))


def interrupt_dead(conn: Connection, by: int | None = None) -> list[int]:
    """Mark ``interrupted`` the runs still ``running`` (of any source), ``by`` apart: called by
    the holder of the run lock, which no other run holds, so that their processes are gone.
    Their ids."""
    t = Book("").table(RUN)
    ids = [int(i) for (i,) in conn.execute(select(t.c.id).where(t.c.status == "running",
                                                                t.c.id != (by or 0)))]
    if ids:
        summary = json.dumps({"interrupted": "its process ended without closing the run; found "
                                             "so when the run lock was taken"
                                             + (f" by run {by}" if by else "")})
        conn.execute(t.update().where(t.c.id.in_(ids), t.c.status == "running")
                     .values(status="interrupted", summary=summary))
    return ids


def previous_run(conn: Connection, book: Book, *, before: int | None = None) -> dict | None:
    """The source's last migrate run (the plan's counts are the diff since it); ``before``: the
    last one before that run id (the run itself is not its own previous run)."""
    t = book.table(RUN)
    q = select(t).where(book.mine(t), t.c.command == "migrate")
    if before is not None:
        q = q.where(t.c.id < before)
    row = conn.execute(q.order_by(t.c.id.desc()).limit(1)).mappings().first()
    if row is None:
        return None
    return {"id": row["id"], "started_at": str(row["started_at"]),
            "ended_at": str(row["ended_at"]) if row["ended_at"] else None,
            "status": row["status"], "fingerprint": row["fingerprint"],
            "source_shape": row["source_shape"]}


def groups_done(conn: Connection, book: Book) -> dict[int, dict]:
    """Source group id → its bascule_group row, for every group of the source an earlier run
    touched."""
    t = book.table(GROUP)
    return {int(r["source_group_id"]): dict(r)
            for r in conn.execute(select(t).where(book.mine(t))).mappings()}


def run_statuses(conn: Connection, ids) -> dict[int, dict]:
    """Run id → ``{"status", "ended"}`` for these runs (those found): ``ended`` is false for a
    run that is ``running`` or ``interrupted``, or that was closed ``failed`` by an exception
    (its summary holds the ``error``: it stopped before its end, whatever it had committed);
    a run closed ``failed`` because some groups failed did end."""
    wanted = sorted({int(i) for i in ids if i})
    if not wanted:
        return {}
    t = Book("").table(RUN)
    out: dict[int, dict] = {}
    for i in range(0, len(wanted), 1000):
        for rid, status, summary in conn.execute(
                select(t.c.id, t.c.status, t.c.summary).where(t.c.id.in_(wanted[i:i + 1000]))):
            try:
                raised = "error" in json.loads(summary or "{}")
            except ValueError:
                raised = False
            out[int(rid)] = {"status": status,
                             "ended": status == "done" or (status == "failed" and not raised)}
    return out


def groups_committed(engine: Engine, run_id: int, book: Book) -> int:
    """How many groups run ``run_id`` committed (done, with no error, in ``bascule_group``)."""
    t = book.table(GROUP)
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t).where(
            book.mine(t), t.c.run_id == run_id, t.c.status == "done",
            t.c.error.is_(None))).scalar() or 0)


def running(conn: Connection) -> list[dict]:
    """The rows of the runs still ``running`` (any source), newest first: who holds the run
    lock, or runs whose process died (before the next run marks them)."""
    return [r for r in list_runs(conn) if r["status"] == "running"][::-1]


def list_runs(conn: Connection, source: str | None = None) -> list[dict]:
    """``bascule runs``: every run in the target, oldest first (of ``source`` only, when
    given): id, command, source, host, pid, started, ended, status, groups, rows. A run of a
    target of the legacy layout has no source (None)."""
    if not inspect(conn).has_table(RUN):
        return []
    names = {c["name"] for c in inspect(conn).get_columns(RUN)}
    t = Book("", "source" not in names).table(RUN)
    q = select(t).order_by(t.c.id)
    if source is not None and "source" in names:
        q = q.where(t.c.source == source)
    out = []
    for r in conn.execute(q).mappings():
        try:
            summary = json.loads(r["summary"] or "{}")
        except ValueError:
            summary = {}
        out.append({"id": int(r["id"]), "command": r["command"], "source": r.get("source"),
                    "host": r.get("host"), "pid": r.get("pid"),
                    "started": _iso(r["started_at"]), "ended": _iso(r["ended_at"]),
                    "status": r["status"], **_counts(r["command"], summary)})
    return out


def _iso(v: Any) -> str | None:
    return None if v is None else (v.isoformat(sep=" ") if hasattr(v, "isoformat") else str(v))


def _counts(command: str, summary: dict) -> dict[str, int | None]:
    """The groups a run handled and the rows it wrote (migrate), removed (rollback) or found
    different (verify), from its summary."""
    groups = summary.get("groups")
    if isinstance(groups, dict):  # rollback: group → status
        groups = len(groups)
    rows = {"migrate": "rows_written", "rollback": "rows_removed",
            "verify": "differences"}.get(command, "rows_written")
    return {"groups": groups if isinstance(groups, int) else None,
            "rows": summary.get(rows) if isinstance(summary.get(rows), int) else None}
