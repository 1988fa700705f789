"""The table description (``model.tables``) and the transform's column data: load order against
the references, two-pass columns, keys, owner paths, what is derived from them."""

from __future__ import annotations

import pytest

from bascule.model.tables import GROUP, MIGRATION, Migration, Ref, TableSpec
from bascule.schema import cagette_metadata, camap_metadata
from bascule.transform import (
    PRODUCED_COLUMNS, SOURCE_COLUMNS, TARGET_COLUMNS, TEXT_COLUMNS, referenced_ids,
)
from bascule.transform.rows import TRANSFORMS

TABLE_ORDER = MIGRATION.order
FK_MAP = MIGRATION.refs()
TWO_PASS = MIGRATION.two_pass
COMPOSITE_KEYS = {t: target for t, (_source, target) in MIGRATION.composite.items()}
fk_map = MIGRATION.refs

# references that may point forward: the two-pass columns, and Catalog.firstDistribId which
# bascule always writes NULL
ALLOWED_FORWARD = {(t, c) for t, cols in TWO_PASS.items() for c in cols} | {
    ("Catalog", "firstDistribId")}


def test_table_order_covers_every_moved_table_once():
    assert len(TABLE_ORDER) == len(set(TABLE_ORDER)) == 21
    assert set(TABLE_ORDER) == set(TRANSFORMS) == set(FK_MAP) == set(SOURCE_COLUMNS)


def test_every_reference_points_backwards():
    pos = {t: i for i, t in enumerate(TABLE_ORDER)}
    for table, cols in FK_MAP.items():
        for col, ref in cols.items():
            targets = [ref.table] if ref.table else [t for _, t in ref.paths]
            for target in targets:
                if target == table or (table, col) in ALLOWED_FORWARD:
                    continue
                assert pos[target] < pos[table], f"{table}.{col} → {target}"


def test_two_pass_columns_are_nullable_references():
    assert TWO_PASS == {"Group": ("placeId",), "Catalog": ("firstDistribId",),
                        "Operation": ("relationId",)}
    for t, cols in TWO_PASS.items():
        for c in cols:
            assert FK_MAP[t][c].nullable and FK_MAP[t][c].kind == "fk"


def test_fk_columns_exist_in_both_target_shapes():
    for shape in ("2023", "head"):
        for t, cols in FK_MAP.items():
            for c in cols:
                if shape == "2023" and (t, c) in {("Catalog", "firstDistribId"),
                                                  ("Vendor", "userId")}:
                    continue  # added to Camap after the fork
                assert c in TARGET_COLUMNS[shape][t], (shape, t, c)


def test_composite_keys_are_foreign_keys_or_year():
    for t, keys in COMPOSITE_KEYS.items():
        for k in keys:
            assert k == "year" or k in FK_MAP[t]
        assert "id" not in PRODUCED_COLUMNS[t]


def test_fk_map_source_names():
    m21, m23 = fk_map("2021"), fk_map("2023")
    assert "rights2" in m21["UserGroup"] and "rights" not in m21["UserGroup"]
    assert "rights" in m23["UserGroup"]
    assert "data2" in m21["Operation"] and "data" in m23["Operation"]
    for t in ("UserGroup", "Operation"):
        for c in m21[t]:
            assert c in SOURCE_COLUMNS[t]


def test_text_columns_are_source_columns():
    for t, cols in TEXT_COLUMNS.items():
        assert set(cols) <= set(SOURCE_COLUMNS[t])


def test_referenced_ids():
    sub = {"id": 1, "userId": 10, "userId2": None, "catalogId": 7,
           "defaultOrders": '[{"productId":70,"userId2":12},{"productId":"71"}]',
           "absentDistribIds": "21, 22"}
    assert sorted(referenced_ids("Subscription", sub, "2021")) == sorted([
        ("User", 10), ("Catalog", 7), ("Product", 70), ("Product", 71), ("User", 12),
        ("Distribution", 21), ("Distribution", 22)])
    ug = {"groupId": 1, "userId": 10, "rights": b"junk",
          "rights2": '[{"right":"ContractAdmin","params":["7"]}]'}
    assert sorted(referenced_ids("UserGroup", ug, "2021")) == [
        ("Catalog", 7), ("Group", 1), ("User", 10)]
    op = {"id": 3, "groupId": 1, "userId": 10, "relationId": 2, "basketId": None,
          "subscriptionId": None, "data": '{"basketId":24}'}
    assert sorted(referenced_ids("Operation", op, "2023")) == [
        ("Basket", 24), ("Group", 1), ("Operation", 2), ("User", 10)]
    ef = {"id": 1, "fileId": 30, "entityType": "vendor", "entityId": 40}
    assert sorted(referenced_ids("EntityFile", ef, "2021")) == [("File", 30), ("Vendor", 40)]
    assert list(referenced_ids("EntityFile", dict(ef, entityType="x"), "2021")) == [("File", 30)]
    md = {"id": 20, "groupId": 1, "placeId": 5, "distributionCycleId": None,
          "volunteerRolesIds": "28,29"}
    assert sorted(referenced_ids("MultiDistrib", md, "2021")) == [
        ("Group", 1), ("Place", 5), ("VolunteerRole", 28), ("VolunteerRole", 29)]
    b = {"id": 1, "multiDistribId": 20, "userId": 10, "status": "OPEN",
         "data": '{"products":[{"productId":70}]}'}
    assert sorted(referenced_ids("Basket", b, "2023")) == [
        ("MultiDistrib", 20), ("Product", 70), ("User", 10)]


