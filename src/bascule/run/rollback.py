"""`bascule rollback`: remove from the target exactly what bascule wrote for some groups.

The groups are named (source group ids, ``--group``) or are those a run moved (``--run``, see
below). For each one,
``load.remove.plan_removal`` says what its removal takes: the rows of its id map, the rows added
since that reference them, the shared rows nothing else references, and which rows changed
since bascule wrote them.

- A group with changed or added rows is refused (each named: table, id, column) unless
  ``force``; when one group is refused nothing is removed (every group is checked first, in
  one read transaction each).
- ``force``: what each group's removal takes, every row with all its values, is written to a
  JSON file (``save``, default ``<report_dir>/rollback-saved-<time>.json``) before it is removed.
- Each group is removed in ONE transaction: its rows are locked, read and checked again, the
  JSON written, the rows deleted children first, its id map, its ``bascule_group`` row and the
  entries of the shared rows removed deleted. A rollback killed midway leaves each group either
  removed or whole; run again, the groups already removed are no longer in the id map and are
  reported ``absent``.
- ``dry_run``: what would go, nothing written (not even ``bascule_run``).
- A group named (``groups``) that this source never moved into the target is a SettingsError
  naming it; one that a rollback of the source removed already is ``absent`` (each rollback
  records the groups it removed in its ``bascule_run`` row, in the transaction of each group,
  so that a killed one is known too).
- ``run_id``: the groups that run wrote (its summary's ``moved``; for a run of an earlier
  release, those whose ``bascule_group`` row or id blocks still carry its id). A group of it
  that a later migrate run moved again (the later run's ``moved``, or an id block of a later
  run) is rolled back as it is now, the rows of the later runs with
  it; ``GroupRollback.note`` says so, one line per group.
- ``confirm``: called with the report once every group is checked (nothing refused, something
  to remove), before anything is written; when it returns False nothing is written and the
  rollback raises DataRefused (the command line asks on a terminal, unless ``--yes``).

A rollback that writes holds the target's run lock (``load.runlock``; ``wait`` for it) and is
logged in ``bascule_run`` (command ``rollback``) from its start: a refused one ends ``failed``.
It takes out groups of its own source only (``settings.source_name``): ``--run N`` of a run of
another source is refused.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from bascule.config import Settings
from bascule.dberrors import ConnectRetry, nothing_migrated
from bascule.dbutil import make_engine
from bascule.errors import DataRefused, SettingsError, require
from bascule.load.apply import row_encoders
from bascule.load.bookkeeping import IDBLOCK, RUN, Book
from bascule.load.remove import (
    Removal,
    TargetTables,
    delete_removal,
    forget_group,
    plan_removal,
)
from bascule.load.runlock import run_lock
from bascule.load.runlog import close_run, groups_done, start_run
from bascule.load.target import TargetError, TargetInfo, inspect_target, target_read
from bascule.model.tables import MIGRATION, Migration
from bascule.report import models as m
from bascule.report.models import now
from bascule.run.report import NullProgress, Progress
from bascule.run.timings import Timings
from bascule.run.verify import verify
from bascule.signals import interrupted, pause, stopping
from bascule.transform.clean import display_text
from bascule.transform.context import TransformContext

log = logging.getLogger(__name__)

#: Called with the group's number in the run (1, 2, ...) once its rows are deleted and before
#: its transaction commits. Empty in a real run; the kill tests pause there (tests/faults.py).
BEFORE_COMMIT: list[Callable[[int], None]] = []

#: Problems listed per group (the counts are complete).
MAX_LISTED = 50
SAVE_FORMAT = "bascule-rollback/1"


@dataclass
class GroupRollback:
    """One group's rollback. ``status``: removed, would remove (dry run), refused, skipped (not
    removed because another group was refused), absent (not in the id map), failed."""

    source_id: int
    target_id: int | None = None
    name: str = ""
    status: str = "absent"
    rows: dict[str, int] = field(default_factory=dict)  # rows removed (or to remove) per table
    shared: dict[str, int] = field(default_factory=dict)  # of which shared rows
    kept: list[dict] = field(default_factory=list)  # shared rows kept, and why
    changed: list[dict] = field(default_factory=list)  # rows changed since the migrate
    added: list[dict] = field(default_factory=list)  # rows added since that reference them
    missing: dict[str, int] = field(default_factory=dict)  # in the id map, not in the target
    error: str | None = None
    note: str | None = None  # --run: moved again by a later run, rolled back as it is now

    def problems(self) -> list[str]:
        """One line per changed or added row (table, id, column)."""
        out = [f"changed: {c['table']} id {c['id']}: {c['detail']}" for c in self.changed]
        out += [f"added: {a['table']} id {a['id']} ({a['column']} → {a['parent']} "
                f"{a['parent_id']}): written since the migrate" for a in self.added]
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"source_id": self.source_id, "target_id": self.target_id, "name": self.name,
                "status": self.status, "rows": dict(self.rows), "shared": dict(self.shared),
                "kept": self.kept[:MAX_LISTED], "kept_count": len(self.kept),
                "changed": self.changed[:MAX_LISTED], "changed_count": len(self.changed),
                "added": self.added[:MAX_LISTED], "added_count": len(self.added),
                "missing": dict(self.missing), "error": self.error, "note": self.note}


@dataclass
class RollbackReport:
    started_at: dt.datetime
    dry_run: bool
    force: bool
    target: dict  # TargetInfo.as_dict()
    selection: dict
    settings: dict = field(default_factory=dict)  # passwords masked
    groups: list[GroupRollback] = field(default_factory=list)
    save: str | None = None  # the JSON file of the rows removed (force)
    run_id: int | None = None
    seconds: float = 0.0
    ended_at: dt.datetime | None = None
    timings: dict[str, float] = field(default_factory=dict)
    operator: str = field(default_factory=m.operator)

    @property
    def ok(self) -> bool:
        """Nothing refused, nothing failed (exit 0)."""
        return all(g.status not in ("refused", "failed", "skipped") for g in self.groups)

    @property
    def status(self) -> str:
        return "done" if self.ok else "failed"

    def model(self) -> m.RollbackReportModel:
        """The report as its typed model (names repaired)."""
        st = self.settings
        src = st.get("source_url")
        return m.RollbackReportModel(
            status=self.status, source_name=m.source_name(st), operator=self.operator,
            started_at=self.started_at, ended_at=self.ended_at, seconds=round(self.seconds, 3),
            run_id=self.run_id, source=m.endpoint(src, None) if src else None,
            target=m.endpoint(st.get("target_url"), self.target), settings=st,
            timings=self.timings, dry_run=self.dry_run, force=self.force,
            selection=self.selection, save=self.save,
            groups=[m.RollbackGroup(**{**g.as_dict(), "name": display_text(g.name)})
                    for g in self.groups])

    def as_dict(self) -> dict[str, Any]:
        """The JSON report."""
        return self.model().model_dump(mode="json")


# -- the rollback -------------------------------------------------------------------------------


def rollback(settings: Settings, *, groups: Sequence[int] = (), run_id: int | None = None,
             dry_run: bool = False, force: bool = False, save: str | Path | None = None,
             migration: Migration = MIGRATION, target: Engine | None = None,
             progress: Progress | None = None, wait: bool = False,
             confirm: Callable[[RollbackReport], bool] | None = None) -> RollbackReport:
    """One run of ``bascule rollback`` (see the module docstring)."""
    t0, started = time.monotonic(), now()
    if not groups and run_id is None:
        raise SettingsError("rollback: name the groups (--group) or the run (--run)")
    target = target or make_engine(require(settings.target_url, "target_url"), side="target",
                                   retry=ConnectRetry.of(settings))
    try:
        tinfo = inspect_target(target, migration)
        if tinfo.shape == "head" and migration.for_source("camap-head") is not migration:
            # a current Camap target may hold what a current Camap source moved (one table more)
            migration = migration.for_source("camap-head")
            tinfo = inspect_target(target, migration)
    except TargetError as e:
        raise SettingsError(f"target: {e}") from None
    if not tinfo.has_bookkeeping:
        raise nothing_migrated(settings.target_url or target.url)
    rep = RollbackReport(started_at=started, dry_run=dry_run, force=force,
                         target=tinfo.as_dict(), settings=settings.safe_dict(),
                         selection={"groups": sorted(set(groups)), "run": run_id,
                                    "source_name": settings.source_name})
    progress = progress or NullProgress()
    with run_lock(target, wait=wait, enabled=not dry_run):
        with target_read(target) as conn:
            rep.groups = _select(conn, tinfo, groups, run_id, tinfo.book(settings.source_name))
            tt = TargetTables(conn, migration)
        timings = Timings()
        work = _Work(target, tinfo, tt, force, tinfo.book(settings.source_name))
        todo = [g for g in rep.groups if g.status != "absent"]
        try:
            _check(settings, work, todo, dry_run, migration, progress, timings)
            if dry_run:
                return rep
            if confirm is not None and todo and rep.ok and not confirm(rep):
                raise DataRefused("rollback not confirmed: nothing removed")
            rep.run_id = start_run(target, settings, tinfo, "rollback")
            work.book, work.run_id = tinfo.book(settings.source_name), rep.run_id  # adopted
            if rep.ok:
                if force:
                    rep.save = str(save or _default_save(settings))
                with timings("remove"), progress.phase("removing groups", len(todo)) as advance:
                    for n, g in enumerate(todo, 1):
                        _remove_one(work, g, n, rep.save)
                        advance(1)
        finally:
            rep.seconds = time.monotonic() - t0
            rep.timings = timings.rounded()
            rep.ended_at = now()
            _close_run(target, rep, tinfo.book(settings.source_name))
    return rep


def _check(settings: Settings, work: "_Work", todo: list[GroupRollback], dry_run: bool,
           migration: Migration, progress: Progress, timings: Timings) -> None:
    """Every group checked, its changed rows' columns named (nothing written)."""
    with timings("check"), progress.phase("checking the groups' rows", len(todo)) as advance:
        _check_all(work, todo, dry_run, advance)
    if any(g.changed for g in todo):
        with timings("name_columns"), progress.phase("naming the changed columns"):
            _name_columns(settings, todo, migration)


