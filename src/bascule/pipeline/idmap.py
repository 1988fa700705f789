"""The id mapping in memory, backed by ``bascule_idmap`` in the target.

Shared rows (User, Vendor, File) are kept for the whole run: every group may reference them.
Group-scoped rows are loaded per batch of groups (``group_id IN (...)``), so memory is bounded by
the largest batch, not by the size of the source.

Each entry is ``(new_id, row_hash, new_key)``: ``row_hash`` is the hash of the row bascule wrote
(``None`` for a user matched to an existing target user, which bascule does not own), ``new_key``
the target key of a composite-key row (``"g,u"``) so that it can be deleted later.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from bascule.extract.source import SHARED_TABLES
from bascule.load.bookkeeping import IDMAP, bookkeeping_metadata

Entry = tuple[int, int | None, str | None]  # new_id, row_hash, new_key


def key_hash(table: str, key: Sequence[Any]) -> int:
    """A stable positive 63-bit id for a composite-key row (used as its ``old_id``)."""
    h = hashlib.blake2b(repr((table, tuple(key))).encode(), digest_size=8).digest()
    return struct.unpack(">q", h)[0] & 0x7FFF_FFFF_FFFF_FFFF


def row_hash(values: Sequence[Any]) -> int:
    """A signed 64-bit hash of a transformed row (what was written), stable across runs.

    ``repr`` of the tuple is deterministic for the value types rows carry (int, float, str,
    bytes, date, datetime, None); one blake2b call per row keeps it cheap.
    """
    d = hashlib.blake2b(repr(tuple(values)).encode("utf-8", "surrogatepass"),
                        digest_size=8).digest()
    return struct.unpack(">q", d)[0]


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
    conn: Connection | None, group_ids: Iterable[int]
) -> tuple[dict[str, dict[int, Entry]], dict[tuple[str, int], int]]:
    """Entries of the group-scoped rows of these source groups, per table, and their owners."""
    out: dict[str, dict[int, Entry]] = {}
    owner: dict[tuple[str, int], int] = {}
    if conn is None:
        return out, owner
    t = bookkeeping_metadata().tables[IDMAP]
    ids = list(group_ids)
    for i in range(0, len(ids), 500):
        stmt = select(
            t.c.table_name, t.c.old_id, t.c.new_id, t.c.row_hash, t.c.new_key, t.c.group_id
        ).where(t.c.group_id.in_(ids[i : i + 500]))
        for tn, old, new, h, nk, g in conn.execute(stmt):
            out.setdefault(tn, {})[int(old)] = (int(new), None if h is None else int(h), nk)
            owner[(tn, int(old))] = int(g)
    return out, owner


def max_new_ids(conn: Connection | None) -> dict[str, int]:
    """Highest new id bascule ever allocated per table (ids of rows since deleted included)."""
    if conn is None:
        return {}
    t = bookkeeping_metadata().tables[IDMAP]
    stmt = select(t.c.table_name, func.max(t.c.new_id)).group_by(t.c.table_name)
    return {tn: int(m or 0) for tn, m in conn.execute(stmt)}
