"""Compact integer maps and sets for the shared rows of a parallel run.

A parallel run moves every user, vendor and file the selected groups reference first, then
hands each worker process the old → new ids of those rows. Kept as dicts and sets of Python
ints, that costs about 100 bytes per row in every process, and the memory of a run grows with
the number of users (97,000 at Cagette's scale). Here they are sorted arrays of 64-bit ints
(16 bytes per entry for a map, 8 for a set), searched by bisection, with a small dict (or set)
for the entries added since the last ``fold``.

Both behave, for the uses of the migration, like the dict and set they replace: ``get``, ``in``,
``[]``, ``len``; ``ids & s`` and ``ids - s`` for a set of ids ``ids``; ``|=``, ``-=`` and
``update`` on sets.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from typing import Any


def _merge(keys: array, values: array | None, new: dict[int, int]) -> tuple[array, array]:
    """``keys`` (sorted, with ``values`` beside them, or None for a set) with ``new`` merged
    in; a key of ``new`` already in ``keys`` takes its new value. O(len(keys)) copied in C,
    O(len(new)) steps in Python: no dict or list of every entry on the way."""
    out_k, out_v = array("q"), array("q")
    prev = 0
    for k in sorted(new):
        p = bisect_left(keys, k, prev)
        out_k.extend(keys[prev:p])
        out_k.append(k)
        if values is not None:
            out_v.extend(values[prev:p])
            out_v.append(new[k])
        prev = p + 1 if p < len(keys) and keys[p] == k else p
    out_k.extend(keys[prev:])
    if values is not None:
        out_v.extend(values[prev:])
    return out_k, out_v


class _SortedInts:
    """Sorted int64 ``keys`` plus ``recent`` (a dict or a set) of what was added since the
    last fold: what the map and the set have in common."""

    __slots__ = ("keys", "recent")
    keys: array
    recent: Any

    def _find(self, k: int) -> int:
        keys = self.keys
        i = bisect_left(keys, k)
        return i if i < len(keys) and keys[i] == k else -1

    def __contains__(self, k: object) -> bool:
        return k in self.recent or (type(k) is int and self._find(k) >= 0)

    def __len__(self) -> int:
        return len(self.keys) + sum(1 for k in self.recent if self._find(k) < 0)

    def __iter__(self) -> Iterator[int]:
        yield from (k for k in self.keys if k not in self.recent)
        yield from self.recent


class IntMap(_SortedInts):
    """int → int: sorted arrays plus the entries added since the last ``fold`` (whose values
    may be anything until folded)."""

    __slots__ = ("values",)

    def __init__(self, items: dict[int, Any] | None = None):
        self.keys, self.values = array("q"), array("q")
        self.recent: dict[int, Any] = dict(items or {})

    def get(self, k: int, default: Any = None) -> Any:
        v = self.recent.get(k)
        if v is not None:
            return v
        i = self._find(k)
        return self.values[i] if i >= 0 else default

    def __getitem__(self, k: int) -> Any:
        v = self.get(k)
        if v is None:
            raise KeyError(k)
        return v

    def __setitem__(self, k: int, v: Any) -> None:
        self.recent[k] = v

    def pop(self, k: int, default: Any = None) -> Any:
        """Only entries added since the last fold can be removed."""
        return self.recent.pop(k, default)

    def fold(self, value: Callable[[Any], int] = int, keys: Iterable[int] | None = None) -> None:
        """Move the recent entries (those of ``keys`` only, when given) into the arrays, their
        value reduced by ``value`` to one int (e.g. the new id of an id-map entry)."""
        if keys is None:
            moved, self.recent = self.recent, {}
        else:
            moved = {k: self.recent.pop(k) for k in keys if k in self.recent}
        if moved:
            self.keys, self.values = _merge(self.keys, self.values,
                                            {k: value(v) for k, v in moved.items()})

    def __getstate__(self) -> tuple:
        return self.keys, self.values, self.recent

    def __setstate__(self, st: tuple) -> None:
        self.keys, self.values, self.recent = st


class IntSet(_SortedInts):
    """A set of ints: a sorted array plus the ints added since the last ``fold``."""

    __slots__ = ()

    def __init__(self, items: Iterable[int] = ()):
        self.keys = array("q", sorted(set(items)))
        self.recent: set[int] = set()

    def __rand__(self, other: Iterable[int]) -> set[int]:  # ids & self
        return {k for k in other if k in self}

    def __rsub__(self, other: Iterable[int]) -> set[int]:  # ids - self
        return {k for k in other if k not in self}

    def update(self, ks: Iterable[int]) -> None:
        self.recent.update(ks)

    def __ior__(self, ks: Iterable[int]) -> "IntSet":
        self.recent.update(ks)
        return self

    def __isub__(self, ks: Iterable[int]) -> "IntSet":
        ks = set(ks)
        self.recent -= ks
        if any(self._find(k) >= 0 for k in ks):
            self.keys = array("q", [k for k in self.keys if k not in ks])
        return self

    def fold(self) -> None:
        """Move the recent ints into the sorted array."""
        if self.recent:
            self.keys, _ = _merge(self.keys, None, dict.fromkeys(self.recent, 0))
            self.recent = set()

    def __getstate__(self) -> tuple:
        return self.keys, self.recent

    def __setstate__(self, st: tuple) -> None:
        self.keys, self.recent = st
