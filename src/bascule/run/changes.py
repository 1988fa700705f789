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
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from bascule.extract.checksums import (
    CHUNK,
    chunk_ids,
    chunk_key,
    owner_groups,
    producer_checksum,
    source_checksums,
    supported,
)
from bascule.extract.source import SourceReader
from bascule.load.bookkeeping import Book
from bascule.load.chunks import Checksums, basis, changed_chunks, load_checksums
from bascule.load.idmap import groups_holding
from bascule.load.runlog import settings_fingerprint
from bascule.load.target import TargetInfo
from bascule.model.tables import Migration

log = logging.getLogger(__name__)


@dataclass
class SourceChanges:
    """The source's checksums now, and what differs from the stored ones."""

    sums: Checksums | None = None  # None: this source cannot checksum its rows
    basis: str | None = None
    compared: bool = False  # stored checksums of the same basis were found
    why_not: str | None = None  # why nothing is skipped (compared False)
    changed: dict[str, set[int]] = field(default_factory=dict)  # table → changed chunks
    redo: set[int] = field(default_factory=set)  # groups whose rows changed (compared True)
    shared: dict[str, set[int]] = field(default_factory=dict)  # moved shared rows to re-read
    seconds: float = 0.0
    deferred: bool = False  # the checksums are computed at the end of the run (``complete``)

    def rows(self) -> int:
        return sum(d.rows() for d in (self.sums or {}).values())

    def as_dict(self) -> dict[str, Any]:
        return {"compared": self.compared, "why_not": self.why_not,
                "rows_checksummed": self.rows(),
                "chunks": sum(len(d) for d in (self.sums or {}).values()),
                "changed_chunks": {t: len(c) for t, c in sorted(self.changed.items()) if c},
                "groups_changed": len(self.redo),
                "shared_reread": {t: len(v) for t, v in sorted(self.shared.items()) if v},
                "seconds": round(self.seconds, 3)}


def find_changes(reader: SourceReader, target: Engine, tinfo: TargetInfo, migration: Migration,
                 settings, mojibake: list[str], shared_entries: dict[str, dict],
                 sums: Checksums | None = None) -> SourceChanges:
    """The source's checksums (``sums`` when they were computed already) and, when the stored
    ones can be compared, the groups and shared rows whose source rows changed (see the module
    docstring)."""
    t0 = time.monotonic()
    out = SourceChanges(sums=sums)
    if not supported(reader):
        out.why_not = f"a {reader.info.backend} source has no row checksums here"
        return out
    out.basis = basis(settings_fingerprint(settings), reader.info.shape, tinfo.shape,
                      tinfo.columns, mojibake, producer_checksum(reader))
    book = tinfo.book(settings.source_name)
    if tinfo.has_chunks and tinfo.has_bookkeeping:
        with target.connect() as conn:
            stored_basis, stored = load_checksums(conn, book)
            if stored_basis is None:
                out.why_not = "no checksums from a run that ended clean"
            elif stored_basis != out.basis:
                out.why_not = ("the settings, shapes, bascule's code or the producer "
                               "spaces changed since the last clean run")
            else:
                if out.sums is None:
                    out.sums = source_checksums(reader, migration)
                _compare(out, reader, conn, tinfo, migration, stored, shared_entries, book)
    else:
        out.why_not = "first run"
    # every group moves: the checksums can wait (``complete``)
    out.deferred = out.sums is None
    out.seconds = time.monotonic() - t0
    if out.compared:
        log.info("source checksums: %d rows in %d chunks, %d chunks changed: %d groups and %s "
                 "to move again (%.1f s)", out.rows(), out.as_dict()["chunks"],
                 sum(len(c) for c in out.changed.values()), len(out.redo),
                 ", ".join(f"{len(v)} {t}" for t, v in out.shared.items()) or "no shared row",
                 out.seconds)
    else:
        log.info("every group is moved: %s", out.why_not)
    return out


def complete(out: SourceChanges, reader: SourceReader, migration: Migration) -> None:
    """The source's checksums of a run that moved every group (``deferred``): computed at the
    end of the run, in its snapshot, while the target checks its foreign keys."""
    if not out.deferred:
        return
    t0 = time.monotonic()
    out.sums = source_checksums(reader, migration)
    out.deferred = False
    out.seconds += time.monotonic() - t0
    log.info("source checksums: %d rows (%.1f s), kept for the next run", out.rows(),
             time.monotonic() - t0)


def _compare(out: SourceChanges, reader: SourceReader, conn, tinfo: TargetInfo,
             migration: Migration, stored: Checksums, shared_entries: dict[str, dict],
             book: Book) -> None:
    assert out.sums is not None
    out.compared = True
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
        out.redo |= groups_holding(conn, table, (lambda i: i // CHUNK) if key.ranged else int,
                                   changed, book, blocks=tinfo.has_idblock)
        out.redo |= owner_groups(reader, migration, table,
                                 [chunk_ids(key, c) for c in sorted(changed)])


def _owned(entry: Any) -> bool:
    """A shared row bascule wrote (not a user matched to a target user by e-mail)."""
    return not (isinstance(entry, tuple) and entry[1] is None)
