"""Before a run writes anything: which groups move, how they are cut into units, what the target
already holds, which text columns are double-encoded, whether the preserve strategy can work.
Everything here only reads."""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import String, Text, func, select
from sqlalchemy.engine import Engine

from bascule.config import Settings
from bascule.dberrors import shown_url
from bascule.errors import SettingsError
from bascule.extract.checksums import supported
from bascule.extract.closure import group_closure, shared_refs_of
from bascule.extract.drivers import source_engine
from bascule.extract.source import (
    GroupRef,
    SourceError,
    SourceInfo,
    SourceReader,
    inspect_source,
)
from bascule.load.bookkeeping import GROUP, Book
from bascule.load.bulk import max_ids
from bascule.load.dialects import dialect_for
from bascule.load.idmap import load_shared, max_new_ids, owned_old_ids
from bascule.load.runlog import groups_done, previous_run
from bascule.load.target import TargetInfo, refuse_source_as_target, target_read
from bascule.model.tables import Migration
from bascule.plan.changeset import Entry
from bascule.plan.ids import RunState, email_key, new_id
from bascule.plan.values import FOUR_BYTES, NUL
from bascule.run.changes import Precomputed, rerun_checksums
from bascule.run.context import run_engines
from bascule.run.proof import selection
from bascule.run.report import Progress
from bascule.transform.clean import detect_mojibake_columns

log = logging.getLogger(__name__)

#: Rows in one unit of work (estimate), in batches: big enough to amortise round trips, small
#: enough to keep memory flat and a failed unit cheap to retry group by group.
UNIT_BATCHES = 12
#: The same in a parallel run, where every worker process holds its own unit.
WORKER_UNIT_BATCHES = 6
#: The same for a verify worker, which holds a unit's source rows, the rows they become and
#: the target's rows at once.
VERIFY_WORKER_UNIT_BATCHES = 4


def select_groups(reader: SourceReader, settings: Settings) -> list[GroupRef]:
    """The AMAP groups that move: every one, or those of ``groups``, less ``exclude_groups``."""
    amap = reader.amap_groups()
    if settings.groups:
        by_id = {g.id: g for g in amap}
        all_ids = {g.id for g in reader.all_groups()}
        problems = []
        for gid in settings.groups:
            if gid not in all_ids:
                problems.append(f"group {gid}: not in the source")
            elif gid not in by_id:
                problems.append(f"group {gid}: is a shop-mode group ((flags & 2) != 0), never moved")
        if problems:
            raise SettingsError("; ".join(problems) + " (`bascule describe` lists the source's "
                                "groups and their mode)")
    return selection(amap, settings)


def check_before_create(settings: Settings, shape: str, migration: Migration) -> None:
    """``migrate --create-schema``: what the run would refuse once the schema is there, found
    before the schema is created (so that a refused run leaves the target as it was): the
    source readable and of a kind and shape that moves into a Camap ``shape``, the target not
    the source's own database, the selected groups in the source and in AMAP mode. Reads the
    source only (and asks the target's server whether it is the source's database)."""
    with run_engines(settings, None, None) as (source, target):
        refuse_source_as_target(source, target)
        try:
            sinfo = inspect_source(source, migration, settings.source_kind)
        except SourceError as e:
            raise SettingsError(f"source: {e}") from None
        if sinfo.migration is not migration and shape != "head":
            raise SettingsError(f"--create-schema {shape}: a current Camap source "
                                f"({sinfo.shape}) moves only into a current Camap: "
                                "--create-schema head")
        with SourceReader(source, sinfo) as reader:
            select_groups(reader, settings)


def estimate_rows(reader: SourceReader, groups: Sequence[GroupRef]) -> dict[int, int]:
    """Rough rows per group (orders weigh most), to cut units of work and for the ETA."""
    if not groups:
        return {}
    T = reader.info.tables
    uo, p, c = T["UserOrder"], T["Product"], T["Catalog"]
    stmt = (select(c.c.groupId, func.count())
            .select_from(uo.join(p, p.c.id == uo.c.productId).join(c, c.c.id == p.c.catalogId))
            .group_by(c.c.groupId))
    if len(groups) <= 1000:  # a rerun's few groups
        stmt = stmt.where(c.c.groupId.in_([g.id for g in groups]))
    orders = {int(g): int(n) for g, n in reader.scalar_rows(stmt)}
    return {g.id: int(orders.get(g.id, 0) * 1.7) + 50 for g in groups}


def cut_units(groups: Sequence[GroupRef], est: dict[int, int], limit: int) -> list[list[GroupRef]]:
    """Consecutive groups, as many per unit as ``limit`` estimated rows allow (one at least)."""
    units: list[list[GroupRef]] = []
    cur: list[GroupRef] = []
    n = 0
    for g in groups:
        if cur and n + est[g.id] > limit:
            units.append(cur)
            cur, n = [], 0
        cur.append(g)
        n += est[g.id]
    if cur:
        units.append(cur)
    return units


