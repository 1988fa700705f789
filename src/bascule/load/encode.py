"""Value encoders for the bulk paths: PostgreSQL COPY text, MySQL SQL literals, LOAD DATA fields.

Supported Python values: None, bool, int, float, Decimal, str, bytes/bytearray/memoryview,
datetime.datetime / date / time (naive), uuid.UUID. Anything else goes through ``str()``.
Floats are written with ``repr`` (the shortest text that reads back as the same double), so
DOUBLE / float8 values round-trip exactly.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Final

#: the date types, read by the row loops as constants (``_dt.datetime`` is an attribute lookup)
_DATETIME: Final = _dt.datetime
_DATE: Final = _dt.date

# --------------------------------------------------------------------------- dates

#: "00" … "99": the two-digit pieces of a date's text
_D2: Final[list[str]] = [f"{i:02d}" for i in range(100)]


def iso_datetime(d: _dt.datetime, sep: str = " ") -> str:
    """``d.isoformat(sep)``, the same text in about half the instructions for the common case
    (naive, no microseconds: what a MySQL DATETIME column gives): ``isoformat`` formats through
    ``printf``, which costs more than all the other values of a row together."""
    if d.microsecond or d.tzinfo is not None:
        return d.isoformat(sep)
    y = d.year
    d2 = _D2
    return (f"{d2[y // 100]}{d2[y % 100]}-{d2[d.month]}-{d2[d.day]}{sep}"
            f"{d2[d.hour]}:{d2[d.minute]}:{d2[d.second]}")


def iso_date(d: _dt.date) -> str:
    """``d.isoformat()`` of a date, as ``iso_datetime``."""
    y = d.year
    d2 = _D2
    return f"{d2[y // 100]}{d2[y % 100]}-{d2[d.month]}-{d2[d.day]}"


# --------------------------------------------------------------------------- the row loops' values

#: how many texts each cache below keeps before it starts again (about 5 MB at most).
#: ``Final``, as the module-level values below: the compiled build reads them as constants,
#: not by a lookup in the module's dict on every value
CACHED: Final = 32768
#: the text of the naive datetimes and of the non-zero floats written lately: the rows of a
#: group repeat them (the dates of its distributions, its prices and quantities), and a dict
#: lookup costs a tenth of formatting them again
_DATETIMES: Final[dict[Any, str]] = {}
_FLOATS: Final[dict[float, str]] = {}
_MYSQL_FLOATS: Final[dict[float, str]] = {}
#: "0" … "1023": flags, quantities, small ids
_SMALL_INTS: Final[list[str]] = [str(i) for i in range(1024)]


def _int_text(v: Any) -> str:
    i: int = v
    if 0 <= i < 1024:
        return _SMALL_INTS[i]
    return str(i)


def _datetime_text(d: Any) -> str:
    """``iso_datetime(d)`` of an exact ``datetime``, remembered for a naive one (two naive
    datetimes that are equal have the same text; an aware one never equals a naive one)."""
    s = _DATETIMES.get(d)
    if s is None:
        s = iso_datetime(d)
        if d.tzinfo is None:
            if len(_DATETIMES) >= CACHED:
                _DATETIMES.clear()
            _DATETIMES[d] = s
    return s


def _float_text(v: Any, cache: dict[float, str], fmt: Callable[[float], str]) -> str:
    """``fmt(v)``, remembered in ``cache`` unless ``v`` is zero (0.0 equals -0.0, whose text
    differs); ``fmt`` may raise."""
    s = cache.get(v)
    if s is None:
        s = fmt(v)
        if v != 0.0:
            if len(cache) >= CACHED:
                cache.clear()
            cache[v] = s
    return s


# --------------------------------------------------------------------------- PostgreSQL COPY text

_PG_NULL: Final = "\\N"


def _pg_special(s: str) -> bool:
    """Whether ``s`` holds a character that COPY text escapes (four ``in`` tests: about 450
    instructions a value, a third of a regular expression's search)."""
    return "\\" in s or "\t" in s or "\n" in s or "\r" in s


def _pg_str(s: str) -> str:
    if _pg_special(s):
        s = s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return s


def _pg_bytes(b) -> str:
    # bytea hex input format; the backslash itself is escaped for COPY text
    return "\\\\x" + bytes(b).hex()


def _pg_float(f: float) -> str:
    return repr(f)  # 'inf', '-inf', 'nan' are accepted by float8in


def _pg_bool(b: bool) -> str:
    return "t" if b else "f"


def _pg_datetime(d) -> str:
    return iso_datetime(d)


def _pg_iso(d) -> str:
    return d.isoformat()


_PG_ENC: dict[type, Callable[[Any], str]] = {
    str: _pg_str,
    int: str,
    float: _pg_float,
    bool: _pg_bool,
    bytes: _pg_bytes,
    bytearray: _pg_bytes,
    memoryview: _pg_bytes,
    _dt.datetime: _pg_datetime,
    _dt.date: _pg_iso,
    _dt.time: _pg_iso,
    Decimal: str,
    uuid.UUID: str,
    type(None): lambda _v: _PG_NULL,
}


def pg_value(v) -> str:
    enc = _PG_ENC.get(type(v))
    if enc is not None:
        return enc(v)
    if isinstance(v, str):
        return _pg_str(str(v))
    if isinstance(v, _dt.datetime):
        return _pg_datetime(v)
    if isinstance(v, _dt.date):
        return _pg_iso(v)
    if isinstance(v, int):
        return str(int(v))
    if isinstance(v, float):
        return _pg_float(float(v))
    return _pg_str(str(v))


#: the float formatters the row loops pass on (constants, as ``_DATETIME``)
_PG_FLOAT: Final = _pg_float


def pg_copy_line(row: Sequence[Any]) -> str:
    """One COPY ... FROM STDIN (text format) line, newline included: ``pg_value`` of each value,
    the common types (None, int, str without a character to escape, float, datetime, date)
    written out here (a compiled loop: no call per value)."""
    parts: list[str] = []
    for v in row:
        if v is None:
            parts.append(_PG_NULL)
            continue
        t = type(v)
        if t is int:
            parts.append(_int_text(v))
        elif t is str:
            parts.append(_pg_str(v) if _pg_special(v) else v)
        elif t is float:
            parts.append(_float_text(v, _FLOATS, _PG_FLOAT))
        elif t is _DATETIME:
            parts.append(_datetime_text(v))
        elif t is _DATE:
            parts.append(iso_date(v))
        else:
            parts.append(pg_value(v))
    return "\t".join(parts) + "\n"


# --------------------------------------------------------------------------- MySQL SQL literals


def _my_special(s: str) -> bool:
    """Whether ``s`` holds a character that a MySQL string literal escapes (as ``_pg_special``:
    ``in`` tests, cheaper than a regular expression's search)."""
    return ("'" in s or "\\" in s or '"' in s or "\n" in s or "\r" in s or "\x00" in s
            or "\x1a" in s)


def _lit_float(f: float) -> str:
    if not math.isfinite(f):
        raise ValueError(f"MySQL cannot store the non-finite float {f!r}")
    r = repr(f)
    # force an approximate-value (double) literal: '0.1' alone would be read as DECIMAL
    return r if "e" in r else r + "e0"


def _lit_bytes(b) -> str:
    return "X'" + bytes(b).hex() + "'"


def _lit_dt(d) -> str:
    return "'" + iso_datetime(d) + "'"


def _lit_iso(d) -> str:
    return "'" + d.isoformat() + "'"


def _lit_decimal(d: Decimal) -> str:
    return "'" + str(d) + "'" if not d.is_finite() else str(d)


def _mysql_literals(lit_str: Callable[[str], str]) -> dict[type, Callable[[Any], str]]:
    """The SQL literal function of each Python type (``lit_str`` for text)."""
    return {
        str: lit_str, int: str, float: _lit_float, bool: lambda b: "1" if b else "0",
        bytes: _lit_bytes, bytearray: _lit_bytes, memoryview: _lit_bytes,
        _dt.datetime: _lit_dt, _dt.date: _lit_iso, _dt.time: _lit_iso, Decimal: _lit_decimal,
        uuid.UUID: lambda u: "'" + str(u) + "'", type(None): lambda _v: "NULL",
    }


_LIT_FLOAT: Final = _lit_float


class MysqlRowLiteral:
    """Row -> ``(v1,v2,...)``: ``literal`` of each value, the common types (None, int, str
    without a character to escape, float, datetime, date) written out here."""

    def __init__(self, literal: Callable[[Any], str]) -> None:
        self.literal = literal

    def __call__(self, row: Sequence[Any]) -> str:
        parts: list[str] = []
        for v in row:
            if v is None:
                parts.append("NULL")
                continue
            t = type(v)
            if t is int:
                parts.append(_int_text(v))
            elif t is str:
                parts.append(self.literal(v) if _my_special(v) else "'" + v + "'")
            elif t is float:
                parts.append(_float_text(v, _MYSQL_FLOATS, _LIT_FLOAT))
            elif t is _DATETIME:
                parts.append("'" + _datetime_text(v) + "'")
            elif t is _DATE:
                parts.append("'" + iso_date(v) + "'")
            else:
                parts.append(self.literal(v))
        return "(" + ",".join(parts) + ")"


def make_mysql_literal(escape_str: Callable[[str], str]
                       ) -> tuple[Callable[[Any], str], MysqlRowLiteral]:
    """Functions value -> SQL literal text and row -> ``(v1,v2,...)`` for MySQL/MariaDB.

    ``escape_str(s)`` must return the quoted literal of a str as the connection wants it
    (pymysql's ``Connection.escape`` honours NO_BACKSLASH_ESCAPES).
    """

    def lit_str(s: str) -> str:
        if not _my_special(s):
            return "'" + s + "'"
        return escape_str(s)

    table = _mysql_literals(lit_str)
    get = table.get

    def literal(v: Any) -> str:
        enc = get(type(v))
        if enc is not None:
            return enc(v)
        # a subclass: as its base type
        if isinstance(v, str):
            return lit_str(str(v))
        if isinstance(v, _dt.datetime):
            return _lit_dt(v)
        if isinstance(v, _dt.date):
            return _lit_iso(v)
        if isinstance(v, int):
            return str(int(v))
        if isinstance(v, float):
            return _lit_float(float(v))
        return lit_str(str(v))

    return literal, MysqlRowLiteral(literal)


# --------------------------------------------------------------------------- MySQL LOAD DATA fields

_LD_ESC = {
    ord("\\"): "\\\\",
    ord("\t"): "\\t",
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    0: "\\0",
}
_LD_SPECIAL = re.compile(r"[\\\t\n\r\x00]").search
_LD_BYTES_SPECIAL = re.compile(rb"[\\\t\n\r\x00]")


def _ld_bytes_sub(m: "re.Match[bytes]") -> bytes:
    c = m.group(0)
    return {b"\\": b"\\\\", b"\t": b"\\t", b"\n": b"\\n", b"\r": b"\\r", b"\x00": b"\\0"}[c]


def load_data_line(row) -> bytes:
    """One line for ``LOAD DATA ... CHARACTER SET binary`` with the default field/line syntax."""
    out = []
    for v in row:
        if v is None:
            out.append(b"\\N")
        elif isinstance(v, str):
            if _LD_SPECIAL(v) is not None:
                v = v.translate(_LD_ESC)
            out.append(v.encode("utf-8"))
        elif isinstance(v, bool):
            out.append(b"1" if v else b"0")
        elif isinstance(v, int):
            out.append(str(v).encode())
        elif isinstance(v, float):
            if not math.isfinite(v):
                raise ValueError(f"MySQL cannot store the non-finite float {v!r}")
            out.append(repr(v).encode())
        elif isinstance(v, (bytes, bytearray, memoryview)):
            out.append(_LD_BYTES_SPECIAL.sub(_ld_bytes_sub, bytes(v)))
        elif isinstance(v, _dt.datetime):
            out.append(v.isoformat(" ").encode())
        elif isinstance(v, (_dt.date, _dt.time)):
            out.append(v.isoformat().encode())
        else:
            s = str(v)
            if _LD_SPECIAL(s) is not None:
                s = s.translate(_LD_ESC)
            out.append(s.encode("utf-8"))
    return b"\t".join(out) + b"\n"
