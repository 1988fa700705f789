"""Ids inside text columns: every format, with dangling ids, malformed input, empty strings."""

from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import quote

import pytest

from bascule.transform.textids import (
    check_json, clean_payment_types, decode_haxe_string_array, default_orders_ids,
    grant_contract_admin, parse_csv_ids, parse_id, recipients_json, remap_basket_data,
    remap_csv, remap_default_orders, remap_operation_data, remap_rights, rights_catalog_ids,
)

MOVES = {"Catalog": {7: 507, 8: 508}, "Product": {70: 570}, "User": {10: 110, 12: 112},
         "Distribution": {21: 521, 22: 522}, "VolunteerRole": {28: 528},
         "Basket": {24: 524}, "Subscription": {23: 523}}


def mapper(table, old):
    return MOVES.get(table, {}).get(old)


def actions(notes):
    return [n[0] for n in notes]


# ---- parse_id -------------------------------------------------------------------------------

@pytest.mark.parametrize("value,expected", [
    (12, 12), ("12", 12), (" 12 ", 12), (12.0, 12), (12.5, None), ("1a", None), ("", None),
    (None, None), (True, None), ("²", None), ([], None), (Decimal("12"), 12),
    (Decimal("12.5"), None),
])
def test_parse_id(value, expected):
    assert parse_id(value) == expected


# ---- CSV ------------------------------------------------------------------------------------

@pytest.mark.parametrize("value,expected,acts", [
    ("21,22", "521,522", []),
    (" 21 , 22 ,", "521,522", []),            # whitespace, trailing comma
    ("21,99", "521", ["dropped_ref"]),         # dangling id dropped
    ("99", None, ["dropped_ref"]),             # nothing left: NULL
    ("21,x,", "521", ["malformed"]),
    ("", None, []),
    ("   ", None, []),
    (None, None, []),
    (b"21,22", "521,522", []),
])
def test_remap_csv(value, expected, acts):
    out, notes = remap_csv(value, "Distribution", mapper)
    assert out == expected
    assert actions(notes) == acts


def test_parse_csv_ids():
    assert parse_csv_ids(" 1, 2,x,,3") == [1, 2, 3]
    assert parse_csv_ids(None) == [] and parse_csv_ids("") == []


# ---- rights ---------------------------------------------------------------------------------

def test_rights_remapped_and_other_rights_kept():
    src = ('[{"right":"GroupAdmin","params":null},{"right":"ContractAdmin","params":["7"]},'
           '{"right":"Messages","params":null},{"right":"ContractAdmin","params":[8]}]')
    out, notes = remap_rights(src, mapper)
    assert out == ('[{"right":"GroupAdmin","params":null},'
                   '{"right":"ContractAdmin","params":["507"]},'
                   '{"right":"Messages","params":null},{"right":"ContractAdmin","params":[508]}]')
    assert notes == ()


def test_rights_dangling_catalog_removes_the_right_never_widens_it():
    out, notes = remap_rights('[{"right":"ContractAdmin","params":["99"]}]', mapper)
    assert json.loads(out) == []  # never params null/[] (= all catalogs)
    assert actions(notes) == ["dropped_ref", "dropped_ref"]
    out, notes = remap_rights('[{"right":"ContractAdmin","params":["99","7"]}]', mapper)
    assert json.loads(out) == [{"right": "ContractAdmin", "params": ["507"]}]
    assert actions(notes) == ["dropped_ref"]


def test_rights_all_catalogs_kept():
    out, notes = remap_rights('[{"right":"ContractAdmin","params":null}]', mapper)
    assert json.loads(out) == [{"right": "ContractAdmin", "params": None}] and notes == ()


@pytest.mark.parametrize("value", ['[{"right":"GroupAdmin"', "not json", '{"right":"x"}', "42"])
def test_rights_malformed_is_null(value):
    out, notes = remap_rights(value, mapper)
    assert out is None and actions(notes) == ["malformed"]


def test_rights_malformed_entries_dropped_rest_kept():
    src = '[1, {"nope":true}, {"right":"ContractAdmin","params":"7"},' \
          '{"right":"ContractAdmin","params":["x","7"]}, {"right":"Membership","params":null}]'
    out, notes = remap_rights(src, mapper)
    assert json.loads(out) == [{"right": "ContractAdmin", "params": ["507"]},
                               {"right": "Membership", "params": None}]
    assert actions(notes) == ["malformed"] * 4


@pytest.mark.parametrize("value", ["", "  ", None])
def test_rights_empty_is_null(value):
    assert remap_rights(value, mapper) == (None, ())


