"""The rows of the whole dump outside the groups: users, vendors and producer-space companies,
technical and legacy tables (mixins of ``world.World``)."""

from __future__ import annotations

import random

from . import names as N
from .values import (
    DAY,
    END,
    _ascii,
    d_,
    day_end,
    day_start,
    dt,
    hxb,
    js,
)


class PeopleGen:
    """The users of the dump (mixed into World)."""

    def gen_users(self) -> None:
        """The admin (user 1), then every user, a few of them with the defects of real dumps."""
        r = self.rng("users")
        add = self.add["User"]
        # dirty: two users whose addresses differ only by case
        case_pair = (7, 8) if self.dirty else None
        zero_users = {9, 10} if self.dirty else set()
        add((1, "fr", "%032x" % r.getrandbits(128), "$2b$10$" + "%053x" % r.getrandbits(212), 1,
             "Admin", "CAGETTE", "admin@cagette.net", None, None, None, None, None, None, None,
             None, None, None, None, None, dt(0), dt(END - 3 * DAY), 2, 3, None, None, None,
             None, None))
        self.emails[1] = "admin@cagette.net"
        self.shared_person = self.shared_people()
        for uid in range(2, self.n_users + 1):
            self._user(r, uid, case_pair, zero_users)
        if self.dirty:
            self.defects["legacy_columns:User"] += 1

    def shared_people(self) -> dict[int, int]:
        """uid -> person number of the users taken from the pool common to every database
        (``shared_users``): persons 1..m, m = round(shared_users * (n_users - 1)), at uids drawn
        from the seed. Two databases share exactly min(m1, m2) of these e-mail addresses."""
        m = int(round(self.shared_users * (self.n_users - 1)))
        if m <= 0:
            return {}
        uids = self.rng("shared-users").sample(range(2, self.n_users + 1), m)
        return {u: p for p, u in enumerate(uids, 1)}

    def _user(self, r: random.Random, uid: int, case_pair, zero_users: set[int]) -> None:
        rnd = r.random
        add = self.add["User"]
        fn, ln, doms, cities = N.FIRST_NAMES, N.LAST_NAMES, N.EMAIL_DOMAINS, N.CITIES
        legacy = self.legacy
        nf, nl, nd, nc = len(fn), len(ln), len(doms), len(cities)
        f = fn[int(rnd() * nf)]
        last = ln[int(rnd() * nl)]
        dom = doms[int(rnd() * nd)]
        email = f"{_ascii(f)}.{_ascii(last)}{uid}@{dom}".lower()
        person = self.shared_person.get(uid)
        if person is not None:  # after the draws above: the stream is the same with or without
            f, last, email = shared_identity(person)
        couple = rnd() < 0.12
        city, zipc = cities[int(rnd() * nc)]
        cdate = int(rnd() * (END - 10 * DAY))
        ldate = cdate + int(rnd() * (END - cdate)) if rnd() < 0.9 else None
        email2 = None
        f2 = l2 = None
        if couple:
            f2 = fn[int(rnd() * nf)]
            l2 = last if rnd() < 0.5 else ln[int(rnd() * nl)]
            email2 = f"{_ascii(f2)}.{_ascii(l2)}{uid}b@{dom}".lower()
        if case_pair and uid == case_pair[1]:
            # same address as user 7 but capitalised: in email2 (the unique email index is
            # case-insensitive on MariaDB); a second case-only twin in `email` where allowed
            email2 = self.emails[case_pair[0]].capitalize()
            self.defects["email_case_duplicate:email2"] += 1
            if not self.mysql:
                email = self.emails[case_pair[0]].upper()
                self.defects["email_case_duplicate:email"] += 1
        self.emails[uid] = email
        phone = "0%d %02d %02d %02d %02d" % (6 + int(rnd() * 2), int(rnd() * 100), int(rnd() * 100),
                                              int(rnd() * 100), int(rnd() * 100))
        birth = d_(int(rnd() * 2000) * DAY) if rnd() < 0.15 else None
        cd = dt(cdate)
        ld = None if ldate is None else dt(ldate)
        if uid in zero_users:
            cd = self.zero("User.cdate", cd)
            ld = self.zero("User.ldate", ld or cd)
            birth = self.zero("User.birthDate", birth or "1980-01-01", date_only=True)
        add((
            uid, "fr", "%032x" % r.getrandbits(128) if rnd() < 0.97 else "",
            "$2b$10$" + "%053x" % r.getrandbits(212) if rnd() < 0.4 else "",
            0, f, last.upper(), email, phone, f2, l2, email2, None,
            f"{1 + int(rnd() * 120)} {N.STREETS[int(rnd() * len(N.STREETS))]}" if rnd() < 0.6 else None,
            None, zipc, city, birth, "FR" if rnd() < 0.3 else None,
            "FR" if rnd() < 0.3 else None, cd, ld, 2 if rnd() < 0.8 else 1 | 2 | 4,
            3 if rnd() < 0.7 else None, hxb({"name": "intro", "step": 2}) if rnd() < 0.05 else None,
            None, None,
            (1 if rnd() < 0.5 else 0) if legacy else None,
            d_(int(rnd() * 1500) * DAY) if legacy and rnd() < 0.2 else None,
        ))

