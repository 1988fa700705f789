"""What changed in the source since the last clean run: the groups a rerun must move again.

The source's server checksums every moved table by chunks (``extract.checksums``); the target
keeps the checksums of the last run that ended with every selected group done
(``load.chunks``). A chunk whose (rows, CRC sum) differs holds a row that was added, deleted or
changed: the groups that own its rows move again, both those that owned them at the last run
(from the id map) and those that own them now (from the source). A group that owns no row of a
changed chunk is left as it is: a fresh run would write exactly the rows it already has. The
moved users, vendors and files of a changed chunk are read and compared again too.

Nothing is skipped when the checksums cannot tell: a source engine without row checksums, no
stored checksums (the first run, or a run that did not end clean), or stored ones of another
basis (other settings, shapes, bascule version or transform code, producer-space tables).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection, Engine

from bascule.extract.checksums import (
    CHUNK,
    chunk_ids,
    chunk_key,
    largest_first,
    owner_groups,
    producer_checksum,
    source_checksums,
    statements_digest,
    supported,
    table_checksums,
)
from bascule.extract.source import SourceReader
from bascule.load.bookkeeping import Book
from bascule.load.chunks import Checksums, basis, changed_chunks, load_checksums
from bascule.load.idmap import groups_holding
from bascule.load.runlog import settings_fingerprint
from bascule.load.target import TargetInfo
from bascule.model.tables import Migration
from bascule.run.report import Progress

log = logging.getLogger(__name__)


@dataclass
class SourceChanges:
    """The source's checksums now, and what differs from the stored ones."""

    sums: Checksums | None = None  # None: this source cannot checksum its rows
    basis: str | None = None
    statements: str | None = None  # the digest of the statements of the chunk sums
    tables_unchanged: int = 0  # tables whose stored chunk sums were taken (whole checksum)
    compared: bool = False  # stored checksums of the same basis were found
    why_not: str | None = None  # why nothing is skipped (compared False)
    changed: dict[str, set[int]] = field(default_factory=dict)  # table → changed chunks
    redo: set[int] = field(default_factory=set)  # groups whose rows changed (compared True)
    shared: dict[str, set[int]] = field(default_factory=dict)  # moved shared rows to re-read
    seconds: float = 0.0
    deferred: bool = False  # the checksums are computed at the end of the run (``complete``)
    beside: Beside | None = None  # or in a thread beside the units (``start_beside``)

    def rows(self) -> int:
        return sum(d.rows() for d in (self.sums or {}).values())

    def as_dict(self) -> dict[str, Any]:
        return {"compared": self.compared, "why_not": self.why_not,
                "rows_checksummed": self.rows(),
                "chunks": sum(len(d) for d in (self.sums or {}).values()),
                "changed_chunks": {t: len(c) for t, c in sorted(self.changed.items()) if c},
                "groups_changed": len(self.redo),
                "tables_unchanged": self.tables_unchanged,
                "shared_reread": {t: len(v) for t, v in sorted(self.shared.items()) if v},
                "seconds": round(self.seconds, 3)}


