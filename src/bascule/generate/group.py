"""One group of the synthetic Cagette: its settings, places, cycles, roles and baskets; its
catalogs, distributions, orders and members come from the mixins of ``group_*``."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from .group_catalogs import CatalogGen
from .group_members import MemberGen
from .group_orders import OrderGen, ShopGen

if TYPE_CHECKING:  # the world makes the groups: no import at run time
    from .world import World
from . import names as N
from .values import (
    DAY,
    END,
    MD_PER_GROUP,
    MEMBERS_PER_GROUP,
    HxEnum,
    IntMap,
    d_,
    day_start,
    dt,
    hxb,
    js,
    minute_of_date,
)


class GroupGen(CatalogGen, OrderGen, ShopGen, MemberGen):
    """Everything of one group. Keeps only this group's small structures."""

    def __init__(self, w: World, gid: int, shop: bool):
        self.w = w
        self.gid = gid
        self.shop = shop
        self.r = w.rng(f"group{gid}")
        self.add = w.add
        self.c21 = w.c21
        self.dirty = w.dirty
        self.weight = w.weights[gid]
        self.balance: dict[int, float] = defaultdict(float)
        self.rights: dict[int, list] = defaultdict(list)
        self.target = gid in w.dirty_amap  # dirty defects are placed in these AMAP groups
        self.force_legacy = self.dirty and gid == (w.dirty_amap[0] if w.dirty_amap else None)

    def jit(self, x: float) -> float:
        return x * (0.6 + 0.8 * self.r.random())

    def run(self) -> None:
        w, r = self.w, self.r
        cap = max(6, w.n_users // 3)
        n_members = min(cap, max(6, int(self.jit(MEMBERS_PER_GROUP * self.weight))))
        self.members = sorted(set(r.sample(range(2, w.n_users + 1), n_members)))
        mset = set(self.members)
        self.past = [u for u in r.sample(range(2, w.n_users + 1), min(w.n_users - 2, 4 + n_members // 8))
                     if u not in mset][: 2 + n_members // 10]
        self.timeline()
        self.group_row()
        self.places()
        self.cycles()
        self.roles()
        self.catalogs()
        self.multidistribs()
        if self.shop:
            self.shop_orders()
        else:
            self.amap_orders()
        self.memberships()
        self.volunteers()
        self.waiting_list()
        self.documents_messages()
        self.user_groups()
        self.emit_group()

    def timeline(self) -> None:
        r = self.r
        rnd = r.random
        self.period = 7 if (not self.shop and rnd() < 0.8) or (self.shop and rnd() < 0.6) else 14
        n_md = max(3, int(self.jit(MD_PER_GROUP * self.weight)))
        last = END - int(rnd() ** 2 * 500) * DAY + int(rnd() * 30) * DAY
        first = last - (n_md - 1) * self.period * DAY
        floor = 60 * DAY
        if first < floor:
            n_md = max(3, (last - floor) // (self.period * DAY) + 1)
            first = last - (n_md - 1) * self.period * DAY
        self.n_md = n_md
        hour = (17 + int(rnd() * 3)) * 60 + (30 if rnd() < 0.5 else 0)
        self.md_start = [first - first % DAY + i * self.period * DAY + hour for i in range(n_md)]
        self.cdate = first - (10 + int(rnd() * 80)) * DAY

    def group_row(self) -> None:
        w, r = self.w, self.r
        rnd = r.random
        word = N.GROUP_WORDS[int(rnd() * len(N.GROUP_WORDS))]
        if self.shop and word.startswith("AMAP"):
            word = "Épicerie"
        city, zipc = N.CITIES[int(rnd() * len(N.CITIES))]
        self.city, self.zip = city, zipc
        self.name = f"{word} {N.GROUP_SUFFIXES[int(rnd() * len(N.GROUP_SUFFIXES))]} ({city})"[:60]
        flags = 16 if rnd() < 0.7 else 0
        if self.shop:
            flags |= 2
            if rnd() < 0.45:
                flags |= 4
        elif rnd() < 0.8:
            flags |= 4  # HasPayments set at creation, ignored by Cagette in AMAP mode
        if rnd() < 0.3:
            flags |= 128
        if rnd() < 0.1:
            flags |= 64
        self.flags = flags
        self.has_payments = bool(flags & 4)
        self.has_membership = rnd() < (0.3 if self.shop else 0.7)
        self.fee = 5 + int(rnd() * 20) if self.has_membership else None
        if self.shop:
            gtype = (1, 2, 3, None)[int(rnd() * 4)]
            if rnd() < 0.05:
                gtype = 0  # declared "AMAP" but shop mode: groupType is declarative only
        else:
            gtype = 0 if rnd() < 0.85 else (None if rnd() < 0.7 else 1)
        self.gtype = gtype
        self.regoption = (2 if self.shop else 1) if rnd() < 0.8 else int(rnd() * 4)
        self.contact = self.members[0] if rnd() < 0.9 else w.pick_user(rnd)
        self.legal = self.members[min(1, len(self.members) - 1)] if rnd() < 0.6 else None
        self.image = w.new_file(r, "logo", self.cdate) if rnd() < 0.5 else None
        self.pay_types = ["cash", "check", "transfer"] if not self.shop else \
            sorted({N.PAYMENT_TYPES_SHOP[int(rnd() * len(N.PAYMENT_TYPES_SHOP))] for _ in range(3)})
        self.mangopay = self.shop and (rnd() < 0.5 or w.once("mangopay-group"))
        if self.mangopay:
            self.pay_types = sorted(set(self.pay_types) | {"mangopay-ec", "mangopay-mp"})

    def emit_group(self) -> None:
        # emitted last: only then are placeId and the counters known (ids were reserved first)
        w, r = self.w, self.r
        rnd = r.random
        L = w.legacy
        vat_json = js([{"label": "Alimentaire", "value": 5.5}, {"label": "Taux normal", "value": 20}])
        cd = dt(self.cdate)
        if w.quota("zero:Group.cdate", 1):
            cd = w.zero("Group.cdate", cd)
        renewal = d_(minute_of_date(2022, 9, 1)) if self.has_membership else None
        if renewal and w.quota("zero:Group.membershipRenewalDate", 1):
            renewal = w.zero("Group.membershipRenewalDate", renewal, date_only=True)
        self.add["Group"]((
            self.gid, self.name, self.contact,
            f"Bienvenue à {self.name} !\nNous livrons chaque semaine des produits locaux.",
            "Les commandes ferment le mardi soir." if rnd() < 0.5 else None,
            "Merci d'apporter vos sacs.\nDistribution sous le préau." if rnd() < 0.4 else None,
            f"https://amap-{self.gid}.fr" if rnd() < 0.3 else None,
            renewal, self.fee, vat_json if rnd() < 0.8 else None, self.flags,
            2 if rnd() < 0.2 else 0, 1 if self.has_membership else 0, self.gtype, self.image,
            cd, self.place_ids[0], self.regoption, "€", "EUR", self.legal,
            js(self.pay_types) if rnd() < 0.9 else None,
            self.name[:60] if rnd() < 0.5 else None,
            f"FR76{int(rnd() * 1e22):022d}" if rnd() < 0.2 else None,
            (1 if rnd() < 0.5 else 0) if self.shop else None,
            4, "Bonjour [NOM], vous êtes inscrit(e) comme bénévole.\nMerci !", 7, 60,
            "Il manque des bénévoles pour la distribution du [DATE].",
            None if self.c21 else ("MOVED" if rnd() < 0.01 else None),
            hxb([{"label": "Alimentaire", "value": 5.5}]) if L and rnd() < 0.5 else None,
            hxb([HxEnum("PaymentType", "Check")]) if L and rnd() < 0.5 else None,
            self.fee if L else None, (1 if rnd() < 0.5 else 0) if L else None,
            d_(minute_of_date(2019, 12, 31)) if L and rnd() < 0.3 else None,
            (1 if rnd() < 0.5 else 0) if L else None,
            int(rnd() * 1000) if L else None, int(rnd() * 500) if L else None,
        ))
        if w.quota("legacy:Group", 1):
            w.defects["legacy_columns:Group"] += 1
        if self.shop or rnd() < 0.5:
            n_pro = sum(1 for c in self.cats if c["linked"])
            self.add["Hosting"]((self.gid, cd if rnd() < 0.9 else None, 1 if self.md_start[-1] > END - 60 * DAY else 0,
                                 1 if rnd() < 0.8 else 0, len(self.members), len(self.cats) - n_pro, n_pro))

    def places(self) -> None:
        w, r = self.w, self.r
        rnd = r.random
        self.place_ids = []
        for k in range(1 + (rnd() < 0.3) + (rnd() < 0.1)):
            pid = w.nid("Place")
            self.place_ids.append(pid)
            self.add["Place"]((pid, ("Salle des fêtes", "Préau de l'école", "Ferme", "Local associatif",
                                     "Marché couvert")[int(rnd() * 5)],
                               f"{1 + int(rnd() * 80)} {N.STREETS[int(rnd() * len(N.STREETS))]}", None,
                               self.zip, self.city, "France" if rnd() < 0.5 else None,
                               round(43 + rnd() * 6, 6), round(-1 + rnd() * 7, 6), self.gid))

    def cycles(self) -> None:
        w, r = self.w, self.r
        rnd = r.random
        self.cycle_ids = []
        for k in range(int(rnd() * 2.4)):
            cid = w.nid("DistributionCycle")
            self.cycle_ids.append(cid)
            s = self.md_start[0] + k * 60 * DAY
            e = s + 180 * DAY
            self.add["DistributionCycle"]((
                cid, self.gid, 0 if self.period == 7 else 2, day_start(s), day_start(e), dt(s), dt(s + 120),
                7 if rnd() < 0.5 else None, 1 if rnd() < 0.5 else None,
                dt(s - 7 * DAY) if not self.c21 or rnd() < 0.6 else None,
                dt(s - DAY) if not self.c21 or rnd() < 0.6 else None,
                self.place_ids[0], None))

    def roles(self) -> None:
        w, r = self.w, self.r
        rnd = r.random
        self.role_ids = []
        if rnd() < 0.7 or self.target:
            for name in N.VOLUNTEER_ROLES[: 2 + int(rnd() * 3)]:
                rid = w.nid("VolunteerRole")
                self.role_ids.append(rid)
                self.add["VolunteerRole"]((rid, name, self.gid, None))

    def cat_linked(self, cid: int) -> bool:
        for c in self.cats:
            if c["id"] == cid:
                return c["linked"]
        return False

    def basket(self, uid: int, i: int, when: int) -> list:
        b = self.baskets.get((uid, i))
        if b is None:
            bid = self.w.nid("Basket")
            n = self.md_num[i] = self.md_num.get(i, 0) + 1
            b = self.baskets[(uid, i)] = [bid, n, 0.0, when, uid, i, None]
        return b

    def emit_baskets(self) -> None:
        w, r = self.w, self.r
        rnd = r.random
        c21 = self.c21
        L = w.legacy
        for b in sorted(self.baskets.values()):
            bid, num, total, when, uid, i, data = b
            mid = self.md_ids[i]
            cd = dt(when)
            if self.target and w.quota("zero:Basket.cdate", 2):
                cd = w.zero("Basket.cdate", cd)
            ref = f"{self.gid}-{mid}-{num}" if c21 and self.shop and rnd() < 0.3 else None
            status = "CONFIRMED" if total > 0 or not self.shop else "OPEN"
            data_text = "" if data is None else js(data)
            self.add["Basket"]((
                bid, ref, cd, num, round(total, 2) if (total or not c21 or rnd() < 0.7) else None,
                uid, mid, hxb(IntMap({k: v for k, v in data.items()})) if (data and c21) else None,
                data_text, status, f"B{bid}" if L else None, self.place_ids[0] if L else None,
                dt(self.md_start[i]) if L else None))
        self.baskets.clear()
