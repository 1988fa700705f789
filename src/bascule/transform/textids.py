"""Ids inside text columns: parse, remap, re-serialise.

Every ``remap_*`` function is pure: it takes the source text and a ``mapper(table, old_id) ->
new_id | None`` (``TransformContext.map``) and returns ``(new_text, notes)`` where ``notes`` is a
tuple of ``(action, reason, detail)`` (empty tuple when nothing happened). JSON is re-serialised
compactly (``separators=(",", ":")``, non-ASCII kept as is, keys in source order), so the output
is deterministic. Id types are kept: an id that was a JSON string stays a string.

Policies
- Empty or whitespace-only text: NULL (no note; it holds no id and means "nothing").
- Unparsable JSON, or JSON of the wrong shape: NULL, note ``malformed``.
  For ``UserGroup.rights`` this means the member keeps the membership without rights: bascule
  never widens a right it cannot read.
- A well-formed entry that cannot be read (not an object, id not an integer): that entry is
  dropped, note ``malformed``; the rest is kept.
- An id whose row does not move: dropped from the list (note ``dropped_ref``). In rights, a
  ContractAdmin entry whose catalogs all leave is removed entirely — it is never turned into an
  empty/null ``params``, which Camap reads as "all catalogs".
"""

from __future__ import annotations

import json
import json.decoder
import json.encoder
from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast
from urllib.parse import unquote_plus

Mapper = Callable[[str, Any], "int | None"]
Notes = tuple  # tuple[tuple[str, str, Any], ...]

_NO_NOTES: Notes = ()


def _json_default(o: Any) -> Any:
    if isinstance(o, Decimal):  # e.g. a price read from a DECIMAL/NUMERIC column
        return int(o) if o == o.to_integral_value() else float(o)
    raise TypeError(f"{type(o).__name__} is not JSON serializable")


_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_json_default).encode
# json.loads and JSONEncoder.encode wrap the json module's C scanner and encoder in three Python
# frames per value, which cost more than the parsing itself on the short texts of these
# columns: ``_parse`` and ``dumps`` call them directly (the same functions: the same values and
# the same text), and fall back on the wrappers for anything else.
_scan: Any = cast(Any, json.decoder.JSONDecoder()).scan_once
_c_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_encode = None if _c_encoder is None else _c_encoder(
    None, _json_default, json.encoder.encode_basestring, None, ":", ",", False, False, True)

#: Payment type ids Camap knows (camap-schema.md §2.2); Cagette also had mangopay-ec/-mp.
CAMAP_PAYMENT_TYPES = frozenset({"cash", "check", "transfer", "onthespot", "moneypot",
                                 "card-terminal"})


def dumps(value: Any) -> str:
    """Compact, deterministic JSON (the form every remap function writes)."""
    if _encode is not None and type(value) in (dict, list):
        return "".join(_encode(value, 0))
    return _dumps(value)


def _parse(s: str) -> Any:
    """``json.loads(s)``, faster for what these columns hold: an object or a list, nothing
    around it (whitespace around, or an error, goes to ``json.loads``, which says what it
    says)."""
    if s and s[0] in "{[" and s[-1] in "}]":
        try:
            obj, end = _scan(s, 0)
        except (StopIteration, ValueError):
            return json.loads(s)
        if end == len(s):
            return obj
    return json.loads(s)


def parse_id(value: Any) -> int | None:
    """An id from JSON/CSV: int, integral float, or a string of digits; else None."""
    t = type(value)
    if t is int:
        return value
    if t is str:
        s = value.strip()
        if s.isdigit():  # isdigit() also accepts e.g. '²': guard with isascii
            return int(s) if s.isascii() else None
        return None
    if t is float and value.is_integer():
        return int(value)
    if t is Decimal and value == value.to_integral_value():
        return int(value)
    return None


def _same_type(old: Any, new: int) -> Any:
    return str(new) if type(old) is str else new


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value).decode("utf-8", errors="replace")
    return value


def _load(value: Any) -> tuple[Any, Notes | None]:
    """(parsed, None) or (None, notes) for empty/malformed text. Parsed None means 'NULL'."""
    s = _text(value)
    if s is None or not s.strip():
        return None, _NO_NOTES
    try:
        return _parse(s), None
    except ValueError:
        return None, (("malformed", "unparsable JSON", s[:80]),)


# ---- CSV ------------------------------------------------------------------------------------

def parse_csv_ids(value: Any) -> list[int]:
    """The integer ids of a CSV text (unparsable items skipped)."""
    s = _text(value)
    if not s:
        return []
    out = []
    for item in s.split(","):
        i = parse_id(item)
        if i is not None:
            out.append(i)
    return out


