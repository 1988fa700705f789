"""The transfer: plan, migrate, verify against real MariaDB, PostgreSQL and SQLite databases."""

from __future__ import annotations

import importlib.util
import os

import pymysql
import pytest
from sqlalchemy import MetaData, select, text

from bascule import api
from bascule.dbutil import make_engine
from bascule.extract.drivers import source_engine
from bascule.extract.source import SourceReader, inspect_source
from bascule.load.apply import BEFORE_COMMIT
from bascule.load.dialects import TransactionLost
from bascule.load.target import dangling_foreign_keys

from helpers import (
    amap_and_shop,
    count,
    execute,
    idmap_entries,
    json_list,
    make_source,
    make_target,
    q,
    rows,
    settings_for,
    table_checksums,
    table_names,
)

PRODUCER_TABLES = {"RemoteCatalog", "CagettePro", "PCatalog", "PCatalogOffer", "PProduct",
                   "POffer", "PUserCompany", "PVendorCompany", "PNotif", "PMessage",
                   "VendorStats", "Hosting", "WConfig", "TmpBasket"}


def assert_text_ids_resolve(tgt):
    """Every id inside JSON/CSV columns of the target points at an existing row."""
    ids = lambda t: {r[0] for r in rows(tgt, f"SELECT id FROM {q(tgt, t)}")}  # noqa: E731
    catalogs, distribs, products = ids("Catalog"), ids("Distribution"), ids("Product")
    users, roles = ids("User"), ids("VolunteerRole")
    for (rights,) in rows(tgt, f"SELECT rights FROM {q(tgt, 'UserGroup')}"):
        for r in json_list(rights):
            for p in (r.get("params") or []) if isinstance(r, dict) else []:
                assert int(p) in catalogs, f"UserGroup.rights names catalog {p} not in target"
    for dflt, absent in rows(tgt, 'SELECT "defaultOrders", "absentDistribIds" FROM "Subscription"'):
        for e in json_list(dflt):
            assert e["productId"] in products
            if e.get("userId2") is not None:
                assert e["userId2"] in users
        for d in (absent or "").split(","):
            if d.strip():
                assert int(d) in distribs
    for (v,) in rows(tgt, 'SELECT "volunteerRolesIds" FROM "MultiDistrib"'):
        for d in (v or "").split(","):
            if d.strip():
                assert int(d) in roles


@pytest.mark.parametrize("target_kind", ["mysql", "postgresql"])
@pytest.mark.parametrize("shape,dirty,camap", [("2023", False, "2023"), ("2021", True, "head"),
                                               ("2023", True, "head")])
def test_migrate_then_verify(db_factory, tmp_path, target_kind, shape, dirty, camap):
    srcf, tgtf = db_factory("mysql"), db_factory(target_kind)
    src = make_source(srcf, shape=shape, dirty=dirty)
    tgt = make_target(tgtf, camap)
    s = settings_for(src, tgt, tmp_path)
    rep = api.migrate(s)
    assert not rep.failed, [g.error for g in rep.failed]
    ver = api.verify(s)
    assert ver.ok, [d.line() for d in ver.differences]

    amap, shop = amap_and_shop(src)
    moved = {r[0] for r in rows(tgt, "SELECT source_group_id FROM bascule_group "
                                     "WHERE status = 'done'")}
    assert moved == amap and not (moved & shop)
    assert count(tgt, "Group") == len(amap)
    # nothing of a shop-mode group: no id-map row owned by one
    owned = {e[3] for e in idmap_entries(tgt) if e[3] is not None}
    assert owned == amap
    # no producer-space table, no moved user with id 1 or site rights
    assert not (table_names(tgt) & PRODUCER_TABLES)
    assert rows(tgt, f"SELECT COUNT(*) FROM {q(tgt, 'User')} u JOIN bascule_idmap m "
                     "ON m.new_id = u.id AND m.table_name = 'User' AND m.row_hash IS NOT NULL "
                     "WHERE u.id = 1 OR u.rights <> 0") == [(0,)]
    assert_text_ids_resolve(tgt)
    # every AMAP group with all its orders
    src_orders = rows(src, 'SELECT COUNT(*) FROM "UserOrder" o JOIN "Product" p '
                           'ON p.id = o."productId" JOIN "Catalog" c ON c.id = p."catalogId" '
                           'JOIN "Group" g ON g.id = c."groupId" WHERE (g.flags & 2) = 0')[0][0]
    dropped = sum(g.tables["UserOrder"].dropped for g in rep.groups)
    assert count(tgt, "UserOrder") == src_orders - dropped
    if not dirty:
        assert dropped == 0


