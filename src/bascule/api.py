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
api.check_redirects(settings, "http://old-host", opts) -> CheckResult (the deployed redirects)
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
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Column, Integer, MetaData, Table, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from bascule.config import Settings, load_settings, safe_url
from bascule.dberrors import ConnectRetry, nothing_migrated
from bascule.dbutil import make_engine
from bascule.errors import CannotProceed, MigrationError, SettingsError, require
from bascule.extract.describe import SourceDescription, describe_source
from bascule.extract.source import SourceError
from bascule.load.bookkeeping import IDMAP
from bascule.load.runlock import run_lock
from bascule.load.runlog import list_runs
from bascule.load.target import TargetError, create_camap_schema
from bascule.model.tables import MIGRATION, Migration
from bascule.producers.notice import Producer, find_producers
from bascule.redirects import EmitOptions, emit
from bascule.redirects.camap_routes import CAMAP_ACTIVE_ROUTES
from bascule.redirects.check import DEFAULT_PER_ROUTE, CheckResult
from bascule.redirects.check import check as check_deployed
from bascule.redirects.common import DEFAULT_MAX_AGE
from bascule.redirects.mapping import DbMapping
from bascule.redirects.routes import ACTIVE_ROUTES
from bascule.run.compare import VerifyReport
from bascule.run.migrate import migrate as _migrate
from bascule.run.preflight import check_before_create
from bascule.run.report import Progress, RunReport
from bascule.run.rollback import RollbackReport
from bascule.run.rollback import rollback as _rollback
from bascule.run.verify import verify as _verify
from bascule.run.verify_scope import DEFAULT_SAMPLE
from bascule.signals import Interrupted, handled, interrupted, received  # noqa: F401 - the CLI's

__all__ = ["MigrationError", "create_schema", "describe", "migrate", "plan", "producers",
           "check_redirects", "redirects", "rollback", "runs", "settings", "verify"]


def _engine(s: Settings, side: str, why: str = ""):
    """The engine of the settings' ``source_url`` or ``target_url``; its errors name the side
    (``bascule.dberrors``), a transient refusal to connect is tried again (connect_tries)."""
    setting = f"{side}_url"
    return make_engine(require(getattr(s, setting), setting, why), side=side,
                       retry=ConnectRetry.of(s))


def _migrated_into(eng, s: Settings) -> None:
    """CannotProceed unless bascule wrote into this target (its id map is there)."""
    if not inspect(eng).has_table(IDMAP):
        raise nothing_migrated(s.target_url)


def settings(config_file: str | None = None, **values: Any) -> Settings:
    """Settings from a TOML file (optional), ``BASCULE_*`` variables and these values."""
    return load_settings(config_file, **values)


def describe(s: Settings) -> SourceDescription:
    """What the source holds: shape, groups by mode, rows per table (read only)."""
    try:
        return describe_source(_engine(s, "source"), s.source_kind)
    except SourceError as e:
        raise SettingsError(str(e)) from None


def create_schema(s: Settings, shape: str, migration: Migration = MIGRATION) -> None:
    """An empty Camap schema of that shape ("2023" or "head") in an empty target."""
    _new_schema(s, shape, migration)


def _new_schema(s: Settings, shape: str, migration: Migration) -> None:
    try:
        create_camap_schema(_engine(s, "target"), shape, migration)
    except TargetError as e:
        raise SettingsError(str(e)) from None


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
        eng = _engine(s, "target")
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
                           migration=migration, target=empty, target_backend=backend)
        finally:
            empty.dispose()
    rep.target.update(backend=backend, has_bookkeeping=False, shape_reasons=[
        f"--create-schema {create_schema}: planned against an empty Camap {create_schema} "
        "schema (nothing created)"])
    return rep


def migrate(s: Settings, *, prune: bool = False, progress: Progress | None = None,
            migration: Migration = MIGRATION, wait: bool = False,
            create_schema: str | None = None,
            created: Callable[[str], None] | None = None) -> RunReport:
    """Move the selected AMAP groups into the target (again: bring it up to date).
    ``create_schema`` ("2023" or "head"): first an empty Camap schema of that shape in the
    empty target, once the source, the settings and the selection of groups are checked
    (nothing is created when one is refused); ``created`` is then called with the shape."""
    if create_schema:
        check_before_create(s, create_schema, migration)
        _new_schema(s, create_schema, migration)
        if created is not None:
            created(create_schema)
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
             wait: bool = False, confirm: Callable[[RollbackReport], bool] | None = None
             ) -> RollbackReport:
    """Remove from the target what bascule wrote for these source groups (or for the groups
    run ``run_id`` moved), with their id map: refused when rows changed or were added since,
    unless ``force`` (which first writes them all to the JSON file ``save``). A group named
    that this source never moved is a SettingsError. ``confirm(report)``: asked once every
    group is checked, before anything is written (False: DataRefused, nothing removed)."""
    return _rollback(s, groups=groups, run_id=run_id, dry_run=dry_run, force=force,
                     save=save, migration=migration, progress=progress,
                     wait=wait, confirm=confirm)


