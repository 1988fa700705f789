"""The id map in the target: the only code that reads or writes the layout of ``bascule_idmap``
and ``bascule_idblock`` (see ``load.bookkeeping`` for the contract).

Shared rows (User, Vendor, File) are rows of ``bascule_idmap``, kept in memory for the whole run:
every group may reference them. The rows a source group owns are packed in ``bascule_idblock``
(one row per group, table and block of up to ``BLOCK`` entries: arrays of old ids, new ids and
row hashes) and loaded per unit of groups, so memory is bounded by the largest unit, not by the
size of the source, and the target holds a few thousand narrow rows instead of one per moved row.

A group's ``bascule_idmap`` rows (the one-row-per-entry layout that targets written before the
blocks still hold) are read like its blocks, and folded into blocks when the group is written
again.

Every function reads the rows of one source (``Book``: the ``source_name`` setting), except
``max_new_ids``: ids are allocated above what any source ever got.
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import repeat

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from bascule.load.bookkeeping import GROUP, IDBLOCK, IDMAP, Book
from bascule.plan.changeset import Entry, ExistingEntries

#: Entries per bascule_idblock row (3 arrays of 8 bytes each: 192 KiB at most per row).
BLOCK = 8192

#: The columns of a bascule_idblock row, in the order ``pack_blocks`` gives them.
IDBLOCK_COLUMNS = ("source", "group_id", "table_name", "block", "run_id", "n", "max_new_id",
                   "old_ids", "new_ids", "row_hashes", "new_keys")
#: The columns of a bascule_idmap row.
IDMAP_COLUMNS = ("source", "table_name", "old_id", "new_id", "group_id", "row_hash", "new_key",
                 "run_id")


def pack(values: Iterable[int]) -> bytes:
    """Integers as a little-endian signed 64-bit array. A list or tuple of ints goes through
    ``struct`` (about 280 instructions an int, against 430 for ``array``, which parses each
    int as a function argument); an ``array`` is copied as it is."""
    if isinstance(values, array):
        a = array("q", values)
        if sys.byteorder != "little":
            a.byteswap()
        return a.tobytes()
    v = values if isinstance(values, (list, tuple)) else list(values)
    return struct.pack(f"<{len(v)}q", *v)


def unpack(data: bytes | memoryview) -> array:
    """The integers of ``pack``."""
    a = array("q")
    a.frombytes(bytes(data))
    if sys.byteorder != "little":
        a.byteswap()
    return a


def pack_blocks(source: str, group_id: int, table: str, entries: dict[int, Entry], run_id: int
                ) -> list[tuple]:
    """The bascule_idblock rows of one group's entries of one table, sorted by old id
    (``IDBLOCK_COLUMNS``)."""
    olds = sorted(entries)
    out = []
    for b, i in enumerate(range(0, len(olds), BLOCK)):
        part = olds[i:i + BLOCK]
        news, hashes, keys = zip(*map(entries.__getitem__, part))  # columns, in C
        out.append((
            source, group_id, table, b, run_id, len(part), max(news),
            pack(part), pack(news), pack([h or 0 for h in hashes]),  # None (matched user): 0
            None if keys.count(None) == len(keys) else "\n".join([k or "" for k in keys]),
        ))
    return out


def unpack_block(old_ids, new_ids, row_hashes, new_keys) -> Iterator[tuple[int, Entry]]:
    """(old_id, entry) of one bascule_idblock row (zipped in C: no Python loop per entry)."""
    keys = repeat(None) if new_keys is None else (k or None for k in new_keys.split("\n"))
    return zip(unpack(old_ids), zip(unpack(new_ids), unpack(row_hashes), keys))


def load_shared(conn: Connection | None, tables: Sequence[str], book: Book
                ) -> dict[str, dict[int, Entry]]:
    """The entries of the shared rows (every row of bascule_idmap of these tables)."""
    out: dict[str, dict[int, Entry]] = {t: {} for t in tables}
    if conn is None:
        return out
    t = book.table(IDMAP)
    stmt = select(t.c.table_name, t.c.old_id, t.c.new_id, t.c.row_hash).where(
        book.mine(t), t.c.table_name.in_(tables))
    for tn, old, new, h in conn.execute(stmt):
        out[tn][int(old)] = (int(new), None if h is None else int(h), None)
    return out


def load_group_entries(conn: Connection | None, group_ids: Iterable[int], book: Book, *,
                       blocks: bool = True) -> ExistingEntries:
    """Entries of the group-scoped rows of these source groups and their owners, from
    bascule_idblock and from bascule_idmap rows that name a group."""
    found = ExistingEntries()
    if conn is None:
        return found
    out, owner = found.entries, found.owners
    t, blk = book.table(IDMAP), book.table(IDBLOCK)
    ids = list(group_ids)
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        stmt = select(t.c.table_name, t.c.old_id, t.c.new_id, t.c.row_hash, t.c.new_key,
                      t.c.group_id).where(book.mine(t), t.c.group_id.in_(part))
        for tn, old, new, h, nk, g in conn.execute(stmt):
            out.setdefault(tn, {})[int(old)] = (int(new), None if h is None else int(h), nk)
            owner.setdefault(tn, {})[int(old)] = int(g)
        if not blocks:
            continue
        stmt = select(blk.c.table_name, blk.c.group_id, blk.c.old_ids, blk.c.new_ids,
                      blk.c.row_hashes, blk.c.new_keys).where(book.mine(blk),
                                                              blk.c.group_id.in_(part))
        for tn, g, o, n, h, k in conn.execute(stmt):
            entries = dict(unpack_block(o, n, h, k))
            out.setdefault(tn, {}).update(entries)
            owner.setdefault(tn, {}).update(dict.fromkeys(entries, int(g)))
    return found


def max_new_ids(conn: Connection | None, book: Book, *, blocks: bool = True) -> dict[str, int]:
    """Highest new id bascule ever allocated per table, for any source (ids of rows since
    deleted included)."""
    if conn is None:
        return {}
    t, blk = book.table(IDMAP), book.table(IDBLOCK)
    out: dict[str, int] = {}
    queries = [select(t.c.table_name, func.max(t.c.new_id)).group_by(t.c.table_name)]
    if blocks:
        queries.append(select(blk.c.table_name, func.max(blk.c.max_new_id))
                       .group_by(blk.c.table_name))
    for q in queries:
        for tn, m in conn.execute(q):
            out[tn] = max(out.get(tn, 0), int(m or 0))
    return out


def done_groups(book: Book):
    """SELECT of the source's groups whose rows count as moved (status 'done')."""
    grp = book.table(GROUP)
    return select(grp.c.source_group_id).where(book.mine(grp), grp.c.status == "done")