def test_target_with_existing_groups_is_untouched(db_factory, tmp_path):
    srcf, tgtf = db_factory("mysql"), db_factory("mysql")
    src = make_source(srcf, seed=11)
    other = make_source(srcf, seed=12)
    tgt = make_target(tgtf, "2023")
    # a first migration from another Cagette fills the target with groups whose ids overlap
    first = settings_for(other, tgt, tmp_path)
    assert not api.migrate(first).failed
    eng = make_engine(tgt)
    with eng.begin() as c:  # that target is now "someone else's" data: forget bascule's tables
        for t in ("bascule_idmap", "bascule_idblock", "bascule_run", "bascule_group",
                  "bascule_chunk"):
            c.execute(text(f"DROP TABLE {t}"))
    before = all_rows(tgt)
    assert before["Group"] and before["User"]
    s = settings_for(src, tgt, tmp_path)
    rep = api.migrate(s)
    assert not rep.failed
    assert api.verify(s).ok
    after = all_rows(tgt)
    for t, rs in before.items():  # every pre-existing row is still there, byte for byte
        assert rs <= after[t], t
    new_groups = {r[0] for r in rows(tgt, "SELECT target_group_id FROM bascule_group")}
    old_groups = {r[0] for r in before["Group"]}
    assert len(new_groups) == len(amap_and_shop(src)[0])
    assert not (new_groups & old_groups)
    assert count(tgt, "Group") == len(old_groups) + len(new_groups)


def all_rows(url):
    eng = make_engine(url)
    md = MetaData()
    md.reflect(eng)
    out = {}
    with eng.connect() as c:
        for name, t in md.tables.items():
            if not name.startswith("bascule_"):
                out[name] = {tuple(r) for r in c.execute(select(t))}
    eng.dispose()
    return out


def test_rerun_is_idempotent_and_incremental(db_factory, tmp_path):
    srcf, tgtf = db_factory("mysql"), db_factory("postgresql")
    src = make_source(srcf)
    tgt = make_target(tgtf, "head")
    s = settings_for(src, tgt, tmp_path)
    assert not api.migrate(s).failed
    once = table_checksums(tgt, exclude_prefix="bascule_")
    rep2 = api.migrate(s)
    assert table_checksums(tgt, exclude_prefix="bascule_") == once
    assert sum(c.insert + c.update + c.delete for c in rep2.totals().values()) == 0

    # change, add and delete source rows
    amap = sorted(amap_and_shop(src)[0])
    g0 = amap[0]
    pid = rows(src, 'SELECT p.id FROM "Product" p JOIN "Catalog" k ON k.id = p."catalogId" '
                    f'WHERE k."groupId" = {g0} ORDER BY p.id LIMIT 1')[0][0]
    execute(src, """UPDATE "Product" SET name = 'Panier modifié' WHERE id = :p""", p=pid)
    execute(src, 'INSERT INTO "Place" (name, "zipCode", city, "groupId") VALUES '
                 f"('Nouveau lieu', '44000', 'Nantes', {g0})")
    oid = rows(src, 'SELECT o.id FROM "UserOrder" o JOIN "Product" p ON p.id = o."productId" '
                    f'JOIN "Catalog" k ON k.id = p."catalogId" WHERE k."groupId" = {g0} '
                    'ORDER BY o.id DESC LIMIT 1')[0][0]
    execute(src, 'DELETE FROM "UserOrder" WHERE id = :o', o=oid)
    plan = api.plan(s)
    tot = plan.totals()
    assert tot["Product"].update == 1
    assert tot["Place"].insert == 1
    assert tot["UserOrder"].delete == 1
    assert sum(c.insert + c.update + c.delete for c in tot.values()) == 3
    rep3 = api.migrate(s, prune=True)
    assert not rep3.failed
    assert api.verify(s).ok
    assert rows(tgt, """SELECT COUNT(*) FROM "Product" WHERE name = 'Panier modifié'""") == [(1,)]


