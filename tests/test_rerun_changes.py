"""Reruns after a change of the source (``bascule.generate.changes``, the cutover night's 1%):
the groups whose rows did not change are skipped (the source's chunk checksums), and the target
ends exactly as a fresh migration of the changed source leaves it, on MariaDB and PostgreSQL
targets, also when the rerun is killed halfway and started again."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import MetaData, select

from bascule import api
from bascule.cli import cli
from bascule.dbutil import make_engine
from bascule.extract.checksums import CHUNK
from bascule.generate.changes import change_source
from bascule.load.bookkeeping import Book
from bascule.load.idmap import groups_holding
from faults import run_and_kill
from helpers import (
    execute,
    idmap_entries,
    make_source,
    make_target,
    norm_value,
    rows,
    settings_for,
)

SCALE = 0.01
MOVED_SHARED = {"User", "Vendor", "File"}
COMPOSITE_OWNER = {"UserGroup": "groupId", "Membership": "groupId", "WaitingList": "amapId"}


def target_rows(url: str) -> dict[str, dict[tuple, tuple]]:
    """Every row of every Camap table: table → primary key → the row (columns by name)."""
    eng = make_engine(url)
    try:
        md = MetaData()
        md.reflect(eng, only=lambda n, _m: not n.startswith("bascule_"))
        out = {}
        with eng.connect() as c:
            for name, t in md.tables.items():
                cols = sorted(t.columns, key=lambda col: col.name)
                pk = [cols.index(col) for col in t.primary_key.columns] or list(range(len(cols)))
                out[name] = {tuple(r[i] for i in pk): r for r in (
                    tuple(norm_value(v) for v in row) for row in c.execute(select(*cols)))}
        return out
    finally:
        eng.dispose()


def assert_same_as_fresh(rerun: str, fresh: str, vanished: int) -> None:
    """The rerun target holds every row of the fresh one, identical; its other rows are the
    group turned shop mode (``vanished``, moved earlier and left as it was) and shared rows
    that only that group references."""
    R, F = target_rows(rerun), target_rows(fresh)
    assert R.keys() == F.keys()
    gone = {(t, new) for t, _old, new, g in idmap_entries(rerun) if g == vanished}
    md_gone = {new for t, new in gone if t == "MultiDistrib"}
    for t in sorted(F):
        missing = [k for k in F[t] if k not in R[t]]
        assert not missing, f"{t}: rows of the fresh run missing after the rerun: {missing[:5]}"
        differ = [k for k in F[t] if R[t][k] != F[t][k]]
        assert not differ, f"{t}: rows that differ: {[(R[t][k], F[t][k]) for k in differ[:3]]}"
        extra = [k for k in R[t] if k not in F[t]]
        for k in extra:
            if t in MOVED_SHARED:
                continue
            if t in COMPOSITE_OWNER:
                assert vanished in k, f"{t} {k}: extra row, not of group {vanished}"
            elif t == "Volunteer":
                assert set(k) & md_gone, f"Volunteer {k}: extra row, not of group {vanished}"
            else:
                assert (t, k[0]) in gone, f"{t} {k}: extra row, not of group {vanished}"


@pytest.mark.parametrize("target_kind", ["mysql", "postgresql"])
def test_rerun_after_the_change_equals_a_fresh_run(db_factory, tmp_path, target_kind):
    my = db_factory("mysql")
    tf = db_factory(target_kind)
    src = make_source(my, scale=SCALE, seed=3)
    rerun = make_target(tf)
    s = settings_for(src, rerun, tmp_path, id_strategy="preserve")
    first = api.migrate(s)
    assert first.ok and not first.unchanged_groups
    assert first.changes["why_not"] == "first run"

    again = api.migrate(s)  # nothing changed: every group skipped, nothing read or written
    assert again.ok and again.changes["compared"]
    assert len(again.unchanged_groups) == len(first.groups) and not again.groups
    assert again.rows_read == 0 and again.rows_written() == 0

    done = change_source(src, fraction=0.01, seed=5)
    assert done["orders_updated"] and done["orders_deleted"] and done["orders_added"]
    after = api.migrate(s, prune=True)
    assert after.ok
    redone = {g.source_id for g in after.groups}
    assert set(done["groups_changed"]) <= redone
    assert done["group_to_amap"] in redone
    assert len(after.unchanged_groups) >= len(first.groups) // 3  # the others were skipped
    assert after.rows_read < first.rows_read
    assert any(v["source_id"] == done["group_to_shop"] for v in after.vanished_groups)
    totals = after.totals()
    assert totals["UserOrder"].delete == done["orders_deleted"]
    assert totals["UserOrder"].insert >= done["orders_added"]

    fresh = make_target(tf)
    assert api.migrate(settings_for(src, fresh, tmp_path, id_strategy="preserve")).ok
    assert_same_as_fresh(rerun, fresh, done["group_to_shop"])
    rep = api.verify(settings_for(src, rerun, tmp_path))
    assert rep.ok, [d.as_dict() for d in rep.differences[:5]]


def test_killed_rerun_finishes_as_a_fresh_run(mysql_dbs, tmp_path):
    src = make_source(mysql_dbs, scale=SCALE, seed=4)
    rerun = make_target(mysql_dbs)
    s = settings_for(src, rerun, tmp_path, id_strategy="preserve", batch_size=40)
    assert api.migrate(s).ok
    done = change_source(src, fraction=0.01, seed=6)
    killed, _w = run_and_kill(src, rerun, tmp_path, "not committed", 2,
                              extra=["--prune", "--id-strategy", "preserve"])
    assert killed
    after = api.migrate(s, prune=True)  # the stored checksums are still the first run's
    assert after.ok
    assert set(done["groups_changed"]) <= {g.source_id for g in after.groups}
    fresh = make_target(mysql_dbs)
    assert api.migrate(settings_for(src, fresh, tmp_path, id_strategy="preserve")).ok
    assert_same_as_fresh(rerun, fresh, done["group_to_shop"])


def test_deletes_left_without_prune_are_found_again(mysql_dbs, tmp_path):
    """A rerun without --prune leaves the deleted rows (and keeps no checksums), so that the
    next run with --prune still finds them."""
    src = make_source(mysql_dbs, scale=SCALE, seed=8)
    tgt = make_target(mysql_dbs)
    s = settings_for(src, tgt, tmp_path)
    assert api.migrate(s).ok
    done = change_source(src, fraction=0.01, seed=2)
    kept = api.migrate(s)
    assert kept.ok and kept.totals()["UserOrder"].delete == done["orders_deleted"]
    pruned = api.migrate(s, prune=True)
    assert pruned.ok and pruned.totals()["UserOrder"].delete == done["orders_deleted"]
    assert api.migrate(s, prune=True).totals().get("UserOrder") is None  # all skipped now
    assert api.verify(s).ok


def test_sequential_ids_rerun_verifies(db_factory, tmp_path):
    """New ids after the rerun: a full verify and ``verify --changed`` pass; --changed compares
    the groups the rerun wrote (and a sample), and still finds a row changed in one of them."""
    my, pg = db_factory("mysql"), db_factory("postgresql")
    src = make_source(my, scale=SCALE, seed=9)
    tgt = make_target(pg)
    s = settings_for(src, tgt, tmp_path)
    first = api.migrate(s)
    assert first.ok
    before = api.verify(s, changed_only=True)  # the first run wrote every group
    assert before.ok and before.scope["groups"] == len(first.groups)
    change_source(src, fraction=0.02, seed=1)
    after = api.migrate(s, prune=True)
    assert after.ok and after.unchanged_groups
    rep = api.verify(s)
    assert rep.ok, [d.as_dict() for d in rep.differences[:5]]
    assert rep.scope["mode"] == "full"
    quick = api.verify(s, changed_only=True, sample=0.0)
    assert quick.ok, [d.as_dict() for d in quick.differences[:5]]
    redone = {g.source_id for g in after.groups}
    assert quick.scope["mode"] == "changed" and quick.scope["groups"] == len(redone)
    assert 0 < quick.fk_checked and quick.scope["checksums_seconds"] > 0
    # a row of a group the rerun wrote, changed in the target: found
    order = next(new for _t, _o, new, g in idmap_entries(tgt, "UserOrder") if g in redone)
    execute(tgt, 'UPDATE "UserOrder" SET quantity = quantity + 7 WHERE id = :i', i=order)
    r = CliRunner().invoke(cli, ["verify", "--changed", "--sample", "0", "--source", src,
                                 "--target", tgt, "--report-dir", str(tmp_path)])
    assert r.exit_code == 1, r.output
    assert "UserOrder" in r.output and "quantity" in r.output and "--changed:" in r.output
    # the products of a group the rerun did not write, changed in the source since: the
    # checksums (computed while the target's state is read) bring that group in, unsampled
    still = after.unchanged_groups[0]
    execute(src, "UPDATE Product p JOIN Catalog c ON p.catalogId = c.id "
                 "SET p.price = p.price + 1 WHERE c.groupId = :g", g=still)
    late = api.verify(s, changed_only=True, sample=0.0)
    assert still in late.scope["source_changed"] and not late.ok
    assert {d.table for d in late.differences} >= {"Product"}


@pytest.mark.parametrize("kind", ["sqlite", "mysql"])
def test_one_changed_row_moves_its_group_alone(db_factory, tmp_path, kind):
    """One product's price changes: its group alone is moved again, the row updated; a user's
    name changes: the user alone is read again. On a SQLite source (checksums by a function of
    the reader's connection) and a MariaDB one."""
    f = db_factory(kind)
    src = make_source(f, kind=kind, scale=SCALE, seed=11)
    tgt = make_target(f)
    s = settings_for(src, tgt, tmp_path)
    first = api.migrate(s)
    assert first.ok and first.changes["rows_checksummed"] > 0
    (pid, gid), = rows(src, 'SELECT p.id, c."groupId" FROM "Product" p JOIN "Catalog" c ON '
                            'c.id = p."catalogId" JOIN "Group" g ON g.id = c."groupId" '
                            'WHERE (g.flags & 2) = 0 ORDER BY p.id LIMIT 1')
    execute(src, 'UPDATE "Product" SET price = price + 1.25 WHERE id = :i', i=pid)
    uid = next(old for t, old, _n, g in idmap_entries(tgt, "User") if g is None)
    execute(src, 'UPDATE "User" SET "lastName" = :n WHERE id = :i', n="Renommé", i=uid)
    again = api.migrate(s)
    assert again.ok, again.failed
    # the groups of the products of the same chunk (64 ids) are read again too, nothing else
    lo = pid // CHUNK * CHUNK
    same_chunk = {g for (g,) in rows(src, 'SELECT DISTINCT c."groupId" FROM "Product" p JOIN '
                                          '"Catalog" c ON c.id = p."catalogId" WHERE p.id '
                                          'BETWEEN :a AND :b', a=lo, b=lo + CHUNK - 1)}
    redone = {g.source_id for g in again.groups}
    assert gid in redone and redone <= same_chunk
    assert again.totals()["Product"].update == 1
    assert again.totals()["User"].update == 1
    assert set(again.changes["shared_reread"]) == {"User"}  # the moved users of its chunk
    assert len(again.unchanged_groups) == len(first.groups) - len(redone)
    assert api.verify(s).ok


def test_groups_holding_asks_every_table_in_one_reading(db_factory, tmp_path):
    """``groups_holding`` with chunks of several tables (two ways of cutting one of them): the
    groups that the id map says hold a row of any, the same as one table at a time."""
    my = db_factory("mysql")
    src, tgt = make_source(my, scale=SCALE, seed=5), make_target(my)
    s = settings_for(src, tgt, tmp_path)
    assert api.migrate(s).ok
    products = sorted({(old, g) for _t, old, _n, g in idmap_entries(tgt, "Product")})
    orders = sorted({(old, g) for _t, old, _n, g in idmap_entries(tgt, "UserOrder")})
    by_id = {old for old, _g in products[:3]}
    by_chunk = {orders[-1][0] // CHUNK}
    want = {g for old, g in products if old in by_id} | \
        {g for old, g in orders if old // CHUNK in by_chunk} | \
        {g for old, g in products if old // CHUNK == products[-1][0] // CHUNK}
    asks = {"Product": [(int, by_id), (lambda i: i // CHUNK, {products[-1][0] // CHUNK})],
            "UserOrder": [(lambda i: i // CHUNK, by_chunk)], "Basket": [(int, set())]}
    eng = make_engine(tgt)
    try:
        with eng.connect() as conn:
            book = Book(s.source_name)
            every = groups_holding(conn, asks, book)
            one_by_one = set().union(*[groups_holding(conn, {t: [a]}, book)
                                       for t, ask in asks.items() for a in ask])
    finally:
        eng.dispose()
    assert every == want == one_by_one and len(want) > 1
