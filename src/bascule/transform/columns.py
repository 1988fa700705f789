"""What the transform produces and reads, per table: the known Camap target columns of each
shape, and the source columns read (data). The tables themselves, their keys and references are
in ``bascule.model.tables``.
"""

from __future__ import annotations

# ---- known Camap target columns -------------------------------------------------------------
# From camap-schema.md §2.3 (head) and Appendix B (2023 = the FORK entities). Reflection of the
# real target overrides them (TransformContext.target_columns); they are the default and the
# list of what bascule fills.

_HEAD: dict[str, tuple[str, ...]] = {
    "File": ("id", "name", "data", "cdate"),
    "User": ("id", "lang", "pass", "pass2", "rights", "firstName", "lastName", "email", "phone",
             "firstName2", "lastName2", "email2", "phone2", "address1", "address2", "zipCode",
             "city", "ldate", "cdate", "flags", "nationality", "countryOfResidence", "birthDate",
             "apiKey", "currentRefreshToken"),
    "Vendor": ("id", "userId", "name", "email", "showEmail", "city", "address1", "address2",
               "zipCode", "phone", "showPhone", "linkText", "desc", "linkUrl", "country",
               "longDesc", "profession", "production2", "production3", "directory", "peopleName",
               "cdate", "lng", "lat", "companyNumber", "imageId", "disabled"),
    "Group": ("id", "name", "txtDistrib", "txtIntro", "flags", "membershipRenewalDate",
              "membershipFee", "txtHome", "vatRates", "cdate", "regOption", "currencyCode",
              "currency", "extUrl", "IBAN", "checkOrder", "allowMoneyPotWithNegativeBalance",
              "volunteersMailDaysBeforeDutyPeriod", "daysAfterClosingBeforeHidingDutyPeriods",
              "daysBeforeDutyPeriodsOpen", "volunteersMailContent",
              "vacantVolunteerRolesMailDaysBeforeDutyPeriod", "alertMailContent", "hasMembership",
              "userId", "imageId", "placeId", "legalReprId", "allowedPaymentsType", "disabled"),
    "Place": ("id", "name", "address1", "address2", "city", "zipCode", "groupId", "lat", "lng",
              "country"),
    "Catalog": ("id", "name", "startDate", "endDate", "distributorNum", "flags", "percentageName",
                "percentageValue", "type", "description", "absencesEndDate", "absencesStartDate",
                "absentDistribsMaxNb", "catalogMinOrdersTotal", "distribMinOrdersTotal",
                "orderEndHoursBeforeDistrib", "orderStartDaysBeforeDistrib", "userId", "groupId",
                "firstDistribId", "vendorId"),
    "Product": ("id", "name", "price", "desc", "vat", "ref", "stock", "stockTracking",
                "stockTrackingPerDistrib", "active", "qt", "unitType", "organic", "variablePrice",
                "multiWeight", "bulk", "catalogId", "imageId"),
    "DistributionCycle": ("id", "cycleType", "groupId", "placeId", "daysBeforeOrderStart",
                          "daysBeforeOrderEnd", "startDate", "endDate", "startHour", "endHour",
                          "openingHour", "closingHour"),
    "MultiDistrib": ("id", "volunteerRolesIds", "distributionCycleId", "groupId", "placeId",
                     "distribStartDate", "distribEndDate", "orderStartDate", "orderEndDate"),
    "Distribution": ("id", "quantities", "catalogId", "multiDistribId", "placeId", "date", "end",
                     "orderStartDate", "orderEndDate"),
    "Subscription": ("id", "startDate", "endDate", "absentDistribIds", "defaultOrders", "userId",
                     "userId2", "catalogId"),
    "Basket": ("id", "cdate", "num", "total", "status", "data", "multiDistribId", "userId"),
    "UserOrder": ("id", "quantity", "paid", "date", "feesRate", "productPrice", "flags",
                  "basketId", "distributionId", "productId", "userId", "userId2",
                  "subscriptionId"),
    "Operation": ("id", "name", "amount", "date", "type", "pending", "groupId", "userId",
                  "relationId", "basketId", "subscriptionId", "data"),
    "Membership": ("year", "date", "amount", "operationId", "distributionId", "groupId", "userId"),
    "UserGroup": ("groupId", "userId", "rights", "balance"),
    "WaitingList": ("amapId", "userId", "date", "message"),
    "VolunteerRole": ("id", "name", "enabledByDefault", "groupId", "catalogId"),
    "Volunteer": ("userId", "multiDistribId", "volunteerRoleId"),
    "EntityFile": ("id", "entityType", "documentType", "entityId", "fileId", "data"),
    "Message": ("id", "recipientListId", "title", "body", "date", "recipients", "slateContent",
                "amapId", "senderId", "attachments"),
}

