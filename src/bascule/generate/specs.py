"""Logical column lists of every generated table, and their per-shape physical names.

Each table's rows are emitted as tuples in the order below. A logical column that the metadata
does not have (the other shape's columns, legacy columns without ``legacy=True``) is dropped by
``sink.TableOut``; a NOT NULL column of the metadata that is not listed gets a typed constant.
Kinds: i int, f float, s text without tab/newline/backslash, S any text, b bytes,
d 'YYYY-MM-DD HH:MM:SS', D 'YYYY-MM-DD'.
"""

from __future__ import annotations


def _spec(s: str) -> tuple[tuple[str, str], ...]:
    out = []
    for item in s.split():
        name, kind = item.rsplit(":", 1)
        out.append((name, kind))
    return tuple(out)


SPECS: dict[str, tuple[tuple[str, str], ...]] = {
    "File": _spec("id:i name:s cdate:d data:b"),
    "User": _spec(
        "id:i lang:s pass:s pass2:s rights:i firstName:s lastName:s email:s phone:s firstName2:s "
        "lastName2:s email2:s phone2:s address1:s address2:s zipCode:s city:s birthDate:D "
        "nationality:s countryOfResidence:s cdate:d ldate:d flags:i tosVersion:i tutoState:b "
        "apiKey:s currentRefreshToken:s tos:i birthday:D"
    ),
    "TxpCategory": _spec("id:i image:s displayOrder:i name:s"),
    "TxpSubCategory": _spec("id:i name:s categoryId:i displayOrder:i"),
    "TxpProduct": _spec("id:i name:s subCategoryId:i"),
    "Vendor": _spec(
        "id:i name:s peopleName:s profession:i production2:i production3:i email:s phone:s "
        "address1:s address2:s zipCode:s city:s country:s desc:S cdate:d companyNumber:s "
        "vatNumber:s legalStatus:i companyCapital:i siretInfos:b activityCode:s vendorPolicy:i "
        "tosVersion:i linkText:s linkUrl:s directory:i longDesc:S offCagette:S imageId:i userId:i "
        "status:s disabled:i isTest:i lat:f lng:f betaFlags:i amapId:i active:i isCovid:i"
    ),
    "CagettePro": _spec(
        "id:i vendorId:i demoCatalogId:i vatRates:b freeCpro:i training:i network:i "
        "captiveGroups:i discovery:i networkGroupIds:s disabled:i cdate:d"
    ),
    "PCatalog": _spec(
        "id:i name:s contractName:s startDate:d endDate:d vendorId:i visible:i maxDistance:i "
        "deliveryAvailabilities:b companyId:i lastUpdate:d"
    ),
    "PProduct": _spec(
        "id:i name:s ref:s companyId:i desc:S imageId:i active:i unitType:i organic:i "
        "variablePrice:i multiWeight:i wholesale:i retail:i bulk:i txpProductId:i stock:f"
    ),
    "POffer": _spec(
        "id:i name:s ref:s productId:i imageId:i quantity:f price:f vat:f smallQt:f active:i stock:f"
    ),
    "PCatalogOffer": _spec("offerId:i catalogId:i price:f"),
    "PUserCompany": _spec("companyId:i userId:i legalRepresentative:i disabled:i"),
    "PVendorCompany": _spec("companyId:i vendorId:i"),
    "PMessage": _spec("id:i senderId:i companyId:i recipientListId:s title:s body:S date:d"),
    "PNotif": _spec("id:i companyId:i groupId:i userId:i type:i title:s content:b date:d"),
    "VendorStats": _spec(
        "id:i vendorId:i type:i active:i referer:s turnover90days:f turnoverTotal:f ldate:d"
    ),
    "Group": _spec(
        "id:i name:s userId:i txtIntro:S txtHome:S txtDistrib:S extUrl:s membershipRenewalDate:D "
        "membershipFee:i vat_json:s flags:i betaFlags:i hasMembership:i groupType:i imageId:i "
        "cdate:d placeId:i regOption:i currency:s currencyCode:s legalReprId:i pay_json:s "
        "checkOrder:s IBAN:s allowMoneyPotWithNegativeBalance:i "
        "volunteersMailDaysBeforeDutyPeriod:i volunteersMailContent:S "
        "vacantVolunteerRolesMailDaysBeforeDutyPeriod:i daysBeforeDutyPeriodsOpen:i "
        "alertMailContent:S disabled:s vat_blob:b pay_blob:b membershipPrice:i legalStatus:i "
        "aboEnd:D aboType:i emailStock:i smsStock:i"
    ),
    "Hosting": _spec(
        "id:i cdate:d active:i visible:i membersNum:i contractNum:i cproContractNum:i"
    ),
    "Place": _spec(
        "id:i name:s address1:s address2:s zipCode:s city:s country:s lat:f lng:f groupId:i"
    ),
    "DistributionCycle": _spec(
        "id:i groupId:i cycleType:i startDate:d endDate:d startHour:d endHour:d "
        "daysBeforeOrderStart:i daysBeforeOrderEnd:i openingHour:d closingHour:d placeId:i "
        "contractId:i"
    ),
    "Catalog": _spec(
        "id:i name:s type:i userId:i vendorId:i startDate:d endDate:d description:S groupId:i "
        "distributorNum:i flags:i percentageValue:f percentageName:s "
        "orderStartDaysBeforeDistrib:i orderEndHoursBeforeDistrib:i requiresOrdering:i "
        "distribMinOrdersTotal:f catalogMinOrdersTotal:f absentDistribsMaxNb:i "
        "absencesStartDate:d absencesEndDate:d hasPayments:i allowedOverspend:i "
        "orderPreparationHours:i migrated:i"
    ),
    "RemoteCatalog": _spec("id:i remoteCatalogId:i needSync:i disabledProducts:s"),
    "WConfig": _spec("id:i contract1Id:i active:i"),
    "Product": _spec(
        "id:i name:s ref:s catalogId:i price:f vat:f desc:S stock:f unitType:i qt:f organic:i "
        "variablePrice:i multiWeight:i wholesale:i retail:i bulk:i smallQt:f imageId:i "
        "txpProductId:i active:i hasFloatQt:i type:i"
    ),
    "VolunteerRole": _spec("id:i name:s groupId:i catalogId:i"),
    "MultiDistrib": _spec(
        "id:i distribStartDate:d distribEndDate:d orderStartDate:d orderEndDate:d slotsMode:b "
        "slots:b inNeedUserIds:b voluntaryUsers:b timeSlots:s groupId:i placeId:i "
        "distributionCycleId:i counterBeforeDistrib:f volunteerRolesIds:s validated:i "
        "validatedStatus:s validatedDate:d timeSlotData:s type:i"
    ),
    "Distribution": _spec(
        "id:i catalogId:i multiDistribId:i placeId:i date:d end:d orderStartDate:d "
        "orderEndDate:d validated:i distributionCycleId:i distributor1Id:i distributor2Id:i "
        "distributor3Id:i distributor4Id:i text:s confirmed:i"
    ),
    "Subscription": _spec(
        "id:i userId:i userId2:i catalogId:i startDate:d endDate:d isPaid:i defaultOrders:s "
        "absentDistribIds:s isValidated:i absencesNb:i defaultOrder:s"
    ),
    "Basket": _spec(
        "id:i ref:s cdate:d num:i total:f userId:i multiDistribId:i data_blob:b data_text:s "
        "status:s basketRef:s placeId:i ddate:d"
    ),
    "TmpBasket": _spec(
        "id:i ref:s cdate:d data:s userId:i multiDistribId:i basketRef:s placeId:i ddate:d "
        "groupId:i"
    ),
    "UserOrder": _spec(
        "id:i userId:i userId2:i quantity:f productId:i productPrice:f feesRate:f paid:i "
        "distributionId:i basketId:i subscriptionId:i date:d flags:i amapId:i"
    ),
    "Operation": _spec(
        "id:i name:s amount:f date:d type:i relationId:i userId:i groupId:i pending:i "
        "data_blob:b basketId:i subscriptionId:i data_json:s contractId:i"
    ),
    "Membership": _spec(
        "groupId:i userId:i distributionId:i operationId:i amount:f year:i date:D"
    ),
    "UserGroup": _spec("groupId:i userId:i rights_blob:b rights_json:s balance:f lastMemberShip:i"),
    "WaitingList": _spec("amapId:i userId:i date:d message:S"),
    "Volunteer": _spec("userId:i multiDistribId:i volunteerRoleId:i"),
    "EntityFile": _spec("id:i fileId:i entityType:s documentType:s data:s entityId:i"),
    "Permalink": _spec("link:s entityType:s entityId:i"),
    "Message": _spec(
        "id:i amapId:i senderId:i recipientListId:s recipients:b title:s body:S date:d "
        "attachments:s slateContent:S recipients_json:S"
    ),
    "MangopayUser": _spec("userId:i mangopayUserId:i"),
    "MangopayLegalUser": _spec(
        "mangopayUserId:i name:s companyNumber:s legalStatus:s legalReprId:i bankAccountId:i "
        "fixedFeeAmount:f variableFeeRate:f disabled:i"
    ),
    "MangopayLegalUserGroup": _spec("legalUserId:i groupId:i walletId:i"),
    "MangopayGroupPayOut": _spec("id:i multiDistribId:i payOutId:i cachedDatas:b"),
    "MangopayCompany": _spec("companyId:i mangopayUserId:s"),
    "MangopayVendorPayOut": _spec("companyId:i payOutId:s multiDistribKey:s reference:s"),
    "Course": _spec("id:i ref:s name:s date:d end:d groupId:i teacherId:i"),
    "CompanyCourse": _spec(
        "companyId:i courseId:i userId:i moodlePass:s moodleUser:s cagettePass:s cagetteUser:s"
    ),
    "BufferedMail": _spec(
        "id:i title:s htmlBody:S textBody:S headers:b sender:b recipients:b mailerType:s tries:i "
        "cdate:d sdate:d rawStatus:S status:b data:b remoteId:i"
    ),
    "BufferedJsonMail": _spec(
        "id:i title:s htmlBody:S textBody:S headers:s sender:s recipients:s attachments:s "
        "mailerType:s tries:i cdate:d sdate:d rawStatus:S"
    ),
    "Session": _spec("sid:s ip:s lang:s messages:b lastTime:d createTime:d sdata:b uid:i"),
    "Cache": _spec("name:s value:s expire:d cdate:d"),
    "Variable": _spec("name:s value:S"),
    "Error": _spec("id:i date:d error:S uid:i ip:s userAgent:s url:s"),
    "Graph": _spec("key:s date:d value:f"),
    # legacy tables (cagette_metadata(legacy=True))
    "OrderPayment": _spec("id:i userOrderId:i operationId:i amount:f date:d"),
    "TourAttendee": _spec("id:i userId:i name:s email:s city:s cdate:d"),
    "PVendor": _spec(
        "id:i name:s email:s phone:s address1:s address2:s zipCode:s city:s desc:S linkText:s "
        "linkUrl:s imageId:i companyId:i"
    ),
    "CategoryGroup": _spec("id:i name:s color:i pinned:i amapId:i"),
    "Category": _spec("id:i name:s categoryGroupId:i"),
    "ProductCategory": _spec("productId:i categoryId:i"),
}