def test_plan_writes_nothing(db_factory, tmp_path):
    srcf, tgtf = db_factory("mysql"), db_factory("mysql")
    src = make_source(srcf, dirty=True)
    tgt = make_target(tgtf, "head")
    s_before, t_before = table_checksums(src), table_checksums(tgt)
    names_before = table_names(tgt)
    plan = api.plan(settings_for(src, tgt, tmp_path))
    assert plan.totals()["UserOrder"].insert > 0
    assert table_checksums(src) == s_before
    assert table_checksums(tgt) == t_before
    assert table_names(tgt) == names_before  # not even bascule's tables


@pytest.mark.parametrize("kind", ["mysql", "postgresql", "sqlite"])
def test_source_connection_is_read_only(db_factory, kind):
    src = make_source(db_factory(kind))
    eng = make_engine(src)
    with SourceReader(eng, inspect_source(eng)) as r:
        with pytest.raises(Exception) as ei:
            r.conn.execute(text("UPDATE %s SET name = 'x'" % q(src, "Place")))
        assert "read" in str(ei.value).lower()


def test_constraint_error_rolls_back_one_group(db_factory, tmp_path):
    srcf, tgtf = db_factory("mysql"), db_factory("mysql")
    src = make_source(srcf)
    tgt = make_target(tgtf, "2023")
    amap = sorted(amap_and_shop(src)[0])
    victim = amap[1]
    vname = rows(src, f'SELECT name FROM "Place" WHERE "groupId" = {victim} ORDER BY id '
                      'LIMIT 1')[0][0]
    # a pre-existing conflicting row: a unique place name in the target
    execute(tgt, 'CREATE UNIQUE INDEX Place_name_unique ON "Place" (name)')
    gid = execute(tgt, 'INSERT INTO "Group" (name, flags, cdate, regOption, currency, '
                       'currencyCode, volunteersMailDaysBeforeDutyPeriod, volunteersMailContent, '
                       'vacantVolunteerRolesMailDaysBeforeDutyPeriod, daysBeforeDutyPeriodsOpen, '
                       "alertMailContent, hasMembership, betaFlags) VALUES ('Existing', 0, "
                       "NOW(), 0, 'E', 'EUR', 4, '', 7, 60, '', 0, 0)")
    execute(tgt, """INSERT INTO "Place" (name, "zipCode", city, "groupId") VALUES (:n, '1', 'x', :g)""",
            n=vname, g=gid)
    s = settings_for(src, tgt, tmp_path)
    rep = api.migrate(s)
    failed = {g.source_id: g for g in rep.failed}
    assert victim in failed
    msg = failed[victim].error
    assert "Place" in msg and "name" in msg
    done = {r[0] for r in rows(tgt, "SELECT source_group_id FROM bascule_group "
                                    "WHERE status='done'")}
    assert done == set(amap) - set(failed)
    # nothing of the failed group in the target
    assert [e for e in idmap_entries(tgt) if e[3] == victim] == []
    assert rows(tgt, 'SELECT COUNT(*) FROM "Place" WHERE name = :n', n=vname) == [(1,)]


