"""bench/medians.py: a phase's median and spread over --repeat runs, and ratios of paired runs."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from medians import paired_ratio, summarize  # noqa: E402


def run(wall, ok=True, rss=100.0, rows=1000):
    return {"wall_s": wall, "ok": ok, "peak_rss_mb": rss, "rows": rows,
            "rows_per_s": rows / wall, "target": f"t{wall}"}


def test_a_phase_is_the_median_of_its_runs_with_the_spread_and_the_largest_rss():
    s = summarize([run(10.0, rss=120.0), run(30.0, rss=90.0), run(12.0, rss=100.0)])
    assert s["wall_s"] == 12.0 and s["repeat"] == 3 and s["ok"]
    assert s["wall_s_spread"] == {"min": 10.0, "max": 30.0, "pct": 166.7}
    assert s["rows_per_s"] == round(1000 / 12.0, 1)
    assert s["peak_rss_mb"] == 120.0 and s["peak_rss_mb_median"] == 100.0
    assert s["target"] == "t12.0"  # the last run's details
    assert [r["wall_s"] for r in s["runs"]] == [10.0, 30.0, 12.0]


def test_a_failed_run_fails_the_phase_and_is_left_out_of_the_median():
    s = summarize([run(10.0), run(99.0, ok=False), run(14.0)])
    assert not s["ok"] and s["wall_s"] == 12.0


def test_one_run_is_kept_as_it_is():
    r = run(10.0)
    assert summarize([r]) is r


def test_ratios_pair_the_runs_of_the_same_round():
    a = summarize([run(20.0), run(60.0), run(30.0)])  # bascule
    b = summarize([run(10.0), run(60.0), run(10.0)])  # the baseline, slow in round 2 too
    pr = paired_ratio(a, b, "wall_s")
    assert pr["runs"] == [2.0, 1.0, 3.0] and pr["median"] == 2.0
    # not the ratio of the medians (30 / 10 = 3.0)
    assert paired_ratio(run(20.0), run(10.0), "wall_s")["median"] == 2.0
    assert paired_ratio(a, None, "wall_s") is None