# logical name -> physical column, per shape (None = the shape has no such column)
RENAMES: dict[str, dict[str, dict[str, str | None]]] = {
    "2021": {
        "UserGroup": {"rights_json": "rights2", "rights_blob": "rights"},
        "Operation": {"data_json": "data2", "data_blob": "data"},
        "Group": {
            "vat_json": "vatRates2", "vat_blob": "vatRates",
            "pay_json": "allowedPaymentsType2", "pay_blob": "allowedPaymentsType",
        },
        "Basket": {"data_blob": "data", "data_text": None},
    },
    "2023": {
        "UserGroup": {"rights_json": "rights", "rights_blob": None},
        "Operation": {"data_json": "data", "data_blob": None},
        "Group": {
            "vat_json": "vatRates", "vat_blob": None,
            "pay_json": "allowedPaymentsType", "pay_blob": None,
        },
        "Basket": {"data_blob": None, "data_text": "data"},
    },
}

# Camap (both shapes: the Cagette "2023" names, then these)
CAMAP_RENAMES: dict[str, dict[str, str | None]] = {
    "Vendor": {"offCagette": "offCamap"},  # FORK TS renamed it (camap-schema.md §3.2)
    # Cagette: a Haxe-serialized blob; Camap: a JSON list of e-mail strings (camap-schema §2.2)
    "Message": {"recipients": None, "recipients_json": "recipients"},
}

# tables whose text is stored latin1 (with UTF-8 bytes in some columns) in dirty MariaDB sources
LATIN1_TABLES = ("Group", "User", "Place", "Vendor", "Catalog", "Product")
# columns holding UTF-8 bytes in those latin1 tables (the other text columns hold proper latin1)
MOJIBAKE_COLUMNS = {
    "Group": ("name", "txtIntro"),
    "User": ("firstName", "lastName", "address1"),
    "Place": ("name", "address1"),
    "Vendor": ("name", "peopleName", "desc"),
    "Catalog": ("name", "description"),
    "Product": ("name", "desc"),
}
