"""bascule.schema: the four shapes create on every engine, reflect back as declared, and carry
the facts of the references (cagette-schema.md, camap-schema.md)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import MetaData, Table, inspect, select, text
from sqlalchemy.dialects import mysql
from sqlalchemy.schema import CreateTable

from bascule.dbutil import make_engine
from bascule.schema import CAGETTE_SHAPES, CAMAP_SHAPES, cagette_metadata, camap_metadata

LATIN1 = ("User", "Group", "Vendor", "Catalog", "Product")

VARIANTS = {
    "cagette-2021": lambda: cagette_metadata("2021"),
    "cagette-2021-legacy": lambda: cagette_metadata("2021", legacy=True),
    "cagette-2023": lambda: cagette_metadata("2023"),
    "cagette-2023-legacy-latin1": lambda: cagette_metadata("2023", legacy=True, latin1_tables=LATIN1),
    "camap-2023": lambda: camap_metadata("2023"),
    "camap-head": lambda: camap_metadata("head"),
}

CAMAP_2023_TABLES = {
    "Basket", "BufferedJsonMail", "Cache", "Catalog", "Distribution", "DistributionCycle",
    "EntityFile", "Error", "File", "Group", "Membership", "Message", "MultiDistrib", "Operation",
    "Permalink", "Place", "Product", "Session", "Subscription", "User", "UserGroup", "UserOrder",
    "Variable", "Vendor", "Volunteer", "VolunteerRole", "WaitingList",
}
CAMAP_HEAD_TABLES = CAMAP_2023_TABLES | {"ProductDistributionStock", "NotificationMail", "migrations"}
PLUGIN_AND_TECH = {
    "Hosting", "RemoteCatalog", "WConfig", "TxpCategory", "TxpSubCategory", "TxpProduct",
    "MangopayUser", "MangopayLegalUser", "MangopayLegalUserGroup", "MangopayGroupPayOut",
    "MangopayCompany", "MangopayVendorPayOut", "BufferedMail", "CagettePro", "PCatalog",
    "PCatalogOffer", "PProduct", "POffer", "PUserCompany", "PVendorCompany", "PMessage", "PNotif",
    "VendorStats", "Course", "CompanyCourse", "Graph",
}
LEGACY_TABLES = {"OrderPayment", "TourAttendee", "PVendor", "CategoryGroup", "Category", "ProductCategory"}

# MySQL COLUMN_TYPE (display widths dropped, except tinyint(1)) for a handful of columns
MYSQL_TYPES = {
    "cagette-2021": {
        ("UserGroup", "rights"): "mediumblob",
        ("UserGroup", "rights2"): "text",
        ("Operation", "data"): "mediumblob",
        ("Operation", "data2"): "varchar(256)",
        ("Group", "vatRates2"): "mediumtext",
        ("Group", "regOption"): "tinyint unsigned",
        ("Group", "membershipFee"): "tinyint",
        ("Group", "hasMembership"): "tinyint(1)",
        ("Product", "price"): "double",
        ("User", "pass"): "tinytext",
        ("User", "birthDate"): "date",
        ("Basket", "data"): "mediumblob",
        ("File", "data"): "mediumblob",
        ("Catalog", "startDate"): "datetime",
    },
    "cagette-2023": {
        ("UserGroup", "rights"): "text",
        ("Operation", "data"): "varchar(256)",
        ("Group", "vatRates"): "text",
        ("Group", "disabled"): "enum('BLOCKED_BY_ADMIN','MOVED','TOO_MANY_MULTI_DISTRIBS_NOT_VALIDATED')",
        ("Basket", "data"): "mediumtext",
        ("Basket", "status"): "varchar(32)",
        ("MultiDistrib", "validated"): "tinyint(1)",
    },
    "camap-2023": {
        ("MultiDistrib", "validatedStatus"): "enum('NOT_VALIDATED','VALIDATED')",
        ("Group", "disabled"): "enum('BLOCKED_BY_ADMIN','MOVED','TOO_MANY_MULTI_DISTRIBS_NOT_VALIDATED')",
        ("Basket", "status"): "enum('OPEN','PAYMENT_PROCESSING','CONFIRMED','VALIDATED')",
        ("MultiDistrib", "volunteerRolesIds"): "text",
    },
    "camap-head": {
        ("Group", "disabled"): "enum('BLOCKED_BY_ADMIN','MOVED','SUSPENDED')",
        ("Group", "daysAfterClosingBeforeHidingDutyPeriods"): "tinyint unsigned",
        ("NotificationMail", "cdate"): "datetime(6)",
        ("ProductDistributionStock", "stockPerDistribution"): "float unsigned",
        ("Product", "stockTracking"): "tinyint unsigned",
        ("VolunteerRole", "enabledByDefault"): "tinyint(1)",
        ("migrations", "timestamp"): "bigint",
        ("File", "data"): "mediumblob",
        ("Session", "sdata"): "mediumblob",
    },
}


def _norm_mysql_type(t: str) -> str:
    if t.lower().startswith("tinyint(1)"):
        return t.lower()
    return re.sub(r"^(tinyint|smallint|mediumint|int|bigint)\(\d+\)", r"\1", t, flags=re.I)


def describe(md: MetaData, *, implicit_fk_indexes: bool = False) -> dict:
    """What the test compares, per table: columns → nullable, PK, FKs, indexes."""
    out = {}
    for name, t in md.tables.items():
        fks = {
            (
                fk.name,
                tuple(fk.column_keys),
                fk.referred_table.name,
                tuple(e.column.name for e in fk.elements),
                (fk.ondelete or "NO ACTION").upper(),
            )
            for fk in t.foreign_key_constraints
        }
        fk_names = {f[0] for f in fks}
        indexes = {(i.name, tuple(c.name for c in i.columns), bool(i.unique)) for i in t.indexes}
        if implicit_fk_indexes:
            # MySQL adds one index per FK that no index covers, named after the constraint
            indexes = {i for i in indexes if i[0] not in fk_names}
        out[name] = {
            "columns": {c.name: bool(c.nullable) for c in t.columns},
            "pk": [c.name for c in t.primary_key.columns],
            "fks": fks,
            "indexes": indexes,
        }
    return out


# --------------------------------------------------------------------------- API and static facts


def test_api_shapes_and_fresh_metadata():
    assert CAGETTE_SHAPES == ("2021", "2023")
    assert CAMAP_SHAPES == ("2023", "head")
    a, b = cagette_metadata("2021"), cagette_metadata("2021")
    assert a is not b and a.tables["Group"] is not b.tables["Group"]
    assert camap_metadata("head") is not camap_metadata("head")
    with pytest.raises(ValueError):
        cagette_metadata("2022")
    with pytest.raises(ValueError):
        camap_metadata("2021")
    with pytest.raises(ValueError, match="NoSuchTable"):
        cagette_metadata("2023", latin1_tables=["NoSuchTable"])


def test_table_sets():
    c21, c23 = cagette_metadata("2021"), cagette_metadata("2023")
    assert len(c21.tables) == 54 and len(c23.tables) == 53
    assert set(c21.tables) - set(c23.tables) == {"TmpBasket"}
    assert set(c23.tables) < set(c21.tables)
    assert PLUGIN_AND_TECH <= set(c23.tables)
    assert CAMAP_2023_TABLES <= set(c23.tables)
    assert not LEGACY_TABLES & set(c21.tables)
    for shape in CAGETTE_SHAPES:
        md = cagette_metadata(shape, legacy=True)
        assert LEGACY_TABLES <= set(md.tables)
    assert set(camap_metadata("2023").tables) == CAMAP_2023_TABLES
    assert set(camap_metadata("head").tables) == CAMAP_HEAD_TABLES


def test_cagette_2021_facts():
    md = cagette_metadata("2021")
    t = md.tables
    assert "rights2" in t["UserGroup"].c and "rights" in t["UserGroup"].c
    assert "data2" in t["Operation"].c and not t["Operation"].c.data.nullable
    assert "TmpBasket" in t
    assert "ref" in t["Basket"].c and "status" not in t["Basket"].c
    assert t["Basket"].c.total.nullable and t["UserOrder"].c.basketId.nullable
    assert {"vatRates2", "allowedPaymentsType2", "betaFlags", "groupType"} <= set(t["Group"].c.keys())
    assert "disabled" not in t["Group"].c
    assert {"requiresOrdering", "hasPayments"} <= set(t["Catalog"].c.keys())
    assert "isPaid" in t["Subscription"].c
    assert {"slotsMode", "slots", "inNeedUserIds", "voluntaryUsers", "timeSlots"} <= set(
        t["MultiDistrib"].c.keys()
    )
    assert t["MultiDistrib"].c.orderStartDate.nullable
    assert {"wholesale", "retail", "smallQt", "txpProductId"} <= set(t["Product"].c.keys())
    assert {"slateContent", "attachments"} <= set(t["Message"].c.keys())
    assert [i.name for i in t["Basket"].indexes] == ["Basket_ref"]


def test_cagette_2023_facts():
    t = cagette_metadata("2023").tables
    assert not t["Basket"].c.status.nullable
    assert "ref" not in t["Basket"].c and not t["Basket"].c.total.nullable
    assert t["Basket"].c.userId.nullable
    assert not t["UserOrder"].c.basketId.nullable
    assert "vatRates" in t["Group"].c and "vatRates2" not in t["Group"].c
    assert "allowedPaymentsType" in t["Group"].c and "allowedPaymentsType2" not in t["Group"].c
    assert {"betaFlags", "groupType", "disabled"} <= set(t["Group"].c.keys())
    assert "TmpBasket" not in t
    assert "rights2" not in t["UserGroup"].c and "data2" not in t["Operation"].c
    assert t["Operation"].c.data.nullable
    assert not {"requiresOrdering", "hasPayments"} & set(t["Catalog"].c.keys())
    for c in ("distribMinOrdersTotal", "catalogMinOrdersTotal", "absentDistribsMaxNb"):
        assert not t["Catalog"].c[c].nullable
    assert "isPaid" not in t["Subscription"].c
    md_cols = set(t["MultiDistrib"].c.keys())
    assert not {"slotsMode", "slots", "inNeedUserIds", "voluntaryUsers", "timeSlots"} & md_cols
    assert {"counterBeforeDistrib", "validated", "validatedStatus", "validatedDate"} <= md_cols
    assert not t["MultiDistrib"].c.orderStartDate.nullable
    assert not t["Distribution"].c.orderStartDate.nullable
    assert not t["DistributionCycle"].c.openingHour.nullable
    assert {"production2", "production3", "companyNumber", "siretInfos", "offCagette"} <= set(
        t["Vendor"].c.keys()
    )
    assert {"wholesale", "retail", "smallQt", "txpProductId"} <= set(t["Product"].c.keys())


def test_camap_facts():
    head = camap_metadata("head").tables
    assert "stockTracking" in head["Product"].c and "stockTrackingPerDistrib" in head["Product"].c
    days = head["Group"].c.daysAfterClosingBeforeHidingDutyPeriods
    assert not days.nullable and days.server_default.arg.text == "30"
    assert "NotificationMail" in head and "ProductDistributionStock" in head
    assert head["Distribution"].c.quantities.server_default.arg.text == "1"
    assert head["VolunteerRole"].c.enabledByDefault.server_default.arg.text == "1"
    assert {"userId", "showEmail", "showPhone", "companyNumber"} <= set(head["Vendor"].c.keys())
    assert "firstDistribId" in head["Catalog"].c
    assert [c.name for c in head["migrations"].primary_key] == ["id"]

    fork = camap_metadata("2023").tables
    assert "stockTracking" not in fork["Product"].c
    assert "daysAfterClosingBeforeHidingDutyPeriods" not in fork["Group"].c
    assert "NotificationMail" not in fork and "ProductDistributionStock" not in fork
    assert "migrations" not in fork
    assert {"groupType", "betaFlags", "disabled"} <= set(fork["Group"].c.keys())
    assert {"counterBeforeDistrib", "validated", "validatedStatus", "validatedDate"} <= set(
        fork["MultiDistrib"].c.keys()
    )
    assert fork["MultiDistrib"].c.validatedStatus.server_default.arg == "NOT_VALIDATED"
    assert {"smallQt", "wholesale", "retail"} <= set(fork["Product"].c.keys())
    assert "tosVersion" in fork["User"].c and "tosVersion" not in head["User"].c
    assert {"status", "offCamap"} <= set(fork["Vendor"].c.keys())
    assert not {"userId", "showEmail", "showPhone", "companyNumber"} & set(fork["Vendor"].c.keys())
    assert "firstDistribId" not in fork["Catalog"].c
    assert "quantities" not in fork["Distribution"].c
    assert "enabledByDefault" not in fork["VolunteerRole"].c


def test_legacy_columns_are_nullable_and_plain():
    for shape in CAGETTE_SHAPES:
        plain, legacy = cagette_metadata(shape), cagette_metadata(shape, legacy=True)
        added = 0
        for name, t in plain.tables.items():
            extra = set(legacy.tables[name].c.keys()) - set(t.c.keys())
            assert set(t.c.keys()) <= set(legacy.tables[name].c.keys())
            for c in extra:
                col = legacy.tables[name].c[c]
                assert col.nullable, (shape, name, c)
                assert not col.foreign_keys, (shape, name, c)
            added += len(extra)
        assert added >= 30
        t = legacy.tables
        assert {"aboEnd", "aboType"} <= set(t["Group"].c.keys())
        assert "migrated" in t["Catalog"].c and "hasFloatQt" in t["Product"].c
        assert {"isValidated", "absencesNb", "defaultOrder"} <= set(t["Subscription"].c.keys())
        assert "tos" in t["User"].c and "lastMemberShip" in t["UserGroup"].c
        assert "amapId" in t["Vendor"].c
        assert {f"distributor{i}Id" for i in range(1, 5)} <= set(t["Distribution"].c.keys())


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_naming_conventions(variant):
    md = VARIANTS[variant]()
    for name, t in md.tables.items():
        for i in t.indexes:
            assert i.name == f"{name}_" + "_".join(c.name for c in i.columns)
        for fk in t.foreign_key_constraints:
            assert fk.name.startswith(f"{name}_"), fk.name
            (col,) = fk.columns
            expected = "SET NULL" if col.nullable else "CASCADE"
            if (name, fk.name) in {("Basket", "Basket_user")} and variant.startswith("camap"):
                expected = "CASCADE"  # camap-schema §2.4: nullable userId, yet CASCADE
            if name == "PVendor":
                expected = "SET NULL"  # legacy table, every column NULLable
            assert fk.ondelete == expected, (name, fk.name)
    # names that do not follow the plain column rule
    t = md.tables
    assert {fk.name for fk in t["Group"].foreign_key_constraints} == {
        "Group_contact", "Group_image", "Group_mainPlace", "Group_legalRepresentative"
    }
    assert "Catalog_contact" in {fk.name for fk in t["Catalog"].foreign_key_constraints}
    assert {fk.name for fk in t["WaitingList"].foreign_key_constraints} == {
        "WaitingList_group", "WaitingList_user"
    }
    assert "Membership_distribution" in {fk.name for fk in t["Membership"].foreign_key_constraints}
    assert {fk.name for fk in t["Error"].foreign_key_constraints} == {"Error_user"}


def test_mysql_ddl_types_compile():
    """Exact MySQL types without a server (the DB tests below check them on MariaDB)."""
    ddl = str(CreateTable(cagette_metadata("2021").tables["Group"]).compile(dialect=mysql.dialect()))
    assert "`regOption` TINYINT UNSIGNED NOT NULL" in ddl
    assert "`hasMembership` TINYINT(1) NOT NULL" in ddl
    assert "`vatRates2` MEDIUMTEXT" in ddl
    assert "ENGINE=InnoDB" in ddl and "CHARSET=utf8mb4" in ddl
    ddl = str(
        CreateTable(cagette_metadata("2023", latin1_tables=["User"]).tables["User"]).compile(
            dialect=mysql.dialect()
        )
    )
    assert "CHARSET=latin1" in ddl and "latin1_swedish_ci" in ddl


# --------------------------------------------------------------------------- real databases


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_creates_and_reflects(dbs, variant):
    md = VARIANTS[variant]()
    engine = make_engine(dbs.new(variant.replace("-", "")[:20]))
    try:
        md.create_all(engine)
        reflected = MetaData()
        reflected.reflect(engine)
        assert set(reflected.tables) == set(md.tables)

        want = describe(md)
        got = describe(reflected, implicit_fk_indexes=dbs.kind == "mysql")
        for name in sorted(md.tables):
            w, g = want[name], got[name]
            assert g["columns"] == w["columns"], name
            assert list(g["columns"]) == list(w["columns"]), f"{name}: column order"
            assert g["pk"] == w["pk"], name
            assert g["fks"] == w["fks"], name
            assert g["indexes"] == w["indexes"], name

        if dbs.kind == "mysql":
            _check_mysql_types(engine, variant)

        md.drop_all(engine)  # the circular FKs must not block a drop either
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def _check_mysql_types(engine, variant):
    key = "cagette-2023" if variant.startswith("cagette-2023") else variant.replace("-legacy", "")
    expected = MYSQL_TYPES[key]
    with engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, COLUMN_DEFAULT "
                "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()"
            )
        ).all()
    types = {(r[0], r[1]): _norm_mysql_type(r[2]) for r in rows}
    defaults = {(r[0], r[1]): r[3] for r in rows}
    for (table, column), t in expected.items():
        assert types[(table, column)] == t, (table, column)
    if key == "camap-head":
        assert defaults[("Group", "daysAfterClosingBeforeHidingDutyPeriods")] == "30"
        assert defaults[("NotificationMail", "cdate")].lower() == "current_timestamp(6)"
        assert defaults[("Vendor", "showEmail")] == "1"
    if key == "camap-2023":
        assert defaults[("MultiDistrib", "validatedStatus")].strip("'") == "NOT_VALIDATED"


def _group_tables(md: MetaData) -> list[Table]:
    return [md.tables[n] for n in ("User", "File", "Place", "Group")]


def _group_row(md: MetaData) -> dict:
    """One Group row with every NOT NULL column that has no server default."""
    sample = {
        "name": "AMAP du Jardin — «Été»",
        "flags": 16,
        "betaFlags": 0,
        "hasMembership": 1,
        "cdate": dt.datetime(2023, 3, 14, 9, 30, 5),
        "regOption": 1,
        "currency": "€",
        "currencyCode": "EUR",
        "volunteersMailDaysBeforeDutyPeriod": 4,
        "volunteersMailContent": "Bonjour",
        "vacantVolunteerRolesMailDaysBeforeDutyPeriod": 7,
        "daysBeforeDutyPeriodsOpen": 60,
        "alertMailContent": "Attention",
        "membershipFee": -5,
        "membershipRenewalDate": dt.date(2023, 9, 1),
        "allowMoneyPotWithNegativeBalance": 0,
    }
    cols = md.tables["Group"].c
    row = {k: v for k, v in sample.items() if k in cols}
    missing = [c.name for c in cols if not c.nullable and c.server_default is None
               and not c.primary_key and c.name not in row]
    assert not missing
    return row


@pytest.mark.parametrize("which", ["cagette-2021", "cagette-2023", "camap-2023", "camap-head"])
def test_group_row_roundtrip(dbs, which):
    md = VARIANTS[which]()
    engine = make_engine(dbs.new("grp"))
    try:
        md.create_all(engine, tables=_group_tables(md))
        group = md.tables["Group"]
        row = _group_row(md)
        with engine.begin() as c:
            new_id = c.execute(group.insert().values(**row)).inserted_primary_key[0]
            place = md.tables["Place"]
            place_id = c.execute(
                place.insert().values(name="Salle", zipCode="44000", city="Nantes", groupId=new_id)
            ).inserted_primary_key[0]
            c.execute(group.update().where(group.c.id == new_id).values(placeId=place_id))
        with engine.connect() as c:
            got = c.execute(select(group).where(group.c.id == new_id)).mappings().one()
        for k, v in row.items():
            assert got[k] == v, k
        assert got["placeId"] == place_id and got["userId"] is None
        assert type(got["hasMembership"]) is int
        if which == "camap-head":
            assert got["daysAfterClosingBeforeHidingDutyPeriods"] == 30
        if "disabled" in group.c:
            with engine.begin() as c:
                c.execute(group.update().values(disabled="MOVED"))
                assert c.execute(select(group.c.disabled)).scalar_one() == "MOVED"
    finally:
        engine.dispose()


def test_latin1_tables_on_mariadb(mysql_dbs):
    md = cagette_metadata("2023", latin1_tables=["User", "Group"])
    engine = make_engine(mysql_dbs.new("latin1"))
    try:
        md.create_all(engine, tables=_group_tables(md))
        with engine.connect() as c:
            tables = dict(
                c.execute(
                    text(
                        "SELECT TABLE_NAME, TABLE_COLLATION FROM information_schema.TABLES "
                        "WHERE TABLE_SCHEMA = DATABASE()"
                    )
                ).all()
            )
            charsets = {
                (r[0], r[1]): r[2]
                for r in c.execute(
                    text(
                        "SELECT TABLE_NAME, COLUMN_NAME, CHARACTER_SET_NAME "
                        "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()"
                    )
                )
            }
        assert tables["User"] == "latin1_swedish_ci"
        assert tables["Group"] == "latin1_swedish_ci"
        assert tables["Place"] == "utf8mb4_unicode_ci"
        assert tables["File"] == "utf8mb4_unicode_ci"
        assert charsets[("User", "email")] == "latin1"
        assert charsets[("User", "pass")] == "latin1"
        assert charsets[("Group", "txtIntro")] == "latin1"
        assert charsets[("Place", "name")] == "utf8mb4"
    finally:
        engine.dispose()
