"""`make bench`: bascule against the databases' own bulk copy, on a synthetic Cagette source.

Not a test: it measures. It generates (or reuses, keyed by seed and scale) a Cagette source in
MariaDB, then runs each phase on a fresh target and measures, in the same run:

    bascule_mariadb     bascule migrate  MariaDB -> MariaDB (Camap 2023 shape, --create-schema 2023)
    verify_mariadb      bascule verify   on that target
    bascule_postgres    bascule migrate  MariaDB -> PostgreSQL
    verify_postgres     bascule verify   on that target
    baseline_mysqldump  mysqldump --no-create-info --single-transaction | mysql, into an empty copy
                        of the source schema (every source table, no transformation)
    baseline_pgloader   pgloader of every source table into PostgreSQL (Debian package)
    rerun_nochange      bascule migrate again into the target of bascule_mariadb, nothing changed
    rerun_1pct          bascule migrate --prune after about 1% of the moved rows changed
                        (bascule.generate.changes: orders and products updated, orders added in
                        new baskets and deleted, in a tenth of the groups; one shop group turned
                        AMAP, one AMAP group turned shop)
    verify_after_rerun  bascule verify --changed (what the rerun wrote, plus 5% of the others)
    frozen_window_s     rerun_1pct + verify_after_rerun: the users' downtime on the night

The cutover phases read a copy of the source (the mysqldump baseline's, or one made the same
way), so that the source itself never changes and is reused by the next run.

With --repeat N (default 3 at scale 1.0), the four full-load phases (bascule into MariaDB and
PostgreSQL, mysqldump|mysql, pgloader) run N times in interleaved rounds, and each keeps the
median and the spread of its runs; the ratios are medians of the ratios of the same round's runs
(bench/medians.py). The verify and cutover phases run once, after the last round.

For each: rows written (counted in the target afterwards), wall seconds (time.monotonic around the
subprocesses), rows/s, peak RSS of each client process (GNU time, see `measure`). The ratios are
throughput ratios: ratio_mariadb = rows/s of bascule_mariadb / rows/s of baseline_mysqldump,
ratio_postgres = rows/s of bascule_postgres / rows/s of baseline_pgloader (1.0 = as fast as the
bulk copy, per row written; the wall-time ratios are recorded too).

    python bench/run.py [--scale 1.0] [--seed 1] [--repeat N] [--only PHASE ...] [--keep]
                        [--regenerate]
    python bench/run.py --growth [--growth-scales 0.25,0.5,1.0] [--growth-targets mariadb,postgres]
    python bench/run.py --profile [--scale 1.0]

Writes bench/results/<YYYY-MM-DD>-<scale>.json, or <YYYY-MM-DD>-<scale>-2.json, -3… when a run of
the same day wrote it already (with --only, the other phases are carried over
from the latest results file of the same scale and seed; every phase records when it was measured),
bench/results/<YYYY-MM-DD>-growth.json, bench/results/<YYYY-MM-DD>-<scale>-migrate.prof.

Servers: BENCH_MYSQL_URL (default mysql://root@127.0.0.1:3306) and BENCH_PG_URL (default
postgresql://postgres@127.0.0.1:5432), or --mysql / --pg. Every database the bench creates is
dropped at the end (unless --keep), except the source, which is kept for the next run. A source is
reused when its completion marker (database bench_meta, table bench_sources) matches the exact
row counts of its tables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(REPO / "src"))  # run from a clean clone without the editable install too

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bascule.config import safe_url  # noqa: E402
from bascule.dbutil import create_database, database_exists, drop_database, make_engine  # noqa: E402
from bascule.generate.changes import change_source  # noqa: E402
from medians import paired_ratio, summarize  # noqa: E402

MIGRATES = ("bascule_mariadb", "bascule_postgres")
BASELINES = ("baseline_mysqldump", "baseline_pgloader")
VERIFIES = ("verify_mariadb", "verify_postgres")
CUTOVER = ("rerun_nochange", "rerun_1pct", "verify_after_rerun")
PHASES = ("bascule_mariadb", "verify_mariadb", "bascule_postgres", "verify_postgres",
          "baseline_mysqldump", "baseline_pgloader", *CUTOVER)
#: The phases ``--repeat N`` runs N times, interleaved in this order (the full load and its
#: baselines); the others run once.
FULL_LOAD = ("bascule_mariadb", "baseline_mysqldump", "bascule_postgres", "baseline_pgloader")
#: The change of the source before rerun_1pct (bascule.generate.changes).
CHANGE_FRACTION, CHANGE_SEED = 0.01, 1
TIME_BIN = "/usr/bin/time"
META_DB = "bench_meta"


# --------------------------------------------------------------------------------------------
# small helpers


def log(msg: str) -> None:
    print(f"[bench {dt.datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def scale_tag(scale: float) -> str:
    """0.25 -> '0p25', 1.0 -> '1p0' (database names)."""
    return repr(float(scale)).replace(".", "p").replace("-", "m")


def scale_label(scale: float) -> str:
    """0.25 -> '0.25', 1.0 -> '1.0' (file names)."""
    return repr(float(scale))


def db_url(server: str, name: str) -> str:
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def first_bin(*names: str) -> str | None:
    for n in names:
        p = shutil.which(n)
        if p:
            return p
    return None


def bascule_argv() -> list[str]:
    exe = Path(sys.executable).parent / "bascule"
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-c", "import sys; from bascule.cli import main; sys.exit(main())"]


def tail(path: Path, lines: int = 25) -> str:
    try:
        data = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return ""
    return "\n".join(data[-lines:])


def head(path: Path, lines: int = 25) -> str:
    try:
        data = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return ""
    return "\n".join(data[:lines])


def machine_info() -> dict[str, Any]:
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def versions(mysql_server: str, pg_server: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        from importlib.metadata import version

        out["bascule"] = version("bascule")
    except Exception:  # noqa: BLE001
        out["bascule"] = None
    try:  # read-only
        out["git_commit"] = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
            text=True, timeout=10).stdout.strip() or None
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "src"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        out["git_src_dirty"] = bool(dirty)
    except Exception:  # noqa: BLE001
        out["git_commit"] = None
    for key, cmd in (("mysqldump", [first_bin("mysqldump", "mariadb-dump"), "--version"]),
                     ("pgloader", [first_bin("pgloader"), "--version"])):
        if cmd[0]:
            try:
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
                out[key] = (r.stdout or r.stderr).strip().splitlines()[0]
            except Exception:  # noqa: BLE001
                out[key] = None
    for key, server, q in (("mariadb_server", mysql_server, "SELECT VERSION()"),
                           ("postgres_server", pg_server, "SHOW server_version")):
        try:
            eng = make_engine(server if key == "mariadb_server" else db_url(server, "postgres"))
            with eng.connect() as c:
                out[key] = c.execute(text(q)).scalar()
            eng.dispose()
        except Exception as e:  # noqa: BLE001
            out[key] = f"unavailable: {e.__class__.__name__}"
    return out


def count_rows(url: str, *, exclude_prefix: str | None = None) -> dict[str, int]:
    """Exact COUNT(*) of every base table of the database at url (all non-system schemas)."""
    eng = make_engine(url)
    try:
        prep = eng.dialect.identifier_preparer
        with eng.connect() as c:
            if eng.dialect.name == "postgresql":
                rows = c.execute(text(
                    "SELECT table_schema, table_name FROM information_schema.tables "
                    "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN "
                    "('pg_catalog', 'information_schema')")).all()
                names = [(s, t) for s, t in rows]
            else:
                rows = c.execute(text(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = "
                    "DATABASE() AND table_type = 'BASE TABLE'")).all()
                names = [(None, r[0]) for r in rows]
            out: dict[str, int] = {}
            for schema, t in sorted(names, key=lambda x: (x[0] or "", x[1])):
                if exclude_prefix and t.lower().startswith(exclude_prefix):
                    continue
                q = prep.quote(t) if schema in (None, "public") else \
                    f"{prep.quote(schema)}.{prep.quote(t)}"
                key = t if schema in (None, "public") else f"{schema}.{t}"
                out[key] = int(c.execute(text(f"SELECT COUNT(*) FROM {q}")).scalar())
            return out
    finally:
        eng.dispose()


# --------------------------------------------------------------------------------------------
# measuring subprocesses


@dataclass
class ProcStat:
    name: str
    exit_code: int | None
    peak_rss_mb: float | None  # max(GNU time's peak of the process, sampled peak of its tree)
    stderr_file: Path
    tree: dict[str, Any] = field(default_factory=dict)  # TreeSampler's peaks


class TreeSampler:
    """Samples, every ``interval`` seconds, the memory of every process below the given pids
    (bascule forks worker processes: GNU time reports one process's peak, not their sum). Peaks
    of the sums: RSS (counts pages the forked processes share once per process: an upper bound)
    and PSS (shared pages split between the processes sharing them)."""

    def __init__(self, interval: float = 0.2):
        import threading

        self.interval = interval
        self.roots: dict[str, int] = {}
        self.peaks: dict[str, dict[str, float]] = {}
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._t.start()

    def stop(self) -> None:
        self._stop.set()
        self._t.join()

    @staticmethod
    def _children() -> dict[int, list[int]]:
        kids: dict[int, list[int]] = {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as f:
                    st = f.read()
            except OSError:
                continue
            ppid = int(st.rsplit(")", 1)[1].split()[1])
            kids.setdefault(ppid, []).append(int(d))
        return kids

    @staticmethod
    def _mem(pid: int) -> tuple[float, float]:
        rss = pss = 0.0
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss = int(line.split()[1]) / 1024
                    elif line.startswith("Pss:"):
                        pss = int(line.split()[1]) / 1024
        except OSError:
            pass
        return rss, pss

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            kids = self._children()
            for name, root in list(self.roots.items()):
                todo, below = list(kids.get(root, [])), []
                while todo:  # the command under GNU time, and what it forked
                    p = todo.pop()
                    below.append(p)
                    todo.extend(kids.get(p, []))
                rss = pss = 0.0
                for p in below:
                    r, q = self._mem(p)
                    rss += r
                    pss += q
                pk = self.peaks.setdefault(name, {"rss_sum_mb": 0.0, "pss_sum_mb": 0.0,
                                                  "processes": 0})
                pk["rss_sum_mb"] = round(max(pk["rss_sum_mb"], rss), 1)
                pk["pss_sum_mb"] = round(max(pk["pss_sum_mb"], pss), 1)
                pk["processes"] = max(pk["processes"], len(below))


@dataclass
class Measured:
    wall_s: float
    procs: list[ProcStat]
    notes: list[str] = field(default_factory=list)
    loadavg: tuple[float, float] | None = None  # 1-minute load before and after (shared machine)

    @property
    def ok(self) -> bool:
        return all(p.exit_code == 0 for p in self.procs)

    @property
    def peak_rss_mb(self) -> float | None:
        """Sum of the peaks of the processes that ran together (upper bound of their memory)."""
        vals = [p.peak_rss_mb for p in self.procs if p.peak_rss_mb is not None]
        return round(sum(vals), 1) if vals else None

    def error_text(self, lines: int = 25) -> str:
        parts = []
        for p in self.procs:
            if p.exit_code != 0:
                parts.append(f"{p.name} exited with {p.exit_code}:\n{head(p.stderr_file, lines)}"
                             + ("\n...\n" + tail(p.stderr_file, 8)
                                if len(tail(p.stderr_file, 10_000).splitlines()) > lines else ""))
        return "\n".join(parts)


def measure(steps: list[tuple[str, list[str]]], workdir: Path, *, env: dict[str, str] | None = None,
            stdout_file: Path | None = None, cwd: Path | None = None) -> Measured:
    """Run one command, or a pipeline (each step's stdout into the next one's stdin).

    Peak RSS is measured per process by GNU time (`/usr/bin/time -f %M`), which forks the command
    from its own small process. os.wait4 on a child spawned by this Python process would report at
    least this process's own peak RSS: Linux carries the high-water mark of the pre-exec address
    space (vfork/fork of the parent) into the child's ru_maxrss. Without GNU time, wait4 is used
    and a note says the values are upper bounds.
    """
    use_time = os.access(TIME_BIN, os.X_OK)
    popens: list[tuple[str, subprocess.Popen, Path, Path]] = []
    notes: list[str] = []
    if not use_time:
        notes.append(f"{TIME_BIN} missing: peak RSS from os.wait4, includes the bench process's")
    prev_stdout = None
    load0 = os.getloadavg()[0]
    sampler = TreeSampler()
    sampler.start()
    t0 = time.monotonic()
    try:
        for i, (name, argv) in enumerate(steps):
            last = i == len(steps) - 1
            err_path = workdir / f"{name}.stderr"
            rss_path = workdir / f"{name}.rss"
            rss_path.unlink(missing_ok=True)
            full = [TIME_BIN, "-q", "-f", "%M %x", "-o", str(rss_path), *argv] if use_time else argv
            out_target = (open(stdout_file, "wb") if stdout_file else subprocess.DEVNULL) if last \
                else subprocess.PIPE
            with open(err_path, "wb") as errf:
                p = subprocess.Popen(full, stdin=prev_stdout if prev_stdout else subprocess.DEVNULL,
                                     stdout=out_target, stderr=errf, env=env, cwd=cwd)
            if last and stdout_file:
                out_target.close()
            if prev_stdout is not None:
                prev_stdout.close()  # the next process owns it now (SIGPIPE reaches the writer)
            prev_stdout = p.stdout if not last else None
            popens.append((name, p, err_path, rss_path))
            sampler.roots[name] = p.pid
        results: list[ProcStat] = []
        for name, p, err_path, rss_path in popens:
            _pid, status, ru = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            rss = None
            code = p.returncode
            if use_time:
                lines = [ln for ln in tail(rss_path, 5).splitlines() if ln.strip()]
                if lines:
                    try:
                        kib, _x = lines[-1].split()
                        rss = round(int(kib) / 1024, 1)
                    except ValueError:
                        pass
                    for ln in lines[:-1]:  # "Command terminated by signal 9" and the like
                        notes.append(f"{name}: {ln.strip()}")
            else:
                rss = round(ru.ru_maxrss / 1024, 1)
            tree = sampler.peaks.get(name, {})
            if tree.get("processes", 0) > 1 and rss is not None:  # forked workers: their sum
                rss = max(rss, tree["rss_sum_mb"])
            results.append(ProcStat(name, code, rss, err_path, dict(tree)))
        wall = time.monotonic() - t0
        sampler.stop()
    except BaseException:
        sampler.stop()
        for _n, p, _e, _r in popens:
            if p.returncode is None:
                try:
                    p.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    os.wait4(p.pid, 0)
                except ChildProcessError:
                    pass
                p.returncode = -1
        raise
    return Measured(round(wall, 3), results, notes,
                    (round(load0, 2), round(os.getloadavg()[0], 2)))


# --------------------------------------------------------------------------------------------
# the source: generated once per (seed, scale), reused


def generator_hash() -> str:
    """What the generated rows depend on (the change of the cutover phases apart)."""
    h = hashlib.sha256()
    for p in sorted((REPO / "src" / "bascule" / "generate").glob("*.py")):
        if p.name == "changes.py":
            continue
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def meta_engine(mysql_server: str):
    url = db_url(mysql_server, META_DB)
    create_database(url, exist_ok=True)
    eng = make_engine(url)
    with eng.begin() as c:
        c.execute(text(
            "CREATE TABLE IF NOT EXISTS bench_sources (name VARCHAR(64) PRIMARY KEY, "
            "seed INT NOT NULL, scale DOUBLE NOT NULL, shape VARCHAR(8) NOT NULL, "
            "counts LONGTEXT NOT NULL, total_rows BIGINT NOT NULL, generate_s DOUBLE, "
            "generator_hash VARCHAR(64), completed_at DATETIME NOT NULL)"))
    return eng


def write_marker(mysql_server: str, name: str, seed: int, scale: float, counts: dict[str, int],
                 generate_s: float | None) -> None:
    eng = meta_engine(mysql_server)
    try:
        with eng.begin() as c:
            c.execute(text("DELETE FROM bench_sources WHERE name = :n"), {"n": name})
            c.execute(text(
                "INSERT INTO bench_sources VALUES (:n, :seed, :scale, '2023', :counts, :total, "
                ":gs, :gh, :at)"), {
                    "n": name, "seed": seed, "scale": scale, "counts": json.dumps(counts),
                    "total": sum(counts.values()), "gs": generate_s, "gh": generator_hash(),
                    "at": dt.datetime.now().replace(microsecond=0)})
    finally:
        eng.dispose()


def read_marker(mysql_server: str, name: str) -> dict | None:
    eng = meta_engine(mysql_server)
    try:
        with eng.connect() as c:
            r = c.execute(text("SELECT * FROM bench_sources WHERE name = :n"),
                          {"n": name}).mappings().first()
            return dict(r) if r else None
    finally:
        eng.dispose()


def clear_marker(mysql_server: str, name: str) -> None:
    eng = meta_engine(mysql_server)
    try:
        with eng.begin() as c:
            c.execute(text("DELETE FROM bench_sources WHERE name = :n"), {"n": name})
    finally:
        eng.dispose()


def results_of(label: str) -> list[Path]:
    """The results files of one scale label, oldest first: ``<date>-<label>.json``, then
    ``<date>-<label>-2.json``, ``-3``… (later runs of the same day)."""
    def key(p: Path) -> tuple[str, int]:
        rest = p.stem[len("YYYY-MM-DD-") + len(label):]
        return p.stem[:10], int(rest[1:]) if rest else 1

    pattern = re.compile(r"\d{4}-\d{2}-\d{2}-" + re.escape(label) + r"(-\d+)?\.json")
    return sorted((p for p in RESULTS.glob("*.json") if pattern.fullmatch(p.name)), key=key)


def new_result_path(label: str) -> Path:
    """Where this run's results go: ``<today>-<label>.json``, or ``-2``, ``-3``… when a run
    of the same day wrote it already (a committed result is never overwritten)."""
    day = dt.date.today().isoformat()
    path, n = RESULTS / f"{day}-{label}.json", 1
    while path.exists():
        n += 1
        path = RESULTS / f"{day}-{label}-{n}.json"
    return path


def ensure_source(mysql_server: str, seed: int, scale: float, regenerate: bool,
                  workdir: Path) -> dict[str, Any]:
    name = f"bench_src_s{seed}_{scale_tag(scale)}"
    url = db_url(mysql_server, name)
    info: dict[str, Any] = {"database": name, "reused": False}
    if not regenerate and database_exists(url):
        marker = read_marker(mysql_server, name)
        if marker and marker["seed"] == seed and float(marker["scale"]) == float(scale):
            counts = count_rows(url)
            if counts == json.loads(marker["counts"]):
                info.update(reused=True, counts=counts, total_rows=sum(counts.values()),
                            generate_s=marker["generate_s"],
                            generated_at=str(marker["completed_at"]))
                if marker["generator_hash"] != generator_hash():
                    info["note"] = ("the generator changed since this source was made; "
                                    "--regenerate to rebuild it")
                    log(f"note: {info['note']}")
                log(f"reusing source {name} ({info['total_rows']:,} rows)")
                return info
            log(f"source {name} does not match its marker: regenerating")
        else:
            log(f"source {name} has no completion marker: regenerating")
    clear_marker(mysql_server, name)
    drop_database(url)
    create_database(url)
    log(f"generating source {name} (scale {scale}, seed {seed}); this can take minutes")
    code = ("import sys; from bascule.generate import generate; "
            "generate(sys.argv[1], shape='2023', scale=float(sys.argv[2]), seed=int(sys.argv[3]), "
            "dirty=False, progress=sys.stderr.isatty())")
    m = measure([("generate", [sys.executable, "-c", code, url, repr(scale), str(seed)])], workdir)
    if not m.ok:
        raise RuntimeError(f"generating the source failed:\n{m.error_text()}")
    counts = count_rows(url)
    write_marker(mysql_server, name, seed, scale, counts, m.wall_s)
    info.update(counts=counts, total_rows=sum(counts.values()), generate_s=m.wall_s,
                generate_peak_rss_mb=m.peak_rss_mb)
    log(f"source {name}: {info['total_rows']:,} rows in {m.wall_s:.1f} s")
    return info


# --------------------------------------------------------------------------------------------
# phases


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path):
        self.args = args
        self.mysql = args.mysql
        self.pg = args.pg
        self.workdir = workdir
        self.token = f"{os.getpid()}"
        self.created: list[str] = []  # URLs to drop at the end
        self.targets: dict[str, str] = {}  # bascule_mariadb -> URL, for verify
        self.last_rows: dict[str, int] = {}  # bascule_mariadb -> rows written

    def new_db(self, server: str, label: str) -> str:
        url = db_url(server, f"bench_t{self.token}_{label}")
        drop_database(url)
        create_database(url)
        self.created.append(url)
        return url

    def drop_all(self, keep: list[str | None] | None = None) -> None:
        """Drop the databases the bench made (but those in ``keep``)."""
        left = []
        for url in self.created:
            if url in (keep or ()):
                left.append(url)
                continue
            try:
                drop_database(url)
            except Exception as e:  # noqa: BLE001
                log(f"could not drop {safe_url(url)}: {e}")
        self.created[:] = left

    def source_copy(self, src_url: str, src_counts: dict[str, int]) -> str:
        """A copy of the source for the cutover phases (made as the mysqldump baseline is, not
        measured)."""
        log("cutover: copying the source (mysqldump | mysql, not measured)")
        r = self.baseline_mysqldump(src_url, src_counts)
        if not r.get("ok") or not r.get("matches_source"):
            raise RuntimeError("could not copy the source for the cutover phases")
        return self.targets["baseline_mysqldump"]

    def result(self, m: Measured, rows: int, **extra) -> dict[str, Any]:
        res = {
            "rows": rows,
            "wall_s": m.wall_s,
            "rows_per_s": round(rows / m.wall_s, 1) if m.wall_s else None,
            "peak_rss_mb": m.peak_rss_mb,
            "ok": m.ok,
            "processes": [{"name": p.name, "exit_code": p.exit_code, "peak_rss_mb": p.peak_rss_mb,
                           "sampled": p.tree} for p in m.procs],
            "measured_at": dt.datetime.now().isoformat(timespec="seconds"),
            "loadavg_1m_before_after": m.loadavg,
        }
        if m.notes:
            res["notes"] = m.notes
        res.update(extra)
        if not m.ok:
            res["error"] = self.scrub(m.error_text())
        return res

    def scrub(self, msg: str) -> str:
        """Hide the servers' passwords in text that came from a subprocess."""
        for server in (self.mysql, self.pg):
            pw = make_url(server).password
            if pw:
                for form in {str(pw), quote(str(pw), safe="")}:
                    msg = msg.replace(form, "***")
        return msg

    # bascule migrate ------------------------------------------------------------------------

    def bascule_migrate(self, phase: str, src_url: str, *, profile_to: Path | None = None
                        ) -> dict[str, Any]:
        server, label = (self.mysql, "mariadb") if phase.endswith("mariadb") else (self.pg, "pg")
        tgt = self.new_db(server, label + ("_prof" if profile_to else ""))
        report = self.workdir / f"{phase}-report.json"
        argv = [*bascule_argv(), "migrate", "--workers", "0", "--source", src_url, "--target", tgt,
                "--create-schema", "2023", "--no-progress", "--json", str(report),
                "--report-dir", str(self.workdir / "reports")]
        if self.args.batch_size:
            argv += ["--batch-size", str(self.args.batch_size)]
        if profile_to:
            argv = [sys.executable, "-m", "cProfile", "-o", str(profile_to),
                    str(HERE / "profile_migrate.py"), *argv[len(bascule_argv()):]]
        log(f"{phase}: bascule migrate -> {safe_url(tgt)}")
        m = measure([(phase, argv)], self.workdir, cwd=self.workdir)
        rows = 0
        extra: dict[str, Any] = {"target": safe_url(tgt)}
        try:
            counts = count_rows(tgt, exclude_prefix="bascule_")
            rows = sum(counts.values())
            extra["target_tables"] = len(counts)
        except Exception as e:  # noqa: BLE001
            extra["count_error"] = f"{e.__class__.__name__}: {e}"
        try:
            rep = json.loads(report.read_text())
            extra["rows_report_insert"] = sum(int(t.get("insert", 0))
                                              for t in rep.get("totals", {}).values())
            extra["report_status"] = rep.get("status")
            extra["report_seconds"] = rep.get("seconds")
            extra["groups"] = len(rep.get("groups", []))
            extra["groups_failed"] = sum(1 for g in rep.get("groups", [])
                                         if g.get("status") == "failed")
        except (OSError, ValueError, AttributeError):
            pass
        self.targets[phase] = tgt
        return self.result(m, rows, **extra)

    def bascule_verify(self, phase: str, src_url: str) -> dict[str, Any]:
        mig = "bascule_" + phase.split("_", 1)[1]
        tgt = self.targets.get(mig)
        if not tgt:
            raise RuntimeError(f"{phase} needs the target of {mig}, which did not run")
        report = self.workdir / f"{phase}-report.json"
        argv = [*bascule_argv(), "verify", "--workers", "0", "--source", src_url, "--target", tgt,
                "--no-progress",
                "--json", str(report), "--report-dir", str(self.workdir / "reports")]
        log(f"{phase}: bascule verify {safe_url(tgt)}")
        m = measure([(phase, argv)], self.workdir, cwd=self.workdir)
        rows = self.last_rows.get(mig, 0)
        extra: dict[str, Any] = {"rows_note": f"rows of {mig} (verify writes nothing)"}
        try:
            rep = json.loads(report.read_text())
            extra["report_status"] = rep.get("status") or rep.get("ok")
        except (OSError, ValueError, AttributeError):
            pass
        return self.result(m, rows, **extra)

    # the cutover night: reruns into the target of bascule_mariadb ------------------------

    def rerun(self, phase: str, copy_url: str) -> dict[str, Any]:
        tgt = self.targets.get("bascule_mariadb")
        if not tgt:
            raise RuntimeError(f"{phase} needs the target of bascule_mariadb, which did not run")
        report = self.workdir / f"{phase}-report.json"
        out = ["--no-progress", "--json", str(report), "--report-dir",
               str(self.workdir / "reports")]
        extra: dict[str, Any] = {"target": safe_url(tgt), "source": "copy of the source"}
        if phase == "verify_after_rerun":
            argv = [*bascule_argv(), "verify", "--changed", "--seed", "1", "--workers", "0",
                    "--source", copy_url, "--target", tgt, *out]
        else:
            if phase == "rerun_1pct":
                extra["change"] = change = change_source(copy_url, CHANGE_FRACTION, CHANGE_SEED)
                change["groups_changed"] = len(change["groups_changed"])
                log(f"rerun_1pct: {change['rows_changed']:,} rows changed in the copy of the "
                    f"source ({change['groups_changed']} groups)")
            argv = [*bascule_argv(), "migrate", "--workers", "0", "--source", copy_url,
                    "--target", tgt, *(["--prune"] if phase == "rerun_1pct" else []), *out]
        log(f"{phase}: {' '.join(argv[len(bascule_argv()):len(bascule_argv()) + 2])} "
            f"-> {safe_url(tgt)}")
        m = measure([(phase, argv)], self.workdir, cwd=self.workdir)
        rows = 0
        try:
            rep = json.loads(report.read_text())
            if phase == "verify_after_rerun":
                extra["report_status"] = rep.get("ok")
                extra["scope"] = rep.get("scope")
                rows = sum(int(t.get("target", 0)) for t in rep.get("tables", {}).values())
                extra["rows_read"] = sum(int(t.get("source", 0))
                                         for t in rep.get("tables", {}).values())
                extra["rows_written"] = 0
                extra["rows_note"] = "rows: target rows compared; rows_read: source rows"
            else:
                rows = sum(int(t.get(k, 0)) for t in rep.get("totals", {}).values()
                           for k in ("insert", "update", "delete"))
                extra["rows_note"] = "rows written (insert + update + delete)"
                extra.update(report_status=rep.get("status"), rows_read=rep.get("rows_read"),
                             groups_moved=len(rep.get("groups", [])),
                             groups_unchanged=len(rep.get("unchanged_groups", [])),
                             changes=rep.get("changes"), timings=rep.get("timings"))
        except (OSError, ValueError, AttributeError):
            pass
        return self.result(m, rows, **extra)

    # baseline A: mysqldump | mysql ----------------------------------------------------------

    def mysql_client_args(self, dbname: str) -> tuple[list[str], dict[str, str]]:
        u = make_url(self.mysql)
        args = [f"--host={u.host or '127.0.0.1'}", f"--port={u.port or 3306}",
                f"--user={u.username or 'root'}", "--protocol=TCP",
                "--default-character-set=utf8mb4"]
        env = dict(os.environ)
        if u.password:
            env["MYSQL_PWD"] = str(u.password)  # never on a command line
        return args, env

    def baseline_mysqldump(self, src_url: str, src_counts: dict[str, int]) -> dict[str, Any]:
        dump = first_bin("mysqldump", "mariadb-dump")
        client = first_bin("mysql", "mariadb")
        if not dump or not client:
            raise RuntimeError("mysqldump/mysql (or mariadb-dump/mariadb) not installed: "
                               "bash scripts/ensure-bench-tools.sh")
        src = make_url(src_url).database
        tgt = self.new_db(self.mysql, "mysqldump")
        self.targets["baseline_mysqldump"] = tgt  # an exact copy: the cutover phases change it
        dst = make_url(tgt).database
        conn, env = self.mysql_client_args(src)
        tables = sorted(src_counts)
        # the empty copy of the source schema (not timed)
        s = measure([("schema_dump", [dump, *conn, "--no-data", "--skip-triggers", src, *tables]),
                     ("schema_load", [client, *conn, dst])], self.workdir, env=env)
        if not s.ok:
            raise RuntimeError(f"copying the source schema failed:\n{s.error_text()}")
        log(f"baseline_mysqldump: {dump} --no-create-info | {client} -> {safe_url(tgt)}")
        m = measure([
            ("mysqldump", [dump, *conn, "--no-create-info", "--single-transaction",
                           "--skip-triggers", src, *tables]),
            ("mysql", [client, *conn, dst]),
        ], self.workdir, env=env)
        counts = count_rows(tgt)
        rows = sum(counts.values())
        extra: dict[str, Any] = {"tables": len(tables), "schema_copy_s": s.wall_s,
                                 "target": safe_url(tgt),
                                 "matches_source": counts == src_counts}
        return self.result(m, rows, **extra)

    # baseline B: pgloader ---------------------------------------------------------------------

    def baseline_pgloader(self, src_url: str, src_counts: dict[str, int]) -> dict[str, Any]:
        pgl = first_bin("pgloader")
        if not pgl:
            raise RuntimeError("pgloader not installed: bash scripts/ensure-bench-tools.sh")
        tgt = self.new_db(self.pg, "pgloader")
        su, tu = make_url(src_url), make_url(tgt)

        def pgl_url(scheme: str, u, default_port: int) -> str:
            auth = quote(u.username or "", safe="")
            if u.password:
                auth += ":" + quote(str(u.password), safe="")
            return f"{scheme}://{auth}@{u.host or '127.0.0.1'}:{u.port or default_port}/{u.database}"

        load = self.workdir / "pgloader.load"
        load.write_text(
            "LOAD DATABASE\n"
            f"     FROM {pgl_url('mysql', su, 3306)}\n"
            f"     INTO {pgl_url('postgresql', tu, 5432)}\n"
            " WITH include drop, create tables, create indexes, reset sequences, foreign keys,\n"
            f"      workers = {self.args.pgloader_workers}, concurrency = 1\n"
            " SET MySQL PARAMETERS net_read_timeout = '600', net_write_timeout = '600'\n"
            f" ALTER SCHEMA '{su.database}' RENAME TO 'public';\n")
        os.chmod(load, 0o600)  # may hold passwords
        log(f"baseline_pgloader: pgloader -> {safe_url(tgt)}")
        m = measure([("pgloader", [pgl, "--on-error-stop", "--root-dir",
                                   str(self.workdir / "pgloader"), "--logfile",
                                   str(self.workdir / "pgloader.log"), str(load)])],
                    self.workdir, stdout_file=self.workdir / "pgloader.stdout")
        load.unlink(missing_ok=True)
        counts = count_rows(tgt)
        rows = sum(counts.values())
        lower_src = {k.lower(): v for k, v in src_counts.items()}
        extra: dict[str, Any] = {"tables": len(counts), "target": safe_url(tgt),
                                 "matches_source": {k.lower(): v for k, v in counts.items()}
                                 == lower_src,
                                 "options": "include drop, create tables, create indexes, "
                                 "reset sequences, foreign keys, "
                                 f"workers = {self.args.pgloader_workers}, concurrency = 1"}
        if not m.ok:
            m.procs[0].stderr_file.write_text(
                tail(m.procs[0].stderr_file, 40) + "\n" + tail(self.workdir / "pgloader.stdout", 40))
        return self.result(m, rows, **extra)


# --------------------------------------------------------------------------------------------
# output


def fmt(v: Any, nd: int = 1) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def console():
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 150)


