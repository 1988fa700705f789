"""`bascule verify`: prove that the target holds what the source held.

For every moved group (``bascule_group.status = 'done'``), unit by unit: the source rows are read
again from a consistent snapshot and transformed again with the ids of ``bascule_idmap`` (no
allocation), which gives the rows the target must hold; the target rows are read by their new
ids; both sides are normalised (ids mapped, text as UTF-8, dates as text, numbers as numbers)
and compared by chunked checksums, row by row only inside a chunk that differs. Then every
foreign key of the target is checked (no dangling reference anywhere), and the moved users are
checked (none has id 1, none has site rights).

The result names each difference (table, source id, target id, column) and ``ok`` is true only
when there is none; the CLI exits 1 otherwise.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.engine import Connection

from bascule.config import Settings
from bascule.extract.source import GroupRef, SourceReader
from bascule.load.bookkeeping import IDMAP, bookkeeping_metadata
from bascule.pipeline.migrate import (
    COMPOSITE_KEYS,
    MigrationError,
    Migrator,
    UNIT_BATCHES,
    WORKER_UNIT_BATCHES,
    ReadAhead,
    _Plan,
    _Read,
    _Unit,
    cut_units,
    estimate_rows,
)

log = logging.getLogger(__name__)

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


def _numeric(typ) -> bool:
    """Numbers need no result conversion here: normalize() treats int/float/Decimal alike."""
    from sqlalchemy import Numeric

    return isinstance(typ, Numeric)


def _digest(rows: list[tuple]) -> str:
    h = hashlib.blake2b(digest_size=16)
    for r in rows:
        h.update(repr(r).encode())
    return h.hexdigest()


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


@dataclass
class VerifyReport:
    started_at: str
    groups: int = 0
    tables: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(
        lambda: {"source": 0, "target": 0, "chunks": 0, "differences": 0}))
    differences: list[Difference] = field(default_factory=list)
    fk_checked: int = 0
    seconds: float = 0.0
    indexes_missing: list[str] = field(default_factory=list)  # left dropped by a run that died

    @property
    def ok(self) -> bool:
        return not self.differences

    def as_dict(self) -> dict:
        return {"ok": self.ok, "started_at": self.started_at, "seconds": round(self.seconds, 3),
                "groups": self.groups, "fk_checked": self.fk_checked,
                "indexes_missing": self.indexes_missing,
                "tables": {t: dict(v) for t, v in sorted(self.tables.items())},
                "differences": [d.as_dict() for d in self.differences]}


class Verifier(Migrator):
    """Re-reads and re-transforms the source with the stored ids; compares with the target."""

    def __init__(self, settings: Settings, **kw):
        kw.setdefault("dry_run", True)
        if "target_engine" not in kw and settings.target_url:
            # verify only reads the target: a MariaDB target is read with mysqlclient (C) when
            # it is installed, like the source (PyMySQL parses rows about 5 times slower)
            from bascule.extract.source import source_engine

            kw["target_engine"] = source_engine(settings.target_url)
        super().__init__(settings, **kw)
        self.collect_expected = True
        self._cmp: Any = None  # the comparison in flight (compare thread)

    def run(self) -> VerifyReport:  # type: ignore[override]
        from bascule.extract.source import SourceError, inspect_source
        from bascule.pipeline.target import TargetError, inspect_target

        t0 = time.monotonic()
        rep = VerifyReport(started_at=dt.datetime.now().replace(microsecond=0).isoformat())
        try:
            self.sinfo = inspect_source(self.src_engine)
            self.tinfo = inspect_target(self.tgt_engine)
        except (SourceError, TargetError) as e:
            raise MigrationError(str(e)) from None
        if not self.tinfo.has_bookkeeping:
            raise MigrationError("the target has no bascule tables: nothing was migrated yet")
        from bascule.pipeline.migrate import RunReport

        self.report = RunReport("verify", True, rep.started_at, {}, {}, {})
        self.rep = rep
        with self.tgt_engine.connect() as conn:
            done = self._groups_done(conn)
            from bascule.load.indexes import pending

            rep.indexes_missing = [f"{x['table_name']}.{x['index_name']}" for x in pending(conn)]
        if rep.indexes_missing:
            log.warning("%d secondary indexes dropped by a migrate run that did not end are "
                        "still missing (%s): the data is compared all the same; the next "
                        "`bascule migrate` builds them again", len(rep.indexes_missing),
                        ", ".join(rep.indexes_missing[:5])
                        + (", ..." if len(rep.indexes_missing) > 5 else ""))
        with SourceReader(self.src_engine, self.sinfo,
                          snapshots=self._snapshots_wanted()) as reader:
            self.reader = reader
            by_id = {g.id: g for g in reader.all_groups()}
            gids = sorted(g for g, info in done.items() if info["status"] == "done")
            if self.s.groups:
                gids = [g for g in gids if g in set(self.s.groups)]
            gids = [g for g in gids if g not in set(self.s.exclude_groups)]
            missing = [g for g in gids if g not in by_id]
            for g in missing:
                rep.differences.append(Difference("missing", "Group", "moved group no longer in "
                                                  "the source (deleted since the run?)", g,
                                                  done[g]["target_group_id"]))
            groups = [by_id[g] for g in gids if g in by_id]
            rep.groups = len(groups)
            self._prepare(self.report, groups)
            est = estimate_rows(reader, groups)
            self.progress.start(len(groups), sum(est.values()))
            # two units in memory (compare thread), or one per worker
            units = cut_units(groups, est, min(40_000, self.s.batch_size * UNIT_BATCHES))
            workers = self._workers_for(units)
            if workers > 1:  # one unit per worker process
                units = cut_units(groups, est, self.s.batch_size * WORKER_UNIT_BATCHES)
                try:
                    self._verify_parallel(units, est, workers)
                finally:
                    self.progress.stop()
                units = []
            ahead = ReadAhead(self._read_unit)
            from concurrent.futures import ThreadPoolExecutor

            # the target rows of unit n are fetched and compared in a thread while unit n+1 is
            # built (the target's server works meanwhile); one comparison at a time
            cmp_ex = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bascule-compare")
            self._cmp: Any = None
            try:
                if units:
                    ahead.submit([g.id for g in units[0]])
                for n, unit in enumerate(units, 1):
                    pre = ahead.take([g.id for g in unit])
                    if n < len(units):  # read the next unit while this one is compared
                        ahead.submit([g.id for g in units[n]])
                    self._verify_unit(unit, pre, cmp_ex)
                    for g in unit:
                        from bascule.pipeline.migrate import GroupResult

                        self.progress.group_done(GroupResult(g.id, g.name, status="done"),
                                                 est.get(g.id, 0))
                self._wait_compare()
            finally:
                cmp_ex.shutdown(wait=True)
                ahead.close()
                self.progress.stop()
        with self.tgt_engine.connect() as conn:
            self._check_fks(conn, rep)
            self._check_users(conn, rep)
        rep.seconds = time.monotonic() - t0
        return rep

    # the id map is read only: a row without an entry is "missing", never allocated
    def _allocate(self, u: _Unit, table: str, old: int) -> int:
        return -1

    def _allocate_block(self, u: _Unit, table: str, olds: list) -> Sequence[int]:
        return [-1] * len(olds)

    def _verify_parallel(self, units: list[list[GroupRef]], est: dict[int, int],
                         workers: int) -> None:
        """As migrate's parallel run: the shared rows every group references are compared
        first, here, while each forked worker reads its first unit; then the units are
        compared by this process and ``workers - 1`` forked ones, each on its own connection of
        the same source snapshot; their counts and differences are merged."""
        from bascule.pipeline.migrate import (GROUP_TABLES, SHARED_TABLES, GroupResult, _Read,
                                              shared_chunks)
        rep = self.rep
        prefetched: dict[int, _Read] = {}

        def before() -> dict:
            """In the parent while each worker reads its first unit: the shared rows."""
            refs = self._all_shared_refs([g for u in units for g in u])
            for part in shared_chunks({t: sorted(refs[t]) for t in SHARED_TABLES}, 20_000):
                pre = _Read({t: [] for t in GROUP_TABLES}, {}, {}, part,
                            self._read_shared(part))
                self._verify_unit([], pre)
            return {"shared": self.idmap.shared, "handled": self.shared_handled}

        def prefetch(n: int) -> None:
            prefetched[n] = self._read_unit([g.id for g in units[n - 1]])

        def state(st: dict) -> None:
            self._take_shared_state(st, prefetched)

        def setup(i: int) -> None:
            self._become_worker(i)
            rep.tables.clear()
            rep.differences = []

        def work(n: int) -> None:
            self._verify_unit(units[n - 1], prefetched.pop(n, None))

        def finish() -> dict:
            return {"tables": {t: dict(v) for t, v in rep.tables.items()},
                    "differences": rep.differences}

        def on_result(n: int, _none: None) -> None:
            for g in units[n - 1]:
                self.progress.group_done(GroupResult(g.id, g.name, status="done"),
                                         est.get(g.id, 0))

        finals = self._run_units(workers, len(units), setup=setup, work=work, finish=finish,
                                 on_result=on_result, before=before, prefetch=prefetch,
                                 state=state)
        for f in finals:
            for t, counts in f["tables"].items():
                mine = rep.tables[t]
                for k, v in counts.items():
                    mine[k] += v
            listed = defaultdict(int)
            for d in rep.differences:
                listed[d.table] += 1
            for d in f["differences"]:
                if listed[d.table] <= MAX_DIFFS_PER_TABLE:
                    rep.differences.append(d)
                    listed[d.table] += 1

    def _wait_compare(self) -> None:
        if self._cmp is not None:
            f, self._cmp = self._cmp, None
            with self._timed("wait_compare"):
                f.result()

    def _verify_unit(self, groups: Sequence[GroupRef], pre: _Read | None = None,
                     cmp_ex: Any = None) -> None:
        if pre is None:
            pre = self._read_unit([g.id for g in groups])
        u = _Unit(groups, pre.rows, self.sinfo.shape)
        self.unit = u
        try:
            plan = self._build(u, pre)
        finally:
            self.unit = None
        self._mark_handled(u)
        for t, entries in plan.new_shared.items():
            self.idmap.shared[t].update(entries)
        if cmp_ex is None or self.tinfo.backend == "sqlite":
            self._compare(u, plan)
            return
        self._wait_compare()
        self._cmp = cmp_ex.submit(self._compare, u, plan)

    def _compare(self, u: _Unit, plan: _Plan) -> None:
        rep = self.rep
        # expected rows per table, keyed by target key
        for t, cols in plan.columns.items():
            exp_rows = plan.expected.get(t, {})
            rep.tables[t]["source"] += len(exp_rows)
            if not exp_rows:
                continue
            table = self.tinfo.tables[t]
            key_cols = list(COMPOSITE_KEYS[t][1]) if t in COMPOSITE_KEYS else ["id"]
            if len(key_cols) == 1:  # ids: never NULL
                keys = sorted(exp_rows)
            else:
                keys = sorted(exp_rows, key=lambda k: tuple(-1 if x is None else x for x in k))
            with self.tgt_engine.connect() as conn:
                for i in range(0, len(keys), CHUNK):
                    chunk = keys[i:i + CHUNK]
                    actual = self._fetch(conn, table, key_cols, cols, chunk)
                    rep.tables[t]["target"] += len(actual)
                    rep.tables[t]["chunks"] += 1
                    # rows equal as read need no normalising (values equal under == normalise
                    # alike); only the others are normalised and compared column by column
                    odd = [k for k in chunk if actual.get(k) != exp_rows[k][1]]
                    if not odd:
                        continue
                    exp_n = [tuple(normalize(v) for v in exp_rows[k][1]) for k in odd]
                    act_n = [tuple(normalize(v) for v in actual[k]) if k in actual else None
                             for k in odd]
                    for k, e, a in zip(odd, exp_n, act_n):
                        if e == a:
                            continue
                        src_id = exp_rows[k][0]
                        if a is None:
                            self._diff(Difference("missing", t, "row not in the target",
                                                  src_id, k if len(k) > 1 else k[0]))
                            continue
                        for c, ev, av in zip(cols, e, a):
                            if ev != av:
                                self._diff(Difference(
                                    "changed", t, f"expected {ev!r}, target has {av!r}",
                                    src_id, k if len(k) > 1 else k[0], c))
        for t, olds in plan.missing.items():
            for old in sorted(olds)[:MAX_DIFFS_PER_TABLE]:
                self._diff(Difference("missing", t, "source row has no entry in bascule_idmap "
                                      "(added to the source since the last migrate?)", old))
        # rows the id map has for these groups but the source no longer has
        for t, dels in plan.deletes.items():
            for old, new, nk in dels[:MAX_DIFFS_PER_TABLE]:
                self._diff(Difference("extra", t, "in the target but deleted from the source "
                                      "(run migrate --prune)", old, nk or new))

    def _diff(self, d: Difference) -> None:
        n = self.rep.tables[d.table]["differences"]
        self.rep.tables[d.table]["differences"] = n + 1
        if n < MAX_DIFFS_PER_TABLE:
            self.rep.differences.append(d)
        elif n == MAX_DIFFS_PER_TABLE:
            self.rep.differences.append(Difference(d.kind, d.table, "more differences in this "
                                                   "table not listed"))

    def _fetch(self, conn: Connection, table, key_cols: list[str], cols: Sequence[str],
               keys: list[tuple]) -> dict[tuple, tuple]:
        n = len(key_cols)
        backend = self.tinfo.backend
        extra: frozenset | None = None  # the ids asked for, when the query may return others
        if n == 1 and backend in ("postgresql", "mysql"):
            # one id column: plain driver SQL (no thousand bound parameters to render)
            qi = conn.dialect.identifier_preparer.quote
            head = (f"SELECT {', '.join(qi(c) for c in [*key_cols, *cols])} FROM "
                    f"{qi(table.name)} WHERE {qi(key_cols[0])} ")
            ids = [int(k[0]) for k in keys]  # sorted
            span = ids[-1] - ids[0] + 1
            if span <= RANGE_DENSITY * len(ids):
                # ids of one unit are mostly consecutive: one range scan of the primary key
                # costs half as much as a probe per id; rows of other groups in the range are
                # left out below
                res = conn.exec_driver_sql(f"{head}BETWEEN {ids[0]} AND {ids[-1]}")
                if span > len(ids):
                    extra = frozenset(ids)
            elif backend == "postgresql":
                res = conn.exec_driver_sql(head + "= ANY(%s)", (ids,))
            else:
                res = conn.exec_driver_sql(head + "IN (" + ",".join(map(str, ids)) + ")")
        else:
            sel = select(*[table.c[c] for c in key_cols], *[table.c[c] for c in cols])
            if n == 1:
                sel = sel.where(table.c[key_cols[0]].in_([k[0] for k in keys]))
            else:
                sel = sel.where(tuple_(*[table.c[c] for c in key_cols]).in_(keys))
            res = conn.execute(sel)
        if self.tinfo.backend == "sqlite":  # its dates are text until SQLAlchemy converts them
            return {tuple(r[:n]): tuple(r[n:]) for r in res}
        try:  # the driver's rows as they are: normalize() makes them comparable
            types = [d[1] for d in res.cursor.description]
            raw = res.cursor.fetchall()
        finally:
            res.close()
        if extra is not None:
            raw = [r for r in raw if r[0] in extra]
        procs = [(i, p) for i, c in enumerate(cols)
                 if not _numeric(table.c[c].type)
                 and (p := table.c[c].type._cached_result_processor(conn.dialect, types[n + i]))
                 is not None]
        if not procs and n == 1:  # the common case, without a per-value loop
            return {(r[0],): tuple(r[1:]) for r in raw}
        out = {}
        for r in raw:
            vals = r[n:]
            if procs:
                vals = list(vals)
                for i, p in procs:
                    if vals[i] is not None:
                        vals[i] = p(vals[i])
            out[tuple(r[:n])] = tuple(vals)
        return out

    # -- whole-target checks --------------------------------------------------------------------

    def _check_fks(self, conn: Connection, rep: VerifyReport) -> None:
        """Every foreign key of the target resolves (declared FKs of the reflected tables)."""
        from bascule.pipeline.target import dangling_foreign_keys

        rep.fk_checked, bad = dangling_foreign_keys(conn)
        for b in bad:
            cols = ",".join(b["columns"])
            rep.differences.append(Difference(
                "fk", b["table"], f"{b['rows']} rows whose {cols} points at no {b['parent']} row",
                column=cols))

    def _check_users(self, conn: Connection, rep: VerifyReport) -> None:
        """No moved user has id 1 or site rights."""
        idm = bookkeeping_metadata().tables[IDMAP]
        u = self.tinfo.tables["User"]
        stmt = (select(idm.c.old_id, u.c.id, u.c.rights)
                .select_from(idm.join(u, u.c.id == idm.c.new_id))
                .where(idm.c.table_name == "User", idm.c.row_hash.is_not(None))
                .where((u.c.id == 1) | (u.c.rights != 0)))
        for old, new, rights in conn.execute(stmt):
            rep.differences.append(Difference("user", "User", f"moved user has id {new} / "
                                              f"rights {rights}", old, new, "rights"))