# -- the identity of the groups: a source name reused for another instance ---------------------


def group_identities(reader: SourceReader, groups: Sequence[GroupRef]) -> dict[int, str | None]:
    """Source group id → its identity, what ``bascule_group.identity`` records: its creation
    date (``Group.cdate``), which a rename does not change and a restored copy keeps, and which
    a group of another instance at the same id has not; None without one (a zero date)."""
    g = reader.info.tables["Group"]
    out: dict[int, str | None] = dict.fromkeys((x.id for x in groups), None)
    if "cdate" not in g.c:
        return out
    ids = sorted(out)
    for i in range(0, len(ids), 1000):
        for gid, cdate in reader.scalar_rows(select(g.c.id, g.c.cdate)
                                             .where(g.c.id.in_(ids[i:i + 1000]))):
            if isinstance(cdate, (dt.datetime, dt.date)):
                out[int(gid)] = "created " + cdate.isoformat(sep=" ") \
                    if isinstance(cdate, dt.datetime) else "created " + cdate.isoformat()
    return out


def check_identities(engine: Engine, tinfo: TargetInfo, book: Book, groups: Sequence[GroupRef],
                     identities: dict[int, str | None]) -> dict[int, dict]:
    """Refuse (SettingsError, before anything is written) when a group this source name
    recorded is another group in the source now (another identity): ``source_name`` reused for
    another instance, whose groups would overwrite the first one's. Returns the groups recorded
    (``bascule_group`` rows of the source)."""
    if not tinfo.has_bookkeeping:
        return {}
    with target_read(engine) as conn:
        recorded = groups_done(conn, book)
    names = {g.id: g.name for g in groups}
    bad = [(gid, info, identities[gid]) for gid, info in sorted(recorded.items())
           if gid in identities and info.get("identity") and identities[gid]
           and info["identity"] != identities[gid]]
    if bad:
        raise SettingsError(
            f"source_name {book.source!r} names another instance than the one it moved: "
            + "; ".join(f"group {gid} was {info['name']!r} ({info['identity']}), the source's "
                        f"group {gid} is {names.get(gid)!r} ({now})"
                        for gid, info, now in bad[:5])
            + (f"; and {len(bad) - 5} more" if len(bad) > 5 else "")
            + ". Nothing was written: give this source its own source_name (the same name is "
            "for the same instance: a rehearsal on a restored copy and the real night)")
    return recorded


def record_identities(engine: Engine, book: Book, recorded: dict[int, dict],
                      identities: dict[int, str | None]) -> None:
    """The identity of the groups recorded without one (by an earlier release)."""
    t = book.table(GROUP)
    todo = [(gid, ident) for gid, ident in sorted(identities.items())
            if ident and gid in recorded and not recorded[gid].get("identity")]
    if not todo:
        return
    with engine.begin() as conn:
        for gid, ident in todo:
            conn.execute(t.update().where(book.mine(t), t.c.source_group_id == gid)
                         .values(identity=ident))


# -- how many processes -------------------------------------------------------------------------


def workers_wanted(settings: Settings, source: Engine, target: Engine, *,
                   parallel_ok: bool) -> int:
    """Worker processes a run may use (1: none): the setting (0 = one per core), when the source
    can be read by several connections in one snapshot (MariaDB/MySQL) and worker processes can
    write (or read) the target (MariaDB/MySQL, PostgreSQL). ``parallel_ok``: the command runs
    in workers at all (migrate and verify; not plan)."""
    n = settings.workers or (os.cpu_count() or 1)
    if (n <= 1 or not parallel_ok or not dialect_for(source).shared_snapshots
            or not dialect_for(target).parallel_target
            or os.environ.get("BASCULE_PIPELINE", "1") == "0"):
        return 1
    return n


def workers_for(wanted: int, units: Sequence, reader: SourceReader) -> int:
    """The worker processes this run uses (1: none)."""
    want = min(wanted, len(units))
    if want > 1 and reader.snapshot_error:
        log.warning("one process: the source refused FLUSH TABLES WITH READ LOCK, needed to "
                    "give the worker processes the same snapshot (%s)", reader.snapshot_error)
        want = 1
    return max(1, min(want, len(reader.snapshots)))


# -- what the target holds -------------------------------------------------------------------


