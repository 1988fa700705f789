"""The id mapping in memory, backed by ``bascule_idmap`` and ``bascule_idblock`` in the target.

Shared rows (User, Vendor, File) are rows of ``bascule_idmap``, kept in memory for the whole run:
every group may reference them. The rows a source group owns are packed in ``bascule_idblock``
(one row per group, table and block of up to ``BLOCK`` entries: arrays of old ids, new ids and
row hashes) and loaded per unit of groups, so memory is bounded by the largest unit, not by the
size of the source, and the target holds a few thousand narrow rows instead of one per moved row.

Each entry is ``(new_id, row_hash, new_key)``: ``row_hash`` is the hash of the row bascule wrote
(``None`` for a user matched to an existing target user, which bascule does not own), ``new_key``
the target key of a composite-key row (``"g,u"``) so that it can be deleted later.
"""

from __future__ import annotations

import hashlib
import struct
import sys
from array import array
from collections.abc import Iterable, Iterator, Sequence
from itertools import repeat
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from bascule.extract.source import SHARED_TABLES
from bascule.load.bookkeeping import GROUP, IDBLOCK, IDMAP, bookkeeping_metadata

Entry = tuple[int, int | None, str | None]  # new_id, row_hash, new_key

#: Entries per bascule_idblock row (3 arrays of 8 bytes each: 192 KiB at most per row).
BLOCK = 8192


def _pack(values: Iterable[int]) -> bytes:
    a = array("q", values)
    if sys.byteorder != "little":
        a.byteswap()
    return a.tobytes()


def _unpack(data: bytes | memoryview) -> array:
    a = array("q")
    a.frombytes(bytes(data))
    if sys.byteorder != "little":
        a.byteswap()
    return a


def pack_blocks(group_id: int, table: str, entries: dict[int, Entry], run_id: int
                ) -> list[tuple]:
    """The bascule_idblock rows of one group's entries of one table, sorted by old id:
    (group_id, table_name, block, run_id, n, max_new_id, old_ids, new_ids, row_hashes,
    new_keys)."""
    olds = sorted(entries)
    out = []
    for b, i in enumerate(range(0, len(olds), BLOCK)):
        part = olds[i:i + BLOCK]
        ents = [entries[o] for o in part]
        keys = [e[2] for e in ents]
        out.append((
            group_id, table, b, run_id, len(part), max(e[0] for e in ents),
            _pack(part), _pack(e[0] for e in ents),
            _pack(0 if e[1] is None else e[1] for e in ents),
            None if all(k is None for k in keys) else "\n".join(k or "" for k in keys),
        ))
    return out


def unpack_block(old_ids, new_ids, row_hashes, new_keys) -> Iterator[tuple[int, Entry]]:
    """(old_id, entry) of one bascule_idblock row (zipped in C: no Python loop per entry)."""
    keys = repeat(None) if new_keys is None else (k or None for k in new_keys.split("\n"))
    return zip(_unpack(old_ids), zip(_unpack(new_ids), _unpack(row_hashes), keys))


def key_hash(table: str, key: Sequence[Any]) -> int:
    """A stable positive 63-bit id for a composite-key row (used as its ``old_id``)."""
    h = hashlib.blake2b(repr((table, tuple(key))).encode(), digest_size=8).digest()
    return struct.unpack(">q", h)[0] & 0x7FFF_FFFF_FFFF_FFFF


_blake2b = hashlib.blake2b
_unpack_q = struct.Struct(">q").unpack


def row_hash(values: Sequence[Any]) -> int:
    """A signed 64-bit hash of a transformed row (what was written), stable across runs.

    ``repr`` of the tuple is deterministic for the value types rows carry (int, float, str,
    bytes, date, datetime, None); one blake2b call per row keeps it cheap.
    """
    d = hashlib.blake2b(repr(tuple(values)).encode("utf-8", "surrogatepass"),
                        digest_size=8).digest()
    return struct.unpack(">q", d)[0]


def text_hash(encoded: str | bytes) -> int:
    """A signed 64-bit hash of a row as the writer sends it (its COPY line or SQL literal): the
    encoding is made anyway, and hashing its text costs a fraction of ``row_hash``'s ``repr``
    (dates and floats format slowly). Only compared with hashes of the same target."""
    b = encoded if isinstance(encoded, bytes) else encoded.encode("utf-8", "surrogatepass")
    return _unpack_q(_blake2b(b, digest_size=8).digest())[0]