def remap_csv(value: Any, table: str, mapper: Mapper) -> tuple[str | None, Notes]:
    """``"12, 13,x,"`` → ``"112,113"``: ids of ``table`` remapped, others dropped; NULL if none."""
    s = _text(value)
    if s is None or not s.strip():
        return None, _NO_NOTES
    out = []
    notes: list[tuple[str, str, Any]] = []
    for item in s.split(","):
        item = item.strip()
        if not item:
            continue
        old = parse_id(item)
        if old is None:
            notes.append(("malformed", "not an id in list", item[:40]))
            continue
        new = mapper(table, old)
        if new is None:
            notes.append(("dropped_ref", f"{table} does not move", old))
            continue
        out.append(str(new))
    return (",".join(out) if out else None), (tuple(notes) if notes else _NO_NOTES)


# ---- UserGroup.rights -----------------------------------------------------------------------

def remap_rights(value: Any, mapper: Mapper) -> tuple[str | None, Notes]:
    """``[{"right":"ContractAdmin","params":["12"]},…]``: catalog ids remapped (see module doc)."""
    data, bad = _load(value)
    if bad is not None:
        return None, bad
    if not isinstance(data, list):
        return None, (("malformed", "rights JSON is not a list", str(value)[:80]),)
    out = []
    notes: list[tuple[str, str, Any]] = []
    for entry in data:
        if not isinstance(entry, dict) or not isinstance(entry.get("right"), str):
            notes.append(("malformed", "unreadable right entry", str(entry)[:80]))
            continue
        params = entry.get("params")
        if entry["right"] != "ContractAdmin" or params is None or params == []:
            out.append(entry)
            continue
        if not isinstance(params, list):
            notes.append(("malformed", "unreadable right entry", str(entry)[:80]))
            continue
        new_params = []
        for p in params:
            old = parse_id(p)
            if old is None:
                notes.append(("malformed", "catalog id not an integer", str(p)[:40]))
                continue
            new = mapper("Catalog", old)
            if new is None:
                notes.append(("dropped_ref", "Catalog does not move", old))
                continue
            new_params.append(_same_type(p, new))
        if new_params:
            e = dict(entry)
            e["params"] = new_params
            out.append(e)
        else:
            notes.append(("dropped_ref", "ContractAdmin right removed", params))
    return dumps(out), (tuple(notes) if notes else _NO_NOTES)


def rights_catalog_ids(value: Any) -> list[int]:
    """Catalog ids named by the ContractAdmin rights of a rights JSON (unreadable parts skipped)."""
    data, bad = _load(value)
    if bad is not None or not isinstance(data, list):
        return []
    out: list[int] = []
    for entry in data:
        if isinstance(entry, dict) and entry.get("right") == "ContractAdmin":
            params = entry.get("params")
            if isinstance(params, list):
                out.extend(i for i in map(parse_id, params) if i is not None)
    return out


def grant_contract_admin(rights_json: str | None, new_catalog_id: int) -> str:
    """Add ``ContractAdmin`` on ``new_catalog_id`` (a TARGET id) to a rights JSON.

    Idempotent: unchanged (but for compact re-serialisation) when a ContractAdmin entry already
    names that catalog or covers all catalogs (``params`` null or empty). Other rights are kept.
    An unreadable or empty ``rights_json`` is treated as no rights.
    """
    data, bad = _load(rights_json)
    if bad is not None or not isinstance(data, list):
        data = []
    data = [e for e in data if isinstance(e, dict)]
    for entry in data:
        if entry.get("right") == "ContractAdmin":
            params = entry.get("params")
            if params is None or params == []:
                return dumps(data)
            if isinstance(params, list) and new_catalog_id in (parse_id(p) for p in params):
                return dumps(data)
    data.append({"right": "ContractAdmin", "params": [str(new_catalog_id)]})
    return dumps(data)


# ---- Subscription.defaultOrders -------------------------------------------------------------

