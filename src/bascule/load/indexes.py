"""Secondary indexes built after the data, on the empty tables of a server target.

Maintaining a B-tree on every row written costs more than building it once over the loaded
table (a sort): on MariaDB, 1.98 M UserOrder rows with their six secondary indexes take 48 s to
insert, 10 s without them and 12 s more to build the six. So, as pgloader does, a run with
``secondary_indexes = "after"``:

1. at its start, for each Camap table bascule writes that holds no row, drops its secondary
   indexes (``Dialect.secondary_indexes``: not unique, not a primary key; on PostgreSQL not
   backing a constraint; on MariaDB only when the run writes without row-by-row foreign-key
   checks, since most of them back one), after writing each definition into ``bascule_index``,
   committed first;
2. loads;
3. creates them again at the end, on two connections (a PostgreSQL index, or all the indexes of
   a MariaDB table in one ALTER TABLE, then the removal of their records), also when the run
   fails. The foreign keys are checked meanwhile on other connections (PostgreSQL), or after
   (MariaDB: ALTER TABLE would wait for the checking transactions' metadata locks).

A run killed between 1 and 3 leaves the definitions in ``bascule_index``: the next run (any
``bascule migrate``) creates those indexes before anything else, and ``bascule verify`` warns
while some are missing. Tables that already hold rows keep their indexes, so a live Camap is not
left without them; SQLite targets are not touched.
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

#: Connections that build indexes at once (the machine's two cores).
BUILDERS = 2


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


def drop_for_empty_tables(engine: Engine, tables: Iterable[str], run_id: int,
                          defer_fks: bool = True) -> list[str]:
    """Drop the secondary indexes of those ``tables`` that hold no row, after recording them in
    ``bascule_index`` (committed before any is dropped). Returns ``["Table.index", ...]``;
    nothing on a target that does not defer indexes. ``defer_fks``: the run writes without
    row-by-row foreign-key checks."""
    dialect = dialect_for(engine)
    if not dialect.defers_indexes:
        return []
    t = bookkeeping_metadata().tables[INDEX]
    now = dt.datetime.now().replace(microsecond=0)
    found: dict[str, list[tuple[str, str]]] = {}
    with engine.begin() as conn:
        for table in tables:
            q = quote(conn, table)
            if conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM {q})")).scalar():
                continue
            defs = dialect.secondary_indexes(conn, table, defer_fks)
            if defs:
                found[table] = defs
        if found:
            conn.execute(t.insert(), [{"index_name": name, "table_name": table,
                                       "definition": d, "run_id": run_id, "dropped_at": now}
                                      for table, defs in found.items() for name, d in defs])
    dropped: list[str] = []
    with engine.begin() as conn:
        for table, defs in found.items():
            dialect.drop_indexes(conn, table, [name for name, _d in defs])
            dropped.extend(f"{table}.{name}" for name, _d in defs)
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
    ``builders`` connections. Each build (one index, or on MariaDB the indexes of one table) and
    the removal of its records are one transaction where DDL is transactional (PostgreSQL); on
    MariaDB a run killed in between leaves built indexes recorded, which the next restore finds
    there and only forgets. When a table's indexes cannot be built together,
    each is tried alone: the one that cannot be created stays recorded and is reported in
    ``failed``; the others go on."""
    rep = IndexReport()
    dialect = dialect_for(engine)
    if not dialect.defers_indexes:
        return rep
    t0 = time.monotonic()
    with engine.connect() as conn:
        todo = pending(conn)
        if not todo:
            return rep
        sizes = {tb: dialect.table_bytes(conn, tb) for tb in {x["table_name"] for x in todo}}
    by_table: dict[str, list[dict]] = {}
    for x in todo:
        by_table.setdefault(x["table_name"], []).append(x)
    # a build: the indexes of one table (MariaDB builds them in one pass) or one index
    jobs = list(by_table.values()) if dialect.builds_indexes_per_table else [[x] for x in todo]
    jobs.sort(key=lambda xs: (-sizes.get(xs[0]["table_name"], 0), xs[0]["index_name"]))
    tbl = bookkeeping_metadata().tables[INDEX]

    def build_some(xs: list[dict]) -> None:
        table = xs[0]["table_name"]
        with engine.begin() as conn:
            missing = set(dialect.missing_indexes(conn, table, [x["index_name"] for x in xs]))
            defs = [x["definition"] for x in xs if x["index_name"] in missing]
            if defs:
                dialect.create_indexes(conn, table, defs)
            conn.execute(tbl.delete().where(tbl.c.index_name.in_([x["index_name"]
                                                                   for x in xs])))

    def build(xs: list[dict]) -> list[tuple[dict, str | None]]:
        """Build these indexes and forget their records; each with the database's message if
        it could not be."""
        try:
            build_some(xs)
            return [(x, None) for x in xs]
        except Exception as e:  # noqa: BLE001 - reported, kept recorded, the others go on
            if len(xs) == 1:
                return [(xs[0], db_message(getattr(e, "orig", None) or e))]
        return [r for x in xs for r in build([x])]

    with ThreadPoolExecutor(max_workers=max(1, min(builders, len(jobs))),
                            thread_name_prefix="bascule-index") as ex:
        for results in ex.map(build, jobs):  # taken in order: the largest first
            for x, msg in results:
                if msg is None:
                    rep.restored.append(f"{x['table_name']}.{x['index_name']}")
                    continue
                log.error("index %s on %s could not be created again: %s (its definition "
                          "stays in %s; the next run tries again)", x["index_name"],
                          x["table_name"], msg, INDEX)
                rep.failed.append({"index": x["index_name"], "table": x["table_name"],
                                   "error": msg})
    rep.seconds = time.monotonic() - t0
    return rep
