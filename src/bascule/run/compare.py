"""verify's comparison: the rows a unit's source says the target must hold, against the target's,
chunk by chunk, and the report that names each difference.

Both sides are normalised (ids mapped, text as UTF-8, dates as text, numbers as numbers) only
where they differ as read: a chunk of target rows is fetched by key (``Dialect.fetch_by_ids``:
one range scan when the ids are dense), the rows equal as read are done, the others are
normalised and compared column by column.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from bascule.load.dialects import dialect_for
from bascule.load.target import TargetInfo
from bascule.model.tables import Migration
from bascule.plan.changeset import ChangeSet
from bascule.report import models as m
from bascule.transform.clean import display_text

#: Keys per fetch of target rows.
CHUNK = 2000
#: A chunk of ids is fetched by range (BETWEEN its first and last id) when the range holds at
#: most this many ids per id asked for; else by list.
RANGE_DENSITY = 2
MAX_DIFFS_PER_TABLE = 20


def normalize(v: Any) -> Any:
    """One canonical form per value, the same whatever the engine returned."""
    if v is None:
        return None
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return int(v) if v.is_integer() and abs(v) < 2**53 else repr(v)
    if isinstance(v, dt.datetime):
        return v.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, (bytes, bytearray, memoryview)):
        return "b:" + hashlib.blake2b(bytes(v), digest_size=16).hexdigest()
    if hasattr(v, "as_integer_ratio"):  # Decimal
        f = float(v)
        return int(f) if f.is_integer() else repr(f)
    return str(v)


@dataclass
class Difference:
    kind: str  # missing | extra | changed | count | fk | user
    table: str
    detail: str
    source_id: Any = None
    target_id: Any = None
    column: str | None = None

    def as_dict(self) -> dict:
        return {"kind": self.kind, "table": self.table, "source_id": self.source_id,
                "target_id": self.target_id, "column": self.column, "detail": self.detail}

    def line(self) -> str:
        where = self.table
        if self.source_id is not None:
            where += f" source id {self.source_id}"
        if self.target_id is not None:
            where += f" → target id {self.target_id}"
        if self.column:
            where += f" column {self.column}"
        return f"{self.kind}: {where}: {self.detail}"


def _table_counts() -> dict[str, int]:
    return {"source": 0, "target": 0, "chunks": 0, "differences": 0}


@dataclass
class VerifyReport:
    started_at: dt.datetime
    settings: dict = field(default_factory=dict)  # passwords masked
    source: dict = field(default_factory=dict)  # SourceInfo.as_dict()
    target: dict = field(default_factory=dict)  # TargetInfo.as_dict()
    #: the moved groups selected: {source_id, name, target_id, status: compared | vanished}
    groups: list[dict] = field(default_factory=list)
    tables: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(_table_counts))
    differences: list[Difference] = field(default_factory=list)
    fk_checked: int = 0
    seconds: float = 0.0
    indexes_missing: list[str] = field(default_factory=list)  # left dropped by a run that died
    workers: int = 1
    vanished_groups: list[int] = field(default_factory=list)  # moved, now shop mode: not compared
    scope: dict = field(default_factory=dict)  # what was compared (run.verify_scope)
    timings: dict[str, float] = field(default_factory=dict)
    ended_at: dt.datetime | None = None
    operator: str = field(default_factory=m.operator)
    run_id: int | None = None  # its row in bascule_run
    selected: int = 0  # groups the selection picks in the source
    #: selected groups not proven, not compared (``run.proof.unproven_groups``)
    unproven: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No difference, and every selected group proven."""
        return not self.differences and not self.unproven

    @property
    def status(self) -> str:
        return "done" if self.ok else "failed"

    def add(self, d: Difference) -> None:
        """A difference: counted, and listed up to ``MAX_DIFFS_PER_TABLE`` per table."""
        n = self.tables[d.table]["differences"]
        self.tables[d.table]["differences"] = n + 1
        if n < MAX_DIFFS_PER_TABLE:
            self.differences.append(d)
        elif n == MAX_DIFFS_PER_TABLE:
            self.differences.append(Difference(d.kind, d.table, "more differences in this "
                                               "table not listed"))

    def merge(self, tables: dict[str, dict[str, int]], differences: list[Difference]) -> None:
        """Add a worker's counts and differences."""
        for t, counts in tables.items():
            mine = self.tables[t]
            for k, v in counts.items():
                mine[k] += v
        listed: dict[str, int] = defaultdict(int)
        for d in self.differences:
            listed[d.table] += 1
        for d in differences:
            if listed[d.table] <= MAX_DIFFS_PER_TABLE:
                self.differences.append(d)
                listed[d.table] += 1

    def model(self) -> m.VerifyReportModel:
        """The report as its typed model: what was checked, against what, and each
        difference."""
        st = self.settings
        compared = [g for g in self.groups if g["status"] == "compared"]
        sc = self.scope or {}
        scope = ("every moved group" if sc.get("mode") != "changed" else
                 f"--changed: {sc.get('groups', 0)} groups (written by run {sc.get('run_id')}, "
                 f"changed in the source since, a sample of {sc.get('sampled', 0)} of "
                 f"{sc.get('of', 0)} others, seed {sc.get('seed')})")
        if sc.get("why"):
            scope += f" ({sc['why']})"
        return m.VerifyReportModel(
            status=self.status, source_name=m.source_name(st), operator=self.operator,
            started_at=self.started_at, ended_at=self.ended_at, seconds=round(self.seconds, 3),
            run_id=self.run_id, source=m.endpoint(st.get("source_url"), self.source),
            target=m.endpoint(st.get("target_url"), self.target), settings=st,
            timings=self.timings,
            checked=m.Checked(groups=len(compared), tables=len(self.tables),
                              rows=sum(v["source"] for v in self.tables.values()),
                              foreign_keys=self.fk_checked, scope=scope,
                              selected=self.selected, unproven=len(self.unproven)),
            groups=[m.VerifyGroup(source_id=g["source_id"], name=display_text(g.get("name")),
                                  target_id=g.get("target_id"), status=g["status"])
                    for g in self.groups],
            tables={t: m.VerifyTable(**v) for t, v in sorted(self.tables.items())},
            differences=[m.Difference(**d.as_dict()) for d in self.differences],
            fk_checked=self.fk_checked, workers=self.workers,
            indexes_missing=self.indexes_missing, vanished_groups=self.vanished_groups,
            scope=self.scope,
            unproven=[m.UnprovenGroup(**{**g, "name": display_text(g.get("name"))})
                      for g in self.unproven])

    def as_dict(self) -> dict:
        """The JSON report."""
        return self.model().model_dump(mode="json")