@dataclass
class _Work:
    """What each group's removal works with."""

    engine: Engine
    tinfo: TargetInfo
    tt: TargetTables
    force: bool
    book: Book
    run_id: int | None = None  # the rollback's run row, which records the groups removed
    removed: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        ctx = TransformContext("2023", self.tinfo.shape, {}, migration=self.tt.migration,
                               target_columns={t: set(c) for t, c in
                                               self.tinfo.columns.items()})
        self.hash_columns = ctx.columns  # what bascule writes: the columns of its row hashes
        self.encoders = row_encoders(self.engine, self.tt.tables)

    def plan(self, conn: Connection, g: GroupRollback, lock: bool) -> Removal:
        rm = plan_removal(conn, self.tt, g.source_id, self.hash_columns, self.encoders,
                          self.book, blocks=self.tinfo.has_idblock, lock=lock)
        known = {(c["table"], _idkey(c["id"])): c for c in g.changed}  # columns found before
        _fill(g, rm)
        g.changed = [known.get((c["table"], _idkey(c["id"])), c) for c in g.changed]
        return rm


def _idkey(i: Any) -> str:
    """One spelling of a row's id (an int, or a composite key as a list or a tuple)."""
    return repr(tuple(i)) if isinstance(i, (list, tuple)) else repr(i)