def shared_identity(person: int) -> tuple[str, str, str]:
    """(first name, last name, e-mail) of a person of the common pool: the same for every seed,
    scale and kind; the address (``first.last.<n>@domain``) never equals an ordinary one
    (``first.last<uid>@domain``)."""
    r = random.Random(f"bascule-generate:person:{person}")
    f = N.FIRST_NAMES[int(r.random() * len(N.FIRST_NAMES))]
    last = N.LAST_NAMES[int(r.random() * len(N.LAST_NAMES))]
    dom = N.EMAIL_DOMAINS[int(r.random() * len(N.EMAIL_DOMAINS))]
    return f, last, f"{_ascii(f)}.{_ascii(last)}.{person}@{dom}".lower()


class ProducerGen:
    """The vendors and the producer space (Cagette Pro) companies (mixed into World)."""

    def gen_vendors_and_companies(self) -> None:
        """The vendors (two demo ones first), their logos and stats; every third one runs a
        producer space (a company); some companies resell other vendors."""
        r = self.rng("vendors")
        rnd = r.random
        self.vendor_ids: list[int] = []
        self.companies: dict[int, dict] = {}  # vendorId -> company
        for vid in range(1, self.n_vendors + 1):
            self._vendor(r, vid)
        if self.dirty:
            self.defects["legacy_columns:Vendor"] += 1
        # popularity order: demo vendors aside, a fixed shuffled order skewed by pick_vendor
        self.popular = self.vendor_ids[2:]
        r.shuffle(self.popular)
        # companies that resell other vendors
        for vid, comp in self.companies.items():
            if (rnd() < 0.2 or self.once("PVendorCompany")) and len(self.popular) > 3:
                others = {self.popular[int(rnd() * len(self.popular))] for _ in range(2)} - {vid}
                for o in sorted(others):
                    self.add["PVendorCompany"]((comp["id"], o))

    def _vendor(self, r: random.Random, vid: int) -> None:
        rnd = r.random
        add = self.add["Vendor"]
        city, zipc = N.CITIES[int(rnd() * len(N.CITIES))]
        if vid == 1:
            name, email, people = "Jean Martin EURL", "jean@cagette.net", "Jean Martin"
        elif vid == 2:
            name, email, people = "La ferme de la Galinette", "galinette@cagette.net", "Galinette"
        else:
            name = f"{N.FARM_WORDS[int(rnd() * len(N.FARM_WORDS))]} {N.FARM_SUFFIXES[int(rnd() * len(N.FARM_SUFFIXES))]}"
            people = f"{N.FIRST_NAMES[int(rnd() * len(N.FIRST_NAMES))]} {N.LAST_NAMES[int(rnd() * len(N.LAST_NAMES))]}"
            email = f"contact{vid}@{_ascii(name.split()[-1]).lower()}-ferme.fr"
        pro = vid > 2 and vid % 3 == 0
        cdate = int(rnd() * (END - 30 * DAY))
        image = self.new_file(r, "logo", cdate) if rnd() < 0.45 else None
        owner = self.pick_user(rnd) if (not pro and rnd() < 0.2) else None
        if self.dirty and vid == 4 and self.mysql:
            owner = self.deleted_uid
            self.dangling["Vendor.userId"] += 1
        comp_no = f"{int(rnd() * 1e9):09d}{int(rnd() * 1e5):05d}" if rnd() < 0.7 else None
        vcd = dt(cdate)
        if self.dirty and vid == 5:
            vcd = self.zero("Vendor.cdate", vcd)
        add((
            vid, name, people, 1 + int(rnd() * 30), None, None, email,
            "05 %02d %02d %02d %02d" % tuple(int(rnd() * 100) for _ in range(4)),
            f"Lieu-dit {N.FARM_SUFFIXES[int(rnd() * len(N.FARM_SUFFIXES))][3:]}", None, zipc, city,
            "France", "Maraîchage biologique en plein champ.\nVente directe." if rnd() < 0.6 else None,
            vcd, comp_no, f"FR{int(rnd() * 1e11):011d}" if comp_no and rnd() < 0.4 else None,
            5499 if comp_no else None, None,
            hxb({"siret": comp_no, "etat": "A"}) if comp_no and rnd() < 0.3 else None,
            "01.13Z" if rnd() < 0.5 else None, 1 if rnd() < 0.8 else 0, 1 if rnd() < 0.5 else None,
            None, None, 1 if rnd() < 0.6 else 0,
            "Depuis 1987, nous cultivons..." if rnd() < 0.3 else None, None,
            image, owner, None, (0 if comp_no is None and rnd() < 0.5 else None), 0,
            44.8 + rnd(), -0.6 + rnd(), 1 if rnd() < 0.3 else 0,
            int(rnd() * 50) + 1 if self.legacy else None,
            1 if self.legacy else None, (1 if rnd() < 0.1 else 0) if self.legacy else None,
        ))
        self._vendor_extras(r, vid, name, pro, image, cdate)

    def _vendor_extras(self, r: random.Random, vid: int, name: str, pro: bool, image,
                       cdate: int) -> None:
        """A vendor's files, stats, and its company when it runs a producer space."""
        rnd = r.random
        if image is not None:
            self.add["EntityFile"]((self.nid("EntityFile"), image, "vendor", "logo", None, vid))
            if rnd() < 0.3:
                f2 = self.new_file(r, "farm", cdate)
                self.add["EntityFile"]((self.nid("EntityFile"), f2, "vendor",
                                        ("portrait", "banner", "farm1", "farm2")[int(rnd() * 4)], None, vid))
        if rnd() < 0.5:
            self.add["VendorStats"]((self.nid("VendorStats"), vid, 0 if pro else 1 + int(rnd() * 3),
                                     1 if rnd() < 0.7 else 0, None, round(rnd() * 3000, 2),
                                     round(rnd() * 40000, 2), dt(END - int(rnd() * 90) * DAY)))
        self.vendor_ids.append(vid)
        if pro:
            self.gen_company(r, vid, name, cdate)
            if rnd() < 0.5 or self.once("Permalink"):
                self.add["Permalink"]((f"{_ascii(name).lower()}-{vid}", "vendor", vid))

    def gen_company(self, r: random.Random, vid: int, name: str, cdate: int) -> None:
        rnd = r.random
        cid = self.nid("CagettePro")
        users = sorted({self.pick_user(rnd) for _ in range(1 + (rnd() < 0.4))})
        for k, u in enumerate(users):
            self.add["PUserCompany"]((cid, u, 1 if k == 0 else 0, 0))
        catalogs = []
        offers = []
        for _ in range(4 + int(rnd() * 9)):
            pname, unit, price = N.PRODUCTS[int(rnd() * len(N.PRODUCTS))]
            ppid = self.nid("PProduct")
            img = self.new_file(r, "product", cdate) if rnd() < 0.5 else None
            ref = f"P{cid}-{ppid}"
            self.add["PProduct"]((ppid, pname, ref, cid, "Produit de la ferme." if rnd() < 0.5 else None,
                                  img, 1, unit, 1 if rnd() < 0.5 else 0, 0, 0, 0, 1, 0,
                                  1 + int(rnd() * self.n_txp) if rnd() < 0.6 else None,
                                  float(int(rnd() * 200)) if rnd() < 0.4 else None))
            for k in range(1 + (rnd() < 0.35)):
                oid = self.nid("POffer")
                oname = ("500 g", "1 kg", "Lot de 2", "Pièce")[int(rnd() * 4)] if k or rnd() < 0.5 else None
                oimg = img if rnd() < 0.7 else (self.new_file(r, "offer", cdate) if rnd() < 0.3 else None)
                oprice = round(price * (1 + k) * (0.8 + rnd() * 0.4), 2)
                vat = 5.5 if unit != 3 else 20.0
                stock = float(int(rnd() * 300)) if rnd() < 0.5 else None
                self.add["POffer"]((oid, oname, f"{ref}-{k + 1}", ppid, oimg, 1.0 if unit else None,
                                    oprice, vat, None, 1 if rnd() < 0.95 else 0, stock))
                full = pname if oname is None else f"{pname} - {oname}"
                offers.append((oid, f"{ref}-{k + 1}", full, oprice, vat, oimg or img, unit, stock))
        for k in range(1 + (rnd() < 0.5)):
            pcid = self.nid("PCatalog")
            start = max(0, cdate - int(rnd() * 200) * DAY)
            self.add["PCatalog"]((pcid, f"Catalogue {k + 1} {name}"[:128],
                                  f"Commande {name}"[:128] if rnd() < 0.7 else None,
                                  day_start(start), day_end(END + 365 * DAY), None if rnd() < 0.9 else vid,
                                  1, 50 + int(rnd() * 100) if rnd() < 0.3 else None, None, cid,
                                  dt(END - int(rnd() * 60) * DAY)))
            chosen = [o for o in offers if rnd() < 0.8] or offers[:1]
            items = []
            for o in chosen:
                price = round(o[3] * (1 + (0.1 if k else 0)), 2)
                self.add["PCatalogOffer"]((o[0], pcid, price))
                items.append((o[1], o[2], price, o[4], o[5], o[6], o[7]))
            catalogs.append((pcid, items))
        demo = catalogs[0][0] if rnd() < 0.3 else None
        self.add["CagettePro"]((cid, vid, demo, hxb({"5,5%": 5.5, "20%": 20.0}), 1 if rnd() < 0.2 else 0,
                                0, 1 if rnd() < 0.05 else 0, 1 if rnd() < 0.1 else 0, 0, None,
                                1 if rnd() < 0.03 else 0, dt(cdate)))
        if rnd() < 0.3 or self.once("MangopayCompany"):
            self.add["MangopayCompany"]((cid, str(80000000 + cid)))
        if rnd() < 0.25:
            for _ in range(1 + int(rnd() * 2)):
                self.add["PMessage"]((self.nid("PMessage"), users[0], cid, "clients",
                                      "Nouveautés de la saison", "Bonjour,\nvoici nos nouveautés.",
                                      dt(END - int(rnd() * 300) * DAY)))
        if self.legacy and (rnd() < 0.3 or self.once("PVendor")):
            self.add["PVendor"]((self.nid("PVendor"), name[:32], f"pv{cid}@ferme.fr", None, None, None,
                                 "33000", "Bordeaux", None, None, None, None, cid))
        self.companies[vid] = {"id": cid, "users": users, "catalogs": catalogs,
                               "captive": rnd() < 0.1, "mangopay": False}