# FORK (2023-03-17) = head minus the later additions, plus the columns dropped after the fork.
_FORK_DIFF: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # table: (remove, add)
    "User": ((), ("tosVersion",)),
    "Vendor": (("userId", "showEmail", "showPhone", "companyNumber"), ("status", "offCamap")),
    "Group": (("daysAfterClosingBeforeHidingDutyPeriods",), ("groupType", "betaFlags")),
    "Catalog": (("firstDistribId",), ()),
    "Product": (("stockTracking", "stockTrackingPerDistrib"), ("smallQt", "wholesale", "retail")),
    "MultiDistrib": ((), ("counterBeforeDistrib", "validated", "validatedStatus",
                          "validatedDate")),
    "Distribution": (("quantities",), ()),
    "VolunteerRole": (("enabledByDefault",), ()),
}


def _fork() -> dict[str, tuple[str, ...]]:
    out = {}
    for t, cols in _HEAD.items():
        remove, add = _FORK_DIFF.get(t, ((), ()))
        out[t] = tuple(c for c in cols if c not in remove) + add
    return out


#: ``{shape: {table: columns}}`` of the known Camap shapes.
TARGET_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {"head": dict(_HEAD), "2023": _fork()}

#: What ``transform_row`` fills per table: the union over both target shapes.
PRODUCED_COLUMNS: dict[str, tuple[str, ...]] = {
    t: _HEAD[t] + tuple(c for c in TARGET_COLUMNS["2023"][t] if c not in _HEAD[t])
    for t in _HEAD
}