def remap_default_orders(
    value: Any, mapper: Mapper, product_price: Callable[[Any], Any] | None = None,
) -> tuple[str | None, Notes]:
    """``[{"productId":P,"quantity":q,"userId2"?:U,…}]``: P and U remapped.

    An entry whose product does not move is dropped; a ``userId2`` that does not move becomes
    null. With ``product_price`` (old product id → price), entries without ``productPrice`` get
    it (the FORK/HEAD entry shape).
    """
    data, bad = _load(value)
    if bad is not None:
        return None, bad
    if not isinstance(data, list):
        return None, (("malformed", "defaultOrders JSON is not a list", str(value)[:80]),)
    out = []
    notes: list[tuple[str, str, Any]] = []
    for entry in data:
        if not isinstance(entry, dict):
            notes.append(("malformed", "unreadable default order", str(entry)[:80]))
            continue
        p = entry.get("productId")
        old_p = parse_id(p)
        if old_p is None:
            notes.append(("malformed", "productId not an integer", str(entry)[:80]))
            continue
        new_p = mapper("Product", old_p)
        if new_p is None:
            notes.append(("dropped_ref", "Product does not move", old_p))
            continue
        e = dict(entry)
        e["productId"] = _same_type(p, new_p)
        u = entry.get("userId2")
        if u is not None:
            old_u = parse_id(u)
            new_u = None if old_u is None else mapper("User", old_u)
            if new_u is None:
                notes.append(("dropped_ref", "userId2 does not move", u))
                e["userId2"] = None
            else:
                e["userId2"] = _same_type(u, new_u)
        if product_price is not None and "productPrice" not in e:
            price = product_price(old_p)
            if price is not None:
                e["productPrice"] = price
        out.append(e)
    return dumps(out), (tuple(notes) if notes else _NO_NOTES)


def default_orders_ids(value: Any) -> tuple[list[int], list[int]]:
    """(product ids, user ids) named in a defaultOrders JSON."""
    data, bad = _load(value)
    if bad is not None or not isinstance(data, list):
        return [], []
    products, users = [], []
    for e in data:
        if isinstance(e, dict):
            p = parse_id(e.get("productId"))
            if p is not None:
                products.append(p)
            u = parse_id(e.get("userId2"))
            if u is not None:
                users.append(u)
    return products, users


# ---- Operation.data -------------------------------------------------------------------------

OPERATION_DATA_KEYS: dict[str, str] = {
    "basketId": "Basket", "subscriptionId": "Subscription", "contractId": "Catalog",
}


def remap_operation_data(value: Any, mapper: Mapper) -> tuple[str | None, Notes]:
    """``{"basketId":B}`` / ``{"subscriptionId":S}`` / ``{"type":…}`` / ``{"year":Y}``: ids
    remapped; a key whose row does not move is removed."""
    data, bad = _load(value)
    if bad is not None:
        return None, bad
    if not isinstance(data, dict):
        return None, (("malformed", "operation data JSON is not an object", str(value)[:80]),)
    notes: list[tuple[str, str, Any]] = []
    out = {}
    for k, v in data.items():
        table = OPERATION_DATA_KEYS.get(k)
        if table is None or v is None:
            out[k] = v
            continue
        old = parse_id(v)
        if old is None:
            notes.append(("malformed", f"{k} not an integer", str(v)[:40]))
            continue
        new = mapper(table, old)
        if new is None:
            notes.append(("dropped_ref", f"{table} does not move", old))
            continue
        out[k] = _same_type(v, new)
    return dumps(out), (tuple(notes) if notes else _NO_NOTES)


def operation_data_ids(value: Any) -> list[tuple[str, int]]:
    data, bad = _load(value)
    if bad is not None or not isinstance(data, dict):
        return []
    out = []
    for k, table in OPERATION_DATA_KEYS.items():
        i = parse_id(data.get(k))
        if i is not None:
            out.append((table, i))
    return out


# ---- Basket.data (OPEN baskets) -------------------------------------------------------------

def remap_basket_data(value: Any, mapper: Mapper) -> tuple[str, Notes]:
    """``{"products":[{"productId":P,"quantity":q}]}``: P remapped, entries of products that do
    not move dropped. Empty text stays ``''`` (the value Camap writes for confirmed baskets);
    malformed JSON becomes ``''`` (the column is NOT NULL)."""
    data, bad = _load(value)
    if bad is not None:
        return "", bad
    if data is None:
        return "", _NO_NOTES
    if not isinstance(data, dict) or not isinstance(data.get("products", []), list):
        return "", (("malformed", "basket data JSON is not {products:[…]}", str(value)[:80]),)
    notes: list[tuple[str, str, Any]] = []
    products = []
    for entry in data.get("products", []):
        if not isinstance(entry, dict):
            notes.append(("malformed", "unreadable basket product", str(entry)[:80]))
            continue
        p = entry.get("productId")
        old = parse_id(p)
        if old is None:
            notes.append(("malformed", "productId not an integer", str(entry)[:80]))
            continue
        new = mapper("Product", old)
        if new is None:
            notes.append(("dropped_ref", "Product does not move", old))
            continue
        e = dict(entry)
        e["productId"] = _same_type(p, new)
        products.append(e)
    out = dict(data)
    if "products" in data:
        out["products"] = products
    return dumps(out), (tuple(notes) if notes else _NO_NOTES)


def basket_data_product_ids(value: Any) -> list[int]:
    data, bad = _load(value)
    if bad is not None or not isinstance(data, dict) or not isinstance(data.get("products"), list):
        return []
    return [i for i in (parse_id(e.get("productId")) for e in data["products"]
                        if isinstance(e, dict)) if i is not None]