def _select(conn: Connection, tinfo: TargetInfo, groups: Iterable[int], run_id: int | None,
            book: Book) -> list[GroupRollback]:
    """The groups to roll back, as the target's bookkeeping of the source knows them
    (``absent``: not in the id map, already rolled back or never moved)."""
    done = groups_done(conn, book)
    wanted = set(groups)
    if run_id is not None:
        run = book.table(RUN)
        row = conn.execute(select(run).where(run.c.id == run_id)).mappings().first()
        if row is None:
            raise SettingsError(f"run {run_id}: not in bascule_run (`bascule runs` lists them)")
        if not book.legacy and row["source"] not in (None, book.source):
            raise SettingsError(f"run {run_id} moved groups of source {row['source']!r}, not "
                                f"of {book.source!r}: set source_name = {row['source']!r} to "
                                "roll it back")
        found = {g for g, info in done.items() if info["run_id"] == run_id}
        # the groups it wrote that the target still holds (moved again since, maybe)
        found |= {int(g) for g in _summary_of(row).get("moved") or ()} & set(done)
        if tinfo.has_idblock:
            blk = book.table(IDBLOCK)
            found |= {int(g) for (g,) in conn.execute(
                select(blk.c.group_id).where(book.mine(blk), blk.c.run_id == run_id)
                .distinct())}
        if not found:
            log.warning("no group moved by run %d is in the id map (rolled back already?)",
                        run_id)
        wanted |= found
    unknown = sorted(set(groups) - set(done) - _rolled_back(conn, book))
    if unknown:
        raise SettingsError("; ".join(f"group {gid} was never moved into this target by source "
                                      f"{book.source!r}" for gid in unknown[:10])
                            + (f"; and {len(unknown) - 10} more" if len(unknown) > 10 else "")
                            + " (`bascule runs` lists the runs; --source-name chooses the "
                            "source)")
    later = _moved_later(conn, tinfo, book, run_id) if run_id is not None else {}
    out = []
    for gid in sorted(wanted):
        info = done.get(gid)
        g = GroupRollback(gid)
        if info is not None:
            g.target_id, g.name, g.status = info["target_group_id"], info["name"], "pending"
        else:
            log.warning("group %d: not in the id map (rolled back already): nothing to remove",
                        gid)
        if gid in later and info is not None:
            runs = ", ".join(str(r) for r in later[gid])
            g.note = (f"moved again by run{'s' if len(later[gid]) > 1 else ''} {runs} after run "
                      f"{run_id}: rolled back as it is now (the rows of run {runs} with it)")
            log.warning("group %d (%s): %s", gid, display_text(g.name), g.note)
        out.append(g)
    return out