def find_changes(reader: SourceReader, target: Engine, tinfo: TargetInfo, migration: Migration,
                 settings, mojibake: list[str], shared_entries: dict[str, dict],
                 ahead: Precomputed | None = None) -> SourceChanges:
    """The source's checksums (``ahead``: computed already, ``rerun_checksums``) and, when the
    stored ones can be compared, the groups and shared rows whose source rows changed (see the
    module docstring)."""
    t0 = time.monotonic()
    out = SourceChanges(sums=ahead.sums if ahead is not None else None)
    if not supported(reader):
        out.why_not = f"a {reader.info.backend} source has no row checksums here"
        return out
    out.basis = basis(settings_fingerprint(settings), reader.info.shape, tinfo.shape,
                      tinfo.columns, mojibake, producer_checksum(reader))
    out.statements = ahead.statements if ahead is not None \
        else statements_digest(reader, migration)
    book = tinfo.book(settings.source_name)
    if tinfo.has_chunks and tinfo.has_bookkeeping:
        with target.connect() as conn:
            stored_basis, kept = (ahead.basis, ahead.stored) if ahead is not None \
                else load_checksums(conn, book, out.statements)
            if stored_basis is None:
                out.why_not = "no checksums from a run that ended clean"
            elif stored_basis != out.basis:
                out.why_not = ("the settings, shapes, bascule's code or the producer "
                               "spaces changed since the last clean run")
            else:
                if out.sums is None:
                    out.sums = source_checksums(reader, migration, reuse=kept)
                out.tables_unchanged = sum(1 for t, d in out.sums.items() if kept.get(t) is d)
                _compare(out, reader, conn, tinfo, migration, kept, shared_entries, book)
    else:
        out.why_not = "first run"
    # every group moves: the checksums can wait (``complete``)
    out.deferred = out.sums is None
    out.seconds = (ahead.seconds if ahead is not None else 0.0) + time.monotonic() - t0
    if out.compared:
        log.info("source checksums: %d rows in %d chunks, %d chunks changed: %d groups and %s "
                 "to move again (%.1f s)", out.rows(), out.as_dict()["chunks"],
                 sum(len(c) for c in out.changed.values()), len(out.redo),
                 ", ".join(f"{len(v)} {t}" for t, v in out.shared.items()) or "no shared row",
                 out.seconds)
    else:
        log.info("every group is moved: %s", out.why_not)
    return out


def stored_checksums(reader: SourceReader, migration: Migration, target: Engine, tinfo: TargetInfo,
                     book: Book) -> tuple[str | None, Checksums, str]:
    """(basis, checksums) stored in the target for this source (``load_checksums``), their
    whole-table checksums kept when the statements of the chunk sums are today's, and the
    digest of today's statements."""
    statements = statements_digest(reader, migration)
    if not (tinfo.has_chunks and tinfo.has_bookkeeping):
        return None, {}, statements
    with target.connect() as conn:
        return (*load_checksums(conn, book, statements), statements)


@dataclass
class Precomputed:
    """The source's checksums of a rerun computed ahead of ``find_changes``
    (``rerun_checksums``), with what the target had stored and the seconds they took."""

    sums: Checksums
    basis: str | None  # the stored ones' (None: nothing to compare with)
    stored: Checksums
    statements: str  # the digest of today's chunk-sum statements
    seconds: float


def rerun_checksums(progress: Progress, reader: SourceReader, migration: Migration,
                    target: Engine, tinfo: TargetInfo, book: Book) -> Precomputed:
    """The source's checksums of a rerun (or of ``verify --changed``): the stored ones read
    (``stored_checksums``), then the source's computed by its server, the stored chunk sums of
    the tables that did not change taken as they are."""
    with progress.phase("checksumming the source"):
        t0 = time.monotonic()
        basis_, stored, statements = stored_checksums(reader, migration, target, tinfo, book)
        sums = source_checksums(reader, migration, reuse=stored)
        return Precomputed(sums, basis_, stored, statements, time.monotonic() - t0)


class Beside:
    """The checksums of a run that moves every group, computed in a thread beside the rest of
    the run, on connections of its snapshot that nothing else reads from (a parallel run's
    spare one, ``SourceReader.spare``). The
    source's server computes them beside the units (from the moment the shared rows are
    found: started earlier, they slowed that search, which nothing overlaps), instead of after
    the last unit, where they lengthened the run's tail
    (beside the indexes, on the same two cores)."""

    def __init__(self, reader: SourceReader, migration: Migration, conns: Sequence[Connection]):
        self.stop = threading.Event()
        self.started = time.monotonic()
        self._ex = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bascule-sums")
        self.conns = list(conns)
        self._done = self._ex.submit(self._sums, reader, migration, self.conns)

    def _sums(self, reader: SourceReader, migration: Migration, conns: list[Connection]
              ) -> tuple[Checksums, float]:
        # without the whole-table checksums: their full scans beside the units evict from the
        # server's cache the pages the units read (a scale-1.0 run into PostgreSQL took 55.5 s
        # against 48.8, medians of 4 interleaved pairs); ``complete`` asks for them after
        sums = source_checksums(reader, migration, on=conns, stop=self.stop, whole=False)
        return sums, time.monotonic() - self.started

    def result(self) -> tuple[Checksums, float]:
        """The checksums and the seconds they took (waits for them; their error is raised)."""
        try:
            return self._done.result()
        finally:
            self._ex.shutdown(wait=True)

    def cancel(self) -> None:
        """Stop (the query running ends first) and wait: the connections are free again."""
        self.stop.set()
        self._ex.shutdown(wait=True)


