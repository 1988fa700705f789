"""The producers who lost their producer space ("espace producteur", Cagette Pro), and the Camap
links where they now read their orders (Catalogues > Gérer > Commandes, as the announcement says).

A catalog was linked to a producer space when a source ``RemoteCatalog`` row has its id
(cagette-schema.md §5.2). The company is the ``CagettePro`` whose ``vendorId`` is the catalog's
vendor, or else ``PCatalog.companyId`` of ``RemoteCatalog.remoteCatalogId``; its users are the
``PUserCompany`` rows (disabled ones left out). Only catalogs that MOVED count (in the id mapping,
which never holds shop-mode groups; the AMAP-mode test on ``Group.flags`` is applied as well).
Upcoming distributions are those dated on or after the cutover date. Every name and e-mail is
read as a person must read it (``transform.clean.display_text``: double-encoded UTF-8 repaired),
in the notice, its CSV and the table alike.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from rich.markup import escape
from rich.table import Table as RichTable
from sqlalchemy import MetaData, Table, and_, select
from sqlalchemy.engine import Engine

from bascule.redirects.common import check_host
from bascule.redirects.mapping import IdMapping
from bascule.transform.clean import display_text

STEPS = [
    "Allez sur l'onglet Catalogues",
    "Cliquez sur le bouton \"Gérer\" de votre catalogue",
    "Allez sur l'onglet \"Commandes\" sur le menu à gauche, et cliquez sur le bouton "
    "\"Commandes\" de la date vous intéressant",
]
SHOP_MODE = 2


@dataclass
class Delivery:
    old_id: int
    new_id: int
    date: dt.datetime
    orders_url: str


@dataclass
class CatalogLinks:
    group_name: str
    old_group_id: int
    new_group_id: int | None
    catalog_name: str
    old_catalog_id: int
    new_catalog_id: int
    group_url: str
    view_url: str
    orders_url: str  # /contractAdmin/selectDistrib/{C'}: "Commandes"
    deliveries: list[Delivery] = field(default_factory=list)


@dataclass
class ProducerUser:
    old_id: int
    new_id: int | None
    first_name: str
    last_name: str
    email: str


@dataclass
class Producer:
    vendor_id: int
    new_vendor_id: int | None
    name: str
    email: str | None
    company_id: int | None
    users: list[ProducerUser] = field(default_factory=list)
    catalogs: list[CatalogLinks] = field(default_factory=list)


def _tables(engine: Engine, names: Iterable[str]) -> dict[str, Table]:
    md = MetaData()
    md.reflect(engine, only=list(names))
    return dict(md.tables)


def _producer(c, t: dict[str, Table], mapping: IdMapping, vid: int, remote_catalog: int
              ) -> Producer:
    """The producer of vendor ``vid``: its name, its producer-space company, the users who ran
    it."""
    ven, cp, pc, puc, usr = t["Vendor"], t["CagettePro"], t["PCatalog"], t["PUserCompany"], t["User"]
    v = c.execute(select(ven.c.name, ven.c.email).where(ven.c.id == vid)).mappings().first()
    company = c.execute(select(cp.c.id).where(cp.c.vendorId == vid).order_by(cp.c.id)).scalar()
    if company is None:
        company = c.execute(select(pc.c.companyId).where(pc.c.id == remote_catalog)).scalar()
    p = Producer(vendor_id=vid, new_vendor_id=mapping.get("Vendor", vid),
                 name=display_text(v["name"]) if v else f"vendor {vid}",
                 email=display_text(v["email"]) or None if v else None, company_id=company)
    if company is not None:
        uq = (select(usr.c.id, usr.c.firstName, usr.c.lastName, usr.c.email)
              .select_from(puc.join(usr, usr.c.id == puc.c.userId))
              .where(and_(puc.c.companyId == company, puc.c.disabled == 0))
              .order_by(usr.c.lastName, usr.c.firstName, usr.c.id))
        for u in c.execute(uq).mappings():
            p.users.append(ProducerUser(int(u["id"]), mapping.get("User", u["id"]),
                                        display_text(u["firstName"]),
                                        display_text(u["lastName"]), display_text(u["email"])))
    return p


def _catalog_links(c, t: dict[str, Table], mapping: IdMapping, row, new_cat: int, base: str,
                   start: dt.datetime) -> CatalogLinks:
    """The Camap links of one moved catalog, with every distribution from ``start`` on."""
    dis = t["Distribution"]
    gid = int(row["gid"])
    new_gid = mapping.get("Group", gid)
    links = CatalogLinks(
        group_name=display_text(row["gname"]), old_group_id=gid, new_group_id=new_gid,
        catalog_name=display_text(row["name"]), old_catalog_id=int(row["id"]), new_catalog_id=new_cat,
        group_url=f"{base}/group/{new_gid}" if new_gid is not None else f"{base}/home",
        view_url=f"{base}/contractAdmin/view/{new_cat}",
        orders_url=f"{base}/contractAdmin/selectDistrib/{new_cat}",
    )
    dq = (select(dis.c.id, dis.c.date).where(and_(dis.c.catalogId == row["id"], dis.c.date >= start))
          .order_by(dis.c.date, dis.c.id))
    for d in c.execute(dq).mappings():
        nd = mapping.get("Distribution", d["id"])
        if nd is None:
            continue
        links.deliveries.append(Delivery(int(d["id"]), nd, d["date"],
                                         f"{base}/contractAdmin/orders/{new_cat}?d={nd}"))
    return links


def find_producers(source: Engine, mapping: IdMapping, *, new_host: str,
                   cutover_date: dt.date, scheme: str = "https") -> list[Producer]:
    """Producers (by vendor) with at least one moved catalog that was linked to a producer space."""
    host = check_host(new_host, "new host")
    base = f"{scheme}://{host}"
    t = _tables(source, ["RemoteCatalog", "Catalog", "Group", "Vendor", "CagettePro", "PCatalog",
                         "PUserCompany", "User", "Distribution"])
    rc, cat, grp = t["RemoteCatalog"], t["Catalog"], t["Group"]
    q = (
        select(cat.c.id, cat.c.name, cat.c.vendorId, grp.c.id.label("gid"), grp.c.name.label("gname"),
               rc.c.remoteCatalogId)
        .select_from(rc.join(cat, cat.c.id == rc.c.id).join(grp, grp.c.id == cat.c.groupId))
        .where(grp.c.flags.op("&")(SHOP_MODE) == 0)
        .order_by(cat.c.vendorId, grp.c.name, cat.c.id)
    )
    producers: dict[int, Producer] = {}
    start = dt.datetime(cutover_date.year, cutover_date.month, cutover_date.day)
    with source.connect() as c:
        for row in c.execute(q).mappings():
            new_cat = mapping.get("Catalog", row["id"])
            if new_cat is None:
                continue  # not moved (excluded group, failed group...)
            vid = int(row["vendorId"])
            if vid not in producers:
                producers[vid] = _producer(c, t, mapping, vid, row["remoteCatalogId"])
            producers[vid].catalogs.append(_catalog_links(c, t, mapping, row, new_cat, base, start))
    return sorted(producers.values(), key=lambda p: (p.name.lower(), p.vendor_id))


# --- outputs ---------------------------------------------------------------------------------

CSV_HEADER = ["email", "first_name", "last_name", "vendor", "vendor_email", "group", "new_group_id",
              "catalog", "new_catalog_id", "group_url", "catalog_url", "orders_url",
              "next_distributions"]


def to_csv(producers: list[Producer]) -> str:
    """One row per (producer user, catalog), for a mail merge. A producer without any user gets
    rows addressed to the vendor's e-mail."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_HEADER)
    for p in producers:
        people = p.users or [ProducerUser(0, None, "", "", p.email or "")]
        for u in people:
            for c in p.catalogs:
                nxt = " ".join(f"{d.date:%Y-%m-%d}={d.orders_url}" for d in c.deliveries)
                w.writerow([u.email, u.first_name, u.last_name, p.name, p.email or "", c.group_name,
                            c.new_group_id if c.new_group_id is not None else "", c.catalog_name,
                            c.new_catalog_id, c.group_url, c.view_url, c.orders_url, nxt])
    return out.getvalue()