# ---- JSON without ids -----------------------------------------------------------------------

def clean_payment_types(value: Any) -> tuple[str | None, Notes]:
    """``Group.allowedPaymentsType``: keep the payment type ids Camap knows, in order."""
    data, bad = _load(value)
    if bad is not None:
        return None, bad
    if not isinstance(data, list):
        return None, (("malformed", "payment types JSON is not a list", str(value)[:80]),)
    out = []
    notes: list[tuple[str, str, Any]] = []
    for t in data:
        if t in CAMAP_PAYMENT_TYPES:
            out.append(t)
        else:
            notes.append(("dropped_ref", "payment type unknown to Camap", str(t)[:40]))
    return dumps(out), (tuple(notes) if notes else _NO_NOTES)


def check_json(value: Any) -> tuple[str | None, Notes]:
    """JSON text kept verbatim when it parses (e.g. ``Group.vatRates``), NULL + note otherwise.
    Binary values (legacy Haxe-serialized blobs) are NULL, noted ``ignored``."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return None, (("ignored", "serialized blob", None),)
    data, bad = _load(value)
    if bad is not None:
        return None, bad
    if data is None:
        return None, _NO_NOTES
    return value, _NO_NOTES


# ---- Haxe-serialized array of strings (Message.recipients in the 2021 shape) ---------------

def _haxe_int(s: str, i: int) -> tuple[int, int]:
    j = i
    if j < len(s) and s[j] == "-":
        j += 1
    while j < len(s) and s[j].isdigit():
        j += 1
    if j == i or s[i:j] == "-":
        raise ValueError("integer expected")
    return int(s[i:j]), j


def decode_haxe_string_array(value: Any) -> list[str | None] | None:
    """Decode a ``haxe.Serializer`` array of strings (``ay5:a%40b.ch``), ``n`` → None.
    Raises ValueError for anything else."""
    s = _text(value)
    if s is None:
        return None
    s = s.strip()
    if s == "n":
        return None
    if not s.startswith("a"):
        raise ValueError("not a serialized array")
    out: list[str | None] = []
    cache: list[str] = []
    i = 1
    n = len(s)
    while True:
        if i >= n:
            raise ValueError("unterminated array")
        c = s[i]
        if c == "h":
            i += 1
            break
        if c == "y":
            length, j = _haxe_int(s, i + 1)
            if j >= n or s[j] != ":":
                raise ValueError("bad string")
            raw = s[j + 1:j + 1 + length]
            if len(raw) != length:
                raise ValueError("truncated string")
            v = unquote_plus(raw, encoding="utf-8", errors="strict")
            cache.append(v)
            out.append(v)
            i = j + 1 + length
        elif c == "R":
            k, i = _haxe_int(s, i + 1)
            out.append(cache[k])
        elif c == "n":
            out.append(None)
            i += 1
        elif c == "u":
            k, i = _haxe_int(s, i + 1)
            out.extend([None] * k)
        else:
            raise ValueError(f"unexpected {c!r} in serialized array")
    if i != n:
        raise ValueError("trailing data")
    return out


def recipients_json(value: Any) -> tuple[str | None, Notes]:
    """``Message.recipients`` as Camap stores it: a JSON list of e-mail strings.
    JSON text is kept; a Haxe-serialized array (2021 blob) is converted."""
    s = _text(value)
    if s is None or not s.strip():
        return None, _NO_NOTES
    st = s.lstrip()
    if st[:1] == "[":
        data, bad = _load(s)
        if bad is not None:
            return None, bad
        return s, _NO_NOTES
    try:
        data = decode_haxe_string_array(s)
    except (ValueError, IndexError, UnicodeDecodeError):
        return None, (("malformed", "unreadable recipients", s[:80]),)
    if data is None:
        return None, _NO_NOTES
    return dumps(data), _NO_NOTES


# ---- every text column with ids -------------------------------------------------------------

def _default_orders_refs(value: Any) -> list[tuple[str, int]]:
    products, users = default_orders_ids(value)
    return [("Product", i) for i in products] + [("User", i) for i in users]


#: The ids inside each JSON column (table, TARGET column name), as (table, old id) pairs: what
#: the remap functions above map, read the same way (the shared rows a text names move with it).
TEXT_IDS: dict[tuple[str, str], Callable[[Any], list[tuple[str, int]]]] = {
    ("UserGroup", "rights"): lambda v: [("Catalog", i) for i in rights_catalog_ids(v)],
    ("Subscription", "defaultOrders"): _default_orders_refs,
    ("Operation", "data"): operation_data_ids,
    ("Basket", "data"): lambda v: [("Product", i) for i in basket_data_product_ids(v)],
}