def moved_entries(conn: Connection, table: str, book: Book, *, blocks: bool = True
                  ) -> Iterator[tuple[int, int, int | None]]:
    """(old_id, new_id, source group or None) of every moved row of one table: shared rows,
    and the rows of groups whose status is 'done'. Streams block by block (not sorted)."""
    t, blk = book.table(IDMAP), book.table(IDBLOCK)
    done = done_groups(book)
    q = select(t.c.old_id, t.c.new_id, t.c.group_id).where(
        book.mine(t), t.c.table_name == table,
        (t.c.group_id.is_(None)) | t.c.group_id.in_(done))
    for old, new, g in conn.execute(q):
        yield int(old), int(new), None if g is None else int(g)
    if not blocks:
        return
    q = select(blk.c.group_id, blk.c.old_ids, blk.c.new_ids).where(
        book.mine(blk), blk.c.table_name == table, blk.c.group_id.in_(done))
    for g, o, n in conn.execute(q):
        yield from zip(unpack(o), unpack(n), repeat(int(g)))


def groups_holding(conn: Connection, asks: dict[str, list[tuple[Callable[[int], int], set[int]]]],
                   book: Book, *, blocks: bool = True) -> set[int]:
    """The source groups whose id map holds a row of a table of ``asks`` whose old id falls in
    one of the chunks wanted of it (``asks``: table → (``chunk_of(old id)``, the chunks)): the
    owners, at their last run, of rows that changed since. The id map is read once for every
    table (its blocks are not indexed by table: each reading scans them all)."""
    asks = {t: [(f, w) for f, w in a if w] for t, a in asks.items()}
    asks = {t: a for t, a in asks.items() if a}
    if not asks:
        return set()

    def holds(table: str, olds: Iterable[int]) -> bool:
        ask = asks[table]
        if len(ask) == 1:
            chunk_of, wanted = ask[0]
            return not wanted.isdisjoint(map(chunk_of, olds))
        ids = list(olds)
        return any(not wanted.isdisjoint(map(chunk_of, ids)) for chunk_of, wanted in ask)

    t, blk = book.table(IDMAP), book.table(IDBLOCK)
    out: set[int] = set()
    q = select(t.c.table_name, t.c.old_id, t.c.group_id).where(
        book.mine(t), t.c.table_name.in_(sorted(asks)), t.c.group_id.is_not(None))
    for tn, old, g in conn.execute(q):
        if int(g) not in out and holds(tn, (int(old),)):
            out.add(int(g))
    if not blocks:
        return out
    q = select(blk.c.table_name, blk.c.group_id, blk.c.old_ids).where(
        book.mine(blk), blk.c.table_name.in_(sorted(asks)))
    for tn, g, o in conn.execute(q):
        g = int(g)
        if g not in out and holds(tn, unpack(o)):
            out.add(g)
    return out


def owned_old_ids(conn: Connection, book: Book, *, blocks: bool = True) -> dict[str, set[int]]:
    """Table → the source ids of every row bascule moved from this source (shared and group
    rows)."""
    t, blk = book.table(IDMAP), book.table(IDBLOCK)
    out: dict[str, set[int]] = {}
    for tn, old in conn.execute(select(t.c.table_name, t.c.old_id).where(book.mine(t))):
        out.setdefault(tn, set()).add(int(old))
    if blocks:
        for tn, o in conn.execute(select(blk.c.table_name, blk.c.old_ids)
                                  .where(book.mine(blk))):
            out.setdefault(tn, set()).update(unpack(o))
    return out