@dataclass
class IdMap:
    """old id → entry, per table."""

    shared: dict[str, dict[int, Entry]]

    @classmethod
    def empty(cls) -> "IdMap":
        return cls({t: {} for t in SHARED_TABLES})

    @classmethod
    def load_shared(cls, conn: Connection | None) -> "IdMap":
        m = cls.empty()
        if conn is None:
            return m
        t = bookkeeping_metadata().tables[IDMAP]
        stmt = select(t.c.table_name, t.c.old_id, t.c.new_id, t.c.row_hash).where(
            t.c.table_name.in_(SHARED_TABLES)
        )
        for tn, old, new, h in conn.execute(stmt):
            m.shared[tn][int(old)] = (int(new), None if h is None else int(h), None)
        return m

    def get_shared(self, table: str, old: int) -> Entry | None:
        return self.shared[table].get(old)


def load_group_entries(
    conn: Connection | None, group_ids: Iterable[int], *, blocks: bool = True
) -> tuple[dict[str, dict[int, Entry]], dict[str, dict[int, int]]]:
    """Entries of the group-scoped rows of these source groups (table → old id → entry) and
    their owners (table → old id → source group), from bascule_idblock and from bascule_idmap
    rows that name a group (the layout before the packed blocks, folded into blocks when the
    group is written again)."""
    out: dict[str, dict[int, Entry]] = {}
    owner: dict[str, dict[int, int]] = {}
    if conn is None:
        return out, owner
    md = bookkeeping_metadata()
    t, blk = md.tables[IDMAP], md.tables[IDBLOCK]
    ids = list(group_ids)
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        stmt = select(
            t.c.table_name, t.c.old_id, t.c.new_id, t.c.row_hash, t.c.new_key, t.c.group_id
        ).where(t.c.group_id.in_(part))
        for tn, old, new, h, nk, g in conn.execute(stmt):
            out.setdefault(tn, {})[int(old)] = (int(new), None if h is None else int(h), nk)
            owner.setdefault(tn, {})[int(old)] = int(g)
        if not blocks:
            continue
        stmt = select(blk.c.table_name, blk.c.group_id, blk.c.old_ids, blk.c.new_ids,
                      blk.c.row_hashes, blk.c.new_keys).where(blk.c.group_id.in_(part))
        for tn, g, o, n, h, k in conn.execute(stmt):
            entries = dict(unpack_block(o, n, h, k))
            out.setdefault(tn, {}).update(entries)
            owner.setdefault(tn, {}).update(dict.fromkeys(entries, int(g)))
    return out, owner


def max_new_ids(conn: Connection | None, *, blocks: bool = True) -> dict[str, int]:
    """Highest new id bascule ever allocated per table (ids of rows since deleted included)."""
    if conn is None:
        return {}
    md = bookkeeping_metadata()
    t, blk = md.tables[IDMAP], md.tables[IDBLOCK]
    out: dict[str, int] = {}
    stmt = select(t.c.table_name, func.max(t.c.new_id)).group_by(t.c.table_name)
    queries = [stmt]
    if blocks:
        queries.append(select(blk.c.table_name, func.max(blk.c.max_new_id))
                       .group_by(blk.c.table_name))
    for q in queries:
        for tn, m in conn.execute(q):
            out[tn] = max(out.get(tn, 0), int(m or 0))
    return out


def done_groups():
    """SELECT of the source groups whose rows count as moved (status 'done')."""
    grp = bookkeeping_metadata().tables[GROUP]
    return select(grp.c.source_group_id).where(grp.c.status == "done")


def moved_entries(conn: Connection, table: str, *, blocks: bool = True
                  ) -> Iterator[tuple[int, int, int | None]]:
    """(old_id, new_id, source group or None) of every moved row of one table: shared rows,
    and the rows of groups whose status is 'done'. Streams block by block (not sorted)."""
    md = bookkeeping_metadata()
    t, blk = md.tables[IDMAP], md.tables[IDBLOCK]
    done = done_groups()
    q = select(t.c.old_id, t.c.new_id, t.c.group_id).where(
        t.c.table_name == table, (t.c.group_id.is_(None)) | t.c.group_id.in_(done))
    for old, new, g in conn.execute(q):
        yield int(old), int(new), None if g is None else int(g)
    if not blocks:
        return
    q = select(blk.c.group_id, blk.c.old_ids, blk.c.new_ids).where(
        blk.c.table_name == table, blk.c.group_id.in_(done))
    for g, o, n in conn.execute(q):
        yield from zip(_unpack(o), _unpack(n), repeat(int(g)))
