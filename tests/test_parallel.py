"""Parallel runs: shared rows first, then units of work in forked worker processes.

A run with workers moves exactly what a one-process run moves (same rows, same notes, same
results), a bad group or a bad shared row fails only the groups concerned, and verify passes.
"""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from bascule import api
from bascule.dbutil import make_engine
from bascule.extract.closure import all_shared_refs, read_shared, read_unit
from bascule.extract.source import SourceReader, inspect_source
from bascule.model.tables import MIGRATION
from bascule.run.preflight import select_groups

from helpers import (
    amap_and_shop,
    execute,
    idmap_entries,
    make_source,
    make_target,
    rows,
    settings_for,
)

MOVED = MIGRATION.order


def _counts(url):
    return {t: rows(url, f'SELECT COUNT(*) FROM "{t}"')[0][0] for t in MOVED}


def _no_duplicate_ids(url):
    """(Users are left out: two source users with the same e-mail share one target user.)"""
    for t in ("Group", "Place", "Catalog", "Product", "Basket", "UserOrder"):
        entries = idmap_entries(url, t)
        news = [e[2] for e in entries]
        assert len(set(news)) == len(news), t
        assert rows(url, f'SELECT COUNT(*) FROM "{t}"')[0][0] == len(entries), t


@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_workers_move_what_one_process_moves(db_factory, tmp_path, kind):
    src = make_source(db_factory("mysql"), dirty=True)
    one, many = make_target(db_factory(kind), "head"), make_target(db_factory(kind), "head")
    r1 = api.migrate(settings_for(src, one, tmp_path / "1", workers=1, batch_size=10))
    r2 = api.migrate(settings_for(src, many, tmp_path / "2", workers=2, batch_size=10))
    assert r1.workers == 1 and r2.workers == 2
    assert r2.units >= 3
    assert r1.ok and r2.ok
    assert r2.timings["workers"] > 0
    d1, d2 = r1.as_dict(), r2.as_dict()
    assert d2["totals"] == d1["totals"]
    assert d2["notes"] == d1["notes"] or \
        [(n["table"], n["action"], n["count"]) for n in d2["notes"]] == \
        [(n["table"], n["action"], n["count"]) for n in d1["notes"]]
    assert [(g.source_id, g.status) for g in r2.groups] == \
        [(g.source_id, g.status) for g in r1.groups]
    assert sorted(e["source_user"] for e in d2["email_matches"]) == \
        sorted(e["source_user"] for e in d1["email_matches"])
    assert _counts(many) == _counts(one)
    _no_duplicate_ids(many)
    ver = api.verify(settings_for(src, many, tmp_path / "v", workers=2, batch_size=10))
    assert ver.ok, [d.line() for d in ver.differences]
    assert ver.workers == 2
    # the same counts as a verify in one process
    one_ver = api.verify(settings_for(src, one, tmp_path / "w", workers=1))
    assert one_ver.ok
    assert {t: c["source"] for t, c in ver.tables.items()} == \
        {t: c["source"] for t, c in one_ver.tables.items()}
    assert {t: c["target"] for t, c in ver.tables.items()} == \
        {t: c["target"] for t, c in one_ver.tables.items()}
    # a rerun with workers finds nothing to write
    r3 = api.migrate(settings_for(src, many, tmp_path / "3", workers=2, batch_size=10))
    assert r3.ok and r3.rows_written() == 0
    # differences found by the workers are reported by the parent
    pid = rows(many, 'SELECT MAX(id) FROM "Product"')[0][0]
    oid = rows(many, 'SELECT MIN(id) FROM "UserOrder"')[0][0]
    execute(many, 'UPDATE "Product" SET price = price + 1 WHERE id = :p', p=pid)
    execute(many, 'DELETE FROM "UserOrder" WHERE id = :o', o=oid)
    ver = api.verify(settings_for(src, many, tmp_path / "x", workers=2, batch_size=10))
    assert ver.workers == 2 and not ver.ok
    got = {(d.kind, d.table, d.target_id, d.column) for d in ver.differences}
    assert ("changed", "Product", pid, "price") in got
    assert ("missing", "UserOrder", oid, None) in got


