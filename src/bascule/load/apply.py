"""Writing one unit's changes: its rows, its id map and its groups' status, in ONE transaction.

``write_changeset`` is all a unit writes. A unit is committed whole or not at all: a run killed
at any point leaves each unit either written with its id map and ``bascule_group`` status, or
absent, and the next run finds exactly what is there.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Table
from sqlalchemy.engine import Engine

from bascule.load.bookkeeping import GROUP, IDBLOCK, IDMAP, Book
from bascule.load.bulk import BulkWriter, LoadError
from bascule.load.dialects import Dialect
from bascule.load.idmap import IDBLOCK_COLUMNS, IDMAP_COLUMNS, pack_blocks
from bascule.model.tables import Migration
from bascule.plan.changeset import ChangeSet

#: PostgreSQL rows go as COPY text built by bascule: each row is encoded once, when the unit is
#: built, and its row hash is that text's (cheaper than hashing the values apart).
PG_COPY = "text"

#: The columns of a bascule_group row.
GROUP_COLUMNS = ("source", "source_group_id", "target_group_id", "name", "status", "run_id",
                 "rows", "updated_at", "error", "identity")

#: Called with the unit's number after it is written and before it is committed. Empty in a
#: real run; the kill tests put a pause here to SIGKILL the process at that point.
BEFORE_COMMIT: list[Callable[[int], None]] = []


@dataclass(frozen=True)
class UnitLoad:
    """How the units of one run are written."""

    migration: Migration
    tables: dict[str, Table]  # the target's, reflected
    dialect: Dialect
    run_id: int
    source: str  # the source_name: every bookkeeping row written says it
    defer_fks: bool = False  # write without row-by-row FK checks (fk_checks=after)
    prune: bool = False  # delete what was deleted from the source
    rerun: bool = True  # the target may hold id blocks of these groups already
    #: source group id → its identity in the source (``run.preflight.group_identities``)
    identities: dict[int, str | None] = field(default_factory=dict)


def row_encoders(engine: Engine, tables: dict[str, Table]
                 ) -> Callable[[str, tuple[str, ...]], Callable | None]:
    """``encoders(table, columns)``: how ``write_changeset`` encodes rows of ``table`` (None:
    the writer does not encode them ahead), made once per table. The plan encodes rows with it
    so that its row hashes are the ones migrate writes."""
    cache: dict[tuple, Callable | None] = {}

    def encoder(table: str, columns: tuple[str, ...]) -> Callable | None:
        key = (table, tuple(columns))
        if key not in cache:
            with engine.connect() as conn:  # the MySQL literal escapes as this connection does
                cache[key] = BulkWriter(conn, pg_copy=PG_COPY).row_encoder(tables[table],
                                                                           columns)
        return cache[key]
    return encoder


def write_changeset(engine: Engine, cs: ChangeSet, load: UnitLoad, unit_no: int) -> None:
    """Write one unit (rows, id map, group status) in ONE target transaction."""
    book = Book(load.source)
    try:
        _write_unit(engine, cs, load, unit_no, book)
    except LoadError as e:  # named by the source's id, not the target id never committed
        e.named_by_source(source_id_of(cs, e))
        raise


def source_id_of(cs: ChangeSet, e: LoadError) -> int | None:
    """The source id of the row ``e`` names by its target ``id`` (a row of this unit)."""
    new_id = e.key.get("id")
    if new_id is None:
        return None
    for entry in (*cs.new_entries, *cs.changed_entries):
        if entry.table == e.table and entry.new_id == new_id:
            return entry.old_key
    return None


def _write_unit(engine: Engine, cs: ChangeSet, load: UnitLoad, unit_no: int, book: Book
                ) -> None:
    with engine.begin() as conn:
        # foreign keys checked once at the end of the run (fk_checks=after), except in a
        # unit that deletes (ON DELETE actions are foreign-key triggers on PostgreSQL)
        checked = not (load.defer_fks and not (load.prune and cs.deletes))
        load.dialect.set_fk_checks(conn, checked)
        w = BulkWriter(conn, pg_copy=PG_COPY)
        second = _write_rows(w, cs, load, two_pass=checked)
        for t, pairs in second:
            _second_pass(w, load.tables[t], pairs)
        if load.prune:
            _prune(w, cs, load)
        _write_idmap(w, cs, load, book.table(IDMAP), book.table(IDBLOCK))
        _write_groups(w, cs.results.values(), load, book.table(GROUP))
        for hook in BEFORE_COMMIT:
            hook(unit_no)


def _write_rows(w: BulkWriter, cs: ChangeSet, load: UnitLoad, two_pass: bool = True
                ) -> list[tuple[str, list]]:
    """Inserts and updates in load order. ``two_pass`` (the foreign keys are checked row by
    row): the two-pass columns are written NULL first and returned, (table, [(column, id,
    value)]), for the second pass; without the row-by-row checks (checked once at the end)
    every row is written whole, once, as it was encoded."""
    second = []
    for t in load.migration.order:
        ch = cs.tables.get(t)
        if ch is None or not ch.columns:
            continue
        cols = ch.columns
        ins, upd, ins_enc, upd_enc = ch.inserts, ch.updates, ch.inserts_enc, ch.updates_enc
        deferred = [c for c in load.migration[t].two_pass if c in cols] if two_pass else []
        if deferred and (ins or upd):
            ins_enc = upd_enc = None  # rows changed below: encoded by the writer
            idx = [cols.index(c) for c in deferred]
            key = cols.index("id")
            second.append((t, [(c, vals[key], vals[i]) for vals in ins + upd
                               for c, i in zip(deferred, idx) if vals[i] is not None]))
            ins = [tuple(None if i in idx else v for i, v in enumerate(vals)) for vals in ins]
            upd = [tuple(None if i in idx else v for i, v in enumerate(vals)) for vals in upd]
        table = load.tables[t]
        if ins:
            w.insert(table, cols, ins, encoded=ins_enc)
        if upd:
            w.upsert(table, cols, upd, key=list(load.migration.key(t)), encoded=upd_enc)
    return second


def _second_pass(w: BulkWriter, table: Table, pairs: list[tuple[str, int, object]]) -> None:
    by_col: dict[str, list] = defaultdict(list)
    for c, k, v in pairs:
        by_col[c].append((k, v))
    for c, kv in by_col.items():
        w.update(table, ["id"], [c], kv)


def _prune(w: BulkWriter, cs: ChangeSet, load: UnitLoad) -> None:
    """Delete the rows gone from the source, children first."""
    for t in reversed(load.migration.order):
        dels = cs.deletes.get(t)
        if not dels:
            continue
        key = load.migration.key(t)
        if load.migration[t].composite:
            w.delete(load.tables[t], list(key),
                     [tuple(int(x) for x in nk.split(",")) for _o, _n, nk in dels])
        else:
            w.delete(load.tables[t], ["id"], [(n,) for _o, n, _k in dels])


def _write_idmap(w: BulkWriter, cs: ChangeSet, load: UnitLoad, idmap: Table, idblock: Table
                 ) -> None:
    """Shared rows one row each in bascule_idmap; the groups' rows packed in bascule_idblock
    (every block of a changed group is rewritten, and its rows of the one-row-per-entry layout
    are folded into the blocks)."""
    run, src = load.run_id, load.source
    new = [(src, *e, run) for e in cs.new_entries if e.group is None]
    if new:
        w.insert(idmap, IDMAP_COLUMNS, new)
    changed = [(src, *e, run) for e in cs.changed_entries if e.group is None]
    if changed:
        w.upsert(idmap, IDMAP_COLUMNS, changed, key=["source", "table_name", "old_id"])
    if not cs.group_entries:
        return
    groups = sorted(cs.group_entries)
    if load.rerun:
        keys = [(src, g) for g in groups]
        w.delete(idblock, ["source", "group_id"], keys)
        w.delete(idmap, ["source", "group_id"], keys)
    blocks = [blk for g in groups for t, entries in sorted(cs.group_entries[g].items())
              if entries for blk in pack_blocks(src, g, t, entries, run)]
    if blocks:
        w.insert(idblock, IDBLOCK_COLUMNS, blocks)


def _write_groups(w: BulkWriter, results, load: UnitLoad, group_t: Table) -> None:
    """The unit's groups are done (bascule_group), with their identity in the source."""
    now = dt.datetime.now().replace(microsecond=0)
    ids = load.identities
    rows = [(load.source, r.source_id, r.target_id, (r.name or "")[:128], "done", load.run_id,
             r.rows_written, now, None, ids.get(r.source_id)) for r in results]
    if rows:
        w.upsert(group_t, GROUP_COLUMNS, rows, key=["source", "source_group_id"])


def record_failure(engine: Engine, group_id: int, name: str, error: str, load: UnitLoad,
                   before: dict | None) -> None:
    """A group failed and was rolled back: say so in bascule_group (a group done by an earlier
    run, ``before``, stays done, with its rows)."""
    group_t = Book(load.source).table(GROUP)
    with engine.begin() as conn:
        BulkWriter(conn).upsert(group_t, GROUP_COLUMNS, [(
            load.source, group_id, before["target_group_id"] if before else None,
            (name or "")[:128], "done" if before and before["status"] == "done" else "failed",
            load.run_id, before["rows"] if before else 0,
            dt.datetime.now().replace(microsecond=0), error[:60000],
            load.identities.get(group_id))], key=["source", "source_group_id"])
