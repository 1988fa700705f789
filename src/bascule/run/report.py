"""What a plan or migrate run reports (the JSON and Markdown reports render its ``as_dict``),
and the progress display interface."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from bascule.plan.changeset import GroupResult, TableCounts


@dataclass
class RunReport:
    command: str  # plan | migrate
    dry_run: bool
    started_at: str
    source: dict
    target: dict
    settings: dict
    groups: list[GroupResult] = field(default_factory=list)
    shared: dict[str, TableCounts] = field(default_factory=lambda: defaultdict(TableCounts))
    notes: list[dict] = field(default_factory=list)
    email_matches: list[dict] = field(default_factory=list)
    email_conflicts: list[dict] = field(default_factory=list)  # email2 coincidences, not merged
    vanished_groups: list[dict] = field(default_factory=list)
    sequences: dict[str, int] = field(default_factory=dict)
    run_id: int | None = None
    previous_run: dict | None = None
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    fk_check: dict | None = None  # fk_checks=after: {"checked": n, "dangling": [...]}
    indexes: dict | None = None  # secondary indexes dropped and built again (load.indexes)
    status: str = "running"
    workers: int = 1  # processes that moved the groups
    units: int = 0  # units of work
    shared_failed: list[dict] = field(default_factory=list)  # shared rows that could not move
    unchanged_groups: list[int] = field(default_factory=list)  # skipped: source unchanged
    changes: dict = field(default_factory=dict)  # what the source's checksums found
    rows_read: int = 0  # rows read from the source (the checksums apart)

    @property
    def ok(self) -> bool:
        """No group failed, no foreign key dangles, every dropped index is back (exit 0)."""
        return not self.failed and not (self.fk_check and self.fk_check["dangling"]) \
            and not (self.indexes and self.indexes["failed"])

    @property
    def failed(self) -> list[GroupResult]:
        return [g for g in self.groups if g.status == "failed"]

    def totals(self) -> dict[str, TableCounts]:
        tot: dict[str, TableCounts] = defaultdict(TableCounts)
        for g in self.groups:
            if g.status == "failed":
                continue
            for t, c in g.tables.items():
                tot[t].add(c)
        for t, c in self.shared.items():
            tot[t].add(c)
        return dict(sorted(tot.items()))

    def rows_written(self) -> int:
        return sum(c.written for c in self.totals().values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "dry_run": self.dry_run,
            "status": self.status,
            "run_id": self.run_id,
            "started_at": self.started_at,
            "seconds": round(self.seconds, 3),
            "timings": self.timings,
            "workers": self.workers,
            "units": self.units,
            "shared_failed": self.shared_failed,
            "rows_read": self.rows_read,
            "changes": self.changes,
            "unchanged_groups": self.unchanged_groups,
            "fk_check": self.fk_check,
            "indexes": self.indexes,
            "source": self.source,
            "target": self.target,
            "settings": self.settings,
            "previous_run": self.previous_run,
            "totals": {t: c.as_dict() for t, c in self.totals().items()},
            "shared": {t: c.as_dict() for t, c in sorted(self.shared.items())},
            "groups": [g.as_dict() for g in self.groups],
            "notes": self.notes,
            "email_matches": self.email_matches,
            "email_conflicts": self.email_conflicts,
            "vanished_groups": self.vanished_groups,
            "sequences": self.sequences,
        }


class Progress:
    """Interface of the progress display (rich on stderr in the CLI)."""

    def start(self, groups: int, rows_estimate: int) -> None: ...

    def group_done(self, result: GroupResult, rows_estimate: int) -> None: ...

    def stop(self) -> None: ...


class NullProgress(Progress):
    pass
