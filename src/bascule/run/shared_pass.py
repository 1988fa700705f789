"""The shared-row pass of a parallel run: every user, vendor and file the selected groups
reference is moved first, by the parent and the workers side by side, so that no unit writes a
shared row.

The ids come from the server (``extract.closure.all_shared_refs``). The users are then shared
out among the processes (``share_users``): two users that share an e-mail (``email`` or
``email2``) go to the same process, which decides them in id order, as one process would (who
is matched, who is a conflict, who is refused); the parent takes the vendors and files too. The
rows are read, built and written in chunks of ``batch_size`` rows, one transaction each
(referencing tables first: a vendor's chunk writes its logo's file too), the next chunk read
while this one is built and written; new ids come from the counters the processes share. A
chunk that fails is split until the rows that fail are alone; those are kept in
``RunState.failed`` and the groups that reference them fail with their error. The workers send
back the id map of their users (``share_result``), which the parent folds into its own
(``take_share``) before handing the whole map to every worker.

The id map and the handled rows are kept compact (``plan.compact``): after each chunk its rows'
entries are folded into sorted arrays, new id only, so that the memory of the pass does not
grow with the number of users.
"""

from __future__ import annotations

import logging
from array import array
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bascule.errors import DataRefused
from bascule.extract.closure import (
    UnitRead,
    all_shared_refs,
    empty_read,
    read_shared,
    user_emails,
)
from bascule.extract.source import GroupRef
from bascule.plan.ids import RunState, email_key
from bascule.run.executor import UnitExecutor
from bascule.run.parallel import Side
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
                side: Side | None = None, processes: int = 1,
                found: Callable[[], None] | None = None) -> None:
    """Move every shared row these groups reference, and the ``extra`` ones (see the module
    docstring). ``side``: the workers' hands (``processes`` in all, the parent included).
    ``found``: called once the rows are found, before they are moved."""
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
    if found is not None:
        found()
    pause("shared")
    users = ids.get("User")
    if side is None or processes < 2 or not users or len(users) < 2 * run.settings.batch_size:
        move_shared(ex, ids, fold=True)
        return
    with run.timings("shared_split"):
        own = sum(len(v) for t, v in ids.items() if t != "User")
        shares = share_users(user_emails(run.reader, users), users, processes, own)
    mine = {t: (array("q", shares[0]) if t == "User" else v) for t, v in ids.items()}
    theirs = [{"User": array("q", s)} for s in shares[1:]]
    log.info("shared rows: %s users moved by this process, %s by the workers",
             len(shares[0]), "+".join(str(len(s)) for s in shares[1:]))
    _, results = side(lambda: move_shared(ex, mine, fold=True), theirs)
    for res in results:
        take_share(run.state, res)


def share_users(found: Iterable[tuple[int, Any, Any]], users: Sequence[int], parts: int,
                own: int) -> list[list[int]]:
    """The ids ``users`` cut into ``parts`` shares of about the same number of rows (the first
    share's process has ``own`` other rows to move), each in id order. ``found``: (id, email,
    email2) of those the source has; users that share an e-mail (either column, as
    ``email_key`` reads it) are in one share; the others (not in the source) go to the first."""
    rows = sorted(found, key=lambda f: int(f[0]))  # one row per user, in id order
    ids = [int(f[0]) for f in rows]
    boss = list(range(len(ids)))  # union-find over the users, by the e-mails they share

    def root(i: int) -> int:
        while boss[i] != i:
            boss[i] = boss[boss[i]]
            i = boss[i]
        return i

    first: dict[str, int] = {}
    for i, (_uid, e1, e2) in enumerate(rows):
        for k in (email_key(e1), email_key(e2)):
            if k is not None:
                j = first.setdefault(k, i)
                a, b = root(i), root(j)
                if a != b:
                    boss[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}  # in the order of their lowest id (a root is the lowest)
    for i, uid in enumerate(ids):
        groups.setdefault(root(i), []).append(uid)
    shares: list[list[int]] = [[] for _ in range(max(1, parts))]
    load = [own] + [0] * (len(shares) - 1)
    for members in groups.values():
        k = load.index(min(load))
        shares[k].extend(members)
        load[k] += len(members)
    known = set(ids)
    shares[0].extend(u for u in users if int(u) not in known)
    return [sorted(s) for s in shares]


def share_result(state: RunState, share: dict[str, Collection[int]]) -> dict[str, Any]:
    """In a worker, after moving its ``share``: what the parent needs of it, the new id of
    each row it handled (those are the rows it handled) and the rows that failed."""
    out: dict[str, Any] = {}
    for t, ids in share.items():
        mine = set(ids)
        out[t] = {"map": {i: state.shared_id(t, i) for i in ids if i in state.handled[t]},
                  "failed": {i: e for i, e in state.failed[t].items() if i in mine}}
    return out


def take_share(state: RunState, result: dict[str, Any]) -> None:
    """In the parent: a worker's ``share_result`` folded into its compact state."""
    for t, r in result.items():
        m = state.shared[t]
        for i, new in r["map"].items():
            m[i] = new
        state.handled[t] |= r["map"].keys()
        state.failed[t].update(r["failed"])
        state.fold(t)


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
        reading = ahead.submit(_read, ex, chunk)
        while chunk is not None:
            nxt = next(chunks, None)
            read, reading = reading, ahead.submit(_read, ex, nxt) if nxt is not None else None
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


def _shared_chunk(ex: UnitExecutor, refs: dict[str, set[int]], fold: bool,
                  pre: UnitRead | None = None) -> None:
    run = ex.run
    # a chunk read ahead may hold a row the chunk before it handled meanwhile (a vendor's
    # logo that is also a file of this chunk): the planner skips the rows handled already
    pre = _read(ex, refs) if pre is None else pre
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
