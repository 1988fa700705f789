"""What a plan or migrate run reports (its typed model, ``report.models.RunReportModel``, is what
the JSON, Markdown and HTML reports render), and the progress display interface."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bascule.plan.changeset import GroupResult, TableCounts
from bascule.report import models as m
from bascule.transform.clean import display_text


#: Refused values listed in a report (the count is complete).
REFUSED_LISTED = 1000


@dataclass
class RunReport:
    command: str  # plan | migrate
    dry_run: bool
    started_at: dt.datetime
    source: dict
    target: dict
    settings: dict
    groups: list[GroupResult] = field(default_factory=list)
    shared: dict[str, TableCounts] = field(default_factory=lambda: defaultdict(TableCounts))
    notes: list[dict] = field(default_factory=list)
    email_matches: list[dict] = field(default_factory=list)
    email_conflicts: list[dict] = field(default_factory=list)  # email2 coincidences, not merged
    refused_values: list[dict] = field(default_factory=list)  # plan: the target refuses them
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
    prune: bool = False  # rows deleted in the source are removed (else kept, and counted)
    ended_at: dt.datetime | None = None
    operator: str = field(default_factory=m.operator)

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

    def model(self) -> m.RunReportModel:
        """The report as its typed model (names repaired, examples labelled)."""
        st = self.settings
        return m.RunReportModel(
            command=self.command, status=self.status, source_name=m.source_name(st),
            operator=self.operator, started_at=self.started_at, ended_at=self.ended_at,
            seconds=round(self.seconds, 3), run_id=self.run_id,
            source=m.endpoint(st.get("source_url"), self.source),
            target=m.endpoint(st.get("target_url"), self.target), settings=st,
            timings=self.timings, dry_run=self.dry_run, prune=self.prune, workers=self.workers,
            units=self.units, rows_read=self.rows_read,
            previous_run=m.PreviousRun(**self.previous_run) if self.previous_run else None,
            totals={t: m.Counts(**c.as_dict()) for t, c in self.totals().items()},
            shared={t: m.Counts(**c.as_dict()) for t, c in sorted(self.shared.items())},
            groups=[run_group(g) for g in self.groups],
            unchanged_groups=self.unchanged_groups,
            vanished_groups=[m.GroupRef(source_id=g["source_id"],
                                        name=display_text(g.get("name")),
                                        target_id=g.get("target_id"))
                             for g in self.vanished_groups],
            notes=[note(n) for n in self.notes],
            email_matches=[m.EmailMatch(source_user=x["source_user"],
                                        target_user=x["target_user"],
                                        email=display_text(x["email"]))
                           for x in self.email_matches],
            email_conflicts=[m.EmailConflict(**{k: display_text(v) if isinstance(v, str) else v
                                                for k, v in x.items()})
                             for x in self.email_conflicts],
            shared_failed=[m.SharedFailure(**x) for x in self.shared_failed],
            refused_values=[m.RefusedValue(**{k: x.get(k) for k in m.RefusedValue.model_fields})
                            for x in self.refused_values[:REFUSED_LISTED]],
            refused_values_count=len(self.refused_values),
            changes=self.changes, fk_check=m.FkCheck(**self.fk_check) if self.fk_check else None,
            indexes=self.indexes, sequences=self.sequences)

    def as_dict(self) -> dict[str, Any]:
        """The JSON report."""
        return self.model().model_dump(mode="json")


def run_group(g: GroupResult) -> m.RunGroup:
    return m.RunGroup(
        source_id=g.source_id, name=display_text(g.name), target_id=g.target_id,
        status=g.status, seconds=round(g.seconds, 3) if g.seconds is not None else None,
        tables={t: m.Counts(**c.as_dict()) for t, c in sorted(g.tables.items())},
        linked_catalogs=[m.LinkedCatalog(
            catalog=lc["catalog"], name=display_text(lc.get("name")), vendor=lc.get("vendor"),
            pcatalog=lc.get("pcatalog"), producer_users=list(lc.get("producer_users") or ()))
            for lc in g.linked_catalogs],
        error=display_text(g.error) if g.error else None)


def note(n: dict) -> m.Note:
    """A note of ``TransformContext.notes_summary``, its examples labelled."""
    return m.Note(table=n["table"], column=n["column"] or None, action=n["action"],
                  what=m.ACTION_WORDS.get(n["action"], n["action"]), reason=n["reason"],
                  count=n["count"], examples=[example(e) for e in n["examples"]])


def example(e: tuple) -> m.Example:
    key = e[0]
    value = e[1] if len(e) > 1 else None
    return m.Example(source_id=list(key) if isinstance(key, tuple) else key,
                     value=display_text(value) if isinstance(value, str) else
                     value if isinstance(value, (int, float, bool)) or value is None
                     else str(value))


def _ignore(n: int = 1) -> None:
    return None


class Progress:
    """Interface of the progress display (rich on stderr in the CLI; off a terminal, a log line
    per phase and a heartbeat). Called from the run's threads; never from a worker process."""

    def start(self, groups: int, rows_estimate: int) -> None: ...

    def group_done(self, result: GroupResult, rows_estimate: int) -> None: ...

    def stop(self) -> None: ...

    @contextmanager
    def phase(self, name: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        """A phase that can last a second or more (inspecting both sides, checksums, shared
        rows, index builds, foreign-key checks): shown while it runs, with a count of ``total``
        when given; yields ``advance(n)``."""
        yield _ignore


class NullProgress(Progress):
    pass