class TechnicalGen:
    """Sessions, caches, errors, mails, configuration, legacy tables (mixed into World)."""

    def gen_technical(self) -> None:
        r = self.rng("technical")
        rnd = r.random
        for i in range(self.sz("sessions", 5)):
            uid = self.pick_user(rnd) if rnd() < 0.7 else None
            t = END - int(rnd() * 30 * DAY)
            self.add["Session"](("%032x" % r.getrandbits(128), f"192.168.{int(rnd() * 255)}.{int(rnd() * 255)}",
                                 "fr", hxb([]), dt(t), dt(t - int(rnd() * 600)),
                                 hxb({"amapId": 1 + int(rnd() * self.n_groups), "whichUser": 0}), uid))
        for i in range(self.sz("caches", 4)):
            tok = "%032x" % r.getrandbits(128)
            name = ("validation" + tok) if rnd() < 0.6 else tok
            self.add["Cache"]((name, str(self.pick_user(rnd)), dt(END + int(rnd() * 90) * DAY),
                               dt(END - int(rnd() * 30) * DAY) if rnd() < 0.8 else None))
        for name, value in (("tosVersion", "3"), ("termsOfSaleVersion", "2"), ("version", "2021.07"),
                            ("mailer", "smtp"), ("homeGroupAdminMessage", "Bienvenue sur Cagette.net !\nBonne saison."),
                            ("homeVendorMessage", ""), ("basketFixCounter", "12")):
            self.add["Variable"]((name, value))
        for i in range(self.sz("errors", 4)):
            self.add["Error"]((self.nid("Error"), dt(END - int(rnd() * 60 * DAY)),
                               "Invalid field access : name\nCalled from controller.Main.doDefault",
                               self.pick_user(rnd) if rnd() < 0.5 else None, "10.0.0.1",
                               "Mozilla/5.0 (X11; Linux x86_64)", f"/contract/order/{int(rnd() * 999)}"))
        for i in range(self.sz("jsonmails", 4)):
            uid = self.pick_user(rnd)
            t = END - int(rnd() * 90 * DAY)
            self.add["BufferedJsonMail"]((
                self.nid("BufferedJsonMail"), "Votre commande", "<p>Bonjour,</p>\n<p>Votre commande est prête.</p>",
                "Bonjour,\nvotre commande est prête.", js({"Reply-To": "noreply@cagette.net"}),
                js({"name": "Cagette.net", "email": "noreply@cagette.net", "userId": uid}),
                js([self.emails[uid]]), None, "smtp", 1, dt(t), dt(t + 5) if rnd() < 0.9 else None,
                "sent" if rnd() < 0.9 else None))
        for i in range(self.sz("mails", 3)):
            uid = self.pick_user(rnd)
            t = END - int(rnd() * 90 * DAY)
            self.add["BufferedMail"]((
                self.nid("BufferedMail"), "Distribution de jeudi", "<p>Rappel</p>", "Rappel",
                hxb({"Reply-To": "noreply@cagette.net"}), hxb({"name": "Cagette", "email": "noreply@cagette.net"}),
                hxb([{"email": self.emails[uid], "name": "x", "userId": uid}]), "smtp", 1, dt(t), dt(t + 3),
                None, None, None, 1 + int(rnd() * self.n_groups)))
        for i in range(max(3, int(365 * min(1.0, self.scale * 10)))):
            self.add["Graph"]((("basket", "user", "turnover")[i % 3], day_start(END - (i // 3) * DAY),
                               round(rnd() * 1000, 2)))
        # training courses of the hosted plugin
        comps = list(self.companies.values())
        for i in range(max(1, int(20 * self.scale)) if self.shop_groups else 0):
            cid = self.nid("Course")
            g = sorted(self.shop_groups)[i % len(self.shop_groups)]
            t = END - int(rnd() * 400) * DAY
            self.add["Course"]((cid, f"FORM-{cid}", "Formation Cagette Pro", dt(t), dt(t + 180), g,
                                self.pick_user(rnd)))
            for comp in comps[i::max(1, int(20 * self.scale))][:3]:
                self.add["CompanyCourse"]((comp["id"], cid, comp["users"][0], None, None, None, None))

    def gen_legacy_tables(self) -> None:
        r = self.rng("legacy")
        rnd = r.random
        for i in range(3):
            self.add["OrderPayment"]((i + 1, 1 + i, None, round(rnd() * 50, 2), dt(200 * DAY + i * DAY)))
            self.add["TourAttendee"]((i + 1, self.pick_user(rnd), "Visiteur", f"visiteur{i}@free.fr",
                                      "Bordeaux", dt(300 * DAY)))
        self.defects["legacy_tables"] += 1