def test_known_columns_match_the_schema_metadata():
    """TARGET_COLUMNS (the default when the target is not reflected) agree with bascule.schema;
    every source column the transform does not read is one the rules drop on purpose."""
    for shape in ("2023", "head"):
        md = camap_metadata(shape)
        for t in TABLE_ORDER:
            assert {c.name for c in md.tables[t].columns} == set(TARGET_COLUMNS[shape][t]), \
                (shape, t)
    dropped = {
        "User": {"tutoState"},
        "Vendor": {"activityCode", "betaFlags", "companyCapital", "isTest", "legalStatus",
                   "siretInfos", "tosVersion", "vatNumber", "vendorPolicy"},
        "Catalog": {"hasPayments", "requiresOrdering"},
        "Product": {"txpProductId"},
        "MultiDistrib": {"inNeedUserIds", "slots", "slotsMode", "timeSlots", "voluntaryUsers"},
        "Subscription": {"isPaid"},
        "Basket": {"ref"},
    }
    for shape in ("2021", "2023"):
        md = cagette_metadata(shape)
        for t in TABLE_ORDER:
            unread = {c.name for c in md.tables[t].columns} - set(SOURCE_COLUMNS[t])
            assert unread <= dropped.get(t, set()), (shape, t, unread)


def test_owner_paths_lead_every_group_table_to_its_group():
    for t in MIGRATION.group:
        if t == "Group":
            assert MIGRATION.paths(t) == ()
            continue
        paths = MIGRATION.paths(t)
        assert paths, t
        for p in paths:
            assert p.parent in MIGRATION.group and TABLE_ORDER.index(p.parent) < \
                TABLE_ORDER.index(t), (t, p)
    assert [p.parent for p in MIGRATION.chain("UserOrder")] == ["Product", "Catalog", "Group"]
    assert {(p.value, p.parent) for p in MIGRATION.paths("EntityFile")} == {
        ("group", "Group"), ("catalog", "Catalog")}  # a vendor's document is not a group's


def test_shared_references_are_derived_from_the_refs():
    """The users, vendors and files a unit moves: every followed reference to them."""
    refs = MIGRATION.shared_refs("2021")
    users = {(t, c) for t, triples in refs.items() for c, _tc, r in triples if "User" in r.tables()}
    assert ("Subscription", "defaultOrders") in users and ("Message", "senderId") in users
    assert ("Vendor", "userId") not in users  # written NULL: never followed
    assert ("Catalog", "vendorId") in {(t, c) for t, trs in refs.items() for c, _tc, _r in trs}
    assert ("Vendor", "imageId") in {(t, c) for t, trs in refs.items() for c, _tc, _r in trs}
    assert "UserGroup" not in {t for t, trs in refs.items()
                               if any(c == "rights2" for c, _tc, _r in trs)}


def test_source_names_of_a_shape():
    assert MIGRATION.source_column("2021", "UserGroup", "rights") == "rights2"
    assert MIGRATION.source_column("2023", "UserGroup", "rights") == "rights"


def test_a_described_table_must_come_after_its_owner_and_once():
    spec = TableSpec("Recipe", GROUP, {"catalogId": Ref("Catalog")}, owner="catalogId",
                     columns=("id", "name", "catalogId"))
    m = MIGRATION.with_table(spec, after="Product")
    assert m.order.index("Recipe") == m.order.index("Product") + 1
    assert m.paths("Recipe")[0].parent == "Catalog" and "Recipe" not in MIGRATION
    with pytest.raises(ValueError, match="must come first"):
        Migration((spec, *MIGRATION.tables))
    with pytest.raises(ValueError, match="listed twice"):
        MIGRATION.with_table(MIGRATION["Place"])
    with pytest.raises(ValueError, match="needs an owner"):
        MIGRATION.with_table(TableSpec("Orphan", GROUP, columns=("id",)))
