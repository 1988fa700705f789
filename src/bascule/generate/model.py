"""The synthetic Cagette world: who, what and when, row by row.

Everything comes from ``random.Random`` instances seeded from the user's seed and a fixed label
(one for the users, one for the vendors, one per group, ...), never from the global generator, the
clock or uuids: the same (seed, scale, shape, dirty) gives the same rows on every engine. Where an
engine cannot hold a dirty value (zero dates, dangling FK values, UTF-8 bytes in latin1 columns,
case-only duplicate e-mails in a case-insensitive unique index) the random stream is consumed the
same way and only the rendered value differs; see ``generate.DEFECTS_DOC``.

Rows are emitted group by group as tuples in the logical order of ``specs.SPECS``; only small
per-group structures are kept (members, catalogs, distributions, open baskets), plus a few global
arrays (user e-mails, producer companies), so memory stays bounded at any scale.
"""

from __future__ import annotations

import functools
import json
import random
import unicodedata
from collections import defaultdict
from datetime import date, timedelta
from urllib.parse import quote

from . import names as N

# --------------------------------------------------------------------------- dates

EPOCH = date(2014, 1, 1)
_DAYS = [(EPOCH + timedelta(d)).isoformat() for d in range(0, 4400)]
_HMS = [f"{h:02d}:{m:02d}:00" for h in range(24) for m in range(60)]
DAY = 1440  # minutes
END = (date(2023, 3, 10) - EPOCH).days * DAY  # "now" of the dump (cutover week)
ZERO_DT = "0000-00-00 00:00:00"
ZERO_D = "0000-00-00"


