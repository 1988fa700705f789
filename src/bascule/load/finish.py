"""Before and after the units, as pgloader names them: ``prepare_target`` (bascule's tables, the
indexes a killed run left dropped, the foreign-key checks, the secondary indexes of empty tables)
and ``complete_target`` (those indexes built again while every foreign key is checked, then the
sequences)."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from bascule.config import Settings
from bascule.errors import MigrationError
from bascule.load import indexes
from bascule.load.bookkeeping import ensure_bookkeeping
from bascule.load.dialects import dialect_for
from bascule.load.target import TargetInfo, dangling_foreign_keys, fk_check_ways, target_read
from bascule.model.tables import Migration
from bascule.signals import pause

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    """What ``prepare_target`` decided: how the units write, and what waits for the end."""

    defer_fks: bool = False  # the units write without row-by-row FK checks
    indexes_dropped: list[str] = field(default_factory=list)  # "Table.index", until rebuilt


@dataclass
class Completed:
    """What ``complete_target`` did (the run report's fk_check, indexes, sequences)."""

    fk_check: dict | None = None
    indexes: dict | None = None
    sequences: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # fk_check, indexes


def restore_left_indexes(engine: Engine) -> None:
    """Build the indexes a run that died left dropped (recorded in bascule_index) before this
    run starts; one that cannot be built stops it, named."""
    left = indexes.restore(engine)
    if left.restored:
        log.info("%d secondary indexes left dropped by a run that did not end were built "
                 "again (%.1f s)", len(left.restored), left.seconds)
    if left.failed:
        raise MigrationError(
            "target: secondary indexes that an earlier run dropped could not be built "
            "again: " + "; ".join(f"{f['index']} on {f['table']}: {f['error']}"
                                  for f in left.failed)
            + f" (their definitions are in {indexes.INDEX}: fix the cause and run again, or "
            "delete a row there to give that index up)")


def prepare_bookkeeping(engine: Engine, settings: Settings) -> bool:
    """bascule's tables exist, the indexes of a killed run are back; whether the units may
    write without row-by-row FK checks (fk_checks=after, where the target allows it)."""
    ensure_bookkeeping(engine)
    restore_left_indexes(engine)
    if settings.fk_checks != "after":
        return False
    ok, why = dialect_for(engine).can_defer_fk_checks(engine)
    if why:
        log.warning(why)
    return ok


def defer_indexes(engine: Engine, settings: Settings, migration: Migration, tinfo: TargetInfo,
                  run_id: int, defer_fks: bool) -> list[str]:
    """secondary_indexes=after (PostgreSQL, MariaDB): drop the secondary indexes of the empty
    tables, to build them after the data (load.indexes). ``defer_fks``: the units write without
    row-by-row foreign-key checks."""
    if settings.secondary_indexes != "after" or not dialect_for(engine).defers_indexes:
        return []
    dropped = indexes.drop_for_empty_tables(
        engine, [t for t in migration.order if t in tinfo.tables], run_id, defer_fks)
    if dropped:
        log.info("%d secondary indexes of %d empty tables dropped; they are built again "
                 "after the data", len(dropped), len({d.split(".")[0] for d in dropped}))
    return dropped


def check_foreign_keys(engine: Engine, only: dict[str, set[int] | None] | None = None,
                       keys: Mapping[str, str] | None = None) -> dict:
    """Every foreign key of the target, checked once (fk_checks=after): {checked, dangling}.
    ``only``, ``keys``: the rows the run wrote (``dangling_foreign_keys``)."""
    with target_read(engine) as conn:
        checked, bad = dangling_foreign_keys(conn, only, engine, fk_check_ways(engine), keys)
    for b in bad:
        log.error("foreign key %s.%s -> %s: %d rows point at nothing", b["table"],
                  ",".join(b["columns"]), b["parent"], b["rows"])
    return {"checked": checked, "dangling": bad}


def restore_indexes(engine: Engine, dropped: list[str]) -> dict:
    """Build again the indexes this run dropped (also when the run fails): the report's
    ``indexes``."""
    r = indexes.restore(engine)
    r.dropped = dropped
    log.info("%d secondary indexes built again in %.1f s%s", len(r.restored), r.seconds,
             f"; {len(r.failed)} could not be" if r.failed else "")
    return r.as_dict()


def timed(fn, *args):
    """(``fn(*args)``, the seconds it took)."""
    t0 = time.monotonic()
    out = fn(*args)
    return out, time.monotonic() - t0


def complete_target(engine: Engine, tinfo: TargetInfo, migration: Migration,
                    prepared: Prepared, written: dict[str, set[int] | None] | None = None,
                    keys: Mapping[str, str] | None = None) -> Completed:
    """After the units: the dropped indexes are built again while the foreign keys of the rows
    written (``written``: table → ids, or for a table without id the values of its column in
    ``keys``; None every row; None: every table) are checked in a
    thread (other connections; the checks join on the parents' keys, which were never
    dropped), or after them where building waits for the checks' locks (MariaDB); then the
    sequences are fixed."""
    done = Completed()
    pause("indexes")
    beside = dialect_for(engine).index_builds_beside_fk_check
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bascule-fk-check") as ex:
        check = ex.submit(timed, check_foreign_keys, engine, written, keys) \
            if prepared.defer_fks and beside else None
        if prepared.indexes_dropped:
            dropped, prepared.indexes_dropped = prepared.indexes_dropped, []
            done.indexes, done.seconds["indexes"] = timed(restore_indexes, engine, dropped)
        if prepared.defer_fks and not beside:
            check = ex.submit(timed, check_foreign_keys, engine, written, keys)
        if check is not None:
            done.fk_check, done.seconds["fk_check"] = check.result()  # its error is raised here
    with engine.begin() as conn:
        done.sequences = dialect_for(engine).fix_sequences(
            conn, [tinfo.tables[t] for t in migration.order if not migration[t].composite])
    return done
