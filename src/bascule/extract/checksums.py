"""Checksums of the source's rows, computed by the source's server, so that a rerun finds what
changed without reading the rows (as pt-table-sync does).

Every moved table is cut into chunks (``chunk_key``): a group's rows by the value of their owner
column (the group, catalog, product or multi-distribution they belong to), the users, vendors
and files by ranges of ``CHUNK`` ids. Per chunk the server gives the number of rows and the
sum of a 32-bit CRC of each row's values (``Dialect.row_checksum``): a row added, deleted or
changed changes its chunk's pair. One query per table, run at once on the snapshot's
connections: the checksums see the same instant as every read of the run.

A rerun first asks the server for a checksum of each whole table (``Dialect.table_checksum``:
MariaDB's ``CHECKSUM TABLE``, a third of the chunk sums' cost): a table whose checksum is the
one kept with the stored chunk sums (``reuse``) did not change, and its stored chunk sums are
taken as they are. Only the tables that changed are checksummed by chunks.

``owner_groups`` answers the next question for the chunks that changed: which groups own their
rows now (a join up the owner chain, restricted to the chunks' id ranges).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Connection

from bascule.dbutil import chunks
from bascule.extract.source import SourceReader
from bascule.load.chunks import Checksums, TableSums
from bascule.model.tables import PRODUCER_TABLES, Migration

log = logging.getLogger(__name__)

#: Ids per chunk of a table keyed by id.
CHUNK = 64



@dataclass(frozen=True)
class ChunkKey:
    """How a table is cut: by ``column`` ranges of ``CHUNK`` ids (``ranged``), or by its
    exact value, which is an id of ``parent`` (a composite-key table's owner)."""

    column: str
    ranged: bool
    parent: str | None  # the table that ``column``'s values are ids of (None: the table itself)


def chunk_key(migration: Migration, table: str) -> ChunkKey:
    """A group's rows by their owner row: Group by its id, a table with one owner path by the
    value of its owner column (the group, catalog, product, multi-distribution the row belongs
    to), so that a changed row points at its group alone however the ids of the groups'
    rows interleave; the shared tables, and a table with several owner paths, by id ranges."""
    if table == "Group":
        return ChunkKey("id", False, "Group")
    paths = migration.paths(table)
    if migration[table].shared or len(paths) != 1:
        if migration[table].composite:
            raise ValueError(f"{table}: a composite-key table needs one owner path")
        return ChunkKey("id", True, None)
    return ChunkKey(paths[0].column, False, paths[0].parent)


def chunk_ids(key: ChunkKey, chunk: int) -> tuple[int, int]:
    """The first and last id (of the table or of its parent) that ``chunk`` covers."""
    return (chunk * CHUNK, chunk * CHUNK + CHUNK - 1) if key.ranged else (chunk, chunk)


def supported(reader: SourceReader) -> bool:
    """Whether this source's engine can checksum its rows."""
    t = next(iter(reader.info.tables.values()), None)
    return t is not None and reader.dialect.row_checksum([t.primary_key.columns[0]]) is not None


def _chunk_sums_stmt(reader: SourceReader, migration: Migration, t: str):
    """The statement of table ``t``'s chunk sums: (chunk, rows, sum of CRCs) per chunk."""
    dialect = reader.dialect
    tb = reader.info.tables[t]
    key = chunk_key(migration, t)
    col = tb.c[key.column]
    chunk = dialect.chunk_of(col, CHUNK) if key.ranged else col
    crc = dialect.row_checksum(reader.cols(t))
    return dialect.many_groups(select(chunk.label("chunk"), func.count(), func.sum(crc))
                               .where(col.is_not(None)).group_by(chunk))


def statements_digest(reader: SourceReader, migration: Migration) -> str:
    """A digest of the statements that compute the chunk sums of every moved table: stored
    chunk sums are taken again (``reuse``) only when they were computed by the same ones (the
    same chunks, columns and CRC expression)."""
    h = hashlib.sha256(f"chunk {CHUNK}".encode())
    for t in migration.order:
        if reader.has(t):
            sql = _chunk_sums_stmt(reader, migration, t).compile(
                dialect=reader.engine.dialect, compile_kwargs={"literal_binds": True})
            h.update(f"\n{t}: {sql}".encode())
    return h.hexdigest()[:16]


def table_checksums(reader: SourceReader, tables: Sequence[str], *,
                    on: Sequence[Connection] | None = None,
                    stop: threading.Event | None = None) -> dict[str, int]:
    """The server's checksum of each whole table of ``tables`` (``Dialect.table_checksum``),
    in the snapshot, asked in that order (the largest first: the connections finish
    together); {} when the engine has none."""
    jobs = []
    for t in tables:
        stmt = reader.dialect.table_checksum(reader.info.tables[t])
        if stmt is None:
            return {}
        jobs.append((stmt, t))
    out: dict[str, int] = {}

    reader.run_all(jobs, lambda t, part: _take_whole(out, t, part), on=on, stop=stop)
    return out


def _take_whole(into: dict[str, int], table: str, part) -> None:
    """The checksum of ``table`` from the rows (table name, checksum) the server gave."""
    for r in part:
        if r[1] is not None:
            into[table] = int(r[1])


def largest_first(reader: SourceReader, tables: Sequence[str]) -> list[str]:
    """``tables`` the largest first (by the span of their ids)."""
    return _by_span({t: _id_parts(reader, t, 1) for t in tables})


def _by_span(parts: dict[str, list[tuple[int | None, int]]]) -> list[str]:
    """The tables of ``parts`` (``_id_parts`` of each), the largest span of ids first."""
    span = {t: sum(hi if lo is None else hi - lo for lo, hi in ps) for t, ps in parts.items()}
    return sorted(parts, key=lambda t: -span[t])


def source_checksums(reader: SourceReader, migration: Migration, *,
                     on: Sequence[Connection] | None = None,
                     stop: threading.Event | None = None,
                     reuse: Checksums | None = None, whole: bool = True) -> Checksums:
    """The chunk checksums of every moved table of the source (see the module docstring), on
    the reader's connections or on ``on`` (connections of its snapshot), with each table's
    ``whole`` checksum, the largest tables first. ``reuse``: stored chunk sums (with their
    ``whole``), taken as they are for the tables whose whole checksum is the same now; a table
    whose whole checksum differs has its chunk sums asked at once, before the next tables'
    whole checksums. Every other table's whole checksum is asked just before its chunk sums
    (on one connection, its pages are still in the server's cache); ``whole`` False: none is
    asked (``reuse`` is then not used). ``stop``: set, the queries not started yet are skipped
    and the result is incomplete (the caller drops it)."""
    dialect = reader.dialect
    tables = [t for t in migration.order if reader.has(t)]
    # a large table is cut into one part per connection; on ``on`` (beside the units) into at
    # least ``MIN_PARTS``, so that a stop waits for one part, not for a whole table
    ways = 1 + len(reader.snapshots) if on is None else max(MIN_PARTS, len(on))
    parts = {t: _id_parts(reader, t, ways) for t in tables}
    asks = {t: dialect.table_checksum(reader.info.tables[t]) if whole else None
            for t in tables}
    stored = {t: d for t, d in (reuse or {}).items()
              if t in parts and d.whole is not None and asks[t] is not None}
    kept: Checksums = {}
    wholes: dict[str, int] = {}

    def sums_jobs(t: str) -> list[tuple[Any, tuple]]:
        tb = reader.info.tables[t]
        stmt = _chunk_sums_stmt(reader, migration, t)
        return [(stmt if lo is None else stmt.where(tb.c.id.between(lo, hi)), ("sums", t))
                for lo, hi in parts[t]]  # a large table on every connection

    jobs: list[tuple[Any, tuple]] = []
    for t in _by_span(parts):
        if t in stored:  # its chunk sums only if this one differs (``then``)
            jobs.append((asks[t], ("check", t)))
            continue
        if asks[t] is not None:
            jobs.append((asks[t], ("whole", t)))
        jobs.extend(sums_jobs(t))
    # straight into int64 arrays (``TableSums``): no Python object per chunk outlives its row;
    # a table whose chunk sums are asked has them, rows or not
    out = {t: TableSums() for t in tables if t not in stored}

    def consume(tag: tuple, part) -> None:
        kind, t = tag
        if kind != "sums":
            _take_whole(wholes, t, part)
        else:
            out[t].extend([int(r[0]) for r in part], [int(r[1]) for r in part],
                          [int(r[2] or 0) for r in part])

    def then(tag: tuple) -> list[tuple[Any, tuple]]:
        kind, t = tag
        if kind != "check":
            return []
        if stored[t].whole == wholes.get(t):
            kept[t] = stored[t]
            return []
        out[t] = TableSums()  # before its chunk sums' jobs run
        return sums_jobs(t)

    reader.run_all(jobs, consume, on=on, stop=stop, then=then)
    if kept:
        log.info("source checksums: %d of %d tables unchanged since the last run (their "
                 "whole-table checksum), %d checksummed by chunks", len(kept), len(tables),
                 len(out))
    for t, d in out.items():
        d.whole = wholes.get(t)
    return {t: kept[t] if t in kept else out[t].sorted() for t in tables
            if t in kept or t in out}


#: Tables of more ids than this are checksummed in as many id ranges as there are connections
#: (beside the units: at least ``MIN_PARTS``).
SPLIT_IDS = 200_000
MIN_PARTS = 3


def _id_parts(reader: SourceReader, t: str, ways: int) -> list[tuple[int | None, int]]:
    """[(first id, last id)] of the parts of table ``t``, or [(None, estimated size)]."""
    tb = reader.info.tables[t]
    if "id" not in tb.c:
        return [(None, 0)]
    lo, hi = reader.scalar_rows(select(func.min(tb.c.id), func.max(tb.c.id)))[0]
    if lo is None or ways < 2 or hi - lo < SPLIT_IDS:
        return [(None, 0 if lo is None else hi - lo)]
    step = (hi - lo) // ways + 1
    return [(a, min(hi, a + step - 1)) for a in range(lo, hi + 1, step)]


def producer_checksum(reader: SourceReader) -> list[tuple[str, int, int]]:
    """(table, rows, sum of CRCs) of each producer-space table present: the catalogs' links to
    producer spaces and their users, which decide rows of the groups whose catalogs are linked."""
    out = []
    for t in sorted(PRODUCER_TABLES):
        if not reader.has(t):
            continue
        tb = reader.info.tables[t]
        crc = reader.dialect.row_checksum(list(tb.columns))
        n, s = reader.scalar_rows(select(func.count(), func.sum(crc)))[0]
        out.append((t, int(n), int(s or 0)))
    return out


# -- who owns the rows of a chunk -------------------------------------------------------------


def _owner_selects(reader: SourceReader, migration: Migration, t: str) -> list[tuple]:
    """(FROM clause, group column, condition or None) for each owner path of ``t``, joined up
    to the column that names the group."""
    T = reader.info.tables
    tb = T[t]
    paths = migration.paths(t)
    if not paths:  # Group itself
        return [(tb, tb.c.id, None)]
    out = []
    for p in paths:
        col = tb.c[p.column]
        cond = tb.c[p.by] == p.value if p.by is not None else None
        if p.parent == "Group":
            out.append((tb, col, cond))
            continue
        parent = T[p.parent]
        for pfrom, gcol, pcond in _owner_selects(reader, migration, p.parent):
            both = [c for c in (cond, pcond) if c is not None]
            out.append((tb.join(pfrom, parent.c.id == col), gcol,
                        and_(*both) if both else None))
    return out


def owner_groups(reader: SourceReader, migration: Migration, table: str,
                 id_ranges: Iterable[tuple[int, int]]) -> set[int]:
    """The groups that own, in the source now, the rows of ``table`` whose ids fall in these
    ranges (inclusive)."""
    if table == "Group":
        return {i for lo, hi in id_ranges for i in range(lo, hi + 1)}
    if not reader.has(table):
        return set()
    tb = reader.info.tables[table]
    ranges = sorted(set(id_ranges))
    out: set[int] = set()
    for part in chunks(ranges, 200):
        where = or_(*[tb.c.id.between(lo, hi) if lo != hi else tb.c.id == lo
                      for lo, hi in part])
        for src, gcol, cond in _owner_selects(reader, migration, table):
            stmt = select(gcol).select_from(src).where(where).distinct()
            if cond is not None:
                stmt = stmt.where(cond)
            out.update(int(r[0]) for r in reader.scalar_rows(stmt) if r[0] is not None)
    return out


