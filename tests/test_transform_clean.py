"""Double-encoded UTF-8 detection/repair and zero dates."""

from __future__ import annotations

import datetime as dt

import pytest

from bascule.transform.clean import (
    as_datetime, detect_mojibake_columns, fix_date, is_invalid_date, looks_double_encoded,
    mojibake_stats, repair_text,
)

FRENCH = ["Crépy-en-Valois", "Légumes bio œufs", "Côte d'Or", "À la ferme", "Noël — “bio” 5 €",
          "Maïs, crème fraîche", "Ça va", "Œuvre"]


def double(s: str) -> str:
    """What a UTF-8 value stored in a latin1 column reads as through a utf8mb4 connection."""
    return s.encode("utf-8").decode("sloppy-windows-1252")


def test_double_helper_looks_like_mysql():
    assert double("Crépy-en-Valois") == "CrÃ©py-en-Valois"
    assert double("œufs") == "Å“ufs"


@pytest.mark.parametrize("text", FRENCH)
def test_repair_double_encoded(text):
    bad = double(text)
    assert bad != text
    assert looks_double_encoded(bad)
    assert repair_text(bad) == text


@pytest.mark.parametrize("text", FRENCH + ["plain ascii", "", "日本語", "Ã"])
def test_correct_text_not_damaged(text):
    assert not looks_double_encoded(text)
    assert repair_text(text) == text


def test_correct_latin1_value_not_damaged():
    # a value that is only latin1/cp1252 characters (each byte alone is invalid UTF-8)
    text = "Crème brûlée à l'été"
    assert text.encode("cp1252")  # representable in latin1
    assert not looks_double_encoded(text)
    assert repair_text(text) == text


def test_repair_twice_encoded_and_mixed():
    assert repair_text(double(double("Crépy"))) == "Crépy"
    mixed = "Crépy " + double("Légumes")
    assert looks_double_encoded(mixed)
    assert repair_text(mixed) == "Crépy Légumes"


def test_non_strings_passthrough():
    assert repair_text(None) is None
    assert not looks_double_encoded(b"\xc3\xa9")
    assert repair_text(12) == 12


def test_detect_mojibake_columns():
    samples = {
        ("Place", "city"): ["Paris", double("Crépy-en-Valois"), double("Côte d'Or"), None],
        ("Place", "name"): ["Salle", "Salle des fêtes", double("Légumes")],   # mixed: not flagged
        ("Group", "name"): ["AMAP", "Les Jardins"],                            # ASCII only
        ("Catalog", "name"): ["Légumes bio œufs", "Crépy"],                    # correct
        ("User", "city"): [double("Beauvais é")],
    }
    assert detect_mojibake_columns(samples) == {("Place", "city"), ("User", "city")}
    assert mojibake_stats(samples[("Place", "name")]) == (1, 1)
    assert mojibake_stats([]) == (0, 0)


@pytest.mark.parametrize("value,invalid", [
    ("0000-00-00", True), ("0000-00-00 00:00:00", True), ("2020-00-10", True),
    ("2020-05-00 10:00:00", True), ("garbage", True), ("2020-05-04 10:00:00", False),
    ("2020-05-04", False), (None, False), (dt.datetime(2020, 1, 1), False),
    (dt.date(2020, 1, 1), False),
])
def test_is_invalid_date(value, invalid):
    assert is_invalid_date(value) is invalid


def test_fix_date():
    default = dt.datetime(1970, 1, 1)
    d = dt.datetime(2021, 3, 4, 5, 6)
    assert fix_date(d) == (d, False)
    assert fix_date("0000-00-00 00:00:00") == (None, True)                       # nullable
    assert fix_date("0000-00-00 00:00:00", nullable=False, default=default) == (default, True)
    assert fix_date(None) == (None, False)                                        # a real NULL
    # a driver that returns None for zero dates, in a column NOT NULL in the source
    assert fix_date(None, nullable=False, default=default, source_not_null=True) == \
        (default, True)
    assert fix_date(None, nullable=True, source_not_null=True) == (None, True)
    assert fix_date("2021-03-04 05:06:00") == ("2021-03-04 05:06:00", False)


def test_as_datetime():
    assert as_datetime("2021-03-04 05:06:07") == dt.datetime(2021, 3, 4, 5, 6, 7)
    assert as_datetime(dt.date(2021, 3, 4)) == dt.datetime(2021, 3, 4)
    assert as_datetime("0000-00-00") is None and as_datetime(None) is None
    assert as_datetime(3) is None
