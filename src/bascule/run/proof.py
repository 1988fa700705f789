"""What ``bascule verify`` can prove: the groups of the source selection that a run that ended
moved.

The selection is what the settings pick in the source (its AMAP groups, narrowed by ``groups``
and ``exclude_groups``), for this ``source_name``. A selected group is *not proven*, and verify
fails (exit 1) naming it with what to run, when

- it was never moved (no ``bascule_group`` row);
- its last move failed (``bascule_group.status`` failed, or done with an ``error``: the target
  keeps what an earlier run moved, and the source changed since or the target refused it);
- the run that moved it (``bascule_group.run_id``) did not end: its ``bascule_run`` row is
  ``running``, ``interrupted``, or ``failed`` by an exception (``runlog.run_statuses``): the
  run's end (indexes, foreign keys, sequences, checksums) was not reached.

Such groups are not compared: verify says what it compared, and that the rest is not proven.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from bascule.config import Settings
from bascule.extract.source import GroupRef

#: Unproven groups named one by one in the log (all of them are in the report).
LOGGED = 20


def selection(amap: Iterable[GroupRef], settings: Settings) -> list[GroupRef]:
    """The groups the settings select among the source's AMAP groups, in their order: those of
    ``groups`` (every one when empty), less ``exclude_groups``. Ids that are not AMAP groups of
    the source are dropped here: migrate's ``preflight.select_groups`` refuses them first,
    verify leaves them to the comparison, which names them."""
    picked = list(amap)
    if settings.groups:
        wanted = set(settings.groups)
        picked = [g for g in picked if g.id in wanted]
    excluded = set(settings.exclude_groups)
    return [g for g in picked if g.id not in excluded]


def unproven_groups(selected: Sequence[GroupRef], done: dict[int, dict],
                    runs: dict[int, dict]) -> list[dict[str, Any]]:
    """The selected groups that are not proven (see the module docstring), in id order: their
    source id, name (as the source spells it), target id, ``status`` (never moved, failed,
    unfinished run), the run, its status, the error, ``detail`` in words and the ``action``."""
    out = []
    for g in sorted(selected, key=lambda x: x.id):
        info = done.get(g.id)
        rid = int(info["run_id"]) if info is not None and info.get("run_id") else None
        run = runs.get(rid) if rid is not None else None
        error = _first_line(info.get("error")) if info is not None else None
        if info is None:
            status, detail = "never moved", "never moved"
        elif info["status"] != "done":
            status, detail = "failed", f"failed in run {rid}" + (f": {error}" if error else "")
        elif error:
            status = "failed"
            detail = (f"its last move failed in run {rid} (the target keeps what an earlier run "
                      f"moved): {error}")
        elif run is not None and not run["ended"]:
            status = "unfinished run"
            detail = f"moved by run {rid}, which did not end ({run['status']})"
        else:
            continue
        out.append({"source_id": g.id, "name": g.name,
                    "target_id": info.get("target_group_id") if info else None,
                    "status": status, "run_id": rid,
                    "run_status": run["status"] if run is not None else None,
                    "error": error, "detail": detail,
                    "action": f"bascule migrate --group {g.id}"})
    return out


def action(unproven: Sequence[dict]) -> str:
    """The one command that moves them all (every group not done, for many)."""
    if len(unproven) > 10:
        return "bascule migrate"
    return "bascule migrate " + " ".join(f"--group {g['source_id']}" for g in unproven)


def _first_line(text: str | None, limit: int = 300) -> str | None:
    if not text:
        return None
    line = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return line[:limit] or None
