"""One function per moved table: a SOURCE row (source column names, old ids) → a TARGET row
(target column names, new ids) or None (row dropped, noted).

General rules (every table)
- own id: ``ctx.map(table, row["id"])``; it must exist (the orchestrator allocates ids before
  transforming), else :class:`TransformError`. Composite-key tables map each part.
- foreign key: ``ctx.map``; nullable in the target → NULL + note ``nulled`` when the referenced row
  does not move; NOT NULL → the row is dropped, note ``dropped_row``.
- ids inside text columns: ``textids`` (dropped ids noted ``dropped_ref``).
- columns in ``ctx.mojibake_columns``: repaired before anything else (note ``repaired``).
- dates: a zero/invalid date (or NULL in a source NOT NULL column) becomes NULL (note
  ``zero_date``); in a target NOT NULL column it is then backfilled (note ``defaulted``) with the
  per-column default below, ``ctx.fallback_datetime`` (1970-01-01 00:00:00) as last resort.
- the returned row holds exactly ``ctx.columns(table)``.

NOT NULL backfills and defaults (source value NULL/zero → value)
    User.cdate → ldate → fallback; User.pass, User.pass2 → ''; User.rights → always 0;
    User.apiKey, User.currentRefreshToken → always NULL.
    Group.cdate → fallback; Group.betaFlags → 0 (2023 target); Group.disabled → always NULL;
    Group.daysAfterClosingBeforeHidingDutyPeriods → 30 (head); Group.flags |= 6144 (head).
    Catalog.startDate → fallback; Catalog.endDate → startDate;
    Catalog.distribMinOrdersTotal / catalogMinOrdersTotal / absentDistribsMaxNb → 0;
    Catalog.firstDistribId → NULL.
    Product.wholesale / retail → 0 (2023 target); Product.stockTracking → 2 if stock is not NULL
    else NULL, stockTrackingPerDistrib → NULL (head).
    DistributionCycle.startDate → fallback; endDate, startHour → startDate; endHour, openingHour,
    closingHour → startHour.
    MultiDistrib.distribStartDate ↔ distribEndDate (each other) → fallback;
    MultiDistrib.orderEndDate → distribStartDate − 24 h (Cagette's default
    ``orderEndHoursBeforeDistrib``), never before orderStartDate;
    MultiDistrib.orderStartDate → min(orderEndDate, distribStartDate − 30 days);
    MultiDistrib.counterBeforeDistrib → 0, validatedStatus → 'VALIDATED' if validated else
    'NOT_VALIDATED' (Cagette 2023 'PAID' → 'VALIDATED') (2023 target).
    Distribution.orderEndDate → its MultiDistrib's order end (as above) → date − 24 h → fallback;
    Distribution.orderStartDate → its MultiDistrib's order start → min(orderEndDate,
    (date or orderEndDate) − 30 days); Distribution.placeId → the MultiDistrib's place when its
    own does not move; Distribution.quantities → 1 (head).
    Subscription.startDate → fallback; endDate → startDate.
    Basket.cdate → fallback; total → ``ctx.basket_total`` → 0; status → 'CONFIRMED' (2021);
    data → '' (2021: the serialized Mangopay blob is not carried); num → 0.
    UserOrder.date, Operation.date, WaitingList.date, Message.date, File.cdate → fallback.
    UserGroup.balance → 0; WaitingList.message, Message.slateContent → ''.
    Vendor.showEmail / showPhone → 1 (head); Vendor.userId → NULL unless ctx.map_vendor_user;
    Vendor.companyNumber truncated to 64 characters (note ``truncated``), '' when NULL and the
    target says NOT NULL (``ctx.target_not_null``); Vendor.offCamap (2023 target) ← offCagette.
    VolunteerRole.enabledByDefault → 1 (head).

Errors (TransformError: the caller broke the contract, nothing is written for that row)
    a row whose own id is not in the id map; a User mapped to target id 1; a Group with the
    ShopMode flag (bit 1) — shop-mode groups never move.

Dropped rows
    UserOrder without distribution, or whose distribution/product/user/basket does not move;
    Basket with status OPEN/PAYMENT_PROCESSING (temporary carts, unless ctx.move_open_baskets);
    EntityFile whose entityType is not group/catalog/vendor or whose entity does not move;
    any row whose NOT NULL foreign key points to a row that does not move.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from .baskets import is_synth_basket_key, order_basket_key
from .clean import as_datetime, is_invalid_date, repair_text
from .context import TransformContext, TransformError
from .order import COMPOSITE_KEYS, ENTITY_FILE_TYPES, fk_map
from .textids import (
    check_json, clean_payment_types, default_orders_ids, operation_data_ids, parse_csv_ids,
    basket_data_product_ids, recipients_json, remap_basket_data, remap_csv,
    remap_default_orders, remap_operation_data, remap_rights, rights_catalog_ids,
)

SHOP_MODE = 2  # Group flag bit 1
HEAD_GROUP_FLAGS = 6144  # bits 11 AllowInformationNotifs and 12 AllowAlertNotifs
STOCK_MANAGEMENT = 2  # Catalog flag bit 1
ORDER_END_HOURS_BEFORE = 24
ORDER_START_DAYS_BEFORE = 30
TEMPORARY_BASKET_STATUSES = frozenset({"OPEN", "PAYMENT_PROCESSING"})
_ZERO_REASON_NULL = "zero date"
_ZERO_REASON_NN = "NULL in NOT NULL source column"


# ---- small helpers --------------------------------------------------------------------------

def _own_id(ctx: TransformContext, table: str, oid: Any) -> int:
    nid = ctx.new_id(table, oid)
    if nid is None:
        raise TransformError(table, oid, "id", "no new id allocated for this row")
    return nid


def _drop(ctx: TransformContext, table: str, oid: Any, column: str | None, reason: str,
          detail: Any = None) -> None:
    ctx.note(table, oid, column, "dropped_row", reason, detail)
    return None


def _nfk(ctx: TransformContext, table: str, oid: Any, column: str, ref: str, old: Any):
    """Nullable foreign key: mapped, or NULL (noted) when the referenced row does not move."""
    if old is None:
        return None
    new = ctx.map(ref, old)
    if new is None:
        ctx.note(table, oid, column, "nulled", f"{ref} does not move", old)
    return new


def _date(ctx: TransformContext, table: str, oid: Any, row: dict, column: str,
          source_not_null: bool = False):
    """A date value cleaned of zero dates (→ None, noted)."""
    v = row.get(column)
    if v is None:
        if source_not_null:
            ctx.note(table, oid, column, "zero_date", _ZERO_REASON_NN)
        return None
    if type(v) is str and is_invalid_date(v):
        ctx.note(table, oid, column, "zero_date", _ZERO_REASON_NULL, v)
        return None
    return v


def _fill(ctx: TransformContext, table: str, oid: Any, column: str, value: Any, reason: str,
          *candidates: Any):
    """``value`` if not None, else the first non-None candidate, else ctx.fallback_datetime;
    notes ``defaulted`` with ``reason`` when it backfills."""
    if value is not None:
        return value
    for c in candidates:
        if c is not None:
            ctx.note(table, oid, column, "defaulted", reason)
            return c
    ctx.note(table, oid, column, "defaulted", "fallback date")
    return ctx.fallback_datetime


def _zero(ctx: TransformContext, table: str, oid: Any, column: str, value: Any, default: Any = 0):
    if value is None:
        ctx.note(table, oid, column, "defaulted", f"NULL → {default!r}")
        return default
    return value


def _notes(ctx: TransformContext, table: str, oid: Any, column: str, notes) -> None:
    for action, reason, detail in notes:
        ctx.note(table, oid, column, action, reason, detail)


def order_window(distrib_start: Any, order_start: Any, order_end: Any,
                 fallback: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """Order opening and closing of a distribution day, filling the missing ends (see module)."""
    ds = as_datetime(distrib_start)
    s = as_datetime(order_start)
    e = as_datetime(order_end)
    if e is None:
        if ds is not None:
            e = ds - dt.timedelta(hours=ORDER_END_HOURS_BEFORE)
        elif s is not None:
            e = s
        else:
            e = fallback
        if s is not None and e < s:
            e = s
    if s is None:
        base = ds if ds is not None else e
        s = min(e, base - dt.timedelta(days=ORDER_START_DAYS_BEFORE))
    return s, e


def email_keys(row: dict) -> set[str]:
    """Normalised e-mails of a User row (``email`` and ``email2``, stripped, lower-cased) for
    matching with target users, case-insensitively."""
    out = set()
    for c in ("email", "email2"):
        v = row.get(c)
        if isinstance(v, str):
            v = v.strip().lower()
            if v:
                out.add(v)
    return out


def is_temporary_basket(row: dict) -> bool:
    """A Cagette-2023 basket that is a cart (status OPEN / PAYMENT_PROCESSING), not an order."""
    return row.get("status") in TEMPORARY_BASKET_STATUSES


# ---- tables ---------------------------------------------------------------------------------

def _file(row, ctx):
    oid = row["id"]
    return {
        "id": _own_id(ctx, "File", oid),
        "name": row.get("name"),
        "data": row.get("data"),
        "cdate": _fill(ctx, "File", oid, "cdate", _date(ctx, "File", oid, row, "cdate", True),
                       ""),
    }


def _user(row, ctx):
    T = "User"
    oid = row["id"]
    nid = _own_id(ctx, T, oid)
    if nid == 1:
        raise TransformError(T, oid, "id", "mapped to target id 1 (Camap's super-admin); a "
                             "moved user must never get id 1")
    rights = row.get("rights")
    if rights:
        ctx.note(T, oid, "rights", "flag_cleared", "site rights reset", rights)
    for secret in ("apiKey", "currentRefreshToken"):
        if row.get(secret) is not None:
            ctx.note(T, oid, secret, "nulled", "secret not copied")
    passwd = row.get("pass")
    if passwd is None:
        ctx.note(T, oid, "pass", "defaulted", "NULL → ''")
        passwd = ""
    pass2 = row.get("pass2")
    if pass2 is None:
        pass2 = ""
        ctx.note(T, oid, "pass2", "defaulted", "NULL → ''")
    ldate = _date(ctx, T, oid, row, "ldate")
    cdate = _fill(ctx, T, oid, "cdate", _date(ctx, T, oid, row, "cdate", True), "from ldate",
                  ldate)
    lang = row.get("lang") or "fr"
    flags = row.get("flags")
    return {
        "id": nid, "lang": lang, "pass": passwd, "pass2": pass2, "rights": 0,
        "firstName": row.get("firstName") or "", "lastName": row.get("lastName") or "",
        "email": row.get("email"), "phone": row.get("phone"),
        "firstName2": row.get("firstName2"), "lastName2": row.get("lastName2"),
        "email2": row.get("email2"), "phone2": row.get("phone2"),
        "address1": row.get("address1"), "address2": row.get("address2"),
        "zipCode": row.get("zipCode"), "city": row.get("city"),
        "ldate": ldate, "cdate": cdate, "flags": 2 if flags is None else flags,
        "nationality": row.get("nationality"), "countryOfResidence": row.get("countryOfResidence"),
        "birthDate": _date(ctx, T, oid, row, "birthDate"),
        "apiKey": None, "currentRefreshToken": None,
        "tosVersion": row.get("tosVersion"),
    }


def _vendor(row, ctx):
    T = "Vendor"
    oid = row["id"]
    company = row.get("companyNumber")
    if company is not None and len(company) > 64:
        ctx.note(T, oid, "companyNumber", "truncated", "longer than 64", company)
        company = company[:64]
    elif company is None and "companyNumber" in ctx.target_not_null.get(T, ()):
        ctx.note(T, oid, "companyNumber", "defaulted", "NULL → ''")
        company = ""
    if ctx.map_vendor_user:
        user = _nfk(ctx, T, oid, "userId", "User", row.get("userId"))
    else:
        user = None
        if row.get("userId") is not None:
            ctx.note(T, oid, "userId", "nulled", "vendor owner not linked")
    off = row.get("offCamap")
    if off is None:
        off = row.get("offCagette")
    show_email, show_phone = row.get("showEmail"), row.get("showPhone")
    directory = row.get("directory")
    return {
        "id": _own_id(ctx, T, oid), "userId": user, "name": row.get("name"),
        "email": row.get("email"), "showEmail": 1 if show_email is None else show_email,
        "city": row.get("city"), "address1": row.get("address1"),
        "address2": row.get("address2"), "zipCode": row.get("zipCode"),
        "phone": row.get("phone"), "showPhone": 1 if show_phone is None else show_phone,
        "linkText": row.get("linkText"), "desc": row.get("desc"), "linkUrl": row.get("linkUrl"),
        "country": row.get("country"), "longDesc": row.get("longDesc"),
        "profession": row.get("profession"), "production2": row.get("production2"),
        "production3": row.get("production3"),
        "directory": 0 if directory is None else directory,
        "peopleName": row.get("peopleName"), "cdate": _date(ctx, T, oid, row, "cdate"),
        "lng": row.get("lng"), "lat": row.get("lat"), "companyNumber": company,
        "imageId": _nfk(ctx, T, oid, "imageId", "File", row.get("imageId")),
        "disabled": row.get("disabled"),
        "status": row.get("status"), "offCamap": off,
    }


def _group(row, ctx):
    T = "Group"
    oid = row["id"]
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
            _notes(ctx, T, oid, vat_col, notes)
    if pay is not None:
        if isinstance(pay, (bytes, bytearray, memoryview)):
            pay, notes = check_json(pay)
        else:
            pay, notes = clean_payment_types(pay)
        if notes:
            _notes(ctx, T, oid, pay_col, notes)
    flags = row.get("flags") or 0
    if flags & SHOP_MODE:
        raise TransformError(T, oid, "flags", "shop-mode group (flags & 2): never moved")
    if ctx.head:
        flags |= HEAD_GROUP_FLAGS
    disabled = row.get("disabled")
    if disabled is not None:
        ctx.note(T, oid, "disabled", "flag_cleared", "disabled state cleared", disabled)
    days_after = row.get("daysAfterClosingBeforeHidingDutyPeriods")
    beta = row.get("betaFlags")
    return {
        "id": _own_id(ctx, T, oid), "name": row.get("name"),
        "txtDistrib": row.get("txtDistrib"), "txtIntro": row.get("txtIntro"), "flags": flags,
        "membershipRenewalDate": _date(ctx, T, oid, row, "membershipRenewalDate"),
        "membershipFee": row.get("membershipFee"), "txtHome": row.get("txtHome"),
        "vatRates": vat,
        "cdate": _fill(ctx, T, oid, "cdate", _date(ctx, T, oid, row, "cdate", True), ""),
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
        "userId": _nfk(ctx, T, oid, "userId", "User", row.get("userId")),
        "imageId": _nfk(ctx, T, oid, "imageId", "File", row.get("imageId")),
        "placeId": _nfk(ctx, T, oid, "placeId", "Place", row.get("placeId")),
        "legalReprId": _nfk(ctx, T, oid, "legalReprId", "User", row.get("legalReprId")),
        "allowedPaymentsType": pay, "disabled": None,
        "groupType": row.get("groupType"), "betaFlags": 0 if beta is None else beta,
    }


def _place(row, ctx):
    T = "Place"
    oid = row["id"]
    group = ctx.map("Group", row.get("groupId"))
    if group is None:
        return _drop(ctx, T, oid, "groupId", "Group does not move", row.get("groupId"))
    return {
        "id": _own_id(ctx, T, oid), "name": row.get("name"), "address1": row.get("address1"),
        "address2": row.get("address2"), "city": row.get("city"), "zipCode": row.get("zipCode"),
        "groupId": group, "lat": row.get("lat"), "lng": row.get("lng"),
        "country": row.get("country"),
    }


def _catalog(row, ctx):
    T = "Catalog"
    oid = row["id"]
    group = ctx.map("Group", row.get("groupId"))
    if group is None:
        return _drop(ctx, T, oid, "groupId", "Group does not move", row.get("groupId"))
    vendor = ctx.map("Vendor", row.get("vendorId"))
    if vendor is None:
        return _drop(ctx, T, oid, "vendorId", "Vendor does not move", row.get("vendorId"))
    flags = row.get("flags") or 0
    if oid in ctx.linked_catalogs and flags & STOCK_MANAGEMENT and not ctx.keep_linked_stock:
        flags &= ~STOCK_MANAGEMENT
        ctx.note(T, oid, "flags", "flag_cleared", "linked catalog: StockManagement cleared")
    start = _fill(ctx, T, oid, "startDate", _date(ctx, T, oid, row, "startDate", True), "")
    end = _fill(ctx, T, oid, "endDate", _date(ctx, T, oid, row, "endDate", True),
                "from startDate", start)
    return {
        "id": _own_id(ctx, T, oid), "name": row.get("name"), "startDate": start, "endDate": end,
        "distributorNum": row.get("distributorNum"), "flags": flags,
        "percentageName": row.get("percentageName"),
        "percentageValue": row.get("percentageValue"), "type": row.get("type"),
        "description": row.get("description"),
        "absencesEndDate": _date(ctx, T, oid, row, "absencesEndDate"),
        "absencesStartDate": _date(ctx, T, oid, row, "absencesStartDate"),
        "absentDistribsMaxNb": _zero(ctx, T, oid, "absentDistribsMaxNb",
                                     row.get("absentDistribsMaxNb")),
        "catalogMinOrdersTotal": _zero(ctx, T, oid, "catalogMinOrdersTotal",
                                       row.get("catalogMinOrdersTotal")),
        "distribMinOrdersTotal": _zero(ctx, T, oid, "distribMinOrdersTotal",
                                       row.get("distribMinOrdersTotal")),
        "orderEndHoursBeforeDistrib": row.get("orderEndHoursBeforeDistrib"),
        "orderStartDaysBeforeDistrib": row.get("orderStartDaysBeforeDistrib"),
        "userId": _nfk(ctx, T, oid, "userId", "User", row.get("userId")),
        "groupId": group, "firstDistribId": None, "vendorId": vendor,
    }


def _product(row, ctx):
    T = "Product"
    oid = row["id"]
    catalog = ctx.map("Catalog", row.get("catalogId"))
    if catalog is None:
        return _drop(ctx, T, oid, "catalogId", "Catalog does not move", row.get("catalogId"))
    stock = row.get("stock")
    wholesale, retail = row.get("wholesale"), row.get("retail")
    return {
        "id": _own_id(ctx, T, oid), "name": row.get("name"), "price": row.get("price"),
        "desc": row.get("desc"), "vat": row.get("vat"), "ref": row.get("ref"), "stock": stock,
        "stockTracking": None if stock is None else 2, "stockTrackingPerDistrib": None,
        "active": row.get("active"), "qt": row.get("qt"), "unitType": row.get("unitType"),
        "organic": row.get("organic"), "variablePrice": row.get("variablePrice"),
        "multiWeight": row.get("multiWeight"), "bulk": row.get("bulk"), "catalogId": catalog,
        "imageId": _nfk(ctx, T, oid, "imageId", "File", row.get("imageId")),
        "smallQt": row.get("smallQt"), "wholesale": 0 if wholesale is None else wholesale,
        "retail": 0 if retail is None else retail,
    }


def _distribution_cycle(row, ctx):
    T = "DistributionCycle"
    oid = row["id"]
    group = ctx.map("Group", row.get("groupId"))
    if group is None:
        return _drop(ctx, T, oid, "groupId", "Group does not move", row.get("groupId"))
    place = ctx.map("Place", row.get("placeId"))
    if place is None:
        return _drop(ctx, T, oid, "placeId", "Place does not move", row.get("placeId"))
    start = _fill(ctx, T, oid, "startDate", _date(ctx, T, oid, row, "startDate", True), "")
    end = _fill(ctx, T, oid, "endDate", _date(ctx, T, oid, row, "endDate", True),
                "from startDate", start)
    start_h = _fill(ctx, T, oid, "startHour", _date(ctx, T, oid, row, "startHour", True),
                    "from startDate", start)
    end_h = _fill(ctx, T, oid, "endHour", _date(ctx, T, oid, row, "endHour", True),
                  "from startHour", start_h)
    return {
        "id": _own_id(ctx, T, oid), "cycleType": row.get("cycleType"), "groupId": group,
        "placeId": place, "daysBeforeOrderStart": row.get("daysBeforeOrderStart"),
        "daysBeforeOrderEnd": row.get("daysBeforeOrderEnd"), "startDate": start,
        "endDate": end, "startHour": start_h, "endHour": end_h,
        "openingHour": _fill(ctx, T, oid, "openingHour", _date(ctx, T, oid, row, "openingHour"),
                             "from startHour", start_h),
        "closingHour": _fill(ctx, T, oid, "closingHour", _date(ctx, T, oid, row, "closingHour"),
                             "from startHour", start_h),
    }


def _multidistrib(row, ctx):
    T = "MultiDistrib"
    oid = row["id"]
    group = ctx.map("Group", row.get("groupId"))
    if group is None:
        return _drop(ctx, T, oid, "groupId", "Group does not move", row.get("groupId"))
    place = ctx.map("Place", row.get("placeId"))
    if place is None:
        return _drop(ctx, T, oid, "placeId", "Place does not move", row.get("placeId"))
    ds0 = _date(ctx, T, oid, row, "distribStartDate", True)
    de0 = _date(ctx, T, oid, row, "distribEndDate", True)
    ds = _fill(ctx, T, oid, "distribStartDate", ds0, "from distribEndDate", de0)
    de = _fill(ctx, T, oid, "distribEndDate", de0, "from distribStartDate", ds)
    os_ = _date(ctx, T, oid, row, "orderStartDate")
    oe = _date(ctx, T, oid, row, "orderEndDate")
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
            _notes(ctx, T, oid, "volunteerRolesIds", notes)
    validated = row.get("validated")
    status = row.get("validatedStatus")
    if status == "PAID":
        status = "VALIDATED"
    elif status not in ("VALIDATED", "NOT_VALIDATED"):
        status = "VALIDATED" if validated else "NOT_VALIDATED"
    counter = row.get("counterBeforeDistrib")
    return {
        "id": _own_id(ctx, T, oid), "volunteerRolesIds": roles,
        "distributionCycleId": _nfk(ctx, T, oid, "distributionCycleId", "DistributionCycle",
                                    row.get("distributionCycleId")),
        "groupId": group, "placeId": place, "distribStartDate": ds, "distribEndDate": de,
        "orderStartDate": os_, "orderEndDate": oe,
        "counterBeforeDistrib": 0 if counter is None else counter, "validated": validated,
        "validatedStatus": status,
        "validatedDate": _date(ctx, T, oid, row, "validatedDate"),
    }


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


def _distribution(row, ctx):
    T = "Distribution"
    oid = row["id"]
    catalog = ctx.map("Catalog", row.get("catalogId"))
    if catalog is None:
        return _drop(ctx, T, oid, "catalogId", "Catalog does not move", row.get("catalogId"))
    md_old = row.get("multiDistribId")
    md = ctx.map("MultiDistrib", md_old)
    if md is None:
        return _drop(ctx, T, oid, "multiDistribId", "MultiDistrib does not move", md_old)
    window = None
    place = ctx.map("Place", row.get("placeId"))
    if place is None:
        window = _md_window(ctx, md_old)
        md_place = ctx.map("Place", window[1].get("placeId")) if window else None
        if md_place is None:
            return _drop(ctx, T, oid, "placeId", "Place does not move", row.get("placeId"))
        ctx.note(T, oid, "placeId", "defaulted", "place of its MultiDistrib", row.get("placeId"))
        place = md_place
    date = _date(ctx, T, oid, row, "date")
    oe = _date(ctx, T, oid, row, "orderEndDate", True)
    os_ = _date(ctx, T, oid, row, "orderStartDate")
    if oe is None or os_ is None:
        if window is None:
            window = _md_window(ctx, md_old)
        if oe is None:
            if window is not None:
                ctx.note(T, oid, "orderEndDate", "defaulted", "from MultiDistrib order window")
                oe = window[0][1]
            else:
                d = as_datetime(date)
                oe = _fill(ctx, T, oid, "orderEndDate", None, "date - 24h",
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
    return {
        "id": _own_id(ctx, T, oid), "quantities": 1, "catalogId": catalog,
        "multiDistribId": md, "placeId": place, "date": date,
        "end": _date(ctx, T, oid, row, "end"), "orderStartDate": os_, "orderEndDate": oe,
    }


def _subscription(row, ctx):
    T = "Subscription"
    oid = row["id"]
    user = ctx.map("User", row.get("userId"))
    if user is None:
        return _drop(ctx, T, oid, "userId", "User does not move", row.get("userId"))
    catalog = ctx.map("Catalog", row.get("catalogId"))
    if catalog is None:
        return _drop(ctx, T, oid, "catalogId", "Catalog does not move", row.get("catalogId"))
    orders = row.get("defaultOrders")
    if orders is not None:
        orders, notes = remap_default_orders(orders, ctx.map, ctx.product_price)
        if notes:
            _notes(ctx, T, oid, "defaultOrders", notes)
    absent = row.get("absentDistribIds")
    if absent is not None:
        absent, notes = remap_csv(absent, "Distribution", ctx.map)
        if notes:
            _notes(ctx, T, oid, "absentDistribIds", notes)
    start = _fill(ctx, T, oid, "startDate", _date(ctx, T, oid, row, "startDate", True), "")
    return {
        "id": _own_id(ctx, T, oid), "startDate": start,
        "endDate": _fill(ctx, T, oid, "endDate", _date(ctx, T, oid, row, "endDate", True),
                         "from startDate", start),
        "absentDistribIds": absent, "defaultOrders": orders, "userId": user,
        "userId2": _nfk(ctx, T, oid, "userId2", "User", row.get("userId2")),
        "catalogId": catalog,
    }


def _basket(row, ctx):
    T = "Basket"
    oid = row["id"]
    status = None if ctx.src2021 else row.get("status")
    if status in TEMPORARY_BASKET_STATUSES and not ctx.move_open_baskets:
        return _drop(ctx, T, oid, "status", "temporary basket", status)
    md = ctx.map("MultiDistrib", row.get("multiDistribId"))
    if md is None:
        return _drop(ctx, T, oid, "multiDistribId", "MultiDistrib does not move",
                     row.get("multiDistribId"))
    if status is None:
        status = "CONFIRMED"
    data = row.get("data")
    if ctx.src2021:
        if data is not None and data not in ("", b"", "n", b"n"):
            ctx.note(T, oid, "data", "ignored", "serialized blob not carried")
        data = ""
    elif data is None or data == "":
        data = ""
    else:
        data, notes = remap_basket_data(data, ctx.map)
        if notes:
            _notes(ctx, T, oid, "data", notes)
    total = row.get("total")
    if total is None:
        t = ctx.basket_total(oid) if ctx.basket_total is not None else None
        if t is None:
            ctx.note(T, oid, "total", "defaulted", "NULL → 0")
            total = 0
        else:
            ctx.note(T, oid, "total", "defaulted", "sum of its orders")
            total = t
    num = row.get("num")
    # a basket created for orders without one has no source row: no zero date to report
    cdate = _date(ctx, T, oid, row, "cdate", not is_synth_basket_key(oid))
    return {
        "id": _own_id(ctx, T, oid),
        "cdate": _fill(ctx, T, oid, "cdate", cdate, ""),
        "num": _zero(ctx, T, oid, "num", num), "total": total, "status": status, "data": data,
        "multiDistribId": md,
        "userId": _nfk(ctx, T, oid, "userId", "User", row.get("userId")),
    }


def _user_order(row, ctx):
    T = "UserOrder"
    oid = row["id"]
    dist_old = row.get("distributionId")
    if dist_old is None:
        return _drop(ctx, T, oid, "distributionId", "order without distribution")
    dist = ctx.map("Distribution", dist_old)
    if dist is None:
        return _drop(ctx, T, oid, "distributionId", "Distribution does not move", dist_old)
    product = ctx.map("Product", row.get("productId"))
    if product is None:
        return _drop(ctx, T, oid, "productId", "Product does not move", row.get("productId"))
    user = ctx.map("User", row.get("userId"))
    if user is None:
        return _drop(ctx, T, oid, "userId", "User does not move", row.get("userId"))
    key = order_basket_key(row, ctx.distribution_md, ctx.basket_for)
    if key is None:
        return _drop(ctx, T, oid, "basketId", "no basket and multidistrib unknown")
    basket = ctx.map("Basket", key)
    if basket is None:
        return _drop(ctx, T, oid, "basketId", "Basket does not move", key)
    return {
        "id": _own_id(ctx, T, oid), "quantity": row.get("quantity"), "paid": row.get("paid"),
        "date": _fill(ctx, T, oid, "date", _date(ctx, T, oid, row, "date", True), ""),
        "feesRate": row.get("feesRate"), "productPrice": row.get("productPrice"),
        "flags": row.get("flags") or 0, "basketId": basket, "distributionId": dist,
        "productId": product, "userId": user,
        "userId2": _nfk(ctx, T, oid, "userId2", "User", row.get("userId2")),
        "subscriptionId": _nfk(ctx, T, oid, "subscriptionId", "Subscription",
                               row.get("subscriptionId")),
    }


def _operation(row, ctx):
    T = "Operation"
    oid = row["id"]
    group = ctx.map("Group", row.get("groupId"))
    if group is None:
        return _drop(ctx, T, oid, "groupId", "Group does not move", row.get("groupId"))
    user = ctx.map("User", row.get("userId"))
    if user is None:
        return _drop(ctx, T, oid, "userId", "User does not move", row.get("userId"))
    col = "data2" if ctx.src2021 else "data"
    data = row.get(col)
    if data is None and ctx.src2021:
        blob = row.get("data")
        if blob is not None and blob not in (b"n", "n", b"", ""):
            ctx.note(T, oid, "data", "ignored", "serialized data without data2")
    if data is not None:
        data, notes = remap_operation_data(data, ctx.map)
        if notes:
            _notes(ctx, T, oid, col, notes)
    return {
        "id": _own_id(ctx, T, oid), "name": row.get("name"), "amount": row.get("amount"),
        "date": _fill(ctx, T, oid, "date", _date(ctx, T, oid, row, "date", True), ""),
        "type": row.get("type"), "pending": row.get("pending") or 0, "groupId": group,
        "userId": user,
        "relationId": _nfk(ctx, T, oid, "relationId", "Operation", row.get("relationId")),
        "basketId": _nfk(ctx, T, oid, "basketId", "Basket", row.get("basketId")),
        "subscriptionId": _nfk(ctx, T, oid, "subscriptionId", "Subscription",
                               row.get("subscriptionId")),
        "data": data,
    }


def _membership(row, ctx):
    T = "Membership"
    oid = (row.get("userId"), row.get("groupId"), row.get("year"))
    group = ctx.map("Group", row.get("groupId"))
    if group is None:
        return _drop(ctx, T, oid, "groupId", "Group does not move")
    user = ctx.map("User", row.get("userId"))
    if user is None:
        return _drop(ctx, T, oid, "userId", "User does not move")
    return {
        "year": row.get("year"), "date": _date(ctx, T, oid, row, "date"),
        "amount": row.get("amount"),
        "operationId": _nfk(ctx, T, oid, "operationId", "Operation", row.get("operationId")),
        "distributionId": _nfk(ctx, T, oid, "distributionId", "MultiDistrib",
                               row.get("distributionId")),
        "groupId": group, "userId": user,
    }


def _user_group(row, ctx):
    T = "UserGroup"
    oid = (row.get("userId"), row.get("groupId"))
    group = ctx.map("Group", row.get("groupId"))
    if group is None:
        return _drop(ctx, T, oid, "groupId", "Group does not move")
    user = ctx.map("User", row.get("userId"))
    if user is None:
        return _drop(ctx, T, oid, "userId", "User does not move")
    if ctx.src2021:
        col = "rights2"
        rights = row.get("rights2")
        if rights is None:
            blob = row.get("rights")
            if blob is not None and blob not in (b"n", "n", b"", ""):
                ctx.note(T, oid, "rights", "ignored", "serialized rights without rights2")
    else:
        col = "rights"
        rights = row.get("rights")
    if rights is not None:
        rights, notes = remap_rights(rights, ctx.map)
        if notes:
            _notes(ctx, T, oid, col, notes)
    balance = row.get("balance")
    return {
        "groupId": group, "userId": user, "rights": rights,
        "balance": _zero(ctx, T, oid, "balance", balance),
    }


def _waiting_list(row, ctx):
    T = "WaitingList"
    oid = (row.get("userId"), row.get("amapId"))
    group = ctx.map("Group", row.get("amapId"))
    if group is None:
        return _drop(ctx, T, oid, "amapId", "Group does not move")
    user = ctx.map("User", row.get("userId"))
    if user is None:
        return _drop(ctx, T, oid, "userId", "User does not move")
    msg = row.get("message")
    return {
        "amapId": group, "userId": user,
        "date": _fill(ctx, T, oid, "date", _date(ctx, T, oid, row, "date", True), ""),
        "message": "" if msg is None else msg,
    }


def _volunteer_role(row, ctx):
    T = "VolunteerRole"
    oid = row["id"]
    group = ctx.map("Group", row.get("groupId"))
    if group is None:
        return _drop(ctx, T, oid, "groupId", "Group does not move", row.get("groupId"))
    return {
        "id": _own_id(ctx, T, oid), "name": row.get("name"), "enabledByDefault": 1,
        "groupId": group,
        "catalogId": _nfk(ctx, T, oid, "catalogId", "Catalog", row.get("catalogId")),
    }


def _volunteer(row, ctx):
    T = "Volunteer"
    oid = (row.get("userId"), row.get("multiDistribId"), row.get("volunteerRoleId"))
    user = ctx.map("User", row.get("userId"))
    if user is None:
        return _drop(ctx, T, oid, "userId", "User does not move")
    md = ctx.map("MultiDistrib", row.get("multiDistribId"))
    if md is None:
        return _drop(ctx, T, oid, "multiDistribId", "MultiDistrib does not move")
    role = ctx.map("VolunteerRole", row.get("volunteerRoleId"))
    if role is None:
        return _drop(ctx, T, oid, "volunteerRoleId", "VolunteerRole does not move")
    return {"userId": user, "multiDistribId": md, "volunteerRoleId": role}


def _entity_file(row, ctx):
    T = "EntityFile"
    oid = row["id"]
    etype = row.get("entityType")
    ref = ENTITY_FILE_TYPES.get(etype)
    if ref is None:
        return _drop(ctx, T, oid, "entityType", "entity type not moved", etype)
    entity = ctx.map(ref, row.get("entityId"))
    if entity is None:
        return _drop(ctx, T, oid, "entityId", f"{ref} does not move", row.get("entityId"))
    f = ctx.map("File", row.get("fileId"))
    if f is None:
        return _drop(ctx, T, oid, "fileId", "File does not move", row.get("fileId"))
    return {
        "id": _own_id(ctx, T, oid), "entityType": etype,
        "documentType": row.get("documentType"), "entityId": entity, "fileId": f,
        "data": row.get("data"),
    }


def _message(row, ctx):
    T = "Message"
    oid = row["id"]
    recipients = row.get("recipients")
    if recipients is not None:
        recipients, notes = recipients_json(recipients)
        if notes:
            _notes(ctx, T, oid, "recipients", notes)
    slate = row.get("slateContent")
    body = row.get("body")
    return {
        "id": _own_id(ctx, T, oid), "recipientListId": row.get("recipientListId"),
        "title": row.get("title") or "", "body": "" if body is None else body,
        "date": _fill(ctx, T, oid, "date", _date(ctx, T, oid, row, "date", True), ""),
        "recipients": recipients, "slateContent": "" if slate is None else slate,
        "amapId": _nfk(ctx, T, oid, "amapId", "Group", row.get("amapId")),
        "senderId": _nfk(ctx, T, oid, "senderId", "User", row.get("senderId")),
        "attachments": row.get("attachments"),
    }


TRANSFORMS = {
    "File": _file, "User": _user, "Vendor": _vendor, "Group": _group, "Place": _place,
    "Catalog": _catalog, "Product": _product, "DistributionCycle": _distribution_cycle,
    "MultiDistrib": _multidistrib, "Distribution": _distribution, "Subscription": _subscription,
    "Basket": _basket, "UserOrder": _user_order, "Operation": _operation,
    "Membership": _membership, "UserGroup": _user_group, "WaitingList": _waiting_list,
    "VolunteerRole": _volunteer_role, "Volunteer": _volunteer, "EntityFile": _entity_file,
    "Message": _message,
}


def _row_key(table: str, row: dict) -> Any:
    keys = COMPOSITE_KEYS.get(table)
    if keys is None:
        return row.get("id")
    return tuple(row.get(k) for k in keys)


def _repair(table: str, row: dict, cols: tuple[str, ...], ctx: TransformContext) -> dict:
    new = None
    for c in cols:
        v = row.get(c)
        if type(v) is str and not v.isascii():
            fixed = repair_text(v)
            if fixed != v:
                if new is None:
                    new = dict(row)
                new[c] = fixed
                ctx.note(table, _row_key(table, row), c, "repaired", "double-encoded UTF-8")
    return row if new is None else new


def transform_row(table: str, row: dict, ctx: TransformContext) -> dict | None:
    """The target row for one source row of ``table``, or None when the row is dropped (noted).

    ``row``: source column names, old ids. Result: exactly ``ctx.columns(table)``, new ids.
    Raises :class:`TransformError` when the caller broke the contract (no id allocated, user
    mapped to id 1) and KeyError for a table that does not move.
    """
    fn = TRANSFORMS.get(table)
    if fn is None:
        raise KeyError(f"{table} is not a moved table")
    if ctx.mojibake_columns:
        cols = ctx.repair_columns(table)
        if cols:
            row = _repair(table, row, cols, ctx)
    out = fn(row, ctx)
    if out is None or ctx.columns_exact(table):
        return out
    return {c: out[c] for c in ctx.columns(table)}


def transform_rows(table: str, rows: Iterable[dict], ctx: TransformContext) -> Iterator[dict]:
    """``transform_row`` over many rows of one table, dropped rows left out (they are noted)."""
    for row in rows:
        out = transform_row(table, row, ctx)
        if out is not None:
            yield out


# ---- references held by a source row (for the orchestrator's closure and verify) ------------

_FK_MAPS = {shape: fk_map(shape) for shape in ("2021", "2023")}


def referenced_ids(table: str, row: dict, source_shape: str) -> Iterator[tuple[str, int]]:
    """Every (table, old id) a SOURCE row refers to, ids inside text columns included.

    For the closure ("every user a moved row references moves too"). A UserOrder without
    basket refers to no Basket here (see baskets.BasketSynthesizer).
    """
    for col, ref in _FK_MAPS[source_shape][table].items():
        v = row.get(col)
        if v is None:
            continue
        kind = ref.kind
        if kind == "fk":
            yield ref.table, v
        elif kind == "csv":
            for i in parse_csv_ids(v):
                yield ref.table, i
        elif kind == "poly":
            target = ENTITY_FILE_TYPES.get(row.get(ref.by))
            if target is not None:
                yield target, v
        elif table == "UserGroup":
            for i in rights_catalog_ids(v):
                yield "Catalog", i
        elif table == "Subscription":
            products, users = default_orders_ids(v)
            for i in products:
                yield "Product", i
            for i in users:
                yield "User", i
        elif table == "Operation":
            yield from operation_data_ids(v)
        elif table == "Basket":
            for i in basket_data_product_ids(v):
                yield "Product", i
