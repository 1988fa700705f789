"""A group's catalogs, products, producer-space links and distributions (mixin of GroupGen)."""

from __future__ import annotations

from . import names as N
from .values import (
    DAY,
    END,
    REAL_CATALOGS_PER_GROUP,
    day_end,
    day_start,
    dt,
    hxb,
    js,
    minute_of_date,
)


class CatalogGen:
    """Catalogs, products, links to a producer space, multidistribs and distributions."""

    def catalogs(self) -> None:
        """The two demo catalogs every group has, and its real ones (some linked to a
        producer space), with their products, documents and roles."""
        w, r = self.w, self.r
        rnd = r.random
        self.cats: list[dict] = []
        n_real = max(1, int(round(self.jit(REAL_CATALOGS_PER_GROUP))))
        specs = [("demo", 1), ("demo", 2)] + [("real", w.pick_vendor(rnd)) for _ in range(n_real)]
        for kind, vid in specs:
            self._catalog(kind, vid)

    def _catalog_kind(self, kind: str, vid: int) -> tuple[int, int, int, str]:
        """(first and last distribution index, type, name) of a new catalog."""
        rnd = self.r.random
        n_md = self.n_md
        if kind == "demo":
            a, b = 0, min(n_md - 1, int(rnd() * 2))
            ctype = 0 if vid == 1 else 1
            name = "Contrat AMAP Légumes (démo)" if vid == 1 else "Commande fruits (démo)"
        else:
            a = int(rnd() * n_md * 0.15)
            b = n_md - 1 - int(rnd() * n_md * 0.1)
            b = max(a, b)
            ctype = 1 if self.shop else (0 if rnd() < 0.6 else 1)
            if self.force_legacy and not any(not x["demo"] for x in self.cats):
                ctype = 0
            name = N.CATALOG_KINDS[int(rnd() * len(N.CATALOG_KINDS))]
        return a, b, ctype, name

    def _catalog(self, kind: str, vid: int) -> None:
        w, r = self.w, self.r
        rnd = r.random
        cid = w.nid("Catalog")
        a, b, ctype, name = self._catalog_kind(kind, vid)
        comp = w.companies.get(vid)
        linked = kind == "real" and comp is not None and rnd() < 0.65
        flags = 1 if (rnd() < 0.9) else 0
        stock_mgmt = (linked and rnd() < 0.4) or (self.shop and rnd() < 0.15)
        if stock_mgmt:
            flags |= 2
        pct = None
        if self.shop and rnd() < 0.1:
            flags |= 4
            pct = 5.0
        has_pay = self.has_payments if self.shop else (rnd() < 0.75)
        start = self.md_start[a] - (5 + int(rnd() * 20)) * DAY
        end = self.md_start[b] + int(rnd() * 6) * DAY
        old = end < minute_of_date(2020, 1, 1)
        coord = self.members[int(rnd() * len(self.members))] if rnd() < 0.9 else w.pick_user(rnd)
        absences = (not self.shop and ctype == 0 and rnd() < 0.4)
        c = {"id": cid, "type": ctype, "a": a, "b": b, "vid": vid, "linked": linked, "demo": kind == "demo",
             "has_pay": has_pay, "pct": pct or 0.0, "old": old, "coord": coord, "products": [],
             "abs_max": (2 + int(rnd() * 3)) if absences else 0, "name": name}
        self.add["Catalog"]((
            cid, name if kind == "demo" else f"{name} - {N.FARM_SUFFIXES[vid % len(N.FARM_SUFFIXES)][3:]}"[:64],
            ctype, coord, vid, day_start(start), day_end(end),
            "Contrat de la saison.\nPaiement par chèque à l'ordre du producteur." if rnd() < 0.4 else None,
            self.gid, int(rnd() * 3), flags, pct, "Frais de gestion" if pct else None,
            (7 if rnd() < 0.5 else None) if self.shop else None,
            (24 if rnd() < 0.7 else None), (1 if rnd() < 0.2 else None) if self.c21 else None,
            None if (self.c21 and rnd() < 0.8) else 0.0, None if (self.c21 and rnd() < 0.8) else 0.0,
            c["abs_max"] if (absences or not self.c21) else None,
            day_start(self.md_start[a] + 30 * DAY) if absences else None,
            day_end(self.md_start[b] - 30 * DAY) if absences else None,
            1 if has_pay else 0,
            None, None, (1 if old else 0) if w.legacy else None,
        ))
        self.cats.append(c)
        if self.shop and self.w.first_shop_catalog is None:
            self.w.first_shop_catalog = cid
        self.rights[coord].append(cid)
        self.products(c, comp, stock_mgmt, kind == "demo")
        if linked:
            self.link(c, comp)
        if self.shop and (rnd() < 0.05 or w.once("WConfig")):
            self.add["WConfig"]((w.nid("WConfig"), cid, 1 if rnd() < 0.7 else 0))
        if rnd() < 0.08:
            fid = w.new_file(r, "pdf", start)
            self.add["EntityFile"]((w.nid("EntityFile"), fid, "catalog", "document",
                                    ("public", "members", "subscribers")[int(rnd() * 3)], cid))
        if self.role_ids and rnd() < 0.15:
            rid = w.nid("VolunteerRole")
            self.add["VolunteerRole"]((rid, f"Permanence {name}"[:64], self.gid, cid))

    def products(self, c: dict, comp, stock_mgmt: bool, demo: bool) -> None:
        w, r = self.w, self.r
        rnd = r.random
        L = w.legacy
        if c["linked"]:
            pcid, items = comp["catalogs"][int(rnd() * len(comp["catalogs"]))]
            c["pcid"] = pcid
            for ref, name, price, vat, img, unit, stock in items:
                pid = w.nid("Product")
                self.add["Product"]((pid, name[:128], ref, c["id"], price, vat, None,
                                     (stock if stock is not None else 0.0) if stock_mgmt else None,
                                     unit, 1.0 if unit else None, 1 if rnd() < 0.5 else 0, 0, 0, 0, 1, 0, None,
                                     img, None, 1 if rnd() < 0.95 else 0, 0 if L else None, None))
                c["products"].append((pid, price))
            return
        n = 2 + int(rnd() * 2) if demo else max(1, int(self.jit(5.2)))
        for _ in range(n):
            pname, unit, price = N.PRODUCTS[int(rnd() * len(N.PRODUCTS))]
            pid = w.nid("Product")
            price = round(price * (0.8 + rnd() * 0.5), 2)
            multi = unit in (1, 2) and rnd() < 0.2
            img = w.new_file(r, "product", self.cdate) if rnd() < 0.06 else None
            self.add["Product"]((
                pid, pname, f"R{pid}" if rnd() < 0.2 else None, c["id"], price, 20.0 if unit == 3 else 5.5,
                "Cultivé sans pesticides.\nRécolté la veille." if rnd() < 0.3 else None,
                float(int(rnd() * 50)) if stock_mgmt else None, unit, round(0.5 + rnd() * 2, 1) if unit else None,
                1 if rnd() < 0.5 else 0, 1 if multi else 0, 1 if multi else 0, 0, 1, 0,
                0.5 if multi else None, img, 1 + int(rnd() * w.n_txp) if rnd() < 0.5 else None,
                1 if rnd() < 0.93 else 0, (1 if multi else 0) if L else None, None))
            c["products"].append((pid, price))

    def link(self, c: dict, comp: dict) -> None:
        """RemoteCatalog + the producer's users as ContractAdmin of this catalog."""
        w, r = self.w, self.r
        rnd = r.random
        disabled = [p for p, _ in c["products"] if rnd() < 0.1]
        if w.quota("text:RemoteCatalog.disabledProducts", 1):
            disabled.append(10_000_000 + c["id"])  # a product id that does not exist
            w.defects["dangling_text:RemoteCatalog.disabledProducts"] += 1
        self.add["RemoteCatalog"]((c["id"], c["pcid"], 1 if rnd() < 0.2 else 0,
                                   ",".join(map(str, disabled)) if disabled else None))
        for u in comp["users"]:
            self.rights[u].append(c["id"])
            if comp["captive"]:
                self.rights[u].append("captive")
        if rnd() < 0.3:
            self.add["PNotif"]((w.nid("PNotif"), comp["id"], self.gid, self.contact, 0,
                                f"Demande de catalogue de {self.name}",
                                hxb({"catalogId": c["pcid"], "userId": self.contact,
                                     "message": "Bonjour", "catalogType": c["type"]}),
                                dt(self.md_start[c["a"]] - 20 * DAY)))

    def multidistribs(self) -> None:
        """One multidistrib per distribution day, the distributions of the catalogs open that
        day, the Mangopay payouts of a shop."""
        self.md_ids = []
        self.md_dists: list[list[tuple[int, dict]]] = []  # per md: (distributionId, catalog)
        for i, start in enumerate(self.md_start):
            self._multidistrib(i, start)

    def _multidistrib(self, i: int, start: int) -> None:
        w, r = self.w, self.r
        rnd = r.random
        c21 = self.c21
        n_places = len(self.place_ids)
        mid = w.nid("MultiDistrib")
        self.md_ids.append(mid)
        place = self.place_ids[0] if (n_places == 1 or rnd() < 0.8) else \
            self.place_ids[int(rnd() * n_places)]
        ostart = start - 7 * DAY
        oend = start - DAY
        roles = None
        if self.role_ids and rnd() < 0.8:
            roles = [x for x in self.role_ids if rnd() < 0.7] or self.role_ids[:1]
            if self.target and w.quota("text:MultiDistrib.volunteerRolesIds", 2):
                roles = roles + [10_000_000 + mid]
                w.defects["dangling_text:MultiDistrib.volunteerRolesIds"] += 1
        past = start < END
        slots = None
        if self.shop and rnd() < 0.05:
            slots = js([{"id": 0, "start": dt(start), "end": dt(start + 30),
                         "registeredUserIds": [self.members[0]], "selectedUserIds": []}])
        os_ = dt(ostart) if (not c21 or rnd() < 0.85) else None
        oe = dt(oend) if (not c21 or rnd() < 0.85) else None
        if c21 and os_ is None and w.quota("zero:MultiDistrib.orderStartDate", 1):
            os_ = w.zero("MultiDistrib.orderStartDate", os_ or dt(ostart))
        self.add["MultiDistrib"]((
            mid, dt(start), dt(start + 120), os_, oe,
            hxb("default") if c21 and self.shop and rnd() < 0.1 else None,
            b"n" if c21 and rnd() < 0.05 else None, None, None, slots, self.gid, place,
            self.cycle_ids[0] if self.cycle_ids and rnd() < 0.5 else None,
            round(rnd() * 50, 2) if self.shop else 0.0,
            ",".join(map(str, roles)) if roles else None,
            (1 if past and rnd() < 0.7 else 0) if self.shop else None,
            "VALIDATED" if (self.shop and past and rnd() < 0.7) else "NOT_VALIDATED",
            dt(start + DAY) if (self.shop and past and rnd() < 0.5) else None,
            None, None,
        ))
        dists = self._distributions(i, mid, place, start, ostart, oend, past)
        self.md_dists.append(dists)
        if self.mangopay and past and (rnd() < 0.25 or w.once("MangopayGroupPayOut")):
            self._payouts(mid, dists)

    def _distributions(self, i: int, mid: int, place: int, start: int, ostart: int, oend: int,
                       past: bool) -> list[tuple[int, dict]]:
        """The distributions of the catalogs open at distribution day ``i``."""
        w = self.w
        rnd = self.r.random
        c21, L = self.c21, w.legacy
        dists = []
        for c in self.cats:
            if c["a"] <= i <= c["b"] and rnd() < 0.97:
                did = w.nid("Distribution")
                d_os = dt(ostart) if (not c21 or rnd() < 0.9) else None
                self.add["Distribution"]((
                    did, c["id"], mid, place, dt(start), dt(start + 120), d_os, dt(oend),
                    (1 if past else 0) if L else None, None,
                    self.members[0] if L and rnd() < 0.05 else None, None, None, None, None, None))
                dists.append((did, c))
        return dists

    def _payouts(self, mid: int, dists: list[tuple[int, dict]]) -> None:
        """A shop's Mangopay payout of a distribution day, and its vendors'."""
        w = self.w
        rnd = self.r.random
        self.add["MangopayGroupPayOut"]((w.nid("MangopayGroupPayOut"), mid, 50000000 + mid,
                                         hxb({"Id": 50000000 + mid, "Status": "SUCCEEDED"})
                                         if rnd() < 0.5 else None))
        for _, c in dists:
            comp = w.companies.get(c["vid"])
            if comp is not None and (comp["id"], mid) not in w.vendor_payouts and (
                    rnd() < 0.5 or w.once("MangopayVendorPayOut")):
                w.vendor_payouts.add((comp["id"], mid))
                self.add["MangopayVendorPayOut"]((comp["id"], str(60000000 + mid), f"md{mid}",
                                                  f"REF{mid}"))
