"""What planning one unit of work hands to the load: the rows to insert, update and delete per
table, the id-map entries, the groups' results. Plain values, no connection.

``plan.build`` makes a :class:`ChangeSet` from what ``extract`` read (``UnitRead``) and what the
previous runs wrote (:class:`ExistingEntries`, read by ``load.idmap``); ``load.apply`` writes it
in one transaction; ``run.verify`` compares its ``expected`` rows with the target's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, NamedTuple

#: An id-map entry as stored: (new id, row hash, new key). ``row_hash`` is the hash of the row
#: bascule wrote (None for a user matched to an existing target user, which bascule does not
#: own); ``new_key`` the target key of a composite-key row ("g,u"), so that it can be deleted.
Entry = tuple[int, "int | None", "str | None"]

COUNT_KINDS = ("insert", "update", "unchanged", "delete", "dropped")


class IdMapEntry(NamedTuple):
    """One row's id-map entry, new or changed in this unit."""

    table: str
    old_key: int  # the source id, or the hash of a composite source key
    new_id: int  # 0 for a composite-key row
    group: int | None  # the owning source group; None for a shared row
    row_hash: int | None
    new_key: str | None


@dataclass
class TableCounts:
    insert: int = 0
    update: int = 0
    unchanged: int = 0
    delete: int = 0
    dropped: int = 0

    def add(self, other: "TableCounts") -> None:
        for k in COUNT_KINDS:
            setattr(self, k, getattr(self, k) + getattr(other, k))

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in COUNT_KINDS}

    @property
    def written(self) -> int:
        return self.insert + self.update + self.delete


@dataclass
class GroupResult:
    source_id: int
    name: str
    target_id: int | None = None
    status: str = "pending"  # planned | done | failed
    tables: dict[str, TableCounts] = field(default_factory=lambda: defaultdict(TableCounts))
    linked_catalogs: list[dict] = field(default_factory=list)
    error: str | None = None
    seconds: float | None = None  # its share of its unit's read, build and write time

    def as_dict(self) -> dict[str, Any]:
        return {
            "source_id": self.source_id,
            "name": self.name,
            "target_id": self.target_id,
            "status": self.status,
            "tables": {t: c.as_dict() for t, c in sorted(self.tables.items())},
            "linked_catalogs": self.linked_catalogs,
            "error": self.error,
            "seconds": self.seconds,
        }

    @property
    def rows_written(self) -> int:
        return sum(c.written for c in self.tables.values())


@dataclass
class ExistingEntries:
    """What previous runs wrote for the groups of a unit: table → old key → entry, and the
    source group that owns each of them."""

    entries: dict[str, dict[int, Entry]] = field(default_factory=dict)
    owners: dict[str, dict[int, int]] = field(default_factory=dict)


@dataclass
class TableChanges:
    """The rows of one table to write, as tuples in ``columns`` order, with the same rows as the
    writer sends them (``BulkWriter.row_encoder``; None where not encoded)."""

    columns: tuple[str, ...]
    inserts: list[tuple] = field(default_factory=list)
    inserts_enc: list = field(default_factory=list)
    updates: list[tuple] = field(default_factory=list)
    updates_enc: list = field(default_factory=list)


@dataclass
class Expected:
    """verify: the rows the target must hold (table → target key → (source key, values)) and
    the source rows that have no id-map entry."""

    rows: dict[str, dict[tuple, tuple]] = field(default_factory=lambda: defaultdict(dict))
    missing: dict[str, set] = field(default_factory=lambda: defaultdict(set))


@dataclass
class ChangeSet:
    """Everything one unit writes, in one target transaction (``load.apply``)."""

    results: dict[int, GroupResult]
    tables: dict[str, TableChanges] = field(default_factory=dict)  # in load order
    #: rows gone from the source since the last run: table → [(old key, new id, new key)]
    deletes: dict[str, list[tuple]] = field(default_factory=lambda: defaultdict(list))
    new_entries: list[IdMapEntry] = field(default_factory=list)
    changed_entries: list[IdMapEntry] = field(default_factory=list)
    #: the whole id map of each group whose entries changed (load packs it in blocks)
    group_entries: dict[int, dict[str, dict[int, Entry]]] = field(default_factory=dict)
    shared_counts: dict[str, TableCounts] = field(default_factory=lambda: defaultdict(TableCounts))
    email_matches: list[dict] = field(default_factory=list)
    #: users whose email2 coincides with another user's email (or the reverse): not merged
    email_conflicts: list[dict] = field(default_factory=list)
    #: plan: values of the rows to write that the target refuses (``plan.values``)
    refused: list[dict] = field(default_factory=list)
    expected: Expected | None = None