def runs(s: Settings, *, source: str | None = None) -> list[dict]:
    """The runs in the target (``bascule runs``), oldest first: id, command, source, host,
    pid, started, ended, status, groups, rows (of ``source`` only, when given). A run shown
    ``running`` while no process holds the target's run lock is shown ``interrupted``: its
    process is gone (the next run that writes records it so)."""
    eng = _engine(s, "target")
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
    try:
        return EmitOptions(old_host=s.old_host, new_host=s.new_host, cut=s.redirect_end,
                           status=s.redirect_status, fallback=fallback, max_age=max_age,
                           config_dir=config_dir, server_tz=server_tz or s.timezone).validate()
    except ZoneInfoNotFoundError:  # a KeyError: not the ValueError of the other checks
        raise SettingsError(f"--server-tz {server_tz!r}: unknown time zone (use an IANA name "
                            "such as Europe/Paris)") from None


def redirects(s: Settings, fmt: str, opts: EmitOptions, *, out_dir: Path | None = None,
              stream: TextIO | None = None, allow_expired: bool = False
              ) -> tuple[list[Path], str]:
    """The redirect configuration of ``fmt`` from the id map in the target: (files written,
    how to install them). csv/json go to ``stream`` when given. An end date already past is
    refused (SettingsError, before anything is written) unless ``allow_expired``."""
    refuse_expired(opts, allow_expired)
    eng = _engine(s, "target", " (the id mapping lives in the target database)")
    try:
        _migrated_into(eng, s)
        mapping = DbMapping(eng, source=s.source_name)
        return emit(fmt, mapping, _routes_of(mapping, opts), out_dir=out_dir, stream=stream)
    finally:
        eng.dispose()


def _routes_of(mapping: DbMapping, opts: EmitOptions) -> EmitOptions:
    if opts.routes == ACTIVE_ROUTES and mapping.from_camap():
        return replace(opts, routes=list(CAMAP_ACTIVE_ROUTES))  # Camap's URLs, not Cagette's
    return opts


def redirects_left(opts: EmitOptions) -> dt.timedelta:
    """How long the redirects still work."""
    return opts.cut - dt.datetime.now(opts.cut.tzinfo)


def refuse_expired(opts: EmitOptions, allow_expired: bool = False) -> None:
    """SettingsError when the redirects of ``opts`` would already be over (their end date is
    past): deployed, every old URL would get the fallback from the first day."""
    if allow_expired or redirects_left(opts).total_seconds() > 0:
        return
    raise SettingsError(
        f"redirect_until: the redirects end at {opts.cut.isoformat()}, which is past: deployed "
        "now, every old URL of a moved entity would get the fallback, never the redirect; set a "
        "later redirect_until (bascule.toml, BASCULE_REDIRECT_UNTIL or --until), or pass "
        "--allow-expired to emit it anyway")


def check_redirects(s: Settings, base_url: str, opts: EmitOptions, *,
                    per_route: int = DEFAULT_PER_ROUTE, seed: int | None = None,
                    timeout: float = 10.0,
                    progress: Callable[[int, int], None] | None = None) -> CheckResult:
    """``bascule redirects --check URL``: ask the deployed old host (``base_url``) a sample of
    old URLs and compare its answers with the id map in the target (see redirects/check.py).
    The groups not moved are read from the source when ``source_url`` is set."""
    eng = _engine(s, "target", " (the id mapping lives in the target database)")
    try:
        _migrated_into(eng, s)
        mapping = DbMapping(eng, source=s.source_name)
        opts = _routes_of(mapping, opts)
        groups = not_moved_groups(s, mapping) if s.source_url else []
        return check_deployed(mapping, opts, base_url, per_route=per_route, seed=seed,
                              not_moved_groups=groups, timeout=timeout, progress=progress)
    finally:
        eng.dispose()


def not_moved_groups(s: Settings, mapping: DbMapping) -> list[int]:
    """The source's groups that the id map does not hold (shop mode, excluded, failed)."""
    src = _engine(s, "source")
    try:
        grp = Table("Group", MetaData(), Column("id", Integer))
        with src.connect() as c:
            ids = [int(r[0]) for r in c.execute(select(grp.c.id))]
    except SQLAlchemyError as e:
        why = str(getattr(e, "orig", None) or e).splitlines()[0]
        raise CannotProceed(f"redirects --check: cannot read the groups of the source "
                            f"{safe_url(s.source_url)} ({why}); unset source_url to check "
                            "without them") from None
    finally:
        src.dispose()
    return [g for g in ids if mapping.get("Group", g) is None]


def producers(s: Settings) -> list[Producer]:
    """The producers whose catalogs were linked to a producer space, with their Camap links."""
    src = _engine(s, "source")
    tgt = _engine(s, "target")
    try:
        _migrated_into(tgt, s)
        day = s.cutover_date or dt.datetime.now(ZoneInfo(s.timezone)).date()
        return find_producers(src, DbMapping(tgt, source=s.source_name), new_host=s.new_host,
                              cutover_date=day)
    finally:
        src.dispose()
        tgt.dispose()
