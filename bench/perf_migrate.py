"""Time (and optionally profile) one `bascule migrate` + `bascule verify` into a fresh target.

    .venv/bin/python bench/perf_migrate.py SOURCE_URL --target-kind mysql|postgresql \
        [--profile out_prefix] [--no-verify] [--keep]

Each command runs in a child process (peak RSS from getrusage of that child). With --profile the
child runs under cProfile and writes ``<prefix>-migrate.prof`` / ``<prefix>-verify.prof``; the
top functions by own time are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = sys.executable
TARGETS = {
    "mysql": "mysql+pymysql://root@127.0.0.1:3306/{db}",
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/{db}",
}


def run(cmd: list[str], profile: str | None) -> dict:
    if profile:
        cmd = [PY, "-m", "cProfile", "-o", profile, os.path.join(HERE, "profile_migrate.py")] + cmd
    else:
        cmd = [PY, os.path.join(HERE, "profile_migrate.py")] + cmd
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        _pid, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        rc = os.waitstatus_to_exitcode(status)
        if rc != 0:
            err.seek(0)
            print(err.read()[-3000:].decode(errors="replace"), file=sys.stderr)
    return {"rc": rc, "wall_s": round(wall, 2), "cpu_s": round(ru.ru_utime + ru.ru_stime, 2),
            "peak_rss_mb": round(ru.ru_maxrss / 1024, 1)}


def top(path: str, n: int = 25) -> None:
    st = pstats.Stats(path)
    st.sort_stats("tottime").print_stats(n)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("source")
    ap.add_argument("--target-kind", default="mysql", choices=sorted(TARGETS))
    ap.add_argument("--profile")
    ap.add_argument("--no-verify", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--extra", nargs="*", default=[])
    a = ap.parse_args()
    sys.path.insert(0, os.path.join(HERE, "..", "src"))
    from bascule.dbutil import create_database, drop_database

    db = f"perf_tgt_{os.getpid()}"
    tgt = TARGETS[a.target_kind].format(db=db)
    create_database(tgt)
    out = {}
    try:
        with tempfile.TemporaryDirectory() as d:
            rep = os.path.join(d, "m.json")
            prof = f"{a.profile}-migrate.prof" if a.profile else None
            out["migrate"] = run(["migrate", "--source", a.source, "--target", tgt,
                                  "--create-schema", "2023", "--no-progress", "--report-dir", d,
                                  "--json", rep, *a.extra], prof)
            with open(rep) as f:
                r = json.load(f)
            rows = sum(v["insert"] + v["update"] for v in r["totals"].values())
            out["migrate"]["rows"] = rows
            out["migrate"]["rows_per_s"] = round(rows / out["migrate"]["wall_s"])
            out["migrate"]["report_seconds"] = r["seconds"]
            out["migrate"]["timings"] = r.get("timings")
            if not a.no_verify:
                vprof = f"{a.profile}-verify.prof" if a.profile else None
                vrep = os.path.join(d, "v.json")
                out["verify"] = run(["verify", "--source", a.source, "--target", tgt,
                                     "--no-progress", "--report-dir", d, "--json", vrep], vprof)
                with open(vrep) as f:
                    out["verify"]["ok"] = json.load(f)["ok"]
        print(json.dumps(out, indent=1))
        if a.profile:
            top(f"{a.profile}-migrate.prof")
            if not a.no_verify:
                top(f"{a.profile}-verify.prof")
    finally:
        if not a.keep:
            drop_database(tgt)


if __name__ == "__main__":
    main()