def _rolled_back(conn: Connection, book: Book) -> set[int]:
    """The groups that a rollback of the source removed (its run row's summary lists them, a
    killed one's too)."""
    run = book.table(RUN)
    out: set[int] = set()
    for (summary,) in conn.execute(select(run.c.summary).where(book.mine(run),
                                                               run.c.command == "rollback")):
        try:
            groups = json.loads(summary or "{}").get("groups") or {}
        except (ValueError, AttributeError):
            continue
        out |= {int(gid) for gid, status in groups.items() if status == "removed"}
    return out


def _summary_of(row: Any) -> dict:
    try:
        out = json.loads(row["summary"] or "{}")
    except ValueError:
        return {}
    return out if isinstance(out, dict) else {}


def _moved_later(conn: Connection, tinfo: TargetInfo, book: Book, run_id: int
                 ) -> dict[int, list[int]]:
    """Group → the migrate runs after ``run_id`` that wrote it (their summaries, its id
    blocks; not its ``bascule_group`` row, which a later run that failed it updates too)."""
    later: dict[int, set[int]] = {}
    run = book.table(RUN)
    for row in conn.execute(select(run).where(book.mine(run), run.c.command == "migrate",
                                              run.c.id > run_id)).mappings():
        for gid in _summary_of(row).get("moved") or ():
            later.setdefault(int(gid), set()).add(int(row["id"]))
    if tinfo.has_idblock:
        blk = book.table(IDBLOCK)
        for gid, rid in conn.execute(select(blk.c.group_id, blk.c.run_id)
                                     .where(book.mine(blk), blk.c.run_id > run_id).distinct()):
            later.setdefault(int(gid), set()).add(int(rid))
    return {g: sorted(r) for g, r in later.items()}


