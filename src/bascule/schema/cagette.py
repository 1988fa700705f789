"""Cagette.net source schema: the 2021 public-source shape and the early-2023 shape.

One function per table, in the order of cagette-schema.md §2; each reads the shape from ``s``
(``s.c21`` is True for "2021", False for "2023"; ``s.legacy`` adds the §2.17 leftovers).
See the package docstring for the choices taken where the references are ambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import MetaData, PrimaryKeyConstraint, Table

from .types import (
    BOOL,
    DATE,
    DATETIME,
    DOUBLE,
    ENUM,
    INT,
    MEDIUMBLOB,
    MEDIUMTEXT,
    TEXT,
    TINYINT,
    TINYTEXT,
    UTINYINT,
    VARCHAR,
    col,
    idx,
    make_table,
    nullable,
    pk,
    ref,
)

GROUP_DISABLED_2023 = ("BLOCKED_BY_ADMIN", "MOVED", "TOO_MANY_MULTI_DISTRIBS_NOT_VALIDATED")


@dataclass
class _Shape:
    md: MetaData
    shape: str
    legacy: bool
    latin1: frozenset[str] = field(default_factory=frozenset)

    @property
    def c21(self) -> bool:
        return self.shape == "2021"

    def table(self, name: str, *items) -> Table:
        return make_table(self.md, name, *[i for i in items if i is not None],
                          latin1=name in self.latin1)

    def old(self, *cols):
        """Legacy columns (§2.17): only with legacy=True, always NULLable, never FKs."""
        return nullable(cols) if self.legacy else []


# --------------------------------------------------------------------------- 2.1 users


def user(s: _Shape) -> Table:
    t = "User"
    return s.table(
        t,
        pk(),
        col("lang", VARCHAR(2)),
        col("pass", TINYTEXT),
        col("pass2", TINYTEXT),
        col("rights", INT),
        col("firstName", VARCHAR(32)),
        col("lastName", VARCHAR(32)),
        col("email", VARCHAR(64)),
        col("phone", VARCHAR(19), null=True),
        col("firstName2", VARCHAR(32), null=True),
        col("lastName2", VARCHAR(32), null=True),
        col("email2", VARCHAR(64), null=True),
        col("phone2", VARCHAR(19), null=True),
        col("address1", VARCHAR(64), null=True),
        col("address2", VARCHAR(64), null=True),
        col("zipCode", VARCHAR(32), null=True),
        col("city", VARCHAR(25), null=True),
        col("birthDate", DATE, null=True),
        col("nationality", VARCHAR(2), null=True),
        col("countryOfResidence", VARCHAR(2), null=True),
        col("cdate", DATETIME),
        col("ldate", DATETIME, null=True),
        col("flags", INT),
        col("tosVersion", INT, null=True),
        col("tutoState", MEDIUMBLOB, null=True),
        col("apiKey", VARCHAR(128), null=True),
        col("currentRefreshToken", VARCHAR(255), null=True),
        *s.old(col("tos", BOOL), col("birthday", DATE)),
        idx(t, "email", unique=True),
        idx(t, "email2"),
    )


def user_group(s: _Shape) -> Table:
    t = "UserGroup"
    if s.c21:
        rights = [col("rights", MEDIUMBLOB, null=True), col("rights2", TEXT, null=True)]
    else:
        rights = [col("rights", TEXT, null=True)]
    return s.table(
        t,
        ref(t, "groupId", "Group"),
        ref(t, "userId", "User"),
        *rights,
        col("balance", DOUBLE),
        *s.old(col("lastMemberShip", INT)),
        PrimaryKeyConstraint("userId", "groupId"),
    )


def membership(s: _Shape) -> Table:
    t = "Membership"
    return s.table(
        t,
        ref(t, "groupId", "Group"),
        ref(t, "userId", "User"),
        ref(t, "distributionId", "MultiDistrib", null=True),
        ref(t, "operationId", "Operation", null=True),
        col("amount", DOUBLE),
        col("year", INT),
        col("date", DATE, null=True),
        PrimaryKeyConstraint("userId", "groupId", "year"),
    )


def waiting_list(s: _Shape) -> Table:
    t = "WaitingList"
    return s.table(
        t,
        ref(t, "amapId", "Group", field="group"),
        ref(t, "userId", "User"),
        col("date", DATETIME),
        col("message", MEDIUMTEXT),
        PrimaryKeyConstraint("userId", "amapId"),
    )


# --------------------------------------------------------------------------- 2.2 groups


def group(s: _Shape) -> Table:
    t = "Group"
    if s.c21:
        vat = col("vatRates2", MEDIUMTEXT, null=True)
        pay = col("allowedPaymentsType2", MEDIUMTEXT, null=True)
        disabled = None
        # the serialized blobs that vatRates2/allowedPaymentsType2 replaced
        old_blobs = [col("vatRates", MEDIUMBLOB), col("allowedPaymentsType", MEDIUMBLOB)]
    else:
        vat = col("vatRates", TEXT, null=True)
        pay = col("allowedPaymentsType", TEXT, null=True)
        disabled = col("disabled", ENUM(*GROUP_DISABLED_2023), null=True)
        old_blobs = []
    return s.table(
        t,
        pk(),
        col("name", VARCHAR(64)),
        ref(t, "userId", "User", null=True, field="contact"),
        col("txtIntro", MEDIUMTEXT, null=True),
        col("txtHome", MEDIUMTEXT, null=True),
        col("txtDistrib", MEDIUMTEXT, null=True),
        col("extUrl", VARCHAR(64), null=True),
        col("membershipRenewalDate", DATE, null=True),
        col("membershipFee", TINYINT, null=True),
        vat,
        col("flags", INT),
        col("betaFlags", INT),
        col("hasMembership", BOOL),
        col("groupType", UTINYINT, null=True),
        ref(t, "imageId", "File", null=True, field="image"),
        col("cdate", DATETIME),
        # circular with Place.groupId: created by ALTER TABLE after both tables
        ref(t, "placeId", "Place", null=True, field="mainPlace", use_alter=True),
        col("regOption", UTINYINT),
        col("currency", VARCHAR(12)),
        col("currencyCode", VARCHAR(3)),
        ref(t, "legalReprId", "User", null=True, field="legalRepresentative"),
        pay,
        col("checkOrder", VARCHAR(64), null=True),
        col("IBAN", VARCHAR(40), null=True),
        col("allowMoneyPotWithNegativeBalance", BOOL, null=True),
        col("volunteersMailDaysBeforeDutyPeriod", TINYINT),
        col("volunteersMailContent", MEDIUMTEXT),
        col("vacantVolunteerRolesMailDaysBeforeDutyPeriod", TINYINT),
        col("daysBeforeDutyPeriodsOpen", INT),
        col("alertMailContent", MEDIUMTEXT),
        disabled,
        *s.old(
            *old_blobs,
            col("membershipPrice", TINYINT),
            col("legalStatus", UTINYINT),
            col("aboEnd", DATE),
            col("aboType", UTINYINT),
            col("emailStock", INT),
            col("smsStock", INT),
        ),
    )


def hosting(s: _Shape) -> Table:
    t = "Hosting"
    return s.table(
        t,
        col("id", INT, primary_key=True, autoincrement=False),  # = Group.id, no FK
        col("cdate", DATETIME, null=True),
        col("active", BOOL),
        col("visible", BOOL),
        col("membersNum", INT),
        col("contractNum", INT),
        col("cproContractNum", INT),
        idx(t, "active", "visible"),
    )


# --------------------------------------------------------------------------- 2.3 places


def place(s: _Shape) -> Table:
    t = "Place"
    return s.table(
        t,
        pk(),
        col("name", VARCHAR(64)),
        col("address1", VARCHAR(64), null=True),
        col("address2", VARCHAR(64), null=True),
        col("zipCode", VARCHAR(32)),
        col("city", VARCHAR(64)),
        col("country", VARCHAR(64), null=True),
        col("lat", DOUBLE, null=True),
        col("lng", DOUBLE, null=True),
        ref(t, "groupId", "Group"),
        idx(t, "lat", "lng"),
    )


# --------------------------------------------------------------------------- 2.4 vendors


def vendor(s: _Shape) -> Table:
    t = "Vendor"
    return s.table(
        t,
        pk(),
        col("name", VARCHAR(128)),
        col("peopleName", VARCHAR(128), null=True),
        col("profession", INT, null=True),
        *([] if s.c21 else [
            col("production2", INT, null=True),
            col("production3", INT, null=True),
        ]),
        col("email", VARCHAR(128), null=True),
        col("phone", VARCHAR(19), null=True),
        col("address1", VARCHAR(64), null=True),
        col("address2", VARCHAR(64), null=True),
        col("zipCode", VARCHAR(32)),
        col("city", VARCHAR(25)),
        col("country", VARCHAR(64), null=True),
        col("desc", MEDIUMTEXT, null=True),
        col("cdate", DATETIME, null=True),
        col("companyNumber", VARCHAR(128), null=True),
        col("vatNumber", VARCHAR(128), null=True),
        col("legalStatus", INT, null=True),
        col("companyCapital", INT, null=True),
        col("siretInfos", MEDIUMBLOB, null=True),
        col("activityCode", VARCHAR(8), null=True),
        col("vendorPolicy", BOOL),
        col("tosVersion", INT, null=True),
        col("linkText", VARCHAR(256), null=True),
        col("linkUrl", VARCHAR(256), null=True),
        col("directory", BOOL),
        col("longDesc", MEDIUMTEXT, null=True),
        col("offCagette", MEDIUMTEXT, null=True),
        ref(t, "imageId", "File", null=True, field="image"),
        ref(t, "userId", "User", null=True),
        col("status", VARCHAR(32), null=True),
        col("disabled", UTINYINT, null=True),
        col("isTest", BOOL),
        col("lat", DOUBLE, null=True),
        col("lng", DOUBLE, null=True),
        col("betaFlags", INT),
        *s.old(col("amapId", INT), col("active", BOOL), col("isCovid", BOOL)),
    )


# --------------------------------------------------------------------------- 2.5 catalogs


def catalog(s: _Shape) -> Table:
    t = "Catalog"
    n = s.c21  # NULLable in 2021, NOT NULL (COALESCE 0) in 2023
    return s.table(
        t,
        pk(),
        col("name", VARCHAR(64)),
        col("type", INT),
        ref(t, "userId", "User", null=True, field="contact"),
        ref(t, "vendorId", "Vendor"),
        col("startDate", DATETIME),
        col("endDate", DATETIME),
        col("description", MEDIUMTEXT, null=True),
        ref(t, "groupId", "Group"),
        col("distributorNum", TINYINT),
        col("flags", INT),
        col("percentageValue", DOUBLE, null=True),
        col("percentageName", VARCHAR(64), null=True),
        col("orderStartDaysBeforeDistrib", INT, null=True),
        col("orderEndHoursBeforeDistrib", INT, null=True),
        col("requiresOrdering", BOOL, null=True) if s.c21 else None,
        col("distribMinOrdersTotal", DOUBLE, null=n),
        col("catalogMinOrdersTotal", DOUBLE, null=n),
        col("absentDistribsMaxNb", INT, null=n),
        col("absencesStartDate", DATETIME, null=True),
        col("absencesEndDate", DATETIME, null=True),
        col("hasPayments", BOOL) if s.c21 else None,
        *s.old(
            col("allowedOverspend", INT),
            col("orderPreparationHours", INT),
            col("migrated", BOOL),
        ),
        idx(t, "startDate", "endDate"),
    )


def remote_catalog(s: _Shape) -> Table:
    t = "RemoteCatalog"
    return s.table(
        t,
        col("id", INT, primary_key=True, autoincrement=False),  # = Catalog.id, no FK
        col("remoteCatalogId", INT),  # = PCatalog.id, no FK
        col("needSync", BOOL),
        col("disabledProducts", MEDIUMTEXT, null=True),
        idx(t, "remoteCatalogId", "needSync"),
    )


def wconfig(s: _Shape) -> Table:
    t = "WConfig"
    return s.table(
        t,
        pk(),
        ref(t, "contract1Id", "Catalog", field="contract"),
        col("active", BOOL),
    )


# --------------------------------------------------------------------------- 2.6 products


def product(s: _Shape) -> Table:
    t = "Product"
    return s.table(
        t,
        pk(),
        col("name", VARCHAR(128)),
        col("ref", VARCHAR(32), null=True),
        ref(t, "catalogId", "Catalog"),
        col("price", DOUBLE),
        col("vat", DOUBLE),
        col("desc", MEDIUMTEXT, null=True),
        col("stock", DOUBLE, null=True),
        col("unitType", UTINYINT, null=True),
        col("qt", DOUBLE, null=True),
        col("organic", BOOL),
        col("variablePrice", BOOL),
        col("multiWeight", BOOL),
        col("wholesale", BOOL),
        col("retail", BOOL),
        col("bulk", BOOL),
        col("smallQt", DOUBLE, null=True),
        ref(t, "imageId", "File", null=True, field="image"),
        ref(t, "txpProductId", "TxpProduct", null=True),
        col("active", BOOL),
        *s.old(col("hasFloatQt", BOOL), col("type", INT)),
    )


def txp_category(s: _Shape) -> Table:
    return s.table(
        "TxpCategory",
        pk(),
        col("image", VARCHAR(64), null=True),
        col("displayOrder", TINYINT),
        col("name", VARCHAR(128)),
    )


def txp_sub_category(s: _Shape) -> Table:
    t = "TxpSubCategory"
    return s.table(
        t,
        pk(),
        col("name", VARCHAR(128)),
        ref(t, "categoryId", "TxpCategory"),
        col("displayOrder", TINYINT),
    )


def txp_product(s: _Shape) -> Table:
    t = "TxpProduct"
    return s.table(
        t,
        pk(),
        col("name", VARCHAR(128)),
        ref(t, "subCategoryId", "TxpSubCategory"),
    )


# --------------------------------------------------------------------------- 2.7 distributions


def multi_distrib(s: _Shape) -> Table:
    t = "MultiDistrib"
    if s.c21:
        slots = [
            col("slotsMode", MEDIUMBLOB, null=True),
            col("slots", MEDIUMBLOB, null=True),
            col("inNeedUserIds", MEDIUMBLOB, null=True),
            col("voluntaryUsers", MEDIUMBLOB, null=True),
            col("timeSlots", MEDIUMTEXT, null=True),
        ]
        validation = []
    else:
        slots = []
        validation = [
            # Haxe enum NOT_VALIDATED/VALIDATED/PAID stored as a string (VARCHAR(32)).
            col("validatedStatus", VARCHAR(32), server_default="NOT_VALIDATED"),
            col("validatedDate", DATETIME, null=True),
        ]
    return s.table(
        t,
        pk(),
        col("distribStartDate", DATETIME),
        col("distribEndDate", DATETIME),
        col("orderStartDate", DATETIME, null=s.c21),
        col("orderEndDate", DATETIME, null=s.c21),
        *slots,
        ref(t, "groupId", "Group"),
        ref(t, "placeId", "Place"),
        ref(t, "distributionCycleId", "DistributionCycle", null=True),
        col("counterBeforeDistrib", DOUBLE),
        col("volunteerRolesIds", MEDIUMTEXT, null=True),
        col("validated", BOOL, null=True),
        *validation,
        *s.old(col("timeSlotData", MEDIUMTEXT), col("type", INT)),
        idx(t, "distribStartDate"),
    )


def distribution(s: _Shape) -> Table:
    t = "Distribution"
    return s.table(
        t,
        pk(),
        ref(t, "catalogId", "Catalog"),
        ref(t, "multiDistribId", "MultiDistrib"),
        ref(t, "placeId", "Place"),
        col("date", DATETIME, null=True),
        col("end", DATETIME, null=True),
        col("orderStartDate", DATETIME, null=s.c21),
        col("orderEndDate", DATETIME),
        *s.old(
            col("validated", BOOL),
            col("distributionCycleId", INT),
            col("distributor1Id", INT),
            col("distributor2Id", INT),
            col("distributor3Id", INT),
            col("distributor4Id", INT),
            col("text", MEDIUMTEXT),
            col("confirmed", BOOL),
        ),
        idx(t, "date", "orderStartDate", "orderEndDate"),
    )


def distribution_cycle(s: _Shape) -> Table:
    t = "DistributionCycle"
    return s.table(
        t,
        pk(),
        ref(t, "groupId", "Group"),
        col("cycleType", UTINYINT),
        col("startDate", DATETIME),
        col("endDate", DATETIME),
        col("startHour", DATETIME),
        col("endHour", DATETIME),
        col("daysBeforeOrderStart", TINYINT, null=True),
        col("daysBeforeOrderEnd", TINYINT, null=True),
        col("openingHour", DATETIME, null=s.c21),
        col("closingHour", DATETIME, null=s.c21),
        ref(t, "placeId", "Place"),
        *s.old(col("contractId", INT)),
    )


# --------------------------------------------------------------------------- 2.8 orders


def user_order(s: _Shape) -> Table:
    t = "UserOrder"
    return s.table(
        t,
        pk(),
        ref(t, "userId", "User"),
        ref(t, "userId2", "User", null=True),
        col("quantity", DOUBLE),
        ref(t, "productId", "Product"),
        col("productPrice", DOUBLE),
        col("feesRate", DOUBLE),
        col("paid", BOOL),
        ref(t, "distributionId", "Distribution"),
        ref(t, "basketId", "Basket", null=s.c21),
        ref(t, "subscriptionId", "Subscription", null=True),
        col("date", DATETIME),
        col("flags", INT),
        *s.old(col("amapId", INT)),
    )


def basket(s: _Shape) -> Table:
    t = "Basket"
    old = s.old(col("basketRef", VARCHAR(256)), col("placeId", INT), col("ddate", DATETIME))
    if s.c21:
        return s.table(
            t,
            pk(),
            col("ref", VARCHAR(256), null=True),
            col("cdate", DATETIME),
            col("num", INT),
            col("total", DOUBLE, null=True),
            ref(t, "userId", "User"),
            ref(t, "multiDistribId", "MultiDistrib"),
            col("data", MEDIUMBLOB, null=True),
            *old,
            idx(t, "ref"),
        )
    return s.table(
        t,
        pk(),
        col("cdate", DATETIME),
        col("num", INT),
        col("total", DOUBLE),
        ref(t, "userId", "User", null=True),
        ref(t, "multiDistribId", "MultiDistrib"),
        col("data", MEDIUMTEXT),
        col("status", VARCHAR(32)),
        *old,
    )


def tmp_basket(s: _Shape) -> Table | None:
    if not s.c21:
        return None  # merged into Basket (status OPEN) by 2023
    t = "TmpBasket"
    return s.table(
        t,
        pk(),
        col("ref", VARCHAR(256), null=True),
        col("cdate", DATETIME),
        col("data", MEDIUMTEXT),
        ref(t, "userId", "User", null=True),
        ref(t, "multiDistribId", "MultiDistrib"),
        *s.old(col("basketRef", VARCHAR(256)), col("placeId", INT), col("ddate", DATETIME),
               col("groupId", INT)),
        idx(t, "ref"),
    )


# --------------------------------------------------------------------------- 2.9 subscriptions


def subscription(s: _Shape) -> Table:
    t = "Subscription"
    return s.table(
        t,
        pk(),
        ref(t, "userId", "User"),
        ref(t, "userId2", "User", null=True),
        ref(t, "catalogId", "Catalog"),
        col("startDate", DATETIME),
        col("endDate", DATETIME),
        col("isPaid", BOOL) if s.c21 else None,
        col("defaultOrders", MEDIUMTEXT, null=True),
        col("absentDistribIds", MEDIUMTEXT, null=True),
        *s.old(col("isValidated", BOOL), col("absencesNb", INT), col("defaultOrder", MEDIUMTEXT)),
    )


# --------------------------------------------------------------------------- 2.10 payments


def operation(s: _Shape) -> Table:
    t = "Operation"
    if s.c21:
        data = [col("data", MEDIUMBLOB)]
        data2 = [col("data2", VARCHAR(256), null=True)]
    else:
        data = [col("data", VARCHAR(256), null=True)]
        data2 = []
    return s.table(
        t,
        pk(),
        col("name", VARCHAR(128)),
        col("amount", DOUBLE),
        col("date", DATETIME),
        col("type", UTINYINT),
        ref(t, "relationId", "Operation", null=True),
        ref(t, "userId", "User"),
        ref(t, "groupId", "Group"),
        col("pending", BOOL),
        *data,
        ref(t, "basketId", "Basket", null=True),
        ref(t, "subscriptionId", "Subscription", null=True),
        *data2,
        *s.old(col("contractId", INT)),
    )


def mangopay_user(s: _Shape) -> Table:
    t = "MangopayUser"
    # single-column @:id on an INT becomes AUTO_INCREMENT (record-macros quirk)
    return s.table(
        t,
        ref(t, "userId", "User", primary_key=True, autoincrement=True),
        col("mangopayUserId", INT),
    )


def mangopay_legal_user(s: _Shape) -> Table:
    t = "MangopayLegalUser"
    return s.table(
        t,
        col("mangopayUserId", INT, primary_key=True, autoincrement=True),
        col("name", VARCHAR(256)),
        col("companyNumber", VARCHAR(256), null=True),
        col("legalStatus", VARCHAR(32), null=True),
        ref(t, "legalReprId", "User", field="legalRepr"),
        col("bankAccountId", INT, null=True),
        col("fixedFeeAmount", DOUBLE),
        col("variableFeeRate", DOUBLE),
        col("disabled", BOOL),
    )


def mangopay_legal_user_group(s: _Shape) -> Table:
    t = "MangopayLegalUserGroup"
    return s.table(
        t,
        ref(t, "legalUserId", "MangopayLegalUser.mangopayUserId"),
        ref(t, "groupId", "Group", primary_key=True, autoincrement=True),
        col("walletId", INT, null=True),
    )


def mangopay_group_pay_out(s: _Shape) -> Table:
    t = "MangopayGroupPayOut"
    return s.table(
        t,
        pk(),
        ref(t, "multiDistribId", "MultiDistrib"),
        col("payOutId", INT),
        col("cachedDatas", MEDIUMBLOB, null=True),
    )


def mangopay_company(s: _Shape) -> Table:
    t = "MangopayCompany"
    return s.table(
        t,
        ref(t, "companyId", "CagettePro", primary_key=True, autoincrement=True),
        col("mangopayUserId", VARCHAR(256)),
    )


def mangopay_vendor_pay_out(s: _Shape) -> Table:
    t = "MangopayVendorPayOut"
    return s.table(
        t,
        ref(t, "companyId", "CagettePro"),
        col("payOutId", VARCHAR(256)),
        col("multiDistribKey", VARCHAR(64)),
        col("reference", VARCHAR(64)),
        PrimaryKeyConstraint("companyId", "multiDistribKey"),
    )


# --------------------------------------------------------------------------- 2.11 messages and mail


def message(s: _Shape) -> Table:
    t = "Message"
    return s.table(
        t,
        pk(),
        ref(t, "amapId", "Group", null=True, field="amap"),
        ref(t, "senderId", "User", null=True),
        col("recipientListId", VARCHAR(12), null=True),
        col("recipients", MEDIUMBLOB, null=True),
        col("title", VARCHAR(128)),
        col("body", MEDIUMTEXT),
        col("date", DATETIME),
        col("attachments", MEDIUMTEXT, null=True),
        col("slateContent", MEDIUMTEXT),
    )


def buffered_mail(s: _Shape) -> Table:
    t = "BufferedMail"
    return s.table(
        t,
        pk(),
        col("title", VARCHAR(256)),
        col("htmlBody", MEDIUMTEXT, null=True),
        col("textBody", MEDIUMTEXT, null=True),
        col("headers", MEDIUMBLOB),
        col("sender", MEDIUMBLOB),
        col("recipients", MEDIUMBLOB),
        col("mailerType", VARCHAR(32)),
        col("tries", INT),
        col("cdate", DATETIME),
        col("sdate", DATETIME, null=True),
        col("rawStatus", MEDIUMTEXT, null=True),
        col("status", MEDIUMBLOB, null=True),
        col("data", MEDIUMBLOB, null=True),
        col("remoteId", INT, null=True),  # = Group.id, no FK
        idx(t, "remoteId", "sdate", "cdate"),
    )


def buffered_json_mail(s: _Shape) -> Table:
    t = "BufferedJsonMail"
    return s.table(
        t,
        pk(),
        col("title", VARCHAR(256)),
        col("htmlBody", MEDIUMTEXT, null=True),
        col("textBody", MEDIUMTEXT, null=True),
        col("headers", MEDIUMTEXT, null=True),
        col("sender", MEDIUMTEXT, null=True),
        col("recipients", MEDIUMTEXT, null=True),
        col("attachments", MEDIUMTEXT, null=True),
        col("mailerType", VARCHAR(32)),
        col("tries", INT),
        col("cdate", DATETIME),
        col("sdate", DATETIME, null=True),
        col("rawStatus", MEDIUMTEXT, null=True),
        idx(t, "sdate", "cdate"),
    )


# --------------------------------------------------------------------------- 2.12 volunteers


def volunteer_role(s: _Shape) -> Table:
    t = "VolunteerRole"
    return s.table(
        t,
        pk(),
        col("name", VARCHAR(64)),
        ref(t, "groupId", "Group"),
        ref(t, "catalogId", "Catalog", null=True),
    )


def volunteer(s: _Shape) -> Table:
    t = "Volunteer"
    return s.table(
        t,
        ref(t, "userId", "User"),
        ref(t, "multiDistribId", "MultiDistrib"),
        ref(t, "volunteerRoleId", "VolunteerRole"),
        PrimaryKeyConstraint("userId", "multiDistribId", "volunteerRoleId"),
    )


# --------------------------------------------------------------------------- 2.13 files (sugoi)


def file(s: _Shape) -> Table:
    t = "File"
    return s.table(
        t,
        pk(),
        col("name", TINYTEXT),
        col("cdate", DATETIME),
        col("data", MEDIUMBLOB),
        idx(t, "cdate"),
    )


def entity_file(s: _Shape) -> Table:
    t = "EntityFile"
    return s.table(
        t,
        pk(),
        ref(t, "fileId", "File"),
        col("entityType", VARCHAR(64)),
        col("documentType", VARCHAR(64)),
        col("data", VARCHAR(128), null=True),
        col("entityId", INT),  # polymorphic (group / catalog / vendor): no FK
        idx(t, "fileId", "entityType", "entityId"),
    )


def permalink(s: _Shape) -> Table:
    return s.table(
        "Permalink",
        col("link", VARCHAR(128), primary_key=True),
        col("entityType", VARCHAR(64)),
        col("entityId", INT),  # polymorphic: no FK
    )


# --------------------------------------------------------------------------- 2.14 pro plugin


def cagette_pro(s: _Shape) -> Table:
    t = "CagettePro"
    return s.table(
        t,
        pk(),
        ref(t, "vendorId", "Vendor"),
        # circular with PCatalog.companyId: created by ALTER TABLE
        ref(t, "demoCatalogId", "PCatalog", null=True, use_alter=True),
        col("vatRates", MEDIUMBLOB),
        col("freeCpro", BOOL),
        col("training", BOOL),
        col("network", BOOL),
        col("captiveGroups", BOOL),
        col("discovery", BOOL),
        col("networkGroupIds", VARCHAR(512), null=True),
        col("disabled", BOOL),
        col("cdate", DATETIME, null=True),
    )


def p_catalog(s: _Shape) -> Table:
    t = "PCatalog"
    return s.table(
        t,
        pk(),
        col("name", VARCHAR(128)),
        col("contractName", VARCHAR(128), null=True),
        col("startDate", DATETIME),
        col("endDate", DATETIME),
        ref(t, "vendorId", "Vendor", null=True),
        col("visible", BOOL),
        col("maxDistance", INT, null=True),
        col("deliveryAvailabilities", MEDIUMBLOB, null=True),
        ref(t, "companyId", "CagettePro"),
        col("lastUpdate", DATETIME),
    )


def p_product(s: _Shape) -> Table:
    t = "PProduct"
    return s.table(
        t,
        pk(),
        col("name", VARCHAR(128)),
        col("ref", VARCHAR(32)),
        ref(t, "companyId", "CagettePro"),
        col("desc", MEDIUMTEXT, null=True),
        ref(t, "imageId", "File", null=True, field="image"),
        col("active", BOOL),
        col("unitType", UTINYINT, null=True),
        col("organic", BOOL),
        col("variablePrice", BOOL),
        col("multiWeight", BOOL),
        col("wholesale", BOOL),
        col("retail", BOOL),
        col("bulk", BOOL),
        ref(t, "txpProductId", "TxpProduct", null=True),
        col("stock", DOUBLE, null=True),
    )


def p_offer(s: _Shape) -> Table:
    t = "POffer"
    return s.table(
        t,
        pk(),
        col("name", VARCHAR(128), null=True),
        col("ref", VARCHAR(32)),
        ref(t, "productId", "PProduct"),
        ref(t, "imageId", "File", null=True, field="image"),
        col("quantity", DOUBLE, null=True),
        col("price", DOUBLE),
        col("vat", DOUBLE),
        col("smallQt", DOUBLE, null=True),
        col("active", BOOL),
        col("stock", DOUBLE, null=True),
    )


def p_catalog_offer(s: _Shape) -> Table:
    t = "PCatalogOffer"
    return s.table(
        t,
        ref(t, "offerId", "POffer"),
        ref(t, "catalogId", "PCatalog"),
        col("price", DOUBLE),
        PrimaryKeyConstraint("offerId", "catalogId"),
    )


def p_user_company(s: _Shape) -> Table:
    t = "PUserCompany"
    return s.table(
        t,
        ref(t, "companyId", "CagettePro"),
        ref(t, "userId", "User"),
        col("legalRepresentative", BOOL),
        col("disabled", BOOL),
        PrimaryKeyConstraint("userId", "companyId"),
    )


def p_vendor_company(s: _Shape) -> Table:
    t = "PVendorCompany"
    return s.table(
        t,
        ref(t, "companyId", "CagettePro"),
        ref(t, "vendorId", "Vendor"),
        PrimaryKeyConstraint("companyId", "vendorId"),
    )


def p_message(s: _Shape) -> Table:
    t = "PMessage"
    return s.table(
        t,
        pk(),
        ref(t, "senderId", "User"),
        ref(t, "companyId", "CagettePro"),
        col("recipientListId", VARCHAR(12)),
        col("title", VARCHAR(128)),
        col("body", MEDIUMTEXT),
        col("date", DATETIME),
    )


def p_notif(s: _Shape) -> Table:
    t = "PNotif"
    return s.table(
        t,
        pk(),
        ref(t, "companyId", "CagettePro"),
        ref(t, "groupId", "Group", null=True),
        ref(t, "userId", "User", null=True),
        col("type", UTINYINT),
        col("title", TINYTEXT),
        col("content", MEDIUMBLOB),
        col("date", DATETIME),
    )


def vendor_stats(s: _Shape) -> Table:
    t = "VendorStats"
    return s.table(
        t,
        pk(),
        ref(t, "vendorId", "Vendor", null=True),
        col("type", UTINYINT),
        col("active", BOOL),
        col("referer", VARCHAR(256), null=True),
        col("turnover90days", DOUBLE, null=True),
        col("turnoverTotal", DOUBLE, null=True),
        col("ldate", DATETIME),
        idx(t, "type", "active", "ldate"),
    )


def course(s: _Shape) -> Table:
    t = "Course"
    return s.table(
        t,
        pk(),
        col("ref", VARCHAR(64)),
        col("name", VARCHAR(128)),
        col("date", DATETIME),
        col("end", DATETIME),
        ref(t, "groupId", "Group", null=True),
        ref(t, "teacherId", "User", null=True),
    )


def company_course(s: _Shape) -> Table:
    t = "CompanyCourse"
    return s.table(
        t,
        ref(t, "companyId", "CagettePro"),
        ref(t, "courseId", "Course"),
        ref(t, "userId", "User", null=True),
        col("moodlePass", VARCHAR(128), null=True),
        col("moodleUser", VARCHAR(128), null=True),
        col("cagettePass", VARCHAR(128), null=True),
        col("cagetteUser", VARCHAR(128), null=True),
        PrimaryKeyConstraint("companyId", "courseId"),
    )


# --------------------------------------------------------------------------- 2.15 technical


def session(s: _Shape) -> Table:
    t = "Session"
    return s.table(
        t,
        col("sid", VARCHAR(32), primary_key=True),
        col("ip", VARCHAR(15)),
        col("lang", VARCHAR(2)),
        col("messages", MEDIUMBLOB),
        col("lastTime", DATETIME),
        col("createTime", DATETIME),
        col("sdata", MEDIUMBLOB),
        ref(t, "uid", "User", null=True, field="user"),
        idx(t, "lastTime"),
    )


def cache(s: _Shape) -> Table:
    return s.table(
        "Cache",
        col("name", VARCHAR(128), primary_key=True),
        col("value", MEDIUMTEXT),
        col("expire", DATETIME),
        col("cdate", DATETIME, null=True),
    )


def variable(s: _Shape) -> Table:
    return s.table(
        "Variable",
        col("name", VARCHAR(64), primary_key=True),
        col("value", MEDIUMTEXT),
    )


def error(s: _Shape) -> Table:
    t = "Error"
    return s.table(
        t,
        pk(),
        col("date", DATETIME),
        col("error", MEDIUMTEXT),
        ref(t, "uid", "User", null=True, field="user"),
        col("ip", VARCHAR(15), null=True),
        col("userAgent", VARCHAR(256), null=True),
        col("url", TINYTEXT, null=True),
        idx(t, "date"),
    )


def graph(s: _Shape) -> Table:
    return s.table(
        "Graph",
        col("key", VARCHAR(128)),
        col("date", DATETIME),
        col("value", DOUBLE),
        PrimaryKeyConstraint("key", "date"),
    )


# --------------------------------------------------------------- legacy tables (§2.16, §2.17)
# Columns of these are partly reconstructed ("plausible"): everything but the key is NULLable.


def order_payment(s: _Shape) -> Table:
    return s.table(
        "OrderPayment",
        pk(),
        *nullable([
            col("userOrderId", INT),
            col("operationId", INT),
            col("amount", DOUBLE),
            col("date", DATETIME),
        ]),
    )


def tour_attendee(s: _Shape) -> Table:
    return s.table(
        "TourAttendee",
        pk(),
        *nullable([
            col("userId", INT),
            col("name", VARCHAR(128)),
            col("email", VARCHAR(128)),
            col("city", VARCHAR(64)),
            col("cdate", DATETIME),
        ]),
    )


def p_vendor(s: _Shape) -> Table:
    t = "PVendor"
    return s.table(
        t,
        pk(),
        *nullable([
            col("name", VARCHAR(32)),
            col("email", TINYTEXT),
            col("phone", VARCHAR(19)),
            col("address1", VARCHAR(64)),
            col("address2", VARCHAR(64)),
            col("zipCode", VARCHAR(32)),
            col("city", VARCHAR(25)),
            col("desc", MEDIUMTEXT),
            col("linkText", VARCHAR(256)),
            col("linkUrl", VARCHAR(256)),
            ref(t, "imageId", "File", field="image", ondelete="SET NULL"),
            ref(t, "companyId", "CagettePro", ondelete="SET NULL"),
        ]),
    )


def category_group(s: _Shape) -> Table:
    t = "CategoryGroup"
    return s.table(
        t,
        pk(),
        col("name", VARCHAR(128)),
        col("color", TINYINT),
        col("pinned", BOOL),
        ref(t, "amapId", "Group", field="amap"),
    )


def category(s: _Shape) -> Table:
    t = "Category"
    return s.table(
        t,
        pk(),
        col("name", VARCHAR(128)),
        ref(t, "categoryGroupId", "CategoryGroup"),
    )


def product_category(s: _Shape) -> Table:
    t = "ProductCategory"
    return s.table(
        t,
        ref(t, "productId", "Product"),
        ref(t, "categoryId", "Category"),
        PrimaryKeyConstraint("productId", "categoryId"),
    )


TABLES = (
    # users and membership
    user, user_group, membership, waiting_list,
    # groups, places, vendors
    group, hosting, place, vendor,
    # catalogs, products, taxonomy
    catalog, remote_catalog, wconfig, product, txp_category, txp_sub_category, txp_product,
    # distributions
    multi_distrib, distribution, distribution_cycle,
    # orders, subscriptions, payments
    user_order, basket, tmp_basket, subscription, operation,
    mangopay_user, mangopay_legal_user, mangopay_legal_user_group, mangopay_group_pay_out,
    mangopay_company, mangopay_vendor_pay_out,
    # messages and mail
    message, buffered_mail, buffered_json_mail,
    # volunteers
    volunteer_role, volunteer,
    # files
    file, entity_file, permalink,
    # pro plugin, hosted courses
    cagette_pro, p_catalog, p_product, p_offer, p_catalog_offer, p_user_company, p_vendor_company,
    p_message, p_notif, vendor_stats, course, company_course,
    # technical
    session, cache, variable, error, graph,
)

LEGACY_TABLES = (order_payment, tour_attendee, p_vendor, category_group, category, product_category)


def build(shape: str, legacy: bool, latin1: frozenset[str]) -> MetaData:
    md = MetaData()
    s = _Shape(md, shape, legacy, latin1)
    for fn in TABLES + (LEGACY_TABLES if legacy else ()):
        fn(s)
    unknown = set(latin1) - set(md.tables)
    if unknown:
        raise ValueError(f"latin1_tables: no such table in Cagette {shape}: {sorted(unknown)}")
    return md
