"""Text and date cleaning: double-encoded UTF-8 ("mojibake") and zero dates.

Double encoding. Cagette wrote UTF-8 bytes into latin1 columns without ``SET NAMES``. Read through
a utf8mb4 connection, MySQL converts each byte from latin1 (= Windows-1252, with the five bytes
cp1252 leaves undefined mapped to C1 controls) into a character: "Crépy" comes back "CrÃ©py".
The repair is the inverse: encode with ftfy's ``sloppy-windows-1252`` codec (that exact mapping)
and decode as UTF-8. A value is only touched when that round trip succeeds strictly and changes
it, or, for values mixing correct and broken parts, when ftfy says it is mojibake and fixes it.
Correct text never round-trips (a correct "é" becomes the lone byte 0xE9, invalid UTF-8), so it is
left alone.

Per-column rule (``detect_mojibake_columns``): a column is flagged double-encoded when at least
one sampled non-ASCII value looks double-encoded AND no sampled non-ASCII value looks correct
(i.e. non-ASCII and not double-encoded). A column holding both kinds is not flagged: repairing it
would risk correct values, and its broken values stay to be looked at (the plan shows the counts,
``mojibake_stats``). ASCII-only values say nothing and are ignored.

Zero dates. MySQL stores ``0000-00-00`` / ``0000-00-00 00:00:00`` (and dates with a zero month or
day). PyMySQL returns such a value as the *string*; other drivers return None. ``fix_date``
handles both: a string with a zero part is invalid; None in a column that is NOT NULL in the
source can only come from such a value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import ftfy
import ftfy.bad_codecs  # noqa: F401  (registers the "sloppy-windows-1252" codec)
from ftfy.badness import is_bad as _ftfy_is_bad

_SLOPPY = "sloppy-windows-1252"
_MAX_LAYERS = 3  # text encoded twice over (ÃƒÂ©) is repaired layer by layer, at most this deep


def _roundtrip(value: str) -> str | None:
    """One layer of repair, strict: None when ``value`` is not (wholly) double-encoded."""
    try:
        fixed = value.encode(_SLOPPY).decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None
    return fixed if fixed != value else None


def looks_double_encoded(value: str) -> bool:
    """True when ``value`` is UTF-8 text that was decoded as latin1/cp1252 (at least in part)."""
    if not isinstance(value, str) or value.isascii():
        return False
    if _roundtrip(value) is not None:
        return True
    return _ftfy_is_bad(value) and ftfy.fix_encoding(value) != value


def repair_text(value: str) -> str:
    """The correct text of a double-encoded value; any other value is returned unchanged."""
    if not isinstance(value, str) or value.isascii():
        return value
    fixed = _roundtrip(value)
    if fixed is None:
        if _ftfy_is_bad(value):
            return ftfy.fix_encoding(value)
        return value
    for _ in range(_MAX_LAYERS - 1):
        if fixed.isascii():
            break
        again = _roundtrip(fixed)
        if again is None:
            break
        fixed = again
    return fixed


def display_text(value: Any) -> str:
    """The text a person reads for a value read from a database: double-encoded UTF-8 repaired
    as the data written to the target is (``repair_text``), None as ''. Every name bascule shows
    (terminal, reports, the producer notice and its CSV, log lines) goes through it; correct text
    comes back unchanged."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return str(value)
    return repair_text(value)


def mojibake_stats(values: Iterable[Any]) -> tuple[int, int]:
    """(double-encoded, correct non-ASCII) counts among ``values`` (non-strings ignored)."""
    bad = good = 0
    for v in values:
        if isinstance(v, str) and not v.isascii():
            if looks_double_encoded(v):
                bad += 1
            else:
                good += 1
    return bad, good


def detect_mojibake_columns(
    samples: Mapping[tuple[str, str], Iterable[Any]],
) -> set[tuple[str, str]]:
    """Columns to repair: some double-encoded sample and no correct non-ASCII sample."""
    flagged = set()
    for key, values in samples.items():
        bad, good = mojibake_stats(values)
        if bad and not good:
            flagged.add(key)
    return flagged


# ---- dates ---------------------------------------------------------------------------------

def is_invalid_date(value: Any) -> bool:
    """True for a zero/invalid date string ('0000-00-00', '2020-00-10 …'); False otherwise
    (datetime/date objects, None, valid strings)."""
    if type(value) is not str:
        return False
    s = value.strip()
    if len(s) < 10:
        return True
    y, m, d = s[0:4], s[5:7], s[8:10]
    if not (y.isdigit() and m.isdigit() and d.isdigit()):
        return True
    return y == "0000" or m == "00" or d == "00"


def fix_date(value: Any, nullable: bool = True, default: Any = None,
             source_not_null: bool = False) -> tuple[Any, bool]:
    """Clean one date value. Returns ``(value, changed)``.

    A zero/invalid date string — or None when the source column is NOT NULL
    (``source_not_null``: the driver turned a zero date into None) — becomes None when the
    target column is ``nullable``, else ``default``. Valid values are returned unchanged.
    """
    if value is None:
        if source_not_null:
            return (None if nullable else default), True
        return None, False
    if is_invalid_date(value):
        return (None if nullable else default), True
    return value, False


def as_datetime(value: Any) -> dt.datetime | None:
    """A datetime for date arithmetic (backfills), or None for None/invalid values."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        if is_invalid_date(value):
            return None
        try:
            return dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    return None
