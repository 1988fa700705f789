"""The library face of bascule: what the command line, the demo and the tests call.

```python
from bascule import api
settings = api.settings(source_url=..., target_url=...)   # or load_settings(file, **flags)
api.describe(settings)               -> SourceDescription
api.plan(settings)                   -> RunReport   (writes nothing anywhere; prune=,
                                                      create_schema="head" on a fresh target)
api.migrate(settings, prune=False)   -> RunReport
api.verify(settings)                 -> VerifyReport
api.rollback(settings, groups=[...]) -> RollbackReport (or run_id=N; dry_run, force, save)
api.redirects(settings, "nginx", out_dir=Path(...)) -> (files written, how to install them)
api.producers(settings)              -> [Producer]
api.create_schema(settings, "head")  (an empty Camap schema in an empty target)
api.runs(settings)                   -> [dict] (the runs in the target, oldest first)
```

Each returns a value; none prints. ``migration`` (default ``model.tables.MIGRATION``) is the
description of the tables that move. Everything acts on the source that ``settings.source_name``
names (a target may hold groups of several sources). migrate, verify and rollback hold the
target's run lock: ``wait=True`` waits for another run's, else CannotProceed names it.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import inspect

from bascule.config import Settings, load_settings
from bascule.dbutil import make_engine
from bascule.errors import CannotProceed, MigrationError, SettingsError, require
from bascule.extract.describe import SourceDescription, describe_source
from bascule.extract.source import SourceError
from bascule.load.runlock import run_lock
from bascule.load.runlog import list_runs
from bascule.load.target import TargetError, create_camap_schema
from bascule.model.tables import MIGRATION, Migration
from bascule.producers.notice import Producer, find_producers
from bascule.redirects import EmitOptions, emit
from bascule.redirects.camap_routes import CAMAP_ACTIVE_ROUTES
from bascule.redirects.common import DEFAULT_MAX_AGE
from bascule.redirects.mapping import DbMapping
from bascule.redirects.routes import ACTIVE_ROUTES
from bascule.run.compare import VerifyReport
from bascule.run.migrate import migrate as _migrate
from bascule.run.report import Progress, RunReport
from bascule.run.rollback import RollbackReport
from bascule.run.rollback import rollback as _rollback
from bascule.run.verify import verify as _verify
from bascule.run.verify_scope import DEFAULT_SAMPLE
from bascule.signals import Interrupted, handled, interrupted, received  # noqa: F401 - the CLI's

__all__ = ["MigrationError", "create_schema", "describe", "migrate", "plan", "producers",
           "redirects", "rollback", "runs", "settings", "verify"]


def settings(config_file: str | None = None, **values: Any) -> Settings:
    """Settings from a TOML file (optional), ``BASCULE_*`` variables and these values."""
    return load_settings(config_file, **values)


def describe(s: Settings) -> SourceDescription:
    """What the source holds: shape, groups by mode, rows per table (read only)."""
    try:
        return describe_source(make_engine(require(s.source_url, "source_url")), s.source_kind)
    except SourceError as e:
        raise MigrationError(str(e)) from None


def create_schema(s: Settings, shape: str, migration: Migration = MIGRATION) -> None:
    """An empty Camap schema of that shape ("2023" or "head") in an empty target."""
    try:
        create_camap_schema(make_engine(require(s.target_url, "target_url")), shape, migration)
    except TargetError as e:
        raise MigrationError(str(e)) from None


def plan(s: Settings, *, progress: Progress | None = None, migration: Migration = MIGRATION,
         prune: bool = False, create_schema: str | None = None) -> RunReport:
    """Dry run of migrate: what would move and what changed since the last run. ``prune``:
    the preview of ``migrate --prune`` (rows deleted in the source counted as to remove).
    ``create_schema`` ("2023" or "head"): planned against an empty Camap schema of that shape
    (a fresh target, or none yet), and nothing created anywhere."""
    if create_schema is None:
        return _migrate(s, dry_run=True, prune=prune, progress=progress, migration=migration)
    backend = None
    if s.target_url:  # it must be as empty as migrate --create-schema wants it
        eng = make_engine(s.target_url)
        try:
            backend = eng.url.get_backend_name()
            if set(inspect(eng).get_table_names()) & set(migration.order):
                raise SettingsError("plan --create-schema: the target already has Camap "
                                    "tables; plan against it without --create-schema")
        finally:
            eng.dispose()
    with tempfile.TemporaryDirectory(prefix="bascule-plan-") as tmp:
        empty = make_engine(f"sqlite:///{Path(tmp) / 'empty-camap.sqlite'}")
        try:
            create_camap_schema(empty, create_schema, migration)
            rep = _migrate(s, dry_run=True, prune=prune, progress=progress,
                           migration=migration, target=empty)
        finally:
            empty.dispose()
    rep.target.update(backend=backend, has_bookkeeping=False, shape_reasons=[
        f"--create-schema {create_schema}: planned against an empty Camap {create_schema} "
        "schema (nothing created)"])
    return rep


def migrate(s: Settings, *, prune: bool = False, progress: Progress | None = None,
            migration: Migration = MIGRATION, wait: bool = False) -> RunReport:
    """Move the selected AMAP groups into the target (again: bring it up to date)."""
    return _migrate(s, prune=prune, progress=progress, migration=migration, wait=wait)


def verify(s: Settings, *, progress: Progress | None = None,
           migration: Migration = MIGRATION, changed_only: bool = False,
           sample: float = DEFAULT_SAMPLE, seed: int | None = None,
           wait: bool = False) -> VerifyReport:
    """Compare the target with the source through the id map; ``ok`` when nothing differs.
    ``changed_only``: what the last migrate run wrote, what changed since, and a random
    ``sample`` of the other groups (``bascule verify --changed``)."""
    return _verify(s, progress=progress, migration=migration, changed_only=changed_only,
                   sample=sample, seed=seed, wait=wait)


def rollback(s: Settings, *, groups: Sequence[int] = (), run_id: int | None = None,
             dry_run: bool = False, force: bool = False, save: str | Path | None = None,
             migration: Migration = MIGRATION, progress: Progress | None = None,
             wait: bool = False) -> RollbackReport:
    """Remove from the target what bascule wrote for these source groups (or for the groups
    run ``run_id`` moved), with their id map: refused when rows changed or were added since,
    unless ``force`` (which first writes them all to the JSON file ``save``)."""
    return _rollback(s, groups=groups, run_id=run_id, dry_run=dry_run, force=force,
                     save=save, migration=migration, progress=progress,
                     wait=wait)


def runs(s: Settings, *, source: str | None = None) -> list[dict]:
    """The runs in the target (``bascule runs``), oldest first: id, command, source, host,
    pid, started, ended, status, groups, rows (of ``source`` only, when given). A run shown
    ``running`` while no process holds the target's run lock is shown ``interrupted``: its
    process is gone (the next run that writes records it so)."""
    eng = make_engine(require(s.target_url, "target_url"))
    try:
        with eng.connect() as conn:
            found = list_runs(conn, source)
        if any(r["status"] == "running" for r in found):
            try:
                with run_lock(eng):
                    for r in found:
                        if r["status"] == "running":
                            r["status"] = "interrupted"
            except CannotProceed:
                pass  # a run is alive: it holds the lock
        return found
    finally:
        eng.dispose()


def emit_options(s: Settings, *, fallback: str = "410", max_age: int = DEFAULT_MAX_AGE,
                 config_dir: str, server_tz: str | None = None) -> EmitOptions:
    """The redirect options of these settings, validated (EmitError names a bad value)."""
    return EmitOptions(old_host=s.old_host, new_host=s.new_host, cut=s.redirect_end,
                       status=s.redirect_status, fallback=fallback, max_age=max_age,
                       config_dir=config_dir, server_tz=server_tz or s.timezone).validate()


def redirects(s: Settings, fmt: str, opts: EmitOptions, *, out_dir: Path | None = None,
              stream: TextIO | None = None) -> tuple[list[Path], str]:
    """The redirect configuration of ``fmt`` from the id map in the target: (files written,
    how to install them). csv/json go to ``stream`` when given."""
    eng = make_engine(require(s.target_url, "target_url",
                            " (the id mapping lives in the target database)"))
    try:
        mapping = DbMapping(eng, source=s.source_name)
        if opts.routes == ACTIVE_ROUTES and mapping.from_camap():
            opts = replace(opts, routes=list(CAMAP_ACTIVE_ROUTES))  # Camap's URLs, not Cagette's
        return emit(fmt, mapping, opts, out_dir=out_dir, stream=stream)
    finally:
        eng.dispose()


def redirects_left(opts: EmitOptions) -> dt.timedelta:
    """How long the redirects still work."""
    return opts.cut - dt.datetime.now(opts.cut.tzinfo)


def producers(s: Settings) -> list[Producer]:
    """The producers whose catalogs were linked to a producer space, with their Camap links."""
    src = make_engine(require(s.source_url, "source_url"))
    tgt = make_engine(require(s.target_url, "target_url"))
    try:
        return find_producers(src, DbMapping(tgt, source=s.source_name), new_host=s.new_host,
                              cutover_date=s.cutover_date)
    finally:
        src.dispose()
        tgt.dispose()
