"""The date converter bascule gives mysqlclient (``extract.drivers``): a module of its own so that
the compiled build (``bascule._build``) can compile it. mysqlclient calls it for every date it
reads, about a third of a unit's values: as compiled code, without a Python frame per value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class KeepZero:
    """A mysqlclient converter that gives a zero or invalid date back as its text (as PyMySQL
    does) instead of None, trying the C parser ``fast`` first (None: none)."""

    def __init__(self, parse: Callable[[Any], Any], fast: Callable[[Any], Any] | None = None
                 ) -> None:
        self.parse = parse
        self.fast = fast

    def __call__(self, raw: Any) -> Any:
        fast = self.fast
        if fast is not None:  # the usual 'YYYY-MM-DD hh:mm:ss[.ffffff]'
            try:
                return fast(raw)
            except (TypeError, ValueError):
                pass
        v = self.parse(raw)
        if v is None and raw is not None:
            return raw.decode("ascii", "replace") if isinstance(raw, bytes) else raw
        return v
