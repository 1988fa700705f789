"""Synthetic, realistic Cagette.net and Camap databases (``bascule seed``), for tests, the demo
and the bench.

```python
from bascule.generate import generate, GenerateStats, KINDS
stats = generate(url, kind="cagette", shape="2023", scale=0.01, seed=1, dirty=False,
                 shared_users=0.0, progress=True)
stats.kind, stats.shape, stats.shared_users
stats.counts   # {table: rows}
stats.defects  # {defect kind: occurrences} (dirty=True)
stats.dangling # {"Table.column": rows whose declared FK points at no row} (dirty, MariaDB only)
```

``generate`` creates the Cagette schema of ``shape`` ("2021" or "2023", ``bascule.schema``) in the
existing, empty database at ``url`` and fills it. Scale 1.0 is Cagette-sized (2,500 groups of which
1,500 AMAP-mode, 150,000 users, 6,000 vendors, ~2,000,000 orders...); every count is multiplied by
``scale`` with small minimums, so that even 0.001 holds every feature. Same (seed, scale, shape,
dirty) => same rows on every engine.

What the data holds (cagette-schema.md §2-§6): users in several groups of both modes, group admins
and ContractAdmin rights (JSON), past members (no UserGroup) with orders and subscriptions, shared
orders and subscriptions (``userId2``), AMAP catalogs of type 0 and 1 with subscriptions
(``defaultOrders`` JSON, ``absentDistribIds`` CSV), orders grouped in baskets numbered per
multidistrib, SubscriptionTotal debts and their payments (``relationId``), shop-mode baskets with
VOrder operations, Mangopay, TmpBasket (2021) or OPEN baskets (2023), memberships with their
operations, volunteers and roles (``volunteerRolesIds`` CSV), waiting lists, places and cycles,
files shared between group products and the producer space, documents (EntityFile), messages, the
producer space (CagettePro, PUserCompany, PCatalog/PProduct/POffer/PCatalogOffer) with linked
catalogs (RemoteCatalog, ``Product.ref = POffer.ref``, StockManagement, producers as
ContractAdmin members), the two demo vendors in every group, and the technical tables.

``DEFECTS_DOC`` lists what ``dirty=True`` adds and where each engine cannot hold it.

Camap (``kind="camap"``, ``shape`` "2023" = the March-2023 fork, or "head" = current Camap;
``bascule.schema.camap_metadata``): the same World with its Cagette 2023 logic but AMAP-mode groups
only (``max(5, round(2500 × scale × 0.6))`` groups, no ``flags & 2``; the users and vendors of the
Cagette of the same seed and scale, same ids and e-mails), projected on the Camap tables: none of
Cagette's plugin or shop-mode rows (TmpBasket, VOrder operations, open carts, RemoteCatalog,
CagettePro, Mangopay, Hosting, Txp*, Graph...) exists. Linked catalogs stay as ordinary catalogs
(their producers ContractAdmin members). ``Message.recipients`` is a JSON list of e-mails,
``Vendor.offCagette`` is ``offCamap`` (2023). ``dirty`` is refused. "head" then gets what the
TypeORM migrations and use made of such rows, with variety (see ``camap_head``): bits 11/12 on most
groups but not all, ``daysAfterClosingBeforeHidingDutyPeriods`` 7/30/60, a MOVED group, stock
tracking 0/1/2/NULL and ``stockTrackingPerDistrib`` 0/1/2, ProductDistributionStock rows over the
distributions of each product's catalog, ``Catalog.firstDistribId`` on a third of the catalogs,
``Distribution.quantities`` 1/2/3, roles not enabled by default, vendors hiding phone/e-mail, every
``Vendor.companyNumber``, some ``Vendor.userId``, NotificationMail digests, the 12 ``migrations``.

E-mails: ``first.last<uid>@domain`` from the seed's user stream, so two seeds share only
``admin@cagette.net`` (user 1), while two databases of the same seed (any kind, shape or
scale) share their first ``min(n_users)`` users: the same ids, names and e-mails. ``shared_users=s`` (0..1) gives ``m = round(s × (users − 1))`` users an identity
(names, ``first.last.<n>@domain``) from a pool common to every seed, scale and kind, persons 1..m
at ids drawn from the seed: two databases generated with shares share exactly ``min(m1, m2)``
e-mail addresses (plus the admin's), mostly at different ids; the other rows do not change (only
the copies of those e-mails: Message, BufferedJsonMail, BufferedMail). A target that already hosts
users: e.g. ``generate(tgt, kind="camap", shape="head", seed=2, shared_users=0.3)`` and a source
with ``seed=1, shared_users=0.3``.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import dataclass, field

import ftfy  # noqa: F401  (registers the sloppy-windows-1252 codec _mojibake uses)
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text
from sqlalchemy import inspect

from bascule.dbutil import make_engine
from bascule.load.dialects import backend as backend_of
from bascule.schema import CAGETTE_SHAPES, CAMAP_SHAPES, cagette_metadata, camap_metadata

from .sink import (
    GenerateError,
    MarshalWriter,
    MySQLLoader,
    ProgressLike,
    TableOut,
    TextWriter,
    load_postgres,
    load_sqlite,
)
from .camap_head import make_head
from .specs import CAMAP_RENAMES, LATIN1_TABLES, MOJIBAKE_COLUMNS, RENAMES, SPECS
from .world import World

__all__ = ["DEFECTS_DOC", "GenerateError", "GenerateStats", "KINDS", "generate"]

KINDS: dict[str, tuple[str, ...]] = {"cagette": CAGETTE_SHAPES, "camap": CAMAP_SHAPES}

log = logging.getLogger("bascule.generate")

DEFECTS_DOC = """\
dirty=True adds what real dumps hold (each at least once at any scale); keys of stats.defects:
  zero_date:<Table.column>   '0000-00-00[ 00:00:00]' in NOT NULL (User.cdate, Group.cdate,
                             Basket.cdate, UserOrder.date) and NULLable (User.ldate, User.birthDate,
                             Group.membershipRenewalDate, Vendor.cdate, MultiDistrib.orderStartDate
                             in 2021) columns. MariaDB only (session sql_mode=''); other engines
                             keep the ordinary date.
  latin1_utf8_bytes          values stored as UTF-8 bytes in latin1 columns (tables Group, User,
                             Place, Vendor, Catalog, Product are latin1; columns of
                             specs.MOJIBAKE_COLUMNS hold UTF-8 bytes, e.g. 'é' stored as C3 A9,
                             read back as 'Ã©'; the other text columns of those tables hold proper
                             latin1, e.g. User.city, Place.city, Vendor.city, Catalog.percentageName).
  latin1_proper              non-ASCII values stored as proper latin1 in those tables. MariaDB only.
  email_case_duplicate:email2  user 8 has user 7's address, capitalised, in email2 (all engines:
                             the MariaDB unique index on User.email is case-insensitive).
  email_case_duplicate:email   user 8's email is user 7's in upper case (PostgreSQL/SQLite only,
                             where the unique index is case-sensitive).
  dangling_text:<where>      ids inside text that name no row: Subscription.defaultOrders
                             productId, Subscription.absentDistribIds, MultiDistrib.volunteerRolesIds,
                             RemoteCatalog.disabledProducts, UserGroup rights ContractAdmin params
                             (a missing catalog, and a catalog of a shop-mode group). All engines.
  malformed_json:<where>     truncated JSON in UserGroup rights and Subscription.defaultOrders.
  order_without_subscription legacy (pre-2020 style) constant orders with subscriptionId NULL (and
                             no SubscriptionTotal operation).
  order_without_basket       2021 shape only (basketId is NOT NULL in 2023).
  order_without_distribution UserOrder.distributionId is NOT NULL in both shapes: on MariaDB the
                             legacy rows hold 0 (what a non-strict MySQL stores for NULL), which
                             names no Distribution; not produced on PostgreSQL/SQLite.
  legacy_columns:<Table>, legacy_tables   cagette_metadata(legacy=True): §2.17 columns filled
                             (Group.membershipPrice/aboEnd..., Catalog.migrated, Product.hasFloatQt,
                             UserOrder.amapId, Basket.basketRef/ddate, Subscription.isValidated...,
                             Distribution.validated, User.tos/birthday, Vendor.amapId/active...), and
                             rows in OrderPayment, TourAttendee, PVendor, CategoryGroup, Category,
                             ProductCategory.
