"""Ids: the run's state that outlives a unit (next ids, the shared rows' id map, the shared rows
already handled, the e-mails of the target's users and which source user holds each target user),
what a unit changes in it, and the ways new ids are allocated.

``RunState`` is the only mutable state of a run. ``plan.build`` reads it and returns a
``StateDelta``; the run applies that delta (``RunState.apply``) as soon as the unit is built, so
that the next unit can be built while this one is written, and takes it back
(``RunState.undo``) if the write fails.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bascule.plan.changeset import Entry
from bascule.plan.compact import IntMap, IntSet


def email_key(value: Any) -> str | None:
    """An e-mail as users are matched by it: stripped, case folded (None when empty)."""
    if not isinstance(value, str):
        return None
    return value.strip().casefold() or None


def new_id(entry: Any) -> int:
    """The new id of a shared row's id-map entry: (new id, hash, key), or the new id alone
    (the compact map of a parallel run keeps only that)."""
    return entry if type(entry) is int else entry[0]


@dataclass
class StateDelta:
    """What one built unit adds to the run's state."""

    shared: dict[str, dict[int, Entry]] = field(default_factory=dict)  # new shared entries
    handled: dict[str, set[int]] = field(default_factory=dict)  # shared rows this unit handled
    emails: dict[str, int] = field(default_factory=dict)  # e-mails of the users it moved
    emails2: dict[str, int] = field(default_factory=dict)  # their second e-mails
    holders: dict[int, int] = field(default_factory=dict)  # target user → source user
    next_id: dict[str, int] = field(default_factory=dict)  # the unit's next ids

    def entries(self, table: str) -> dict[int, Entry]:
        return self.shared.setdefault(table, {})


@dataclass
class Undo:
    """What applying a delta changed, to take it back."""

    next_id: dict[str, int]
    shared: dict[str, dict[int, Any]] = field(default_factory=dict)  # previous entry or None
    handled: dict[str, set[int]] = field(default_factory=dict)
    emails: list[str] = field(default_factory=list)
    emails2: list[str] = field(default_factory=list)
    holders: list[int] = field(default_factory=list)


class RunState:
    """The run's state across units (see the module docstring). ``handled`` is read by the
    read-ahead thread (``unhandled``) while the main thread applies deltas: a lock guards it."""

    def __init__(self, shared: dict[str, dict[int, Entry]], next_id: dict[str, int],
                 emails: dict[str, int], emails2: dict[str, int] | None = None,
                 holders: dict[int, int] | None = None):
        self.shared: dict[str, Any] = shared  # table → old id → entry (or new id, compact)
        self.handled: dict[str, Any] = {t: set() for t in shared}
        self.failed: dict[str, dict[int, str]] = {t: {} for t in shared}  # rows not written
        self.next_id = next_id
        #: e-mail (``email_key``) → the target user whose ``email`` it is (the lowest id when
        #: several are), and the users this run moved
        self.emails = emails
        #: the same of ``email2`` (never matched: a conflict to list)
        self.emails2: dict[str, int] = emails2 or {}
        #: target user id → the source user of this source that is it (matched or moved):
        #: no other source user may become it
        self.holders: dict[int, int] = holders or {}
        self._lock = threading.Lock()

    def forget_users(self) -> None:
        """Drop what only the moving of users needs (a parallel run's workers move none)."""
        self.emails, self.emails2, self.holders = {}, {}, {}

    def unhandled(self, table: str, ids: set[int]) -> set[int]:
        """Those ids whose shared rows no unit of the run handled yet."""
        with self._lock:
            return ids - self.handled[table]

    def shared_id(self, table: str, old: Any) -> int | None:
        e = self.shared[table].get(old)
        return None if e is None else new_id(e)

    def apply(self, delta: StateDelta) -> Undo:
        undo = Undo(next_id=dict(self.next_id))
        for t, entries in delta.shared.items():
            cur = self.shared[t]
            prev = undo.shared.setdefault(t, {})
            for k, v in entries.items():
                if k not in prev:
                    prev[k] = cur.get(k)
                cur[k] = v
        with self._lock:
            for t, ids in delta.handled.items():
                h = self.handled[t]
                added = ids - h
                h |= added
                undo.handled[t] = added
        for e, uid in delta.emails.items():
            if e not in self.emails:
                self.emails[e] = uid
                undo.emails.append(e)
        for e, uid in delta.emails2.items():
            if e not in self.emails2:
                self.emails2[e] = uid
                undo.emails2.append(e)
        for tid, sid in delta.holders.items():
            if tid not in self.holders:
                self.holders[tid] = sid
                undo.holders.append(tid)
        for t, nxt in delta.next_id.items():
            self.next_id[t] = max(self.next_id.get(t, 1), nxt)
        return undo

    def undo(self, undo: Undo) -> None:
        for t, prev in undo.shared.items():
            cur = self.shared[t]
            for k, v in prev.items():
                if v is None:
                    cur.pop(k, None)
                else:
                    cur[k] = v
        with self._lock:
            for t, added in undo.handled.items():
                self.handled[t] -= added
        for e in undo.emails:
            self.emails.pop(e, None)
        for e in undo.emails2:
            self.emails2.pop(e, None)
        for tid in undo.holders:
            self.holders.pop(tid, None)
        self.next_id.clear()
        self.next_id.update(undo.next_id)

    def compact(self) -> None:
        """Keep the shared id map and the handled ids as sorted arrays (``load.compact``), for
        a parallel run whose shared-row pass moves every user at once."""
        for t in self.shared:
            if not isinstance(self.shared[t], IntMap):
                self.shared[t] = IntMap(self.shared[t])
            if not isinstance(self.handled[t], IntSet):
                self.handled[t] = IntSet(self.handled[t])

    def fold(self, table: str, keys: Iterable[int] | None = None) -> None:
        """Fold the recent entries (of ``keys``) of a compact state into its arrays, new id
        only."""
        self.shared[table].fold(new_id, keys=keys)
        self.handled[table].fold()