def start_beside(out: SourceChanges, reader: SourceReader, migration: Migration,
                 conns: Sequence[Connection]) -> None:
    """Start the deferred checksums beside the units, on ``conns`` (none: they wait for the
    end of the run, ``complete``)."""
    if out.deferred and conns and out.beside is None:
        out.beside = Beside(reader, migration, conns)


def drop_beside(out: SourceChanges) -> None:
    """A run that ends without using the checksums started beside it: they are stopped."""
    if out.beside is not None:
        beside, out.beside = out.beside, None
        beside.cancel()


def complete(out: SourceChanges, reader: SourceReader, migration: Migration) -> None:
    """The source's checksums of a run that moved every group (``deferred``): those started
    beside the units, or computed at the end of the run, in its snapshot, while the target
    builds its indexes and checks its foreign keys. The whole-table checksums of the first
    are asked then too, once the units no longer read."""
    if not out.deferred:
        return
    t0 = time.monotonic()
    if out.beside is not None:
        beside, out.beside = out.beside, None
        out.sums, seconds = beside.result()
        waited = time.monotonic() - t0
        t1 = time.monotonic()
        whole = table_checksums(reader, largest_first(reader, list(out.sums)), on=beside.conns)
        for t, d in out.sums.items():
            d.whole = whole.get(t)
        log.info("source checksums: %d rows (%.1f s, beside the units; %.1f s waited for at "
                 "the end; whole tables %.1f s), kept for the next run", out.rows(), seconds,
                 waited, time.monotonic() - t1)
        seconds += time.monotonic() - t1
    else:
        out.sums = source_checksums(reader, migration)
        seconds = time.monotonic() - t0
        log.info("source checksums: %d rows (%.1f s), kept for the next run", out.rows(),
                 seconds)
    out.deferred = False
    out.seconds += seconds


def _compare(out: SourceChanges, reader: SourceReader, conn, tinfo: TargetInfo,
             migration: Migration, stored: Checksums, shared_entries: dict[str, dict],
             book: Book) -> None:
    """The changed chunks of each table, and the groups that own their rows: at their last
    run (the target's id map, read once for every table, in a thread) and in the source now
    (its server, meanwhile)."""
    assert out.sums is not None
    out.compared = True
    asks: dict[str, list[tuple[Callable[[int], int], set[int]]]] = {}
    owners: list[tuple[str, list[tuple[int, int]]]] = []
    for t in migration.order:
        changed = changed_chunks(out.sums.get(t), stored.get(t))
        out.changed[t] = changed
        if not changed:
            continue
        if migration[t].shared:
            out.shared[t] = {i for i, e in shared_entries.get(t, {}).items()
                             if i // CHUNK in changed and _owned(e)}
            continue
        key = chunk_key(migration, t)
        table = key.parent or t
        if table == "Group":
            out.redo |= changed
            continue
        asks.setdefault(table, []).append((_id_chunk if key.ranged else int, changed))
        owners.append((table, [chunk_ids(key, c) for c in sorted(changed)]))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bascule-holders") as ex:
        held = ex.submit(groups_holding, conn, asks, book, blocks=tinfo.has_idblock)
        for table, ranges in owners:
            out.redo |= owner_groups(reader, migration, table, ranges)
        out.redo |= held.result()


def _id_chunk(i: int) -> int:
    """The chunk of a row of a table cut by ranges of ids."""
    return i // CHUNK


def _owned(entry: Any) -> bool:
    """A shared row bascule wrote (not a user matched to a target user by e-mail)."""
    return not (isinstance(entry, tuple) and entry[1] is None)
