"""The context every transform function receives.

The orchestrator builds one :class:`TransformContext` per run (or per group) and fills it:

Required
    ``source_shape``   "2021" | "2023" (a Cagette source) | "camap-2023" | "camap-head" (a Camap
                       source, ``model.tables.CAMAP_SHAPES``), what ``extract`` detected;
    ``target_shape``   "2023" (Camap as forked in March 2023) | "head" (current Camap);
    ``lookup``         the id map: either a callable ``lookup(table, old_id) -> new_id | None`` or a
                       mapping ``{table: {old_id: new_id}}``. Every row that moves must be in it
                       *before* its table (and the tables that reference it) is transformed, so
                       ids are allocated up front (the load order of ``model.tables``).

Optional (defaults in brackets)
    ``target_columns`` ``{table: set(columns)}`` from reflecting the target [the columns of the
                       known Camap shape, ``columns.TARGET_COLUMNS[target_shape]``]. Rows returned
                       by ``transform_row`` carry exactly ``columns(table)`` = the target's columns
                       that bascule knows how to fill; ``unfilled(table)`` lists the others.
    ``target_not_null`` ``{table: set(columns)}`` NOT NULL columns of the target [unknown]. Only
                       used for columns whose nullability differs between Camap versions
                       (``Vendor.companyNumber``, see rows.py).
    ``keep_linked_stock`` [False] keep ``Catalog.flags`` bit StockManagement of catalogs that were
                       linked to a producer space.
    ``linked_catalogs`` [empty] OLD ids of catalogs having a ``RemoteCatalog`` row.
    ``mojibake_columns`` [empty] ``{(table, source_column)}`` detected as double-encoded
                       (``clean.detect_mojibake_columns``); their non-ASCII values are repaired.
    ``map_vendor_user`` [False] copy ``Vendor.userId`` (mapped) instead of NULL. Off by default:
                       in current Camap a vendor's user gets automatic ContractAdmin rights.
    ``move_open_baskets`` [False] 2023 source only: baskets with status OPEN or
                       PAYMENT_PROCESSING are temporary carts (SPEC: never moved); by default
                       ``transform_row`` drops them (note ``dropped_row``). When True they move,
                       with the product ids of their JSON ``data`` remapped.
    ``fallback_datetime`` [1970-01-01 00:00:00] last-resort value of a NOT NULL date column whose
                       source value is a zero date and that has no better documented default.
    ``examples_per_key`` [5] how many example ids ``note`` keeps per (table, column, action, reason).
    ``migration``      [``model.tables.MIGRATION``] the table description: composite keys (how
                       notes name a row) and the tables that have no hand-written transform.

Per unit of work
    ``for_unit(lookup, **hooks)`` is a context for one unit: the same shapes, options, columns
    and notes (counted in the run's context), with the unit's own id lookup and hooks. A run
    builds one context and one ``for_unit`` per unit; nothing reads a "current unit".

Hooks (callables over OLD ids, all optional; without them the documented fallback is used)
    ``multidistrib(old_md_id) -> dict | None``   the SOURCE MultiDistrib row. Used by
                       Distribution: ``orderStartDate``/``orderEndDate`` backfill from the
                       multidistrib's order window, ``placeId`` fallback.
    ``distribution_md(old_distribution_id) -> old_md_id | None``  used by UserOrder rows without a
                       basket (2021 source) to find their basket key (baskets.order_basket_key).
    ``basket_for(old_user_id, old_md_id) -> old_basket_id | None``  an existing source basket of
                       that user at that multidistrib (orders without basket join it, as
                       ``Basket.getOrCreate`` does); None → the synthetic basket key.
    ``basket_total(old_basket_id) -> float | None``  sum of the basket's orders, for 2021 baskets
                       whose ``total`` is NULL (else 0, noted ``defaulted``).
    ``product_price(old_product_id) -> float | None``  the product's price, added as
                       ``productPrice`` to ``Subscription.defaultOrders`` entries that lack it
                       (2021 source); without the hook entries are left without it.

Notes
    ``note(table, old_id, column, action, reason, detail=None)`` counts per
    (table, column, action, reason) and keeps the first ``examples_per_key`` (old_id, detail) of
    each key: memory is bounded by the number of distinct keys, so ``reason`` must be a short,
    low-cardinality text (never an id or a value; put those in ``detail``).
    Actions: repaired, zero_date, defaulted, nulled, dropped_ref, dropped_row, malformed,
    flag_cleared, truncated, ignored, right_granted, matched.

    A ``dropped_row`` note on a table with an ``id`` also makes ``map(table, old_id)`` return None
    from then on, so that rows referencing a dropped row are nulled/dropped in turn (parents are
    transformed before children, in load order). ``new_id(table, old_id)`` is the raw
    lookup (used for a row's own id). ``count(...)``, ``notes_summary()`` and ``merge_notes(other)``
    read/aggregate the notes.

Columns
    ``columns(table)`` (cached tuple) is what every row of ``table`` carries;
    ``target_columns(table)`` the reflected set; ``unfilled(table)`` target columns bascule leaves
    to the target's default; ``repair_columns(table)`` the flagged double-encoded source columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from bascule.model.tables import CAMAP_SHAPES, MIGRATION, Migration

from .columns import PRODUCED_COLUMNS, TARGET_COLUMNS

ACTIONS = frozenset({
    "repaired", "zero_date", "defaulted", "nulled", "dropped_ref", "dropped_row", "malformed",
    "flag_cleared", "truncated", "ignored", "right_granted", "matched",
})

FALLBACK_DATETIME = dt.datetime(1970, 1, 1, 0, 0, 0)

#: The hooks a context may be given (see the module docstring).
HOOKS = ("multidistrib", "distribution_md", "basket_for", "basket_total", "product_price")

#: A row: column name → value (source rows with source names and old ids, target rows with
#: target names and new ids).
Row = dict[str, Any]


class TransformError(Exception):
    """A row the transform cannot handle because the caller broke the contract (not bad data:
    bad data is noted and dropped). The message names table, id and column."""

    def __init__(self, table: str, old_id: Any, column: str | None, message: str):
        self.table, self.old_id, self.column = table, old_id, column
        where = f"{table} id={old_id!r}" + (f" column {column}" if column else "")
        super().__init__(f"{where}: {message}")


#: What a unit's context shares with the run's (``for_unit``): options, columns, notes.
_SHARED_WITH_UNITS = ("target_columns", "target_not_null", "_out_cols", "_exact", "_repair_cols",
                      "keep_linked_stock", "mojibake_columns", "map_vendor_user",
                      "move_open_baskets", "_dropped", "counts", "examples")


class _Columns:
    """``{table: set(columns)}`` read by calling it: ``ctx.target_columns(table)`` (a table it
    does not know: no column), or as a mapping (``[table]``, ``in``, ``items()``)."""

    def __init__(self, tables: dict[str, set[str]]):
        self.tables = tables

    def __call__(self, table: str) -> set[str]:
        return self.tables.get(table, set())

    def __getitem__(self, table: str) -> set[str]:
        return self.tables[table]

    def __contains__(self, table: object) -> bool:
        return table in self.tables

    def items(self):
        return self.tables.items()


def _mapping_lookup(maps: Mapping[str, Mapping[Any, int]],
                    fallback: Callable[[str, Any], int | None] | None
                    ) -> Callable[[str, Any], int | None]:
    """``lookup(table, old id)`` over ``{table: {old id: new id}}`` mappings that are not plain
    dicts, ``fallback`` asked for the ids they do not hold."""
    def lookup(table: str, old_id: Any) -> int | None:
        t = maps.get(table)
        v = t.get(old_id) if t is not None else None
        if v is None and fallback is not None:
            return fallback(table, old_id)
        return v
    return lookup


class TransformContext:
    """See the module docstring. Plain attributes; no database, no I/O. Every attribute is
    declared (the compiled build makes this a native class, with no ``__dict__``)."""

    multidistrib: Callable[[Any], Row | None] | None
    distribution_md: Callable[[Any], Any] | None
    basket_for: Callable[[Any, Any], Any] | None
    basket_total: Callable[[Any], float | None] | None
    product_price: Callable[[Any], float | None] | None
    #: the unit's ids, read inline by ``map``/``new_id``: exact dicts, so that the compiled build
    #: looks them up directly instead of calling their ``get`` method (about 130 instructions a
    #: lookup against 400)
    _maps: dict[str, dict[Any, int]] | None
    _fallback: Callable[[str, Any], int | None] | None
    _lookup: Callable[[str, Any], int | None] | None

    def __init__(
        self,
        source_shape: str,
        target_shape: str,
        lookup: Callable[[str, Any], int | None] | Mapping[str, Mapping[Any, int]],
        *,
        target_columns: Mapping[str, Iterable[str]] | None = None,
        target_not_null: Mapping[str, Iterable[str]] | None = None,
        keep_linked_stock: bool = False,
        linked_catalogs: Iterable[int] = (),
        mojibake_columns: Iterable[tuple[str, str]] = (),
        map_vendor_user: bool = False,
        move_open_baskets: bool = False,
        fallback_datetime: dt.datetime = FALLBACK_DATETIME,
        examples_per_key: int = 5,
        migration: Migration = MIGRATION,
        **hooks: Callable | None,
    ):
        if source_shape not in ("2021", "2023") and source_shape not in CAMAP_SHAPES:
            raise ValueError("source_shape must be '2021', '2023', 'camap-2023' or "
                             f"'camap-head', not {source_shape!r}")
        if target_shape not in ("2023", "head"):
            raise ValueError(f"target_shape must be '2023' or 'head', not {target_shape!r}")
        self.source_shape = source_shape
        self.target_shape = target_shape
        self.head = target_shape == "head"
        self.src2021 = source_shape == "2021"
        self.src_camap = source_shape in CAMAP_SHAPES  # no shop mode, Camap's own columns
        self.src_head = source_shape == "camap-head"  # copy what the later migrations added
        self.migration = migration
        self._set_columns(target_columns, target_not_null)
        self.keep_linked_stock = bool(keep_linked_stock)
        self.linked_catalogs = set(linked_catalogs)
        self.mojibake_columns = set(mojibake_columns)
        self.map_vendor_user = bool(map_vendor_user)
        self.move_open_baskets = bool(move_open_baskets)
        self.fallback_datetime = fallback_datetime
        self.examples_per_key = int(examples_per_key)
        self._set_hooks(hooks)
        self._set_lookup(lookup)
        self._dropped: dict[str, set] = {}
        self.counts: dict[tuple[str, str, str, str], int] = {}
        self.examples: dict[tuple[str, str, str, str], list] = {}

    def _set_columns(self, target_columns, target_not_null) -> None:
        cols = {t: set(c) for t, c in TARGET_COLUMNS[self.target_shape].items()}
        for t, c in (target_columns or {}).items():
            cols[t] = set(c)
        self.target_columns = _Columns(cols)
        self.target_not_null = {t: set(c) for t, c in (target_not_null or {}).items()}
        self._out_cols: dict[str, tuple[str, ...]] = {}
        self._exact: dict[str, bool] = {}
        self._repair_cols: dict[str, tuple[str, ...]] = {}

    def _set_hooks(self, hooks: Mapping[str, Callable | None]) -> None:
        unknown = set(hooks) - set(HOOKS)
        if unknown:
            raise TypeError(f"unknown TransformContext hooks: {sorted(unknown)}")
        self.multidistrib = hooks.get("multidistrib")
        self.distribution_md = hooks.get("distribution_md")
        self.basket_for = hooks.get("basket_for")
        self.basket_total = hooks.get("basket_total")
        self.product_price = hooks.get("product_price")

    def _set_lookup(self, lookup, fallback: Callable[[str, Any], int | None] | None = None
                    ) -> None:
        """``lookup``: a callable, or ``{table: {old id: new id}}`` (then ``fallback(table,
        old id)`` is asked for the ids not there)."""
        if callable(lookup):
            self._maps, self._fallback, self._lookup = None, None, lookup
        elif type(lookup) is dict and all(type(m) is dict for m in lookup.values()):
            # map() and new_id() read the maps inline
            self._maps, self._fallback, self._lookup = lookup, fallback, None
        else:  # another kind of mapping: read through its own ``get``
            self._maps, self._fallback = None, None
            self._lookup = _mapping_lookup(lookup, fallback)

    def for_unit(self, lookup: Callable[[str, Any], int | None] | Mapping[str, Mapping[Any, int]],
                 *, fallback: Callable[[str, Any], int | None] | None = None,
                 linked_catalogs: Iterable[int] = (), **hooks: Callable | None
                 ) -> "TransformContext":
        """A context for one unit of work: this one's shapes, options, columns and notes (the
        notes and the dropped rows are counted here), with the unit's ids (``lookup``, and
        ``fallback`` for the ids it does not hold), hooks and linked catalogs."""
        unit = TransformContext(self.source_shape, self.target_shape, {},
                                migration=self.migration, fallback_datetime=self.fallback_datetime,
                                examples_per_key=self.examples_per_key)
        for k in _SHARED_WITH_UNITS:  # the same objects: notes and columns counted here
            setattr(unit, k, getattr(self, k))
        unit.linked_catalogs = set(linked_catalogs)
        unit._set_hooks(hooks)
        unit._set_lookup(lookup, fallback)
        return unit

    # ---- ids -------------------------------------------------------------------------------

    def map(self, table: str, old_id: Any) -> int | None:
        """New id of a moved row; None when it does not move, does not exist or was dropped."""
        if old_id is None:
            return None
        if self._dropped:
            d = self._dropped.get(table)
            if d and old_id in d:
                return None
        m = self._maps
        if m is not None:  # the common case inline: one call per reference
            t = m.get(table)
            if t is not None:
                v = t.get(old_id)
                if v is not None:
                    return v
            return None if self._fallback is None else self._fallback(table, old_id)
        lookup = self._lookup
        return None if lookup is None else lookup(table, old_id)

    def new_id(self, table: str, old_id: Any) -> int | None:
        """The id allocated for a row itself (``map`` without the dropped-rows rule)."""
        if old_id is None:
            return None
        m = self._maps
        if m is not None:
            t = m.get(table)
            if t is not None:
                v = t.get(old_id)
                if v is not None:
                    return v
            return None if self._fallback is None else self._fallback(table, old_id)
        lookup = self._lookup
        return None if lookup is None else lookup(table, old_id)

    # ---- notes -----------------------------------------------------------------------------

    def note(self, table: str, old_id: Any, column: str | None, action: str, reason: str,
             detail: Any = None) -> None:
        key = (table, column or "", action, reason)
        n = self.counts.get(key, 0)
        self.counts[key] = n + 1
        if n < self.examples_per_key:
            self.examples.setdefault(key, []).append(
                (old_id, detail) if detail is not None else (old_id,))
        if action == "dropped_row" and old_id is not None and not isinstance(old_id, tuple):
            self._dropped.setdefault(table, set()).add(old_id)

    def count(self, table: str | None = None, action: str | None = None,
              column: str | None = None, reason: str | None = None) -> int:
        """Sum of the note counts matching the given parts (None = any)."""
        total = 0
        for (t, c, a, r), n in self.counts.items():
            if ((table is None or t == table) and (action is None or a == action)
                    and (column is None or c == column) and (reason is None or r == reason)):
                total += n
        return total

    def notes_summary(self) -> list[dict]:
        """Counts and examples, sorted, as plain dicts (for the plan/verify reports)."""
        out = []
        for key in sorted(self.counts):
            t, c, a, r = key
            out.append({"table": t, "column": c or None, "action": a, "reason": r,
                        "count": self.counts[key], "examples": list(self.examples.get(key, []))})
        return out

    def merge_notes(self, other: "TransformContext") -> None:
        """Add the notes of another context (e.g. one per worker) to this one."""
        self.merge_counts(other.counts, other.examples)

    def merge_counts(self, counts: Mapping[tuple, int], examples: Mapping[tuple, list]) -> None:
        """Add note counts and examples (``counts``, ``examples`` of another context)."""
        for key, n in counts.items():
            self.counts[key] = self.counts.get(key, 0) + n
            ex = self.examples.setdefault(key, [])
            room = self.examples_per_key - len(ex)
            if room > 0:
                ex.extend(examples.get(key, [])[:room])

    # ---- columns ---------------------------------------------------------------------------

    def columns(self, table: str) -> tuple[str, ...]:
        """Target columns that rows of ``table`` carry: target ∩ what bascule fills (cached)."""
        cols = self._out_cols.get(table)
        if cols is None:
            produced = self._produced(table)
            tgt = self.target_columns(table)
            cols = tuple(c for c in produced if c in tgt)
            self._out_cols[table] = cols
            self._exact[table] = len(cols) == len(produced)
        return cols

    def columns_exact(self, table: str) -> bool:
        """True when rows of ``table`` carry every column bascule fills (no filtering needed)."""
        e = self._exact.get(table)
        if e is None:
            self.columns(table)
            e = self._exact[table]
        return e

    def unfilled(self, table: str) -> set[str]:
        """Target columns of ``table`` that bascule does not fill (left to the target default)."""
        return set(self.target_columns(table)) - set(self._produced(table))

    def _produced(self, table: str) -> tuple[str, ...]:
        """The columns the transform of ``table`` fills (a described table: its ``columns``)."""
        produced = PRODUCED_COLUMNS.get(table)
        if produced is None:
            spec = self.migration.by_name.get(table)
            produced = tuple(spec.columns or ()) if spec is not None else ()
        return produced

    def repair_columns(self, table: str) -> tuple[str, ...]:
        """Source columns of ``table`` flagged as double-encoded (cached)."""
        cols = self._repair_cols.get(table)
        if cols is None:
            cols = tuple(sorted(c for t, c in self.mojibake_columns if t == table))
            self._repair_cols[table] = cols
        return cols