@dataclass
class TargetState:
    """What the target holds before the run (read in one read-only transaction)."""

    shared: dict[str, dict[int, Entry]]  # the id map of the shared rows
    next_id: dict[str, int]  # above every id present or ever allocated by bascule
    emails: dict[str, int]  # e-mail (``email_key``) → target user id (the lowest)
    emails2: dict[str, int]  # the same of email2
    holders: dict[int, int]  # target user id → the source user of this source that is it
    previous_run: dict | None
    groups_done: dict[int, dict]  # bascule_group rows
    rerun: bool  # the target holds bascule's tables: the id map may be rewritten

    def run_state(self) -> RunState:
        """The run's ids and e-mails, starting from what the target holds."""
        return RunState(self.shared, self.next_id, self.emails, self.emails2, self.holders)


def read_target_state(engine: Engine, tinfo: TargetInfo, migration: Migration, book: Book,
                      run_id: int | None = None) -> TargetState:
    """What the target holds for the source of ``book`` (``run_id``: the run reading it, which
    is not its own previous run)."""
    with target_read(engine) as conn:
        bk = conn if tinfo.has_bookkeeping else None
        shared = load_shared(bk, migration.shared, book)
        allocated = max_new_ids(bk, book, blocks=tinfo.has_idblock)
        present = max_ids(conn, [tinfo.tables[t] for t in migration.order
                                 if not migration[t].composite])
        next_id = {t: max(n, allocated.get(t, 0)) + 1 for t, n in present.items()}
        next_id["User"] = max(next_id["User"], 2)  # never give a moved user id 1
        u = tinfo.tables["User"]
        emails: dict[str, int] = {}
        emails2: dict[str, int] = {}
        for uid, e1, e2 in conn.execute(select(u.c.id, u.c.email, u.c.email2).order_by(u.c.id)):
            k1, k2 = email_key(e1), email_key(e2)
            if k1 is not None:
                emails.setdefault(k1, int(uid))
            if k2 is not None:
                emails2.setdefault(k2, int(uid))
        holders = {new_id(e): old for old, e in shared.get("User", {}).items()}
        return TargetState(shared, next_id, emails, emails2, holders,
                           previous_run(conn, book, before=run_id) if bk is not None else None,
                           groups_done(conn, book) if bk is not None else {},
                           tinfo.has_bookkeeping)


def preserve_preflight(reader: SourceReader, engine: Engine, tinfo: TargetInfo,
                       migration: Migration, groups: Sequence[GroupRef], book: Book) -> None:
    """id_strategy=preserve: refuse to start when any source id is taken in the target (by a
    row that this source did not move there)."""
    problems: list[str] = []
    with target_read(engine) as conn:
        owned = defaultdict(set, owned_old_ids(conn, book, blocks=tinfo.has_idblock)
                            if tinfo.has_bookkeeping else {})
        gids = [g.id for g in groups]
        for i in range(0, len(gids), 200):
            rows = group_closure(reader, migration, gids[i:i + 200])
            shared = shared_refs_of(migration, reader.info.shape, rows)
            for tname, ids in [(t, {int(r["id"]) for r in rs}) for t, rs in rows.items()
                               if not migration[t].composite] + list(shared.items()):
                problems += _taken(conn, tinfo, tname, sorted(ids - owned[tname]))
    if problems:
        raise SettingsError("id_strategy=preserve refused: " + "; ".join(problems[:20])
                            + " (keep id_strategy = remap for this target)")


def _taken(conn, tinfo: TargetInfo, table: str, want: list[int]) -> list[str]:
    out = []
    if table == "User" and 1 in want:
        out.append("User id 1 would keep id 1 (Camap's super-admin)")
    tbl = tinfo.tables[table]
    for j in range(0, len(want), 1000):
        taken = conn.execute(select(tbl.c.id).where(tbl.c.id.in_(want[j:j + 1000]))).scalars().all()
        if taken:
            out.append(f"{table}: ids {sorted(taken)[:10]} already exist in the target "
                       f"({len(taken)} collisions)")
    return out


# -- values the target refuses ---------------------------------------------------------------


def refused_value_checks(engine: Engine, tinfo: TargetInfo, migration: Migration,
                         backend: str | None = None
                         ) -> dict[str, tuple[tuple[str, str], ...]]:
    """Table → its text columns whose values the target may refuse, with the kind
    (``plan.values``): every text column of a PostgreSQL target (NUL), the ``utf8mb3`` columns
    of a MariaDB/MySQL one (characters beyond U+FFFF). ``backend``: the target as
    ``--create-schema`` would make it on that backend, when ``engine`` is a stand-in (a
    PostgreSQL one refuses NUL; a MariaDB one is utf8mb4, which takes every character)."""
    dialect = dialect_for(engine) if backend is None else None
    nul = dialect.text_refuses_nul if dialect is not None else backend == "postgresql"
    narrow: dict[str, set[str]] = {}
    if dialect is not None:
        with target_read(engine) as conn:
            narrow = dialect.bmp_only_columns(conn)
    out: dict[str, tuple[tuple[str, str], ...]] = {}
    for t in migration.order:
        tbl = tinfo.tables.get(t)
        if tbl is None:
            continue
        checks = [(c.name, NUL) for c in tbl.columns
                  if nul and isinstance(c.type, (String, Text))]
        checks += [(c, FOUR_BYTES) for c in sorted(narrow.get(t, ()))]
        if checks:
            out[t] = tuple(checks)
    if narrow:
        log.info("utf8mb3 columns of the target (no character beyond U+FFFF): %s",
                 ", ".join(f"{t}.{c}" for t, cs in sorted(narrow.items()) for c in sorted(cs)))
    return out


