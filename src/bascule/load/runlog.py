"""The runs in the target: one ``bascule_run`` row per migrate (or rollback) run (its settings' fingerprint,
shapes, status and summary), and the groups that earlier runs moved (``bascule_group``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from bascule.config import Settings
from bascule.load.bookkeeping import GROUP, RUN, bookkeeping_metadata


def settings_fingerprint(settings: Settings) -> str:
    """What decides which rows move and how (not where from or to)."""
    keys = ("groups", "exclude_groups", "id_strategy", "keep_linked_stock")
    d = {k: getattr(settings, k) for k in keys}
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def open_run(engine: Engine, settings: Settings, source_shape: str | None, target_shape: str,
             *, command: str = "migrate") -> int:
    """A new run row of ``command`` (migrate, rollback), status 'running'; its id."""
    t = bookkeeping_metadata().tables[RUN]
    with engine.begin() as conn:
        res = conn.execute(t.insert().values(
            command=command, started_at=_now(), status="running",
            fingerprint=settings_fingerprint(settings), source_shape=source_shape,
            target_shape=target_shape, settings=json.dumps(settings.safe_dict(), sort_keys=True)))
        return int(res.inserted_primary_key[0])


def close_run(engine: Engine, run_id: int, status: str, summary: dict) -> None:
    t = bookkeeping_metadata().tables[RUN]
    with engine.begin() as conn:
        conn.execute(t.update().where(t.c.id == run_id).values(
            ended_at=_now(), status=status, summary=json.dumps(summary)))


def previous_run(conn: Connection) -> dict | None:
    """The last migrate run (the plan's counts are the diff since it)."""
    t = bookkeeping_metadata().tables[RUN]
    row = conn.execute(select(t).where(t.c.command == "migrate").order_by(t.c.id.desc())
                       .limit(1)).mappings().first()
    if row is None:
        return None
    return {"id": row["id"], "started_at": str(row["started_at"]),
            "ended_at": str(row["ended_at"]) if row["ended_at"] else None,
            "status": row["status"], "fingerprint": row["fingerprint"],
            "source_shape": row["source_shape"]}


def groups_done(conn: Connection) -> dict[int, dict]:
    """Source group id → its bascule_group row, for every group an earlier run touched."""
    t = bookkeeping_metadata().tables[GROUP]
    return {int(r["source_group_id"]): dict(r) for r in conn.execute(select(t)).mappings()}
