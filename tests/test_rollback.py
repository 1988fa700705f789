"""`api.rollback`: a group taken out of the target leaves it as it was before that group's migrate
(every Camap table row by row, bascule's id map), refuses rows changed or added since unless
forced (and then saves them first), keeps shared rows still used, survives a kill."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import MetaData, Table, func, select

from bascule import api
from bascule.dbutil import make_engine
from bascule.redirects.mapping import DbMapping

from faults import rollback_and_kill
from helpers import (
    amap_and_shop,
    execute,
    idmap_entries,
    make_source,
    make_target,
    rows,
    settings_for,
    table_checksums,
)

SCALE = 0.003


def _state(tgt: str) -> tuple[dict, list]:
    """Every Camap table's checksum, and the id map (bascule_run and bascule_chunk apart)."""
    sums = table_checksums(tgt, exclude_prefix="bascule_")
    sums["bascule_group"] = rows(tgt, "SELECT source_group_id, target_group_id, status FROM "
                                      "bascule_group ORDER BY source_group_id")
    return sums, sorted(idmap_entries(tgt))


def _moved_last(db_factory, kind: str, tmp_path, seed: int, last: int):
    """A source, a target holding every AMAP group but the ``last`` ones (run 1), its state,
    then those moved too (run 2): (src, tgt, settings of run 1's groups, last groups, state)."""
    src = make_source(db_factory("mysql"), seed=seed, scale=SCALE)
    tgt = make_target(db_factory(kind), "head")
    amap = sorted(amap_and_shop(src)[0])
    first = settings_for(src, tgt, tmp_path, groups=amap[:-last])
    assert api.migrate(first).ok
    before = _state(tgt)
    assert api.migrate(settings_for(src, tgt, tmp_path, groups=amap[-last:])).ok
    return src, tgt, first, amap[-last:], before


def _moved(db_factory, kind: str, tmp_path, seed: int = 3):
    """``_moved_last`` of one group: (src, tgt, settings of run 1, the last group, state)."""
    src, tgt, first, last, before = _moved_last(db_factory, kind, tmp_path, seed, 1)
    return src, tgt, first, last[0], before


def _target_group(tgt: str, g: int) -> int:
    return rows(tgt, "SELECT target_group_id FROM bascule_group WHERE source_group_id = :g",
                g=g)[0][0]


def _clone(tgt: str, table: str, new_id: int | None = None, **changes) -> int:
    """A copy of one row of ``table`` (the first matching ``changes``' ``where_id``), with a
    new id: a row Camap users added."""
    eng = make_engine(tgt)
    try:
        md = MetaData()
        t = Table(table, md, autoload_with=eng)
        where_id = changes.pop("where_id")
        with eng.begin() as c:
            row = dict(c.execute(select(t).where(t.c.id == where_id)).mappings().one())
            row.update(changes)
            row["id"] = new_id or int(c.execute(select(func.max(t.c.id))).scalar()) + 1000
            c.execute(t.insert().values(**row))
        return row["id"]
    finally:
        eng.dispose()


@pytest.mark.parametrize("kind", ["mysql", "postgresql", "sqlite"])
def test_rollback_restores_the_target(db_factory, tmp_path, kind):
    src, tgt, first, last, before = _moved(db_factory, kind, tmp_path)
    rep = api.rollback(first, groups=[last])
    assert rep.ok and [g.status for g in rep.groups] == ["removed"], rep.as_dict()
    assert sum(rep.groups[0].rows.values()) > 100 and rep.groups[0].shared.get("User")
    assert _state(tgt) == before
    ver = api.verify(first)
    assert ver.ok, [d.line() for d in ver.differences]
    # again, by run: the group moved again by run 5 (run 3 was the rollback, 4 the verify)
    r = api.migrate(settings_for(src, tgt, tmp_path, groups=[last]))
    assert r.ok and r.run_id == 5
    rep = api.rollback(first, run_id=5)
    assert rep.ok and [(g.source_id, g.status) for g in rep.groups] == [(last, "removed")]
    assert _state(tgt) == before
    # nothing left of run 5: done, nothing to do
    rep = api.rollback(first, run_id=5)
    assert rep.ok and rep.groups == []
    runs = rows(tgt, "SELECT command, status FROM bascule_run ORDER BY id")
    assert runs == [("migrate", "done"), ("migrate", "done"), ("rollback", "done"),
                    ("verify", "done"), ("migrate", "done"), ("rollback", "done"),
                    ("rollback", "done")]