def test_rights_catalog_ids():
    assert rights_catalog_ids('[{"right":"ContractAdmin","params":["7",8]},'
                              '{"right":"GroupAdmin","params":null}]') == [7, 8]
    assert rights_catalog_ids("oops") == []


# ---- grant_contract_admin -------------------------------------------------------------------

def test_grant_contract_admin_adds_and_is_idempotent():
    once = grant_contract_admin('[{"right":"Messages","params":null}]', 507)
    assert json.loads(once) == [{"right": "Messages", "params": None},
                                {"right": "ContractAdmin", "params": ["507"]}]
    assert grant_contract_admin(once, 507) == once
    twice = grant_contract_admin(once, 508)
    assert json.loads(twice)[-1] == {"right": "ContractAdmin", "params": ["508"]}
    assert grant_contract_admin(twice, 508) == twice


@pytest.mark.parametrize("value", [None, "", "garbage", "{}"])
def test_grant_contract_admin_from_nothing(value):
    assert grant_contract_admin(value, 5) == '[{"right":"ContractAdmin","params":["5"]}]'


def test_grant_contract_admin_all_catalogs_nothing_to_add():
    src = '[{"right":"ContractAdmin","params":null}]'
    assert grant_contract_admin(src, 507) == src
    src = '[{"right":"ContractAdmin","params":[507]}]'
    assert grant_contract_admin(src, 507) == src


# ---- defaultOrders --------------------------------------------------------------------------

def test_default_orders():
    src = ('[{"productId":70,"quantity":1.5,"userId2":12,"invertSharedOrder":true},'
           '{"productId":"70","quantity":1},{"productId":71,"quantity":2},'
           '{"productId":70,"quantity":1,"userId2":99},"junk",{"quantity":3}]')
    out, notes = remap_default_orders(src, mapper)
    assert json.loads(out) == [
        {"productId": 570, "quantity": 1.5, "userId2": 112, "invertSharedOrder": True},
        {"productId": "570", "quantity": 1},
        {"productId": 570, "quantity": 1, "userId2": None},
    ]
    assert sorted(actions(notes)) == ["dropped_ref", "dropped_ref", "malformed", "malformed"]


def test_default_orders_product_price_and_malformed():
    out, _ = remap_default_orders('[{"productId":70,"quantity":1}]', mapper,
                                  product_price={70: 13.0}.get)
    assert out == '[{"productId":570,"quantity":1,"productPrice":13.0}]'
    out, _ = remap_default_orders('[{"productId":70,"quantity":1,"productPrice":12}]', mapper,
                                  product_price={70: 13.0}.get)
    assert json.loads(out)[0]["productPrice"] == 12  # the price at subscription time stays
    # a price read from a DECIMAL column
    out, _ = remap_default_orders('[{"productId":70,"quantity":1}]', mapper,
                                  product_price={70: Decimal("28.3500000000")}.get)
    assert out == '[{"productId":570,"quantity":1,"productPrice":28.35}]'
    assert remap_default_orders("[{", mapper)[0] is None
    assert remap_default_orders('{"productId":70}', mapper)[0] is None
    assert remap_default_orders("", mapper) == (None, ())
    assert remap_default_orders("[]", mapper) == ("[]", ())


def test_default_orders_ids():
    assert default_orders_ids('[{"productId":70,"userId2":"12"},{"productId":71}]') == \
        ([70, 71], [12])


# ---- Operation.data, Basket.data ------------------------------------------------------------

@pytest.mark.parametrize("value,expected,acts", [
    ('{"basketId":24}', '{"basketId":524}', []),
    ('{"subscriptionId":23}', '{"subscriptionId":523}', []),
    ('{"subscriptionId":"23"}', '{"subscriptionId":"523"}', []),
    ('{"type":"check","remoteOpId":"x1"}', '{"type":"check","remoteOpId":"x1"}', []),
    ('{"year":2022}', '{"year":2022}', []),
    ('{"basketId":88}', "{}", ["dropped_ref"]),
    ('{"basketId":"abc"}', "{}", ["malformed"]),
    ('{"basketId":null}', '{"basketId":null}', []),
    ('{"basketId":', None, ["malformed"]),
    ("[1]", None, ["malformed"]),
    ("", None, []),
])
def test_operation_data(value, expected, acts):
    out, notes = remap_operation_data(value, mapper)
    assert out == expected
    assert actions(notes) == acts


