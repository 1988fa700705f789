"""Baskets created for orders without one (2021 source)."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from bascule.transform import (
    BasketSynthesizer, TransformContext, is_synth_basket_key, order_basket_key,
    split_synth_basket_key, synth_basket_key, transform_row,
)

D = dt.datetime


def test_synth_key_deterministic_positive_and_above_real_ids():
    k = synth_basket_key(10, 20)
    assert k == (10 << 32) | 20 == synth_basket_key(10, 20)
    assert k != synth_basket_key(20, 10)
    assert 2**31 <= k < 2**63
    assert is_synth_basket_key(k) and not is_synth_basket_key(2**31 - 1)
    assert split_synth_basket_key(k) == (10, 20)
    big = synth_basket_key(2**31 - 1, 2**32 - 1)
    assert 0 < big < 2**63
    for bad in ((0, 1), (1, 0), (2**31, 1), (-1, 5)):
        with pytest.raises(ValueError):
            synth_basket_key(*bad)


def test_order_basket_key():
    dist_md = {21: 20}.get
    assert order_basket_key({"basketId": 5, "distributionId": 21, "userId": 1}, dist_md) == 5
    assert order_basket_key({"basketId": None, "distributionId": 21, "userId": 1}, dist_md) == \
        synth_basket_key(1, 20)
    assert order_basket_key({"basketId": None, "distributionId": 21, "userId": 1}, dist_md,
                            lambda u, md: 77) == 77
    assert order_basket_key({"basketId": None, "distributionId": None, "userId": 1},
                            dist_md) is None
    assert order_basket_key({"basketId": None, "distributionId": 99, "userId": 1},
                            dist_md) is None


def orders():
    # (id, user, distribution, basket, quantity, price, fees, date)
    rows = [
        (100, 1, 21, None, 2, 13.0, 0, D(2022, 6, 1, 10)),
        (101, 1, 22, None, 1, 2.5, 10, D(2022, 6, 1, 9)),    # same user, same md (22 → 20)
        (102, 2, 21, None, 3, 1.1, 0, D(2022, 6, 1, 8)),
        (103, 3, 21, None, 1, 5.0, 0, D(2022, 6, 1, 7)),     # user 3 has a real basket at md 20
        (104, 4, 23, None, 1, 4.0, 0, "0000-00-00 00:00:00"),  # another md (30)
        (105, 5, None, None, 1, 1.0, 0, D(2022, 1, 1)),      # no distribution
        (99, 2, 21, 900, 1, 10.0, 5.0, D(2022, 6, 1)),       # real basket 900
    ]
    return [{"id": i, "userId": u, "distributionId": d, "basketId": b, "quantity": q,
             "productPrice": p, "feesRate": f, "date": dt_} for i, u, d, b, q, p, f, dt_ in rows]


def build(order_rows):
    syn = BasketSynthesizer(distribution_md={21: 20, 22: 20, 23: 30}.get)
    syn.add_existing({"id": 900, "userId": 2, "multiDistribId": 20, "num": 4})
    syn.add_existing({"id": 901, "userId": 3, "multiDistribId": 20, "num": 7})
    keys = {o["id"]: syn.add_order(o) for o in order_rows}
    return syn, keys


def test_synthesizer_rows_numbering_totals():
    syn, keys = build(orders())
    assert keys[100] == keys[101] == synth_basket_key(1, 20)
    assert keys[102] == 900           # user 2 already has basket 900 at md 20: joins it
    assert keys[103] == 901
    assert keys[105] is None          # cannot get a basket
    rows = syn.rows(fallback_cdate=D(1970, 1, 1))
    assert [(r["userId"], r["multiDistribId"], r["num"]) for r in rows] == [(1, 20, 8), (4, 30, 1)]
    first = rows[0]
    assert first["id"] == synth_basket_key(1, 20)
    assert first["total"] == round(2 * 13.0 + 1 * 2.5 * 1.1, 2) == 28.75
    assert first["cdate"] == D(2022, 6, 1, 9)  # earliest order
    assert first["status"] == "CONFIRMED" and first["data"] == ""
    assert rows[1]["cdate"] == D(1970, 1, 1)
    # totals of real baskets, for 2021 baskets whose total is NULL
    assert syn.total(900) == round(10 * 1.05 + 3 * 1.1, 2)
    assert syn.total(901) == 5.0
    assert syn.total(synth_basket_key(1, 20)) == 28.75
    assert syn.total(12345) is None


def test_synthesizer_is_deterministic_whatever_the_input_order():
    expected = build(orders())[0].rows()
    for seed in range(5):
        shuffled = orders()
        random.Random(seed).shuffle(shuffled)
        assert build(shuffled)[0].rows() == expected


def test_synthesizer_numbering_by_first_order_id():
    syn = BasketSynthesizer(distribution_md={21: 20}.get)
    for oid, user in ((50, 9), (10, 8), (30, 7)):
        syn.add_order({"id": oid, "userId": user, "distributionId": 21, "basketId": None,
                       "quantity": 1, "productPrice": 1, "feesRate": 0, "date": None})
    assert [(r["userId"], r["num"]) for r in syn.rows()] == [(8, 1), (7, 2), (9, 3)]


def test_synthetic_basket_goes_through_transform_row():
    syn, _ = build(orders())
    row = syn.rows()[0]
    key = row["id"]
    ctx = TransformContext("2021", "head", {"Basket": {key: 700}, "MultiDistrib": {20: 520},
                                            "User": {1: 101}}, basket_total=syn.total)
    out = transform_row("Basket", row, ctx)
    assert out == {"id": 700, "cdate": D(2022, 6, 1, 9), "num": 8, "total": 28.75,
                   "status": "CONFIRMED", "data": "", "multiDistribId": 520, "userId": 101}
    assert ctx.counts == {}
    # no order date at all: the documented fallback, noted as a default, not as a zero date
    row = syn.rows()[1]
    ctx = TransformContext("2021", "head", {"Basket": {row["id"]: 701}, "MultiDistrib": {30: 530},
                                            "User": {4: 104}})
    out = transform_row("Basket", row, ctx)
    assert out["cdate"] == dt.datetime(1970, 1, 1)
    assert ctx.count(action="zero_date") == 0 and ctx.count("Basket", "defaulted", "cdate") == 1
