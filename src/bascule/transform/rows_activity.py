"""What members do: Basket, UserOrder, Operation, Membership, UserGroup, WaitingList,
VolunteerRole, Volunteer, EntityFile, Message (see ``transform.rows``)."""

from __future__ import annotations

from typing import Any

from bascule.model.tables import MIGRATION

from .baskets import is_synth_basket_key, order_basket_key
from .context import Row, TransformContext
from .fields import (
    TEMPORARY_BASKET_STATUSES,
    add_notes,
    clean_date,
    drop,
    fill,
    need,
    nfk,
    own_id,
    zero,
)
from .textids import recipients_json, remap_basket_data, remap_operation_data, remap_rights

#: EntityFile.entityType → the table its entityId points at.
ENTITY_FILE_TYPES: dict[Any, str] = dict(MIGRATION["EntityFile"].refs["entityId"].paths)


def _basket_values(row: Row, ctx: TransformContext) -> tuple | None:
    T = "Basket"
    oid = row["id"]
    status = None if ctx.src2021 else row.get("status")
    if status in TEMPORARY_BASKET_STATUSES and not ctx.move_open_baskets:
        return drop(ctx, T, oid, "status", "temporary basket", status)
    md = ctx.map("MultiDistrib", row.get("multiDistribId"))
    if md is None:
        return drop(ctx, T, oid, "multiDistribId", "MultiDistrib does not move",
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
            add_notes(ctx, T, oid, "data", notes)
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
    cdate = clean_date(ctx, T, oid, row, "cdate", not is_synth_basket_key(oid))
    return (  # id, cdate, num, total, status, data, multiDistribId, userId
        own_id(ctx, T, oid),
        fill(ctx, T, oid, "cdate", cdate, ""),
        zero(ctx, T, oid, "num", num), total, status, data,
        md,
        nfk(ctx, T, oid, "userId", "User", row.get("userId")),
    )


def _user_order_values(row: Row, ctx: TransformContext) -> tuple | None:
    T = "UserOrder"
    oid = row["id"]
    dist_old = row.get("distributionId")
    if dist_old is None:
        return drop(ctx, T, oid, "distributionId", "order without distribution")
    dist = need(ctx, T, oid, "distributionId", "Distribution", dist_old)
    if dist is None:
        return None
    product = need(ctx, T, oid, "productId", "Product", row.get("productId"))
    if product is None:
        return None
    user = need(ctx, T, oid, "userId", "User", row.get("userId"))
    if user is None:
        return None
    key = order_basket_key(row, ctx.distribution_md, ctx.basket_for)
    if key is None:
        return drop(ctx, T, oid, "basketId", "no basket and multidistrib unknown")
    basket = need(ctx, T, oid, "basketId", "Basket", key)
    if basket is None:
        return None
    return (  # id, quantity, paid, date, feesRate, productPrice, flags, basketId,
        # distributionId, productId, userId, userId2, subscriptionId
        own_id(ctx, T, oid), row.get("quantity"), row.get("paid"),
        fill(ctx, T, oid, "date", clean_date(ctx, T, oid, row, "date", True), ""),
        row.get("feesRate"), row.get("productPrice"),
        row.get("flags") or 0, basket, dist,
        product, user,
        nfk(ctx, T, oid, "userId2", "User", row.get("userId2")),
        nfk(ctx, T, oid, "subscriptionId", "Subscription", row.get("subscriptionId")),
    )


def _operation_values(row: Row, ctx: TransformContext) -> tuple | None:
    T = "Operation"
    oid = row["id"]
    group = need(ctx, T, oid, "groupId", "Group", row.get("groupId"))
    if group is None:
        return None
    user = need(ctx, T, oid, "userId", "User", row.get("userId"))
    if user is None:
        return None
    col = "data2" if ctx.src2021 else "data"
    data = row.get(col)
    if data is None and ctx.src2021:
        blob = row.get("data")
        if blob is not None and blob not in (b"n", "n", b"", ""):
            ctx.note(T, oid, "data", "ignored", "serialized data without data2")
    if data is not None:
        data, notes = remap_operation_data(data, ctx.map)
        if notes:
            add_notes(ctx, T, oid, col, notes)
    return (  # id, name, amount, date, type, pending, groupId, userId, relationId, basketId,
        # subscriptionId, data
        own_id(ctx, T, oid), row.get("name"), row.get("amount"),
        fill(ctx, T, oid, "date", clean_date(ctx, T, oid, row, "date", True), ""),
        row.get("type"), row.get("pending") or 0, group,
        user,
        nfk(ctx, T, oid, "relationId", "Operation", row.get("relationId")),
        nfk(ctx, T, oid, "basketId", "Basket", row.get("basketId")),
        nfk(ctx, T, oid, "subscriptionId", "Subscription", row.get("subscriptionId")),
        data,
    )


def _membership(row: Row, ctx: TransformContext) -> Row | None:
    T = "Membership"
    oid = (row.get("userId"), row.get("groupId"), row.get("year"))
    group = need(ctx, T, oid, "groupId", "Group", row.get("groupId"), detail=False)
    if group is None:
        return None
    user = need(ctx, T, oid, "userId", "User", row.get("userId"), detail=False)
    if user is None:
        return None
    return {
        "year": row.get("year"), "date": clean_date(ctx, T, oid, row, "date"),
        "amount": row.get("amount"),
        "operationId": nfk(ctx, T, oid, "operationId", "Operation", row.get("operationId")),
        "distributionId": nfk(ctx, T, oid, "distributionId", "MultiDistrib",
                              row.get("distributionId")),
       "groupId": group, "userId": user,
   }


def _user_group(row: Row, ctx: TransformContext) -> Row | None:
    T = "UserGroup"
    oid = (row.get("userId"), row.get("groupId"))
    group = need(ctx, T, oid, "groupId", "Group", row.get("groupId"), detail=False)
    if group is None:
        return None
    user = need(ctx, T, oid, "userId", "User", row.get("userId"), detail=False)
    if user is None:
        return None
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
            add_notes(ctx, T, oid, col, notes)
    balance = row.get("balance")
    return {
        "groupId": group, "userId": user, "rights": rights,
        "balance": zero(ctx, T, oid, "balance", balance),
    }


def _waiting_list(row: Row, ctx: TransformContext) -> Row | None:
    T = "WaitingList"
    oid = (row.get("userId"), row.get("amapId"))
    group = need(ctx, T, oid, "amapId", "Group", row.get("amapId"), detail=False)
    if group is None:
        return None
    user = need(ctx, T, oid, "userId", "User", row.get("userId"), detail=False)
    if user is None:
        return None
    msg = row.get("message")
    return {
        "amapId": group, "userId": user,
        "date": fill(ctx, T, oid, "date", clean_date(ctx, T, oid, row, "date", True), ""),
        "message": "" if msg is None else msg,
    }


def _default_one(v):
    """A column the later Camap migrations added with DEFAULT 1: as the source has it, else 1."""
    return 1 if v is None else v


def _volunteer_role(row: Row, ctx: TransformContext) -> Row | None:
    T = "VolunteerRole"
    oid = row["id"]
    group = need(ctx, T, oid, "groupId", "Group", row.get("groupId"))
    if group is None:
        return None
    return {
        "id": own_id(ctx, T, oid), "name": row.get("name"),
        "enabledByDefault": _default_one(row.get("enabledByDefault")),
        "groupId": group,
        "catalogId": nfk(ctx, T, oid, "catalogId", "Catalog", row.get("catalogId")),
    }


def _volunteer(row: Row, ctx: TransformContext) -> Row | None:
    T = "Volunteer"
    oid = (row.get("userId"), row.get("multiDistribId"), row.get("volunteerRoleId"))
    user = need(ctx, T, oid, "userId", "User", row.get("userId"), detail=False)
    if user is None:
        return None
    md = need(ctx, T, oid, "multiDistribId", "MultiDistrib", row.get("multiDistribId"), detail=False)
    if md is None:
        return None
    role = need(ctx, T, oid, "volunteerRoleId", "VolunteerRole", row.get("volunteerRoleId"), detail=False)
    if role is None:
        return None
    return {"userId": user, "multiDistribId": md, "volunteerRoleId": role}


def _entity_file(row: Row, ctx: TransformContext) -> Row | None:
    T = "EntityFile"
    oid = row["id"]
    etype = row.get("entityType")
    ref = ENTITY_FILE_TYPES.get(etype)
    if ref is None:
        return drop(ctx, T, oid, "entityType", "entity type not moved", etype)
    entity = ctx.map(ref, row.get("entityId"))
    if entity is None:
        return drop(ctx, T, oid, "entityId", f"{ref} does not move", row.get("entityId"))
    f = need(ctx, T, oid, "fileId", "File", row.get("fileId"))
    if f is None:
        return None
    return {
        "id": own_id(ctx, T, oid), "entityType": etype,
        "documentType": row.get("documentType"), "entityId": entity, "fileId": f,
        "data": row.get("data"),
    }


def _message(row: Row, ctx: TransformContext) -> Row | None:
    T = "Message"
    oid = row["id"]
    recipients = row.get("recipients")
    if recipients is not None:
        recipients, notes = recipients_json(recipients)
        if notes:
            add_notes(ctx, T, oid, "recipients", notes)
    slate = row.get("slateContent")
    body = row.get("body")
    return {
        "id": own_id(ctx, T, oid), "recipientListId": row.get("recipientListId"),
        "title": row.get("title") or "", "body": "" if body is None else body,
        "date": fill(ctx, T, oid, "date", clean_date(ctx, T, oid, row, "date", True), ""),
        "recipients": recipients, "slateContent": "" if slate is None else slate,
        "amapId": nfk(ctx, T, oid, "amapId", "Group", row.get("amapId")),
        "senderId": nfk(ctx, T, oid, "senderId", "User", row.get("senderId")),
        "attachments": row.get("attachments"),
    }


#: The transform of each other table of this module.
#: The transforms that give a row's values as a tuple in ``PRODUCED_COLUMNS`` order (the
#: build's path without a dict per row, ``rows.values_transform``); ``rows.TRANSFORMS`` makes
#: their rows from them.
VALUES = {
    "Basket": _basket_values,
    "UserOrder": _user_order_values,
    "Operation": _operation_values,
}

TRANSFORMS = {
    "Membership": _membership,
    "UserGroup": _user_group,
    "WaitingList": _waiting_list,
    "VolunteerRole": _volunteer_role,
    "Volunteer": _volunteer,
    "EntityFile": _entity_file,
    "Message": _message,
}
