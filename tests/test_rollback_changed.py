"""Rollback refuses a group nobody touched no more: "changed" means that the target's values
differ from what bascule wrote. Source rows holding NULL in every NOT NULL column that bascule
fills, and a dirty source (every transform that adjusts a value: repaired text, zero dates,
truncations, cleared flags, ...), moved into MariaDB and PostgreSQL targets, roll back
untouched; a value changed in the target since is refused, its column named."""

from __future__ import annotations

import pytest

from bascule import api

from helpers import execute, make_source, make_target, q, rows, settings_for

#: The NOT NULL columns of the target that bascule fills when the source has NULL (the
#: transform's backfills and defaults, transform.rows).
FILLED = {
    "User": ["cdate", "pass", "pass2", "flags"],
    "Group": ["cdate", "betaFlags"],
    "Catalog": ["startDate", "endDate", "distribMinOrdersTotal", "catalogMinOrdersTotal",
                "absentDistribsMaxNb"],
    "DistributionCycle": ["startDate", "endDate", "startHour", "endHour", "openingHour",
                          "closingHour"],
    "MultiDistrib": ["distribStartDate", "distribEndDate", "orderStartDate", "orderEndDate",
                     "counterBeforeDistrib"],
    "Distribution": ["orderStartDate", "orderEndDate"],
    "Subscription": ["startDate", "endDate"],
    "Basket": ["cdate", "total", "num"],
    "UserOrder": ["date"],
    "Operation": ["date"],
    "UserGroup": ["balance"],
    "WaitingList": ["date", "message"],
    "Message": ["date", "slateContent"],
    "File": ["cdate"],
    "Vendor": ["showEmail", "showPhone", "directory"],
    "Product": ["wholesale", "retail"],
}


def _nulls_everywhere(src: str) -> int:
    """NULL in each of ``FILLED`` that the (PostgreSQL) source has: its NOT NULL dropped."""
    n = 0
    have = {(t, c) for t, c in rows(src, "SELECT table_name, column_name FROM "
                                         "information_schema.columns WHERE "
                                         "table_schema = 'public'")}
    for t, cols in FILLED.items():
        for c in cols:
            if (t, c) not in have:
                continue
            execute(src, f'ALTER TABLE {q(src, t)} ALTER COLUMN "{c}" DROP NOT NULL')
            execute(src, f'UPDATE {q(src, t)} SET "{c}" = NULL')
            n += 1
    return n


def _untouched(s, groups: list[int]) -> None:
    rep = api.rollback(s, groups=groups, dry_run=True)
    changed = [(g.source_id, c["table"], c["id"]) for g in rep.groups for c in g.changed]
    assert changed == [], changed[:10]
    assert rep.ok and {g.status for g in rep.groups} == {"would remove"}


@pytest.mark.parametrize("target_kind", ["mysql", "postgresql"])
def test_nulls_filled_by_bascule_are_not_changes(db_factory, tmp_path, target_kind):
    src = make_source(db_factory("postgresql"), seed=12)
    assert _nulls_everywhere(src) >= 25
    tgt = make_target(db_factory(target_kind), "head")
    s = settings_for(src, tgt, tmp_path)
    rep = api.migrate(s)
    assert rep.ok
    filled = {(n["table"], n["column"]) for n in rep.notes if n["action"] == "defaulted"}
    assert ("Catalog", "distribMinOrdersTotal") in filled and ("Basket", "total") in filled
    groups = [g.source_id for g in rep.groups]
    _untouched(s, groups)
    # a value Camap users changed since is refused, its column named
    g = groups[0]
    tg = rows(tgt, "SELECT target_group_id FROM bascule_group WHERE source_group_id = :g",
              g=g)[0][0]
    cat = rows(tgt, f'SELECT MIN(id) FROM {q(tgt, "Catalog")} WHERE "groupId" = :g', g=tg)[0][0]
    execute(tgt, f'UPDATE {q(tgt, "Catalog")} SET "distribMinOrdersTotal" = 12.5 '
                 "WHERE id = :i", i=cat)
    rep = api.rollback(s, groups=[g], dry_run=True)
    [grp] = rep.groups
    assert grp.status == "refused"
    assert [(c["table"], c["id"], c["column"]) for c in grp.changed] == [
        ("Catalog", cat, "distribMinOrdersTotal")]
    assert "12.5" in grp.changed[0]["detail"]


@pytest.mark.parametrize("target_kind", ["mysql", "postgresql"])
def test_a_dirty_source_rolls_back_untouched(db_factory, tmp_path, target_kind):
    src = make_source(db_factory("mysql"), dirty=True, seed=13)
    tgt = make_target(db_factory(target_kind), "head")
    s = settings_for(src, tgt, tmp_path)
    rep = api.migrate(s)
    assert rep.ok
    actions = {n["action"] for n in rep.notes}
    assert {"repaired", "zero_date", "defaulted", "nulled", "dropped_ref"} <= actions, actions
    _untouched(s, [g.source_id for g in rep.groups])
    # and without a reachable source, a changed row is still refused (its column unknown)
    g = rep.groups[0]
    execute(tgt, f'UPDATE {q(tgt, "Group")} SET name = :n WHERE id = :i', n="Renamed",
            i=g.target_id)
    undo = api.rollback(s.model_copy(update={"source_url": None}), groups=[g.source_id],
                        dry_run=True)
    assert undo.groups[0].status == "refused"
    assert [(c["table"], c["id"]) for c in undo.groups[0].changed] == [("Group", g.target_id)]
    named = api.rollback(s, groups=[g.source_id], dry_run=True)
    assert [c["column"] for c in named.groups[0].changed] == ["name"]
