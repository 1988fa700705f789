"""Hand-built sample data shared by the test modules: an id mapping for the redirects, a small
Cagette source with a producer space and its id mapping for the producer notice."""

from __future__ import annotations

import datetime as dt
import socket

from sqlalchemy import Boolean, Date, DateTime, Float, Integer, LargeBinary, Numeric, insert
from zoneinfo import ZoneInfo

from bascule.dbutil import make_engine
from bascule.redirects.mapping import DictMapping, idmap_metadata
from bascule.redirects.routes import ACTIVE_ROUTES, KIND_TABLE
from bascule.schema import cagette_metadata

# -- redirects -------------------------------------------------------------------------------

OLD, NEW = "app.cagette.net", "camap.alilo.fr"
#: The source name of the hand-built id mappings (the default: old_host).
SOURCE = OLD
UTC = ZoneInfo("UTC")

# Moved ids: old 10+i → new 5000+i per kind; 777 is a shop-mode id (never in the mapping).
CODES = sorted(KIND_TABLE)
OLD_ID = {c: 10 + i for i, c in enumerate(CODES)}
NEW_ID = {c: 5000 + i for i, c in enumerate(CODES)}
SHOP_ID = 777
PASS = {"day": "2023-03-01", "type": "1", "font": "2", "sig": "0123456789abcdef0123456789abcdef",
        "token": "0123456789abcdef"}


def sample_mapping(extra: dict | None = None) -> DictMapping:
    d = {KIND_TABLE[c]: {OLD_ID[c]: NEW_ID[c], OLD_ID[c] + 1000: NEW_ID[c] + 1000} for c in CODES}
    for k, v in (extra or {}).items():
        d.setdefault(k, {}).update(v)
    return DictMapping(d)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sample_urls():
    """(route, old url, expected new path) for every active route, all ids moved."""
    for r in ACTIVE_ROUTES:
        old = r.render_old(OLD_ID, PASS)
        new = r.render_new(NEW_ID, PASS) if r.action == "redirect" else "/home"
        yield r, old, new


def target_with_mapping(url: str):
    eng = make_engine(url)
    md = idmap_metadata()
    md.create_all(eng)
    with eng.begin() as c:
        c.execute(insert(md.tables["bascule_group"]), [
            {"source": SOURCE, "source_group_id": OLD_ID["G"], "target_group_id": NEW_ID["G"],
             "name": "A", "status": "done"}])
        c.execute(insert(md.tables["bascule_idmap"]), [
            {"source": SOURCE, "table_name": KIND_TABLE[k], "old_id": OLD_ID[k],
             "new_id": NEW_ID[k],
             "group_id": None if k in ("U", "V", "F") else OLD_ID["G"]} for k in OLD_ID])
    eng.dispose()


# -- producers -------------------------------------------------------------------------------

CUTOVER = dt.date(2023, 3, 14)
T0 = dt.datetime(2022, 9, 1, 0, 0, 0)


def _filler(col):
    t = col.type
    for typ, v in ((Boolean, False), (DateTime, T0), (Date, T0.date()), (Float, 0.0), (Numeric, 0),
                   (Integer, 0), (LargeBinary, b"")):
        if isinstance(t, typ):
            return v
    try:
        if t.python_type in (bytes,):
            return b""
        if t.python_type is int:
            return 0
    except NotImplementedError:
        pass
    return ""


def put(conn, md, table, **values):
    """Insert one row, filling the NOT NULL columns not given with a neutral value."""
    tb = md.tables[table]
    row = dict(values)
    for col in tb.c:
        if col.name in row or col.nullable or col.autoincrement is True and col.primary_key and "id" in row:
            continue
        if col.server_default is not None or col.default is not None:
            continue
        row[col.name] = _filler(col)
    conn.execute(insert(tb), [row])


