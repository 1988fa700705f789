"""Secondary indexes built after the data, on a PostgreSQL target's empty tables.

Maintaining a B-tree on every COPY costs more than building it once over the loaded table (a
sort). So, as pgloader does, a run with ``secondary_indexes = "after"`` on PostgreSQL:

1. at its start, for each Camap table bascule writes that holds no row, drops its secondary
   indexes (not unique, not a primary key, not backing a constraint: the keys, and what
   ``ON CONFLICT`` and the foreign keys rely on, stay), after writing each definition
   (``pg_get_indexdef``) into ``bascule_index``, in the same transaction;
2. loads;
3. creates them again at the end, on two connections (each index and the removal of its record
   in one transaction) while the foreign keys are checked on a third, also when the run fails.

A run killed between 1 and 3 leaves the definitions in ``bascule_index``: the next run (any
``bascule migrate``) creates those indexes before anything else, and ``bascule verify`` warns
while some are missing. Tables that already hold rows keep their indexes, so a live Camap is not
left without them; MariaDB and SQLite targets are not touched.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection, Engine

from bascule.load.bookkeeping import INDEX, bookkeeping_metadata
from bascule.load.bulk import db_message
from bascule.load.dialects import dialect_for, quote

log = logging.getLogger(__name__)

#: Memory each connection may use to sort an index it builds (PostgreSQL's own setting, set for
#: the building transaction only; the server's default of 64MB spills the larger tables to disk).
MAINTENANCE_WORK_MEM = "256MB"

#: Connections that build indexes at once (the machine's two cores).
BUILDERS = 2

_SECONDARY = """
SELECT x.indexrelid::regclass::text AS index_name, pg_get_indexdef(x.indexrelid) AS definition
FROM pg_index x
WHERE x.indrelid = to_regclass(:t)
  AND NOT x.indisunique AND NOT x.indisprimary AND NOT x.indisexclusion
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
ORDER BY 1
"""


@dataclass
class IndexReport:
    """What a run did with the secondary indexes (the run report's ``indexes``)."""

    dropped: list[str] = field(default_factory=list)  # "Table.index", dropped at the start
    restored: list[str] = field(default_factory=list)  # created again (this run's, or left)
    failed: list[dict] = field(default_factory=list)  # {"index", "table", "error"}
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"dropped": len(self.dropped), "restored": len(self.restored),
                "failed": self.failed, "seconds": round(self.seconds, 3)}


def secondary_indexes(conn: Connection, table: str) -> list[tuple[str, str]]:
    """(name, definition) of the secondary indexes of one PostgreSQL table."""
    res = conn.execute(text(_SECONDARY), {"t": quote(conn, table)})
    return [(r.index_name, r.definition) for r in res]


def drop_for_empty_tables(engine: Engine, tables: Iterable[str], run_id: int) -> list[str]:
    """Drop the secondary indexes of those ``tables`` that hold no row, recording each one in
    ``bascule_index`` in the same transaction. Returns ``["Table.index", ...]``; nothing on a
    target that is not PostgreSQL."""
    if not dialect_for(engine).defers_indexes:
        return []
    t = bookkeeping_metadata().tables[INDEX]
    dropped: list[str] = []
    now = dt.datetime.now().replace(microsecond=0)
    with engine.begin() as conn:
        for table in tables:
            q = quote(conn, table)
            if conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM {q})")).scalar():
                continue
            found = secondary_indexes(conn, table)
            if not found:
                continue
            conn.execute(t.insert(), [{"index_name": name, "table_name": table,
                                       "definition": d, "run_id": run_id, "dropped_at": now}
                                      for name, d in found])
            for name, _d in found:
                conn.execute(text(f"DROP INDEX {name}"))
                dropped.append(f"{table}.{name}")
    return dropped


def pending(conn: Connection) -> list[dict]:
    """The indexes recorded in ``bascule_index`` (dropped and not created again yet)."""
    t = bookkeeping_metadata().tables[INDEX]
    if not inspect(conn).has_table(INDEX):
        return []
    return [dict(r._mapping) for r in
            conn.execute(select(t.c.index_name, t.c.table_name, t.c.definition)
                         .order_by(t.c.table_name, t.c.index_name))]


def restore(engine: Engine, builders: int = BUILDERS) -> IndexReport:
    """Create again every index recorded in ``bascule_index``, the largest tables first, on up to
    ``builders`` connections. Each index is created and its record removed in one transaction,
    so a run killed here leaves exactly the missing ones recorded. An index that cannot be
    created stays recorded and is reported in ``failed``; the others go on."""
    rep = IndexReport()
    if not dialect_for(engine).defers_indexes:
        return rep
    t0 = time.monotonic()
    with engine.connect() as conn:
        todo = pending(conn)
        if not todo:
            return rep
        sizes = {tb: conn.execute(text("SELECT pg_relation_size(to_regclass(:q))"),
                                  {"q": quote(conn, tb)}).scalar() or 0
                 for tb in {x["table_name"] for x in todo}}
    todo.sort(key=lambda x: (-sizes.get(x["table_name"], 0), x["index_name"]))
    tbl = bookkeeping_metadata().tables[INDEX]

    def build(x: dict) -> str | None:
        """Build one index and forget its record; the database's message if it fails."""
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
                if conn.execute(text("SELECT to_regclass(:n)"),
                                {"n": x["index_name"]}).scalar() is None:
                    conn.exec_driver_sql(x["definition"])
                conn.execute(tbl.delete().where(tbl.c.index_name == x["index_name"]))
        except Exception as e:  # noqa: BLE001 - reported, kept recorded, the others go on
            return db_message(getattr(e, "orig", None) or e)
        return None

    with ThreadPoolExecutor(max_workers=max(1, min(builders, len(todo))),
                            thread_name_prefix="bascule-index") as ex:
        for x, msg in zip(todo, ex.map(build, todo)):  # taken in order: the largest first
            if msg is None:
                rep.restored.append(f"{x['table_name']}.{x['index_name']}")
                continue
            log.error("index %s on %s could not be created again: %s (its definition stays "
                      "in %s; the next run tries again)", x["index_name"], x["table_name"],
                      msg, INDEX)
            rep.failed.append({"index": x["index_name"], "table": x["table_name"],
                               "error": msg})
    rep.seconds = time.monotonic() - t0
    return rep
