"""The shared-row pass of a parallel run: every user, vendor and file the selected groups
reference is moved first, by the parent, so that the workers never write a shared row.

The ids come from the server (``extract.closure.all_shared_refs``), then the rows are read,
built and written in chunks of ``batch_size`` rows, one transaction each (referencing tables
first: a vendor's chunk writes its logo's file too), the next chunk read while this one is built
and written. A chunk that fails is split until the rows that fail are alone; those are kept in
``RunState.failed`` and the groups that reference them fail with their error.

The id map and the handled rows are kept compact (``plan.compact``): after each chunk its rows'
entries are folded into sorted arrays, new id only, so that the memory of the pass does not
grow with the number of users.
"""

from __future__ import annotations

import logging
from array import array
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import Any

from bascule.errors import DataRefused
from bascule.extract.closure import UnitRead, all_shared_refs, empty_read, read_shared
from bascule.extract.source import GroupRef
from bascule.run.executor import UnitExecutor
from bascule.signals import pause

log = logging.getLogger(__name__)


def shared_chunks(tables: Sequence[str], ids: dict[str, Iterable[int]], size: int
                  ) -> Iterator[dict[str, set[int]]]:
    """The shared rows' ids, table after table in the order of ``ids``, cut into chunks of
    ``size`` rows whatever their tables: {table: ids} with every one of ``tables`` present."""
    chunk: dict[str, set[int]] = {t: set() for t in tables}
    n = 0
    for t, vs in ids.items():
        for i in vs:
            chunk[t].add(i)
            n += 1
            if n == size:
                yield chunk
                chunk, n = {t2: set() for t2 in tables}, 0
    if n:
        yield chunk


def shared_pass(ex: UnitExecutor, groups: Sequence[GroupRef],
                extra: dict[str, set[int]] | None = None, *,
                after_refs: Callable[[], None] | None = None) -> None:
    """Move every shared row these groups reference, and the ``extra`` ones (see the module
    docstring). ``after_refs``: called once they are found, before they are moved."""
    run = ex.run
    run.state.compact()
    with run.timings("shared_refs"), run.progress.phase("finding the users, vendors and "
                                                        "files the groups reference"):
        refs = all_shared_refs(run.reader, run.migration, groups)
    for t, v in (extra or {}).items():
        refs[t] |= v
    shared = run.migration.shared
    ids = {t: array("q", sorted(refs.pop(t))) for t in reversed(shared)}
    del refs
    log.info("shared rows referenced: %s", ", ".join(f"{len(ids[t])} {t}" for t in shared))
    if after_refs is not None:
        after_refs()
    pause("shared")
    move_shared(ex, ids, fold=True)


def move_shared(ex: UnitExecutor, ids: dict[str, Collection[int]], *, fold: bool) -> None:
    """Read, build and write these shared rows (table → ids, referencing tables first), in
    chunks of ``batch_size`` rows. ``fold``: keep only the new ids of the rows written (a
    parallel run's compact state). The next chunk is read in a helper thread while this one is
    built and written (``_read``)."""
    total = sum(len(v) for v in ids.values())
    with ex.run.progress.phase("moving the shared rows (users, vendors, files)", total) as step, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="bascule-read") as ahead:
        chunks = shared_chunks(ex.run.migration.shared, ids, max(1, ex.run.settings.batch_size))
        chunk = next(chunks, None)
        reading = ahead.submit(_read, ex, chunk) if chunk is not None else None
        while chunk is not None and reading is not None:
            nxt = next(chunks, None)
            read, reading = reading, (ahead.submit(_read, ex, nxt) if nxt is not None else None)
            _shared_chunk(ex, chunk, fold, read.result())
            step(sum(map(len, chunk.values())))
            chunk = nxt


def _read(ex: UnitExecutor, refs: dict[str, set[int]]) -> UnitRead:
    """The rows of a chunk not handled yet (in the helper thread, or in the main one)."""
    run = ex.run
    with run.timings("read"):
        return empty_read(run.migration, refs, read_shared(
            run.reader, run.migration, {t: set(v) for t, v in refs.items()},
            run.state.unhandled))


def _not_handled(ex: UnitExecutor, pre: UnitRead) -> UnitRead:
    """A chunk read ahead, without the rows that the chunk before it handled meanwhile (a
    vendor's logo that is also a file of this chunk): what reading it now would give."""
    state = ex.run.state
    for t, rows in pre.shared.items():
        if rows:
            left = state.unhandled(t, {r["id"] for r in rows})
            if len(left) < len(rows):
                pre.shared[t] = [r for r in rows if r["id"] in left]
    return pre


def _shared_chunk(ex: UnitExecutor, refs: dict[str, set[int]], fold: bool,
                  pre: UnitRead | None = None) -> None:
    run = ex.run
    pre = _read(ex, refs) if pre is None else _not_handled(ex, pre)
    run.rows_read += sum(map(len, pre.shared.values()))
    job, e = _build_and_write(ex, pre)
    if e is not None:  # rolled back; split to find the rows at fault
        total = sum(len(v) for v in refs.values())
        if total <= 1:
            for t, v in refs.items():
                for i in v:
                    run.state.failed[t][i] = str(e)
                    log.error("%s %s could not be written (the groups that reference it "
                              "will fail): %s", t, i, e)
            return
        # halves of the chunk's rows, whatever their tables (a chunk of one vendor and one
        # user splits too)
        for half in shared_chunks(run.migration.shared, {t: sorted(v) for t, v in refs.items()},
                                  (total + 1) // 2):
            _shared_chunk(ex, half, fold)
        return
    ex.finish(job)
    if fold:
        for t in run.migration.shared:  # written: keep the new ids alone, compact
            run.state.fold(t, keys=job.undo.shared.get(t, ()))


def _build_and_write(ex: UnitExecutor, pre) -> tuple[Any, Exception | None]:
    """(the chunk's job, None) once written; (None, why) when the data refuses a row (two
    users of one e-mail, ``plan.build``) or the write failed (rolled back, state undone)."""
    try:
        job = ex.build(0, [], pre)
    except DataRefused as e:
        return None, e
    try:
        ex.write(job.cs, 0)
    except Exception as e:  # noqa: BLE001 - the caller splits the chunk
        ex.run.state.undo(job.undo)
        return None, e
    return job, None
