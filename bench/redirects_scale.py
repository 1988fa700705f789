"""Cagette-scale redirect config: size, emit time, `nginx -t` time, and requests/s with wrk.

    .venv/bin/python bench/redirects_scale.py [--scale 1.0] [--wrk-seconds 10] [--no-wrk]
    .venv/bin/python bench/redirects_scale.py --target URL   # the id map of a real migration

Not a test: it prints figures. Needs nginx (and wrk for the load part): scripts/ensure-nginx.sh.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from bascule.redirects.common import EmitOptions  # noqa: E402
from bascule.redirects.mapping import DictMapping  # noqa: E402
from bascule.redirects.nginx import emit_nginx  # noqa: E402

SIZES = {  # entities of AMAP groups at Cagette scale (spec: 1,500 AMAP groups, 150,000 users)
    "Group": 1_500, "Catalog": 12_000, "Product": 90_000, "Distribution": 300_000,
    "MultiDistrib": 100_000, "User": 150_000, "Subscription": 200_000, "Basket": 600_000,
    "Place": 2_500, "VolunteerRole": 6_000, "DistributionCycle": 5_000, "EntityFile": 8_000,
    "Operation": 400_000, "UserOrder": 500_000,
}


def mapping(scale: float) -> DictMapping:
    rnd = random.Random(1)
    data = {}
    for kind, n in SIZES.items():
        n = max(1, int(n * scale))
        olds = rnd.sample(range(1, 3 * n + 10), n)  # gaps: shop-mode ids in between
        base = rnd.randrange(100_000, 200_000)
        data[kind] = {o: base + i for i, o in enumerate(sorted(olds))}
    return DictMapping(data)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--wrk-seconds", type=int, default=10)
    ap.add_argument("--no-wrk", action="store_true")
    ap.add_argument("--target", help="read the id mapping from this migrated target database "
                    "(bascule_idmap) instead of a synthetic one")
    a = ap.parse_args()
    import test_redirects_nginx as T  # the test harness: nginx.conf writer, port, start/stop

    if a.target:
        from bascule.dbutil import make_engine
        from bascule.redirects.mapping import DbMapping

        m = DbMapping(make_engine(a.target))
    else:
        m = mapping(a.scale)
    total = sum(m.count(k) for k in m.kinds())
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        out = tmp / "out"
        opts = EmitOptions(old_host=T.OLD, new_host=T.NEW, config_dir=str(out),
                           cut=dt.datetime.now(ZoneInfo("UTC")) + dt.timedelta(days=30))
        t0 = time.perf_counter()
        emit_nginx(m, opts, out)
        t_emit = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in out.iterdir())
        port = T.free_port()
        conf = T.write_nginx_conf(tmp / "nginx", out, port)
        t0 = time.perf_counter()
        r = T.nginx_test(tmp / "nginx", conf)
        t_check = time.perf_counter() - t0
        print(f"entities mapped: {total:,} ({len(m.kinds())} kinds)")
        print(f"config: {size / 1e6:.1f} MB in {len(list(out.iterdir()))} files, emitted in {t_emit:.1f}s")
        print(f"nginx -t: {'ok' if r.returncode == 0 else 'FAILED'} in {t_check:.2f}s")
        if r.returncode:
            print(r.stderr)
            sys.exit(1)
        if a.no_wrk:
            return
        ng = T.Nginx(tmp / "nginx", conf, port, start_timeout=300)
        try:
            t0 = time.perf_counter()
            ng.get("/group/1")
            print(f"nginx startup + first request: {time.perf_counter() - t0:.2f}s "
                  "(after the port was open)")
            wrk = shutil.which("wrk")
            if not wrk:
                print("wrk missing: scripts/ensure-nginx.sh installs it")
                return
            # a Lua script that walks moved distributions: every request is a real redirect
            olds = [o for o, _ in m.items("Distribution")][:5000]
            lua = tmp / "urls.lua"
            lua.write_text(
                "local ids = {" + ",".join(map(str, olds)) + "}\n"
                "local i = 0\n"
                "request = function()\n"
                "  i = i % #ids + 1\n"
                "  return wrk.format('GET', '/distribution/list/' .. ids[i], {Host='" + T.OLD + "'})\n"
                "end\n")
            cmd = [wrk, "-t2", "-c50", f"-d{a.wrk_seconds}s", "-s", str(lua), f"http://127.0.0.1:{port}/"]
            print("$", " ".join(cmd))
            print(subprocess.run(cmd, capture_output=True, text=True).stdout)
            st, h, _ = ng.get(f"/distribution/list/{olds[0]}")
            print("sample:", st, h.get("location"), h.get("cache-control"))
        finally:
            ng.stop()


if __name__ == "__main__":
    main()