def test_basket_data():
    out, notes = remap_basket_data(
        '{"products":[{"productId":70,"quantity":2},{"productId":71,"quantity":1}]}', mapper)
    assert out == '{"products":[{"productId":570,"quantity":2}]}'
    assert actions(notes) == ["dropped_ref"]
    assert remap_basket_data("", mapper) == ("", ())
    assert remap_basket_data(None, mapper) == ("", ())
    out, notes = remap_basket_data("{oops", mapper)
    assert out == "" and actions(notes) == ["malformed"]


# ---- JSON without ids -----------------------------------------------------------------------

def test_payment_types():
    out, notes = clean_payment_types('["cash","mangopay-ec","card-terminal","mangopay-mp"]')
    assert out == '["cash","card-terminal"]'
    assert actions(notes) == ["dropped_ref", "dropped_ref"]
    assert clean_payment_types("[") == (None, (("malformed", "unparsable JSON", "["),))
    assert clean_payment_types('"cash"')[0] is None


def test_check_json():
    src = '[{"label":"TVA réduite","value":5.5}]'
    assert check_json(src) == (src, ())
    assert check_json("[{")[0] is None
    out, notes = check_json(b"ai1h")
    assert out is None and actions(notes) == ["ignored"]
    assert check_json("  ") == (None, ())


# ---- Haxe-serialized recipients -------------------------------------------------------------

def y(text):
    """Haxe serialization of one string: y<length of the url-encoded text>:<url-encoded>."""
    q = quote(text, safe="")
    return f"y{len(q)}:{q}"


def test_decode_haxe_string_array():
    assert y("a@b") == "y5:a%40b"
    assert decode_haxe_string_array(f"a{y('a@b')}n{y('x+y@z')}u2R0h") == \
        ["a@b", None, "x+y@z", None, None, "a@b"]
    assert decode_haxe_string_array("n") is None
    assert decode_haxe_string_array("ah") == []
    assert decode_haxe_string_array(f"a{y('Cré')}h") == ["Cré"]
    for bad in ("ay9:short", "oy1:ag", "ay1:ah extra", "ay1:a", "ayx:ah"):
        with pytest.raises(ValueError):
            decode_haxe_string_array(bad)


def test_recipients_json():
    assert recipients_json(b"ay5:a%40bh") == ('["a@b"]', ())
    assert recipients_json('["a@b"]') == ('["a@b"]', ())
    assert recipients_json("n") == (None, ())
    out, notes = recipients_json("garbage")
    assert out is None and actions(notes) == ["malformed"]
    out, notes = recipients_json("[oops")
    assert out is None and actions(notes) == ["malformed"]


# ---- the json module's C parts called directly --------------------------------------------

@pytest.mark.parametrize("text", [
    '{"basketId":223}', '{"type":"mangopay-ec","remoteOpId":"3"}', "[]", "{}",
    '[{"productId":2188,"quantity":2.0},{"productId":7,"quantity":1.50,"userId2":"12"}]',
    ' {"a":1}', '{"a":1} ', '{"a":1}{', '{"a":1} x', '[1,2,]', '{"a":"\\u00e9t\\u00e9\\n"}',
    '{"a":1e400}', '{"a":NaN}', '{"a":1,"a":2}', '\ufeff{"a":1}', '{"a":{"b":[1,"x",null,true]}}',
    '{"a"', '[', "{'a':1}", '"x"', "12",
])
def test_parse_and_dumps_are_json_loads_and_the_encoder(text):
    """``_parse`` is ``json.loads`` (the same value, or the same error), ``dumps`` the
    JSONEncoder's text, for well-formed, odd and malformed texts."""
    from bascule.transform.textids import _dumps, _parse, dumps

    try:
        want, err = json.loads(text), None
    except ValueError as e:
        want, err = None, (type(e), str(e))
    try:
        got, got_err = _parse(text), None
    except ValueError as e:
        got, got_err = None, (type(e), str(e))
    assert got_err == err
    assert json.dumps(got) == json.dumps(want)
    if err is None:
        assert dumps(got) == _dumps(got)


def test_dumps_keeps_decimals_and_non_ascii():
    from bascule.transform.textids import _dumps, dumps

    for v in ({"p": Decimal("1.50"), "q": Decimal("2")}, [Decimal("2.5")], {"k": "a\"b\\c\u2028é"},
              [{"a": []}], {"x": float("inf")}, [None, True, 1.0]):
        assert dumps(v) == _dumps(v)
    assert dumps({"p": Decimal("2")}) == '{"p":2}'