def build_source(url: str) -> None:
    md = cagette_metadata("2023")
    eng = make_engine(url)
    md.create_all(eng)
    with eng.begin() as c:
        for uid, fn, ln in ((20, "Alice", "MARTIN"), (21, "Bob", "DURAND"), (22, "Gone", "AWAY"),
                            (23, "Chloé", "PETIT"), (24, "Admin", "AMAP")):
            put(c, md, "User", id=uid, firstName=fn, lastName=ln, email=f"{fn.lower()}@example.org")
        for gid, name, flags in ((1, "AMAP des Lilas", 0), (2, "Boutique du coin", 2 | 16),
                                 (3, "AMAP du Port", 4), (4, "AMAP en échec", 0)):
            put(c, md, "Group", id=gid, name=name, flags=flags)
        for gid in (1, 2, 3, 4):
            put(c, md, "Place", id=40 + gid, name=f"Place {gid}", groupId=gid)
        for vid, name, email in ((10, "Ferme du Bois", "ferme@bois.example"), (11, "Miel & Co", "miel@example.org"),
                                 (12, "Simple vendeur", "simple@example.org"), (13, "Coop revendeuse", "coop@example.org")):
            put(c, md, "Vendor", id=vid, name=name, email=email)
        put(c, md, "CagettePro", id=100, vendorId=10)
        put(c, md, "CagettePro", id=101, vendorId=13)  # resells vendor 11: found through PCatalog
        put(c, md, "PCatalog", id=500, name="Légumes", companyId=100, vendorId=None)
        put(c, md, "PCatalog", id=501, name="Miel", companyId=101, vendorId=11)
        for u, comp, disabled in ((20, 100, False), (21, 100, False), (22, 100, True), (23, 101, False)):
            put(c, md, "PUserCompany", companyId=comp, userId=u, disabled=disabled)
        cats = ((30, 1, 10, "Légumes Lilas", 500), (31, 3, 10, "Légumes Port", 500),
                (32, 2, 10, "Légumes boutique", 500), (33, 1, 12, "Pain", None),
                (34, 1, 11, "Miel Lilas", 501), (35, 4, 10, "Légumes échec", 500))
        for cid, gid, vid, name, pcat in cats:
            put(c, md, "Catalog", id=cid, groupId=gid, vendorId=vid, name=name,
                startDate=T0, endDate=dt.datetime(2023, 12, 31))
            if pcat:
                put(c, md, "RemoteCatalog", id=cid, remoteCatalogId=pcat)
        put(c, md, "RemoteCatalog", id=999, remoteCatalogId=500)  # orphan link: no catalog
        for mid, gid, day in ((50, 1, dt.datetime(2023, 3, 1, 18)), (51, 1, dt.datetime(2023, 3, 20, 18)),
                              (52, 1, dt.datetime(2023, 4, 3, 18)), (53, 3, dt.datetime(2023, 3, 14, 17)),
                              (54, 2, dt.datetime(2023, 4, 3, 18)), (55, 4, dt.datetime(2023, 4, 3, 18))):
            put(c, md, "MultiDistrib", id=mid, groupId=gid, placeId=40 + gid, distribStartDate=day,
                distribEndDate=day)
        for did, cid, mid in ((60, 30, 50), (61, 30, 51), (62, 30, 52), (63, 31, 53), (64, 32, 54),
                              (65, 35, 55)):
            day = {50: (2023, 3, 1, 18), 51: (2023, 3, 20, 18), 52: (2023, 4, 3, 18), 53: (2023, 3, 14, 17),
                   54: (2023, 4, 3, 18), 55: (2023, 4, 3, 18)}[mid]
            gid = {30: 1, 31: 3, 32: 2, 35: 4}[cid]
            put(c, md, "Distribution", id=did, catalogId=cid, multiDistribId=mid, placeId=40 + gid,
                date=dt.datetime(*day), orderEndDate=dt.datetime(*day))
    eng.dispose()


MAPPING = {
    "Group": ({1: 1001, 3: 1003, 4: 1004}, None),
    "Catalog": ({30: 2030, 31: 2031, 33: 2033, 34: 2034, 35: 2035}, None),
    "Distribution": ({60: 3060, 61: 3061, 62: 3062, 63: 3063, 65: 3065}, None),
    "User": ({20: 4020, 21: 4021, 23: 4023, 24: 4024}, "shared"),
    "Vendor": ({10: 5010, 11: 5011, 12: 5012}, "shared"),
}
OWNER = {("Catalog", 30): 1, ("Catalog", 31): 3, ("Catalog", 33): 1, ("Catalog", 34): 1, ("Catalog", 35): 4,
         ("Distribution", 60): 1, ("Distribution", 61): 1, ("Distribution", 62): 1, ("Distribution", 63): 3,
         ("Distribution", 65): 4, ("Group", 1): 1, ("Group", 3): 3, ("Group", 4): 4}


def build_target(url: str) -> None:
    md = idmap_metadata()
    eng = make_engine(url)
    md.create_all(eng)
    rows = []
    for kind, (m, shared) in MAPPING.items():
        for old, new in m.items():
            rows.append({"source": SOURCE, "table_name": kind, "old_id": old, "new_id": new,
                         "group_id": None if shared else OWNER[(kind, old)]})
    with eng.begin() as c:
        c.execute(insert(md.tables["bascule_idmap"]), rows)
        c.execute(insert(md.tables["bascule_group"]), [
            {"source": SOURCE, "source_group_id": g, "target_group_id": t, "name": n, "status": st}
            for g, t, n, st in ((1, 1001, "AMAP des Lilas", "done"),
                                (3, 1003, "AMAP du Port", "done"),
                                (4, 1004, "AMAP en échec", "failed"))])
    eng.dispose()
