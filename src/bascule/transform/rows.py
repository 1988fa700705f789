"""One function per moved table: a SOURCE row (source column names, old ids) → a TARGET row
(target column names, new ids) or None (row dropped, noted). The functions live in
``rows_people`` (File, User, Vendor), ``rows_catalog`` (Group … Subscription) and
``rows_activity`` (Basket … Message), their small shared rules in ``fields``; a table that the
table description (``model.tables``) lists with its own ``columns`` and no function here gets
the generic transform (``generic_row``).

General rules (every table)
- own id: ``ctx.map(table, row["id"])``; it must exist (the orchestrator allocates ids before
  transforming), else :class:`TransformError`. Composite-key tables map each part.
- foreign key: ``ctx.map``; nullable in the target → NULL + note ``nulled`` when the referenced row
  does not move; NOT NULL → the row is dropped, note ``dropped_row``.
- ids inside text columns: ``textids`` (dropped ids noted ``dropped_ref``).
- columns in ``ctx.mojibake_columns``: repaired before anything else (note ``repaired``).
- dates: a zero/invalid date (or NULL in a source NOT NULL column) becomes NULL (note
  ``zero_date``); in a target NOT NULL column it is then backfilled (note ``defaulted``) with the
  per-column default below, ``ctx.fallback_datetime`` (1970-01-01 00:00:00) as last resort.
- the returned row holds exactly ``ctx.columns(table)``.

NOT NULL backfills and defaults (source value NULL/zero → value)
    User.cdate → ldate → fallback; User.pass, User.pass2 → ''; User.rights → always 0;
    User.apiKey, User.currentRefreshToken → always NULL.
    Group.cdate → fallback; Group.betaFlags → 0 (2023 target); Group.disabled → always NULL;
    Group.daysAfterClosingBeforeHidingDutyPeriods → 30 (head); Group.flags |= 6144 (head).
    Catalog.startDate → fallback; Catalog.endDate → startDate;
    Catalog.distribMinOrdersTotal / catalogMinOrdersTotal / absentDistribsMaxNb → 0;
    Catalog.firstDistribId → NULL.
    Product.wholesale / retail → 0 (2023 target); Product.stockTracking → 2 if stock is not NULL
    else NULL, stockTrackingPerDistrib → NULL (head).
    DistributionCycle.startDate → fallback; endDate, startHour → startDate; endHour, openingHour,
    closingHour → startHour.
    MultiDistrib.distribStartDate ↔ distribEndDate (each other) → fallback;
    MultiDistrib.orderEndDate → distribStartDate − 24 h (Cagette's default
    ``orderEndHoursBeforeDistrib``), never before orderStartDate;
    MultiDistrib.orderStartDate → min(orderEndDate, distribStartDate − 30 days);
    MultiDistrib.counterBeforeDistrib → 0, validatedStatus → 'VALIDATED' if validated else
    'NOT_VALIDATED' (Cagette 2023 'PAID' → 'VALIDATED') (2023 target).
    Distribution.orderEndDate → its MultiDistrib's order end (as above) → date − 24 h → fallback;
    Distribution.orderStartDate → its MultiDistrib's order start → min(orderEndDate,
    (date or orderEndDate) − 30 days); Distribution.placeId → the MultiDistrib's place when its
    own does not move; Distribution.quantities → 1 (head).
    Subscription.startDate → fallback; endDate → startDate.
    Basket.cdate → fallback; total → ``ctx.basket_total`` → 0; status → 'CONFIRMED' (2021);
    data → '' (2021: the serialized Mangopay blob is not carried); num → 0.
    UserOrder.date, Operation.date, WaitingList.date, Message.date, File.cdate → fallback.
    UserGroup.balance → 0; WaitingList.message, Message.slateContent → ''.
    Vendor.showEmail / showPhone → 1 (head); Vendor.userId → NULL unless ctx.map_vendor_user;
    Vendor.companyNumber truncated to 64 characters (note ``truncated``), '' when NULL and the
    target says NOT NULL (``ctx.target_not_null``); Vendor.offCamap (2023 target) ← offCagette.
    VolunteerRole.enabledByDefault → 1 (head).

Errors (TransformError: the caller broke the contract, nothing is written for that row)
    a row whose own id is not in the id map; a User mapped to target id 1; a Group with the
    ShopMode flag (bit 1) — shop-mode groups never move.

Dropped rows
    UserOrder without distribution, or whose distribution/product/user/basket does not move;
    Basket with status OPEN/PAYMENT_PROCESSING (temporary carts, unless ctx.move_open_baskets);
    EntityFile whose entityType is not group/catalog/vendor or whose entity does not move;
    any row whose NOT NULL foreign key points to a row that does not move.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

from bascule.model.tables import MIGRATION, Migration, Ref, TableSpec

from . import rows_activity, rows_catalog, rows_people
from .clean import repair_text
from .columns import PRODUCED_COLUMNS
from .context import TransformContext, TransformError
from .fields import (
    add_notes,
    email_keys,
    is_temporary_basket,
    need,
    nfk,
    order_window,
    own_id,
    row_transform,
)
from .rows_activity import ENTITY_FILE_TYPES
from .textids import TEXT_IDS, parse_csv_ids, remap_csv

__all__ = ["ENTITY_FILE_TYPES", "TRANSFORMS", "VALUES", "email_keys", "generic_row",
           "ids_in_text", "is_temporary_basket", "order_window", "referenced_ids", "transform_row",
           "transform_rows", "values_transform"]

#: The tables of the most rows, whose transform gives the row's values as a tuple in
#: ``PRODUCED_COLUMNS`` order; their ``TRANSFORMS`` function makes the row from it.
VALUES = {**rows_catalog.VALUES, **rows_activity.VALUES}

#: The hand-written transform of each moved table.
TRANSFORMS = {**rows_people.TRANSFORMS, **rows_catalog.TRANSFORMS, **rows_activity.TRANSFORMS,
              **{t: row_transform(t, fn) for t, fn in VALUES.items()}}


def _row_key(spec: TableSpec | None, row: dict) -> Any:
    """How notes name a source row: its id, or its composite key in the source's order."""
    if spec is None or not spec.composite:
        return row.get("id")
    return tuple(row.get(k) for k in (spec.source_key or spec.key))