# -- double-encoded text --------------------------------------------------------------------


def text_samples(reader: SourceReader, migration: Migration) -> dict[tuple[str, str], list[str]]:
    """Up to 2000 non-ASCII values per text column of the moved tables, in id order.

    Among the first 20000 non-NULL values of each column (by primary key). The server keeps
    only the values that are not pure ASCII (a superset test, checked again here), so that
    the values that cannot be double-encoded are never sent.
    """
    out: dict[tuple[str, str], list[str]] = {}
    info: SourceInfo = reader.info
    jobs = []
    for t in migration.shared + migration.group:
        tbl = info.tables.get(t)
        if tbl is None:
            continue
        pk = list(tbl.primary_key.columns)
        for cname in info.columns[t]:
            col = tbl.c[cname]
            if isinstance(col.type, (String, Text)):
                jobs.append((_sample_stmt(reader, col, pk), (t, cname)))

    def consume(key: tuple[str, str], part) -> None:
        vals = out.setdefault(key, [])
        vals.extend(v for (v,) in part if isinstance(v, str) and not v.isascii())

    reader.run_all(jobs, consume)  # at once on the snapshot's connections
    return {k: v[:2000] for k, v in sorted(out.items()) if v}


def _sample_stmt(reader: SourceReader, col, pk: list):
    inner = select(*pk, col.label("bascule_v")).where(col.is_not(None))
    if pk:
        inner = inner.order_by(*pk)
    sub = inner.limit(20000).subquery("bascule_s")
    stmt = select(sub.c.bascule_v).where(reader.dialect.non_ascii(sub.c.bascule_v))
    if pk:
        stmt = stmt.order_by(*[sub.c[c.name] for c in pk])
    return stmt.limit(2000)


def mojibake_columns(reader: SourceReader, migration: Migration,
                     samples: dict[tuple[str, str], list[str]] | None = None
                     ) -> set[tuple[str, str]]:
    """The (table, column) pairs whose non-ASCII text is UTF-8 read as latin1 (from
    ``samples`` when they were read already: ``text_samples``)."""
    found = detect_mojibake_columns(text_samples(reader, migration) if samples is None
                                    else samples)
    if found:
        log.info("double-encoded text columns: %s",
                 ", ".join(f"{t}.{c}" for t, c in sorted(found)))
    return set(found)


@dataclass
class Opened:
    """What a migrate or verify run reads before it decides anything (``open_state``)."""

    held: TargetState
    mojibake: set[tuple[str, str]]  # the double-encoded text columns
    ahead: Precomputed | None  # the source's checksums of a rerun, when asked


def open_state(progress: Progress, reader: SourceReader, migration: Migration, target: Engine,
               tinfo: TargetInfo, book: Book, *, run_id: int | None = None,
               checksums: bool = True) -> Opened:
    """The target's state (with the faster reading driver on a pymysql target), and in a
    thread meanwhile the source's text sampled and checked for double encoding, with
    ``checksums`` (a target holding stored ones, a source that has them) the source's
    checksums of a rerun, which its server computes while the samples are checked: after the
    sampling, which uses the same connections (``rerun_checksums``). The target's state, the
    largest of these, is built in the calling thread: built in another, its maps stayed in
    that thread's heap arena, and a full verify's peak RSS grew by 10-15 MB."""
    reading = source_engine(target.url, side="target", shown=shown_url(target)) \
        if target.url.drivername.endswith("+pymysql") else target
    ask = checksums and tinfo.has_chunks and tinfo.has_bookkeeping and supported(reader)

    def source_side() -> tuple[set[tuple[str, str]], Future | None]:
        samples = text_samples(reader, migration)
        sums_f = ex.submit(rerun_checksums, progress, reader, migration, target, tinfo,
                           book) if ask else None
        return mojibake_columns(reader, migration, samples), sums_f

    try:
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="bascule-open") as ex:
            source_f = ex.submit(source_side)
            held = read_target_state(reading, tinfo, migration, book, run_id)
            mojibake, sums_f = source_f.result()
            return Opened(held, mojibake, sums_f.result() if sums_f is not None else None)
    finally:
        if reading is not target:
            reading.dispose()
