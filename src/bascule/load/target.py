"""The Camap target: shape detection by reflection, schema creation for empty targets, the
foreign-key check of a whole target.

Every moved table (``model.tables``) must exist in the target; bascule writes nothing else but
its own ``bascule_*`` tables.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import MetaData, Table, and_, case, func, inspect, select, text
from sqlalchemy.engine import Connection, Engine

from bascule.dbutil import chunks
from bascule.errors import SettingsError
from bascule.load.bookkeeping import BOOKKEEPING_TABLES, CHUNK, GROUP, IDBLOCK, IDMAP, RUN, Book
from bascule.load.dialects import backend, dialect_for
from bascule.model.tables import MIGRATION, Migration
from bascule.schema import camap_metadata
from bascule.schema.camap import migration_rows
from bascule.schema.shapes import (
    CAGETTE,
    CAGETTE_ONLY_COLUMNS,
    CAGETTE_ONLY_TABLES,
    ShapeError,
    detect_kind,
)
from bascule.schema.shapes import detect_camap_shape as camap_shape


class TargetError(Exception):
    """The target is not a Camap database bascule can write into."""


@dataclass
class TargetInfo:
    backend: str
    shape: str  # "2023" | "head"
    shape_reasons: list[str]
    columns: dict[str, list[str]]
    not_null: dict[str, set[str]]
    has_bookkeeping: bool
    has_idblock: bool = False  # bascule_idblock (the packed id map of group rows)
    has_chunks: bool = False  # bascule_chunk (the source's checksums at the last clean run)
    #: bascule's tables are of the layout of before sources were named (``load.adopt``)
    legacy_bookkeeping: bool = False
    tables: dict[str, Table] = field(repr=False, default_factory=dict)

    def book(self, source: str) -> Book:
        """The bookkeeping of ``source`` (the ``source_name`` setting) in this target."""
        return Book(source, self.legacy_bookkeeping)

    def as_dict(self) -> dict:
        return {"backend": self.backend, "shape": self.shape, "shape_reasons": self.shape_reasons,
                "has_bookkeeping": self.has_bookkeeping}


def detect_camap_shape(cols: dict[str, set[str]]) -> tuple[str, list[str]]:
    """The Camap shape of the target ("2023" | "head") and the evidence."""
    try:
        return camap_shape(cols)
    except ShapeError as e:
        raise TargetError(f"the target: {e}") from None


def inspect_target(bind: Engine | Connection, migration: Migration = MIGRATION) -> TargetInfo:
    """Reflect the target: its Camap shape, the columns of every moved table, bascule's own
    tables. Raises TargetError when a moved table is missing (an empty database: create the
    schema first)."""
    insp = inspect(bind)
    names = set(insp.get_table_names())
    missing = [t for t in migration.order if t not in names]
    if missing:
        if not (names - set(BOOKKEEPING_TABLES)):
            raise TargetError(
                "the target database is empty: create the Camap schema first "
                "(or pass --create-schema 2023|head)"
            )
        raise TargetError("the target is not a Camap database: missing tables "
                          + ", ".join(missing))
    cols: dict[str, set[str]] = {}
    not_null: dict[str, set[str]] = {}
    for t in names:
        if t.startswith("bascule_"):
            continue
        cs = insp.get_columns(t)
        cols[t] = {c["name"] for c in cs}
        not_null[t] = {c["name"] for c in cs if not c.get("nullable", True)}
    refuse_cagette(cols)
    shape, reasons = detect_camap_shape(cols)
    md = MetaData()
    tables = {t: Table(t, md, autoload_with=bind) for t in migration.order}
    for tbl in tables.values():
        for c in tbl.columns:  # DOUBLE as float, not Decimal
            if getattr(c.type, "asdecimal", False):
                c.type.asdecimal = False
    return TargetInfo(
        backend=backend(bind),
        shape=shape,
        shape_reasons=reasons,
        columns={t: [c.name for c in tables[t].columns] for t in tables},
        not_null=not_null,
        has_bookkeeping=IDMAP in names and RUN in names and GROUP in names,
        has_idblock=IDBLOCK in names,
        has_chunks=CHUNK in names,
        legacy_bookkeeping=GROUP in names and "source" not in {
            c["name"] for c in insp.get_columns(GROUP)},
        tables=tables,
    )


def refuse_source_as_target(source: Engine, target: Engine) -> None:
    """Refuse (SettingsError, before anything is written) a target that is the source's own
    database, as the servers tell (``Dialect.same_database``), whatever the URLs say."""
    if backend(source) != backend(target):
        return
    dialect = dialect_for(target)
    if dialect.same_database(source, target):
        raise SettingsError(
            f"source and target are the same database ({dialect.describe_database(target)}): "
            "bascule never writes into the database it reads; check target_url and source_url")


def refuse_cagette(cols: dict[str, set[str]]) -> None:
    """A target that is a Cagette database (tables or columns a Camap never has, and none that
    only a Camap has) is refused, as a setting gone wrong: bascule would write into the old
    instance. A database with evidence of both (a Camap that kept some Cagette tables) is not."""
    try:
        kind, evidence = detect_kind(cols, "auto")
    except ShapeError:
        return
    if kind == CAGETTE and (cols.keys() & CAGETTE_ONLY_TABLES or _columns(cols)):
        raise SettingsError(
            "the target is a Cagette database, not a Camap one (" + "; ".join(evidence[:3])
            + "): check target_url (bascule writes only into a Camap database, never into "
            "the instance it reads)")


def _columns(cols: dict[str, set[str]]) -> set[str]:
    """The Cagette-only columns the tables have, as ``table.column``."""
    return {f"{t}.{c}" for t, c in CAGETTE_ONLY_COLUMNS if c in cols.get(t, set())}


def create_camap_schema(engine: Engine, shape: str, migration: Migration = MIGRATION) -> None:
    """Create an empty Camap schema ("2023" or "head") in an empty target database. A current
    Camap's ``migrations`` table is filled as Camap's own dataset step fills it (one row per
    TypeORM migration of that shape, ``schema.camap.CAMAP_MIGRATIONS``), so that Camap's
    ``migration:run`` at startup finds nothing left to do."""
    insp = inspect(engine)
    existing = set(insp.get_table_names())
    if existing & set(migration.order):
        raise TargetError("--create-schema: the target already has Camap tables; not touching it")
    md = camap_metadata(shape)
    md.create_all(engine)
    rows = migration_rows(shape)
    if rows:
        with engine.begin() as conn:
            conn.execute(md.tables["migrations"].insert(), rows)
            dialect_for(engine).fix_sequences(conn, [md.tables["migrations"]])


#: Ids of a table checked at once when only some rows are checked.
FK_CHECK_IDS = 5000


def fk_check_ways(engine: Engine) -> int:
    """Connections that check foreign keys at once: one per core (at most 4) on a server."""
    return max(1, min(4, os.cpu_count() or 1)) if dialect_for(engine).parallel_target else 1


def dangling_foreign_keys(conn: Connection, only: dict[str, set[int] | None] | None = None,
                          engine: Engine | None = None, ways: int = 1,
                          keys: Mapping[str, str] | None = None) -> tuple[int, list[dict]]:
    """Check every declared foreign key of the target's tables (bascule's own excluded): how
    many were checked, and for each one that does not resolve its table, columns, parent table
    and number of rows pointing at nothing. ``only``: the tables to check (of the others no row
    was written), each with the ids of its rows to check (None: every row). With ``engine``,
    the checks run on ``ways`` connections of it at once (``conn`` only reflects). ``keys``:
    for a table without ``id``, the column whose values ``only`` holds (its owner column).

    A whole table is checked one foreign key a statement (the server joins each parent in
    one pass, the statements spread over the connections); rows by id are checked every
    foreign key of their table in one statement per chunk of ids, which finds each row once
    instead of once per key."""
    md = MetaData()
    md.reflect(conn, only=lambda name, _m: not name.startswith("bascule_") and
               (only is None or name in only))
    jobs = []  # (table, [(fk columns, parent)], statements: one count per key each)
    for _name, table in sorted(md.tables.items()):
        if only is not None and table.name not in only:
            continue  # reflected as the parent of a table in ``only``: no row of it written
        ids = None if only is None else only[table.name]
        by = "id" if "id" in table.c else (keys or {}).get(table.name)
        if by is None or by not in table.c:
            ids = None
        fks = [(fk, list(fk.columns)) for fk in table.foreign_key_constraints]
        if ids is None:
            for fk, cols in fks:
                src, dangling = _dangling(table, fk, cols, "p")
                stmt = select(func.count()).select_from(src).where(dangling)
                jobs.append((table.name, [(cols, fk.referred_table.name)], [stmt]))
        elif fks:
            src, counts = table, []
            for k, (fk, cols) in enumerate(fks):
                src, dangling = _dangling(src, fk, cols, f"p{k}")
                counts.append(func.count(case((dangling, 1))))
            base = select(*counts).select_from(src)
            jobs.append((table.name, [(cols, fk.referred_table.name) for fk, cols in fks],
                         [base.where(_id_list(table.c[by], part))
                          for part in chunks(sorted(ids), FK_CHECK_IDS)]))
    results = _run_counts(conn, [s for *_x, stmts in jobs for s in stmts], engine, ways)
    bad: list[dict] = []
    for tname, keyed, stmts in jobs:
        rows, results = results[:len(stmts)], results[len(stmts):]
        for k, (cols, parent) in enumerate(keyed):
            n = sum(int(r[k] or 0) for r in rows)
            if n:
                bad.append({"table": tname, "columns": [c.name for c in cols], "parent": parent,
                            "rows": n})
    return sum(len(keyed) for _t, keyed, _s in jobs), bad


def _dangling(src, fk, cols: list, alias: str):
    """``src`` outer-joined to the parent of ``fk`` (always aliased, so that self-references,
    Operation.relationId, take the same path as the others), and the condition of a row
    whose ``cols`` point at no parent row."""
    p = fk.referred_table.alias(alias)
    pcols = [p.c[e.column.name] for e in fk.elements]
    joined = src.outerjoin(p, and_(*[c == pc for c, pc in zip(cols, pcols)]))
    return joined, and_(*[c.is_not(None) for c in cols], pcols[0].is_(None))


def _run_counts(conn: Connection, stmts: list, engine: Engine | None, ways: int
                ) -> list[tuple]:
    """The one row of each of ``stmts``, in order: on ``conn``, or on ``ways`` connections
    of ``engine`` at once (read-only transactions)."""
    if engine is None or ways < 2 or len(stmts) < 2:
        return [tuple(conn.execute(s).one()) for s in stmts]
    local = threading.local()
    opened: list[Connection] = []
    lock = threading.Lock()

    def one(stmt) -> tuple:
        c = getattr(local, "conn", None)
        if c is None:
            c = local.conn = engine.connect()
            dialect_for(engine).begin_read_only(c)
            with lock:
                opened.append(c)
        return tuple(c.execute(stmt).one())

    try:
        with ThreadPoolExecutor(max_workers=ways, thread_name_prefix="bascule-fk") as ex:
            return list(ex.map(one, stmts))
    finally:
        for c in opened:
            c.rollback()
            c.close()


def _id_list(column, ids: list[int]):
    """``column IN (...)`` with the ids written out: thousands of bound parameters cost more
    to send than the query costs to run."""
    return column.op("IN")(text("(" + ",".join(str(int(i)) for i in ids) + ")"))


@contextmanager
def target_read(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction on the target (plan and verify: nothing is ever written)."""
    conn = engine.connect()
    try:
        dialect_for(engine).begin_read_only(conn)
        yield conn
    finally:
        conn.rollback()
        conn.close()