stats.dangling: real FK columns holding ids of no row, MariaDB only (loaded with
foreign_key_checks=0): UserOrder.userId2 and Subscription.userId2 and Vendor.userId -> a deleted user
(id n_users+1), UserOrder.distributionId = 0.
"""


@dataclass
class GenerateStats:
    counts: dict[str, int]
    seconds: float
    defects: dict[str, int] = field(default_factory=dict)
    dangling: dict[str, int] = field(default_factory=dict)
    shape: str = "2023"
    scale: float = 0.01
    seed: int = 1
    dirty: bool = False
    backend: str = ""
    load_seconds: float = 0.0
    kind: str = "cagette"
    shared_users: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.counts.values())


class _Adders(dict):
    """table name -> add(row); tables the metadata does not have swallow their rows."""

    def __missing__(self, key):
        return _noop


def _noop(row) -> None:
    return None


class _RateColumn(ProgressColumn):
    def render(self, task):
        rows = task.fields.get("rows", task.completed)
        el = task.elapsed or 0
        if not el or not rows:
            return Text("", style="progress.data.speed")
        return Text(f"{rows / el:,.0f} rows/s", style="progress.data.speed")


class _RowsColumn(ProgressColumn):
    def render(self, task):
        rows = task.fields.get("rows")
        if rows is None:
            return Text(f"{int(task.completed):,} rows")
        return Text(f"{rows:,} rows")


def _make_progress(enabled: bool):
    if not enabled:
        return None
    return Progress(
        TextColumn("[bold]{task.description:<24}"),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        _RowsColumn(),
        _RateColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )


def _deferred_columns(table) -> list[str]:
    out = []
    for fk in table.foreign_keys:
        if fk.use_alter or (fk.constraint is not None and fk.constraint.use_alter):
            out.append(fk.parent.name)
    return out


def _mojibake(s: str) -> str:
    """The text whose utf8mb4 -> latin1 conversion stores the UTF-8 bytes of ``s`` (MySQL latin1
    is cp1252 with the 5 undefined bytes mapped to C1 controls, like ftfy's sloppy codec)."""
    return s.encode("utf-8").decode("sloppy-windows-1252")


def _create_schema(engine, md) -> None:
    existing = set(inspect(engine).get_table_names())
    clash = sorted(existing & set(md.tables))
    if clash:
        raise GenerateError(
            f"the database is not empty: it already has tables of the schema ({', '.join(clash[:5])}"
            f"{'...' if len(clash) > 5 else ''}); use a new database (bascule seed --drop-existing)"
        )
    with engine.begin() as conn:  # one transaction: SQLite/PostgreSQL DDL is transactional
        md.create_all(conn)


def _writer_factory(backend: str, tmpdir: str, loader: "MySQLLoader | None"):
    """How the rows of a table are written out before they are loaded, per engine."""
    if backend == "mysql":
        assert loader is not None
        return lambda out: TextWriter(out, tmpdir, "hex", 200_000, loader.submit)
    if backend == "postgresql":
        return lambda out: TextWriter(out, tmpdir, "pg", None, None)
    return lambda out: MarshalWriter(out, tmpdir)


def _table_outs(md, renames: dict, latin1, backend: str, factory) -> tuple[list[TableOut], _Adders]:
    outs: list[TableOut] = []
    adders = _Adders()
    for table in md.sorted_tables:
        spec = SPECS.get(table.name)
        if spec is None:
            log.info("no generator for table %s: left empty", table.name)
            continue
        text_fix = None
        if table.name in latin1:
            text_fix = {c: _mojibake for c in MOJIBAKE_COLUMNS.get(table.name, ())}
        out = TableOut(table, spec, renames.get(table.name, {}), factory,
                       deferred=_deferred_columns(table) if backend != "mysql" else (),
                       text_fix=text_fix)
        outs.append(out)
        adders[table.name] = out.add
    return outs, adders


def _run_world(world: World, outs: list[TableOut], p, latin1) -> None:
    """Every row, group by group, with progress; the latin1 defects counted."""
    gtask = p.add_task("generate groups", total=world.n_groups, rows=0)
    state = {"last": 0.0}

    def on_group():
        now = time.perf_counter()
        p.advance(gtask, 1)
        if now - state["last"] > 0.25:
            state["last"] = now
            p.update(gtask, rows=sum(o.count for o in outs))

    world.on_group = on_group
    world.run()
    for o in outs:
        o.writer.close()
    p.update(gtask, rows=sum(o.count for o in outs))
    if latin1:
        fixed = sum(o.fixed for o in outs)
        if fixed:
            world.defects["latin1_utf8_bytes"] = fixed
        proper_fixes = _count_proper_latin1(outs, latin1)
        if proper_fixes:
            world.defects["latin1_proper"] = proper_fixes


def _load(engine, backend: str, outs: list[TableOut], p, loader: "MySQLLoader | None") -> None:
    """Finish the load of the written rows (MariaDB: wait for the loader threads)."""
    if loader is not None:
        loader.finish()
    elif backend == "postgresql":
        load_postgres(engine, outs, p)
    else:
        load_sqlite(engine, outs, p)


def _check(kind: str, shape: str, scale: float, dirty: bool, shared_users: float) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r} (expected one of {tuple(KINDS)})")
    if shape not in KINDS[kind]:
        raise ValueError(f"a {kind} database has no shape {shape!r} (expected one of {KINDS[kind]})")
    if scale <= 0:
        raise ValueError("scale must be > 0")
    if kind == "camap" and dirty:
        raise ValueError("dirty=True makes Cagette dump defects: not available for kind='camap'")
    if not 0.0 <= shared_users <= 1.0:
        raise ValueError("shared_users must be between 0 and 1")


