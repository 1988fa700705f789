"""A deterministic change of a generated Cagette source, as between the last rehearsal and the
cutover night: the benchmark's ``rerun_1pct`` and the tests of reruns apply it.

``change_source(url, fraction=0.01, seed=1)`` changes about ``fraction`` of the rows of the moved
tables, in a tenth of the AMAP groups (the groups active since the last rehearsal; the others do
not change):

- orders updated (quantity + 1) and deleted, products updated (price + 5%);
- new orders, in new baskets, cloned from existing orders of the same groups;
- one shop-mode group turned AMAP (a new group to move, with all its rows) and one AMAP group,
  not among the changed ones, turned shop mode (it stops being moved).

Same source, fraction and seed: same changes. Returns what it did (counts and group ids).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from sqlalchemy import MetaData, Table, func, select
from sqlalchemy.engine import Connection

from bascule.dbutil import chunks, make_engine

#: Shares of the change budget (rows) by kind.
SHARES = {"orders_updated": 0.40, "orders_deleted": 0.20, "orders_added": 0.35,
          "products_updated": 0.05}
#: Moved tables counted for the budget.
_COUNTED = ("UserOrder", "Basket", "Operation", "Distribution", "UserGroup", "Subscription",
            "User", "MultiDistrib", "Membership", "Product", "Volunteer", "Catalog")


def change_source(url: str, fraction: float = 0.01, seed: int = 1) -> dict:
    """Apply the change (see the module docstring); returns its summary."""
    engine = make_engine(url)
    try:
        md = MetaData()
        md.reflect(engine, only=lambda name, _m: name in {*_COUNTED, "Group"})
        T = md.tables
        with engine.begin() as conn:
            return _change(conn, T, fraction, random.Random(seed))
    finally:
        engine.dispose()


def _ids(conn: Connection, stmt) -> list[int]:
    return sorted(int(r[0]) for r in conn.execute(stmt))


def _change(conn: Connection, T: dict[str, Table], fraction: float, rng: random.Random) -> dict:
    g, c, p, o = T["Group"], T["Catalog"], T["Product"], T["UserOrder"]
    total = sum(int(conn.execute(select(func.count()).select_from(T[t])).scalar() or 0)
                for t in _COUNTED if t in T)
    budget = max(10, int(total * fraction))
    amap = _ids(conn, select(g.c.id).where(g.c.flags.op("&")(2) == 0))
    shop = _ids(conn, select(g.c.id).where(g.c.flags.op("&")(2) != 0))
    chosen = sorted(rng.sample(amap, max(1, len(amap) // 10)))
    products = _ids(conn, select(p.c.id).join(c, c.c.id == p.c.catalogId)
                    .where(c.c.groupId.in_(chosen)))
    orders = _ids(conn, select(o.c.id).where(o.c.productId.in_(products))) if products else []
    want = {k: int(budget * s) for k, s in SHARES.items()}
    need = want["orders_updated"] + want["orders_deleted"] + want["orders_added"]
    if need > len(orders):  # a small source: every kind, in proportion
        for k in ("orders_updated", "orders_deleted", "orders_added"):
            want[k] = max(1, want[k] * len(orders) // need)
    picked = rng.sample(orders, min(len(orders), want["orders_updated"] + want["orders_deleted"]
                                    + want["orders_added"]))
    upd = sorted(picked[:want["orders_updated"]])
    dele = sorted(picked[want["orders_updated"]:want["orders_updated"] + want["orders_deleted"]])
    clone = sorted(picked[want["orders_updated"] + want["orders_deleted"]:])
    prods = sorted(rng.sample(products, min(len(products), want["products_updated"])))
    out: dict = {"rows_counted": total, "budget": budget, "groups_changed": chosen}
    for part in chunks(upd):
        conn.execute(o.update().where(o.c.id.in_(part)).values(quantity=o.c.quantity + 1))
    for part in chunks(prods):
        conn.execute(p.update().where(p.c.id.in_(part)).values(price=func.round(p.c.price * 1.05,
                                                                                  2)))
    out["baskets_added"], out["orders_added"] = _clone_orders(conn, T, clone)
    for part in chunks(dele):
        conn.execute(o.delete().where(o.c.id.in_(part)))
    out.update(orders_updated=len(upd), orders_deleted=len(dele), products_updated=len(prods))
    rest = [x for x in amap if x not in set(chosen)]
    out["group_to_amap"] = shop[rng.randrange(len(shop))] if shop else None
    out["group_to_shop"] = rest[rng.randrange(len(rest))] if rest else None
    if out["group_to_amap"] is not None:
        conn.execute(g.update().where(g.c.id == out["group_to_amap"])
                     .values(flags=g.c.flags.op("&")(~2)))
    if out["group_to_shop"] is not None:
        conn.execute(g.update().where(g.c.id == out["group_to_shop"])
                     .values(flags=g.c.flags.op("|")(2)))
    out["rows_changed"] = (len(upd) + len(dele) + len(prods) + out["orders_added"]
                           + out["baskets_added"] + 2)
    return out


def _clone_orders(conn: Connection, T: dict[str, Table], ids: Sequence[int]) -> tuple[int, int]:
    """New orders copied from ``ids``, one new basket (a copy of the order's) per source basket:
    (baskets, orders) added."""
    if not ids:
        return 0, 0
    o, b = T["UserOrder"], T["Basket"]
    rows = [dict(r) for part in chunks(list(ids))
            for r in conn.execute(select(o).where(o.c.id.in_(part)).order_by(o.c.id)).mappings()]
    new_basket: dict[int, int] = {}
    for bid in sorted({r["basketId"] for r in rows}):
        src = conn.execute(select(b).where(b.c.id == bid)).mappings().first()
        if src is None:
            continue
        vals = {k: v for k, v in src.items() if k != "id"}
        new_basket[bid] = int(conn.execute(b.insert().values(**vals)).inserted_primary_key[0])
    copies = [{**{k: v for k, v in r.items() if k != "id"}, "basketId": new_basket[r["basketId"]]}
              for r in rows if r["basketId"] in new_basket]
    if copies:
        conn.execute(o.insert(), copies)
    return len(new_basket), len(copies)
