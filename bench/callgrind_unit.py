"""Instructions per unit of work, counted by callgrind: the stable measure of a change to the hot
path (wall times on this shared 2-core machine vary by ±20%; instruction counts do not).

    .venv/bin/python bench/callgrind_unit.py SOURCE_URL [--target postgresql|mysql]
        [--rows 60000] [--keep-out DIR]

It makes a fresh target database (Camap 2023 schema), then runs one process under
``valgrind --tool=callgrind``. That process opens a migrate run as ``bascule migrate`` does
(``run.migrate._open``: not counted), moves the first group of the source once to warm the
caches (statements compiled, encoders made; not counted), then moves the next unit of groups
(``--rows`` estimated rows, ``batch_size * UNIT_BATCHES`` by default, as a one-process run cuts
them) and counts its three phases apart:

    read    extract.closure.read_unit (the source driver's fetch included)
    build   Planner.build: ids, transform, encode, hash, compare
    write   load.apply.write_changeset (the driver's send included, the servers' work not)

The phases are cut by callgrind's ``--dump-before=os_getpgrp``: the process calls
``os.getpgrp()`` between them, and callgrind writes one part per phase. The servers run in their
own processes and are not counted. Prints one line per phase (instructions, rows, instructions
per row) and ``unit: N instructions``; ``--json FILE`` writes them too.

The compiled build (``make venv`` with compilation on) is counted when it is installed;
``BASCULE_COMPILED=0`` in the environment counts the pure-Python modules (``bascule._build``).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGETS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/{db}",
    "mysql": "mysql+pymysql://root@127.0.0.1:3306/{db}",
}
PHASES = ("setup", "read", "build", "write", "teardown")


def marker() -> None:
    """Callgrind writes the counts since the previous marker (``--dump-before=os_getpgrp``)."""
    os.getpgrp()


def inner(source: str, target: str, rows: int | None) -> None:
    """The measured process (see the module docstring)."""
    from bascule.config import Settings
    from bascule.run.executor import UnitExecutor
    from bascule.run.migrate import _open
    from bascule.load.runlog import start_run
    from bascule.run.preflight import UNIT_BATCHES, cut_units, estimate_rows, group_identities
    from bascule.run.report import NullProgress, RunReport
    from bascule.extract.drivers import source_engine
    from bascule.extract.source import SourceReader
    from bascule.dbutil import make_engine
    from bascule.run.context import inspect_both, relaxed_gc
    from bascule.model.tables import MIGRATION

    settings = Settings(source_url=source, target_url=target, workers=1)
    src, tgt = source_engine(source), make_engine(target)
    sinfo, tinfo = inspect_both(src, tgt, MIGRATION)
    report = RunReport(command="migrate", dry_run=False, started_at="", source={}, target={},
                       settings={})
    with relaxed_gc(), SourceReader(src, sinfo) as reader:
        groups = reader.amap_groups()
        run_id = start_run(tgt, settings, tinfo, "migrate", sinfo.shape)  # as migrate does
        run, _changes, todo = _open(settings, sinfo.migration, src, tgt, sinfo, tinfo, reader,
                                    groups, report, dry_run=False, prune=False,
                                    progress=NullProgress(), run_id=run_id,
                                    identities=group_identities(reader, groups))
        est = estimate_rows(reader, todo)
        limit = rows or settings.batch_size * UNIT_BATCHES
        warm, rest = todo[:1], todo[1:]
        unit = cut_units(rest, est, limit)[0]
        ex = UnitExecutor(run, report)
        ex.attempt(1, warm)  # caches warm, not counted
        marker()  # --- setup ends
        pre = run.read(unit)
        marker()  # --- read
        job = ex.build(2, unit, pre)
        marker()  # --- build
        ex.write(job.cs, 2)
        marker()  # --- write
        n_read = sum(map(len, pre.rows.values())) + sum(map(len, pre.shared.values()))
        n_written = sum(len(t.inserts) + len(t.updates) for t in job.cs.tables.values())
        print(json.dumps({"groups": [g.id for g in unit], "rows_read": n_read,
                          "rows_written": n_written, "estimated": sum(est[g.id] for g in unit)}))


def parts(out_prefix: str) -> list[int]:
    """The instruction total of each part callgrind wrote, in order."""
    files = sorted(glob.glob(out_prefix + ".*"), key=lambda p: int(p.rsplit(".", 1)[1]))
    files = [f for f in files if re.search(r"\.\d+$", f)]
    if os.path.exists(out_prefix):
        files.append(out_prefix)  # the last part (at exit) has no number
    totals = []
    for f in files:
        with open(f, errors="replace") as fh:
            for line in fh:
                if line.startswith(("summary:", "totals:")):
                    totals.append(int(line.split()[1]))
                    break
    return totals


def compiled_modules() -> list[str]:
    """Which bascule modules this Python imports compiled (extension modules)."""
    code = ("import bascule._build as b, json; print(json.dumps(b.compiled_modules()))")
    try:
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=120)
        return json.loads(r.stdout) if r.returncode == 0 else []
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return []


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", nargs="?", help="SQLAlchemy URL of a Cagette source (e.g. the bench's)")
    ap.add_argument("--target", choices=sorted(TARGETS), default="postgresql")
    ap.add_argument("--rows", type=int, default=None,
                    help="estimated rows of the measured unit (default batch_size * UNIT_BATCHES)")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--keep-out", help="keep callgrind's files in this directory")
    ap.add_argument("--inner", nargs=2, metavar=("SOURCE", "TARGET"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.inner:
        inner(a.inner[0], a.inner[1], a.rows)
        return 0
    if not shutil.which("valgrind"):
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 3
    sys.path.insert(0, str(HERE.parent / "src"))
    from bascule.dbutil import create_database, drop_database, make_engine
    from bascule.load.target import create_camap_schema

    tgt = TARGETS[a.target].format(db=f"cg_tgt_{os.getpid()}")
    create_database(tgt)
    out_dir = a.keep_out or tempfile.mkdtemp(prefix="bascule-cg-")
    os.makedirs(out_dir, exist_ok=True)
    prefix = os.path.join(out_dir, "callgrind.out")
    try:
        eng = make_engine(tgt)
        create_camap_schema(eng, "2023")
        eng.dispose()
        cmd = ["valgrind", "--tool=callgrind", "--dump-before=os_getpgrp",
               f"--callgrind-out-file={prefix}", sys.executable, __file__,
               *(["--rows", str(a.rows)] if a.rows else []), "--inner", a.source, tgt]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stderr[-4000:], file=sys.stderr)
            return 1
        info = json.loads([ln for ln in r.stdout.splitlines() if ln.startswith("{")][-1])
    finally:
        drop_database(tgt)
    totals = parts(prefix)
    if len(totals) < 4:
        print(f"callgrind wrote {len(totals)} parts, expected 5", file=sys.stderr)
        return 1
    fig = dict(zip(PHASES, totals))
    unit = fig["read"] + fig["build"] + fig["write"]
    res = {"target": a.target, **info, "instructions": fig, "unit": unit,
           "per_row_read": round(unit / max(1, info["rows_read"])),
           "compiled": compiled_modules(), "python": sys.version.split()[0]}
    for ph in ("read", "build", "write"):
        print(f"{ph:>6}: {fig[ph]:>15,} instructions")
    print(f"unit: {unit:,} instructions ({info['rows_read']:,} rows read, "
          f"{info['rows_written']:,} written, {res['per_row_read']:,} per row read; "
          f"{len(info['groups'])} groups, target {a.target})")
    print(f"compiled modules: {len(res['compiled'])}")
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1) + "\n")
    if not a.keep_out:
        shutil.rmtree(out_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