def _fill(g: GroupRollback, rm: Removal) -> None:
    g.rows = rm.counts()
    g.shared = {t: len(ids) for t, ids in sorted(rm.shared.items()) if ids}
    g.kept = rm.kept
    g.missing = dict(rm.missing)
    g.changed = [{"table": t, "id": k[0] if len(k) == 1 else list(k), "column": None,
                  "detail": "changed since the migrate: its values are no longer those bascule "
                            "wrote"} for t, k in rm.changed]
    g.added = [r.as_dict() for r in rm.added]


def _name_columns(settings: Settings, todo: list[GroupRollback], migration: Migration
                  ) -> None:
    """The columns of the changed rows: those in which the target differs from the source
    built again (``run.verify`` of the group). A column the source changed since the migrate
    shows too; without a reachable source the columns stay unnamed."""
    if not settings.source_url:
        log.warning("the changed columns are not named: source_url is not set (they are found "
                    "by building the group's rows again from the source)")
        for g in todo:
            for c in g.changed:
                c["detail"] += " (the column is named when source_url is set)"
        return
    for g in todo:
        if not g.changed:
            continue
        try:
            s = settings.model_copy(update={"groups": [g.source_id], "exclude_groups": []})
            rep = verify(s, migration=migration, record=False)  # under this run's lock
        except Exception as e:  # noqa: BLE001 - the rows are named all the same
            log.warning("group %d: the changed columns are not named (verify against the "
                        "source failed: %s)", g.source_id, e)
            return
        found: dict[tuple[str, str], list] = {}
        for d in rep.differences:
            if d.kind == "changed" and d.column:
                found.setdefault((d.table, _idkey(d.target_id)), []).append(d)
        for c in g.changed:
            ds = found.get((c["table"], _idkey(c["id"])))
            if ds:
                c["column"] = ", ".join(d.column for d in ds)
                c["detail"] = "changed since the migrate: " + "; ".join(
                    f"{d.column}: {d.detail.replace('expected', 'bascule wrote', 1)}"
                    for d in ds)


def _check_all(work: _Work, todo: list[GroupRollback], dry_run: bool,
               advance: Callable[[int], None]) -> None:
    """Every group read and checked, in a read-only transaction each; when one is refused
    (and not ``force``), the others are ``skipped``: nothing is removed."""
    for g in todo:
        with target_read(work.engine) as conn:
            rm = work.plan(conn, g, lock=False)
        refused = (rm.changed or rm.added) and not work.force
        g.status = "refused" if refused else "would remove"
        advance(1)
        for line in g.problems()[:MAX_LISTED] if refused else ():
            log.error("group %d (%s): %s", g.source_id, display_text(g.name), line)
    if not dry_run and any(g.status == "refused" for g in todo):
        for g in todo:
            if g.status != "refused":
                g.status = "skipped"
                g.error = "not removed: another group was refused (nothing is removed then)"


class _Refused(Exception):
    """A group changed between the check and its transaction."""


def _remove_one(work: _Work, g: GroupRollback, n: int, save: str | None) -> None:
    """One group in ONE transaction: locked, read and checked again, saved (force), deleted."""
    pause("rollback_group")
    try:
        with work.engine.begin() as conn:
            rm = work.plan(conn, g, lock=True)
            if (rm.changed or rm.added) and not work.force:
                raise _Refused()  # changed since the check: nothing removed
            if save is not None:
                save_removal(save, g, rm, work.tt)
            delete_removal(conn, work.tt, rm)
            forget_group(conn, g.source_id, rm.shared, work.book)
            _record_removed(conn, work, g.source_id)
            for hook in BEFORE_COMMIT:
                hook(n)
        g.status = "removed"
        log.info("group %d (%s) removed: %s", g.source_id, display_text(g.name),
                 ", ".join(f"{t} {c}" for t, c in g.rows.items()))
    except _Refused:
        g.status = "refused"
        for line in g.problems()[:MAX_LISTED]:
            log.error("group %d (%s): %s", g.source_id, display_text(g.name), line)
    except Exception as e:  # noqa: BLE001 - the group stays whole, and is named
        g.status, g.error = "failed", f"{type(e).__name__}: {e}"
        log.error("group %d: rollback failed, nothing of it removed: %s", g.source_id, g.error)


