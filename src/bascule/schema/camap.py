"""Camap target schema: the FORK TypeORM entities ("2023") and current Camap ("head").

One function per table, in the order of camap-schema.md §2.3 (columns in entity order); each
reads the shape from ``s`` (``s.head`` False = March 2023 fork, Appendix B). Indexes and FKs are
those of §2.4. See the package docstring for the choices taken where the references are
ambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import MetaData, PrimaryKeyConstraint, Table, text

from .types import (
    BIGINT,
    BOOL,
    DATE,
    DATETIME,
    DATETIME6,
    DOUBLE,
    ENUM,
    INT,
    MEDIUMBLOB,
    MEDIUMTEXT,
    TEXT,
    TINYINT,
    TINYTEXT,
    UFLOAT,
    UTINYINT,
    VARCHAR,
    col,
    current_timestamp6,
    idx,
    make_table,
    pk,
    ref,
)

BASKET_STATUS = ("OPEN", "PAYMENT_PROCESSING", "CONFIRMED", "VALIDATED")
GROUP_DISABLED_2023 = ("BLOCKED_BY_ADMIN", "MOVED", "TOO_MANY_MULTI_DISTRIBS_NOT_VALIDATED")
GROUP_DISABLED_HEAD = ("BLOCKED_BY_ADMIN", "MOVED", "SUSPENDED")
MULTIDISTRIB_VALIDATED_STATUS = ("NOT_VALIDATED", "VALIDATED")


@dataclass
class _Shape:
    md: MetaData
    shape: str

    @property
    def head(self) -> bool:
        return self.shape == "head"

    def table(self, name: str, *items) -> Table:
        return make_table(self.md, name, *[i for i in items if i is not None])

    def only_head(self, *items):
        return list(items) if self.head else []

    def only_2023(self, *items):
        return [] if self.head else list(items)


def basket(s: _Shape) -> Table:
    t = "Basket"
    return s.table(
        t,
        pk(),
        col("cdate", DATETIME),
        col("num", INT),
        col("total", DOUBLE),
        col("status", ENUM(*BASKET_STATUS)),
        col("data", MEDIUMTEXT),
        ref(t, "multiDistribId", "MultiDistrib"),
        ref(t, "userId", "User", null=True, ondelete="CASCADE"),  # §2.4: CASCADE
        idx(t, "multiDistribId"),
        idx(t, "userId"),
    )


def buffered_json_mail(s: _Shape) -> Table:
    t = "BufferedJsonMail"
    return s.table(
        t,
        pk(),
        col("title", VARCHAR(256)),
        col("htmlBody", MEDIUMTEXT, null=True),
        col("textBody", MEDIUMTEXT, null=True),
        col("mailerType", VARCHAR(32)),
        col("tries", INT),
        col("cdate", DATETIME),
        col("sdate", DATETIME, null=True),
        col("rawStatus", MEDIUMTEXT, null=True),
        col("headers", MEDIUMTEXT, null=True),
        col("sender", MEDIUMTEXT, null=True),
        col("recipients", MEDIUMTEXT, null=True),
        col("attachments", MEDIUMTEXT, null=True),
        idx(t, "sdate", "cdate"),
    )


def cache(s: _Shape) -> Table:
    return s.table(
        "Cache",
        col("name", VARCHAR(128), primary_key=True),
        col("value", MEDIUMTEXT),
        col("expire", DATETIME),
        col("cdate", DATETIME, null=True),
    )


def catalog(s: _Shape) -> Table:
    t = "Catalog"
    return s.table(
        t,
        pk(),
        col("name", VARCHAR(64)),
        col("startDate", DATETIME),
        col("endDate", DATETIME),
        col("distributorNum", TINYINT),
        col("flags", INT),
        col("percentageName", VARCHAR(64), null=True),
        col("percentageValue", DOUBLE, null=True),
        col("type", INT),
        col("description", MEDIUMTEXT, null=True),
        col("absencesEndDate", DATETIME, null=True),
        col("absencesStartDate", DATETIME, null=True),
        col("absentDistribsMaxNb", INT),
        col("catalogMinOrdersTotal", DOUBLE),
        col("distribMinOrdersTotal", DOUBLE),
        col("orderEndHoursBeforeDistrib", INT, null=True),
        col("orderStartDaysBeforeDistrib", INT, null=True),
        ref(t, "userId", "User", null=True, field="contact"),
        ref(t, "groupId", "Group"),
        *s.only_head(ref(t, "firstDistribId", "MultiDistrib", null=True)),
        ref(t, "vendorId", "Vendor"),
        idx(t, "groupId"),
        idx(t, "startDate", "endDate"),
        idx(t, "userId"),
        idx(t, "vendorId"),
    )


def distribution(s: _Shape) -> Table:
    t = "Distribution"
    return s.table(
        t,
        pk(),
        *s.only_head(col("quantities", INT, server_default=text("1"))),
        ref(t, "catalogId", "Catalog"),
        ref(t, "multiDistribId", "MultiDistrib"),
        ref(t, "placeId", "Place"),
        col("date", DATETIME, null=True),
        col("end", DATETIME, null=True),
        col("orderStartDate", DATETIME),
        col("orderEndDate", DATETIME),
        idx(t, "catalogId"),
        idx(t, "date", "orderStartDate", "orderEndDate"),
        idx(t, "multiDistribId"),
        idx(t, "placeId"),
    )


def distribution_cycle(s: _Shape) -> Table:
    t = "DistributionCycle"
    return s.table(
        t,
        pk(),
        col("cycleType", UTINYINT),
        ref(t, "groupId", "Group"),
        ref(t, "placeId", "Place"),
        col("daysBeforeOrderStart", TINYINT, null=True),
        col("daysBeforeOrderEnd", TINYINT, null=True),
        col("startDate", DATETIME),
        col("endDate", DATETIME),
        col("startHour", DATETIME),
        col("endHour", DATETIME),
        col("openingHour", DATETIME),
        col("closingHour", DATETIME),
        idx(t, "groupId"),
        idx(t, "placeId"),
    )


def entity_file(s: _Shape) -> Table:
    t = "EntityFile"
    return s.table(
        t,
        pk(),
        col("entityType", VARCHAR(64)),
        col("documentType", VARCHAR(64)),
        col("entityId", INT),  # polymorphic: no FK
        ref(t, "fileId", "File"),
        col("data", VARCHAR(128), null=True),
        idx(t, "fileId", "entityType", "entityId"),
    )


def error(s: _Shape) -> Table:
    t = "Error"
    return s.table(
        t,
        pk(),
        col("date", DATETIME),
        col("ip", VARCHAR(15), null=True),
        ref(t, "uid", "User", null=True, field="user"),
        col("url", TINYTEXT, null=True),
        col("error", MEDIUMTEXT),
        col("userAgent", VARCHAR(256), null=True),
        idx(t, "date"),
        idx(t, "uid"),
    )


def file(s: _Shape) -> Table:
    t = "File"
    return s.table(
        t,
        pk(),
        col("name", TINYTEXT),
        col("data", MEDIUMBLOB),
        col("cdate", DATETIME),
        idx(t, "cdate"),
    )


def group(s: _Shape) -> Table:
    t = "Group"
    return s.table(
        t,
        pk(),
        col("name", VARCHAR(64)),
        col("txtDistrib", MEDIUMTEXT, null=True),
        col("txtIntro", MEDIUMTEXT, null=True),
        col("flags", INT),
        *s.only_2023(col("betaFlags", INT), col("groupType", UTINYINT, null=True)),
        col("membershipRenewalDate", DATE, null=True),
        col("membershipFee", TINYINT, null=True),
        col("txtHome", MEDIUMTEXT, null=True),
        col("vatRates", TEXT, null=True),
        col("cdate", DATETIME),
        col("regOption", UTINYINT),
        col("currencyCode", VARCHAR(3)),
        col("currency", VARCHAR(12)),
        col("extUrl", VARCHAR(64), null=True),
        col("IBAN", VARCHAR(40), null=True),
        col("checkOrder", VARCHAR(64), null=True),
        col("allowMoneyPotWithNegativeBalance", BOOL, null=True),
        col("volunteersMailDaysBeforeDutyPeriod", TINYINT),
        *s.only_head(
            col("daysAfterClosingBeforeHidingDutyPeriods", UTINYINT, server_default=text("30"))
        ),
        col("daysBeforeDutyPeriodsOpen", INT),
        col("volunteersMailContent", MEDIUMTEXT),
        col("vacantVolunteerRolesMailDaysBeforeDutyPeriod", TINYINT),
        col("alertMailContent", MEDIUMTEXT),
        col("hasMembership", BOOL),
        ref(t, "userId", "User", null=True, field="contact"),
        ref(t, "imageId", "File", null=True, field="image"),
        # circular with Place.groupId: created by ALTER TABLE after both tables
        ref(t, "placeId", "Place", null=True, field="mainPlace", use_alter=True),
        ref(t, "legalReprId", "User", null=True, field="legalRepresentative"),
        col("allowedPaymentsType", TEXT, null=True),
        col("disabled", ENUM(*(GROUP_DISABLED_HEAD if s.head else GROUP_DISABLED_2023)), null=True),
        idx(t, "imageId"),
        idx(t, "legalReprId"),
        idx(t, "placeId"),
        idx(t, "userId"),
    )


def membership(s: _Shape) -> Table:
    t = "Membership"
    return s.table(
        t,
        col("year", INT),
        col("date", DATE, null=True),
        col("amount", DOUBLE),
        ref(t, "operationId", "Operation", null=True),
        ref(t, "distributionId", "MultiDistrib", null=True),
        ref(t, "groupId", "Group"),
        ref(t, "userId", "User"),
        PrimaryKeyConstraint("year", "groupId", "userId"),
        idx(t, "distributionId"),
        idx(t, "groupId"),
        idx(t, "operationId"),
    )


def message(s: _Shape) -> Table:
    t = "Message"
    return s.table(
        t,
        pk(),
        col("recipientListId", VARCHAR(12), null=True),
        col("title", VARCHAR(128)),
        col("body", MEDIUMTEXT),
        col("date", DATETIME),
        col("recipients", MEDIUMTEXT, null=True),
        col("slateContent", MEDIUMTEXT),
        ref(t, "amapId", "Group", null=True, field="amap"),
        ref(t, "senderId", "User", null=True),
        col("attachments", MEDIUMTEXT, null=True),
        idx(t, "amapId"),
        idx(t, "senderId"),
    )


def multi_distrib(s: _Shape) -> Table:
    t = "MultiDistrib"
    return s.table(
        t,
        pk(),
        col("volunteerRolesIds", TEXT, null=True),
        ref(t, "distributionCycleId", "DistributionCycle", null=True),
        ref(t, "groupId", "Group"),
        ref(t, "placeId", "Place"),
        col("distribStartDate", DATETIME),
        col("distribEndDate", DATETIME),
        col("orderStartDate", DATETIME),
        col("orderEndDate", DATETIME),
        *s.only_2023(
            col("counterBeforeDistrib", DOUBLE),
            col("validated", BOOL, null=True),
            col("validatedStatus", ENUM(*MULTIDISTRIB_VALIDATED_STATUS),
                server_default="NOT_VALIDATED"),
            col("validatedDate", DATETIME, null=True),
        ),
        idx(t, "distribStartDate"),
        idx(t, "distributionCycleId"),
        idx(t, "groupId"),
        idx(t, "placeId"),
    )


def notification_mail(s: _Shape) -> Table | None:
    if not s.head:
        return None
    return s.table(
        "NotificationMail",
        pk(),
        col("cdate", DATETIME6, server_default=current_timestamp6()),
        col("htmlBody", MEDIUMTEXT, null=True),
        col("textBody", MEDIUMTEXT, null=True),
        col("digest", INT),
        col("subject", VARCHAR(256)),
        col("groupId", INT),  # no FK: the migration creates none
        col("recipientId", INT),  # no FK
        col("attachments", MEDIUMTEXT, null=True),
    )


def operation(s: _Shape) -> Table:
    t = "Operation"
    return s.table(
        t,
        pk(),
        col("name", VARCHAR(128)),
        col("amount", DOUBLE),
        col("date", DATETIME),
        col("type", UTINYINT),
        col("pending", BOOL),
        ref(t, "groupId", "Group"),
        ref(t, "userId", "User"),
        ref(t, "relationId", "Operation", null=True),
        ref(t, "basketId", "Basket", null=True),
        ref(t, "subscriptionId", "Subscription", null=True),
        col("data", VARCHAR(256), null=True),
        idx(t, "basketId"),
        idx(t, "groupId"),
        idx(t, "relationId"),
        idx(t, "subscriptionId"),
        idx(t, "userId"),
    )


def permalink(s: _Shape) -> Table:
    return s.table(
        "Permalink",
        col("link", VARCHAR(128), primary_key=True),
        col("entityType", VARCHAR(64)),
        col("entityId", INT),  # polymorphic: no FK
    )


def place(s: _Shape) -> Table:
    t = "Place"
    return s.table(
        t,
        pk(),
        col("name", VARCHAR(64)),
        col("address1", VARCHAR(64), null=True),
        col("address2", VARCHAR(64), null=True),
        col("city", VARCHAR(64)),
        col("zipCode", VARCHAR(32)),
        ref(t, "groupId", "Group"),
        col("lat", DOUBLE, null=True),
        col("lng", DOUBLE, null=True),
        col("country", VARCHAR(64), null=True),
        idx(t, "groupId"),
        idx(t, "lat", "lng"),
    )


def product(s: _Shape) -> Table:
    t = "Product"
    return s.table(
        t,
        pk(),
        col("name", VARCHAR(128)),
        col("price", DOUBLE),
        col("desc", MEDIUMTEXT, null=True),
        col("vat", DOUBLE),
        col("ref", VARCHAR(32), null=True),
        col("stock", DOUBLE, null=True),
        *s.only_head(
            col("stockTracking", UTINYINT, null=True),
            col("stockTrackingPerDistrib", UTINYINT, null=True),
        ),
        col("active", BOOL),
        col("qt", DOUBLE, null=True),
        col("unitType", UTINYINT, null=True),
        col("organic", BOOL),
        col("variablePrice", BOOL),
        col("multiWeight", BOOL),
        *s.only_2023(
            col("smallQt", DOUBLE, null=True),
            col("wholesale", BOOL),
            col("retail", BOOL),
        ),
        col("bulk", BOOL),
        ref(t, "catalogId", "Catalog"),
        ref(t, "imageId", "File", null=True, field="image"),
        idx(t, "catalogId"),
        idx(t, "imageId"),
    )


def product_distribution_stock(s: _Shape) -> Table | None:
    if not s.head:
        return None
    t = "ProductDistributionStock"
    return s.table(
        t,
        pk(),
        col("stockPerDistribution", UFLOAT, server_default=text("0")),
        col("frequencyRatio", UTINYINT, server_default=text("1")),
        ref(t, "productId", "Product"),
        ref(t, "startDistributionId", "Distribution"),
        ref(t, "endDistributionId", "Distribution"),
        idx(t, "endDistributionId"),
        idx(t, "productId"),
        idx(t, "startDistributionId"),
    )


def session(s: _Shape) -> Table:
    t = "Session"
    return s.table(
        t,
        col("sid", VARCHAR(32), primary_key=True),
        ref(t, "uid", "User", null=True, field="user"),
        col("lastTime", DATETIME),
        col("createTime", DATETIME),
        col("sdata", MEDIUMBLOB),
        col("lang", VARCHAR(2)),
        col("messages", MEDIUMBLOB),
        col("ip", VARCHAR(15)),
        idx(t, "ip"),
        idx(t, "lastTime"),
        idx(t, "uid"),
    )


def subscription(s: _Shape) -> Table:
    t = "Subscription"
    return s.table(
        t,
        pk(),
        col("startDate", DATETIME),
        col("endDate", DATETIME),
        col("absentDistribIds", MEDIUMTEXT, null=True),
        col("defaultOrders", MEDIUMTEXT, null=True),
        ref(t, "userId", "User"),
        ref(t, "userId2", "User", null=True),
        ref(t, "catalogId", "Catalog"),
        idx(t, "catalogId"),
        idx(t, "userId2"),
        idx(t, "userId"),
    )


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
        col("ldate", DATETIME, null=True),
        col("cdate", DATETIME),
        col("flags", INT),
        *s.only_2023(col("tosVersion", INT, null=True)),
        col("nationality", VARCHAR(2), null=True),
        col("countryOfResidence", VARCHAR(2), null=True),
        col("birthDate", DATE, null=True),
        col("apiKey", VARCHAR(128), null=True),
        col("currentRefreshToken", VARCHAR(255), null=True),
        idx(t, "email2"),
        idx(t, "email", unique=True),
    )


def user_group(s: _Shape) -> Table:
    t = "UserGroup"
    return s.table(
        t,
        ref(t, "groupId", "Group"),
        ref(t, "userId", "User"),
        col("rights", TEXT, null=True),
        col("balance", DOUBLE),
        PrimaryKeyConstraint("groupId", "userId"),
        idx(t, "groupId"),
    )


def user_order(s: _Shape) -> Table:
    t = "UserOrder"
    return s.table(
        t,
        pk(),
        col("quantity", DOUBLE),
        col("paid", BOOL),
        col("date", DATETIME),
        col("feesRate", DOUBLE),
        col("productPrice", DOUBLE),
        col("flags", INT),
        ref(t, "basketId", "Basket"),
        ref(t, "distributionId", "Distribution"),
        ref(t, "productId", "Product"),
        ref(t, "userId", "User"),
        ref(t, "userId2", "User", null=True),
        ref(t, "subscriptionId", "Subscription", null=True),
        idx(t, "basketId"),
        idx(t, "distributionId"),
        idx(t, "productId"),
        idx(t, "subscriptionId"),
        idx(t, "userId2"),
        idx(t, "userId"),
    )


def variable(s: _Shape) -> Table:
    return s.table(
        "Variable",
        col("name", VARCHAR(64), primary_key=True),
        col("value", MEDIUMTEXT),
    )


def vendor(s: _Shape) -> Table:
    t = "Vendor"
    return s.table(
        t,
        pk(),
        *s.only_head(ref(t, "userId", "User", null=True)),
        col("name", VARCHAR(128)),
        col("email", VARCHAR(128), null=True),
        *s.only_head(col("showEmail", TINYINT, server_default=text("1"))),
        col("city", VARCHAR(25)),
        col("address1", VARCHAR(64), null=True),
        col("address2", VARCHAR(64), null=True),
        col("zipCode", VARCHAR(32)),
        col("phone", VARCHAR(19), null=True),
        *s.only_head(col("showPhone", TINYINT, server_default=text("1"))),
        col("linkText", VARCHAR(256), null=True),
        col("desc", MEDIUMTEXT, null=True),
        col("linkUrl", VARCHAR(256), null=True),
        col("country", VARCHAR(64), null=True),
        col("longDesc", MEDIUMTEXT, null=True),
        col("profession", INT, null=True),
        col("production2", INT, null=True),
        col("production3", INT, null=True),
        col("directory", BOOL),
        col("peopleName", VARCHAR(128), null=True),
        col("cdate", DATETIME, null=True),
        col("lng", DOUBLE, null=True),
        col("lat", DOUBLE, null=True),
        *s.only_head(col("companyNumber", VARCHAR(64), null=True)),
        *s.only_2023(
            col("status", VARCHAR(32), null=True),
            col("offCamap", MEDIUMTEXT, null=True),
        ),
        ref(t, "imageId", "File", null=True, field="image"),
        col("disabled", UTINYINT, null=True),
        idx(t, "imageId"),
    )


def volunteer(s: _Shape) -> Table:
    t = "Volunteer"
    return s.table(
        t,
        ref(t, "userId", "User"),
        ref(t, "multiDistribId", "MultiDistrib"),
        ref(t, "volunteerRoleId", "VolunteerRole"),
        PrimaryKeyConstraint("userId", "multiDistribId", "volunteerRoleId"),
        idx(t, "multiDistribId"),
        idx(t, "volunteerRoleId"),
    )


def volunteer_role(s: _Shape) -> Table:
    t = "VolunteerRole"
    return s.table(
        t,
        pk(),
        col("name", VARCHAR(64)),
        *s.only_head(col("enabledByDefault", BOOL, server_default=text("1"))),
        ref(t, "groupId", "Group"),
        ref(t, "catalogId", "Catalog", null=True),
        idx(t, "catalogId"),
        idx(t, "groupId"),
    )


def waiting_list(s: _Shape) -> Table:
    t = "WaitingList"
    return s.table(
        t,
        ref(t, "amapId", "Group", field="group"),
        ref(t, "userId", "User"),
        col("date", DATETIME),
        col("message", MEDIUMTEXT),
        PrimaryKeyConstraint("amapId", "userId"),
        idx(t, "amapId"),
    )


#: Camap's TypeORM migrations, (timestamp, name), in the order Camap runs them: the files of
#: camap-ts ``packages/api-core/src/migrations`` (v3.0.8, 52040e3). The name is the migration's
#: class name and its ``name`` property (lower camel case, but ``EmailDigests``), which Camap's
#: dataset step (``dataset-generator.ts`` ``genMigrations``) writes into ``migrations`` from the
#: file name (the part after the timestamp, dashes to camel case, then the timestamp) and which
#: TypeORM's ``migration:run`` looks up to skip a migration already run. A current Camap
#: ("head") has run all of them; the March 2023 fork ("2023") none (the first is of May 2024).
CAMAP_MIGRATIONS: tuple[tuple[int, str], ...] = (
    (1716452582359, "stocksRework1716452582359"),
    (1716557457926, "updateGroupFlagValue1716557457926"),
    (1716900422752, "roleGroupEnabledByDefault1716900422752"),
    (1717668928327, "fixTypo1717668928327"),
    (1719302680137, "daysAfterClosingBeforeHidingDutyPeriods1719302680137"),
    (1719475818737, "addCatalogFirstDistrib1719475818737"),
    (1720184612071, "addDistribQuantities1720184612071"),
    (1721184612071, "addCompanyNumber1721184612071"),
    (1741445966001, "groupDisabled1741445966001"),
    (1760631262459, "producteur1760631262459"),
    (1762796759023, "vendorShowPhone1762796759023"),
    (1773912252829, "EmailDigests1773912252829"),
)


def migration_rows(shape: str) -> list[dict]:
    """The rows of ``migrations`` in a Camap database of that shape, as Camap's dataset step
    writes them after its schema sync (ids from 1, in file order); none for "2023"."""
    if shape != "head":
        return []
    return [{"id": i, "timestamp": ts, "name": name}
            for i, (ts, name) in enumerate(CAMAP_MIGRATIONS, 1)]


def migrations(s: _Shape) -> Table | None:
    """TypeORM's own table (head only: the first migration dates from 2024)."""
    if not s.head:
        return None
    return s.table(
        "migrations",
        pk(),
        col("timestamp", BIGINT),
        col("name", VARCHAR(255)),
    )


TABLES = (
    basket, buffered_json_mail, cache, catalog, distribution, distribution_cycle, entity_file,
    error, file, group, membership, message, multi_distrib, notification_mail, operation,
    permalink, place, product, product_distribution_stock, session, subscription, user,
    user_group, user_order, variable, vendor, volunteer, volunteer_role, waiting_list,
    migrations,
)


def build(shape: str) -> MetaData:
    md = MetaData()
    s = _Shape(md, shape)
    for fn in TABLES:
        fn(s)
    return md