def _chunk_differences(rep: VerifyReport, t: str, cols: tuple[str, ...], chunk: list[tuple],
                       expected: dict[tuple, tuple], actual: dict[tuple, tuple]) -> None:
    """Rows equal as read need no normalising (values equal under == normalise alike); only the
    others are normalised and compared column by column."""
    odd = [k for k in chunk if actual.get(k) != expected[k][1]]
    for k in odd:
        e = tuple(normalize(v) for v in expected[k][1])
        a = tuple(normalize(v) for v in actual[k]) if k in actual else None
        if e == a:
            continue
        src_id, tgt_id = expected[k][0], (k if len(k) > 1 else k[0])
        if a is None:
            rep.add(Difference("missing", t, "row not in the target", src_id, tgt_id))
            continue
        for c, ev, av in zip(cols, e, a):
            if ev != av:
                rep.add(Difference("changed", t, f"expected {ev!r}, target has {av!r}", src_id,
                                   tgt_id, c))


def compare_unit(engine: Engine, tinfo: TargetInfo, migration: Migration, cs: ChangeSet,
                 rep: VerifyReport) -> None:
    """The expected rows of one unit (``cs.expected``, from ``Planner.build(capture)``) against
    the target, and the rows it has no entry for or no longer has."""
    assert cs.expected is not None
    dialect = dialect_for(engine)
    for t, ch in cs.tables.items():
        exp_rows = cs.expected.rows.get(t, {})
        rep.tables[t]["source"] += len(exp_rows)
        if not exp_rows:
            continue
        key_cols = list(migration.key(t))
        if len(key_cols) == 1:  # ids: never NULL
            keys = sorted(exp_rows)
        else:
            keys = sorted(exp_rows, key=lambda k: tuple(-1 if x is None else x for x in k))
        with engine.connect() as conn:
            for i in range(0, len(keys), CHUNK):
                chunk = keys[i:i + CHUNK]
                actual = dialect.fetch_by_ids(conn, tinfo.tables[t], key_cols, ch.columns, chunk,
                                              RANGE_DENSITY)
                rep.tables[t]["target"] += len(actual)
                rep.tables[t]["chunks"] += 1
                _chunk_differences(rep, t, ch.columns, chunk, exp_rows, actual)
    for t, olds in cs.expected.missing.items():
        for old in sorted(olds)[:MAX_DIFFS_PER_TABLE]:
            rep.add(Difference("missing", t, "source row has no entry in bascule_idmap "
                               "(added to the source since the last migrate?)", old))
    # rows the id map has for these groups but the source no longer has
    for t, dels in cs.deletes.items():
        for old, new, nk in dels[:MAX_DIFFS_PER_TABLE]:
            rep.add(Difference("extra", t, "in the target but deleted from the source "
                               "(run migrate --prune)", old, nk or new))
