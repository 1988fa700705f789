"""The synthetic Cagette world: who, what and when, row by row (see ``generate.world_rows`` and
``generate.group`` for the rows themselves).

Everything comes from ``random.Random`` instances seeded from the user's seed and a fixed label
(one for the users, one for the vendors, one per group, ...), never from the global generator, the
clock or uuids: the same (seed, scale, shape, dirty) gives the same rows on every engine. Where an
engine cannot hold a dirty value (zero dates, dangling FK values, UTF-8 bytes in latin1 columns,
case-only duplicate e-mails in a case-insensitive unique index) the random stream is consumed the
same way and only the rendered value differs; see ``generate.DEFECTS_DOC``.

``amap_only`` (Camap databases): every group is AMAP mode, ``max(5, round(2500 * scale * 0.6))``
of them; ``shared_users``: see ``world_rows.PeopleGen.shared_people``.

Rows are emitted group by group as tuples in the logical order of ``specs.SPECS``; only small
per-group structures are kept (members, catalogs, distributions, open baskets), plus a few global
arrays (user e-mails, producer companies), so memory stays bounded at any scale.
"""

from __future__ import annotations

import random
from collections import defaultdict

from . import names as N
from .group import GroupGen
from .values import (
    AMAP_SHARE,
    BASE,
    ZERO_D,
    ZERO_DT,
    dt,
)
from .world_rows import PeopleGen, ProducerGen, TechnicalGen


class World(PeopleGen, ProducerGen, TechnicalGen):
    """The generator's state across groups, and the order in which rows are made."""

    def __init__(self, add, *, shape: str, scale: float, seed: int, dirty: bool, backend: str,
                 legacy: bool, on_group=None, amap_only: bool = False, shared_users: float = 0.0):
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
        self.amap_only = amap_only  # a Camap instance: the AMAP part only, no shop-mode group
        self.shared_users = shared_users
        if amap_only:
            self.n_groups = self.n_amap = max(5, int(round(BASE["groups"] * scale * AMAP_SHARE)))
        else:
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

    def run(self) -> None:
        self.gen_taxonomy()
        self.gen_users()
        self.gen_vendors_and_companies()
        self.gen_groups()
        self.gen_technical()
        if self.legacy:
            self.gen_legacy_tables()

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

    def pick_user(self, rnd) -> int:
        return 2 + int(rnd() * (self.n_users - 1))

    def pick_vendor(self, rnd) -> int:
        p = self.popular
        return p[int(len(p) * rnd() ** 2.2)]

    def gen_groups(self) -> None:
        r = self.rng("groups")
        # which groups are shop mode: a fixed share, spread over the id range
        ids = list(range(1, self.n_groups + 1))
        shop = set() if self.amap_only else set(r.sample(ids, self.n_groups - self.n_amap))
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
