"""A group, its places and what it sells and when: Group, Place, Catalog, Product,
DistributionCycle, MultiDistrib, Distribution, Subscription (see ``transform.rows``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .clean import as_datetime
from .context import Row, TransformContext, TransformError
from .fields import (
    HEAD_GROUP_FLAGS,
    ORDER_END_HOURS_BEFORE,
    ORDER_START_DAYS_BEFORE,
    SHOP_MODE,
    STOCK_MANAGEMENT,
    add_notes,
    clean_date,
    drop,
    fill,
    need,
    nfk,
    order_window,
    own_id,
    zero,
)
from .textids import check_json, clean_payment_types, remap_csv, remap_default_orders


def _vat_and_payments(row, ctx, oid):
    """Group.vatRates and allowedPaymentsType as JSON (their 2021 names end in 2), checked."""
    T = "Group"
    if ctx.src2021:
        vat = row.get("vatRates2")
        vat_col = "vatRates2"
        pay = row.get("allowedPaymentsType2")
        pay_col = "allowedPaymentsType2"
        if vat is None and row.get("vatRates") is not None:  # legacy column of the same name
            vat, vat_col = row.get("vatRates"), "vatRates"
        if pay is None and row.get("allowedPaymentsType") is not None:
            pay, pay_col = row.get("allowedPaymentsType"), "allowedPaymentsType"
    else:
        vat, vat_col = row.get("vatRates"), "vatRates"
        pay, pay_col = row.get("allowedPaymentsType"), "allowedPaymentsType"
    if vat is not None:
        vat, notes = check_json(vat)
        if notes:
            add_notes(ctx, T, oid, vat_col, notes)
    if pay is not None:
        if isinstance(pay, (bytes, bytearray, memoryview)):
            pay, notes = check_json(pay)
        else:
            pay, notes = clean_payment_types(pay)
        if notes:
            add_notes(ctx, T, oid, pay_col, notes)
    return vat, pay


def _group(row: Row, ctx: TransformContext) -> Row | None:
    T = "Group"
    oid = row["id"]
    vat, pay = _vat_and_payments(row, ctx, oid)
    flags = row.get("flags") or 0
    if flags & SHOP_MODE:
        if not ctx.src_camap:
            raise TransformError(T, oid, "flags", "shop-mode group (flags & 2): never moved")
        # Camap has no shop mode: the deprecated bit would get the group deleted by its cleanup
        flags &= ~SHOP_MODE
        ctx.note(T, oid, "flags", "flag_cleared", "deprecated __ShopMode bit cleared")
    if ctx.head and not ctx.src_head:  # a current Camap source already says which it wants
        flags |= HEAD_GROUP_FLAGS
    disabled = row.get("disabled")
    if disabled is not None:
        ctx.note(T, oid, "disabled", "flag_cleared", "disabled state cleared", disabled)
    days_after = row.get("daysAfterClosingBeforeHidingDutyPeriods")
    beta = row.get("betaFlags")
    return {
        "id": own_id(ctx, T, oid), "name": row.get("name"),
        "txtDistrib": row.get("txtDistrib"), "txtIntro": row.get("txtIntro"), "flags": flags,
        "membershipRenewalDate": clean_date(ctx, T, oid, row, "membershipRenewalDate"),
        "membershipFee": row.get("membershipFee"), "txtHome": row.get("txtHome"),
        "vatRates": vat,
        "cdate": fill(ctx, T, oid, "cdate", clean_date(ctx, T, oid, row, "cdate", True), ""),
        "regOption": row.get("regOption"), "currencyCode": row.get("currencyCode"),
        "currency": row.get("currency"), "extUrl": row.get("extUrl"), "IBAN": row.get("IBAN"),
        "checkOrder": row.get("checkOrder"),
        "allowMoneyPotWithNegativeBalance": row.get("allowMoneyPotWithNegativeBalance"),
        "volunteersMailDaysBeforeDutyPeriod": row.get("volunteersMailDaysBeforeDutyPeriod"),
        "daysAfterClosingBeforeHidingDutyPeriods": 30 if days_after is None else days_after,
        "daysBeforeDutyPeriodsOpen": row.get("daysBeforeDutyPeriodsOpen"),
        "volunteersMailContent": row.get("volunteersMailContent"),
        "vacantVolunteerRolesMailDaysBeforeDutyPeriod":
            row.get("vacantVolunteerRolesMailDaysBeforeDutyPeriod"),
        "alertMailContent": row.get("alertMailContent"),
        "hasMembership": row.get("hasMembership"),
        "userId": nfk(ctx, T, oid, "userId", "User", row.get("userId")),
        "imageId": nfk(ctx, T, oid, "imageId", "File", row.get("imageId")),
        "placeId": nfk(ctx, T, oid, "placeId", "Place", row.get("placeId")),
        "legalReprId": nfk(ctx, T, oid, "legalReprId", "User", row.get("legalReprId")),
        "allowedPaymentsType": pay, "disabled": None,
        "groupType": row.get("groupType"), "betaFlags": 0 if beta is None else beta,
    }


def _place(row: Row, ctx: TransformContext) -> Row | None:
    T = "Place"
    oid = row["id"]
    group = need(ctx, T, oid, "groupId", "Group", row.get("groupId"))
    if group is None:
        return None
    return {
        "id": own_id(ctx, T, oid), "name": row.get("name"), "address1": row.get("address1"),
        "address2": row.get("address2"), "city": row.get("city"), "zipCode": row.get("zipCode"),
        "groupId": group, "lat": row.get("lat"), "lng": row.get("lng"),
        "country": row.get("country"),
    }


def _catalog(row: Row, ctx: TransformContext) -> Row | None:
    T = "Catalog"
    oid = row["id"]
    group = need(ctx, T, oid, "groupId", "Group", row.get("groupId"))
    if group is None:
        return None
    vendor = need(ctx, T, oid, "vendorId", "Vendor", row.get("vendorId"))
    if vendor is None:
        return None
    flags = row.get("flags") or 0
    if oid in ctx.linked_catalogs and flags & STOCK_MANAGEMENT and not ctx.keep_linked_stock:
        flags &= ~STOCK_MANAGEMENT
        ctx.note(T, oid, "flags", "flag_cleared", "linked catalog: StockManagement cleared")
    start = fill(ctx, T, oid, "startDate", clean_date(ctx, T, oid, row, "startDate", True), "")
    end = fill(ctx, T, oid, "endDate", clean_date(ctx, T, oid, row, "endDate", True),
                    "from startDate", start)
    return {
        "id": own_id(ctx, T, oid), "name": row.get("name"), "startDate": start, "endDate": end,
        "distributorNum": row.get("distributorNum"), "flags": flags,
        "percentageName": row.get("percentageName"),
        "percentageValue": row.get("percentageValue"), "type": row.get("type"),
        "description": row.get("description"),
        "absencesEndDate": clean_date(ctx, T, oid, row, "absencesEndDate"),
        "absencesStartDate": clean_date(ctx, T, oid, row, "absencesStartDate"),
        "absentDistribsMaxNb": zero(ctx, T, oid, "absentDistribsMaxNb",
                                    row.get("absentDistribsMaxNb")),
       "catalogMinOrdersTotal": zero(ctx, T, oid, "catalogMinOrdersTotal",
                                     row.get("catalogMinOrdersTotal")),
      "distribMinOrdersTotal": zero(ctx, T, oid, "distribMinOrdersTotal",
                                    row.get("distribMinOrdersTotal")),
     "orderEndHoursBeforeDistrib": row.get("orderEndHoursBeforeDistrib"),
     "orderStartDaysBeforeDistrib": row.get("orderStartDaysBeforeDistrib"),
     "userId": nfk(ctx, T, oid, "userId", "User", row.get("userId")),
     "groupId": group,
     "firstDistribId": nfk(ctx, T, oid, "firstDistribId", "MultiDistrib",
                           row.get("firstDistribId")) if ctx.src_head else None,
     "vendorId": vendor,
 }


def _stock_tracking(row, ctx, stock) -> dict:
    """Product.stockTracking as the 2024 migration set it (2 when there is a stock), or as a
    current Camap source has it."""
    if ctx.src_head:
        return {"stockTracking": row.get("stockTracking"),
                "stockTrackingPerDistrib": row.get("stockTrackingPerDistrib")}
    return {"stockTracking": None if stock is None else 2, "stockTrackingPerDistrib": None}


def _product(row: Row, ctx: TransformContext) -> Row | None:
    T = "Product"
    oid = row["id"]
    catalog = need(ctx, T, oid, "catalogId", "Catalog", row.get("catalogId"))
    if catalog is None:
        return None
    stock = row.get("stock")
    wholesale, retail = row.get("wholesale"), row.get("retail")
    return {
        "id": own_id(ctx, T, oid), "name": row.get("name"), "price": row.get("price"),
        "desc": row.get("desc"), "vat": row.get("vat"), "ref": row.get("ref"), "stock": stock,
        **_stock_tracking(row, ctx, stock),
        "active": row.get("active"), "qt": row.get("qt"), "unitType": row.get("unitType"),
        "organic": row.get("organic"), "variablePrice": row.get("variablePrice"),
        "multiWeight": row.get("multiWeight"), "bulk": row.get("bulk"), "catalogId": catalog,
        "imageId": nfk(ctx, T, oid, "imageId", "File", row.get("imageId")),
        "smallQt": row.get("smallQt"), "wholesale": 0 if wholesale is None else wholesale,
        "retail": 0 if retail is None else retail,
    }


def _distribution_cycle(row: Row, ctx: TransformContext) -> Row | None:
    T = "DistributionCycle"
    oid = row["id"]
    group = need(ctx, T, oid, "groupId", "Group", row.get("groupId"))
    if group is None:
        return None
    place = need(ctx, T, oid, "placeId", "Place", row.get("placeId"))
    if place is None:
        return None
    start = fill(ctx, T, oid, "startDate", clean_date(ctx, T, oid, row, "startDate", True), "")
    end = fill(ctx, T, oid, "endDate", clean_date(ctx, T, oid, row, "endDate", True),
                    "from startDate", start)
    start_h = fill(ctx, T, oid, "startHour", clean_date(ctx, T, oid, row, "startHour", True),
                        "from startDate", start)
    end_h = fill(ctx, T, oid, "endHour", clean_date(ctx, T, oid, row, "endHour", True),
                      "from startHour", start_h)
    return {
        "id": own_id(ctx, T, oid), "cycleType": row.get("cycleType"), "groupId": group,
        "placeId": place, "daysBeforeOrderStart": row.get("daysBeforeOrderStart"),
        "daysBeforeOrderEnd": row.get("daysBeforeOrderEnd"), "startDate": start,
        "endDate": end, "startHour": start_h, "endHour": end_h,
        "openingHour": fill(ctx, T, oid, "openingHour", clean_date(ctx, T, oid, row, "openingHour"),
                                 "from startHour", start_h),
            "closingHour": fill(ctx, T, oid, "closingHour", clean_date(ctx, T, oid, row, "closingHour"),
                                     "from startHour", start_h),
            }


def _multidistrib_values(row: Row, ctx: TransformContext) -> tuple | None:
    T = "MultiDistrib"
    oid = row["id"]
    group = need(ctx, T, oid, "groupId", "Group", row.get("groupId"))
    if group is None:
        return None
    place = need(ctx, T, oid, "placeId", "Place", row.get("placeId"))
    if place is None:
        return None
    ds0 = clean_date(ctx, T, oid, row, "distribStartDate", True)
    de0 = clean_date(ctx, T, oid, row, "distribEndDate", True)
    ds = fill(ctx, T, oid, "distribStartDate", ds0, "from distribEndDate", de0)
    de = fill(ctx, T, oid, "distribEndDate", de0, "from distribStartDate", ds)
    os_ = clean_date(ctx, T, oid, row, "orderStartDate")
    oe = clean_date(ctx, T, oid, row, "orderEndDate")
    if os_ is None or oe is None:
        ws, we = order_window(ds, os_, oe, ctx.fallback_datetime)
        if oe is None:
            ctx.note(T, oid, "orderEndDate", "defaulted", "distribStartDate - 24h")
            oe = we
        if os_ is None:
            ctx.note(T, oid, "orderStartDate", "defaulted", "distribStartDate - 30 days")
            os_ = ws
    roles = row.get("volunteerRolesIds")
    if roles is not None:
        roles, notes = remap_csv(roles, "VolunteerRole", ctx.map)
        if notes:
            add_notes(ctx, T, oid, "volunteerRolesIds", notes)
    validated = row.get("validated")
    status = row.get("validatedStatus")
    if status == "PAID":
        status = "VALIDATED"
    elif status not in ("VALIDATED", "NOT_VALIDATED"):
        status = "VALIDATED" if validated else "NOT_VALIDATED"
    counter = row.get("counterBeforeDistrib")
    return (  # id, volunteerRolesIds, distributionCycleId, groupId, placeId, distribStartDate,
        # distribEndDate, orderStartDate, orderEndDate, counterBeforeDistrib, validated,
        # validatedStatus, validatedDate
        own_id(ctx, T, oid), roles,
        nfk(ctx, T, oid, "distributionCycleId", "DistributionCycle",
            row.get("distributionCycleId")),
        group, place, ds, de,
        os_, oe,
        0 if counter is None else counter, validated,
        status,
        clean_date(ctx, T, oid, row, "validatedDate"),
    )


def _md_window(ctx: TransformContext, md_old_id: Any):
    if ctx.multidistrib is None:
        return None
    md = ctx.multidistrib(md_old_id)
    if md is None:
        return None
    ds = as_datetime(md.get("distribStartDate")) or as_datetime(md.get("distribEndDate"))
    if ds is None:
        return None
    return order_window(ds, md.get("orderStartDate"), md.get("orderEndDate"),
                        ctx.fallback_datetime), md


def _distribution_values(row: Row, ctx: TransformContext) -> tuple | None:
    T = "Distribution"
    oid = row["id"]
    catalog = need(ctx, T, oid, "catalogId", "Catalog", row.get("catalogId"))
    if catalog is None:
        return None
    md_old = row.get("multiDistribId")
    md = need(ctx, T, oid, "multiDistribId", "MultiDistrib", md_old)
    if md is None:
        return None
    window = None
    place = ctx.map("Place", row.get("placeId"))
    if place is None:
        window = _md_window(ctx, md_old)
        md_place = ctx.map("Place", window[1].get("placeId")) if window else None
        if md_place is None:
            return drop(ctx, T, oid, "placeId", "Place does not move", row.get("placeId"))
        ctx.note(T, oid, "placeId", "defaulted", "place of its MultiDistrib", row.get("placeId"))
        place = md_place
    date = clean_date(ctx, T, oid, row, "date")
    oe = clean_date(ctx, T, oid, row, "orderEndDate", True)
    os_ = clean_date(ctx, T, oid, row, "orderStartDate")
    if oe is None or os_ is None:
        if window is None:
            window = _md_window(ctx, md_old)
        if oe is None:
            if window is not None:
                ctx.note(T, oid, "orderEndDate", "defaulted", "from MultiDistrib order window")
                oe = window[0][1]
            else:
                d = as_datetime(date)
                oe = fill(ctx, T, oid, "orderEndDate", None, "date - 24h",
                          d - dt.timedelta(hours=ORDER_END_HOURS_BEFORE) if d else None)
        if os_ is None:
            if window is not None:
                ctx.note(T, oid, "orderStartDate", "defaulted", "from MultiDistrib order window")
                os_ = window[0][0]
            else:
                ctx.note(T, oid, "orderStartDate", "defaulted", "orderEndDate - 30 days")
                e = as_datetime(oe) or ctx.fallback_datetime
                base = as_datetime(date) or e
                os_ = min(e, base - dt.timedelta(days=ORDER_START_DAYS_BEFORE))
    return (  # id, quantities, catalogId, multiDistribId, placeId, date, end, orderStartDate,
        # orderEndDate
        own_id(ctx, T, oid),
        (row.get("quantities") or 1) if ctx.src_head else 1, catalog,
        md, place, date,
        clean_date(ctx, T, oid, row, "end"), os_, oe,
    )


def _subscription_values(row: Row, ctx: TransformContext) -> tuple | None:
    T = "Subscription"
    oid = row["id"]
    user = need(ctx, T, oid, "userId", "User", row.get("userId"))
    if user is None:
        return None
    catalog = need(ctx, T, oid, "catalogId", "Catalog", row.get("catalogId"))
    if catalog is None:
        return None
    orders = row.get("defaultOrders")
    if orders is not None:
        orders, notes = remap_default_orders(orders, ctx.map, ctx.product_price)
        if notes:
            add_notes(ctx, T, oid, "defaultOrders", notes)
    absent = row.get("absentDistribIds")
    if absent is not None:
        absent, notes = remap_csv(absent, "Distribution", ctx.map)
        if notes:
            add_notes(ctx, T, oid, "absentDistribIds", notes)
    start = fill(ctx, T, oid, "startDate", clean_date(ctx, T, oid, row, "startDate", True), "")
    return (  # id, startDate, endDate, absentDistribIds, defaultOrders, userId, userId2,
        # catalogId
        own_id(ctx, T, oid), start,
        fill(ctx, T, oid, "endDate", clean_date(ctx, T, oid, row, "endDate", True),
             "from startDate", start),
        absent, orders, user,
        nfk(ctx, T, oid, "userId2", "User", row.get("userId2")),
        catalog,
    )


#: The transforms that give a row's values as a tuple (see ``rows_activity.VALUES``).
VALUES = {
    "MultiDistrib": _multidistrib_values,
    "Distribution": _distribution_values,
    "Subscription": _subscription_values,
}

#: The transform of each other table of this module.
TRANSFORMS = {
    "Group": _group,
    "Place": _place,
    "Catalog": _catalog,
    "Product": _product,
    "DistributionCycle": _distribution_cycle,
}
