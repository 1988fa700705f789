"""The source's chunk checksums kept in the target (``bascule_chunk``), and the basis they hold
for: what else decides the rows a group becomes (the settings that choose and shape rows, both
shapes, bascule's version and the code of its transform, the producer-space tables). Checksums
of another basis are not used: the run then moves every group again, as a first run would."""

from __future__ import annotations

import functools
import hashlib
import json
from array import array
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from bascule import __version__
from bascule.load.bookkeeping import CHUNK, RUN, Book
from bascule.load.bulk import BulkWriter
from bascule.load.idmap import BLOCK, pack, unpack


class TableSums:
    """One table's chunk checksums: chunk numbers, row counts and sums of CRCs, three int64
    arrays (24 bytes a chunk; the dict of tuples it replaces took about 150, and a rerun's
    parent holds two copies when it forks its workers). Filled by ``extend`` in any order,
    then ``sorted``: by chunk, each chunk once. ``whole``: the server's checksum of the whole
    table taken in the same snapshot (``Dialect.table_checksum``), or None: while it stays
    the same, the next run takes these chunk sums as they are instead of computing them."""

    __slots__ = ("chunks", "counts", "sums", "whole")

    def __init__(self, chunks: array | None = None, counts: array | None = None,
                 sums: array | None = None, whole: int | None = None):
        self.chunks = chunks if chunks is not None else array("q")
        self.counts = counts if counts is not None else array("q")
        self.sums = sums if sums is not None else array("q")
        self.whole = whole

    def extend(self, chunks: Iterable[int], counts: Iterable[int], sums: Iterable[int]) -> None:
        self.chunks.extend(chunks)
        self.counts.extend(counts)
        self.sums.extend(sums)

    def sorted(self) -> TableSums:
        """By chunk, the pairs of a chunk seen more than once (a table read in several id
        ranges) added up; itself when it is so already."""
        c = self.chunks
        if all(a < b for a, b in zip(c, c[1:])):
            return self
        out = TableSums(whole=self.whole)
        for i in sorted(range(len(c)), key=c.__getitem__):
            if out.chunks and out.chunks[-1] == c[i]:
                out.counts[-1] += self.counts[i]
                out.sums[-1] += self.sums[i]
            else:
                out.extend((c[i],), (self.counts[i],), (self.sums[i],))
        return out

    def __len__(self) -> int:
        return len(self.chunks)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TableSums) and self.chunks == other.chunks \
            and self.counts == other.counts and self.sums == other.sums

    def rows(self) -> int:
        return sum(self.counts)


#: table → its chunk checksums (sorted), as ``extract.checksums`` computes them
Checksums = dict[str, TableSums]


def changed_chunks(now: TableSums | None, before: TableSums | None) -> set[int]:
    """The chunks whose pair differs between two sorted checksums of a table (None: the table
    has none), or that only one of them has: a merge walk, equal arrays compared at C speed."""
    now, before = now or TableSums(), before or TableSums()
    if now == before:
        return set()
    a, b = now.chunks, before.chunks
    out: set[int] = set()
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            if now.counts[i] != before.counts[j] or now.sums[i] != before.sums[j]:
                out.add(a[i])
            i += 1
            j += 1
        elif a[i] < b[j]:
            out.add(a[i])
            i += 1
        else:
            out.add(b[j])
            j += 1
    out.update(a[i:])
    out.update(b[j:])
    return out


#: The key of the run summary that names the basis of the checksums that run stored.
BASIS_KEY = "checksum_basis"

#: The key of the run summary that keeps the whole-table checksums of the chunk sums that run
#: stored: {"statements": the digest of the statements that computed the chunk sums,
#: "tables": {table: whole}}.
WHOLE_KEY = "table_checksums"


def wholes(sums: Checksums, statements: str) -> dict:
    """What ``WHOLE_KEY`` keeps of ``sums``, computed by the statements of digest
    ``statements``."""
    return {"statements": statements,
            "tables": {t: d.whole for t, d in sorted(sums.items()) if d.whole is not None}}


#: The packages whose code decides the rows a group becomes.
_CODE = ("model", "plan", "transform")


@functools.cache
def code_digest() -> str:
    """A digest of the code of ``_CODE``: a bascule changed between two runs (not only its
    version) moves every group again."""
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent
    for pkg in _CODE:
        for f in sorted((root / pkg).rglob("*.py")):
            h.update(f.relative_to(root).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def basis(fingerprint: str, source_shape: str, target_shape: str, target_columns: dict,
          mojibake: list[str], producers: list) -> str:
    """A digest of everything besides the source rows that decides what a group becomes."""
    d = {"version": __version__, "code": code_digest(), "settings": fingerprint,
         "source": source_shape,
         "target": target_shape, "mojibake": sorted(mojibake), "producers": producers,
         "columns": {t: sorted(c) for t, c in sorted(target_columns.items())}}
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:32]


def store_checksums(engine: Engine, run_id: int, sums: Checksums, book: Book) -> None:
    """Replace the source's stored checksums by ``sums`` (one transaction)."""
    t = book.table(CHUNK)
    rows = []
    for tn, d in sorted(sums.items()):
        for part, i in enumerate(range(0, len(d), BLOCK)):
            ks = d.chunks[i:i + BLOCK]
            rows.append((book.source, tn, part, run_id, len(ks), pack(ks),
                         pack(d.counts[i:i + BLOCK]), pack(d.sums[i:i + BLOCK])))
    with engine.begin() as conn:
        conn.execute(t.delete().where(book.mine(t)))
        if rows:
            BulkWriter(conn).insert(t, ("source", "table_name", "part", "run_id", "n", "chunks",
                                        "counts", "sums"), rows)


def load_checksums(conn: Connection, book: Book, statements: str | None = None
                   ) -> tuple[str | None, Checksums]:
    """(basis, checksums) of the source as stored; basis None when there are none, or when the
    run that stored them did not close (its summary names no basis). The tables' ``whole``
    checksums are set when they were kept by statements of digest ``statements``."""
    t, run = book.table(CHUNK), book.table(RUN)
    run_id = conn.execute(select(func.max(t.c.run_id)).where(book.mine(t))).scalar()
    if run_id is None:
        return None, {}
    summary = conn.execute(select(run.c.summary).where(run.c.id == run_id)).scalar()
    try:
        kept = json.loads(summary or "{}")
    except ValueError:
        kept = {}
    b = kept.get(BASIS_KEY) if isinstance(kept, dict) else None
    if b is None:
        return None, {}
    whole = kept.get(WHOLE_KEY) or {}
    known = whole.get("tables", {}) if statements is not None \
        and whole.get("statements") == statements else {}
    out: Checksums = {}
    for tn, ks, ns, ss in conn.execute(select(t.c.table_name, t.c.chunks, t.c.counts, t.c.sums)
                                       .where(book.mine(t))
                                       .order_by(t.c.table_name, t.c.part)):
        out.setdefault(tn, TableSums(whole=known.get(tn))).extend(unpack(ks), unpack(ns),
                                                                  unpack(ss))
    return b, {tn: d.sorted() for tn, d in out.items()}
