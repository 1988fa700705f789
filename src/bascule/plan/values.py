"""Values the target will refuse, found in the rows a unit is about to write.

Two kinds, each checked only where the target refuses it:

- ``nul``: the NUL character (U+0000) in text going into a PostgreSQL text column (PostgreSQL
  stores no NUL in text: "invalid byte sequence for encoding UTF8: 0x00"; MariaDB does);
- ``4byte``: a character beyond U+FFFF (4 bytes in UTF-8: an emoji such as U+1F955) going into a
  MariaDB/MySQL column of charset ``utf8mb3`` (a Camap made by bascule, ``--create-schema``, is
  ``utf8mb4`` and takes them).

``run.preflight.refused_value_checks`` says which columns to check (table → (column, kind));
``Planner.build`` calls ``find`` on the rows of each table it built (inserts and updates): plan
lists every value found (``RunReport.refused_values``); migrate fails the group that holds one
before it is written (DataRefused, named with the table, the source id and the column).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

NUL = "nul"
FOUR_BYTES = "4byte"

_ABOVE_BMP = re.compile("[\U00010000-\U0010FFFF]")

#: Values listed per run (the count is complete).
MAX_LISTED = 1000


def reason(kind: str, value: str) -> str:
    """Why the target refuses ``value`` (one line)."""
    if kind == NUL:
        return "a NUL character (\\x00), which a PostgreSQL text column refuses"
    m = _ABOVE_BMP.search(value)
    ch = f"{m.group()} (U+{ord(m.group()):04X})" if m else "a character beyond U+FFFF"
    return f"{ch}, a 4-byte UTF-8 character, which the target's utf8mb3 column refuses"


def _refused(kind: str, v: Any) -> bool:
    if v.__class__ is not str:
        return False
    if kind == NUL:
        return "\x00" in v
    return not v.isascii() and _ABOVE_BMP.search(v) is not None


def find(rows: Sequence[Sequence[Any]], checks: Sequence[tuple[int, str, str]]
         ) -> list[tuple[int, str, str, str]]:
    """The refused values of ``rows`` (tuples in the written columns' order): (row position,
    column, kind, reason). ``checks``: (position of the column, its name, kind). Each column
    is first looked at as one string (a C-speed test); rows are looked at one by one only when
    it holds a refused value."""
    out: list[tuple[int, str, str, str]] = []
    if not rows:
        return out
    for i, col, kind in checks:
        blob = "".join([v for v in [r[i] for r in rows] if v.__class__ is str])
        if kind == NUL:
            if "\x00" not in blob:
                continue
        elif blob.isascii() or _ABOVE_BMP.search(blob) is None:
            continue
        out += [(n, col, kind, reason(kind, r[i])) for n, r in enumerate(rows)
                if _refused(kind, r[i])]
    return out


def message(found: list[dict]) -> str:
    """The error of a group that holds refused values: the first, and how many more."""
    f = found[0]
    more = f" (and {len(found) - 1} more values the target refuses)" if len(found) > 1 else ""
    return (f"{f['table']} source id {f['source_id']}, column {f['column']}: {f['reason']}; "
            f"the group is not written{more}")
