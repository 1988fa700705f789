"""Medians of repeated bench runs (``bench/run.py --repeat N``).

One run on this shared 2-core machine varies by ±20%: the full-load phases (bascule into MariaDB
and PostgreSQL, and the two bulk tools) are run N times, interleaved (round 1: the four phases,
round 2: the four again, ...), so that a slow minute of the machine weighs on every phase alike.
A phase's figure is then the median of its runs, with their spread; a ratio is the median of the
ratios of the runs of the same round (paired runs), not the ratio of two medians.
"""

from __future__ import annotations

import statistics
from typing import Any

#: The figures of one run that are kept in ``runs`` (the rest is the last run's).
RUN_KEYS = ("wall_s", "rows", "rows_per_s", "peak_rss_mb", "ok", "measured_at",
            "loadavg_1m_before_after")


def median(values: list[float]) -> float | None:
    vals = [v for v in values if v is not None]
    return round(statistics.median(vals), 3) if vals else None


def spread(values: list[float]) -> dict[str, float] | None:
    """min, max and (max - min) / median in % of the values."""
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    mid = statistics.median(vals)
    return {"min": round(min(vals), 3), "max": round(max(vals), 3),
            "pct": round(100 * (max(vals) - min(vals)) / mid, 1) if mid else None}


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One phase's result from its runs (in round order): the last run's details, with
    ``wall_s`` the median of the successful runs, ``wall_s_spread``, ``rows_per_s`` from the
    median, ``peak_rss_mb`` the largest of any run, ``ok`` only when every run was, and
    ``runs`` (each run's own figures)."""
    if len(runs) == 1:
        return runs[0]
    out = dict(runs[-1])
    good = [r for r in runs if r.get("ok") and r.get("wall_s")]
    out["runs"] = [{k: r.get(k) for k in RUN_KEYS} for r in runs]
    out["repeat"] = len(runs)
    out["ok"] = all(r.get("ok") for r in runs)
    out["wall_s"] = median([r["wall_s"] for r in good])
    out["wall_s_spread"] = spread([r["wall_s"] for r in good])
    rows = out.get("rows")
    out["rows_per_s"] = round(rows / out["wall_s"], 1) if rows and out["wall_s"] else None
    rss = [r.get("peak_rss_mb") for r in runs if r.get("peak_rss_mb") is not None]
    out["peak_rss_mb"] = max(rss) if rss else None
    out["peak_rss_mb_median"] = median(rss)
    return out


def paired_ratio(a: dict | None, b: dict | None, key: str) -> dict[str, Any] | None:
    """The median of ``a[key] / b[key]`` over the runs of the same round (``runs``; a single
    run each: their ratio), with the ratios of each round."""
    if not a or not b:
        return None
    ra, rb = a.get("runs") or [a], b.get("runs") or [b]
    ratios = []
    for x, y in zip(ra, rb):
        if x.get("ok") and y.get("ok") and x.get(key) and y.get(key):
            ratios.append(round(x[key] / y[key], 3))
    if not ratios:
        return None
    return {"median": median(ratios), "runs": ratios, "spread": spread(ratios)}
