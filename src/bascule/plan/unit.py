"""The rows of one unit of work, indexed by id, with the owning group of every row (from the owner
paths of ``model.tables``) and the lookups the transform's hooks need."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from bascule.extract.source import GroupRef
from bascule.model.tables import Migration
from bascule.transform.baskets import BasketSynthesizer


class Unit:
    """The source rows of one unit (table → rows, old ids), as read (plus the rows bascule adds:
    producers' memberships, baskets for orders without one)."""

    def __init__(self, migration: Migration, groups: Sequence[GroupRef],
                 rows: dict[str, list[dict]]):
        self.migration = migration
        self.groups = list(groups)
        self.rows = rows
        self.by_id: dict[str, dict[Any, dict]] = defaultdict(dict)
        for t, rs in rows.items():
            if rs and "id" in rs[0]:
                self.by_id[t] = {r["id"]: r for r in rs}
        self.shared_rows: dict[str, list[dict]] = {}  # the shared rows this unit writes
        self.baskets: BasketSynthesizer | None = None
        self._group_of: dict[str, dict[Any, Any]] = {}

    # -- owners -----------------------------------------------------------------------------

    def owner(self, table: str) -> Callable[[dict], Any]:
        """A function: row of ``table`` → the source group that owns it (None: unknown)."""
        paths = self.migration.paths(table)
        if not paths:  # Group itself
            return lambda r: r["id"]
        if len(paths) == 1 and paths[0].by is None:
            col, parent = paths[0].column, paths[0].parent
            if parent == "Group":
                return lambda r: r.get(col)
            of = self.group_of(parent)
            return lambda r: of.get(r.get(col))
        by = paths[0].by
        via = {p.value: (p.column, None if p.parent == "Group" else self.group_of(p.parent))
               for p in paths}

        def poly(r: dict) -> Any:
            found = via.get(r.get(by))
            if found is None:
                return None
            col, of = found
            return r.get(col) if of is None else of.get(r.get(col))
        return poly

    def group_of(self, table: str) -> dict[Any, Any]:
        """Old id → owning group, for every row of ``table`` in the unit (computed once)."""
        of = self._group_of.get(table)
        if of is None:
            owner = self.owner(table)
            of = {r["id"]: owner(r) for r in self.rows.get(table, ())}
            self._group_of[table] = of
        return of

    # -- the transform's hooks --------------------------------------------------------------

    def distribution_md(self) -> Callable[[Any], Any]:
        """old distribution id → its old multidistrib id (a function of the rows alone: the
        basket synthesizer the unit keeps holds it, without a reference cycle)."""
        get = self.by_id["Distribution"].get

        def md_of(old_distribution: Any) -> Any:
            d = get(old_distribution)
            return None if d is None else d["multiDistribId"]
        return md_of

    def product_price(self) -> Callable[[Any], float | None]:
        get = self.by_id["Product"].get

        def price_of(old_product: Any) -> float | None:
            p = get(old_product)
            return None if p is None else p["price"]
        return price_of

    def synthesize_baskets(self) -> None:
        """Orders without a basket (2021 shape) join the user's basket at their multidistrib, or
        a basket created for them (Camap's Basket.getOrCreate); created baskets get a
        deterministic synthetic old id so that reruns find them again."""
        rows = self.rows
        syn = BasketSynthesizer(distribution_md=self.distribution_md())
        for b in rows.get("Basket", ()):
            syn.add_existing(b)
        for o in rows.get("UserOrder", ()):
            syn.add_order(o)
        self.baskets = syn
        for b in syn.rows():
            rows["Basket"].append(b)
            self.by_id["Basket"][b["id"]] = b

    def hooks(self) -> dict[str, Callable | None]:
        """The transform context's hooks over this unit's rows (see transform.context)."""
        syn = self.baskets
        return {
            "multidistrib": self.by_id["MultiDistrib"].get,
            "distribution_md": self.distribution_md(),
            "basket_for": syn.basket_for if syn is not None else None,
            "basket_total": syn.total if syn is not None else None,
            "product_price": self.product_price(),
        }
