"""A group's subscriptions, orders and operations, AMAP and shop mode (mixin of GroupGen)."""

from __future__ import annotations

from collections import defaultdict

from . import names as N
from .values import (
    DAY,
    END,
    SHOP_BASKETS_PER_MD,
    SUBSCRIBERS_PER_SEASON,
    d_,
    day_end,
    day_start,
    dt,
    hxb,
    js,
    minute_of_date,
)


class OrderGen:
    """Subscriptions, orders, baskets' contents and money operations."""

    def amap_orders(self) -> None:
        """Seasons of 3 to 8 distributions; per season a set of subscribers, each subscribing
        to some catalogs, with default orders, absences and the orders of each distribution."""
        r = self.r
        rnd = r.random
        self.baskets: dict = {}
        self.md_num: dict = {}
        pool = self.members + self.past
        # which distributions each catalog has, by md index
        dist_of: dict[int, dict[int, int]] = defaultdict(dict)
        for i, dists in enumerate(self.md_dists):
            for did, c in dists:
                dist_of[c["id"]][i] = did
        # seasons of 4..10 distributions; a set of subscribers per season
        i = 0
        seasons = []
        while i < self.n_md:
            ln = 3 + int(rnd() * 6)
            seasons.append((i, min(self.n_md - 1, i + ln - 1)))
            i += ln
        n_subscribers = max(2, int(self.jit(SUBSCRIBERS_PER_SEASON * (0.4 + 0.6 * self.weight))))
        n_subscribers = min(n_subscribers, len(pool))
        for s0, s1 in seasons:
            subscribers = r.sample(pool, n_subscribers)
            for c in self.cats:
                dmap = dist_of.get(c["id"])
                if not dmap:
                    continue
                window = [(k, dmap[k]) for k in range(s0, s1 + 1) if k in dmap]
                if not window:
                    continue
                prob = 0.25 if c["demo"] else 0.8
                for uid in subscribers:
                    if rnd() >= prob:
                        continue
                    self._subscription(c, uid, window)
        self.emit_baskets()

    def _subscription(self, c: dict, uid: int, window: list[tuple[int, int]]) -> None:
        """One subscription of ``uid`` to catalog ``c`` over the distributions of ``window``."""
        w = self.w
        rnd = self.r.random
        members = self.members
        dirty_group = self.target
        sid = w.nid("Subscription")
        shared = None
        if rnd() < 0.08:
            shared = members[int(rnd() * len(members))] if rnd() < 0.7 else w.pick_user(rnd)
            if shared == uid:
                shared = None
        sub_user2 = shared
        if dirty_group and w.quota("fk:Subscription.userId2", 2) and w.mysql:
            sub_user2 = w.deleted_uid
            w.dangling["Subscription.userId2"] += 1
        defaults, dj = self._default_orders(c, shared, sid)
        absent, absent_csv = self._absences(c, window, sid)
        if dirty_group and dj and w.quota("json:Subscription.defaultOrders", 1):
            dj = dj[:-3]  # truncated JSON
            w.defects["malformed_json:Subscription.defaultOrders"] += 1
        first_start = self.md_start[window[0][0]]
        last_start = self.md_start[window[-1][0]]
        # legacy (pre-2020) constant orders: no subscription, maybe no basket
        legacy_orders = self.dirty and c["old"] and c["type"] == 0 and rnd() < 0.3
        if self.force_legacy and c["type"] == 0 and not c["demo"]:
            legacy_orders = True
            self.force_legacy = False
        total = self._orders(c, uid, window, defaults, shared, sid, legacy_orders, set(absent))
        L = w.legacy
        self.add["Subscription"]((sid, uid, sub_user2, c["id"], day_start(first_start),
                                  day_end(last_start),
                                  1 if (not c["has_pay"] and rnd() < 0.7) else 0, dj, absent_csv,
                                  1 if L else None, len(absent) if L else None, None))
        if c["has_pay"] and total > 0 and not legacy_orders:
            self.sub_operations(sid, uid, c, total, first_start - 10 * DAY)

    def _default_orders(self, c: dict, shared: int | None, sid: int
                        ) -> tuple[list[tuple], str | None]:
        """The subscription's default orders (product, quantity, price) and their JSON."""
        w = self.w
        rnd = self.r.random
        products = c["products"]
        n_products = len(products)
        defaults = []
        if c["type"] == 0 or rnd() < 0.6:
            for _ in range(1 + (rnd() < 0.35) + (rnd() < 0.1)):
                p, price = products[int(rnd() * n_products)]
                q = 1.0 if rnd() < 0.8 else float(2 + int(rnd() * 2))
                defaults.append((p, q, price))
        dj = None
        if defaults:
            items = []
            for p, q, _ in defaults:
                it = {"productId": p, "quantity": q}
                if shared is not None:
                    it["userId2"] = shared
                    if rnd() < 0.3:
                        it["invertSharedOrder"] = True
                items.append(it)
            if self.target and w.quota("text:Subscription.defaultOrders", 2):
                items.append({"productId": 10_000_000 + sid, "quantity": 1})
                w.defects["dangling_text:Subscription.defaultOrders"] += 1
            dj = js(items)
        return defaults, dj

    def _absences(self, c: dict, window: list[tuple[int, int]], sid: int
                  ) -> tuple[list[int], str | None]:
        """The distributions the subscriber will miss, and their CSV."""
        w = self.w
        rnd = self.r.random
        absent = []
        if c["abs_max"] and len(window) >= 4 and rnd() < 0.3:
            absent = sorted({window[int(rnd() * len(window))][1]
                             for _ in range(min(2, c["abs_max"]))})
        absent_csv = ",".join(map(str, absent)) if absent else None
        if self.target and w.quota("text:Subscription.absentDistribIds", 2):
            absent_csv = ",".join(map(str, absent + [10_000_000 + sid]))
            w.defects["dangling_text:Subscription.absentDistribIds"] += 1
        return absent, absent_csv

    def _orders(self, c: dict, uid: int, window: list[tuple[int, int]], defaults: list[tuple],
                shared: int | None, sid: int, legacy_orders: bool, aset: set[int]) -> float:
        """The orders of each distribution of the window (the default orders, or a choice);
        their total."""
        rnd = self.r.random
        products = c["products"]
        n_products = len(products)
        total = 0.0
        for k, did in window:
            if did in aset:
                continue
            when = self.md_start[k] - DAY - int(rnd() * 3 * DAY)
            if defaults:
                lines = defaults if c["type"] == 0 else (defaults if rnd() < 0.7 else [])
            else:
                lines = []
            if c["type"] == 1 and (not lines) and rnd() < 0.6:
                lines = []
                for _ in range(1 + (rnd() < 0.4) + (rnd() < 0.2)):
                    p, price = products[int(rnd() * n_products)]
                    lines.append((p, float(1 + int(rnd() * 3)), price))
            if not lines:
                continue
            no_basket = legacy_orders and self.c21
            b = None if no_basket else self.basket(uid, k, when)
            for p, q, price in lines:
                total += self._order(c, uid, did, b, p, q, price, when, shared, sid, legacy_orders)
        return total

    def _order(self, c: dict, uid: int, did: int, b: list | None, p: int, q: float,
               price: float, when: int, shared: int | None, sid: int,
               legacy_orders: bool) -> float:
        """One order line (UserOrder row); its amount."""
        w = self.w
        rnd = self.r.random
        oid = w.nid("UserOrder")
        amount = q * price * (1 + c["pct"] / 100)
        if b is not None:
            b[2] += amount
        o_user2 = shared
        if shared is not None and w.quota("fk:UserOrder.userId2", 3) and w.mysql:
            o_user2 = w.deleted_uid
            w.dangling["UserOrder.userId2"] += 1
        dist = did
        if legacy_orders and w.quota("fk:UserOrder.distributionId", 2) and w.mysql:
            dist = 0  # NULL coerced to 0 by a non-strict MySQL: no such distribution
            w.dangling["UserOrder.distributionId"] += 1
            w.defects["order_without_distribution"] += 1
        odate = dt(when)
        if legacy_orders and w.quota("zero:UserOrder.date", 2):
            odate = w.zero("UserOrder.date", odate)
        self.add["UserOrder"]((oid, uid, o_user2, q, p, price, c["pct"], 1 if when < END else 0,
                               dist, None if b is None else b[0], None if legacy_orders else sid,
                               odate, 1 if (shared and rnd() < 0.2) else 0,
                               self.gid if w.legacy else None))
        if legacy_orders:
            w.defects["order_without_subscription"] += 1
            if b is None:
                w.defects["order_without_basket"] += 1
        return amount

    def sub_operations(self, sid: int, uid: int, c: dict, total: float, when: int) -> None:
        w, r = self.w, self.r
        rnd = r.random
        add_op = self.add["Operation"]
        total = round(total, 2)
        debt = w.nid("Operation")
        old = when < minute_of_date(2020, 7, 31)
        blob = hxb({"contractId": c["id"]}) if old else b"n"
        add_op((debt, f"{c['name']} ({self.name})"[:128], -total, dt(when), 1, None, uid, self.gid, 0,
                blob, None, sid, js({"subscriptionId": sid}), c["id"] if w.legacy else None))
        self.balance[uid] -= total
        n_pay = 1 if rnd() < 0.8 else (2 if rnd() < 0.75 else 3)
        if rnd() < 0.1:
            n_pay = 0
        left = total
        for k in range(n_pay):
            amount = round(total / n_pay, 2) if k < n_pay - 1 else round(left, 2)
            left -= amount
            pending = 1 if (k == n_pay - 1 and rnd() < 0.1) else 0
            pt = N.PAYMENT_TYPES_AMAP[int(rnd() * len(N.PAYMENT_TYPES_AMAP))]
            pid = w.nid("Operation")
            add_op((pid, f"Paiement {pt}", amount, dt(when + k * 30 * DAY), 2, debt, uid, self.gid, pending,
                    hxb({"type": pt}) if old else b"n", None, sid, js({"type": pt}), None))
            if not pending:
                self.balance[uid] += amount


