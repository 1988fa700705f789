"""A current Camap ("head"): what the TypeORM migrations of camap-schema.md §3.4 and the years of
use since made of the March-2023 rows, applied after the load by portable SQLAlchemy Core
statements (MariaDB, PostgreSQL, SQLite).

Every choice depends on the row id and on ``k = seed % 97`` only (never on the engine, the clock
or the order rows come back in), so the same seed gives the same rows everywhere; the residues
are chosen so that each variant appears among any 4 consecutive group ids:

* ``Group.flags``: +6144 (bits 11/12 ``AllowInformationNotifs``/``AllowAlertNotifs``, the
  migration's arithmetic add) where ``(id + k) % 4 != 0``; only +2048 (alerts off) where in
  addition ``(id + k) % 7 == 0``; unchanged (notifications turned off) where ``(id + k) % 4 == 0``.
  ``daysAfterClosingBeforeHidingDutyPeriods``: 7 where ``(id + k) % 3 == 1``, 60 where
  ``(id + k) % 6 == 2``, else the default 30. At least one group is ``disabled = 'MOVED'`` (the one
  of highest id, unless the generator already made one); every moved group has an ``extUrl``.
* ``Product``: ``stockTracking = 2`` where ``stock`` is not NULL (the migration), also on products
  given a stock where ``(id + k) % 12 == 0``; 1 (Global) where ``(id + k) % 5 == 0`` among those;
  0 (Disabled, explicit) on some stock-less products (``(id + k) % 9 == 4``), NULL elsewhere.
  ``stockTrackingPerDistrib = (id + k) % 3`` where ``stockTracking = 2``.
* ``ProductDistributionStock``: for every product with ``stockTracking = 2`` whose catalog has
  distributions: one row over the catalog's first..last distribution (AlwaysTheSame, or
  FrequencyBased with ``frequencyRatio`` 2-4), two rows splitting them (PerPeriod); ids 1..n in
  product order.
* ``Catalog.firstDistribId``: the catalog's first MultiDistrib (``min(Distribution.multiDistribId)``,
  same group) where ``(id + k) % 3 == 0``.
* ``Distribution.quantities``: 2 where ``(id + k) % 8 == 0``, 3 where ``(id + k) % 19 == 0``, else 1.
* ``VolunteerRole.enabledByDefault = 0`` where ``(id + k) % 3 == 0``.
* ``Vendor``: ``showPhone = 0`` where ``(id + k) % 4 == 1``, ``showEmail = 0`` where
  ``(id + k) % 5 == 2``; ``companyNumber`` filled on every vendor (14 digits, SIRET-like); ``userId``
  as the generator made it (some vendors' owners), plus, where ``(id + k) % 7 == 3``, the contact
  of one of the vendor's catalogs (a user that exists).
* ``NotificationMail``: a digest for one member in 6 (``UserGroup`` order), digest 1/2/11/12.
* ``migrations``: the 12 TypeORM migrations of §3.4, as Camap's dataset step writes them
  (``schema.camap.migration_rows``: Camap's own class names and timestamps).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, MetaData, and_, bindparam, case, func, insert, select, update

from bascule.load.dialects import dialect_for
from bascule.schema.camap import CAMAP_MIGRATIONS, migration_rows

__all__ = ["HEAD_MIGRATIONS", "make_head"]

#: Camap's TypeORM migrations that a current Camap has run (timestamp, name).
HEAD_MIGRATIONS = CAMAP_MIGRATIONS

# the tables make_head inserts into (with explicit ids: their sequences are set afterwards)
INSERTED = ("ProductDistributionStock", "NotificationMail", "migrations")


def make_head(conn: Connection, md: MetaData, seed: int) -> dict[str, int]:
    """Turn the loaded Camap rows into current-Camap rows (see the module docstring); returns
    the rows inserted per table."""
    k = seed % 97
    _groups(conn, md, k)
    _products(conn, md, k)
    _catalogs_and_distributions(conn, md, k)
    _vendors(conn, md, k)
    counts = {
        "ProductDistributionStock": _product_stocks(conn, md),
        "NotificationMail": _notification_mails(conn, md, k),
        "migrations": _migrations(conn, md),
    }
    dialect_for(conn).fix_sequences(conn, [md.tables[n] for n in INSERTED])
    return counts


def _groups(conn: Connection, md: MetaData, k: int) -> None:
    g = md.tables["Group"]
    m = g.c.id + k
    conn.execute(update(g).where(m % 4 != 0).values(
        flags=g.c.flags + case((m % 7 == 0, 2048), else_=6144),
        daysAfterClosingBeforeHidingDutyPeriods=case((m % 3 == 1, 7), (m % 6 == 2, 60), else_=30)))
    conn.execute(update(g).where(m % 4 == 0).values(
        daysAfterClosingBeforeHidingDutyPeriods=case((m % 3 == 1, 7), (m % 6 == 2, 60), else_=30)))
    moved = list(conn.execute(select(g.c.id).where(g.c.disabled == "MOVED")).scalars())
    last = conn.execute(select(func.max(g.c.id))).scalar()
    if not moved and last is not None and last >= 4:
        moved = [last]
    for gid in moved:  # a moved group says where it went (the groupDisabled page's button)
        conn.execute(update(g).where(g.c.id == gid).values(
            disabled="MOVED", extUrl=f"https://camap.example.org/group/{gid}"))


def _products(conn: Connection, md: MetaData, k: int) -> None:
    p = md.tables["Product"]
    m = p.c.id + k
    conn.execute(update(p).where(p.c.stock.is_not(None)).values(stockTracking=2))
    conn.execute(update(p).where(p.c.stock.is_(None), m % 12 == 0).values(
        stock=10 + p.c.id % 40, stockTracking=2))
    conn.execute(update(p).where(p.c.stockTracking == 2, m % 5 == 0).values(stockTracking=1))
    conn.execute(update(p).where(p.c.stock.is_(None), m % 9 == 4).values(stockTracking=0))
    conn.execute(update(p).where(p.c.stockTracking == 2).values(stockTrackingPerDistrib=m % 3))


def _catalogs_and_distributions(conn: Connection, md: MetaData, k: int) -> None:
    c, d, vr = md.tables["Catalog"], md.tables["Distribution"], md.tables["VolunteerRole"]
    first = select(func.min(d.c.multiDistribId)).where(d.c.catalogId == c.c.id).scalar_subquery()
    conn.execute(update(c).where((c.c.id + k) % 3 == 0).values(firstDistribId=first))
    m = d.c.id + k
    conn.execute(update(d).where(m % 8 == 0).values(quantities=2))
    conn.execute(update(d).where(m % 19 == 0, m % 8 != 0).values(quantities=3))
    conn.execute(update(vr).where((vr.c.id + k) % 3 == 0).values(enabledByDefault=0))


def _vendors(conn: Connection, md: MetaData, k: int) -> None:
    v, c = md.tables["Vendor"], md.tables["Catalog"]
    m = v.c.id + k
    conn.execute(update(v).where(m % 4 == 1).values(showPhone=0))
    conn.execute(update(v).where(m % 5 == 2).values(showEmail=0))
    owner = select(func.min(c.c.userId)).where(c.c.vendorId == v.c.id).scalar_subquery()
    conn.execute(update(v).where(v.c.userId.is_(None), m % 7 == 3).values(userId=owner))
    ids = conn.execute(select(v.c.id).where(v.c.companyNumber.is_(None)).order_by(v.c.id)).scalars()
    params = [{"vid": i, "cn": f"{(i * 104729 + k * 7919) % 10**9:09d}{i % 10**5:05d}"} for i in ids]
    if params:
        conn.execute(update(v).where(v.c.id == bindparam("vid")).values(companyNumber=bindparam("cn")),
                     params)


def _product_stocks(conn: Connection, md: MetaData) -> int:
    p, d, pds = md.tables["Product"], md.tables["Distribution"], md.tables["ProductDistributionStock"]
    products = conn.execute(
        select(p.c.id, p.c.catalogId, p.c.stock, p.c.stockTrackingPerDistrib)
        .where(p.c.stockTracking == 2).order_by(p.c.id)).all()
    dists: dict[int, list[int]] = {}
    cats = sorted({r.catalogId for r in products})
    for part in range(0, len(cats), 500):
        q = (select(d.c.catalogId, d.c.id).where(d.c.catalogId.in_(cats[part:part + 500]))
             .order_by(d.c.catalogId, d.c.date, d.c.id))
        for cid, did in conn.execute(q):
            dists.setdefault(cid, []).append(did)
    rows: list[dict] = []
    for pid, cid, stock, mode in products:
        ds = dists.get(cid)
        if not ds:
            continue
        qty = float(stock or 0)
        if mode == 2 and len(ds) >= 2:
            mid = len(ds) // 2
            spans = [(ds[0], ds[mid - 1], qty), (ds[mid], ds[-1], float(int(qty / 2)))]
        else:
            spans = [(ds[0], ds[-1], qty)]
        ratio = 2 + pid % 3 if mode == 1 else 1
        for start, end, n in spans:
            rows.append({"id": len(rows) + 1, "stockPerDistribution": n, "frequencyRatio": ratio,
                         "productId": pid, "startDistributionId": start, "endDistributionId": end})
    if rows:
        conn.execute(insert(pds), rows)
    return len(rows)


def _notification_mails(conn: Connection, md: MetaData, k: int) -> int:
    ug, g, nm = md.tables["UserGroup"], md.tables["Group"], md.tables["NotificationMail"]
    q = (select(ug.c.groupId, ug.c.userId, g.c.name).join(g, g.c.id == ug.c.groupId)
         .order_by(ug.c.groupId, ug.c.userId))
    rows = []
    t0 = datetime(2026, 3, 20, 7, 0, 0)
    for i, (gid, uid, name) in enumerate(conn.execute(q)):
        if i % 6 != k % 6:
            continue
        n = len(rows)
        digest = (1, 2, 11, 12)[n % 4]
        rows.append({
            "id": n + 1, "cdate": t0 + timedelta(hours=n), "digest": digest,
            "subject": f"[{name}] Vos notifications"[:256], "groupId": gid, "recipientId": uid,
            "htmlBody": f"<p>Bonjour,</p><p>Du nouveau dans {name}.</p>",
            "textBody": f"Bonjour,\nDu nouveau dans {name}.", "attachments": None})
    if rows:
        conn.execute(insert(nm), rows)
    return len(rows)


def _migrations(conn: Connection, md: MetaData) -> int:
    rows = migration_rows("head")
    conn.execute(insert(md.tables["migrations"]), rows)
    return len(rows)


def head_variety(conn: Connection, md: MetaData) -> dict[str, int]:
    """Counts of the head-only variants in a database (for tests and ``bascule seed``)."""
    g, p = md.tables["Group"], md.tables["Product"]
    c, v = md.tables["Catalog"], md.tables["Vendor"]

    def n(t, *where) -> int:
        return int(conn.execute(select(func.count()).select_from(t).where(and_(*where))).scalar())

    return {
        "groups with notification bits": n(g, g.c.flags.op("&")(6144) != 0),
        "groups without": n(g, g.c.flags.op("&")(6144) == 0),
        "products stockTracking=2": n(p, p.c.stockTracking == 2),
        "catalogs with firstDistribId": n(c, c.c.firstDistribId.is_not(None)),
        "vendors with userId": n(v, v.c.userId.is_not(None)),
    }