def _repair(table: str, row: dict, cols: tuple[str, ...], ctx: TransformContext) -> dict:
    new = None
    for c in cols:
        v = row.get(c)
        if type(v) is str and not v.isascii():
            fixed = repair_text(v)
            if fixed != v:
                if new is None:
                    new = dict(row)
                new[c] = fixed
                ctx.note(table, _row_key(ctx.migration.by_name.get(table), row), c, "repaired",
                         "double-encoded UTF-8")
    return row if new is None else new


def generic_row(spec: TableSpec, row: dict, ctx: TransformContext) -> dict | None:
    """The transform of a table described only by its ``columns`` and references: values copied,
    the own id mapped, every reference mapped (a NOT NULL one that does not move drops the row,
    a nullable one is nulled), ids in CSV columns remapped."""
    T = spec.name
    oid = _row_key(spec, row)
    out: dict[str, Any] = {}
    for c in spec.columns or ():
        v, ref = row.get(c), spec.refs.get(c)
        if c == "id" and not spec.composite:
            out[c] = own_id(ctx, T, oid)
        elif ref is None:
            out[c] = v
        elif ref.kind == "fk" and ref.nullable:
            out[c] = nfk(ctx, T, oid, c, cast(str, ref.table), v)
        elif ref.kind == "fk":
            out[c] = need(ctx, T, oid, c, cast(str, ref.table), v, detail=not spec.composite)
            if out[c] is None:
                return None
        elif ref.kind == "csv":
            out[c], notes = remap_csv(v, cast(str, ref.table), ctx.map) if v is not None \
                else (None, ())
            if notes:
                add_notes(ctx, T, oid, c, notes)
        else:
            raise TransformError(T, oid, c, f"no generic transform for a {ref.kind} reference")
    return out


def transform_row(table: str, row: dict, ctx: TransformContext) -> dict | None:
    """The target row for one source row of ``table``, or None when the row is dropped (noted).

    ``row``: source column names, old ids. Result: exactly ``ctx.columns(table)``, new ids.
    Raises :class:`TransformError` when the caller broke the contract (no id allocated, user
    mapped to id 1) and KeyError for a table that does not move.
    """
    fn = TRANSFORMS.get(table)
    spec = None
    if fn is None:
        spec = ctx.migration.by_name.get(table)
        if spec is None or spec.columns is None:
            raise KeyError(f"{table} is not a moved table")
    if ctx.mojibake_columns:
        cols = ctx.repair_columns(table)
        if cols:
            row = _repair(table, row, cols, ctx)
    out = fn(row, ctx) if fn is not None else generic_row(cast(TableSpec, spec), row, ctx)
    if out is None or ctx.columns_exact(table):
        return out
    return {c: out[c] for c in ctx.columns(table)}


def values_transform(table: str, ctx: TransformContext
                     ) -> Callable[[dict, TransformContext], tuple | None] | None:
    """``fn(row, ctx)``: the values of ``transform_row(table, row, ctx)`` as a tuple in
    ``ctx.columns(table)`` order, without making a dict (the build's path for the tables of
    the most rows), or None when this table or context has none: a table without such a
    function, a table with columns to repair, a target that has fewer than two of its
    columns. A target without some of them gets the others, picked from the tuple."""
    fn = VALUES.get(table)
    if fn is None or (ctx.mojibake_columns and ctx.repair_columns(table)):
        return None
    cols, produced = ctx.columns(table), PRODUCED_COLUMNS[table]
    if cols == produced:
        return fn
    if len(cols) < 2:
        return None
    pick = operator.itemgetter(*[produced.index(c) for c in cols])

    def picked(row: dict, ctx: TransformContext) -> tuple | None:
        values = fn(row, ctx)
        return None if values is None else pick(values)
    return picked


def transform_rows(table: str, rows: Iterable[dict], ctx: TransformContext) -> Iterator[dict]:
    """``transform_row`` over many rows of one table, dropped rows left out (they are noted)."""
    for row in rows:
        out = transform_row(table, row, ctx)
        if out is not None:
            yield out


def ids_in_text(table: str, column: str, ref: Ref, value: Any) -> Iterable[tuple[str, int]]:
    """The (table, old id) pairs inside one CSV or JSON value of ``table.column`` (TARGET
    column name), read as the remap functions read them."""
    if ref.kind == "csv":
        return [(cast(str, ref.table), i) for i in parse_csv_ids(value)]
    fn = TEXT_IDS.get((table, column))
    return fn(value) if fn is not None else ()


def referenced_ids(table: str, row: dict, source_shape: str, migration: Migration = MIGRATION
                   ) -> Iterator[tuple[str, int]]:
    """Every (table, old id) a SOURCE row refers to, ids inside text columns included.

    A UserOrder without basket refers to no Basket here (see baskets.BasketSynthesizer).
    """
    for col, ref in migration[table].refs.items():
        v = row.get(migration.source_column(source_shape, table, col))
        if v is None:
            continue
        if ref.kind == "fk":
            yield cast(str, ref.table), v
        elif ref.kind == "poly":
            paths: dict[Any, str] = dict(ref.paths)
            target = paths.get(row.get(cast(str, ref.by)))
            if target is not None:
                yield target, v
        else:
            yield from ids_in_text(table, col, ref, v)