@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_failure_while_next_unit_is_built(db_factory, tmp_path, kind):
    """Pipelined writes: a unit in the middle fails while the next one is already built (its
    state applied ahead). Both are taken back, the bad group alone stays out, every other group
    is done exactly once and verify passes."""
    src = make_source(db_factory("mysql"))
    tgt = make_target(db_factory(kind), "2023")
    amap = sorted(amap_and_shop(src)[0])
    victim = amap[len(amap) // 2]
    vname = rows(src, f'SELECT name FROM "Group" WHERE id = {victim}')[0][0]
    assert rows(src, 'SELECT COUNT(*) FROM "Group" WHERE name = :n', n=vname) == [(1,)]
    # the target refuses that one group's row (a CHECK constraint, as a site rule would)
    lit = vname.replace("'", "''")  # DDL takes no bound parameter on PostgreSQL
    execute(tgt, f'ALTER TABLE "Group" ADD CONSTRAINT "no_victim" CHECK (name <> \'{lit}\')')
    s = settings_for(src, tgt, tmp_path, batch_size=10, workers=1)
    rep = api.migrate(s)
    assert "wait_write" in rep.timings  # written in the writer thread while the next is built
    assert rep.units >= 3  # the failing unit is neither the first nor the last
    assert {g.source_id for g in rep.failed} == {victim}
    assert [g.source_id for g in rep.groups if g.status == "done"] == \
        [g for g in amap if g != victim]  # in order, each once
    done = {r[0] for r in rows(tgt, "SELECT source_group_id FROM bascule_group "
                                    "WHERE status='done'")}
    assert done == set(amap) - {victim}
    assert [e for e in idmap_entries(tgt) if e[3] == victim] == []
    for t in ("User", "Place", "Catalog", "UserOrder"):
        entries = idmap_entries(tgt, t)
        news = [e[2] for e in entries]
        assert len(set(news)) == len(news), t
        assert rows(tgt, f'SELECT COUNT(*) FROM "{t}"')[0][0] == len(entries), t
    ver = api.verify(s)  # the others check out; the failed one is named, not proven
    assert not ver.differences, [d.line() for d in ver.differences]
    assert [(g["source_id"], g["status"]) for g in ver.unproven] == [(victim, "failed")]


@pytest.mark.parametrize("pipeline,workers", [("1", 1), ("0", 1), ("1", 2)])
def test_a_unit_rolled_back_by_a_deadlock_is_done_again(db_factory, tmp_path, monkeypatch,
                                                       caplog, pipeline, workers):
    """A deadlock (the database threw the unit's transaction away) is not the data's fault:
    the unit is done again and no group fails; every row is there once. In one process
    (pipelined or inline) and in a parallel run, where a forked worker writes unit 2."""
    monkeypatch.setenv("BASCULE_PIPELINE", pipeline)
    src = make_source(db_factory("mysql"))
    tgt = make_target(db_factory("mysql"), "2023")
    amap = sorted(amap_and_shop(src)[0])
    s = settings_for(src, tgt, tmp_path, batch_size=10, workers=workers)
    fired = tmp_path / "fired"  # a file: the process that writes unit 2 may be a forked one

    def deadlocked_once(unit_no):  # unit 2 is written, then its transaction is lost
        if unit_no != 2:
            return
        try:
            os.close(os.open(fired, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return
        raise TransactionLost(pymysql.OperationalError(1213, "Deadlock found"),
                              pymysql.OperationalError(1305, "SAVEPOINT does not exist"))

    BEFORE_COMMIT.append(deadlocked_once)
    try:
        with caplog.at_level("WARNING"):
            rep = api.migrate(s)
    finally:
        BEFORE_COMMIT.remove(deadlocked_once)
    assert fired.exists() and rep.units >= 3
    assert not rep.failed
    assert [g.source_id for g in rep.groups] == amap  # in order, each once
    if workers == 1:  # a forked worker logs in its own process
        assert any("rolled back by the database" in r.getMessage() for r in caplog.records)
    ver = api.verify(s)
    assert ver.ok, [d.line() for d in ver.differences]


def delete_unchecked(url: str, table: str, row_id: int) -> None:
    """Delete one row of the target around its foreign-key checks (rows point at it)."""
    eng = make_engine(url)
    try:
        with eng.begin() as c:
            c.exec_driver_sql("SET session_replication_role = replica"
                              if eng.dialect.name == "postgresql"
                              else "SET foreign_key_checks = 0")
            c.execute(text(f"DELETE FROM {q(url, table)} WHERE id = :i"), {"i": row_id})
    finally:
        eng.dispose()


@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_foreign_keys_checked_after_the_load(db_factory, tmp_path, kind):
    """fk_checks=after (default): rows are written without row-by-row FK checks, then the FKs
    of the rows written are checked once; a dangling reference fails the run and is named.
    fk_checks=load: the database checks as rows are written, no check at the end."""
    src = make_source(db_factory("mysql"))
    tgt = make_target(db_factory(kind), "2023")
    rep = api.migrate(settings_for(src, tgt, tmp_path / "a"))
    assert rep.ok and rep.fk_check is not None
    assert rep.fk_check["checked"] > 40 and rep.fk_check["dangling"] == []
    # the rerun rewrites a product whose catalog is gone from the target (deleted around the
    # checks): the row it writes points at nothing
    (pid, cat), = rows(tgt, 'SELECT id, "catalogId" FROM "Product" ORDER BY id LIMIT 1')
    old_pid, = [o for t, o, n, _g in idmap_entries(tgt, "Product") if n == pid]
    delete_unchecked(tgt, "Catalog", cat)
    execute(src, 'UPDATE "Product" SET price = price + 1 WHERE id = :p', p=old_pid)
    rep = api.migrate(settings_for(src, tgt, tmp_path / "b"))
    assert not rep.ok and rep.status == "failed" and not rep.failed
    assert {"table": "Product", "columns": ["catalogId"], "parent": "Catalog", "rows": 1} in \
        rep.fk_check["dangling"]
    rep = api.migrate(settings_for(src, tgt, tmp_path / "c", fk_checks="load"))
    assert rep.fk_check is None and rep.ok


@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_foreign_keys_of_rows_without_id_found_by_their_owner(db_factory, tmp_path, kind):
    """A table without ``id`` (UserGroup) is checked by its owner column: the rows a rerun
    wrote, and those ``verify --changed`` compared, are found by their group (the other
    groups' rows are not read), and a row whose user is gone is named."""
    src = make_source(db_factory("mysql"))
    tgt = make_target(db_factory(kind), "2023")
    assert api.migrate(settings_for(src, tgt, tmp_path / "a")).ok
    (gid, uid), = rows(tgt, 'SELECT "groupId", "userId" FROM "UserGroup" '
                            'ORDER BY "groupId", "userId" LIMIT 1')
    (other,), = rows(tgt, 'SELECT MIN("groupId") FROM "UserGroup" WHERE "groupId" NOT IN '
                          '(SELECT "groupId" FROM "UserGroup" WHERE "userId" = :u)', u=uid)
    delete_unchecked(tgt, "User", uid)
    gone = {"table": "UserGroup", "columns": ["userId"], "parent": "User", "rows": 1}
    keys = {"UserGroup": "groupId"}
    eng = make_engine(tgt)
    try:
        with eng.connect() as c:
            assert dangling_foreign_keys(c, {"UserGroup": {gid}}, keys=keys)[1] == [gone]
            assert dangling_foreign_keys(c, {"UserGroup": {other}}, keys=keys)[1] == []
            # without its key column the table is checked whole
            assert [b["table"] for b in dangling_foreign_keys(c, {"UserGroup": {other}})[1]] \
                == ["UserGroup"]
    finally:
        eng.dispose()
    # that membership changes in the source: verify --changed compares its group, the rerun
    # rewrites it
    old_g, = [o for _t, o, n, _g in idmap_entries(tgt, "Group") if n == gid]
    old_u, = [o for _t, o, n, _g in idmap_entries(tgt, "User") if n == uid]
    execute(src, 'UPDATE "UserGroup" SET balance = balance + 1 WHERE "groupId" = :g '
                 'AND "userId" = :u', g=old_g, u=old_u)
    ver = api.verify(settings_for(src, tgt, tmp_path / "b"), changed_only=True)
    assert ver.scope["mode"] == "changed"
    fk = [d for d in ver.differences if d.kind == "fk" and d.table == "UserGroup"]
    assert [d.column for d in fk] == ["userId"] and "points at no User row" in fk[0].detail
    rep = api.migrate(settings_for(src, tgt, tmp_path / "c"))
    assert rep.status == "failed" and gone in rep.fk_check["dangling"]


def test_users_matched_by_email_are_reused(db_factory, tmp_path):
    srcf, tgtf = db_factory("mysql"), db_factory("postgresql")
    src = make_source(srcf, seed=3)
    tgt = make_target(tgtf, "head")
    # a Camap user 1 (super-admin) and a user whose e-mail is a moved member's, in other case
    uid, email = rows(src, 'SELECT u.id, u.email FROM "User" u JOIN "UserGroup" ug '
                           'ON ug."userId" = u.id JOIN "Group" g ON g.id = ug."groupId" '
                           'WHERE (g.flags & 2) = 0 AND u.id <> 1 ORDER BY u.id LIMIT 1')[0]
    cols = '(id, lang, pass, pass2, rights, "firstName", "lastName", email, cdate, flags)'
    execute(tgt, f"""INSERT INTO "User" {cols} VALUES (1, 'fr', '', '', 1, 'Admin', 'CAMAP',
                 'admin@camap.tld', '2023-01-01', 0)""")
    execute(tgt, f"""INSERT INTO "User" {cols} VALUES (7, 'fr', 'h', '', 0, 'Déjà', 'LÀ',
                 :e, '2023-01-01', 0)""", e=email.upper())
    s = settings_for(src, tgt, tmp_path)
    rep = api.migrate(s)
    assert not rep.failed
    assert {m["source_user"]: m["target_user"] for m in rep.email_matches}[uid] == 7
    assert rows(tgt, 'SELECT COUNT(*) FROM "User" WHERE lower(email) = :e', e=email.lower()) \
        == [(1,)]
    # the existing user is untouched and now a member of the moved group
    assert rows(tgt, 'SELECT "firstName", pass FROM "User" WHERE id = 7') == [("Déjà", "h")]
    assert rows(tgt, 'SELECT COUNT(*) FROM "UserGroup" WHERE "userId" = 7')[0][0] >= 1
    assert rows(tgt, 'SELECT rights FROM "User" WHERE id = 1') == [(1,)]
    assert api.verify(s).ok


def test_source_driver_choice_and_pymysql_fallback(db_factory, tmp_path, monkeypatch):
    """mysqlclient reads the source when installed; PyMySQL gives the same result."""

    srcf, tgtf = db_factory("mysql"), db_factory("postgresql")
    src = make_source(srcf, shape="2021", dirty=True, seed=9)
    expected = "mysqldb" if importlib.util.find_spec("MySQLdb") else "pymysql"
    assert source_engine(src).dialect.driver == expected
    monkeypatch.setenv("BASCULE_SOURCE_DRIVER", "pymysql")
    assert source_engine(src).dialect.driver == "pymysql"
    tgt = make_target(tgtf, "head")
    s = settings_for(src, tgt, tmp_path)
    rep = api.migrate(s)
    assert not rep.failed
    assert api.verify(s).ok
    monkeypatch.delenv("BASCULE_SOURCE_DRIVER")
    # the other driver reads the same values: a rerun changes nothing, verify passes
    again = api.migrate(s)
    assert sum(c.insert + c.update + c.delete for c in again.totals().values()) == 0
    assert api.verify(s).ok