def test_a_bad_group_fails_alone_in_a_worker(db_factory, tmp_path):
    src = make_source(db_factory("mysql"))
    tgt = make_target(db_factory("postgresql"), "2023")
    amap = sorted(amap_and_shop(src)[0])
    victim = amap[len(amap) // 2]
    vname = rows(src, f'SELECT name FROM "Group" WHERE id = {victim}')[0][0].replace("'", "''")
    execute(tgt, f'ALTER TABLE "Group" ADD CONSTRAINT "no_victim" CHECK (name <> \'{vname}\')')
    s = settings_for(src, tgt, tmp_path, workers=2, batch_size=10)
    rep = api.migrate(s)
    assert rep.workers == 2
    assert {g.source_id for g in rep.failed} == {victim}
    assert "no_victim" in rep.failed[0].error
    assert [g.source_id for g in rep.groups if g.status == "done"] == \
        [g for g in amap if g != victim]
    assert [e for e in idmap_entries(tgt) if e[3] == victim] == []
    _no_duplicate_ids(tgt)
    ver = api.verify(s)  # the failed group is named, not proven; the others check out
    assert not ver.ok and not ver.differences
    assert [(g["source_id"], g["status"]) for g in ver.unproven] == [(victim, "failed")]


def test_a_bad_shared_row_fails_the_groups_that_need_it(db_factory, tmp_path):
    src = make_source(db_factory("mysql"))
    tgt = make_target(db_factory("mysql"), "2023")
    amap = sorted(amap_and_shop(src)[0])
    # a member of an AMAP group, whose e-mail the target refuses
    uid, email = rows(src, 'SELECT u.id, u.email FROM "User" u JOIN "UserGroup" ug ON '
                           f'ug."userId" = u.id WHERE ug."groupId" = {amap[0]} AND u.email '
                           'IS NOT NULL ORDER BY u.id LIMIT 1')[0]
    lit = email.replace("'", "''")
    execute(tgt, f"ALTER TABLE `User` ADD CONSTRAINT no_user CHECK (email <> '{lit}')")
    s = settings_for(src, tgt, tmp_path, workers=2, batch_size=10)
    rep = api.migrate(s)
    assert rep.workers == 2
    assert {(f["table"], f["id"]) for f in rep.shared_failed} == {("User", uid)}
    failed = {g.source_id for g in rep.failed}
    members = {r[0] for r in rows(src, f'SELECT "groupId" FROM "UserGroup" WHERE "userId" = {uid}')}
    assert members & set(amap) <= failed
    for g in rep.failed:
        assert f"User id {uid}" in g.error
    done = {r[0] for r in rows(tgt, "SELECT source_group_id FROM bascule_group "
                                    "WHERE status='done'")}
    assert done == set(amap) - failed
    assert rows(tgt, "SELECT COUNT(*) FROM `User` WHERE email = :e", e=email) == [(0,)]
    # every other user the done groups need is there: verify finds no difference, and names
    # the failed groups (not proven)
    ver = api.verify(s)
    assert not ver.differences, [d.line() for d in ver.differences]
    assert {g["source_id"] for g in ver.unproven} == failed and not ver.ok


def test_shared_refs_of_all_groups_are_those_of_their_units(db_factory, tmp_path):
    """The shared-row pass computes the references with the server (DISTINCT per column); it
    must find exactly what the units find when they read their rows."""
    src = make_source(db_factory("mysql"), dirty=True)
    eng = make_engine(src)
    settings = settings_for(src, "sqlite://", tmp_path)
    with SourceReader(eng, inspect_source(eng)) as reader:
        groups = select_groups(reader, settings)
        every = all_shared_refs(reader, MIGRATION, groups)
        union = {t: set() for t in MIGRATION.shared}
        for g in groups:
            pre = read_unit(reader, MIGRATION, [g.id], lambda _t, ids: ids)
            for t in MIGRATION.shared:
                union[t] |= pre.refs[t]
        read_shared(reader, MIGRATION, every, lambda _t, ids: ids)  # adds the vendors' logos,
        # as a unit's read does
    eng.dispose()
    assert every == union
    assert all(every[t] for t in MIGRATION.shared)


def test_without_reload_privilege_one_process(db_factory, tmp_path, caplog):
    """A source account that may not take the global read lock: one process, with a warning
    naming why, and the same result."""
    src = make_source(db_factory("mysql"))
    tgt = make_target(db_factory("postgresql"), "2023")
    u = make_url(src)
    user = f"bt_ro_{u.database[-8:]}"
    execute(src, f"CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'")
    try:
        execute(src, f"GRANT SELECT ON `{u.database}`.* TO '{user}'@'%'")
        ro = u.set(username=user, password="pw").render_as_string(hide_password=False)
        with caplog.at_level("WARNING"):
            rep = api.migrate(settings_for(ro, tgt, tmp_path, workers=2, batch_size=10))
        assert rep.ok and rep.workers == 1 and rep.units >= 3
        assert "FLUSH TABLES WITH READ LOCK" in caplog.text
        assert api.verify(settings_for(src, tgt, tmp_path / "v", workers=2)).ok
    finally:
        execute(src, f"DROP USER '{user}'@'%'")