@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_changed_and_added_rows_are_refused_then_forced(db_factory, tmp_path, kind):
    src, tgt, first, last, before = _moved(db_factory, kind, tmp_path)
    g = _target_group(tgt, last)
    prod, order = rows(tgt, 'SELECT p.id, o.id FROM "Product" p JOIN "Catalog" c ON '
                            'c.id = p."catalogId" JOIN "UserOrder" o ON o."productId" = p.id '
                            'WHERE c."groupId" = :g ORDER BY p.id, o.id', g=g)[0]
    execute(tgt, 'UPDATE "Product" SET name = :n WHERE id = :p', n="Renamed in Camap", p=prod)
    added = _clone(tgt, "UserOrder", where_id=order, quantity=7)
    moved = table_checksums(tgt, exclude_prefix="bascule_")

    rep = api.rollback(first, groups=[last])
    assert not rep.ok and rep.groups[0].status == "refused"
    changed = rep.groups[0].changed
    assert [(c["table"], c["id"], c["column"]) for c in changed] == [("Product", prod, "name")]
    assert "Renamed in Camap" in changed[0]["detail"]
    (a,) = rep.groups[0].added  # named once, by the first foreign key found
    assert (a["table"], a["id"]) == ("UserOrder", added)
    assert a["column"] in ("productId", "distributionId", "basketId", "userId")
    assert table_checksums(tgt, exclude_prefix="bascule_") == moved  # nothing removed
    assert _target_group(tgt, last) == g

    save = tmp_path / "saved.json"
    rep = api.rollback(first, groups=[last], force=True, save=save)
    assert rep.ok and rep.groups[0].status == "removed" and rep.save == str(save)
    data = json.loads(save.read_text())
    (saved,) = data["groups"]
    assert saved["source_group_id"] == last and saved["target_group_id"] == g
    assert {p["id"]: p["name"] for p in saved["tables"]["Product"]}[prod] == "Renamed in Camap"
    new_order = {o["id"]: o for o in saved["tables"]["UserOrder"]}[added]
    assert new_order["quantity"] == 7 and new_order["productId"] == prod
    assert isinstance(saved["tables"]["Group"][0]["cdate"], (str, type(None)))
    n_saved = sum(len(v) for v in saved["tables"].values())
    assert n_saved == sum(rep.groups[0].rows.values())
    assert _state(tgt) == before


@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_killed_rollback_finishes_when_run_again(db_factory, tmp_path, kind):
    _src, tgt, first, amap, before = _moved_last(db_factory, kind, tmp_path, 4, 2)
    extra = ["--group", str(amap[-2]), "--group", str(amap[-1])]
    assert rollback_and_kill(tgt, tmp_path, 2, extra)
    # the first group is gone, the second whole
    left = {g for (g,) in rows(tgt, "SELECT source_group_id FROM bascule_group")}
    assert amap[-2] not in left and amap[-1] in left
    rep = api.rollback(first, groups=amap[-2:])
    assert rep.ok
    assert [(g.source_id, g.status) for g in rep.groups] == [(amap[-2], "absent"),
                                                             (amap[-1], "removed")]
    assert _state(tgt) == before
    assert api.verify(first).ok


@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_matched_and_shared_users_are_kept(db_factory, tmp_path, kind):
    src = make_source(db_factory("mysql"), seed=3, scale=SCALE)
    tgt = make_target(db_factory(kind), "head")
    amap = sorted(amap_and_shop(src)[0])
    last = amap[-1]
    first = settings_for(src, tgt, tmp_path, groups=amap[:-1])
    assert api.migrate(first).ok
    # a user of the last group only, whose e-mail a Camap user already has
    emails = {(e or "").lower() for r in rows(tgt, 'SELECT email, email2 FROM "User"')
              for e in r}
    members = rows(src, 'SELECT u.id, u.email FROM "User" u JOIN "UserGroup" ug ON '
                        'ug."userId" = u.id WHERE ug."groupId" = :g ORDER BY u.id', g=last)
    uid, email = next((i, e) for i, e in members if e and e.lower() not in emails)
    some = rows(tgt, 'SELECT MIN(id) FROM "User"')[0][0]
    camap_user = _clone(tgt, "User", where_id=some, email=email, email2=None)
    before = _state(tgt)
    assert api.migrate(settings_for(src, tgt, tmp_path, groups=[last])).ok
    matched = [e for e in idmap_entries(tgt, "User") if e[1] == uid]
    assert matched and matched[0][2] == camap_user
    # users of the last group that other moved groups have too
    both = rows(src, 'SELECT DISTINCT a."userId" FROM "UserGroup" a JOIN "UserGroup" b ON '
                     'a."userId" = b."userId" WHERE a."groupId" = :g AND b."groupId" <> :g',
                g=last)
    assert both, "the seed gives no user shared between groups"
    rep = api.rollback(first, groups=[last])
    assert rep.ok, rep.as_dict()
    kept = {(k["table"], k["id"]): k["reason"] for k in rep.groups[0].kept}
    assert "matched by e-mail" in kept[("User", camap_user)]
    assert any("still referenced" in r for r in kept.values())
    assert rows(tgt, 'SELECT email FROM "User" WHERE id = :i', i=camap_user) == [(email,)]
    new_ids = {old: new for _t, old, new, _g in idmap_entries(tgt, "User")}
    for (u,) in both:
        if u in new_ids:
            assert rows(tgt, 'SELECT COUNT(*) FROM "User" WHERE id = :i', i=new_ids[u]) == [(1,)]
    # the Camap user and its id-map entry stay (a shared row kept stays in the id map)
    sums, entries = _state(tgt)
    assert sums == before[0]
    assert set(entries) == set(before[1]) | set(matched)


@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_dry_run_writes_nothing_and_redirects_forget_the_group(db_factory, tmp_path, kind):
    src, tgt, first, last, before = _moved(db_factory, kind, tmp_path)
    g = _target_group(tgt, last)
    everything = table_checksums(tgt)
    rep = api.rollback(first, groups=[last], dry_run=True)
    assert rep.ok and rep.groups[0].status == "would remove" and rep.run_id is None
    assert rep.groups[0].rows["Group"] == 1
    assert table_checksums(tgt) == everything
    eng = make_engine(tgt)
    try:
        assert DbMapping(eng).get("Group", last) == g
        assert api.rollback(first, groups=[last]).ok
        m = DbMapping(eng)
        assert m.get("Group", last) is None
        assert last not in {old for old, _new in m.items("Group")}
    finally:
        eng.dispose()
    assert _state(tgt) == before
