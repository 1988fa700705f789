"""plan.build on hand-written units: no database. Ids allocated or reused, users matched by
e-mail, unchanged rows told from changed ones by their hash, rows gone from the source, the
producers' rights, verify's expected rows."""

from __future__ import annotations

import datetime as dt

import pytest

from bascule.extract.closure import UnitRead
from bascule.extract.source import GroupRef
from bascule.model.tables import MIGRATION
from bascule.plan.build import Planner
from bascule.plan.changeset import ExistingEntries
from bascule.plan.ids import Preserve, ReadOnly, RunState, Sequential
from bascule.transform.context import TransformContext

D = dt.datetime
GROUP = GroupRef(1, "AMAP du Valois", 0)
#: the columns of a 2023 source (what plan.build reads of them: UserGroup's rights)
SOURCE_COLUMNS = {"UserGroup": ["groupId", "userId", "rights", "balance"]}


def unit_rows() -> dict[str, list[dict]]:
    """One group: a place, a catalog with two products, one distribution day, two members who
    ordered, a basket each."""
    rows = {t: [] for t in MIGRATION.group}
    rows["Group"] = [{"id": 1, "name": "AMAP du Valois", "flags": 0, "cdate": D(2020, 1, 1),
                      "placeId": 5, "userId": 10, "vatRates": "[]"}]
    rows["Place"] = [{"id": 5, "name": "Salle", "groupId": 1}]
    rows["Catalog"] = [{"id": 7, "name": "Légumes", "type": 0, "vendorId": 40, "groupId": 1,
                        "startDate": D(2022, 1, 1), "endDate": D(2022, 12, 31), "flags": 2}]
    rows["Product"] = [{"id": 70, "name": "Panier", "catalogId": 7, "price": 13.0},
                       {"id": 71, "name": "Oeufs", "catalogId": 7, "price": 3.5}]
    rows["MultiDistrib"] = [{"id": 20, "groupId": 1, "placeId": 5,
                             "distribStartDate": D(2022, 6, 2, 18), "distribEndDate": D(2022, 6, 2, 20)}]
    rows["Distribution"] = [{"id": 21, "catalogId": 7, "multiDistribId": 20, "placeId": 5,
                             "date": D(2022, 6, 2, 18), "orderEndDate": D(2022, 6, 1, 12)}]
    rows["Basket"] = [{"id": 24, "multiDistribId": 20, "userId": 10, "num": 1, "total": 13.0,
                       "status": "CONFIRMED", "data": "", "cdate": D(2022, 6, 1)},
                      {"id": 25, "multiDistribId": 20, "userId": 11, "num": 2, "total": 3.5,
                       "status": "CONFIRMED", "data": "", "cdate": D(2022, 6, 1)}]
    rows["UserOrder"] = [{"id": 90, "userId": 10, "productId": 70, "distributionId": 21,
                          "basketId": 24, "quantity": 1.0, "date": D(2022, 6, 1)},
                         {"id": 91, "userId": 11, "productId": 71, "distributionId": 21,
                          "basketId": 25, "quantity": 1.0, "date": D(2022, 6, 1)}]
    rows["UserGroup"] = [{"userId": 10, "groupId": 1, "rights": None, "balance": 0.0},
                         {"userId": 11, "groupId": 1, "rights": None, "balance": 0.0}]
    return rows


def users() -> list[dict]:
    return [{"id": 10, "email": "jean@example.fr", "firstName": "Jean", "cdate": D(2019, 1, 1)},
            {"id": 11, "email": "Marie@Example.FR", "firstName": "Marie",
             "cdate": D(2019, 1, 1)},
            {"id": 12, "email": "paul@example.fr", "firstName": "Paul", "cdate": D(2019, 1, 1)}]


def read(rows=None, linked=None, producers=None) -> UnitRead:
    refs = {"User": {10, 11}, "Vendor": {40}, "File": set()}
    refs["User"] |= {u for us in (producers or {}).values() for u in us}
    shared = {"User": [u for u in users() if u["id"] in refs["User"]],
              "Vendor": [{"id": 40, "name": "Ferme"}], "File": []}
    return UnitRead(rows or unit_rows(), linked or {}, producers or {}, refs, shared)


def state(emails=None) -> RunState:
    return RunState({t: {} for t in MIGRATION.shared},
                    {t: 1000 for t in MIGRATION.order if not MIGRATION[t].composite},
                    dict(emails or {}))


