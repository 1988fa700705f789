"""Targets filled before sources were named: their bookkeeping adopted under the source name.

Until sources were named, ``bascule_idmap``, ``bascule_idblock``, ``bascule_group`` and
``bascule_chunk`` were keyed without a source, and ``bascule_run`` had no source, host nor
process (the "legacy" layout, ``load.bookkeeping``). Everything in such a target came from one
source: the first run of this release that writes there (migrate, verify, rollback, under the
run lock) makes every row that source's, the one the settings name (``source_name``):

- each keyed table is put aside (``<table>_legacy``), created again in the current layout,
  filled by one ``INSERT ... SELECT`` that adds the source, and the old one dropped;
- ``bascule_run`` gets its three columns (``ALTER TABLE ... ADD COLUMN``) and its rows the
  source.

A run killed midway leaves a table aside: the next run that writes copies it again from there
(the table in the current layout, maybe half filled, is dropped first; nothing else writes it
before the upgrade ends). Readers that do not write (plan, redirects, producers, runs) read a
legacy target as it is (``Book.legacy``).
"""

from __future__ import annotations

import logging

from sqlalchemy import MetaData, String, Table, inspect, literal, select, text
from sqlalchemy.engine import Connection, Engine

from bascule.errors import CannotProceed
from bascule.load.bookkeeping import RUN, SOURCE_TABLES, bookkeeping_metadata

log = logging.getLogger(__name__)

#: The suffix of a legacy table put aside while it is copied.
ASIDE = "_legacy"


def adopt(engine: Engine, source: str) -> list[str]:
    """Upgrade bascule's tables of the legacy layout, their rows becoming ``source``'s (see the
    module docstring); the tables upgraded. The caller holds the run lock."""
    done = []
    new_md = bookkeeping_metadata()
    old_md = bookkeeping_metadata(legacy=True)
    for name in SOURCE_TABLES:
        if name == RUN:
            continue
        with engine.begin() as conn:
            if _copy(conn, new_md.tables[name], old_md.tables[name], source):
                done.append(name)
    with engine.begin() as conn:
        if _add_run_columns(conn, new_md.tables[RUN], source):
            done.append(RUN)
    if done:
        log.warning("bascule's tables in the target were of an earlier release: %s upgraded, "
                    "their rows are now those of source %r (source_name)", ", ".join(done),
                    source)
    return done


def _columns(conn: Connection, table: str) -> set[str]:
    return {c["name"] for c in inspect(conn).get_columns(table)}


def _copy(conn: Connection, new: Table, old: Table, source: str) -> bool:
    """One keyed table into the current layout (or nothing to do): whether it was copied."""
    insp = inspect(conn)
    aside = new.name + ASIDE
    has_new, has_aside = insp.has_table(new.name), insp.has_table(aside)
    current = has_new and "source" in _columns(conn, new.name)
    if not has_aside:
        if not has_new or current:
            return False  # the current layout already, or none (ensure_bookkeeping makes it)
        _rename(conn, new.name, aside)
    elif current:  # a copy that a killed run left half done: made again from the aside table
        new.drop(conn)
    elif has_new:
        raise CannotProceed(f"target: both {new.name} and {aside} are of the legacy layout: keep "
                           f"the one that is bascule's bookkeeping, drop the other")
    new.create(conn)
    src = Table(aside, MetaData(), autoload_with=conn)
    cols = [c.name for c in old.columns if c.name in src.c]
    conn.execute(new.insert().from_select(
        ["source", *cols], select(literal(source, String(64)), *[src.c[c] for c in cols])))
    src.drop(conn)
    return True


def _rename(conn: Connection, name: str, to: str) -> None:
    q = conn.dialect.identifier_preparer.quote
    conn.execute(text(f"ALTER TABLE {q(name)} RENAME TO {q(to)}"))


def _add_run_columns(conn: Connection, run: Table, source: str) -> bool:
    """bascule_run's source, host and pid, its rows given ``source``: whether it was upgraded."""
    if not inspect(conn).has_table(RUN):
        return False
    have = _columns(conn, RUN)
    missing = [c for c in ("source", "host", "pid") if c not in have]
    if not missing:
        return False
    q = conn.dialect.identifier_preparer.quote
    for c in missing:
        typ = run.c[c].type.compile(dialect=conn.dialect)
        conn.execute(text(f"ALTER TABLE {q(RUN)} ADD COLUMN {q(c)} {typ}"))
    conn.execute(run.update().where(run.c.source.is_(None)).values(source=source))
    return True
