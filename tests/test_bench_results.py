"""bench/run.py: a second bench of the same day writes a new results file (``-2``, ``-3``…) and
never overwrites a committed one; the latest of a scale is the last of the last day."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import run as bench_run  # noqa: E402


def test_same_day_results_get_a_number_and_sort_after_the_first(tmp_path, monkeypatch):
    monkeypatch.setattr(bench_run, "RESULTS", tmp_path)
    today = dt.date.today().isoformat()
    assert bench_run.new_result_path("1.0") == tmp_path / f"{today}-1.0.json"
    for name in ("2026-12-04-1.0.json", f"{today}-1.0.json", "2026-12-04-growth.json",
                 "2026-12-04-0.1.json", "2026-12-04-1.0-migrate.prof"):
        (tmp_path / name).write_text("{}")
    assert bench_run.new_result_path("1.0") == tmp_path / f"{today}-1.0-2.json"
    (tmp_path / f"{today}-1.0-2.json").write_text("{}")
    (tmp_path / f"{today}-1.0-10.json").write_text("{}")
    assert bench_run.new_result_path("1.0") == tmp_path / f"{today}-1.0-3.json"
    assert [p.name for p in bench_run.results_of("1.0")] == [
        "2026-12-04-1.0.json", f"{today}-1.0.json", f"{today}-1.0-2.json",
        f"{today}-1.0-10.json"]
    assert [p.name for p in bench_run.results_of("0.1")] == ["2026-12-04-0.1.json"]
