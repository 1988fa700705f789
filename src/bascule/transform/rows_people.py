"""The shared rows: File, User, Vendor (see ``transform.rows`` for the rules every table follows)."""

from __future__ import annotations

from .context import Row, TransformContext, TransformError
from .fields import (
    clean_date,
    fill,
    nfk,
    own_id,
)


def _file(row: Row, ctx: TransformContext) -> Row | None:
    oid = row["id"]
    return {
        "id": own_id(ctx, "File", oid),
        "name": row.get("name"),
        "data": row.get("data"),
        "cdate": fill(ctx, "File", oid, "cdate", clean_date(ctx, "File", oid, row, "cdate", True),
                           ""),
        }


def _user(row: Row, ctx: TransformContext) -> Row | None:
    T = "User"
    oid = row["id"]
    nid = own_id(ctx, T, oid)
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
    ldate = clean_date(ctx, T, oid, row, "ldate")
    cdate = fill(ctx, T, oid, "cdate", clean_date(ctx, T, oid, row, "cdate", True), "from ldate",
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
        "birthDate": clean_date(ctx, T, oid, row, "birthDate"),
        "apiKey": None, "currentRefreshToken": None,
        "tosVersion": row.get("tosVersion"),
    }


def _vendor(row: Row, ctx: TransformContext) -> Row | None:
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
        user = nfk(ctx, T, oid, "userId", "User", row.get("userId"))
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
        "id": own_id(ctx, T, oid), "userId": user, "name": row.get("name"),
        "email": row.get("email"), "showEmail": 1 if show_email is None else show_email,
        "city": row.get("city"), "address1": row.get("address1"),
        "address2": row.get("address2"), "zipCode": row.get("zipCode"),
        "phone": row.get("phone"), "showPhone": 1 if show_phone is None else show_phone,
        "linkText": row.get("linkText"), "desc": row.get("desc"), "linkUrl": row.get("linkUrl"),
        "country": row.get("country"), "longDesc": row.get("longDesc"),
        "profession": row.get("profession"), "production2": row.get("production2"),
        "production3": row.get("production3"),
        "directory": 0 if directory is None else directory,
        "peopleName": row.get("peopleName"), "cdate": clean_date(ctx, T, oid, row, "cdate"),
        "lng": row.get("lng"), "lat": row.get("lat"), "companyNumber": company,
        "imageId": nfk(ctx, T, oid, "imageId", "File", row.get("imageId")),
        "disabled": row.get("disabled"),
        "status": row.get("status"), "offCamap": off,
    }


#: The transform of each table of this module.
TRANSFORMS = {
    "File": _file,
    "User": _user,
    "Vendor": _vendor,
}
