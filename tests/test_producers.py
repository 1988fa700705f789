"""`bascule producers` on a small hand-built Cagette source (SQLite and MariaDB) + an id mapping."""

from __future__ import annotations

import csv
import io


from bascule.dbutil import make_engine
from bascule.producers.notice import STEPS, find_producers, to_csv, to_markdown
from bascule.redirects.mapping import DbMapping

from samples import CUTOVER, NEW


def test_producers_exact(producers_pair):
    src, tgt = producers_pair
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
