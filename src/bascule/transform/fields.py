"""The small rules every table's transform uses: own ids, foreign keys (nullable ones nulled,
NOT NULL ones drop the row), zero dates and their backfills, defaults, notes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from .clean import as_datetime, is_invalid_date
from .columns import PRODUCED_COLUMNS
from .context import Row, TransformContext, TransformError

SHOP_MODE = 2  # Group flag bit 1
HEAD_GROUP_FLAGS = 6144  # bits 11 AllowInformationNotifs and 12 AllowAlertNotifs
STOCK_MANAGEMENT = 2  # Catalog flag bit 1
ORDER_END_HOURS_BEFORE = 24
ORDER_START_DAYS_BEFORE = 30
TEMPORARY_BASKET_STATUSES = frozenset({"OPEN", "PAYMENT_PROCESSING"})
_ZERO_REASON_NULL = "zero date"
_ZERO_REASON_NN = "NULL in NOT NULL source column"


def own_id(ctx: TransformContext, table: str, oid: Any) -> int:
    nid = ctx.new_id(table, oid)
    if nid is None:
        raise TransformError(table, oid, "id", "no new id allocated for this row")
    return nid


def drop(ctx: TransformContext, table: str, oid: Any, column: str | None, reason: str,
         detail: Any = None) -> None:
    ctx.note(table, oid, column, "dropped_row", reason, detail)
    return None


def nfk(ctx: TransformContext, table: str, oid: Any, column: str, ref: str, old: Any):
    """Nullable foreign key: mapped, or NULL (noted) when the referenced row does not move."""
    if old is None:
        return None
    new = ctx.map(ref, old)
    if new is None:
        ctx.note(table, oid, column, "nulled", f"{ref} does not move", old)
    return new


def need(ctx: TransformContext, table: str, oid: Any, column: str, ref: str, old: Any,
         detail: bool = True):
    """A NOT NULL foreign key: the new id, or None when the referenced row does not move (the
    row is then dropped, noted)."""
    new = ctx.map(ref, old)
    if new is None:
        drop(ctx, table, oid, column, f"{ref} does not move", old if detail else None)
    return new


def clean_date(ctx: TransformContext, table: str, oid: Any, row: Row, column: str,
               source_not_null: bool = False):
    """A date value cleaned of zero dates (→ None, noted)."""
    v = row.get(column)
    if v is None:
        if source_not_null:
            ctx.note(table, oid, column, "zero_date", _ZERO_REASON_NN)
        return None
    if type(v) is str and is_invalid_date(v):
        ctx.note(table, oid, column, "zero_date", _ZERO_REASON_NULL, v)
        return None
    return v


def fill(ctx: TransformContext, table: str, oid: Any, column: str, value: Any, reason: str,
         *candidates: Any):
    """``value`` if not None, else the first non-None candidate, else ctx.fallback_datetime;
    notes ``defaulted`` with ``reason`` when it backfills."""
    if value is not None:
        return value
    for c in candidates:
        if c is not None:
            ctx.note(table, oid, column, "defaulted", reason)
            return c
    ctx.note(table, oid, column, "defaulted", "fallback date")
    return ctx.fallback_datetime


def zero(ctx: TransformContext, table: str, oid: Any, column: str, value: Any, default: Any = 0):
    if value is None:
        ctx.note(table, oid, column, "defaulted", f"NULL → {default!r}")
        return default
    return value


def add_notes(ctx: TransformContext, table: str, oid: Any, column: str, notes) -> None:
    for action, reason, detail in notes:
        ctx.note(table, oid, column, action, reason, detail)


def order_window(distrib_start: Any, order_start: Any, order_end: Any,
                 fallback: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """Order opening and closing of a distribution day, filling the missing ends (see module)."""
    ds = as_datetime(distrib_start)
    s = as_datetime(order_start)
    e = as_datetime(order_end)
    if e is None:
        if ds is not None:
            e = ds - dt.timedelta(hours=ORDER_END_HOURS_BEFORE)
        elif s is not None:
            e = s
        else:
            e = fallback
        if s is not None and e < s:
            e = s
    if s is None:
        base = ds if ds is not None else e
        s = min(e, base - dt.timedelta(days=ORDER_START_DAYS_BEFORE))
    return s, e


def email_keys(row: dict) -> set[str]:
    """Normalised e-mails of a User row (``email`` and ``email2``, stripped, lower-cased) for
    matching with target users, case-insensitively."""
    out = set()
    for c in ("email", "email2"):
        v = row.get(c)
        if isinstance(v, str):
            v = v.strip().lower()
            if v:
                out.add(v)
    return out


def is_temporary_basket(row: dict) -> bool:
    """A Cagette-2023 basket that is a cart (status OPEN / PAYMENT_PROCESSING), not an order."""
    return row.get("status") in TEMPORARY_BASKET_STATUSES


def as_row(table: str, values: tuple | None) -> Row | None:
    """The row (column → value) of ``values``, a transform's values in ``PRODUCED_COLUMNS``
    order (None: the row is dropped)."""
    if values is None:
        return None
    cols = PRODUCED_COLUMNS[table]
    if len(values) != len(cols):
        raise TransformError(table, None, None, f"{len(values)} values for {len(cols)} columns")
    return dict(zip(cols, values))


def row_transform(table: str, values: Callable[[Row, TransformContext], tuple | None]
                  ) -> Callable[[Row, TransformContext], Row | None]:
    """The transform (row → row) of a table written as a values function."""
    def transform(row: Row, ctx: TransformContext) -> Row | None:
        return as_row(table, values(row, ctx))
    return transform
