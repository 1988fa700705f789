"""Removing from the target what bascule wrote for one source group (``bascule rollback``).

The id map says what bascule wrote: the group's rows (``bascule_idblock``, and the
one-row-per-entry rows of older targets in ``bascule_idmap``) with the hash of each row as it was
sent, and the shared rows (users, vendors, files) in ``bascule_idmap``. ``plan_removal`` reads,
in the caller's transaction:

- the target rows of the group, every column; each is encoded as the writer encodes it and
  hashed: a hash that is not the stored one is a row changed since (``changed``); a row the id
  map has and the target no longer has is only counted (``missing``);
- the rows that reference a row to be removed and are not removed themselves, through every
  foreign key the target declares (moved tables and Camap's others), to a fixpoint: rows added
  since (``added``; their own rows are read too: ``--force`` removes them with the group, else
  the foreign keys would stop the delete, or an ON DELETE CASCADE would take them silently);
- the shared rows those rows reference (foreign keys, and the ids inside text columns that the
  model describes) that bascule owns (a user matched by e-mail to a user the target had,
  ``row_hash`` NULL, is never removed) and that no remaining row references (foreign keys, the
  model's text and polymorphic references): those go too; the others are ``kept``, with why.

``delete_removal`` then deletes, children before parents (an order found from the target's
foreign keys; a nullable column of a cycle, ``Group.placeId``, ``Operation.relationId``, is set
NULL first), by key lists in chunks, and checks that each delete matched the rows read.
``forget_group`` removes the group's id map, its ``bascule_group`` row and the entries of the
shared rows removed (those of every source: another source that matched a user by e-mail to a
user this one moved no longer has it). Nothing here commits: the caller holds one transaction
per group. Everything reads the bookkeeping of one source (``Book``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from itertools import combinations
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import MetaData, Table, and_, select, tuple_
from sqlalchemy.engine import Connection

from bascule.dbutil import chunks
from bascule.load.bookkeeping import GROUP, IDBLOCK, IDMAP, Book
from bascule.load.dialects import dialect_for
from bascule.load.idmap import load_group_entries
from bascule.model.tables import Migration
from bascule.plan.hashing import written_hash
from bascule.transform.rows import ids_in_text

Key = tuple
#: Keys per SELECT / DELETE / UPDATE statement.
CHUNK = 1000
#: A chunk of ids is read by range when the range holds at most this many ids per id asked for.
RANGE_DENSITY = 2
#: ``encoders(table, columns)``: the writer's encoder of those columns (``load.apply.row_encoders``).
Encoders = Callable[[str, tuple[str, ...]], Callable | None]


class RemoveError(Exception):
    """The target did not let bascule remove what it read (a row changed meanwhile)."""


@dataclass(frozen=True)
class Reference:
    """A row (``table``, ``key``) whose ``column`` holds the id of ``parent`` row ``parent_id``."""

    table: str
    key: Key
    column: str
    parent: str
    parent_id: int

    def as_dict(self) -> dict:
        return {"table": self.table, "id": _show(self.key), "column": self.column,
                "parent": self.parent, "parent_id": self.parent_id}


class TargetTables:
    """Every table of the target (bascule's own apart), reflected, with their keys and the
    foreign keys between them."""

    def __init__(self, conn: Connection, migration: Migration) -> None:
        md = MetaData()
        md.reflect(conn, only=lambda name, _m: not name.startswith("bascule_"))
        self.migration = migration
        self.tables: dict[str, Table] = dict(md.tables)
        for t in self.tables.values():
            for c in t.columns:  # DOUBLE as float, as inspect_target reads them
                if getattr(c.type, "asdecimal", False):
                    c.type.asdecimal = False
        #: child table → [(column, parent table, nullable)], single-column keys to ``id``
        self.fks_of: dict[str, list[tuple[str, str, bool]]] = defaultdict(list)
        #: parent table → [(child table, column)]
        self.fks_to: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for name, t in sorted(self.tables.items()):
            for fk in t.foreign_key_constraints:
                if len(fk.elements) != 1 or fk.elements[0].column.name != "id":
                    continue
                col = fk.elements[0].parent
                parent = fk.referred_table.name
                self.fks_of[name].append((col.name, parent, bool(col.nullable)))
                self.fks_to[parent].append((name, col.name))

    def key(self, table: str) -> tuple[str, ...]:
        if table in self.migration:
            return self.migration.key(table)
        t = self.tables[table]
        return tuple(c.name for c in t.primary_key.columns) or tuple(c.name for c in t.columns)

    def columns(self, table: str) -> list[str]:
        return [c.name for c in self.tables[table].columns]


@dataclass
class Removal:
    """What removing one group takes (see the module docstring)."""

    group: int
    owned: dict[str, dict[Key, int | None]] = field(default_factory=dict)  # key → stored hash
    rows: dict[str, dict[Key, tuple]] = field(default_factory=dict)  # every row to delete
    shared: dict[str, dict[int, int]] = field(default_factory=dict)  # table → new id → old id
    changed: list[tuple[str, Key]] = field(default_factory=list)
    added: list[Reference] = field(default_factory=list)
    kept: list[dict] = field(default_factory=list)  # shared rows kept, and why
    missing: dict[str, int] = field(default_factory=dict)  # in the id map, gone from the target

    def counts(self) -> dict[str, int]:
        return {t: len(r) for t, r in sorted(self.rows.items()) if r}

    def keys(self) -> dict[str, set[Key]]:
        return {t: set(r) for t, r in self.rows.items()}


def _show(key: Key) -> Any:
    return key[0] if len(key) == 1 else list(key)


# -- the id map ---------------------------------------------------------------------------------


def owned_rows(conn: Connection, group_id: int, migration: Migration, book: Book, *,
               blocks: bool = True) -> dict[str, dict[Key, int | None]]:
    """Table → target key → stored row hash, of every row the id map holds for one group."""
    found = load_group_entries(conn, [group_id], book, blocks=blocks)
    out: dict[str, dict[Key, int | None]] = {}
    for t, entries in found.entries.items():
        if t not in migration:
            continue
        comp = migration[t].composite
        d = out.setdefault(t, {})
        for new, h, nk in entries.values():
            key = tuple(int(x) for x in nk.split(",")) if comp else (int(new),)
            d[key] = h
    return out


def shared_owned(conn: Connection, table: str, new_ids: Iterable[int], book: Book
                 ) -> dict[int, tuple[int, int | None]]:
    """new id → (old id, row hash) of the shared rows of ``table`` in the source's id map."""
    t = book.table(IDMAP)
    out: dict[int, tuple[int, int | None]] = {}
    for part in chunks(sorted(set(new_ids)), CHUNK):
        q = select(t.c.new_id, t.c.old_id, t.c.row_hash).where(
            book.mine(t), t.c.table_name == table, t.c.group_id.is_(None), t.c.new_id.in_(part))
        for new, old, h in conn.execute(q):
            out[int(new)] = (int(old), None if h is None else int(h))
    return out


# -- reading target rows ------------------------------------------------------------------------


def read_rows(conn: Connection, tt: TargetTables, table: str, keys: Iterable[Key]
              ) -> dict[Key, tuple]:
    """Key → every column (``tt.columns(table)``) of the target rows of these keys."""
    dialect = dialect_for(conn)
    key_cols = list(tt.key(table))
    cols = tt.columns(table)
    ks = sorted(keys, key=lambda k: tuple(-1 if x is None else x for x in k))
    out: dict[Key, tuple] = {}
    for part in chunks(ks, CHUNK):
        out.update(dialect.fetch_by_ids(conn, tt.tables[table], key_cols, cols, list(part),
                                        RANGE_DENSITY))
    return out


def lock_rows(conn: Connection, tt: TargetTables, table: str, keys: Iterable[Key]) -> None:
    """SELECT ... FOR UPDATE of these rows (a no-op on SQLite, whose writer locks the file):
    a row Camap inserts meanwhile that references one of them waits for the rollback's commit,
    then fails its foreign key, instead of being taken by an ON DELETE CASCADE unseen."""
    t = tt.tables[table]
    kc = list(tt.key(table))
    for part in chunks(sorted(keys), CHUNK):
        conn.execute(select(*[t.c[c] for c in kc]).where(_key_in(t, kc, part))
                     .with_for_update()).fetchall()


def changed_rows(tt: TargetTables, table: str, rows: dict[Key, tuple],
                 stored: dict[Key, int | None], hash_columns: tuple[str, ...],
                 encoders: Encoders) -> list[Key]:
    """The rows whose values differ from what bascule wrote: no spelling of their values hashes
    to the stored hash (``written_hash``, as the planner stored it; ``as_written``)."""
    cols = tt.columns(table)
    idx = [cols.index(c) for c in hash_columns]
    encode = encoders(table, hash_columns)
    floats = [j for j, c in enumerate(hash_columns) if _is_float(tt.tables[table].c[c])]
    out = []
    for key, vals in rows.items():
        want = stored.get(key)
        if want is None:
            continue
        if not as_written(tuple(vals[i] for i in idx), want, encode, floats):
            out.append(key)
    return sorted(out)


#: The integral floats of a row tried as integers, at most (2**n spellings).
MAX_SPELLINGS = 10


def as_written(row: tuple, want: int, encode, floats: Sequence[int]) -> bool:
    """Whether the target's values ``row`` are what bascule wrote, whose hash is ``want``. The
    target gives back the values it stores, not always as bascule sent them: a whole number
    sent to a DOUBLE column (a 0 filled for NULL, an INT of the source) reads back as a float,
    and its text differs ("0" against "0.0"). So the row's integral floats (the columns at
    ``floats``) are tried as integers too, each alone and together: the same stored values
    spelled as bascule may have sent them. Only on a mismatch (a real change costs up to
    2**``MAX_SPELLINGS`` hashes)."""
    if written_hash(row, encode)[0] == want:
        return True
    whole = [j for j in floats if isinstance(row[j], float) and row[j].is_integer()
             and abs(row[j]) < 2**53][:MAX_SPELLINGS]
    for n in range(1, len(whole) + 1):
        for some in combinations(whole, n):
            alt = list(row)
            for j in some:
                alt[j] = int(alt[j])
            if written_hash(tuple(alt), encode)[0] == want:
                return True
    return False


def _is_float(col) -> bool:
    try:
        return col.type.python_type is float
    except NotImplementedError:
        return False


# -- references ---------------------------------------------------------------------------------


def references(conn: Connection, tt: TargetTables, parent: str, ids: Iterable[int],
               skip: dict[str, set[Key]]) -> list[Reference]:
    """The rows, not in ``skip``, that reference these ids of ``parent`` by a foreign key."""
    ids = sorted(set(ids))
    out: list[Reference] = []
    if not ids:
        return out
    for child, col in tt.fks_to.get(parent, ()):
        t = tt.tables[child]
        kcols = [t.c[c] for c in tt.key(child)]
        mine = skip.get(child, set())
        for part in chunks(ids, CHUNK):
            q = select(*kcols, t.c[col]).where(t.c[col].in_(part))
            for r in conn.execute(q):
                key = tuple(r[:-1])
                if key not in mine:
                    out.append(Reference(child, key, col, parent, int(r[-1])))
    return out


def text_references(conn: Connection, tt: TargetTables, parent: str, ids: Iterable[int],
                    skip: dict[str, set[Key]]) -> list[Reference]:
    """The rows of moved tables, not in ``skip``, whose text or polymorphic columns (the
    model's csv, json and poly references) hold these ids of ``parent``."""
    wanted = set(ids)
    out: list[Reference] = []
    if not wanted:
        return out
    for spec in tt.migration:
        if spec.name not in tt.tables:
            continue
        t = tt.tables[spec.name]
        kcols = [t.c[c] for c in tt.key(spec.name)]
        mine = skip.get(spec.name, set())
        for col, ref in spec.refs.items():
            if ref.kind == "fk" or parent not in ref.tables() or col not in t.c:
                continue
            if ref.kind == "poly":
                vals = [v for v, pt in ref.paths if pt == parent]
                q = select(*kcols, t.c[col]).where(t.c[ref.by].in_(vals),
                                                   t.c[col].in_(sorted(wanted)))
                rows = ((tuple(r[:-1]), [(parent, r[-1])]) for r in conn.execute(q))
            else:
                q = select(*kcols, t.c[col]).where(t.c[col].is_not(None))
                rows = ((tuple(r[:-1]), ids_in_text(spec.name, col, ref, r[-1]))
                        for r in conn.execute(q))
            for key, found in rows:
                if key in mine:
                    continue
                for pt, i in found:
                    if pt == parent and i in wanted:
                        out.append(Reference(spec.name, key, col, parent, int(i)))
    return out


def shared_refs_of(tt: TargetTables, table: str, row: tuple) -> Iterable[tuple[str, int]]:
    """(shared table, id) that one target row refers to: its foreign keys, and for a moved
    table the ids in its text columns."""
    cols = tt.columns(table)
    shared = set(tt.migration.shared)
    for col, parent, _n in tt.fks_of.get(table, ()):
        v = row[cols.index(col)]
        if parent in shared and v is not None:
            yield parent, int(v)
    if table not in tt.migration:
        return
    for col, ref in tt.migration[table].refs.items():
        if ref.kind in ("fk", "poly") or col not in cols or not set(ref.tables()) & shared:
            continue
        v = row[cols.index(col)]
        if v is not None:
            yield from ((t, int(i)) for t, i in ids_in_text(table, col, ref, v) if t in shared)


# -- what removing one group takes --------------------------------------------------------------


def plan_removal(conn: Connection, tt: TargetTables, group_id: int,
                 hash_columns: Callable[[str], tuple[str, ...]], encoders: Encoders, book: Book,
                 *, blocks: bool = True, lock: bool = False) -> Removal:
    """Everything removing ``group_id`` takes, read in the caller's transaction (see the module
    docstring). ``hash_columns(table)``: the columns bascule writes (its row hashes' columns).
    ``lock``: the group's rows are locked first (``lock_rows``), before anything is read."""
    rm = Removal(group_id, owned=owned_rows(conn, group_id, tt.migration, book, blocks=blocks))
    for t in tt.migration.order:
        stored = rm.owned.get(t)
        if not stored or t not in tt.tables:
            continue
        if lock and tt.key(t) == ("id",):
            lock_rows(conn, tt, t, stored)
        rows = read_rows(conn, tt, t, stored)
        rm.rows[t] = rows
        if len(rows) < len(stored):
            rm.missing[t] = len(stored) - len(rows)
        rm.changed += [(t, k) for k in changed_rows(tt, t, rows, stored, hash_columns(t),
                                                     encoders)]
    _add_referencing(conn, tt, rm, rm.rows)
    _add_shared(conn, tt, rm, hash_columns, encoders, book)
    return rm


def _add_referencing(conn: Connection, tt: TargetTables, rm: Removal,
                     frontier: dict[str, dict[Key, tuple]]) -> None:
    """The rows that reference rows of the removal and are not in it (rows added since), read
    and added to it, to a fixpoint."""
    while frontier:
        skip = rm.keys()
        found: dict[str, set[Key]] = defaultdict(set)
        for parent, rows in frontier.items():
            if tt.key(parent) != ("id",):
                continue
            for ref in references(conn, tt, parent, (k[0] for k in rows), skip):
                if ref.key not in found[ref.table]:
                    rm.added.append(ref)
                found[ref.table].add(ref.key)
        frontier = {}
        for t, keys in found.items():
            rows = read_rows(conn, tt, t, keys)
            rm.rows.setdefault(t, {}).update(rows)
            frontier[t] = rows


def _add_shared(conn: Connection, tt: TargetTables, rm: Removal,
                hash_columns: Callable[[str], tuple[str, ...]], encoders: Encoders,
                book: Book) -> None:
    """The shared rows the removal references that bascule owns and nothing else references:
    vendors first (their files and users become candidates in turn)."""
    order = sorted(tt.migration.shared, key=lambda t: (t != "Vendor", t))
    for table in order:
        wanted = {i for t, rows in rm.rows.items() for row in rows.values()
                  for st, i in shared_refs_of(tt, t, row) if st == table}
        if not wanted or table not in tt.tables:
            continue
        owned = shared_owned(conn, table, wanted, book)  # the others: rows the target had
        matched = sorted(i for i, (_o, h) in owned.items() if h is None)
        rm.kept += [{"table": table, "id": i, "reason": "matched by e-mail to a user the "
                     "target already had: not bascule's"} for i in matched]
        ours = sorted(i for i, (_o, h) in owned.items() if h is not None)
        skip = rm.keys()
        used: dict[int, Reference] = {}
        for ref in references(conn, tt, table, ours, skip) + \
                text_references(conn, tt, table, ours, skip):
            used.setdefault(ref.parent_id, ref)
        for i, ref in sorted(used.items()):
            rm.kept.append({"table": table, "id": i, "reason": f"still referenced by "
                            f"{ref.table} id {_show(ref.key)} ({ref.column})"})
        gone = [i for i in ours if i not in used]
        if not gone:
            continue
        rows = read_rows(conn, tt, table, [(i,) for i in gone])
        stored = {(i,): owned[i][1] for i in gone}
        rm.changed += [(table, k) for k in changed_rows(tt, table, rows, stored,
                                                         hash_columns(table), encoders)]
        rm.rows.setdefault(table, {}).update(rows)
        rm.owned.setdefault(table, {}).update(stored)
        rm.shared[table] = {i: owned[i][0] for i in gone if (i,) in rows}
        if len(rows) < len(gone):
            rm.missing[table] = rm.missing.get(table, 0) + len(gone) - len(rows)


# -- deleting -----------------------------------------------------------------------------------


def delete_order(tt: TargetTables, tables: Iterable[str]
                 ) -> tuple[list[str], list[tuple[str, str]]]:
    """(tables children first, (table, column) to set NULL first): a table goes once no
    remaining table references it; a cycle (``Group.placeId`` ↔ ``Place.groupId``) is cut at a
    nullable column, and a self-reference (``Operation.relationId``) is always set NULL."""
    left = set(tables)
    nulls = [(t, c) for t in sorted(left) for c, p, n in tt.fks_of.get(t, ()) if p == t]
    cut = set(nulls)
    order: list[str] = []
    while left:
        parents = {p for t in left for c, p, _n in tt.fks_of.get(t, ())
                   if p in left and p != t and (t, c) not in cut}
        free = sorted(t for t in left if t not in parents)
        if free:
            order += free
            left -= set(free)
            continue
        cand = [(t, c) for t in sorted(left, key=_load_rank(tt)) for c, p, n in
                tt.fks_of.get(t, ()) if n and p in left and p != t and (t, c) not in cut
                and _reaches(tt, p, t, left, cut)]
        if not cand:
            raise RemoveError("no order deletes " + ", ".join(sorted(left)) + ": their "
                              "foreign keys form a cycle of NOT NULL columns")
        t0 = cand[0][0]
        for t, c in cand:
            if t == t0:
                cut.add((t, c))
                nulls.append((t, c))
    return order, nulls


def _reaches(tt: TargetTables, start: str, goal: str, left: set[str],
             cut: set[tuple[str, str]]) -> bool:
    """True when ``start`` references ``goal`` through remaining tables (a cycle)."""
    seen, todo = {start}, [start]
    while todo:
        t = todo.pop()
        for c, p, _n in tt.fks_of.get(t, ()):
            if p == goal and (t, c) not in cut:
                return True
            if p in left and p not in seen and (t, c) not in cut:
                seen.add(p)
                todo.append(p)
    return False


def _load_rank(tt: TargetTables) -> Callable[[str], tuple]:
    order = {t: i for i, t in enumerate(tt.migration.order)}
    return lambda t: (order.get(t, len(order)), t)


def _key_in(t: Table, key_cols: Sequence[str], keys: Sequence[Key]):
    if len(key_cols) == 1:
        return t.c[key_cols[0]].in_([k[0] for k in keys])
    return tuple_(*[t.c[c] for c in key_cols]).in_([tuple(k) for k in keys])


def delete_removal(conn: Connection, tt: TargetTables, rm: Removal) -> dict[str, int]:
    """Delete every row of the removal, children first (see ``delete_order``); rows deleted per
    table. Raises RemoveError when a delete does not match the rows read (changed meanwhile)."""
    keys = {t: sorted(rows, key=lambda k: tuple(-1 if x is None else x for x in k))
            for t, rows in rm.rows.items() if rows}
    order, nulls = delete_order(tt, keys)
    for t, col in nulls:
        tbl, kc = tt.tables[t], tt.key(t)
        for part in chunks(keys[t], CHUNK):
            conn.execute(tbl.update().where(and_(_key_in(tbl, kc, part),
                                                 tbl.c[col].is_not(None))).values({col: None}))
    out: dict[str, int] = {}
    for t in order:
        tbl, kc = tt.tables[t], tt.key(t)
        n = 0
        for part in chunks(keys[t], CHUNK):
            n += conn.execute(tbl.delete().where(_key_in(tbl, kc, part))).rowcount
        if n != len(keys[t]):
            raise RemoveError(f"{t}: {n} rows deleted, {len(keys[t])} expected (rows changed "
                              "while the rollback ran?)")
        out[t] = n
    return out


def forget_group(conn: Connection, group_id: int, shared: dict[str, dict[int, int]],
                 book: Book) -> None:
    """The group's id map (blocks and one-row entries), its ``bascule_group`` row and the
    entries of the shared rows removed with it (``shared``: table → new id → old id), of every
    source: no id map may point at a row that is gone."""
    idmap, blk, grp = book.table(IDMAP), book.table(IDBLOCK), book.table(GROUP)
    if conn.dialect.has_table(conn, IDBLOCK):
        conn.execute(blk.delete().where(book.mine(blk), blk.c.group_id == group_id))
    conn.execute(idmap.delete().where(book.mine(idmap), idmap.c.group_id == group_id))
    for t, ids in shared.items():
        for part in chunks(sorted(ids), CHUNK):
            conn.execute(idmap.delete().where(idmap.c.table_name == t,
                                              idmap.c.group_id.is_(None),
                                              idmap.c.new_id.in_(part)))
    conn.execute(grp.delete().where(book.mine(grp), grp.c.source_group_id == group_id))
