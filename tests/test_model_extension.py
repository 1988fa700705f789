"""The table description is the single source: a table added to it is read, planned, loaded and
verified with the others, with nothing else to change (real MariaDB source; SQLite, MariaDB and
PostgreSQL targets, in one process and in worker processes)."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table

from bascule import api
from bascule.dbutil import make_engine
from bascule.model.tables import GROUP, MIGRATION, Ref, TableSpec

from helpers import (
    amap_and_shop,
    execute,
    idmap_entries,
    make_source,
    make_target,
    rows,
    settings_for,
)

#: A made-up table: a recipe belongs to a catalog (so to its group), may name one of its
#: products and the user who wrote it; any user it names moves with the group.
RECIPE = TableSpec("Recipe", GROUP, {
    "catalogId": Ref("Catalog"),
    "productId": Ref("Product", nullable=True),
    "userId": Ref("User", nullable=True),
}, owner="catalogId", columns=("id", "name", "catalogId", "productId", "userId"))
WITH_RECIPES = MIGRATION.with_table(RECIPE, after="Product")


def recipe_table(url: str, *, target: bool) -> None:
    md = MetaData()
    if target:  # the target's own constraints: the catalog must exist
        Table("Catalog", md, Column("id", Integer, primary_key=True))
    Table("Recipe", md,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("name", String(64), nullable=False),
          Column("catalogId", Integer, ForeignKey("Catalog.id") if target else None,
                 nullable=False),
          Column("productId", Integer, nullable=True),
          Column("userId", Integer, nullable=True))
    eng = make_engine(url)
    md.tables["Recipe"].create(eng)
    eng.dispose()


def add_recipes(src: str) -> dict[str, int]:
    """Recipes in an AMAP group (one naming a user who is no member of any group, one naming a
    product that does not exist) and one in a shop-mode group. Their source ids by name."""
    amap, shop = amap_and_shop(src)
    g = min(amap)
    cat, prod = rows(src, 'SELECT c.id, MIN(p.id) FROM "Catalog" c JOIN "Product" p ON '
                          f'p."catalogId" = c.id WHERE c."groupId" = {g} GROUP BY c.id '
                          'ORDER BY c.id LIMIT 1')[0]
    shop_cat = rows(src, f'SELECT MIN(id) FROM "Catalog" WHERE "groupId" = {min(shop)}')[0][0]
    loner = rows(src, 'SELECT MAX(id) FROM "User" u WHERE NOT EXISTS (SELECT 1 FROM '
                      '"UserGroup" ug WHERE ug."userId" = u.id)')[0][0]
    for name, c, p, u in (("soupe", cat, prod, None), ("tarte", cat, None, loner),
                          ("gratin", cat, 99_999_999, None), ("boutique", shop_cat, None, None)):
        execute(src, 'INSERT INTO "Recipe" (name, "catalogId", "productId", "userId") VALUES '
                     '(:n, :c, :p, :u)', n=name, c=c, p=p, u=u)
    ids = {n: i for i, n in rows(src, 'SELECT id, name FROM "Recipe"')}
    ids["catalog"], ids["product"], ids["loner"] = cat, prod, loner
    return ids


def new_id(tgt: str, table: str, old: int) -> int | None:
    found = [e[2] for e in idmap_entries(tgt, table) if e[1] == old]
    return found[0] if found else None


@pytest.mark.parametrize("target_kind,workers", [("sqlite", 1), ("mysql", 1),
                                                 ("postgresql", 2)])
def test_a_table_added_to_the_description_moves_and_is_verified(db_factory, tmp_path,
                                                                 target_kind, workers):
    src = make_source(db_factory("mysql"))
    tgt = make_target(db_factory(target_kind), "head")
    recipe_table(src, target=False)
    recipe_table(tgt, target=True)
    ids = add_recipes(src)
    s = settings_for(src, tgt, tmp_path, workers=workers, batch_size=20)
    rep = api.migrate(s, migration=WITH_RECIPES)
    assert rep.ok, [g.error for g in rep.failed]
    assert rep.workers == workers
    assert rep.totals()["Recipe"].insert == 3 and rep.totals()["Recipe"].dropped == 0
    got = {r[0]: r[1:] for r in rows(tgt, 'SELECT name, "catalogId", "productId", "userId" '
                                          'FROM "Recipe"')}
    assert set(got) == {"soupe", "tarte", "gratin"}  # nothing of a shop-mode group
    new_cat = new_id(tgt, "Catalog", ids["catalog"])
    assert got["soupe"] == (new_cat, new_id(tgt, "Product", ids["product"]), None)
    assert got["gratin"] == (new_cat, None, None)  # a product that does not exist: nulled
    loner = new_id(tgt, "User", ids["loner"])  # moved because a recipe names that user
    assert loner is not None and got["tarte"] == (new_cat, None, loner)
    assert any(n["table"] == "Recipe" and n["action"] == "nulled" for n in rep.as_dict()["notes"])
    ver = api.verify(s, migration=WITH_RECIPES)
    assert ver.ok, [d.line() for d in ver.differences]
    assert ver.tables["Recipe"]["source"] == ver.tables["Recipe"]["target"] == 3

    # the target changed: verify names it; the source changed: a rerun updates it
    execute(tgt, """UPDATE "Recipe" SET name = 'brûlée' WHERE name = 'soupe'""")
    ver = api.verify(s, migration=WITH_RECIPES)
    assert {(d.kind, d.table, d.column) for d in ver.differences} == {
        ("changed", "Recipe", "name")}
    execute(src, """UPDATE "Recipe" SET name = 'velouté' WHERE name = 'tarte'""")
    again = api.migrate(s, migration=WITH_RECIPES)
    assert again.totals()["Recipe"].update == 1 and again.rows_written() == 1
    assert rows(tgt, """SELECT COUNT(*) FROM "Recipe" WHERE name = 'velouté'""") == [(1,)]


def test_without_the_table_in_the_description_nothing_of_it_moves(db_factory, tmp_path):
    src = make_source(db_factory("mysql"))
    tgt = make_target(db_factory("sqlite"), "head")
    recipe_table(src, target=False)
    recipe_table(tgt, target=True)
    add_recipes(src)
    rep = api.migrate(settings_for(src, tgt, tmp_path))
    assert rep.ok and "Recipe" not in rep.totals()
    assert rows(tgt, 'SELECT COUNT(*) FROM "Recipe"') == [(0,)]