def to_json(producers: list[Producer]) -> str:
    """Every producer with its users, catalogs and links (dates ISO 8601)."""
    return json.dumps({"producers": [asdict(p) for p in producers]}, indent=2,
                      default=lambda v: v.isoformat() if isinstance(v, dt.date) else str(v)) + "\n"


def to_markdown(producers: list[Producer], *, new_host: str) -> str:
    L = [f"# Producteurs sans espace producteur sur {new_host}", "",
         "Pour retrouver vos commandes, rendez-vous sur le groupe et suivez les étapes suivantes :", ""]
    L += [f"{i}. {s}" for i, s in enumerate(STEPS, 1)]
    L.append("")
    for p in producers:
        L += [f"## {p.name}", "", f"- E-mail du producteur : {p.email or '—'}"]
        if p.users:
            L.append("- Comptes de l'espace producteur : " + ", ".join(
                f"{u.first_name} {u.last_name} <{u.email}>" for u in p.users))
        else:
            L.append("- Comptes de l'espace producteur : aucun")
        L.append("")
        for c in p.catalogs:
            L += [f"### {c.catalog_name} — {c.group_name}", "",
                  f"- Groupe : {c.group_url}",
                  f"1. Catalogues → 2. Gérer : {c.view_url}",
                  f"3. Commandes : {c.orders_url}"]
            for d in c.deliveries:
                L.append(f"   - {d.date:%d/%m/%Y} : {d.orders_url}")
            L.append("")
    if not producers:
        L.append("Aucun catalogue déplacé n'était lié à un espace producteur.")
    return "\n".join(L) + "\n"


def to_table(producers: list[Producer]):
    tb = RichTable(title="Producteurs (espace producteur perdu) — Catalogues > Gérer > Commandes")
    for col in ("Producteur", "Comptes", "Groupe", "Catalogue", "Gérer", "Commandes", "Prochaines"):
        tb.add_column(col, overflow="fold")
    for p in producers:
        users = "\n".join(f"{u.first_name} {u.last_name} <{u.email}>" for u in p.users) or "—"
        for i, c in enumerate(p.catalogs):
            tb.add_row(escape(f"{p.name}\n{p.email or ''}") if i == 0 else "",
                       escape(users) if i == 0 else "",
                       escape(f"{c.group_name} ({c.new_group_id})"),
                       escape(f"{c.catalog_name} ({c.new_catalog_id})"),
                       c.view_url, c.orders_url, str(len(c.deliveries)))
    return tb
