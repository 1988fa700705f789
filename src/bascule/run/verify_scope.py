"""What ``bascule verify --changed`` compares: the proof of the cutover night, in minutes.

A full verify compares every moved group. After a rerun, most groups are as the run before left
them, and their source rows did not change since (the source's chunk checksums say so,
``run.changes``). ``--changed`` compares:

- every group the last migrate run wrote, and every shared row it wrote;
- every group and moved shared row whose source rows changed since the last clean run (there
  should be none right after a clean run: any is a difference to see);
- a random sample (``sample``, a fraction) of the other groups, so that a target changed behind
  bascule's back is still caught with a known probability (one group at least when nothing
  else is compared);

and checks the foreign keys of the rows it compared. When the checksums cannot be compared (no
clean run yet, another basis, a source without checksums) or the last run did not end done,
every group is compared, and the report says why.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from bascule.extract.source import GroupRef
from bascule.load.bookkeeping import IDMAP
from bascule.run.changes import Precomputed, find_changes
from bascule.run.context import Run

log = logging.getLogger(__name__)

#: The fraction of the other groups ``--changed`` compares too.
DEFAULT_SAMPLE = 0.05


@dataclass
class Scope:
    """The groups and the extra shared rows to compare."""

    groups: list[GroupRef]
    shared: dict[str, set[int]] = field(default_factory=dict)
    restricted: bool = False  # not every moved group: the FK check covers the rows compared
    detail: dict[str, Any] = field(default_factory=lambda: {"mode": "full"})

    def as_dict(self) -> dict[str, Any]:
        return {**self.detail, "groups": len(self.groups),
                "shared_rows": sum(len(v) for v in self.shared.values())}


def changed_scope(run: Run, last: dict | None, groups: Sequence[GroupRef], mojibake: list[str],
                  sample: float, seed: int | None, ahead: Precomputed | None = None) -> Scope:
    """The scope of ``--changed`` (see the module docstring); every group when it cannot tell.
    ``ahead``: the source's checksums computed already (``rerun_checksums``)."""
    if last is None or last.get("status") != "done":
        return _full(groups, "the last migrate run did not end done")
    changes = find_changes(run.reader, run.target, run.tinfo, run.migration, run.settings,
                           mojibake, run.state.shared, ahead)
    if not changes.compared:
        return _full(groups, changes.why_not or "no checksums")
    written = {g for g, info in run.groups_done.items() if info.get("run_id") == last["id"]}
    must = written | changes.redo
    rest = [g for g in groups if g.id not in must]
    seed = random.SystemRandom().randrange(1 << 31) if seed is None else seed
    k = min(len(rest), math.ceil(len(rest) * max(0.0, sample)))
    if not k and rest and not any(g.id in must for g in groups):
        k = 1  # never "OK" having compared nothing while the selection holds groups
    sampled = {g.id for g in random.Random(seed).sample(rest, k)}
    chosen = [g for g in groups if g.id in must or g.id in sampled]
    shared = {t: set(v) for t, v in changes.shared.items()}
    for t, ids in _shared_written(run, last["id"]).items():
        shared.setdefault(t, set()).update(ids)
    log.info("verify --changed: %d groups written by run %s, %d whose source changed since, "
             "%d sampled of %d others (seed %d); %d shared rows", len(written & {g.id for g in
                                                                         groups}),
             last["id"], len(changes.redo), len(sampled), len(rest), seed,
             sum(len(v) for v in shared.values()))
    return Scope(chosen, shared, True, {
        "mode": "changed", "run_id": last["id"], "written": len(written),
        "source_changed": sorted(changes.redo), "sampled": len(sampled), "of": len(rest),
        "sample": sample, "seed": seed, "checksums_seconds": round(changes.seconds, 3)})


def _full(groups: Sequence[GroupRef], why: str) -> Scope:
    log.warning("verify --changed compares every group: %s", why)
    return Scope(list(groups), detail={"mode": "full", "why": why})


def _shared_written(run: Run, run_id: int) -> dict[str, set[int]]:
    """The shared rows (bascule's own) that run ``run_id`` wrote."""
    book = run.book
    t = book.table(IDMAP)
    out: dict[str, set[int]] = {}
    stmt = select(t.c.table_name, t.c.old_id).where(
        book.mine(t), t.c.run_id == run_id, t.c.group_id.is_(None), t.c.row_hash.is_not(None))
    with run.target.connect() as conn:
        for tn, old in conn.execute(stmt):
            if tn in run.migration.shared:
                out.setdefault(tn, set()).add(int(old))
    return out