def planner(st: RunState, *, allocator=None, capture=False, prune=False) -> Planner:
    ctx = TransformContext("2023", "head", {})
    return Planner(MIGRATION, ctx, allocator or Sequential(st), lambda t, cols: None,
                   SOURCE_COLUMNS, capture=capture, prune=prune)


def existing_from(cs) -> ExistingEntries:
    """What a previous run wrote: the changeset's group entries, as load.idmap reads them."""
    out = ExistingEntries()
    for g, tables in cs.group_entries.items():
        for t, entries in tables.items():
            out.entries.setdefault(t, {}).update(entries)
            out.owners.setdefault(t, {}).update(dict.fromkeys(entries, g))
    return out


def test_new_ids_are_allocated_above_the_target_and_every_row_is_an_insert():
    st = state()
    cs, delta = planner(st).build([GROUP], read(), ExistingEntries(), st)
    res = cs.results[1]
    assert res.target_id == 1000
    assert {t: c.insert for t, c in res.tables.items() if c.insert} == {
        "Group": 1, "Place": 1, "Catalog": 1, "Product": 2, "MultiDistrib": 1,
        "Distribution": 1, "Basket": 2, "UserOrder": 2, "UserGroup": 2}
    assert cs.tables["Product"].inserts[0][cs.tables["Product"].columns.index("id")] == 1000
    assert [row[cs.tables["Product"].columns.index("catalogId")]
            for row in cs.tables["Product"].inserts] == [1000, 1000]
    assert delta.next_id["Product"] == 1002 and delta.next_id["User"] == 1002
    assert {e.old_key for e in cs.new_entries if e.table == "User"} == {10, 11}
    assert set(cs.group_entries) == {1} and set(cs.group_entries[1]["UserOrder"]) == {90, 91}
    assert st.next_id["Product"] == 1000  # the state is the run's: only apply() changes it
    st.apply(delta)
    assert st.next_id["Product"] == 1002 and st.handled["User"] == {10, 11}


def test_a_user_with_a_target_users_email_is_matched_not_moved():
    st = state(emails={"marie@example.fr": 7})
    cs, delta = planner(st).build([GROUP], read(), ExistingEntries(), st)
    assert cs.email_matches == [{"source_user": 11, "target_user": 7,
                                 "email": "marie@example.fr"}]
    assert cs.shared_counts["User"].insert == 1 and cs.shared_counts["User"].unchanged == 1
    assert delta.shared["User"][11] == (7, None, None)
    ug = cs.tables["UserGroup"]
    assert sorted(r[ug.columns.index("userId")] for r in ug.inserts) == [7, 1000]


def test_a_rerun_finds_unchanged_rows_by_their_hash_and_prunes_deleted_ones():
    st = state()
    p = planner(st)
    first, delta = p.build([GROUP], read(), ExistingEntries(), st)
    st.apply(delta)
    before = existing_from(first)
    again, _ = p.build([GROUP], read(), before, st)
    assert again.results[1].rows_written == 0
    assert again.results[1].tables["UserOrder"].unchanged == 2 and not again.group_entries
    rows = unit_rows()
    rows["Product"][1]["price"] = 4.0  # changed in the source
    del rows["UserOrder"][1]  # deleted from the source
    changed, _ = p.build([GROUP], read(rows), before, st)
    assert changed.results[1].tables["Product"].update == 1
    assert changed.results[1].tables["UserOrder"].delete == 1
    assert [d[0] for d in changed.deletes["UserOrder"]] == [91]
    assert 91 in changed.group_entries[1]["UserOrder"]  # kept without --prune
    pruned, _ = planner(st, prune=True).build([GROUP], read(rows), before, st)
    assert 91 not in pruned.group_entries[1]["UserOrder"]


def test_a_linked_catalogs_producers_become_contract_admins():
    st = state()
    cs, _ = planner(st).build([GROUP], read(linked={7: 300}, producers={40: [12]}),
                              ExistingEntries(), st)
    assert cs.results[1].linked_catalogs == [{"catalog": 7, "name": "Légumes", "vendor": 40,
                                              "pcatalog": 300, "producer_users": [12]}]
    ug = cs.tables["UserGroup"]
    by_user = {r[ug.columns.index("userId")]: r[ug.columns.index("rights")] for r in ug.inserts}
    # a membership made for the producer's user, with the catalog's new id
    assert by_user == {1000: None, 1001: None,
                       1002: '[{"right":"ContractAdmin","params":["1000"]}]'}
    cat = cs.tables["Catalog"]
    assert cat.inserts[0][cat.columns.index("flags")] & 2 == 0  # its stock no longer fed