def print_table(res: dict[str, Any]) -> None:
    from rich.table import Table

    con = console()
    t = Table(title=f"bascule bench, scale {res['scale']}, seed {res['seed']} "
                    f"({res['machine']['cores']} cores, {res['machine']['memory_gb']} GB); "
                    f"source {res['source'].get('total_rows', 0):,} rows")
    for col, just in (("phase", "left"), ("ok", "center"), ("rows", "right"),
                      ("wall s", "right"), ("rows/s", "right"), ("peak RSS MB", "right"),
                      ("measured", "left"), ("note", "left")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for ph in PHASES:
        r = res.get(ph)
        if not r:
            continue
        rss = fmt(r.get("peak_rss_mb"))
        if len(r.get("processes", [])) > 1:
            rss += " (" + " + ".join(f"{p['name']} {fmt(p['peak_rss_mb'])}"
                                     for p in r["processes"]) + ")"
        note = ""
        if r.get("error"):
            lines = [ln.strip() for ln in r["error"].splitlines() if ln.strip()
                     and not ln.strip().startswith("...")]
            note = lines[-1][:80] if lines else "failed"  # the message, after any traceback
        elif r.get("matches_source") is False:
            note = "row counts differ from the source"
        elif r.get("groups_failed"):
            note = f"{r['groups_failed']} groups failed"
        wall = fmt(r.get("wall_s"))
        if r.get("wall_s_spread"):  # the median of --repeat runs, and their spread
            sp = r["wall_s_spread"]
            wall += f" ({r['repeat']} runs, {fmt(sp['min'])}–{fmt(sp['max'])})"
        t.add_row(ph, "yes" if r.get("ok") else "[red]NO[/red]", fmt(r.get("rows")),
                  wall, fmt(r.get("rows_per_s"), 0), rss,
                  str(r.get("measured_at", ""))[11:16], note)
    con.print(t)
    for key, label in (("ratio_mariadb", "bascule_mariadb / baseline_mysqldump"),
                       ("ratio_postgres", "bascule_postgres / baseline_pgloader")):
        w = res.get(key.replace("ratio", "wall_ratio"))
        runs = (res.get(key.replace("ratio", "wall_ratio") + "_runs") or {}).get("runs") or []
        con.print(f"{key} (rows/s, {label}): {fmt(res.get(key), 3)}"
                  f"   wall-time ratio: {fmt(w, 3)}"
                  + (f" (median of {len(runs)} paired runs: "
                     + ", ".join(fmt(x, 3) for x in runs) + ")" if len(runs) > 1 else ""))
    for tgt in ("mariadb", "postgres"):
        v, mg = res.get(f"verify_{tgt}"), res.get(f"bascule_{tgt}")
        if v and mg and v.get("wall_s") is not None and mg.get("wall_s") is not None:
            con.print(f"verify_{tgt}: {v['wall_s']:.1f} s vs migrate {mg['wall_s']:.1f} s "
                      f"({'ok' if v['wall_s'] <= mg['wall_s'] else 'SLOWER than migrate'})")
    if res.get("frozen_window_s") is not None:
        con.print(f"frozen window: {res['frozen_window_s']:.1f} s (rerun_1pct + "
                  f"verify_after_rerun; {fmt(res.get('frozen_window_share'), 3)} of full migrate "
                  f"+ verify); rerun_nochange {fmt(res.get('rerun_nochange_share'), 3)}, "
                  f"rerun_1pct {fmt(res.get('rerun_1pct_share'), 3)} of bascule_mariadb")
    for ph in PHASES:
        r = res.get(ph)
        if r and r.get("error") and r.get("measured_at", "") >= res["run_started_at"]:
            con.print(f"\n[bold red]{ph} failed[/bold red]:\n{r['error']}", markup=True,
                      highlight=False)


# --------------------------------------------------------------------------------------------
# modes


def selected_phases(only: list[str] | None) -> list[str]:
    if not only:
        return list(PHASES)
    want = set(only)
    for v in VERIFIES:  # a verify needs its migrate
        if v in want:
            want.add("bascule_" + v.split("_", 1)[1])
    if want & set(CUTOVER):  # the reruns go into the target of bascule_mariadb, in order
        want.update(("bascule_mariadb", "verify_mariadb", *CUTOVER))
    return [p for p in PHASES if p in want]


def schedule(phases: list[str], repeat: int) -> list[tuple[str, int]]:
    """(phase, round) in the order they run: with ``repeat`` > 1, the full-load phases in
    ``repeat`` interleaved rounds, then the others once, on the last round's targets."""
    if repeat <= 1:
        return [(p, 0) for p in phases]
    full = [p for p in FULL_LOAD if p in phases]
    return ([(p, r) for r in range(repeat) for p in full]
            + [(p, repeat - 1) for p in phases if p not in full])


def run_phase(fn, *a, **kw) -> dict[str, Any]:
    try:
        return fn(*a, **kw)
    except KeyboardInterrupt:
        raise
    except Exception as e:  # noqa: BLE001
        log(f"phase failed: {e.__class__.__name__}: {str(e).splitlines()[0] if str(e) else ''}")
        return {"rows": None, "wall_s": None, "rows_per_s": None, "peak_rss_mb": None,
                "ok": False, "measured_at": dt.datetime.now().isoformat(timespec="seconds"),
                "error": f"{e.__class__.__name__}: {e}\n"
                         + "".join(traceback.format_exc().splitlines(True)[-6:])}


def finish(res: dict[str, Any], out_path: Path) -> None:
    """Ratios and notes from the phases present, then write the JSON (after every phase, so an
    interrupted run keeps what it measured)."""
    res["ratio_definition"] = ("rows_per_s of the bascule phase / rows_per_s of the baseline "
                               "(>1: bascule faster per row written); wall_ratio_* = wall_s of "
                               "the bascule phase / wall_s of the baseline; with --repeat N, "
                               "the median of the ratios of the runs of the same round "
                               "(*_runs: each round's ratio); a phase's wall_s is the median "
                               "of its runs, peak_rss_mb the largest")
    for tgt, base in (("mariadb", "baseline_mysqldump"), ("postgres", "baseline_pgloader")):
        a, b = res.get(f"bascule_{tgt}"), res.get(base)
        for key, name in (("rows_per_s", "ratio"), ("wall_s", "wall_ratio")):
            pr = paired_ratio(a, b, key)  # the median of the ratios of the same round's runs
            res[f"{name}_{tgt}"] = pr["median"] if pr else None
            res[f"{name}_{tgt}_runs"] = pr
    for tgt in ("mariadb", "postgres"):
        v, mg = res.get(f"verify_{tgt}"), res.get(f"bascule_{tgt}")
        if v and mg and v.get("wall_s") is not None and mg.get("wall_s") is not None:
            res[f"verify_{tgt}_le_migrate"] = v["wall_s"] <= mg["wall_s"]
    cutover(res)
    res["peak_rss_note"] = ("peak RSS per process by GNU time; for a command that forks worker "
                            "processes (bascule), the peak of the sum of the RSS of all its "
                            "processes, sampled every 0.2 s (processes[].sampled: also the sum "
                            "of PSS, which counts pages the forked processes share once); for "
                            "mysqldump|mysql the sum of both processes (they run together)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(res, indent=2, default=str) + "\n")


def cutover(res: dict[str, Any]) -> None:
    """The cutover night's figures: frozen_window_s and the shares of the full run."""
    full, ver = res.get("bascule_mariadb") or {}, res.get("verify_mariadb") or {}
    r1, v1, r0 = (res.get(p) or {} for p in ("rerun_1pct", "verify_after_rerun",
                                              "rerun_nochange"))
    ok = all(x.get("ok") and x.get("wall_s") for x in (r1, v1))
    res["frozen_window_s"] = round(r1["wall_s"] + v1["wall_s"], 1) if ok else None
    if full.get("ok") and full.get("wall_s"):
        for k, x in (("rerun_nochange_share", r0), ("rerun_1pct_share", r1)):
            res[k] = round(x["wall_s"] / full["wall_s"], 3) if x.get("ok") else None
        if res["frozen_window_s"] and ver.get("ok"):
            res["frozen_window_share"] = round(res["frozen_window_s"]
                                               / (full["wall_s"] + ver["wall_s"]), 3)
    res["cutover_definition"] = ("frozen_window_s = wall_s of rerun_1pct + verify_after_rerun; "
                                 "*_share = wall_s / wall_s of bascule_mariadb (frozen window: "
                                 "/ bascule_mariadb + verify_mariadb); targets 0.15, 0.25, 0.40")


def main_bench(args: argparse.Namespace, workdir: Path) -> int:
    started = dt.datetime.now().isoformat(timespec="seconds")
    bench = Bench(args, workdir)
    phases = selected_phases(args.only)
    src = ensure_source(args.mysql, args.seed, args.scale, args.regenerate, workdir)
    src_url = db_url(args.mysql, src["database"])
    out_path = new_result_path(scale_label(args.scale))
    res: dict[str, Any] = {}
    earlier = results_of(scale_label(args.scale))
    if args.only and earlier:  # keep the other phases of the latest run at this scale
        try:
            res = json.loads(earlier[-1].read_text())
            if res.get("seed") != args.seed:
                res = {}
            else:
                log(f"--only: the other phases come from {earlier[-1].relative_to(REPO)}")
        except ValueError:
            res = {}
    res.update({"scale": args.scale, "seed": args.seed, "machine": machine_info(),
                "run_started_at": started, "source": {k: v for k, v in src.items()
                                                      if k != "counts"}})
    res["source"]["tables"] = len(src["counts"])
    res["versions"] = versions(args.mysql, args.pg)
    copy_url: str | None = None  # the copy of the source the cutover phases change
    repeat = args.repeat or (3 if args.scale >= 1.0 else 1)
    res["repeat"] = repeat
    runs: dict[str, list[dict[str, Any]]] = {}
    try:
        for ph, rnd in schedule(phases, repeat):
            last = rnd == repeat - 1
            if ph in CUTOVER:
                if copy_url is None:
                    copy_url = bench.source_copy(src_url, src["counts"])
                r = run_phase(bench.rerun, ph, copy_url)
            elif ph in MIGRATES:
                r = run_phase(bench.bascule_migrate, ph, src_url)
                if r.get("rows"):
                    bench.last_rows[ph] = r["rows"]
            elif ph in VERIFIES:
                r = run_phase(bench.bascule_verify, ph, src_url)
            elif ph == "baseline_mysqldump":
                r = run_phase(bench.baseline_mysqldump, src_url, src["counts"])
            else:
                r = run_phase(bench.baseline_pgloader, src_url, src["counts"])
            runs.setdefault(ph, []).append(r)
            res[ph] = summarize(runs[ph])
            if r.get("wall_s") is not None:
                tag = f" (run {rnd + 1} of {repeat})" if ph in FULL_LOAD and repeat > 1 else ""
                log(f"{ph}{tag}: {'ok' if r.get('ok') else 'FAILED'}, {fmt(r.get('rows'))} rows, "
                    f"{r['wall_s']:.1f} s, {fmt(r.get('rows_per_s'), 0)} rows/s, "
                    f"peak RSS {fmt(r.get('peak_rss_mb'))} MB")
            if not last:  # an earlier round: its targets are not needed any more
                if not args.keep:
                    bench.drop_all(keep=[copy_url])
                finish(res, out_path)
                continue
            if ph == "baseline_mysqldump" and set(CUTOVER) & set(phases):
                copy_url = bench.targets.get("baseline_mysqldump")  # kept for the cutover
            done_with = ph in VERIFIES or (ph in MIGRATES and f"verify_{ph.split('_', 1)[1]}"
                                           not in phases)
            if done_with and not (ph.endswith("mariadb") and set(CUTOVER) & set(phases)):
                # the target of a migrate is no longer needed once verified: free the space
                if not args.keep:
                    mig = "bascule_" + ph.split("_", 1)[1]
                    url = bench.targets.get(mig)
                    if url and url in bench.created:
                        drop_database(url)
                        bench.created.remove(url)
            if ph in BASELINES and not args.keep:  # the migrates' targets wait for verify
                bench.drop_all(keep=[*(bench.targets.get(m) for m in MIGRATES), copy_url])
            finish(res, out_path)
    finally:
        if args.keep:
            log("kept: " + ", ".join(safe_url(u) for u in bench.created))
        else:
            bench.drop_all()
    finish(res, out_path)
    print_table(res)
    print(f"\nwrote {out_path.relative_to(REPO)}")
    failed = [ph for ph in phases if not (res.get(ph) or {}).get("ok")]
    return 1 if failed else 0


def main_growth(args: argparse.Namespace, workdir: Path) -> int:
    from rich.table import Table

    scales = [float(s) for s in args.growth_scales.split(",") if s.strip()]
    targets = [t.strip() for t in args.growth_targets.split(",") if t.strip()]
    for t in targets:
        if t not in ("mariadb", "postgres"):
            raise SystemExit(f"--growth-targets: unknown target {t!r} (mariadb, postgres)")
    res: dict[str, Any] = {"seed": args.seed, "scales": scales, "targets": targets,
                           "machine": machine_info(),
                           "run_started_at": dt.datetime.now().isoformat(timespec="seconds"),
                           "runs": {}}
    for sc in scales:
        src = ensure_source(args.mysql, args.seed, sc, args.regenerate, workdir)
        src_url = db_url(args.mysql, src["database"])
        for t in targets:
            bench = Bench(args, workdir)
            ph = f"bascule_{t}"
            try:
                r = run_phase(bench.bascule_migrate, ph, src_url)
            finally:
                if not args.keep:
                    bench.drop_all()
            r["source_rows"] = src["total_rows"]
            res["runs"].setdefault(t, {})[scale_label(sc)] = r
            log(f"growth {t} scale {sc}: {fmt(r.get('rows'))} rows, {fmt(r.get('wall_s'))} s, "
                f"peak RSS {fmt(r.get('peak_rss_mb'))} MB{'' if r.get('ok') else ' FAILED'}")
    summary: dict[str, Any] = {}
    for t in targets:
        runs = res["runs"].get(t, {})

        def get(sc: float, key: str):
            r = runs.get(scale_label(sc)) or {}
            return r.get(key) if r.get("ok") else None

        s = {}
        ordered = sorted(scales)
        if len(ordered) >= 2:  # default scales: time_growth_0.5_to_1.0
            a, b = ordered[-2], ordered[-1]
            if get(a, "wall_s") and get(b, "wall_s"):
                s[f"time_growth_{scale_label(a)}_to_{scale_label(b)}"] = round(
                    get(b, "wall_s") / get(a, "wall_s"), 3)
                if get(a, "rows") and get(b, "rows"):
                    s[f"rows_growth_{scale_label(a)}_to_{scale_label(b)}"] = round(
                        get(b, "rows") / get(a, "rows"), 3)
        lo, hi = min(scales), max(scales)
        if get(lo, "peak_rss_mb") and get(hi, "peak_rss_mb"):
            s[f"rss_ratio_{scale_label(hi)}_vs_{scale_label(lo)}"] = round(
                get(hi, "peak_rss_mb") / get(lo, "peak_rss_mb"), 3)
            s["rss_spread_mb"] = round(get(hi, "peak_rss_mb") - get(lo, "peak_rss_mb"), 1)
        summary[t] = s
    res["summary"] = summary
    res["summary_definition"] = ("time_growth: wall_s at the largest scale / at the next one "
                                 "(0.5 -> 1.0 by default: 2.0 = linear, compare rows_growth); "
                                 "rss_ratio: peak RSS at the largest / the smallest scale "
                                 "(1.0 = flat memory)")
    res["versions"] = versions(args.mysql, args.pg)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{dt.date.today().isoformat()}-growth.json"
    out.write_text(json.dumps(res, indent=2, default=str) + "\n")

    con = console()
    tab = Table(title=f"bascule growth, seed {args.seed}")
    for col in ("target", "scale", "ok", "rows", "wall s", "rows/s", "peak RSS MB"):
        tab.add_column(col, justify="left" if col in ("target", "ok") else "right")
    for t in targets:
        for sc in scales:
            r = res["runs"].get(t, {}).get(scale_label(sc), {})
            tab.add_row(t, scale_label(sc), "yes" if r.get("ok") else "[red]NO[/red]",
                        fmt(r.get("rows")), fmt(r.get("wall_s")), fmt(r.get("rows_per_s"), 0),
                        fmt(r.get("peak_rss_mb")))
    con.print(tab)
    for t, s in summary.items():
        con.print(f"{t}: " + ", ".join(f"{k} = {v}" for k, v in s.items()) if s else
                  f"{t}: not enough successful runs for the ratios")
    for t in targets:
        for sc in scales:
            r = res["runs"].get(t, {}).get(scale_label(sc), {})
            if r.get("error"):
                con.print(f"\n[bold red]{t} scale {sc} failed[/bold red]:\n{r['error']}",
                          highlight=False)
    print(f"\nwrote {out.relative_to(REPO)}")
    ok = all(r.get("ok") for t in res["runs"].values() for r in t.values())
    return 0 if ok else 1


def main_profile(args: argparse.Namespace, workdir: Path) -> int:
    import pstats

    src = ensure_source(args.mysql, args.seed, args.scale, args.regenerate, workdir)
    src_url = db_url(args.mysql, src["database"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    prof = RESULTS / f"{dt.date.today().isoformat()}-{scale_label(args.scale)}-migrate.prof"
    bench = Bench(args, workdir)
    try:
        r = run_phase(bench.bascule_migrate, "bascule_mariadb", src_url, profile_to=prof)
    finally:
        if not args.keep:
            bench.drop_all()
    print(f"profiled migrate (MariaDB -> MariaDB, under cProfile): {fmt(r.get('rows'))} rows, "
          f"{fmt(r.get('wall_s'))} s, peak RSS {fmt(r.get('peak_rss_mb'))} MB"
          + ("" if r.get("ok") else "  FAILED"))
    if r.get("error"):
        print(r["error"])
    if not prof.exists():
        print("no profile written")
        return 1
    for key in ("cumulative", "tottime"):
        print(f"\n=== top 25 by {key} ===")
        pstats.Stats(str(prof), stream=sys.stdout).strip_dirs().sort_stats(key).print_stats(25)
    print(f"wrote {prof.relative_to(REPO)}  (python -m pstats {prof.relative_to(REPO)})")
    return 0 if r.get("ok") else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="source scale (default 1.0)")
    ap.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    ap.add_argument("--only", action="append", choices=PHASES, metavar="PHASE",
                    help="run only this phase (repeatable): " + ", ".join(PHASES)
                    + " (a verify phase brings its migrate)")
    ap.add_argument("--keep", action="store_true", help="do not drop the target databases")
    ap.add_argument("--regenerate", action="store_true", help="rebuild the source")
    ap.add_argument("--growth", action="store_true",
                    help="growth mode: bascule migrate at several scales, time and peak RSS")
    ap.add_argument("--growth-scales", default="0.25,0.5,1.0",
                    help="comma-separated scales of --growth (default 0.25,0.5,1.0)")
    ap.add_argument("--growth-targets", default="mariadb,postgres",
                    help="comma-separated targets of --growth (default mariadb,postgres)")
    ap.add_argument("--profile", action="store_true",
                    help="run migrate MariaDB -> MariaDB under cProfile, print the top functions")
    ap.add_argument("--repeat", type=int, default=None, metavar="N",
                    help="run the full-load phases (bascule into MariaDB and PostgreSQL, "
                    "mysqldump|mysql, pgloader) N times, interleaved, and keep the medians "
                    "(default 3 at scale 1.0 and above, else 1)")
    ap.add_argument("--batch-size", type=int, default=None, help="passed to bascule migrate")
    ap.add_argument("--pgloader-workers", type=int, default=4,
                    help="pgloader's workers (default 4, its default)")
    ap.add_argument("--mysql", default=os.environ.get("BENCH_MYSQL_URL",
                                                      "mysql://root@127.0.0.1:3306"),
                    help="MariaDB server URL (source and MariaDB targets)")
    ap.add_argument("--pg", default=os.environ.get("BENCH_PG_URL",
                                                   "postgresql://postgres@127.0.0.1:5432"),
                    help="PostgreSQL server URL")
    ap.add_argument("--keep-workdir", action="store_true",
                    help="keep the temporary directory (stderr of every process, reports)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bascule-bench-"))
    (workdir / "reports").mkdir()
    try:
        if args.growth:
            return main_growth(args, workdir)
        if args.profile:
            return main_profile(args, workdir)
        return main_bench(args, workdir)
    finally:
        if args.keep_workdir or args.keep:
            log(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
