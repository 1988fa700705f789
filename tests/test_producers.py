"""`bascule producers` on a small hand-built Cagette source (SQLite and MariaDB) + an id mapping."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from click.testing import CliRunner
from sqlalchemy import Boolean, DateTime, Date, Float, Integer, LargeBinary, Numeric, insert

from bascule.dbutil import make_engine
from bascule.producers.notice import STEPS, find_producers, to_csv, to_markdown
from bascule.redirects.mapping import DbMapping, idmap_metadata
from bascule.schema import cagette_metadata

NEW = "camap.alilo.fr"
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
            rows.append({"table_name": kind, "old_id": old, "new_id": new,
                         "group_id": None if shared else OWNER[(kind, old)]})
    with eng.begin() as c:
        c.execute(insert(md.tables["bascule_idmap"]), rows)
        c.execute(insert(md.tables["bascule_group"]), [
            {"source_group_id": 1, "target_group_id": 1001, "name": "AMAP des Lilas", "status": "done"},
            {"source_group_id": 3, "target_group_id": 1003, "name": "AMAP du Port", "status": "done"},
            {"source_group_id": 4, "target_group_id": 1004, "name": "AMAP en échec", "status": "failed"},
        ])
    eng.dispose()


@pytest.fixture(params=["sqlite", "mysql"])
def pair(request, db_factory):
    f = db_factory(request.param)
    src, tgt = f.new("src"), f.new("tgt")
    build_source(src)
    build_target(tgt)
    return src, tgt


def test_producers_exact(pair):
    src, tgt = pair
    s, t = make_engine(src), make_engine(tgt)
    try:
        ps = find_producers(s, DbMapping(t), new_host=NEW, cutover_date=CUTOVER)
    finally:
        s.dispose()
        t.dispose()
    assert [(p.vendor_id, p.name, p.email, p.company_id) for p in ps] == [
        (10, "Ferme du Bois", "ferme@bois.example", 100),
        (11, "Miel & Co", "miel@example.org", 101),
    ]
    ferme, miel = ps
    assert [(u.first_name, u.last_name, u.email, u.new_id) for u in ferme.users] == [
        ("Bob", "DURAND", "bob@example.org", 4021), ("Alice", "MARTIN", "alice@example.org", 4020)]
    assert [(u.first_name, u.email) for u in miel.users] == [("Chloé", "chloé@example.org")]
    # shop-mode group (32), group not done (35), unlinked catalog (33): absent
    got = [(c.group_name, c.new_group_id, c.catalog_name, c.new_catalog_id, c.view_url, c.orders_url,
            [(d.new_id, d.orders_url) for d in c.deliveries]) for c in ferme.catalogs]
    assert got == [
        ("AMAP des Lilas", 1001, "Légumes Lilas", 2030, f"https://{NEW}/contractAdmin/view/2030",
         f"https://{NEW}/contractAdmin/selectDistrib/2030",
         [(3061, f"https://{NEW}/contractAdmin/orders/2030?d=3061"),
          (3062, f"https://{NEW}/contractAdmin/orders/2030?d=3062")]),
        ("AMAP du Port", 1003, "Légumes Port", 2031, f"https://{NEW}/contractAdmin/view/2031",
         f"https://{NEW}/contractAdmin/selectDistrib/2031",
         [(3063, f"https://{NEW}/contractAdmin/orders/2031?d=3063")]),
    ]
    assert [(c.catalog_name, c.group_url, c.deliveries) for c in miel.catalogs] == [
        ("Miel Lilas", f"https://{NEW}/group/1001", [])]

    rows = list(csv.DictReader(io.StringIO(to_csv(ps))))
    assert [(r["email"], r["vendor"], r["catalog"]) for r in rows] == [
        ("bob@example.org", "Ferme du Bois", "Légumes Lilas"), ("bob@example.org", "Ferme du Bois", "Légumes Port"),
        ("alice@example.org", "Ferme du Bois", "Légumes Lilas"), ("alice@example.org", "Ferme du Bois", "Légumes Port"),
        ("chloé@example.org", "Miel & Co", "Miel Lilas")]
    assert rows[0]["first_name"] == "Bob" and rows[0]["last_name"] == "DURAND"
    assert rows[0]["orders_url"] == f"https://{NEW}/contractAdmin/selectDistrib/2030"
    assert rows[0]["next_distributions"] == (f"2023-03-20=https://{NEW}/contractAdmin/orders/2030?d=3061 "
                                             f"2023-04-03=https://{NEW}/contractAdmin/orders/2030?d=3062")
    md = to_markdown(ps, new_host=NEW)
    for i, step in enumerate(STEPS, 1):
        assert f"{i}. {step}" in md
    assert "Allez sur l'onglet Catalogues" in md and "Gérer" in md and "Commandes" in md
    assert f"https://{NEW}/contractAdmin/orders/2030?d=3062" in md
    assert "Légumes boutique" not in md and "Légumes échec" not in md and "Pain" not in md


def test_producers_cli(pair, tmp_path, monkeypatch):
    from bascule import commands  # noqa: F401
    from bascule.cli import cli

    src, tgt = pair
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, ["producers", "--format", "csv"],
                           env={"BASCULE_SOURCE_URL": src, "BASCULE_TARGET_URL": tgt})
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert len(rows) == 5 and rows[-1]["catalog_url"] == f"https://{NEW}/contractAdmin/view/2034"
    out = tmp_path / "notice.md"
    r = CliRunner().invoke(cli, ["producers", "--format", "markdown", "-o", str(out), "--new-host", "camap.example.org"],
                           env={"BASCULE_SOURCE_URL": src, "BASCULE_TARGET_URL": tgt})
    assert r.exit_code == 0, r.output
    assert "https://camap.example.org/contractAdmin/selectDistrib/2031" in out.read_text()
    r = CliRunner().invoke(cli, ["producers"], env={"BASCULE_SOURCE_URL": src, "BASCULE_TARGET_URL": tgt})
    assert r.exit_code == 0 and "Ferme" in r.stdout and "Miel" in r.stdout