def _record_removed(conn: Connection, work: _Work, gid: int) -> None:
    """The group removed, in the rollback's run row (in the group's transaction): a later
    rollback that names it knows it was moved, then rolled back."""
    if work.run_id is None:
        return
    run = Book("").table(RUN)
    groups = {str(g): "removed" for g in [*work.removed, gid]}
    conn.execute(run.update().where(run.c.id == work.run_id)
                 .values(summary=json.dumps({"groups": groups})))
    work.removed.append(gid)


def _summary(rep: RollbackReport) -> dict:
    return {"groups": {str(g.source_id): g.status for g in rep.groups},
            "rows_removed": sum(sum(g.rows.values()) for g in rep.groups
                                if g.status == "removed"),
            "save": rep.save, "seconds": round(rep.seconds, 3)}


def _close_run(target: Engine, rep: RollbackReport, book: Book) -> None:
    """The rollback's run row closed as it ended: ``interrupted`` when Ctrl-C or a signal
    stopped it (the exception on its way out; an Interrupted gets the line to print: the
    groups removed, each whole), else its status."""
    e = sys.exc_info()[1]
    stopped = e is not None and stopping(e)
    if (signalled := interrupted(e)) is not None:
        signalled.detail = _interrupted(rep, target, book)
    if rep.run_id is None:
        return
    try:
        close_run(target, rep.run_id, "interrupted" if stopped else rep.status, _summary(rep))
    except Exception:  # noqa: BLE001 - an interrupt stays the run's end
        if not stopped:
            raise


def _interrupted(rep: RollbackReport, target: Engine, book: Book) -> str:
    """What an interrupted rollback says: the groups removed (each whole), what is left."""
    todo = [g for g in rep.groups if g.status != "absent"]
    try:  # a group whose transaction committed as the signal came is removed all the same
        with target.connect() as conn:
            left = groups_done(conn, book)
        removed = sum(1 for g in todo if g.source_id not in left)
    except Exception:  # noqa: BLE001
        removed = sum(1 for g in todo if g.status == "removed")
    run = f"rollback run {rep.run_id} stopped, " if rep.run_id is not None else ""
    return (f"{run}{removed} of {len(todo)} groups removed (each whole), the others untouched; "
            "run bascule rollback again to finish")


# -- the JSON file of what --force removes ------------------------------------------------------


def _default_save(settings: Settings) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(settings.report_dir) / f"rollback-saved-{stamp}.json"


def jsonable(v: Any) -> Any:
    """A column value as JSON: dates and times ISO 8601, bytes base64, numbers as numbers."""
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(v)).decode("ascii")
    if hasattr(v, "as_integer_ratio"):  # Decimal
        return float(v)
    return str(v)


def save_removal(path: str | Path, g: GroupRollback, rm: Removal, tt: TargetTables) -> None:
    """Write (or add to) the JSON file: this group's rows, every column, before they go. The
    groups the file already holds (a rollback killed and run again with the same file) stay."""
    p = Path(path)
    data: dict[str, Any] = {"format": SAVE_FORMAT, "groups": []}
    if p.exists():
        try:
            old = json.loads(p.read_text(encoding="utf-8"))
        except ValueError:
            old = {}
        if old.get("format") == SAVE_FORMAT:
            data["groups"] = [x for x in old.get("groups", [])
                              if x.get("source_group_id") != g.source_id]
    tables = {}
    for t, rows in sorted(rm.rows.items()):
        cols = tt.columns(t)
        tables[t] = [{c: jsonable(v) for c, v in zip(cols, vals)}
                     for _k, vals in sorted(rows.items(), key=lambda kv: repr(kv[0]))]
    data["groups"].append({
        "source_group_id": g.source_id, "target_group_id": g.target_id,
        "name": display_text(g.name),
        "written_at": dt.datetime.now().replace(microsecond=0).isoformat(),
        "changed": g.changed, "added": g.added,
        "shared": {t: sorted(ids) for t, ids in rm.shared.items()}, "tables": tables})
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    tmp.replace(p)