def test_preserve_keeps_the_source_ids():
    st = state()
    cs, _ = planner(st, allocator=Preserve()).build([GROUP], read(), ExistingEntries(), st)
    assert cs.results[1].target_id == 1
    uo = cs.tables["UserOrder"]
    assert [r[uo.columns.index("id")] for r in uo.inserts] == [90, 91]


def test_verify_captures_the_expected_rows_and_allocates_nothing():
    st = state()
    p = planner(st)
    first, delta = p.build([GROUP], read(), ExistingEntries(), st)
    st.apply(delta)
    rows = unit_rows()
    rows["Place"].append({"id": 6, "name": "Nouveau", "groupId": 1})  # since the migrate
    cs, _ = planner(st, allocator=ReadOnly(), capture=True).build(
        [GROUP], read(rows), existing_from(first), st)
    assert not cs.new_entries and not cs.changed_entries and not cs.tables["UserOrder"].inserts
    expected = cs.expected.rows
    assert {k: v[0] for k, v in expected["UserOrder"].items()} == {(1000,): 90, (1001,): 91}
    assert cs.expected.missing["Place"] == {6}


@pytest.mark.parametrize("table", ["UserOrder", "Basket"])
def test_owners_follow_the_paths_of_the_description(table):
    """Every row's group comes from its owner path (UserOrder → Product → Catalog → Group)."""
    st = state()
    rows = unit_rows()
    other = GroupRef(2, "AMAP des Lilas", 0)
    rows["Group"].append({"id": 2, "name": "AMAP des Lilas", "flags": 0, "cdate": D(2020, 1, 1)})
    cs, _ = planner(st).build([GROUP, other], read(rows), ExistingEntries(), st)
    assert cs.results[1].tables[table].insert == 2 and cs.results[2].tables[table].insert == 0


@pytest.mark.parametrize("text, stored", [
    ("1\t2\t\\N\t2023-01-02 10:00:00\n", 8929324546647674654),
    ("(1,2,NULL,'é')", 3918261596815483110),
    ("", -1970711489451281740),
])
def test_a_written_rows_hash_is_the_one_earlier_runs_stored(text, stored):
    """The id map keeps these hashes between runs: the first 8 bytes of blake2b (digest_size
    8) of the row's text, signed. Computed another way, a rerun would see every row changed."""
    from bascule.plan.hashing import text_hash
    assert text_hash(text) == stored
    assert text_hash(text.encode()) == stored


def test_a_lookup_that_is_not_a_dict_is_read_through_its_get():
    """A mapping of another kind than dict (here a read-only view) gives the same ids, and
    the fallback is asked for the ids it does not hold."""
    from types import MappingProxyType
    asked = []

    def fallback(table, old):
        asked.append((table, old))
        return 900 if old == 3 else None
    maps = MappingProxyType({"User": MappingProxyType({1: 101, 2: 102})})
    ctx = TransformContext("2023", "2023", {}).for_unit(maps, fallback=fallback)
    assert [ctx.map("User", i) for i in (1, 2, 3, 4, None)] == [101, 102, 900, None, None]
    assert ctx.new_id("User", 2) == 102
    assert asked == [("User", 3), ("User", 4)]
    plain = TransformContext("2023", "2023", {}).for_unit({"User": {1: 101}}, fallback=fallback)
    assert plain.map("User", 1) == 101 and plain.map("User", 3) == 900


def test_a_composite_keys_hash_is_the_one_earlier_runs_stored():
    """``key_hash`` is a composite-key row's old id in the id map: blake2b of the repr of
    (table, key), whatever way the text is made."""
    import hashlib
    import random
    import struct

    from bascule.plan.hashing import key_hash

    def stored(table, key):
        d = hashlib.blake2b(repr((table, tuple(key))).encode(), digest_size=8).digest()
        return struct.unpack(">q", d)[0] & 0x7FFF_FFFF_FFFF_FFFF
    rnd = random.Random(5)
    keys = [(rnd.randrange(-2**40, 2**40) for _ in range(rnd.randint(1, 4)))
            for _ in range(2000)]
    keys = [tuple(k) for k in keys] + [(1, None), (True, 2), ("a'b", 3), (7,), (), (2.5, 1),
                                       (1, "é")]
    for table in ("UserGroup", "Volunteer", "Membership", "Odd'Name"):
        for k in keys:
            assert key_hash(table, k) == stored(table, k), (table, k)
            assert key_hash(table, list(k)) == stored(table, k), (table, k)
    assert key_hash("UserGroup", (12, 34)) == 7246541014735537734