#: Source columns ``transform_row`` reads, per table (union of both source shapes; the
#: orchestrator selects those the source has: ``[c for c in SOURCE_COLUMNS[t] if c in reflected]``).
#: Columns deliberately ignored (serialized blobs, secrets, legacy) are not listed.
SOURCE_COLUMNS: dict[str, tuple[str, ...]] = {
    "File": ("id", "name", "cdate", "data"),
    "User": ("id", "lang", "pass", "pass2", "rights", "firstName", "lastName", "email", "phone",
             "firstName2", "lastName2", "email2", "phone2", "address1", "address2", "zipCode",
             "city", "birthDate", "nationality", "countryOfResidence", "cdate", "ldate", "flags",
             "tosVersion", "apiKey", "currentRefreshToken"),
    "Vendor": ("id", "name", "peopleName", "profession", "production2", "production3", "email",
               "phone", "address1", "address2", "zipCode", "city", "country", "desc", "cdate",
               "companyNumber", "linkText", "linkUrl", "directory", "longDesc", "offCagette",
               "offCamap", "imageId", "userId", "status", "disabled", "lat", "lng", "showEmail",
               "showPhone"),
    "Group": ("id", "name", "userId", "txtIntro", "txtHome", "txtDistrib", "extUrl",
              "membershipRenewalDate", "membershipFee", "vatRates2", "vatRates", "flags",
              "betaFlags", "hasMembership", "groupType", "imageId", "cdate", "placeId",
              "regOption", "currency", "currencyCode", "legalReprId", "allowedPaymentsType2",
              "allowedPaymentsType", "checkOrder", "IBAN", "allowMoneyPotWithNegativeBalance",
              "volunteersMailDaysBeforeDutyPeriod", "volunteersMailContent",
              "vacantVolunteerRolesMailDaysBeforeDutyPeriod", "daysBeforeDutyPeriodsOpen",
              "alertMailContent", "disabled", "daysAfterClosingBeforeHidingDutyPeriods"),
    "Place": ("id", "name", "address1", "address2", "zipCode", "city", "country", "lat", "lng",
              "groupId"),
    "Catalog": ("id", "name", "type", "userId", "vendorId", "startDate", "endDate", "description",
                "groupId", "distributorNum", "flags", "percentageValue", "percentageName",
                "orderStartDaysBeforeDistrib", "orderEndHoursBeforeDistrib",
                "distribMinOrdersTotal", "catalogMinOrdersTotal", "absentDistribsMaxNb",
                "absencesStartDate", "absencesEndDate"),
    "Product": ("id", "name", "ref", "catalogId", "price", "vat", "desc", "stock", "unitType",
                "qt", "organic", "variablePrice", "multiWeight", "wholesale", "retail", "bulk",
                "smallQt", "imageId", "active"),
    "DistributionCycle": ("id", "groupId", "cycleType", "startDate", "endDate", "startHour",
                          "endHour", "daysBeforeOrderStart", "daysBeforeOrderEnd", "openingHour",
                          "closingHour", "placeId"),
    "MultiDistrib": ("id", "distribStartDate", "distribEndDate", "orderStartDate",
                     "orderEndDate", "groupId", "placeId", "distributionCycleId",
                     "counterBeforeDistrib", "volunteerRolesIds", "validated", "validatedStatus",
                     "validatedDate"),
    "Distribution": ("id", "catalogId", "multiDistribId", "placeId", "date", "end",
                     "orderStartDate", "orderEndDate"),
    "Subscription": ("id", "userId", "userId2", "catalogId", "startDate", "endDate",
                     "defaultOrders", "absentDistribIds"),
    "Basket": ("id", "cdate", "num", "total", "userId", "multiDistribId", "data", "status"),
    "UserOrder": ("id", "userId", "userId2", "quantity", "productId", "productPrice", "feesRate",
                  "paid", "distributionId", "basketId", "subscriptionId", "date", "flags"),
    "Operation": ("id", "name", "amount", "date", "type", "relationId", "userId", "groupId",
                  "pending", "basketId", "subscriptionId", "data2", "data"),
    "Membership": ("groupId", "userId", "distributionId", "operationId", "amount", "year",
                   "date"),
    "UserGroup": ("groupId", "userId", "rights2", "rights", "balance"),
    "WaitingList": ("amapId", "userId", "date", "message"),
    "VolunteerRole": ("id", "name", "groupId", "catalogId"),
    "Volunteer": ("userId", "multiDistribId", "volunteerRoleId"),
    "EntityFile": ("id", "fileId", "entityType", "documentType", "data", "entityId"),
    "Message": ("id", "amapId", "senderId", "recipientListId", "recipients", "title", "body",
                "date", "attachments", "slateContent"),
}

#: Source text columns worth sampling for double-encoding detection (free text written by
#: people; ids-only and enum-like columns left out).
TEXT_COLUMNS: dict[str, tuple[str, ...]] = {
    "File": ("name",),
    "User": ("firstName", "lastName", "firstName2", "lastName2", "address1", "address2", "city"),
    "Vendor": ("name", "peopleName", "address1", "address2", "city", "country", "desc",
               "linkText", "longDesc", "offCagette"),
    "Group": ("name", "txtIntro", "txtHome", "txtDistrib", "checkOrder", "volunteersMailContent",
              "alertMailContent", "vatRates2", "vatRates"),
    "Place": ("name", "address1", "address2", "city", "country"),
    "Catalog": ("name", "description", "percentageName"),
    "Product": ("name", "desc"),
    "Operation": ("name",),
    "WaitingList": ("message",),
    "VolunteerRole": ("name",),
    "Message": ("title", "body", "slateContent"),
}
