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
from typing import Any

# --------------------------------------------------------------------------- PostgreSQL COPY text

_PG_NULL = "\\N"


def _pg_str(s: str) -> str:
    if "\\" in s or "\t" in s or "\n" in s or "\r" in s:
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
    return d.isoformat(" ")


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


def pg_copy_line(row) -> str:
    """One COPY ... FROM STDIN (text format) line, newline included."""
    get = _PG_ENC.get
    out: list[str] = []
    append = out.append
    for v in row:
        enc = get(type(v))
        append(enc(v) if enc is not None else pg_value(v))
    return "\t".join(out) + "\n"


# --------------------------------------------------------------------------- MySQL SQL literals

_MY_SPECIAL = re.compile(r"[\x00\n\r\x1a'\"\\]").search


def _lit_float(f: float) -> str:
    if not math.isfinite(f):
        raise ValueError(f"MySQL cannot store the non-finite float {f!r}")
    r = repr(f)
    # force an approximate-value (double) literal: '0.1' alone would be read as DECIMAL
    return r if "e" in r else r + "e0"


def _lit_bytes(b) -> str:
    return "X'" + bytes(b).hex() + "'"


def _lit_dt(d) -> str:
    return "'" + d.isoformat(" ") + "'"


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


def make_mysql_literal(escape_str):
    """Functions value -> SQL literal text and row -> ``(v1,v2,...)`` for MySQL/MariaDB.

    ``escape_str(s)`` must return the quoted literal of a str as the connection wants it
    (pymysql's ``Connection.escape`` honours NO_BACKSLASH_ESCAPES).
    """

    def lit_str(s: str) -> str:
        if _MY_SPECIAL(s) is None:
            return "'" + s + "'"
        return escape_str(s)

    table = _mysql_literals(lit_str)
    get = table.get

    def literal(v) -> str:
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

    def row_literal(row) -> str:
        out: list[str] = []
        append = out.append
        for v in row:
            enc = get(type(v))
            append(enc(v) if enc is not None else literal(v))
        return "(" + ",".join(out) + ")"

    return literal, row_literal


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


# --------------------------------------------------------------------------- compiled row encoders

_PG_SPECIAL = re.compile(r"[\\\t\n\r]").search


def column_kind(col) -> str:
    """int / str / float / datetime / date / other: the Python type a column's values have."""
    try:
        t = col.type.python_type
    except (NotImplementedError, AttributeError):
        return "other"
    if t is bool:
        return "other"
    for kind, typ in (("int", int), ("str", str), ("float", float), ("datetime", _dt.datetime),
                      ("date", _dt.date)):
        if t is typ:
            return kind
    return "other"


def _compile(kinds: Sequence[str], exprs: dict[str, str], head: str, sep: str, tail: str,
             env: dict) -> Callable[[Sequence], str]:
    """A function row -> text: each value formatted inline by the expression of its column's
    kind when the value has that type, by ``F`` otherwise (None and odd types included)."""
    parts = []
    for i, k in enumerate(kinds):
        e = exprs.get(k)
        e = "F(@)" if e is None else e
        parts.append("{NULL if @ is None else %s}".replace("@", "v%d" % i)
                     % e.replace("@", "v%d" % i))
    names = ", ".join(f"v{i}" for i in range(len(kinds)))
    body = (head + sep.join(parts) + tail).replace("\n", "\\n").replace("\t", "\\t")
    q3 = '"' * 3
    args = ", ".join(f"{k}={k}" for k in ["type", *env])  # locals: faster than globals
    src = (f"def encode(row, {args}):\n    {names}, = row\n"
           f"    return f{q3}{body}{q3}\n")
    ns = dict(env)
    exec(compile(src, "<bascule row encoder>", "exec"), ns)  # noqa: S102 - generated above
    return ns["encode"]


def pg_row_encoder(kinds: Sequence[str]) -> Callable[[Sequence], str]:
    """``pg_copy_line`` for rows whose columns have these kinds: the same text, about twice as
    fast (one f-string, no call per value of the expected type)."""
    exprs = {
        "int": "@ if type(@) is int else F(@)",
        "str": "@ if type(@) is str and SP(@) is None else F(@)",
        "float": "@ if type(@) is float else F(@)",
        "datetime": "@.isoformat(' ') if type(@) is DT else F(@)",
        "date": "@.isoformat() if type(@) is D else F(@)",
    }
    return _compile(kinds, exprs, "", "\t", "\n",
                    {"F": pg_value, "SP": _PG_SPECIAL, "DT": _dt.datetime, "D": _dt.date,
                     "NULL": _PG_NULL})


def mysql_row_encoder(kinds: Sequence[str], literal: Callable[[Any], str]
                      ) -> Callable[[Sequence], str]:
    """``row_literal`` (of ``make_mysql_literal``) for rows whose columns have these kinds."""
    exprs = {
        "int": "@ if type(@) is int else F(@)",
        "str": "Q + @ + Q if type(@) is str and SP(@) is None else F(@)",
        "datetime": "Q + @.isoformat(' ') + Q if type(@) is DT else F(@)",
        "date": "Q + @.isoformat() + Q if type(@) is D else F(@)",
    }
    return _compile(kinds, exprs, "(", ",", ")",
                    {"F": literal, "SP": _MY_SPECIAL, "DT": _dt.datetime, "D": _dt.date,
                     "Q": "'", "NULL": "NULL"})
