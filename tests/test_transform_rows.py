"""transform_row: one source row → one Camap row, both source shapes × both target shapes.
Pure unit tests, no database."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bascule.transform import (
    FALLBACK_DATETIME, PRODUCED_COLUMNS, TARGET_COLUMNS, TransformContext, TransformError,
    email_keys, transform_row,
)

D = dt.datetime

# old id -> new id; everything not listed does not move.
MOVES = {
    "User": {10: 110, 11: 111, 12: 112},
    "File": {30: 130},
    "Vendor": {40: 140},
    "Group": {1: 501},
    "Place": {5: 505, 6: 506},
    "Catalog": {7: 507, 8: 508},
    "Product": {70: 570, 71: 571},
    "DistributionCycle": {9: 509},
    "MultiDistrib": {20: 520},
    "Distribution": {21: 521, 22: 522},
    "Subscription": {23: 523},
    "Basket": {24: 524},
    "UserOrder": {25: 525},
    "Operation": {26: 526, 27: 527},
    "VolunteerRole": {28: 528, 29: 529},
    "EntityFile": {31: 531, 32: 532},
    "Message": {33: 533},
}

SHAPES = [("2021", "2023"), ("2021", "head"), ("2023", "2023"), ("2023", "head")]


def ctx_for(source="2021", target="head", moves=None, **kw):
    return TransformContext(source, target, moves if moves is not None else MOVES, **kw)


def check_columns(out, ctx, table):
    assert out is not None
    assert tuple(out) == ctx.columns(table)
    assert set(out) == set(TARGET_COLUMNS[ctx.target_shape][table])


# ---- sample source rows ---------------------------------------------------------------------

def user_row(**kw):
    r = {"id": 10, "lang": "fr", "pass": "5f4dcc3b", "pass2": None, "rights": 1,
         "firstName": "Jean", "lastName": "DUPONT", "email": "Jean@Example.fr", "phone": None,
         "firstName2": None, "lastName2": None, "email2": " Marie@Example.FR ", "phone2": None,
         "address1": None, "address2": None, "zipCode": "60800", "city": "Crépy",
         "birthDate": None, "nationality": "FR", "countryOfResidence": "FR",
         "cdate": D(2019, 5, 1, 10, 0), "ldate": D(2022, 1, 2, 3, 4), "flags": 2,
         "tosVersion": 3, "tutoState": b"n", "apiKey": "secret-key",
         "currentRefreshToken": "jwt"}
    r.update(kw)
    return r


def group_row(shape="2021", **kw):
    r = {"id": 1, "name": "AMAP du Valois", "userId": 10, "txtIntro": None, "txtHome": None,
         "txtDistrib": None, "extUrl": None, "membershipRenewalDate": None,
         "membershipFee": 10, "flags": 4, "betaFlags": 2, "hasMembership": 1, "groupType": 0,
         "imageId": 30, "cdate": D(2018, 1, 1), "placeId": 5, "regOption": 1,
         "currency": "€", "currencyCode": "EUR", "legalReprId": 99, "checkOrder": None,
         "IBAN": None, "allowMoneyPotWithNegativeBalance": None,
         "volunteersMailDaysBeforeDutyPeriod": 4, "volunteersMailContent": "x",
         "vacantVolunteerRolesMailDaysBeforeDutyPeriod": 7, "daysBeforeDutyPeriodsOpen": 60,
         "alertMailContent": "y"}
    vat = '[{"label":"TVA alimentaire","value":5.5}]'
    pay = '["cash","check","mangopay-ec","transfer"]'
    if shape == "2021":
        r.update(vatRates2=vat, allowedPaymentsType2=pay)
    else:
        r.update(vatRates=vat, allowedPaymentsType=pay,
                 disabled="TOO_MANY_MULTI_DISTRIBS_NOT_VALIDATED")
    r.update(kw)
    return r


def catalog_row(**kw):
    r = {"id": 7, "name": "Légumes", "type": 0, "userId": 11, "vendorId": 40,
         "startDate": D(2022, 1, 1), "endDate": D(2022, 12, 31, 23, 59, 59),
         "description": None, "groupId": 1, "distributorNum": 2, "flags": 3,
         "percentageValue": None, "percentageName": None, "orderStartDaysBeforeDistrib": None,
         "orderEndHoursBeforeDistrib": 24, "requiresOrdering": None,
         "distribMinOrdersTotal": None, "catalogMinOrdersTotal": 12.5,
         "absentDistribsMaxNb": None, "absencesStartDate": None, "absencesEndDate": None,
         "hasPayments": 1}
    r.update(kw)
    return r


def product_row(**kw):
    r = {"id": 70, "name": "Panier", "ref": "P1", "catalogId": 7, "price": 13.0, "vat": 5.5,
         "desc": None, "stock": 8.0, "unitType": 0, "qt": 1.0, "organic": 1,
         "variablePrice": 0, "multiWeight": 0, "wholesale": 1, "retail": 0, "bulk": 0,
         "smallQt": 0.5, "imageId": 30, "txpProductId": 679, "active": 1}
    r.update(kw)
    return r


def md_row(**kw):
    r = {"id": 20, "distribStartDate": D(2022, 6, 2, 18, 0), "distribEndDate": D(2022, 6, 2, 20),
         "orderStartDate": None, "orderEndDate": None, "slotsMode": b"n", "slots": b"n",
         "inNeedUserIds": None, "voluntaryUsers": None, "timeSlots": None, "groupId": 1,
         "placeId": 5, "distributionCycleId": 9, "counterBeforeDistrib": 0.0,
         "volunteerRolesIds": "28, 29,999", "validated": 1}
    r.update(kw)
    return r


def distribution_row(**kw):
    r = {"id": 21, "catalogId": 7, "multiDistribId": 20, "placeId": 5,
         "date": D(2022, 6, 2, 18), "end": D(2022, 6, 2, 20), "orderStartDate": None,
         "orderEndDate": D(2022, 6, 1, 12)}
    r.update(kw)
    return r


# ---- User -----------------------------------------------------------------------------------

@pytest.mark.parametrize("source,target", SHAPES)
def test_user_rights_reset_secrets_not_copied(source, target):
    ctx = ctx_for(source, target)
    out = transform_row("User", user_row(), ctx)
    check_columns(out, ctx, "User")
    assert out["id"] == 110
    assert out["rights"] == 0
    assert out["apiKey"] is None and out["currentRefreshToken"] is None
    assert out["pass"] == "5f4dcc3b"
    assert out["pass2"] == ""  # NOT NULL in Camap
    assert out["email"] == "Jean@Example.fr"  # kept as is
    assert ctx.count("User", "flag_cleared", "rights") == 1
    assert ctx.count("User", "nulled", "apiKey") == 1
    assert ctx.count("User", "nulled", "currentRefreshToken") == 1
    assert ctx.count("User", "defaulted", "pass2") == 1
    if target == "2023":
        assert out["tosVersion"] == 3
    else:
        assert "tosVersion" not in out
    assert "tutoState" not in out


def test_user_rights_zero_not_noted_and_pass2_kept():
    ctx = ctx_for()
    out = transform_row("User", user_row(rights=0, pass2="$2b$10$x", apiKey=None,
                                         currentRefreshToken=None), ctx)
    assert out["rights"] == 0 and out["pass2"] == "$2b$10$x"
    assert ctx.counts == {}


def test_user_never_gets_id_1():
    ctx = ctx_for(moves={"User": {10: 1}})
    with pytest.raises(TransformError, match="User id=10.*id 1"):
        transform_row("User", user_row(), ctx)


def test_email_keys():
    assert email_keys(user_row()) == {"jean@example.fr", "marie@example.fr"}
    assert email_keys({"email": "  ", "email2": None}) == set()


def test_user_zero_dates():
    ctx = ctx_for()
    out = transform_row("User", user_row(ldate="0000-00-00 00:00:00", birthDate="0000-00-00"),
                        ctx)
    assert out["ldate"] is None and out["birthDate"] is None
    assert ctx.count("User", "zero_date") == 2
    # cdate NOT NULL: zero → ldate
    ctx = ctx_for()
    out = transform_row("User", user_row(cdate="0000-00-00 00:00:00"), ctx)
    assert out["cdate"] == D(2022, 1, 2, 3, 4)
    assert ctx.count("User", "zero_date", "cdate") == 1
    assert ctx.count("User", "defaulted", "cdate", "from ldate") == 1
    # cdate zero, no ldate → documented fallback; a driver's None in a NOT NULL column too
    ctx = ctx_for()
    out = transform_row("User", user_row(cdate=None, ldate=None), ctx)
    assert out["cdate"] == FALLBACK_DATETIME
    assert ctx.count("User", "zero_date", "cdate") == 1
    assert ctx.count("User", "defaulted", "cdate") == 1


def test_missing_own_id_is_an_error():
    ctx = ctx_for(moves={"User": {}})
    with pytest.raises(TransformError, match="User id=10 column id"):
        transform_row("User", user_row(), ctx)


def test_unknown_table():
    with pytest.raises(KeyError):
        transform_row("TmpBasket", {"id": 1}, ctx_for())


# ---- Vendor ---------------------------------------------------------------------------------

def vendor_row(**kw):
    r = {"id": 40, "name": "GAEC Yabon", "peopleName": None, "profession": 3, "email": "v@x.fr",
         "phone": None, "address1": None, "address2": None, "zipCode": "60000",
         "city": "Beauvais", "country": None, "desc": None, "cdate": "0000-00-00 00:00:00",
         "companyNumber": "1" * 80, "vatNumber": "FR1", "legalStatus": 5, "companyCapital": 10,
         "siretInfos": b"n", "activityCode": "01.13Z", "vendorPolicy": 1, "tosVersion": 2,
         "linkText": None, "linkUrl": None, "directory": 1, "longDesc": None,
         "offCagette": "Marché du samedi", "imageId": 30, "userId": 11, "status": None,
         "disabled": None, "isTest": 0, "lat": None, "lng": None, "betaFlags": 1}
    r.update(kw)
    return r


@pytest.mark.parametrize("source,target", SHAPES)
def test_vendor_shapes(source, target):
    ctx = ctx_for(source, target)
    out = transform_row("Vendor", vendor_row(), ctx)
    check_columns(out, ctx, "Vendor")
    assert out["id"] == 140 and out["imageId"] == 130
    assert out["cdate"] is None and ctx.count("Vendor", "zero_date", "cdate") == 1
    for c in ("vatNumber", "legalStatus", "siretInfos", "vendorPolicy", "isTest", "betaFlags",
              "offCagette", "tosVersion"):
        assert c not in out
    if target == "head":
        assert out["companyNumber"] == "1" * 64
        assert ctx.count("Vendor", "truncated", "companyNumber") == 1
        assert out["showEmail"] == 1 and out["showPhone"] == 1
        assert out["userId"] is None  # default: not linked
        assert ctx.count("Vendor", "nulled", "userId") == 1
    else:
        assert out["offCamap"] == "Marché du samedi"
        assert "status" in out and "userId" not in out and "companyNumber" not in out


def test_vendor_user_mapped_on_option_and_company_not_null():
    ctx = ctx_for(map_vendor_user=True, target_not_null={"Vendor": {"companyNumber"}})
    out = transform_row("Vendor", vendor_row(companyNumber=None), ctx)
    assert out["userId"] == 111
    assert out["companyNumber"] == ""
    assert ctx.count("Vendor", "defaulted", "companyNumber") == 1
    ctx = ctx_for(map_vendor_user=True)
    out = transform_row("Vendor", vendor_row(userId=999, companyNumber=None), ctx)
    assert out["userId"] is None and out["companyNumber"] is None
    assert ctx.count("Vendor", "nulled", "userId") == 1


# ---- Group ----------------------------------------------------------------------------------

@pytest.mark.parametrize("source,target", SHAPES)
def test_group_shapes(source, target):
    ctx = ctx_for(source, target)
    out = transform_row("Group", group_row(source), ctx)
    check_columns(out, ctx, "Group")
    assert out["id"] == 501
    assert out["vatRates"] == '[{"label":"TVA alimentaire","value":5.5}]'
    assert json.loads(out["allowedPaymentsType"]) == ["cash", "check", "transfer"]
    assert ctx.count("Group", "dropped_ref") == 1  # mangopay-ec
    assert out["userId"] == 110 and out["imageId"] == 130 and out["placeId"] == 505
    assert out["legalReprId"] is None  # user 99 does not move
    assert ctx.count("Group", "nulled", "legalReprId") == 1
    assert out["disabled"] is None
    for c in ("vatRates2", "allowedPaymentsType2"):
        assert c not in out
    if target == "head":
        assert out["flags"] == 4 | 6144
        assert out["daysAfterClosingBeforeHidingDutyPeriods"] == 30
        assert "betaFlags" not in out and "groupType" not in out
    else:
        assert out["flags"] == 4
        assert out["betaFlags"] == 2 and out["groupType"] == 0
        assert "daysAfterClosingBeforeHidingDutyPeriods" not in out
    if source == "2023":
        assert ctx.count("Group", "flag_cleared", "disabled") == 1


def test_group_head_flags_or_is_idempotent():
    ctx = ctx_for("2023", "head")
    out = transform_row("Group", group_row("2023", flags=4 | 2048 | 4096), ctx)
    assert out["flags"] == 4 | 6144
    out2 = transform_row("Group", group_row("2023", flags=out["flags"]), ctx)
    assert out2["flags"] == out["flags"]


def test_shop_mode_group_refused():
    with pytest.raises(TransformError, match="shop-mode"):
        transform_row("Group", group_row(flags=2 | 16), ctx_for())


def test_transform_rows_leaves_dropped_rows_out():
    from bascule.transform import transform_rows
    ctx = ctx_for()
    rows = [{"id": 5, "name": "A", "zipCode": "1", "city": "X", "groupId": 1},
            {"id": 6, "name": "B", "zipCode": "1", "city": "X", "groupId": 2}]
    assert [r["id"] for r in transform_rows("Place", rows, ctx)] == [505]
    assert ctx.count("Place", "dropped_row") == 1


def test_group_malformed_json_and_legacy_blob():
    ctx = ctx_for("2021", "head")
    out = transform_row("Group", group_row(vatRates2="[{oops", allowedPaymentsType2=None,
                                           allowedPaymentsType=b"ay4:cashh"), ctx)
    assert out["vatRates"] is None and out["allowedPaymentsType"] is None
    assert ctx.count("Group", "malformed", "vatRates2") == 1
    assert ctx.count("Group", "ignored", "allowedPaymentsType") == 1
    # legacy serialized vatRates next to a NULL vatRates2: never copied
    ctx = ctx_for("2021", "head")
    out = transform_row("Group", group_row(vatRates2=None, vatRates=b"ai1h"), ctx)
    assert out["vatRates"] is None


# ---- Place, Catalog, Product ----------------------------------------------------------------

def test_place_nonmoving_group_drops_row():
    ctx = ctx_for()
    row = {"id": 5, "name": "Salle", "address1": None, "address2": None, "zipCode": "1",
           "city": "X", "country": None, "lat": None, "lng": None, "groupId": 2}
    assert transform_row("Place", row, ctx) is None
    assert ctx.count("Place", "dropped_row", "groupId") == 1
    row["groupId"] = 1
    assert transform_row("Place", row, ctx)["groupId"] == 501


@pytest.mark.parametrize("source,target", SHAPES)
def test_catalog_shapes_and_backfills(source, target):
    ctx = ctx_for(source, target)
    out = transform_row("Catalog", catalog_row(), ctx)
    check_columns(out, ctx, "Catalog")
    assert out["id"] == 507 and out["groupId"] == 501 and out["vendorId"] == 140
    assert out["userId"] == 111
    assert out["distribMinOrdersTotal"] == 0 and out["absentDistribsMaxNb"] == 0
    assert out["catalogMinOrdersTotal"] == 12.5
    assert ctx.count("Catalog", "defaulted") == 2
    assert "requiresOrdering" not in out and "hasPayments" not in out
    assert out["flags"] == 3  # not linked: untouched
    if target == "head":
        assert out["firstDistribId"] is None
    else:
        assert "firstDistribId" not in out


def test_linked_catalog_stock_flag():
    ctx = ctx_for(linked_catalogs={7})
    out = transform_row("Catalog", catalog_row(flags=1 | 2 | 4), ctx)
    assert out["flags"] == 1 | 4
    assert ctx.count("Catalog", "flag_cleared", "flags") == 1
    ctx = ctx_for(linked_catalogs={7}, keep_linked_stock=True)
    out = transform_row("Catalog", catalog_row(flags=1 | 2 | 4), ctx)
    assert out["flags"] == 7 and ctx.count(action="flag_cleared") == 0
    ctx = ctx_for(linked_catalogs={7})
    out = transform_row("Catalog", catalog_row(flags=1), ctx)  # no stock bit: nothing to clear
    assert out["flags"] == 1 and ctx.count(action="flag_cleared") == 0


def test_catalog_dropped_when_vendor_does_not_move_and_cascade():
    ctx = ctx_for()
    assert transform_row("Catalog", catalog_row(vendorId=41), ctx) is None
    assert ctx.count("Catalog", "dropped_row", "vendorId") == 1
    # its products are dropped in turn, although the id map still holds the catalog
    assert transform_row("Product", product_row(), ctx) is None
    assert ctx.count("Product", "dropped_row", "catalogId") == 1


def test_catalog_zero_end_date():
    ctx = ctx_for()
    out = transform_row("Catalog", catalog_row(endDate="0000-00-00 00:00:00"), ctx)
    assert out["endDate"] == D(2022, 1, 1)
    assert ctx.count("Catalog", "zero_date", "endDate") == 1


@pytest.mark.parametrize("source,target", SHAPES)
def test_product_shapes(source, target):
    ctx = ctx_for(source, target)
    out = transform_row("Product", product_row(), ctx)
    check_columns(out, ctx, "Product")
    assert out["catalogId"] == 507 and out["imageId"] == 130
    assert "txpProductId" not in out
    if target == "head":
        assert out["stockTracking"] == 2 and out["stockTrackingPerDistrib"] is None
        assert "wholesale" not in out and "smallQt" not in out
    else:
        assert out["wholesale"] == 1 and out["retail"] == 0 and out["smallQt"] == 0.5
        assert "stockTracking" not in out


def test_product_without_stock_and_dangling_image():
    ctx = ctx_for()
    out = transform_row("Product", product_row(stock=None, imageId=31), ctx)
    assert out["stockTracking"] is None and out["imageId"] is None
    assert ctx.count("Product", "nulled", "imageId") == 1
    ctx = ctx_for("2023", "2023")
    out = transform_row("Product", product_row(wholesale=None, retail=None), ctx)
    assert out["wholesale"] == 0 and out["retail"] == 0


# ---- DistributionCycle, MultiDistrib, Distribution ------------------------------------------

def test_distribution_cycle_backfills():
    ctx = ctx_for()
    row = {"id": 9, "groupId": 1, "cycleType": 0, "startDate": D(2022, 1, 1),
           "endDate": D(2022, 12, 31), "startHour": D(2022, 1, 1, 18),
           "endHour": D(2022, 1, 1, 20), "daysBeforeOrderStart": 7, "daysBeforeOrderEnd": 1,
           "openingHour": None, "closingHour": "0000-00-00 00:00:00", "placeId": 5}
    out = transform_row("DistributionCycle", row, ctx)
    check_columns(out, ctx, "DistributionCycle")
    assert out["openingHour"] == D(2022, 1, 1, 18) and out["closingHour"] == D(2022, 1, 1, 18)
    assert ctx.count("DistributionCycle", "defaulted") == 2
    assert ctx.count("DistributionCycle", "zero_date", "closingHour") == 1


@pytest.mark.parametrize("source,target", SHAPES)
def test_multidistrib_shapes(source, target):
    ctx = ctx_for(source, target)
    row = md_row()
    if source == "2023":
        for c in ("slotsMode", "slots", "inNeedUserIds", "voluntaryUsers", "timeSlots"):
            del row[c]
    out = transform_row("MultiDistrib", row, ctx)
    check_columns(out, ctx, "MultiDistrib")
    assert out["groupId"] == 501 and out["placeId"] == 505 and out["distributionCycleId"] == 509
    assert out["volunteerRolesIds"] == "528,529"
    assert ctx.count("MultiDistrib", "dropped_ref", "volunteerRolesIds") == 1
    assert out["orderEndDate"] == D(2022, 6, 1, 18)  # distribStartDate - 24h
    assert out["orderStartDate"] == D(2022, 5, 3, 18)  # distribStartDate - 30 days
    assert out["orderStartDate"] <= out["orderEndDate"]
    assert ctx.count("MultiDistrib", "defaulted") == 2
    for c in ("slotsMode", "slots", "inNeedUserIds", "voluntaryUsers", "timeSlots"):
        assert c not in out
    if target == "2023":
        assert out["validatedStatus"] == "VALIDATED" and out["validated"] == 1
        assert out["counterBeforeDistrib"] == 0.0 and out["validatedDate"] is None
    else:
        assert "validatedStatus" not in out and "counterBeforeDistrib" not in out


def test_multidistrib_validated_status_variants():
    ctx = ctx_for("2021", "2023")
    assert transform_row("MultiDistrib", md_row(validated=None), ctx)["validatedStatus"] == \
        "NOT_VALIDATED"
    ctx = ctx_for("2023", "2023")
    out = transform_row("MultiDistrib", md_row(validated=None, validatedStatus="PAID",
                                               validatedDate=D(2022, 6, 3)), ctx)
    assert out["validatedStatus"] == "VALIDATED" and out["validatedDate"] == D(2022, 6, 3)


def test_multidistrib_keeps_given_order_dates_and_orders_start_before_end():
    ctx = ctx_for()
    out = transform_row("MultiDistrib", md_row(orderStartDate=D(2022, 5, 20),
                                               orderEndDate=D(2022, 6, 1, 8)), ctx)
    assert out["orderStartDate"] == D(2022, 5, 20) and out["orderEndDate"] == D(2022, 6, 1, 8)
    assert ctx.count("MultiDistrib", "defaulted") == 0
    # only a start given, after distribStartDate - 24h: end is not put before the start
    ctx = ctx_for()
    out = transform_row("MultiDistrib", md_row(orderStartDate=D(2022, 6, 2, 8)), ctx)
    assert out["orderEndDate"] == D(2022, 6, 2, 8)


@pytest.mark.parametrize("source,target", SHAPES)
def test_distribution_order_start_from_multidistrib(source, target):
    mds = {20: md_row(orderStartDate=D(2022, 5, 25, 9))}
    ctx = ctx_for(source, target, multidistrib=mds.get)
    out = transform_row("Distribution", distribution_row(), ctx)
    check_columns(out, ctx, "Distribution")
    assert out["orderStartDate"] == D(2022, 5, 25, 9)
    assert out["orderEndDate"] == D(2022, 6, 1, 12)
    assert ctx.count("Distribution", "defaulted", "orderStartDate") == 1
    if target == "head":
        assert out["quantities"] == 1
    else:
        assert "quantities" not in out


def test_distribution_order_dates_without_hook_and_zero_end():
    ctx = ctx_for()
    out = transform_row("Distribution", distribution_row(orderEndDate="0000-00-00 00:00:00"),
                        ctx)
    assert out["orderEndDate"] == D(2022, 6, 1, 18)  # date - 24h
    assert out["orderStartDate"] == D(2022, 5, 3, 18)  # date - 30 days
    assert ctx.count("Distribution", "zero_date", "orderEndDate") == 1


def test_distribution_place_fallback_and_drops():
    mds = {20: md_row()}
    ctx = ctx_for(multidistrib=mds.get)
    out = transform_row("Distribution", distribution_row(placeId=77), ctx)
    assert out["placeId"] == 505
    assert ctx.count("Distribution", "defaulted", "placeId") == 1
    ctx = ctx_for()
    assert transform_row("Distribution", distribution_row(placeId=77), ctx) is None
    assert transform_row("Distribution", distribution_row(catalogId=99), ctx) is None
    assert transform_row("Distribution", distribution_row(multiDistribId=98), ctx) is None
    assert ctx.count("Distribution", "dropped_row") == 3


# ---- Subscription, Basket, UserOrder, Operation ---------------------------------------------

def subscription_row(**kw):
    r = {"id": 23, "userId": 10, "userId2": 12, "catalogId": 7, "startDate": D(2022, 1, 1),
         "endDate": D(2022, 12, 31), "isPaid": 1,
         "defaultOrders": '[{"productId":70,"quantity":1,"userId2":12},'
                          '{"productId":72,"quantity":2}]',
         "absentDistribIds": "21,23"}
    r.update(kw)
    return r


@pytest.mark.parametrize("source,target", SHAPES)
def test_subscription(source, target):
    ctx = ctx_for(source, target)
    out = transform_row("Subscription", subscription_row(), ctx)
    check_columns(out, ctx, "Subscription")
    assert "isPaid" not in out
    assert out["userId"] == 110 and out["userId2"] == 112 and out["catalogId"] == 507
    assert json.loads(out["defaultOrders"]) == [{"productId": 570, "quantity": 1,
                                                 "userId2": 112}]
    assert out["absentDistribIds"] == "521"
    assert ctx.count("Subscription", "dropped_ref", "defaultOrders") == 1
    assert ctx.count("Subscription", "dropped_ref", "absentDistribIds") == 1


def test_subscription_product_price_hook_and_drops():
    ctx = ctx_for(product_price={70: 13.0}.get)
    out = transform_row("Subscription", subscription_row(), ctx)
    assert json.loads(out["defaultOrders"])[0]["productPrice"] == 13.0
    assert transform_row("Subscription", subscription_row(userId=99), ctx) is None
    assert ctx.count("Subscription", "dropped_row", "userId") == 1


def basket_row(shape="2021", **kw):
    r = {"id": 24, "cdate": D(2022, 6, 1), "num": 3, "total": None, "userId": 10,
         "multiDistribId": 20}
    if shape == "2021":
        r.update(ref="B-24", data=b"q:40y5:amounth")
    else:
        r.update(total=27.0, status="CONFIRMED", data="")
    r.update(kw)
    return r


@pytest.mark.parametrize("source,target", SHAPES)
def test_basket_shapes(source, target):
    ctx = ctx_for(source, target, basket_total={24: 26.5}.get)
    out = transform_row("Basket", basket_row(source), ctx)
    check_columns(out, ctx, "Basket")
    assert out["status"] == "CONFIRMED" and out["data"] == ""
    assert out["multiDistribId"] == 520 and out["userId"] == 110 and out["num"] == 3
    assert "ref" not in out
    if source == "2021":
        assert out["total"] == 26.5
        assert ctx.count("Basket", "defaulted", "total") == 1
        assert ctx.count("Basket", "ignored", "data") == 1
    else:
        assert out["total"] == 27.0


def test_basket_total_defaults_to_zero_without_hook():
    ctx = ctx_for()
    assert transform_row("Basket", basket_row(), ctx)["total"] == 0
    assert ctx.count("Basket", "defaulted", "total", "NULL → 0") == 1


def test_open_basket_dropped_or_moved():
    data = '{"products":[{"productId":70,"quantity":2},{"productId":72,"quantity":1}]}'
    ctx = ctx_for("2023", "head")
    assert transform_row("Basket", basket_row("2023", status="OPEN", data=data), ctx) is None
    assert ctx.count("Basket", "dropped_row", "status") == 1
    ctx = ctx_for("2023", "head", move_open_baskets=True)
    out = transform_row("Basket", basket_row("2023", status="OPEN", data=data), ctx)
    assert out["status"] == "OPEN"
    assert json.loads(out["data"]) == {"products": [{"productId": 570, "quantity": 2}]}
    assert ctx.count("Basket", "dropped_ref", "data") == 1


def order_row(**kw):
    r = {"id": 25, "userId": 10, "userId2": None, "quantity": 2.0, "productId": 70,
         "productPrice": 13.0, "feesRate": 0.0, "paid": 0, "distributionId": 21,
         "basketId": 24, "subscriptionId": 23, "date": D(2022, 5, 30), "flags": 0}
    r.update(kw)
    return r


@pytest.mark.parametrize("source,target", SHAPES)
def test_user_order(source, target):
    ctx = ctx_for(source, target)
    out = transform_row("UserOrder", order_row(userId2=99), ctx)
    check_columns(out, ctx, "UserOrder")
    assert (out["basketId"], out["distributionId"], out["productId"], out["userId"],
            out["subscriptionId"]) == (524, 521, 570, 110, 523)
    assert out["userId2"] is None and ctx.count("UserOrder", "nulled", "userId2") == 1


def test_user_order_without_basket_uses_synthetic_key():
    from bascule.transform import synth_basket_key
    key = synth_basket_key(10, 20)
    moves = dict(MOVES, Basket={24: 524, key: 600})
    ctx = ctx_for(moves=moves, distribution_md={21: 20}.get)
    out = transform_row("UserOrder", order_row(basketId=None), ctx)
    assert out["basketId"] == 600
    # joins the user's existing basket at that multidistrib when there is one
    ctx = ctx_for(moves=moves, distribution_md={21: 20}.get,
                  basket_for=lambda u, md: 24 if (u, md) == (10, 20) else None)
    assert transform_row("UserOrder", order_row(basketId=None), ctx)["basketId"] == 524
    # without the hook the multidistrib is unknown: the order cannot load
    ctx = ctx_for(moves=moves)
    assert transform_row("UserOrder", order_row(basketId=None), ctx) is None
    assert ctx.count("UserOrder", "dropped_row", "basketId") == 1


def test_user_order_without_distribution_dropped():
    ctx = ctx_for()
    assert transform_row("UserOrder", order_row(distributionId=None, basketId=None), ctx) is None
    assert ctx.count("UserOrder", "dropped_row", "distributionId",
                     "order without distribution") == 1
    assert transform_row("UserOrder", order_row(productId=72), ctx) is None
    assert ctx.count("UserOrder", "dropped_row", "productId") == 1


def test_dropped_distribution_cascades_to_orders():
    ctx = ctx_for()
    assert transform_row("Distribution", distribution_row(catalogId=99), ctx) is None
    assert transform_row("UserOrder", order_row(), ctx) is None
    assert ctx.count("UserOrder", "dropped_row", "distributionId") == 1


def operation_row(shape="2021", **kw):
    r = {"id": 27, "name": "Paiement", "amount": 26.0, "date": D(2022, 6, 2), "type": 2,
         "relationId": 26, "userId": 10, "groupId": 1, "pending": 0, "basketId": None,
         "subscriptionId": 23}
    if shape == "2021":
        r.update(data=b"oy4:typey5:checkg", data2='{"type":"check"}')
    else:
        r.update(data='{"type":"check"}')
    r.update(kw)
    return r


@pytest.mark.parametrize("source,target", SHAPES)
def test_operation_shapes(source, target):
    ctx = ctx_for(source, target)
    out = transform_row("Operation", operation_row(source), ctx)
    check_columns(out, ctx, "Operation")
    assert out["data"] == '{"type":"check"}'
    assert out["relationId"] == 526 and out["subscriptionId"] == 523 and out["basketId"] is None
    assert "data2" not in out
    data_col = "data2" if source == "2021" else "data"
    ctx = ctx_for(source, target)
    out = transform_row("Operation", operation_row(
        source, type=1, **{data_col: '{"subscriptionId":23}'}), ctx)
    assert out["data"] == '{"subscriptionId":523}'
    ctx = ctx_for(source, target)
    out = transform_row("Operation", operation_row(
        source, type=0, basketId=88, **{data_col: '{"basketId":88}'}), ctx)
    assert out["data"] == "{}" and out["basketId"] is None
    assert ctx.count("Operation", "dropped_ref", data_col) == 1
    assert ctx.count("Operation", "nulled", "basketId") == 1


def test_operation_2021_serialized_data_without_data2():
    ctx = ctx_for("2021", "head")
    out = transform_row("Operation", operation_row(data2=None), ctx)
    assert out["data"] is None
    assert ctx.count("Operation", "ignored", "data") == 1


def test_operation_malformed_data():
    ctx = ctx_for("2023", "head")
    out = transform_row("Operation", operation_row("2023", data="{basketId:"), ctx)
    assert out["data"] is None and ctx.count("Operation", "malformed", "data") == 1


# ---- membership, rights, waiting list, volunteers, files, messages --------------------------

def test_membership_composite_key():
    ctx = ctx_for()
    row = {"groupId": 1, "userId": 11, "distributionId": 20, "operationId": 99,
           "amount": 10.0, "year": 2022, "date": "0000-00-00"}
    out = transform_row("Membership", row, ctx)
    check_columns(out, ctx, "Membership")
    assert (out["groupId"], out["userId"], out["year"]) == (501, 111, 2022)
    assert out["distributionId"] == 520  # a MultiDistrib id
    assert out["operationId"] is None and out["date"] is None
    assert ctx.count("Membership", "nulled", "operationId") == 1
    assert ctx.examples[("Membership", "operationId", "nulled", "Operation does not move")] == \
        [((11, 1, 2022), 99)]
    assert transform_row("Membership", dict(row, userId=98), ctx) is None
    assert ctx.count("Membership", "dropped_row") == 1


@pytest.mark.parametrize("source,target", SHAPES)
def test_user_group_rights(source, target):
    rights = '[{"right":"GroupAdmin","params":null},{"right":"ContractAdmin","params":["7"]},' \
             '{"right":"ContractAdmin","params":["9"]}]'
    row = {"groupId": 1, "userId": 10, "balance": -3.5}
    if source == "2021":
        row.update(rights=b"ajy10:AmapAdmin:0h", rights2=rights)
    else:
        row.update(rights=rights)
    ctx = ctx_for(source, target)
    out = transform_row("UserGroup", row, ctx)
    check_columns(out, ctx, "UserGroup")
    assert json.loads(out["rights"]) == [{"right": "GroupAdmin", "params": None},
                                         {"right": "ContractAdmin", "params": ["507"]}]
    assert out["balance"] == -3.5
    assert ctx.count("UserGroup", "dropped_ref") == 2  # the id, then the emptied right


def test_user_group_2021_blob_only_and_malformed():
    ctx = ctx_for("2021", "head")
    row = {"groupId": 1, "userId": 10, "balance": None, "rights": b"ajy10:AmapAdmin:0h",
           "rights2": None}
    out = transform_row("UserGroup", row, ctx)
    assert out["rights"] is None and out["balance"] == 0
    assert ctx.count("UserGroup", "ignored", "rights") == 1
    ctx = ctx_for("2023", "head")
    out = transform_row("UserGroup", {"groupId": 1, "userId": 10, "balance": 0,
                                      "rights": '[{"right":"GroupAdmin"'}, ctx)
    assert out["rights"] is None and ctx.count("UserGroup", "malformed", "rights") == 1


def test_waiting_list_and_volunteers():
    ctx = ctx_for()
    out = transform_row("WaitingList", {"amapId": 1, "userId": 12,
                                        "date": "0000-00-00 00:00:00", "message": "Bonjour"},
                        ctx)
    check_columns(out, ctx, "WaitingList")
    assert out["amapId"] == 501 and out["date"] == FALLBACK_DATETIME
    assert transform_row("Volunteer", {"userId": 10, "multiDistribId": 20,
                                       "volunteerRoleId": 28}, ctx) == \
        {"userId": 110, "multiDistribId": 520, "volunteerRoleId": 528}
    assert transform_row("Volunteer", {"userId": 10, "multiDistribId": 20,
                                       "volunteerRoleId": 30}, ctx) is None


@pytest.mark.parametrize("source,target", SHAPES)
def test_volunteer_role(source, target):
    ctx = ctx_for(source, target)
    out = transform_row("VolunteerRole", {"id": 28, "name": "Accueil", "groupId": 1,
                                          "catalogId": 8}, ctx)
    check_columns(out, ctx, "VolunteerRole")
    assert out["catalogId"] == 508
    if target == "head":
        assert out["enabledByDefault"] == 1


def test_entity_file_by_type():
    ctx = ctx_for()
    base = {"id": 31, "fileId": 30, "documentType": "document", "data": "members"}
    out = transform_row("EntityFile", dict(base, entityType="group", entityId=1), ctx)
    check_columns(out, ctx, "EntityFile")
    assert out["entityId"] == 501 and out["fileId"] == 130
    assert transform_row("EntityFile", dict(base, entityType="catalog", entityId=8),
                         ctx)["entityId"] == 508
    assert transform_row("EntityFile", dict(base, id=32, entityType="vendor", entityId=40,
                                            documentType="logo"), ctx)["entityId"] == 140
    assert transform_row("EntityFile", dict(base, entityType="pcatalog", entityId=1), ctx) is None
    assert transform_row("EntityFile", dict(base, entityType="catalog", entityId=9), ctx) is None
    assert ctx.count("EntityFile", "dropped_row", "entityType") == 1
    assert ctx.count("EntityFile", "dropped_row", "entityId") == 1


def test_message_recipients_and_defaults():
    ctx = ctx_for()
    row = {"id": 33, "amapId": 1, "senderId": 99, "recipientListId": "all",
           "recipients": b"ay17:jean%40example.fry5:a%40bR0h", "title": "Hello",
           "body": "<p>x</p>", "date": D(2022, 1, 1), "attachments": None}
    out = transform_row("Message", row, ctx)
    check_columns(out, ctx, "Message")
    assert json.loads(out["recipients"]) == ["jean@example.fr", "a@b", "jean@example.fr"]
    assert out["slateContent"] == "" and out["amapId"] == 501 and out["senderId"] is None
    out = transform_row("Message", dict(row, recipients='["x@y.z"]', slateContent="[]"), ctx)
    assert out["recipients"] == '["x@y.z"]' and out["slateContent"] == "[]"


def test_file():
    ctx = ctx_for()
    out = transform_row("File", {"id": 30, "name": "logo.png", "cdate": D(2020, 1, 1),
                                 "data": b"\x89PNG"}, ctx)
    assert out == {"id": 130, "name": "logo.png", "data": b"\x89PNG", "cdate": D(2020, 1, 1)}


# ---- cross-cutting --------------------------------------------------------------------------

def test_mojibake_columns_repaired_and_noted():
    bad = "Crépy-en-Valois".encode().decode("sloppy-windows-1252")
    ctx = ctx_for(mojibake_columns={("User", "city"), ("User", "lastName")})
    row = user_row(city=bad, lastName="CÔTÉ", firstName=bad)
    out = transform_row("User", row, ctx)
    assert out["city"] == "Crépy-en-Valois"
    assert out["lastName"] == "CÔTÉ"  # correct text in a flagged column is left alone
    assert out["firstName"] == bad  # column not flagged: untouched
    assert row["city"] == bad  # the input row is not modified
    assert ctx.count("User", "repaired") == 1
    assert ctx.count("User", "repaired", "city") == 1


def test_target_columns_from_reflection():
    cols = {"Place": {"id", "name", "city", "zipCode", "groupId", "someNewColumn"}}
    ctx = ctx_for(target_columns=cols)
    row = {"id": 5, "name": "Salle", "address1": "1 rue", "address2": None, "zipCode": "1",
           "city": "X", "country": None, "lat": 1.0, "lng": 2.0, "groupId": 1}
    out = transform_row("Place", row, ctx)
    assert set(out) == {"id", "name", "city", "zipCode", "groupId"}
    assert ctx.unfilled("Place") == {"someNewColumn"}
    assert ctx.target_columns("Place") == cols["Place"]


def test_notes_keep_bounded_examples():
    ctx = ctx_for(examples_per_key=3)
    for i in range(100):
        ctx.note("UserOrder", i, "distributionId", "dropped_row", "order without distribution")
    key = ("UserOrder", "distributionId", "dropped_row", "order without distribution")
    assert ctx.counts[key] == 100
    assert ctx.examples[key] == [(0,), (1,), (2,)]
    summary = ctx.notes_summary()
    assert summary[0]["count"] == 100 and len(summary[0]["examples"]) == 3
    other = ctx_for(examples_per_key=3)
    other.note("UserOrder", 500, "distributionId", "dropped_row", "order without distribution")
    ctx.merge_notes(other)
    assert ctx.counts[key] == 101 and len(ctx.examples[key]) == 3


def test_every_table_produces_its_known_columns_in_both_shapes():
    assert set(PRODUCED_COLUMNS) == set(TARGET_COLUMNS["head"]) == set(TARGET_COLUMNS["2023"])
    for shape in ("2023", "head"):
        for t, cols in TARGET_COLUMNS[shape].items():
            assert set(cols) <= set(PRODUCED_COLUMNS[t])


def test_bad_shapes_rejected():
    with pytest.raises(ValueError):
        TransformContext("2022", "head", MOVES)
    with pytest.raises(ValueError):
        TransformContext("2021", "2024", MOVES)


def test_lookup_callable():
    calls = []

    def lookup(table, old):
        calls.append((table, old))
        return MOVES.get(table, {}).get(old)

    ctx = TransformContext("2021", "head", lookup)
    out = transform_row("Place", {"id": 5, "name": "S", "zipCode": "1", "city": "X",
                                  "groupId": 1}, ctx)
    assert out["id"] == 505 and ("Group", 1) in calls


# ---- the tables built without a dict -----------------------------------------------------------

@pytest.mark.parametrize("source,target", SHAPES)
def test_every_column_of_the_tables_built_without_a_dict(source, target):
    """UserOrder, Basket, Operation, Subscription, Distribution and MultiDistrib give their
    values as a tuple in PRODUCED_COLUMNS order (``values_transform``, what the build uses);
    their rows are made from it. Each source value here is distinct, so a value in another
    column's place shows; a target without some of the columns gets the others, in its order."""
    from bascule.transform.rows import VALUES, values_transform
    assert set(VALUES) == {"UserOrder", "Basket", "Operation", "Subscription", "Distribution",
                           "MultiDistrib"}
    md = md_row(orderStartDate=D(2022, 5, 20), orderEndDate=D(2022, 6, 1, 8), validated=1,
                validatedDate=D(2022, 6, 3), counterBeforeDistrib=12.5)
    if source == "2023":
        for c in ("slotsMode", "slots", "inNeedUserIds", "voluntaryUsers", "timeSlots"):
            del md[c]
    rows = {
        "UserOrder": order_row(quantity=2.5, paid=1, date=D(2022, 5, 30, 18), feesRate=0.25,
                               flags=4, userId2=11),
        "Basket": basket_row(source, total=27.0),
        "Operation": operation_row(source, pending=1, basketId=24),
        "Subscription": subscription_row(),
        "Distribution": distribution_row(orderStartDate=D(2022, 5, 2), quantities=3),
        "MultiDistrib": md,
    }
    expected = {
        "UserOrder": {"id": 525, "quantity": 2.5, "paid": 1, "date": D(2022, 5, 30, 18),
                      "feesRate": 0.25, "productPrice": 13.0, "flags": 4, "basketId": 524,
                      "distributionId": 521, "productId": 570, "userId": 110, "userId2": 111,
                      "subscriptionId": 523},
        "Basket": {"id": 524, "cdate": D(2022, 6, 1), "num": 3, "total": 27.0,
                   "status": "CONFIRMED", "data": "", "multiDistribId": 520, "userId": 110},
        "Operation": {"id": 527, "name": "Paiement", "amount": 26.0, "date": D(2022, 6, 2),
                      "type": 2, "pending": 1, "groupId": 501, "userId": 110,
                      "relationId": 526, "basketId": 524, "subscriptionId": 523,
                      "data": '{"type":"check"}'},
        "Subscription": {"id": 523, "startDate": D(2022, 1, 1), "endDate": D(2022, 12, 31),
                         "absentDistribIds": "521", "userId": 110, "userId2": 112,
                         "catalogId": 507},
        "Distribution": {"id": 521, "catalogId": 507, "multiDistribId": 520, "placeId": 505,
                         "date": D(2022, 6, 2, 18), "end": D(2022, 6, 2, 20),
                         "orderStartDate": D(2022, 5, 2), "orderEndDate": D(2022, 6, 1, 12)},
        "MultiDistrib": {"id": 520, "volunteerRolesIds": "528,529", "distributionCycleId": 509,
                         "groupId": 501, "placeId": 505, "distribStartDate": D(2022, 6, 2, 18),
                         "distribEndDate": D(2022, 6, 2, 20), "orderStartDate": D(2022, 5, 20),
                         "orderEndDate": D(2022, 6, 1, 8)},
    }
    if target == "2023":
        expected["MultiDistrib"].update(counterBeforeDistrib=12.5, validated=1,
                                        validatedStatus="VALIDATED",
                                        validatedDate=D(2022, 6, 3))
    for t, row in rows.items():
        out = transform_row(t, dict(row), ctx_for(source, target))
        check_columns(out, ctx_for(source, target), t)
        assert {c: out[c] for c in expected[t]} == expected[t], t
        ctx = ctx_for(source, target)
        values = values_transform(t, ctx)
        assert values is not None, t
        assert values(dict(row), ctx) == tuple(out[c] for c in ctx.columns(t)), t


def test_the_tuple_path_follows_the_targets_columns():
    """A target without some columns gets the values of the others, in its order; a table with
    columns to repair, or without a values function, goes through ``transform_row``."""
    from bascule.transform.rows import values_transform
    cols = {"UserOrder": [c for c in PRODUCED_COLUMNS["UserOrder"] if c != "flags"]}
    ctx = ctx_for(target_columns=cols)
    values = values_transform("UserOrder", ctx)
    assert values is not None
    out = transform_row("UserOrder", order_row(flags=4), ctx_for(target_columns=cols))
    assert "flags" not in out and len(out) == len(cols["UserOrder"])
    assert values(order_row(flags=4), ctx) == tuple(out.values())
    assert values_transform("Product", ctx_for()) is None  # no such function
    repair = ctx_for(mojibake_columns=[("Operation", "name")])
    assert values_transform("Operation", repair) is None
    assert values_transform("UserOrder", repair) is not None
