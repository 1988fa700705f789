"""The synthetic Cagette generator (bascule.generate) and `bascule seed`, on real databases."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import date, datetime

import pytest
from sqlalchemy import MetaData, func, select, text

from bascule.dbutil import make_engine
from bascule.generate import GenerateError, generate
from bascule.load.target import dangling_foreign_keys
from bascule.schema import cagette_metadata, camap_metadata

SCALE = 0.002


# --------------------------------------------------------------------------- helpers


def _norm(v):
    if v is None:
        return None
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, float):
        return repr(v)
    return v


def checksums(url: str, shape: str, dirty: bool = False, md: MetaData | None = None
              ) -> dict[str, str]:
    """Per table: sha256 of every row (normalised, ordered by primary key); the tables of ``md``
    (default: Cagette ``shape``)."""
    md = md if md is not None else cagette_metadata(shape, legacy=dirty)
    eng = make_engine(url)
    out = {}
    try:
        with eng.connect() as c:
            for t in md.sorted_tables:
                h = hashlib.sha256()
                n = 0
                for row in c.execute(select(t).order_by(*t.primary_key.columns)):
                    h.update(repr(tuple(_norm(v) for v in row)).encode())
                    n += 1
                out[t.name] = f"{n}:{h.hexdigest()[:16]}"
    finally:
        eng.dispose()
    return out


def fk_violations(url: str, shape: str, dirty: bool = False) -> dict[str, int]:
    """For every declared FK: rows whose non-NULL value names no parent row (anti-join)."""
    md = cagette_metadata(shape, legacy=dirty)
    eng = make_engine(url)
    bad = {}
    try:
        with eng.connect() as c:
            for t in md.sorted_tables:
                for fk in t.foreign_keys:
                    parent = fk.column.table.alias("p")
                    col = t.c[fk.parent.name]
                    q = (
                        select(func.count())
                        .select_from(t.outerjoin(parent, col == parent.c[fk.column.name]))
                        .where(col.is_not(None), parent.c[fk.column.name].is_(None))
                    )
                    n = c.execute(q).scalar()
                    if n:
                        bad[f"{t.name}.{fk.parent.name}"] = n
    finally:
        eng.dispose()
    return bad


def db_counts(url: str, shape: str, dirty: bool = False) -> dict[str, int]:
    md = cagette_metadata(shape, legacy=dirty)
    eng = make_engine(url)
    try:
        with eng.connect() as c:
            return {t.name: c.execute(select(func.count()).select_from(t)).scalar() for t in md.sorted_tables}
    finally:
        eng.dispose()


def rows(url: str, sql: str, **params):
    eng = make_engine(url)
    try:
        with eng.connect() as c:
            return c.execute(text(sql), params).fetchall()
    finally:
        eng.dispose()


def q(url: str, name: str) -> str:
    return make_engine(url).dialect.identifier_preparer.quote(name)


def rights_col(shape: str) -> str:
    return "rights2" if shape == "2021" else "rights"


# --------------------------------------------------------------------------- determinism, FKs


@pytest.mark.parametrize("shape", ["2021", "2023"])
def test_deterministic_and_fk_clean(dbs, shape):
    a, b = dbs.new("gen_a"), dbs.new("gen_b")
    sa = generate(a, shape=shape, scale=SCALE, seed=7, progress=False)
    generate(b, shape=shape, scale=SCALE, seed=7, progress=False)
    assert checksums(a, shape) == checksums(b, shape)
    assert fk_violations(a, shape) == {}
    # what generate() reports is what the database holds
    counts = db_counts(a, shape)
    for t, n in sa.counts.items():
        assert counts[t] == n, t
    assert sa.defects == {} and sa.dangling == {}


def test_another_seed_gives_other_rows(sqlite_dbs):
    a, c = sqlite_dbs.new("gen_a"), sqlite_dbs.new("gen_c")
    generate(a, scale=0.001, seed=7, progress=False)
    generate(c, scale=0.001, seed=8, progress=False)
    ca, cc = checksums(a, "2023"), checksums(c, "2023")
    for t in ("User", "Group", "Catalog", "Subscription", "UserOrder", "Operation", "UserGroup"):
        assert ca[t] != cc[t], t
    assert ca["TxpProduct"] == cc["TxpProduct"]  # reference data does not depend on the seed


def test_same_rows_on_every_engine(db_factory):
    sums = {}
    for kind in ("sqlite", "mysql", "postgresql"):
        url = db_factory(kind).new("gen_x")
        generate(url, shape="2023", scale=0.001, seed=3, progress=False)
        sums[kind] = checksums(url, "2023")
    assert sums["sqlite"] == sums["mysql"] == sums["postgresql"]


def test_refuses_a_non_empty_database(sqlite_dbs):
    url = sqlite_dbs.new("gen_twice")
    generate(url, scale=0.001, progress=False)
    with pytest.raises(GenerateError, match="not empty"):
        generate(url, scale=0.001, progress=False)


# --------------------------------------------------------------------------- realism


@pytest.mark.parametrize("shape", ["2021", "2023"])
def test_relationships_are_realistic(pg_dbs, shape):
    url = pg_dbs.new("gen_real")
    st = generate(url, shape=shape, scale=0.004, seed=1, progress=False)
    G = q(url, "Group")
    groups = {g: f for g, f in rows(url, f"SELECT id, flags FROM {G}")}
    amap = {g for g, f in groups.items() if f & 2 == 0}
    shop = set(groups) - amap
    assert 0.5 <= len(amap) / len(groups) <= 0.7 and shop

    members = defaultdict(set)  # user -> groups
    ug = set()
    for u, g in rows(url, 'SELECT "userId", "groupId" FROM "UserGroup"'):
        members[u].add(g)
        ug.add((u, g))
    both = [u for u, gs in members.items() if gs & amap and gs & shop]
    several = [u for u, gs in members.items() if len(gs) > 1]
    assert both and len(several) > 10

    # past members: orders in a group without a UserGroup row
    order_groups = rows(url, """
        SELECT DISTINCT o."userId", c."groupId" FROM "UserOrder" o
        JOIN "Product" p ON p.id = o."productId" JOIN "Catalog" c ON c.id = p."catalogId" """)
    past = [(u, g) for u, g in order_groups if (u, g) not in ug]
    assert past and any(g in amap for _, g in past)

    # shared orders and subscriptions
    assert rows(url, 'SELECT count(*) FROM "UserOrder" WHERE "userId2" IS NOT NULL')[0][0] > 0
    assert rows(url, 'SELECT count(*) FROM "Subscription" WHERE "userId2" IS NOT NULL')[0][0] > 0

    # AMAP: catalogs of both types, orders belong to subscriptions, baskets numbered 1..n
    types = {t for (t,) in rows(url, f'SELECT DISTINCT c.type FROM "Catalog" c JOIN {G} g ON g.id = c."groupId" WHERE (g.flags & 2) = 0')}
    assert types == {0, 1}
    no_sub = rows(url, f"""SELECT count(*) FROM "UserOrder" o JOIN "Product" p ON p.id = o."productId"
        JOIN "Catalog" c ON c.id = p."catalogId" JOIN {G} g ON g.id = c."groupId"
        WHERE (g.flags & 2) = 0 AND o."subscriptionId" IS NULL""")[0][0]
    assert no_sub == 0
    nums = rows(url, 'SELECT "multiDistribId", min(num), max(num), count(*) FROM "Basket" GROUP BY "multiDistribId"')
    assert nums and all(lo == 1 and hi == n for _, lo, hi, n in nums)

    # operations: debts with their payments, VOrders in shop groups, memberships
    ops = rows(url, 'SELECT id, type, "relationId", "subscriptionId", "basketId", "groupId" FROM "Operation"')
    by_id = {o[0]: o for o in ops}
    assert {o[1] for o in ops} == {0, 1, 2, 3}
    for o in ops:
        if o[1] == 1:
            assert o[3] is not None and o[5] in amap
        if o[1] == 0:
            assert o[4] is not None and o[5] in shop
        if o[1] == 2 and o[2] is not None:
            assert by_id[o[2]][1] in (0, 1, 3)
    data_col = '"data2"' if shape == "2021" else '"data"'
    for typ, data in rows(url, f'SELECT type, {data_col} FROM "Operation"'):
        d = json.loads(data)
        assert {0: "basketId", 1: "subscriptionId", 2: "type", 3: "year"}[typ] in d
    assert rows(url, 'SELECT count(*) FROM "Membership" WHERE "operationId" IS NOT NULL')[0][0] > 0

    # subscriptions: defaultOrders JSON and absentDistribIds CSV name real rows
    products = {p for (p,) in rows(url, 'SELECT id FROM "Product"')}
    dists = {d for (d,) in rows(url, 'SELECT id FROM "Distribution"')}
    n_abs = 0
    for do, ab in rows(url, 'SELECT "defaultOrders", "absentDistribIds" FROM "Subscription"'):
        if do:
            assert all(i["productId"] in products for i in json.loads(do))
        if ab:
            n_abs += 1
            assert all(int(x) in dists for x in ab.split(","))
    assert n_abs > 0
    roles = {r for (r,) in rows(url, 'SELECT id FROM "VolunteerRole"')}
    csv = [v for (v,) in rows(url, 'SELECT "volunteerRolesIds" FROM "MultiDistrib" WHERE "volunteerRolesIds" IS NOT NULL')]
    assert csv and all(int(x) in roles for v in csv for x in v.split(","))
    assert rows(url, 'SELECT count(*) FROM "Volunteer"')[0][0] > 0

    # rights JSON: group admins, and producers of linked catalogs are ContractAdmin there
    rights = {}
    for u, g, r in rows(url, f'SELECT "userId", "groupId", "{rights_col(shape)}" FROM "UserGroup"'):
        rights[(u, g)] = json.loads(r) if r else []
    assert sum(1 for r in rights.values() if {"right": "GroupAdmin", "params": None} in r) >= len(groups)
    linked = rows(url, """SELECT c.id, c."groupId", pu."userId" FROM "RemoteCatalog" rc
        JOIN "Catalog" c ON c.id = rc.id JOIN "CagettePro" cp ON cp."vendorId" = c."vendorId"
        JOIN "PUserCompany" pu ON pu."companyId" = cp.id""")
    assert linked
    for cid, g, u in linked:
        params = [p for r in rights[(u, g)] if r["right"] == "ContractAdmin" for p in (r["params"] or [])]
        assert str(cid) in params
    # linked products share refs with the producer's offers; some share the offer's image File
    assert rows(url, """SELECT count(*) FROM "Product" p JOIN "RemoteCatalog" rc ON rc.id = p."catalogId"
        LEFT JOIN "POffer" o ON o.ref = p.ref WHERE o.id IS NULL""")[0][0] == 0
    assert rows(url, """SELECT count(*) FROM "Product" p JOIN "POffer" o ON o.ref = p.ref
        WHERE p."imageId" IS NOT NULL AND (p."imageId" = o."imageId" OR p."imageId" IN
        (SELECT "imageId" FROM "PProduct" WHERE "imageId" IS NOT NULL))""")[0][0] > 0
    assert rows(url, 'SELECT count(*) FROM "Catalog" WHERE (flags & 2) <> 0')[0][0] > 0

    # demo vendors in every group
    for vid, email in ((1, "jean@cagette.net"), (2, "galinette@cagette.net")):
        assert rows(url, 'SELECT email FROM "Vendor" WHERE id = :v', v=vid)[0][0] == email
        having = {g for (g,) in rows(url, 'SELECT DISTINCT "groupId" FROM "Catalog" WHERE "vendorId" = :v', v=vid)}
        assert having == set(groups)
    # vendors shared by several groups, places both ways, files in use
    assert rows(url, 'SELECT max(n) FROM (SELECT "vendorId", count(DISTINCT "groupId") n FROM "Catalog" WHERE "vendorId" > 2 GROUP BY "vendorId") x')[0][0] > 1
    assert rows(url, f'SELECT count(*) FROM {G} g JOIN "Place" p ON p.id = g."placeId" WHERE p."groupId" = g.id')[0][0] == len(groups)
    for col in ('"Group"."imageId"', '"Product"."imageId"', '"Vendor"."imageId"'):
        t = col.split(".")[0]
        assert rows(url, f"SELECT count(*) FROM {t} WHERE {col} IS NOT NULL")[0][0] > 0
    kinds = {k for (k,) in rows(url, 'SELECT DISTINCT "entityType" FROM "EntityFile"')}
    assert kinds == {"group", "catalog", "vendor"}
    assert rows(url, "SELECT rights FROM \"User\" WHERE id = 1")[0][0] == 1
    # every feature table has rows, even at this scale
    empty = {t for t, n in st.counts.items() if n == 0}
    assert empty == set(), empty
    if shape == "2021":
        assert st.counts["TmpBasket"] > 0
    else:
        assert rows(url, "SELECT count(*) FROM \"Basket\" WHERE status = 'OPEN'")[0][0] > 0


# --------------------------------------------------------------------------- dirty sources


HEX_UTF8 = r"^(..)*C3(A0|A2|A7|A8|A9|AA|AB|AE|AF|B4|B6|B9|BB|BC|89|8B)"
HEX_LATIN1 = r"^(..)*(E0|E2|E7|E8|E9|EA|EB|EE|EF|F4|F6|F9|FB|FC|C9)"


@pytest.mark.parametrize("shape", ["2021", "2023"])
def test_dirty_mariadb_has_every_defect(mysql_dbs, shape):
    url = mysql_dbs.new("gen_dirty")
    st = generate(url, shape=shape, scale=SCALE, seed=5, dirty=True, progress=False)
    d = st.defects
    G = "`Group`"
    # zero dates, NOT NULL and NULLable columns
    for table, col in (("User", "cdate"), ("Basket", "cdate"), ("UserOrder", "date"), ("User", "ldate"),
                       ("User", "birthDate"), ("Vendor", "cdate")):
        n = rows(url, f"SELECT count(*) FROM `{table}` WHERE CAST(`{col}` AS CHAR) LIKE '0000-00-00%'")[0][0]
        assert n >= 1 and n == d[f"zero_date:{table}.{col}"], (table, col)
    # UTF-8 bytes in latin1 columns, proper latin1 in others of the same tables
    cs = dict(rows(url, """SELECT CONCAT(TABLE_NAME, '.', COLUMN_NAME), CHARACTER_SET_NAME FROM
        information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND COLUMN_NAME IN ('name', 'city')"""))
    assert cs["Group.name"] == cs["User.city"] == "latin1" and cs["File.name"] == "utf8mb4"
    moj = rows(url, f"SELECT count(*) FROM {G} WHERE HEX(name) REGEXP '{HEX_UTF8}'")[0][0]
    assert moj >= 1 and d["latin1_utf8_bytes"] >= moj
    assert rows(url, f"SELECT name FROM {G} WHERE HEX(name) REGEXP '{HEX_UTF8}' LIMIT 1")[0][0].count("Ã") >= 1
    assert rows(url, f"SELECT count(*) FROM `User` WHERE HEX(city) REGEXP '{HEX_LATIN1}'")[0][0] >= 1
    assert rows(url, f"SELECT count(*) FROM `User` WHERE HEX(city) REGEXP '{HEX_UTF8}'")[0][0] == 0
    assert d["latin1_proper"] >= 1
    # case-only e-mail duplicates
    assert rows(url, """SELECT count(*) FROM `User` a JOIN `User` b ON a.id <> b.id
        AND LOWER(a.email) = LOWER(b.email2) AND BINARY a.email <> BINARY b.email2""")[0][0] >= 1
    assert d["email_case_duplicate:email2"] == 1
    # dangling FK values, exactly the recorded ones
    assert fk_violations(url, shape, dirty=True) == st.dangling
    assert set(st.dangling) == {"UserOrder.userId2", "Subscription.userId2", "Vendor.userId",
                                "UserOrder.distributionId"}
    # dangling ids inside text
    catalogs = dict(rows(url, f"SELECT c.id, g.flags & 2 FROM Catalog c JOIN {G} g ON g.id = c.groupId"))
    missing = shop_cat = malformed = 0
    for (r,) in rows(url, f"SELECT `{rights_col(shape)}` FROM UserGroup WHERE `{rights_col(shape)}` IS NOT NULL"):
        try:
            rr = json.loads(r)
        except ValueError:
            malformed += 1
            continue
        for x in rr:
            for p in x["params"] or []:
                if int(p) not in catalogs:
                    missing += 1
                elif catalogs[int(p)]:
                    shop_cat += 1
    assert missing >= 1 and shop_cat >= 1 and malformed >= 1
    products = {p for (p,) in rows(url, "SELECT id FROM Product")}
    dists = {p for (p,) in rows(url, "SELECT id FROM Distribution")}
    bad_do = bad_abs = bad_json = 0
    for do, ab in rows(url, "SELECT defaultOrders, absentDistribIds FROM Subscription"):
        if do:
            try:
                bad_do += any(i["productId"] not in products for i in json.loads(do))
            except ValueError:
                bad_json += 1
        if ab:
            bad_abs += any(int(x) not in dists for x in ab.split(","))
    assert bad_do >= 1 and bad_abs >= 1 and bad_json >= 1
    for k in ("dangling_text:Subscription.defaultOrders", "dangling_text:Subscription.absentDistribIds",
              "dangling_text:MultiDistrib.volunteerRolesIds", "dangling_text:RemoteCatalog.disabledProducts",
              "dangling_text:UserGroup.rights.missing_catalog", "dangling_text:UserGroup.rights.shop_catalog",
              "malformed_json:UserGroup.rights", "malformed_json:Subscription.defaultOrders"):
        assert d[k] >= 1, k
    # legacy orders without subscription / basket / distribution
    assert rows(url, "SELECT count(*) FROM UserOrder WHERE subscriptionId IS NULL AND productId IN "
                f"(SELECT p.id FROM Product p JOIN Catalog c ON c.id = p.catalogId JOIN {G} g ON g.id = c.groupId "
                "WHERE (g.flags & 2) = 0)")[0][0] == d["order_without_subscription"] >= 1
    assert rows(url, "SELECT count(*) FROM UserOrder WHERE distributionId = 0")[0][0] == d["order_without_distribution"] >= 1
    if shape == "2021":
        assert rows(url, "SELECT count(*) FROM UserOrder WHERE basketId IS NULL")[0][0] == d["order_without_basket"] >= 1
    # legacy columns and tables
    for table, col in (("UserOrder", "amapId"), ("Catalog", "migrated"), ("Basket", "basketRef"),
                       ("Subscription", "isValidated"), ("Distribution", "validated"), ("User", "tos"),
                       ("Vendor", "amapId"), ("Group", "membershipPrice"), ("Product", "hasFloatQt")):
        assert rows(url, f"SELECT count(*) FROM `{table}` WHERE `{col}` IS NOT NULL")[0][0] > 0, (table, col)
    for table in ("OrderPayment", "TourAttendee", "PVendor", "CategoryGroup", "Category", "ProductCategory"):
        assert st.counts[table] > 0, table


def test_dirty_elsewhere_keeps_fks_and_text_defects(pg_dbs):
    url = pg_dbs.new("gen_dirty_pg")
    st = generate(url, shape="2023", scale=SCALE, seed=5, dirty=True, progress=False)
    assert fk_violations(url, "2023", dirty=True) == {} and st.dangling == {}
    assert not any(k.startswith("zero_date") or k.startswith("latin1") for k in st.defects)
    assert st.defects["email_case_duplicate:email"] == 1 and st.defects["malformed_json:UserGroup.rights"] >= 1
    dup = rows(url, 'SELECT count(*) FROM "User" a JOIN "User" b ON a.id < b.id AND lower(a.email) = lower(b.email)')
    assert dup[0][0] == 1


# --------------------------------------------------------------------------- Cagette output pinned


# sha256 of checksums() of every table, from the code before kind="camap" existed (896e45a):
# the bench and the tests depend on these rows staying byte-identical
CAGETTE_PINNED = {"2021": "79be20b18d543dd50299ca86", "2023": "210d9a41aef23a3805a0d1cb"}


@pytest.mark.parametrize("shape", ["2021", "2023"])
def test_cagette_output_is_pinned(sqlite_dbs, shape):
    url = sqlite_dbs.new("gen_pin")
    st = generate(url, shape=shape, scale=0.001, seed=3, progress=False)
    sums = checksums(url, shape)
    assert hashlib.sha256(json.dumps(sums, sort_keys=True).encode()).hexdigest()[:24] \
        == CAGETTE_PINNED[shape]
    assert st.kind == "cagette" and st.shared_users == 0.0


# --------------------------------------------------------------------------- Camap databases


CAGETTE_ONLY = {"TmpBasket", "Graph", "TxpCategory", "TxpSubCategory", "TxpProduct", "CagettePro",
                "PCatalog", "PCatalogOffer", "POffer", "PProduct", "PMessage", "PNotif",
                "PUserCompany", "PVendorCompany", "VendorStats", "RemoteCatalog", "Hosting",
                "Course", "CompanyCourse", "MangopayCompany", "MangopayGroupPayOut",
                "MangopayLegalUser", "MangopayLegalUserGroup", "MangopayUser",
                "MangopayVendorPayOut", "WConfig", "BufferedMail"}


def _reflected(url: str) -> dict[str, set[str]]:
    eng = make_engine(url)
    try:
        md = MetaData()
        md.reflect(eng)
        return {t.name: {c.name for c in t.c} for t in md.tables.values()}
    finally:
        eng.dispose()


@pytest.mark.parametrize("shape", ["2023", "head"])
def test_camap_schema_amap_only_fk_clean(dbs, shape):
    url = dbs.new("gen_camap")
    st = generate(url, kind="camap", shape=shape, scale=SCALE, seed=4, progress=False)
    md = camap_metadata(shape)
    assert _reflected(url) == {t.name: {c.name for c in t.c} for t in md.tables.values()}
    assert not CAGETTE_ONLY & set(_reflected(url))
    assert st.kind == "camap" and st.shape == shape
    G = q(url, "Group")
    flags = [f for (f,) in rows(url, f"SELECT flags FROM {G}")]
    assert len(flags) >= 5 and all(f & 2 == 0 for f in flags)
    # no shop-mode feature: no VOrder operation, no open cart
    assert rows(url, f"SELECT count(*) FROM {q(url, 'Operation')} WHERE type = 0")[0][0] == 0
    assert rows(url, f"SELECT count(*) FROM {q(url, 'Basket')} WHERE status = 'OPEN'")[0][0] == 0
    assert {t for (t,) in rows(url, f"SELECT DISTINCT type FROM {q(url, 'Catalog')}")} == {0, 1}
    eng = make_engine(url)
    try:
        with eng.connect() as c:
            checked, bad = dangling_foreign_keys(c)
    finally:
        eng.dispose()
    assert checked > 40 and bad == []
    counts = {t.name: rows(url, f"SELECT count(*) FROM {q(url, t.name)}")[0][0] for t in md.sorted_tables}
    for t, n in st.counts.items():
        assert counts[t] == n, t
    empty = {t for t, n in counts.items() if n == 0}
    assert empty == set(), empty
    # Message.recipients: a JSON list of e-mails (Cagette: a Haxe blob)
    recipients = [r for (r,) in rows(url, f"SELECT recipients FROM {q(url, 'Message')}") if r is not None]
    assert recipients and all(isinstance(json.loads(r)[0], str) for r in recipients)


def test_camap_head_variety(mysql_dbs):
    url = mysql_dbs.new("gen_head")
    generate(url, kind="camap", shape="head", scale=0.004, seed=2, progress=False)
    flags = [f for (f,) in rows(url, "SELECT flags FROM `Group`")]
    on = [f for f in flags if f & 6144]  # one of 4 turned notifications off, one of 7 alerts
    assert len(on) > len(flags) / 2 and any(f & 6144 == 0 for f in flags)
    assert any(f & 6144 == 6144 for f in flags) and any(f & 6144 == 2048 for f in flags)
    assert rows(url, "SELECT count(*) FROM `Group` WHERE daysAfterClosingBeforeHidingDutyPeriods <> 30")[0][0] > 0
    assert rows(url, "SELECT count(*) FROM `Group` WHERE disabled = 'MOVED' AND extUrl IS NOT NULL")[0][0] >= 1
    tracking = dict(rows(url, "SELECT COALESCE(stockTracking, -1), count(*) FROM Product GROUP BY 1"))
    assert {-1, 0, 1, 2} <= set(tracking)
    assert rows(url, "SELECT count(*) FROM Product WHERE stockTracking = 2 AND stock IS NULL")[0][0] == 0
    assert {m for (m,) in rows(url, "SELECT DISTINCT stockTrackingPerDistrib FROM Product "
                                    "WHERE stockTracking = 2")} == {0, 1, 2}
    # every ProductDistributionStock names two distributions of its product's catalog, in order
    pds = rows(url, """SELECT s.productId, p.catalogId, a.catalogId, b.catalogId, a.date <= b.date
        FROM ProductDistributionStock s JOIN Product p ON p.id = s.productId
        JOIN Distribution a ON a.id = s.startDistributionId
        JOIN Distribution b ON b.id = s.endDistributionId""")
    assert pds and all(c == ca == cb and ordered for _, c, ca, cb, ordered in pds)
    assert rows(url, "SELECT count(*) FROM ProductDistributionStock WHERE frequencyRatio > 1")[0][0] > 0
    # firstDistribId on some catalogs, a MultiDistrib of the catalog's group
    first = rows(url, """SELECT c.groupId, m.groupId FROM Catalog c
        JOIN MultiDistrib m ON m.id = c.firstDistribId""")
    assert first and all(a == b for a, b in first)
    assert rows(url, "SELECT count(*) FROM Catalog WHERE firstDistribId IS NULL")[0][0] > 0
    assert rows(url, "SELECT count(*) FROM Distribution WHERE quantities <> 1")[0][0] > 0
    assert rows(url, "SELECT count(*) FROM VolunteerRole WHERE enabledByDefault = 0")[0][0] > 0
    v = rows(url, """SELECT sum(showPhone = 0), sum(showEmail = 0), sum(companyNumber IS NULL),
        sum(userId IS NOT NULL), count(*) FROM Vendor""")[0]
    assert v[0] > 0 and v[1] > 0 and v[2] == 0 and 0 < v[3] < v[4]
    assert rows(url, "SELECT count(*) FROM Vendor v LEFT JOIN User u ON u.id = v.userId "
                     "WHERE v.userId IS NOT NULL AND u.id IS NULL")[0][0] == 0
    assert rows(url, "SELECT count(*) FROM migrations")[0][0] == 12
    assert rows(url, """SELECT count(*) FROM NotificationMail n LEFT JOIN UserGroup ug
        ON ug.groupId = n.groupId AND ug.userId = n.recipientId WHERE ug.userId IS NULL""")[0][0] == 0


def test_camap_same_rows_on_every_engine(db_factory):
    sums = {}
    for kind in ("sqlite", "mysql", "postgresql"):
        url = db_factory(kind).new("gen_camap_x")
        generate(url, kind="camap", shape="head", scale=SCALE, seed=6, progress=False)
        sums[kind] = checksums(url, "head", md=camap_metadata("head"))
        if kind == "postgresql":  # sequences follow the ids the head step inserted
            for t in ("ProductDistributionStock", "NotificationMail", "migrations"):
                nxt = rows(url, f"SELECT nextval(pg_get_serial_sequence('{q(url, t)}', 'id'))")[0][0]
                assert nxt > rows(url, f"SELECT max(id) FROM {q(url, t)}")[0][0], t
    assert sums["sqlite"] == sums["mysql"] == sums["postgresql"]
    assert sums["sqlite"]["ProductDistributionStock"].split(":")[0] != "0"


def _emails(url: str) -> dict[str, int]:
    return {e.lower(): i for i, e in rows(url, 'SELECT id, email FROM "User"')}


def test_shared_users_give_a_known_email_overlap(sqlite_dbs):
    src, tgt = sqlite_dbs.new("gen_src"), sqlite_dbs.new("gen_tgt")
    plain_src, plain_tgt = sqlite_dbs.new("gen_psrc"), sqlite_dbs.new("gen_ptgt")
    a = generate(src, scale=SCALE, seed=1, shared_users=0.3, progress=False)
    b = generate(tgt, kind="camap", shape="head", scale=0.003, seed=2, shared_users=0.3,
                 progress=False)
    generate(plain_src, scale=SCALE, seed=1, progress=False)
    generate(plain_tgt, kind="camap", shape="head", scale=0.003, seed=2, progress=False)
    # without the option, two seeds share the admin's address only
    assert set(_emails(plain_src)) & set(_emails(plain_tgt)) == {"admin@cagette.net"}
    ea, eb = _emails(src), _emails(tgt)
    m = [round(0.3 * (s.counts["User"] - 1)) for s in (a, b)]
    common = set(ea) & set(eb)
    assert len(common) == min(m) + 1 and len(eb) - len(common) > 0
    assert sum(1 for e in common if ea[e] != eb[e]) > len(common) / 2  # at other ids
    # only the names and e-mails of the shared users change (in User and where e-mails are
    # copied): the rest of the rows is the same
    ca, cp = checksums(src, "2023"), checksums(plain_src, "2023")
    assert ca["User"] != cp["User"]
    with_emails = {"User", "Message", "BufferedJsonMail", "BufferedMail"}
    assert {t: v for t, v in ca.items() if t not in with_emails} == \
        {t: v for t, v in cp.items() if t not in with_emails}


def test_camap_rejects_other_shapes_and_dirty(sqlite_dbs):
    url = sqlite_dbs.new("gen_bad")
    with pytest.raises(ValueError, match="no shape '2021'"):
        generate(url, kind="camap", shape="2021", progress=False)
    with pytest.raises(ValueError, match="no shape 'head'"):
        generate(url, kind="cagette", shape="head", progress=False)
    with pytest.raises(ValueError, match="dirty"):
        generate(url, kind="camap", dirty=True, progress=False)
    with pytest.raises(ValueError, match="unknown kind"):
        generate(url, kind="shop", progress=False)