# -- allocation ---------------------------------------------------------------------------------


class Allocator(Protocol):
    """How new ids are chosen. ``unit_next`` holds the unit's next id per table (it becomes
    the delta's ``next_id``)."""

    def block(self, table: str, olds: Sequence[Any], unit_next: dict[str, int]
              ) -> Sequence[int]: ...

    def one(self, table: str, old: Any, unit_next: dict[str, int]) -> int: ...


class Sequential:
    """Consecutive ids above what the target holds (``id_strategy = "remap"``), in one process."""

    def __init__(self, state: RunState):
        self.state = state

    def one(self, table: str, old: Any, unit_next: dict[str, int]) -> int:
        nxt = unit_next.get(table) or self.state.next_id[table]
        unit_next[table] = nxt + 1
        return nxt

    def block(self, table: str, olds: Sequence[Any], unit_next: dict[str, int]
              ) -> Sequence[int]:
        first = self._first(table, len(olds), unit_next)
        unit_next[table] = first + len(olds)
        return range(first, first + len(olds))

    def _first(self, table: str, n: int, unit_next: dict[str, int]) -> int:
        return unit_next.get(table) or self.state.next_id[table]


class SharedCounters(Sequential):
    """Ids reserved from counters the processes of a parallel run share: blocks of
    consecutive ids for a unit's rows, one at a time for the shared rows (which the parent
    and the workers move side by side)."""

    def __init__(self, state: RunState, counters: Any):
        super().__init__(state)
        self.counters = counters

    def one(self, table: str, old: Any, unit_next: dict[str, int]) -> int:
        return int(self.counters.take(table, 1))

    def _first(self, table: str, n: int, unit_next: dict[str, int]) -> int:
        return self.counters.take(table, n)


class Preserve:
    """The source ids themselves (``id_strategy = "preserve"``; the preflight checked that none
    is taken)."""

    def one(self, table: str, old: Any, unit_next: dict[str, int]) -> int:
        return int(old)

    def block(self, table: str, olds: Sequence[Any], unit_next: dict[str, int]
              ) -> Sequence[int]:
        return [int(o) for o in olds]


class ReadOnly:
    """verify: the id map is read only; a row without an entry gets -1 (it is "missing")."""

    def one(self, table: str, old: Any, unit_next: dict[str, int]) -> int:
        return -1

    def block(self, table: str, olds: Sequence[Any], unit_next: dict[str, int]
              ) -> Sequence[int]:
        return [-1] * len(olds)