class ShopGen:
    """A shop-mode group's baskets, carts, payments and Mangopay records."""

    def shop_orders(self) -> None:
        """Per distribution day, baskets of a few members (carts not confirmed yet, in the
        future), payments, Mangopay records; the legacy product categories."""
        w, r = self.w, self.r
        rnd = r.random
        self.baskets = {}
        self.md_num = {}
        members, past = self.members, self.past
        pool_n = len(members)
        mean_b = SHOP_BASKETS_PER_MD * (0.4 + 0.6 * self.weight)
        for i, dists in enumerate(self.md_dists):
            if not dists:
                continue
            start = self.md_start[i]
            n_b = int(self.jit(mean_b))
            users = set()
            for _ in range(n_b):
                users.add(past[int(rnd() * len(past))] if (past and rnd() < 0.05)
                          else members[int(rnd() * pool_n)])
            offer = [(did, c, p, price) for did, c in dists for p, price in c["products"]]
            for uid in sorted(users):
                self._shop_basket(i, dists, offer, uid, start)
        if self.mangopay:
            mu = 40000000 + self.gid
            repr_ = self.legal or self.contact
            self.add["MangopayLegalUser"]((mu, self.name, None, "SOLETRADER", repr_,
                                          70000000 + self.gid, 0.18, 1.8, 0))
            self.add["MangopayLegalUserGroup"]((mu, self.gid, 90000000 + self.gid))
        self.emit_baskets()
        if w.legacy and (rnd() < 0.5 or w.once("CategoryGroup")):
            cg = w.nid("CategoryGroup")
            self.add["CategoryGroup"]((cg, "Rayons", 1, 0, self.gid))
            cat = w.nid("Category")
            self.add["Category"]((cat, "Frais", cg))
            for c in self.cats[:2]:
                for p, _ in c["products"][:2]:
                    self.add["ProductCategory"]((p, cat))

    def _shop_basket(self, i: int, dists: list, offer: list, uid: int, start: int) -> None:
        """One member's basket at distribution day ``i`` (or a cart, in the future)."""
        w = self.w
        rnd = self.r.random
        L = w.legacy
        future = start > END
        when = start - DAY - int(rnd() * 5 * DAY)
        if future and rnd() < 0.5:
            # a cart not confirmed yet: TmpBasket (2021) / an OPEN Basket (2023)
            items = [{"productId": offer[int(rnd() * len(offer))][2], "quantity": 1}
                     for _ in range(1 + int(rnd() * 3))]
            if self.c21:
                self.add["TmpBasket"]((w.nid("TmpBasket"), None, dt(when), js({"products": items}),
                                       uid if rnd() < 0.9 else None, self.md_ids[i],
                                       None, None, None, self.gid if L else None))
            else:
                b = self.basket(uid, i, when)
                b[6] = {"products": items}
            return
        b = self.basket(uid, i, when)
        for _ in range(1 + int(rnd() * 6)):
            did, c, p, price = offer[int(rnd() * len(offer))]
            q = float(1 + int(rnd() * 3)) if rnd() < 0.9 else round(0.3 + rnd() * 2, 2)
            amount = q * price * (1 + c["pct"] / 100)
            b[2] += amount
            self.add["UserOrder"]((w.nid("UserOrder"), uid, None, q, p, price, c["pct"],
                                   0 if future else 1, did, b[0], None, dt(when), 0,
                                   self.gid if L else None))
        if self.mangopay and rnd() < 0.7:
            vid = dists[0][1]["vid"]
            tot = round(b[2], 2)
            b[6] = {vid: {"amount": tot, "netAmount": round(tot * 0.97, 2), "fixedFees": 0.18,
                          "variableFees": round(tot * 0.018, 2)}}
            if uid not in w.mangopay_users:
                w.mangopay_users.add(uid)
                self.add["MangopayUser"]((uid, 30000000 + uid))
        if self.has_payments:
            self._shop_payment(b, uid, start, when)

    def _shop_payment(self, b: list, uid: int, start: int, when: int) -> None:
        """The basket's debt, and its payment (most of the time)."""
        w = self.w
        rnd = self.r.random
        add_op = self.add["Operation"]
        total = round(b[2], 2)
        op = w.nid("Operation")
        add_op((op, f"Commande du {d_(start)}", -total, dt(when), 0, None, uid, self.gid, 0,
                hxb({"basketId": b[0]}) if when < minute_of_date(2020, 7, 31) else b"n", b[0],
                None, js({"basketId": b[0]}), None))
        self.balance[uid] -= total
        if rnd() < 0.85:
            pt = self.pay_types[int(rnd() * len(self.pay_types))]
            pending = 1 if (pt == "onthespot" or rnd() < 0.05) else 0
            add_op((w.nid("Operation"), f"Paiement {pt}", total, dt(when + 10), 2, op, uid,
                    self.gid, pending, b"n", None, None,
                    js({"type": pt, "remoteOpId": f"{op}"}) if pt.startswith("mangopay")
                    else js({"type": pt}), None))
            if not pending:
                self.balance[uid] += total