def dt(m: int) -> str:
    """'YYYY-MM-DD HH:MM:SS' of a minute offset from 2014-01-01."""
    return _DAYS[m // DAY] + " " + _HMS[m % DAY]


def d_(m: int) -> str:
    return _DAYS[m // DAY]


def day_start(m: int) -> str:
    return _DAYS[m // DAY] + " 00:00:00"


def day_end(m: int) -> str:
    return _DAYS[m // DAY] + " 23:59:59"


def year_of(m: int) -> int:
    return int(_DAYS[m // DAY][:4])


def minute_of_date(y: int, mo: int, d: int) -> int:
    return (date(y, mo, d) - EPOCH).days * DAY


# --------------------------------------------------------------------------- haxe serializer


class IntMap(dict):
    """A dict serialized as a Haxe IntMap (``q...h``)."""


class HxEnum:
    def __init__(self, enum: str, ctor: str, *args):
        self.enum, self.ctor, self.args = enum, ctor, args


def hx(v) -> str:
    """haxe.Serializer format (no string cache), enough for the blobs Cagette stores."""
    if v is None:
        return "n"
    if v is True:
        return "t"
    if v is False:
        return "f"
    if isinstance(v, int):
        return "z" if v == 0 else f"i{v}"
    if isinstance(v, float):
        return f"d{v!r}"
    if isinstance(v, str):
        u = quote(v, safe="-_.!~*'()")
        return f"y{len(u)}:{u}"
    if isinstance(v, HxEnum):
        return "w" + hx(v.enum) + hx(v.ctor) + f":{len(v.args)}" + "".join(hx(a) for a in v.args)
    if isinstance(v, IntMap):
        return "q" + "".join(f":{k}{hx(x)}" for k, x in v.items()) + "h"
    if isinstance(v, dict):
        return "o" + "".join(hx(k) + hx(x) for k, x in v.items()) + "g"
    if isinstance(v, (list, tuple)):
        return "a" + "".join(hx(x) for x in v) + "h"
    raise TypeError(type(v))


def hxb(v) -> bytes:
    return hx(v).encode("utf-8")


def js(v) -> str:
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def rights_json(rights: list[tuple[str, list[int] | None]]) -> str:
    return js([{"right": r, "params": None if p is None else [str(x) for x in p]} for r, p in rights])


# --------------------------------------------------------------------------- sizes

BASE = {
    "groups": 2500, "users": 150000, "vendors": 6000, "files": 20000,
    "sessions": 3000, "caches": 800, "errors": 600, "jsonmails": 2000, "mails": 600,
}
AMAP_SHARE = 0.6
# per-group averages (calibrated so that scale 1.0 lands near the Cagette-sized counts)
MEMBERS_PER_GROUP = 95
REAL_CATALOGS_PER_GROUP = 2.9
MD_PER_GROUP = 40
SUBSCRIBERS_PER_SEASON = 7
SHOP_BASKETS_PER_MD = 5.0
MESSAGES_PER_GROUP = 5


class World:
    def __init__(self, add, *, shape: str, scale: float, seed: int, dirty: bool, backend: str,
                 legacy: bool, on_group=None):
        self.add = add  # table name -> callable(row tuple)
        self.shape = shape
        self.c21 = shape == "2021"
        self.scale = scale
        self.seed = seed
        self.dirty = dirty
        self.legacy = legacy
        self.mysql = backend == "mysql"
        self.on_group = on_group or (lambda: None)
        self.defects: dict[str, int] = defaultdict(int)
        self.dangling: dict[str, int] = defaultdict(int)  # "Table.column" -> rows (real FK columns)
        self.next_id: dict[str, int] = defaultdict(lambda: 1)
        self.n_groups = self.sz("groups", 5)
        self.n_amap = max(3, int(round(self.n_groups * AMAP_SHARE)))
        if self.n_groups - self.n_amap < 2:
            self.n_groups = self.n_amap + 2
        self.n_users = self.sz("users", 120)
        self.n_vendors = self.sz("vendors", 9)
        self.deleted_uid = self.n_users + 1  # a user deleted from the dump (dirty, MariaDB only)
        self.emails: list[str] = [""] * (self.n_users + 1)
        self.mangopay_users: set[int] = set()
        self.vendor_payouts: set[tuple[int, int]] = set()
        self._quota: dict[str, int] = defaultdict(int)
        self._once: set[str] = set()
        self.dirty_amap: tuple[int, ...] = ()

    def once(self, key: str) -> bool:
        """True the first time only: makes rare features appear at the smallest scales."""
        if key in self._once:
            return False
        self._once.add(key)
        return True

    def quota(self, key: str, n: int = 2) -> bool:
        """True for the first ``n`` calls with this key (dirty defects placed at any scale).

        Engine-independent: the decision never depends on the backend, only the rendering does."""
        if not self.dirty or self._quota[key] >= n:
            return False
        self._quota[key] += 1
        return True

    # ----------------------------------------------------------------- helpers

    def sz(self, key: str, minimum: int) -> int:
        return max(minimum, int(round(BASE[key] * self.scale)))

    def rng(self, label: str) -> random.Random:
        return random.Random(f"bascule-generate:{self.seed}:{label}")

    def nid(self, table: str) -> int:
        i = self.next_id[table]
        self.next_id[table] = i + 1
        return i

    def new_file(self, r: random.Random, kind: str, when: int) -> int:
        fid = self.nid("File")
        if kind == "pdf":
            name = r.choice(("contrat", "reglement", "charte", "statuts", "planning")) + f"-{fid}.pdf"
            data = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + r.randbytes(48 + int(r.random() * 200)) + b"\n%%EOF\n"
        else:
            ext = "png" if kind == "png" else "jpg"
            name = f"{kind}-{fid}.{ext}"
            head = b"\x89PNG\r\n\x1a\n" if ext == "png" else b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
            data = head + r.randbytes(64 + int(r.random() * 400))
        self.add["File"]((fid, name, dt(when), data))
        return fid

    def zero(self, key: str, value: str, *, date_only: bool = False) -> str:
        """A zero date on MariaDB (dirty), the given value elsewhere; counted."""
        if not self.mysql:
            return value
        self.defects[f"zero_date:{key}"] += 1
        return ZERO_D if date_only else ZERO_DT

    # ----------------------------------------------------------------- entry point

    def run(self) -> None:
        self.gen_taxonomy()
        self.gen_users()
        self.gen_vendors_and_companies()
        self.gen_groups()
        self.gen_technical()
        if self.legacy:
            self.gen_legacy_tables()

    # ----------------------------------------------------------------- taxonomy

    def gen_taxonomy(self) -> None:
        r = random.Random("bascule-generate:taxonomy")  # reference data: the same for every seed
        cats = ("Fruits et légumes", "Crèmerie", "Boucherie", "Boulangerie", "Épicerie",
                "Boissons", "Hygiène", "Traiteur", "Poissonnerie", "Plants et fleurs", "Autres")
        sub = 0
        for i, c in enumerate(cats, 1):
            self.add["TxpCategory"]((i, f"cat{i}.png", i, c))
            for j in range(6):
                sub += 1
                self.add["TxpSubCategory"]((sub, f"{c} - {j + 1}", i, j))
        self.n_txp = 679
        for p in range(1, self.n_txp + 1):
            base = N.PRODUCTS[p % len(N.PRODUCTS)][0]
            self.add["TxpProduct"]((p, base if p < 679 else "Autres", 1 + int(r.random() * sub)))

    # ----------------------------------------------------------------- users

    def gen_users(self) -> None:
        r = self.rng("users")
        rnd = r.random
        add = self.add["User"]
        fn, ln, doms, cities = N.FIRST_NAMES, N.LAST_NAMES, N.EMAIL_DOMAINS, N.CITIES
        legacy = self.legacy
        nf, nl, nd, nc = len(fn), len(ln), len(doms), len(cities)
        # dirty: two users whose addresses differ only by case
        case_pair = (7, 8) if self.dirty else None
        zero_users = {9, 10} if self.dirty else set()
        add((1, "fr", "%032x" % r.getrandbits(128), "$2b$10$" + "%053x" % r.getrandbits(212), 1,
             "Admin", "CAGETTE", "admin@cagette.net", None, None, None, None, None, None, None,
             None, None, None, None, None, dt(0), dt(END - 3 * DAY), 2, 3, None, None, None,
             None, None))
        self.emails[1] = "admin@cagette.net"
        for uid in range(2, self.n_users + 1):
            f = fn[int(rnd() * nf)]
            last = ln[int(rnd() * nl)]
            dom = doms[int(rnd() * nd)]
            email = f"{_ascii(f)}.{_ascii(last)}{uid}@{dom}".lower()
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
        if self.dirty:
            self.defects["legacy_columns:User"] += 1

    def pick_user(self, rnd) -> int:
        return 2 + int(rnd() * (self.n_users - 1))

    # ----------------------------------------------------------------- vendors, producer space

    def gen_vendors_and_companies(self) -> None:
        r = self.rng("vendors")
        rnd = r.random
        add = self.add["Vendor"]
        self.vendor_ids: list[int] = []
        self.companies: dict[int, dict] = {}  # vendorId -> company
        n = self.n_vendors
        for vid in range(1, n + 1):
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

    def pick_vendor(self, rnd) -> int:
        p = self.popular
        return p[int(len(p) * rnd() ** 2.2)]

    # ----------------------------------------------------------------- groups

    def gen_groups(self) -> None:
        r = self.rng("groups")
        # which groups are shop mode: a fixed share, spread over the id range
        ids = list(range(1, self.n_groups + 1))
        shop = set(r.sample(ids, self.n_groups - self.n_amap))
        self.shop_groups = shop
        self.dirty_amap = tuple(sorted(set(ids) - shop)[:3]) if self.dirty else ()
        self.shop_catalogs: list[int] = []  # a few catalog ids of shop groups (dirty rights)
        self.first_shop_catalog: int | None = None
        self.weights = {g: min(4.0, r.lognormvariate(0, 0.55)) for g in ids}
        mean = sum(self.weights.values()) / len(ids)
        for g in ids:
            self.weights[g] /= mean
        # groups are generated shop-first so that dirty AMAP rights can name a shop catalog
        for gid in sorted(ids, key=lambda g: (g not in shop, g)):
            GroupGen(self, gid, gid in shop).run()
            self.on_group()

    # ----------------------------------------------------------------- technical tables

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
        for i in range(max(1, int(20 * self.scale))):
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


class GroupGen:
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

    # ----------------------------------------------------------------- flow

    def run(self) -> None:
        w, r = self.w, self.r
        rnd = r.random
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
        g = self.gid
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

    # ----------------------------------------------------------------- catalogs and products

    def catalogs(self) -> None:
        w, r = self.w, self.r
        rnd = r.random
        n_md = self.n_md
        self.cats: list[dict] = []
        n_real = max(1, int(round(self.jit(REAL_CATALOGS_PER_GROUP))))
        specs = [("demo", 1), ("demo", 2)] + [("real", w.pick_vendor(rnd)) for _ in range(n_real)]
        for kind, vid in specs:
            cid = w.nid("Catalog")
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

    # ----------------------------------------------------------------- distributions

    def multidistribs(self) -> None:
        w, r = self.w, self.r
        rnd = r.random
        c21 = self.c21
        L = w.legacy
        self.md_ids = []
        self.md_dists: list[list[tuple[int, dict]]] = []  # per md: (distributionId, catalog)
        n_places = len(self.place_ids)
        cats = self.cats
        dangling_roles = self.target
        for i, start in enumerate(self.md_start):
            mid = w.nid("MultiDistrib")
            self.md_ids.append(mid)
            place = self.place_ids[0] if (n_places == 1 or rnd() < 0.8) else self.place_ids[int(rnd() * n_places)]
            ostart = start - 7 * DAY
            oend = start - DAY
            roles = None
            if self.role_ids and rnd() < 0.8:
                roles = [x for x in self.role_ids if rnd() < 0.7] or self.role_ids[:1]
                if dangling_roles and w.quota("text:MultiDistrib.volunteerRolesIds", 2):
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
            dists = []
            for c in cats:
                if c["a"] <= i <= c["b"] and rnd() < 0.97:
                    did = w.nid("Distribution")
                    d_os = dt(ostart) if (not c21 or rnd() < 0.9) else None
                    self.add["Distribution"]((
                        did, c["id"], mid, place, dt(start), dt(start + 120), d_os, dt(oend),
                        (1 if past else 0) if L else None, None,
                        self.members[0] if L and rnd() < 0.05 else None, None, None, None, None, None))
                    dists.append((did, c))
            self.md_dists.append(dists)
            if self.mangopay and past and (rnd() < 0.25 or w.once("MangopayGroupPayOut")):
                self.add["MangopayGroupPayOut"]((w.nid("MangopayGroupPayOut"), mid, 50000000 + mid,
                                                 hxb({"Id": 50000000 + mid, "Status": "SUCCEEDED"}) if rnd() < 0.5 else None))
                for _, c in dists:
                    comp = w.companies.get(c["vid"])
                    if comp is not None and (comp["id"], mid) not in w.vendor_payouts and (
                            rnd() < 0.5 or w.once("MangopayVendorPayOut")):
                        w.vendor_payouts.add((comp["id"], mid))
                        self.add["MangopayVendorPayOut"]((comp["id"], str(60000000 + mid), f"md{mid}", f"REF{mid}"))

    # ----------------------------------------------------------------- baskets

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

    # ----------------------------------------------------------------- AMAP: subscriptions and orders

    def amap_orders(self) -> None:
        w, r = self.w, self.r
        rnd = r.random
        add_sub, add_order, add_op = self.add["Subscription"], self.add["UserOrder"], self.add["Operation"]
        self.baskets: dict = {}
        self.md_num: dict = {}
        c21 = self.c21
        L = w.legacy
        members, past = self.members, self.past
        pool = members + past
        n_pool = len(pool)
        basket = self.basket
        dirty_group = self.target
        mysql_dirty = self.dirty and w.mysql
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
        n_subscribers = min(n_subscribers, n_pool)
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
                products = c["products"]
                n_products = len(products)
                for uid in subscribers:
                    if rnd() >= prob:
                        continue
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
                    # default orders
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
                        if dirty_group and w.quota("text:Subscription.defaultOrders", 2):
                            items.append({"productId": 10_000_000 + sid, "quantity": 1})
                            w.defects["dangling_text:Subscription.defaultOrders"] += 1
                        dj = js(items)
                    absent = []
                    if c["abs_max"] and len(window) >= 4 and rnd() < 0.3:
                        absent = sorted({window[int(rnd() * len(window))][1] for _ in range(min(2, c["abs_max"]))})
                    absent_csv = ",".join(map(str, absent)) if absent else None
                    if dirty_group and w.quota("text:Subscription.absentDistribIds", 2):
                        absent_csv = ",".join(map(str, absent + [10_000_000 + sid]))
                        w.defects["dangling_text:Subscription.absentDistribIds"] += 1
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
                    # orders
                    total = 0.0
                    aset = set(absent)
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
                        no_basket = legacy_orders and c21
                        b = None if no_basket else basket(uid, k, when)
                        for p, q, price in lines:
                            oid = w.nid("UserOrder")
                            amount = q * price * (1 + c["pct"] / 100)
                            total += amount
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
                            add_order((oid, uid, o_user2, q, p, price, c["pct"], 1 if when < END else 0, dist,
                                       None if b is None else b[0], None if legacy_orders else sid, odate,
                                       1 if (shared and rnd() < 0.2) else 0, self.gid if L else None))
                            if legacy_orders:
                                w.defects["order_without_subscription"] += 1
                                if b is None:
                                    w.defects["order_without_basket"] += 1
                    start_s, end_s = day_start(first_start), day_end(last_start)
                    add_sub((sid, uid, sub_user2, c["id"], start_s, end_s,
                             1 if (not c["has_pay"] and rnd() < 0.7) else 0, dj, absent_csv,
                             1 if L else None, len(absent) if L else None, None))
                    if c["has_pay"] and total > 0 and not legacy_orders:
                        self.sub_operations(sid, uid, c, total, first_start - 10 * DAY)
        self.emit_baskets()

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

    # ----------------------------------------------------------------- shop mode

    def shop_orders(self) -> None:
        w, r = self.w, self.r
        rnd = r.random
        add_order, add_op = self.add["UserOrder"], self.add["Operation"]
        self.baskets = {}
        self.md_num = {}
        members, past = self.members, self.past
        pool_n = len(members)
        L = w.legacy
        c21 = self.c21
        mean_b = SHOP_BASKETS_PER_MD * (0.4 + 0.6 * self.weight)
        for i, dists in enumerate(self.md_dists):
            if not dists:
                continue
            start = self.md_start[i]
            future = start > END
            n_b = int(self.jit(mean_b))
            users = set()
            for _ in range(n_b):
                users.add(past[int(rnd() * len(past))] if (past and rnd() < 0.05) else members[int(rnd() * pool_n)])
            offer = [(did, c, p, price) for did, c in dists for p, price in c["products"]]
            for uid in sorted(users):
                when = start - DAY - int(rnd() * 5 * DAY)
                if future and rnd() < 0.5:
                    # a cart not confirmed yet: TmpBasket (2021) / an OPEN Basket (2023)
                    items = [{"productId": offer[int(rnd() * len(offer))][2], "quantity": 1} for _ in range(1 + int(rnd() * 3))]
                    if c21:
                        self.add["TmpBasket"]((w.nid("TmpBasket"), None, dt(when), js({"products": items}),
                                               uid if rnd() < 0.9 else None, self.md_ids[i],
                                               None, None, None, self.gid if L else None))
                    else:
                        b = self.basket(uid, i, when)
                        b[6] = {"products": items}
                    continue
                b = self.basket(uid, i, when)
                for _ in range(1 + int(rnd() * 6)):
                    did, c, p, price = offer[int(rnd() * len(offer))]
                    q = float(1 + int(rnd() * 3)) if rnd() < 0.9 else round(0.3 + rnd() * 2, 2)
                    amount = q * price * (1 + c["pct"] / 100)
                    b[2] += amount
                    add_order((w.nid("UserOrder"), uid, None, q, p, price, c["pct"], 0 if future else 1, did,
                               b[0], None, dt(when), 0, self.gid if L else None))
                if self.mangopay and rnd() < 0.7:
                    vid = dists[0][1]["vid"]
                    tot = round(b[2], 2)
                    b[6] = {vid: {"amount": tot, "netAmount": round(tot * 0.97, 2), "fixedFees": 0.18,
                                  "variableFees": round(tot * 0.018, 2)}}
                    if uid not in w.mangopay_users:
                        w.mangopay_users.add(uid)
                        self.add["MangopayUser"]((uid, 30000000 + uid))
                if self.has_payments:
                    total = round(b[2], 2)
                    op = w.nid("Operation")
                    add_op((op, f"Commande du {d_(start)}", -total, dt(when), 0, None, uid, self.gid, 0,
                            hxb({"basketId": b[0]}) if when < minute_of_date(2020, 7, 31) else b"n", b[0], None,
                            js({"basketId": b[0]}), None))
                    self.balance[uid] -= total
                    if rnd() < 0.85:
                        pt = self.pay_types[int(rnd() * len(self.pay_types))]
                        pending = 1 if (pt == "onthespot" or rnd() < 0.05) else 0
                        add_op((w.nid("Operation"), f"Paiement {pt}", total, dt(when + 10), 2, op, uid, self.gid,
                                pending, b"n", None, None, js({"type": pt, "remoteOpId": f"{op}"}) if pt.startswith("mangopay") else js({"type": pt}), None))
                        if not pending:
                            self.balance[uid] += total
        if self.mangopay:
            mu = 40000000 + self.gid
            repr_ = self.legal or self.contact
            self.add["MangopayLegalUser"]((mu, self.name, None, "SOLETRADER", repr_, 70000000 + self.gid,
                                          0.18, 1.8, 0))
            self.add["MangopayLegalUserGroup"]((mu, self.gid, 90000000 + self.gid))
        self.emit_baskets()
        if L and (rnd() < 0.5 or w.once("CategoryGroup")):
            cg = w.nid("CategoryGroup")
            self.add["CategoryGroup"]((cg, "Rayons", 1, 0, self.gid))
            cat = w.nid("Category")
            self.add["Category"]((cat, "Frais", cg))
            for c in self.cats[:2]:
                for p, _ in c["products"][:2]:
                    self.add["ProductCategory"]((p, cat))

    # ----------------------------------------------------------------- memberships, volunteers, misc

    def memberships(self) -> None:
        if not self.has_membership:
            return
        w, r = self.w, self.r
        rnd = r.random
        add_op = self.add["Operation"]
        y0, y1 = year_of(self.cdate), min(2022, year_of(self.md_start[-1]))
        md_by_year: dict[int, int] = {}
        for mid, s in zip(self.md_ids, self.md_start):
            md_by_year.setdefault(year_of(s), mid)
        for uid in self.members:
            for y in range(y0, y1 + 1):
                if rnd() >= 0.25:
                    continue
                when = minute_of_date(y, 9, 1) + int(rnd() * 60) * DAY
                op_id = None
                if rnd() < 0.7:
                    op_id = w.nid("Operation")
                    add_op((op_id, f"Adhésion {y}-{y + 1}", -float(self.fee), dt(when), 3, None, uid, self.gid, 0,
                            hxb({"year": y}) if y < 2020 else b"n", None, None, js({"year": y}), None))
                    self.balance[uid] -= self.fee
                    if rnd() < 0.8:
                        add_op((w.nid("Operation"), "Paiement check", float(self.fee), dt(when + 60), 2, op_id, uid,
                                self.gid, 0, b"n", None, None, js({"type": "check"}), None))
                        self.balance[uid] += self.fee
                self.add["Membership"]((self.gid, uid, md_by_year.get(y) if rnd() < 0.3 else None, op_id,
                                        float(self.fee), y, d_(when) if rnd() < 0.9 else None))

    def volunteers(self) -> None:
        if not self.role_ids:
            return
        r = self.r
        rnd = r.random
        members = self.members
        for mid, start in zip(self.md_ids, self.md_start):
            if rnd() < 0.5:
                continue
            taken = set()
            for rid in self.role_ids:
                if rnd() < 0.6:
                    u = members[int(rnd() * len(members))]
                    if u in taken:
                        continue
                    taken.add(u)
                    self.add["Volunteer"]((u, mid, rid))

    def waiting_list(self) -> None:
        w, r = self.w, self.r
        rnd = r.random
        if self.regoption != 1 and rnd() < 0.7:
            return
        mset = set(self.members)
        seen = set()
        for _ in range(int(rnd() * 5)):
            u = w.pick_user(rnd)
            if u in mset or u in seen:
                continue
            seen.add(u)
            self.add["WaitingList"]((self.gid, u, dt(END - int(rnd() * 200) * DAY),
                                     "Bonjour,\nje souhaiterais rejoindre l'AMAP." if rnd() < 0.6 else ""))

    def documents_messages(self) -> None:
        w, r = self.w, self.r
        rnd = r.random
        if rnd() < 0.3:
            for _ in range(1 + (rnd() < 0.3)):
                fid = w.new_file(r, "pdf", self.cdate)
                self.add["EntityFile"]((w.nid("EntityFile"), fid, "group", "document",
                                        "public" if rnd() < 0.5 else "members", self.gid))
        n = int(self.jit(MESSAGES_PER_GROUP * self.weight))
        for _ in range(n):
            sender = self.members[0] if rnd() < 0.8 else self.contact
            to = [w.emails[self.members[int(rnd() * len(self.members))]] for _ in range(1 + int(rnd() * 4))]
            title = N.MESSAGE_TITLES[int(rnd() * len(N.MESSAGE_TITLES))]
            self.add["Message"]((
                w.nid("Message"), self.gid, sender if rnd() < 0.97 else None,
                ("all", "noOrders", "contract")[int(rnd() * 3)] if rnd() < 0.8 else None,
                hxb(to) if rnd() < 0.9 else None, title,
                f"Bonjour à tous,\n\n{title}.\nÀ jeudi !", dt(self.md_start[int(rnd() * self.n_md)] - 2 * DAY),
                js([]) if rnd() < 0.2 else None,
                js([{"type": "paragraph", "children": [{"text": title}]}])))

    def user_groups(self) -> None:
        w, r = self.w, self.r
        rnd = r.random
        add = self.add["UserGroup"]
        members = set(self.members)
        admins = set(self.members[: 1 + (rnd() < 0.5)])
        # producers of linked catalogs become members with ContractAdmin on their catalogs
        users = sorted(members | {u for u in self.rights if u not in members and any(
            isinstance(x, int) and self.cat_linked(x) for x in self.rights[u])})
        dirty1 = self.target
        for k, uid in enumerate(users):
            rights: list = []
            blob = None
            if uid in admins:
                rights += [("GroupAdmin", None), ("Membership", None), ("Messages", None), ("ContractAdmin", None)]
                if self.c21 and rnd() < 0.5:
                    blob = hxb([HxEnum("Right", "AmapAdmin"), HxEnum("Right", "Messages")])
            cats = [x for x in self.rights.get(uid, ()) if isinstance(x, int)]
            if "captive" in self.rights.get(uid, ()):
                rights += [("GroupAdmin", None), ("Membership", None), ("Messages", None)]
            if cats and uid not in admins:
                rights.append(("ContractAdmin", sorted(set(cats))))
            rj = rights_json(rights) if rights else None
            if dirty1 and k == 1 and w.quota("text:UserGroup.rights", 2):
                # dangling ContractAdmin params: a catalog that does not exist, one of a shop group
                extra = [10_000_000 + self.gid]
                w.defects["dangling_text:UserGroup.rights.missing_catalog"] += 1
                if w.first_shop_catalog is not None:
                    extra.append(w.first_shop_catalog)
                    w.defects["dangling_text:UserGroup.rights.shop_catalog"] += 1
                rj = rights_json(rights + [("ContractAdmin", extra)])
            if dirty1 and k == 2 and w.quota("json:UserGroup.rights", 2):
                rj = '[{"right":"GroupAdmin","params":null},{"right":"ContractAdmin","params":["'
                w.defects["malformed_json:UserGroup.rights"] += 1
            add((self.gid, uid, blob, rj, round(self.balance.get(uid, 0.0), 2) + 0.0,
                 (2019 if rnd() < 0.3 else None) if w.legacy else None))

    def cat_linked(self, cid: int) -> bool:
        for c in self.cats:
            if c["id"] == cid:
                return c["linked"]
        return False


@functools.lru_cache(maxsize=4096)
def _ascii(s: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", s) if ch.isascii() and ch.isalnum())