def _metadata(kind: str, shape: str, dirty: bool, latin1) -> tuple:
    """(metadata, logical -> physical renames) of the database to make."""
    if kind == "camap":
        renames = {t: {**RENAMES["2023"].get(t, {}), **CAMAP_RENAMES.get(t, {})}
                   for t in set(RENAMES["2023"]) | set(CAMAP_RENAMES)}
        return camap_metadata(shape), renames
    return cagette_metadata(shape, legacy=dirty, latin1_tables=latin1), RENAMES[shape]


def generate(
    url: str,
    *,
    kind: str = "cagette",
    shape: str = "2023",
    scale: float = 0.01,
    seed: int = 1,
    dirty: bool = False,
    shared_users: float = 0.0,
    progress: bool = True,
) -> GenerateStats:
    """Create the schema of ``kind`` ("cagette" or "camap") and ``shape`` in the empty database
    at ``url`` and fill it (see the package docstring)."""
    _check(kind, shape, scale, dirty, shared_users)
    t0 = time.perf_counter()
    backend = backend_of(url)
    latin1 = LATIN1_TABLES if (dirty and backend == "mysql") else ()
    md, renames = _metadata(kind, shape, dirty, latin1)
    engine = make_engine(url)
    tmpdir = tempfile.mkdtemp(prefix="bascule-gen-")
    prog = _make_progress(progress)
    p = prog if prog is not None else ProgressLike()
    loader: MySQLLoader | None = None
    extra: dict[str, int] = {}
    try:
        _create_schema(engine, md)
        if prog is not None:
            prog.start()
        if backend == "mysql":
            loader = MySQLLoader(engine, p, dirty)
        outs, adders = _table_outs(md, renames, latin1, backend,
                                   _writer_factory(backend, tmpdir, loader))
        world = World(adders, shape="2023" if kind == "camap" else shape, scale=scale, seed=seed,
                      dirty=dirty, backend=backend, legacy=dirty, amap_only=kind == "camap",
                      shared_users=shared_users)
        _run_world(world, outs, p, latin1)
        lt = time.perf_counter()
        loader, running = None, loader
        _load(engine, backend, outs, p, running)
        if kind == "camap" and shape == "head":
            with engine.begin() as conn:
                extra = make_head(conn, md, seed)
        load_seconds = time.perf_counter() - lt
    finally:
        if loader is not None:  # an error during generation: stop the loader thread
            try:
                loader.finish()
            except Exception:
                pass
        if prog is not None:
            prog.stop()
        engine.dispose()
        shutil.rmtree(tmpdir, ignore_errors=True)
    return GenerateStats(
        counts={**{o.name: o.count for o in outs}, **extra}, seconds=time.perf_counter() - t0,
        defects=dict(sorted(world.defects.items())), dangling=dict(sorted(world.dangling.items())),
        shape=shape, scale=scale, seed=seed, dirty=dirty, backend=backend,
        load_seconds=load_seconds, kind=kind, shared_users=shared_users)


def _count_proper_latin1(outs: list[TableOut], latin1) -> int:
    """Rows of latin1 tables whose non-mojibake text columns hold non-ASCII (proper latin1)."""
    return sum(getattr(o, "proper", 0) for o in outs if o.name in latin1)
