"""Baskets for orders that have none (2021 source: ``UserOrder.basketId`` NULL; Camap: NOT NULL).

Camap (``Basket.getOrCreate``) keeps one basket per (user, multidistrib): an order without basket
joins the user's existing basket at that multidistrib, else a new one is created with
``num = max(num of that multidistrib) + 1``, status ``CONFIRMED``, ``data = ''``.

bascule does the same before loading. A created basket has no source id, so it gets a
*synthetic old id*, ``synth_basket_key(user, md) = (user << 32) | md``: deterministic (reruns find
it again in the id map), positive, below 2**63, and always ≥ 2**32, above any real (INT) basket
id, so it never collides with one.

Use (per group, before transforming Basket and UserOrder rows)::

    syn = BasketSynthesizer(distribution_md=dist_to_md.get)
    for b in source_baskets: syn.add_existing(b)
    for o in source_orders:  syn.add_order(o)
    new_rows = syn.rows()          # source-shaped Basket rows, ids = synthetic keys
    # allocate target ids for them like for any Basket, then transform them with the real ones;
    # ctx = TransformContext(..., basket_for=syn.basket_for, basket_total=syn.total,
    #                        distribution_md=dist_to_md.get)

Numbering is deterministic and stable across reruns: the created baskets of a multidistrib are
numbered after its real baskets, in the order of their first (lowest old id) order, so orders
added later in the source get higher numbers and existing numbers do not move.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from .clean import as_datetime

SYNTH_MIN = 1 << 32


def synth_basket_key(user_old_id: int, multidistrib_old_id: int) -> int:
    """Old id used in the id map for the basket created for (user, multidistrib)."""
    u, m = int(user_old_id), int(multidistrib_old_id)
    if not (0 < u < (1 << 31) and 0 < m < (1 << 32)):
        raise ValueError(f"basket key out of range: user {u}, multidistrib {m}")
    return (u << 32) | m


def is_synth_basket_key(key: Any) -> bool:
    return isinstance(key, int) and key >= SYNTH_MIN


def split_synth_basket_key(key: int) -> tuple[int, int]:
    """(user old id, multidistrib old id) of a synthetic key."""
    return key >> 32, key & 0xFFFFFFFF


def order_amount(quantity: Any, product_price: Any, fees_rate: Any) -> float:
    """quantity × productPrice × (1 + feesRate/100), as Camap's basket total counts an order."""
    return float(quantity or 0) * float(product_price or 0) * (1 + float(fees_rate or 0) / 100)


def order_basket_key(
    order: dict[str, Any],
    distribution_md: Callable[[Any], Any] | None,
    basket_for: Callable[[Any, Any], Any] | None = None,
) -> int | None:
    """Old basket id of an order: its own ``basketId``, else the user's existing basket at the
    order's multidistrib (``basket_for``), else the synthetic key. None when the order has no
    distribution (or its distribution's multidistrib is unknown): such an order cannot load."""
    b = order.get("basketId")
    if b is not None:
        return b
    d = order.get("distributionId")
    if d is None or distribution_md is None:
        return None
    md = distribution_md(d)
    if md is None:
        return None
    user = order.get("userId")
    if user is None:
        return None
    if basket_for is not None:
        existing = basket_for(user, md)
        if existing is not None:
            return existing
    return synth_basket_key(user, md)


def synth_basket_row(user_old_id: int, multidistrib_old_id: int, num: int, total: float,
                     cdate: Any) -> dict:
    """A SOURCE-shaped Basket row (old ids) for a created basket; ``transform_row('Basket', …)``
    turns it into the Camap row like any other."""
    return {
        "id": synth_basket_key(user_old_id, multidistrib_old_id),
        "cdate": cdate,
        "num": num,
        "total": round(total, 2),
        "userId": user_old_id,
        "multiDistribId": multidistrib_old_id,
        "data": "",
        "status": "CONFIRMED",
        "ref": None,
    }


class BasketSynthesizer:
    """Collects the baskets and orders of one source group and builds the missing baskets.

    Also serves as the ``basket_for`` and ``basket_total`` hooks of the TransformContext (totals
    of real baskets are summed from the orders added, for 2021 baskets whose ``total`` is NULL).
    """

    def __init__(self, distribution_md: Callable[[Any], Any]):
        self.distribution_md = distribution_md
        self._max_num: dict[Any, int] = {}
        self._existing: dict[tuple[Any, Any], Any] = {}
        self._totals: dict[Any, float] = {}
        # (user, md) -> [first order id, total, earliest order date]
        self._pending: dict[tuple[Any, Any], list] = {}

    def add_existing(self, basket: dict[str, Any]) -> None:
        md, user, num = basket.get("multiDistribId"), basket.get("userId"), basket.get("num")
        if num is not None and num > self._max_num.get(md, 0):
            self._max_num[md] = num
        if user is not None:
            key = (user, md)
            prev = self._existing.get(key)
            if prev is None or basket["id"] < prev:  # several: the lowest id, deterministically
                self._existing[key] = basket["id"]

    def basket_for(self, user_old_id: Any, md_old_id: Any) -> Any:
        return self._existing.get((user_old_id, md_old_id))

    def add_order(self, order: dict[str, Any]) -> int | None:
        """Register an order; returns its old basket key (None: order without distribution)."""
        key = order_basket_key(order, self.distribution_md, self.basket_for)
        if key is None:
            return None
        amount = order_amount(order.get("quantity"), order.get("productPrice"),
                              order.get("feesRate"))
        if is_synth_basket_key(key):
            pair = split_synth_basket_key(key)
            p = self._pending.get(pair)
            date = as_datetime(order.get("date"))
            if p is None:
                self._pending[pair] = [order.get("id"), amount, date]
            else:
                oid = order.get("id")
                if oid is not None and (p[0] is None or oid < p[0]):
                    p[0] = oid
                p[1] += amount
                if date is not None and (p[2] is None or date < p[2]):
                    p[2] = date
        else:
            self._totals[key] = self._totals.get(key, 0.0) + amount
        return key

    def total(self, old_basket_id: Any) -> float | None:
        """Sum of the orders added for a basket (real or created), rounded to 2; None if none."""
        if is_synth_basket_key(old_basket_id):
            p = self._pending.get(split_synth_basket_key(old_basket_id))
            return None if p is None else round(p[1], 2)
        t = self._totals.get(old_basket_id)
        return None if t is None else round(t, 2)

    def rows(self, fallback_cdate: dt.datetime | None = None) -> list[dict]:
        """The created baskets, as source-shaped rows, numbered per multidistrib (see module)."""
        by_md: dict[Any, list] = {}
        for (user, md), (first, total, date) in self._pending.items():
            by_md.setdefault(md, []).append((first if first is not None else 0, user, total, date))
        out = []
        for md in sorted(by_md):
            num = self._max_num.get(md, 0)
            for first, user, total, date in sorted(by_md[md], key=lambda x: (x[0], x[1])):
                num += 1
                out.append(synth_basket_row(user, md, num, total,
                                            date if date is not None else fallback_cdate))
        return out
