"""The nginx output served by a REAL nginx (Debian package, see scripts/ensure-nginx.sh).

Each test emits the config into tmp_path, writes a minimal nginx.conf that includes it, checks it
with `nginx -t`, starts nginx in the foreground on a free loopback port, waits for the port, and
asks it every sampled URL with redirects disabled.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

import pytest

from bascule.redirects.common import EmitOptions
from bascule.redirects.mapping import DictMapping
from bascule.redirects.nginx import emit_nginx
from bascule.redirects.routes import ACTIVE_ROUTES

from nginxd import Nginx, nginx_test, write_nginx_conf
from samples import (  # noqa: F401
    CODES, NEW, NEW_ID, OLD, OLD_ID, PASS, SHOP_ID, UTC, free_port, sample_mapping, sample_urls,
)

def serve(tmp_path: Path, mapping, **kw):
    conf_dir = tmp_path / "out"
    opts = EmitOptions(old_host=OLD, new_host=NEW, config_dir=str(conf_dir), **kw)
    emit_nginx(mapping, opts, conf_dir)
    port = free_port()
    conf = write_nginx_conf(tmp_path / "nginx", conf_dir, port)
    t = nginx_test(tmp_path / "nginx", conf)
    assert t.returncode == 0, t.stderr
    return Nginx(tmp_path / "nginx", conf, port), opts


@pytest.fixture
def started():
    servers = []
    yield servers
    for s in servers:
        s.stop()


def test_every_route_redirects_before_the_cut(tmp_path, started):
    cut = dt.datetime.now(UTC) + dt.timedelta(days=30)
    ng, opts = serve(tmp_path, sample_mapping(), cut=cut)
    started.append(ng)
    seen = 0
    for r, old, new in sample_urls():
        st, h, _ = ng.get(old)
        assert st == 301, (r.name, old, st)
        assert h["location"] == f"https://{NEW}{new}", (r.name, old)
        m = re.fullmatch(r"max-age=(\d+)", h["cache-control"])
        assert m and int(m.group(1)) == opts.max_age
        seen += 1
    assert seen == len(ACTIVE_ROUTES) > 100


def test_query_ids_remapped_in_any_order_and_extra_args_dropped(tmp_path, started):
    ng, _ = serve(tmp_path, sample_mapping(), cut=dt.datetime.now(UTC) + dt.timedelta(days=3))
    started.append(ng)
    G, C, D, MD, VR = (OLD_ID[k] for k in ("G", "C", "D", "MD", "VR"))
    nG, nC, nD, nMD = (NEW_ID[k] for k in ("G", "C", "D", "MD"))
    cases = {
        f"/user/choose?show=1&group={G}": f"/user/choose?group={nG}",
        f"/contractAdmin/orders/{C}?csv=1&d={D}": f"/contractAdmin/orders/{nC}?d={nD}",
        f"/contractAdmin/orders/{C}": f"/contractAdmin/orders/{nC}",
        f"/contractAdmin/orders/{C}?d=abc": f"/contractAdmin/orders/{nC}",
        f"/contractAdmin/products/{C}?enable=1|2": f"/contractAdmin/products/{nC}",
        f"/distribution/volunteersCalendar?role={VR}&distrib={MD}&from=x": f"/distribution/volunteersCalendar/{nMD}",
        f"/group/{G}/": f"/group/{nG}",
        f"/contract/order/{C}": f"/subscriptions/contract/{nC}",
        f"/account/basket/{OLD_ID['B']}/2": f"/history/basket/{NEW_ID['B']}/2",
        f"/subscriptions/edit/{OLD_ID['S']}": f"/contractAdmin/subscriptions/edit/{NEW_ID['S']}",
        f"/contract/edit/{C}": f"/contractAdmin/edit/{nC}",
        f"/group/{G + 1000}": f"/group/{nG + 1000}",
    }
    for old, new in cases.items():
        st, h, _ = ng.get(old)
        assert (st, h.get("location")) == (301, f"https://{NEW}{new}"), old


def test_not_moved_idless_and_unknown_urls_pass_through(tmp_path, started):
    ng, _ = serve(tmp_path, sample_mapping(), cut=dt.datetime.now(UTC) + dt.timedelta(days=3))
    started.append(ng)
    C, D = OLD_ID["C"], OLD_ID["D"]
    urls = [
        "/", "/home", "/contractAdmin", "/member", "/user/choose", "/user/choose?show=1",
        "/distribution/volunteersCalendar", f"/group/{SHOP_ID}", f"/user/choose?group={SHOP_ID}",
        f"/contract/order/{SHOP_ID}", f"/contractAdmin/orders/{C}?d={SHOP_ID}",
        f"/contractAdmin/orders/{SHOP_ID}?d={D}", f"/member/view/{OLD_ID['U']}",
        f"/member/invoice/{OLD_ID['U']}/{SHOP_ID}", f"/member/invoice/{SHOP_ID}/{OLD_ID['MD']}",
        f"/vendor/edit/{OLD_ID['V']}", f"/file/{OLD_ID['F']}_0123456789abcdef0123456789abcdef.jpg",
        f"/api/planning/{OLD_ID['G']}", f"/p/pro/group/{OLD_ID['G']}", f"/group/{OLD_ID['G']}x",
        f"/Group/{OLD_ID['G']}", f"/group/{OLD_ID['G']}/extra", "/group/", f"/shop/{SHOP_ID}",
    ]
    for u in urls:
        st, h, body = ng.get(u)
        assert (st, body) == (404, "passthrough\n"), u
        assert "location" not in h
    for u in ("/__bascule/redirect", "/__bascule/gone"):  # internal locations: plain 404
        st, h, _ = ng.get(u)
        assert st == 404 and "location" not in h


def test_after_the_cut_the_fallback_is_a_410_notice(tmp_path, started):
    ng, _ = serve(tmp_path, sample_mapping(), cut=dt.datetime.now(UTC) - dt.timedelta(days=1))
    started.append(ng)
    for r, old, _new in list(sample_urls())[::7]:
        st, h, body = ng.get(old)
        assert st == 410, (r.name, old)
        assert "location" not in h
        assert NEW in body and h["content-type"].startswith("text/html")
        assert h["cache-control"] == "no-store"
    st, _, body = ng.get(f"/group/{SHOP_ID}")  # not moved: still the old site
    assert (st, body) == (404, "passthrough\n")


def test_after_the_cut_home_fallback(tmp_path, started):
    ng, _ = serve(tmp_path, sample_mapping(), cut=dt.datetime.now(UTC) - dt.timedelta(seconds=5),
                  fallback="home")
    started.append(ng)
    st, h, _ = ng.get(f"/group/{OLD_ID['G']}")
    assert (st, h["location"]) == (302, f"https://{NEW}/home")


@pytest.mark.parametrize("seconds", [30, 400, 2000, 20000])
def test_cache_lifetime_never_reaches_past_the_cut(tmp_path, started, seconds):
    cut = dt.datetime.now(UTC) + dt.timedelta(seconds=seconds)
    ng, _ = serve(tmp_path, sample_mapping(), cut=cut, status=308)
    started.append(ng)
    st, h, _ = ng.get(f"/contract/order/{OLD_ID['C']}")
    left = (cut - dt.datetime.now(UTC)).total_seconds()
    assert st == 308
    age = int(re.fullmatch(r"max-age=(\d+)", h["cache-control"]).group(1))
    assert 0 <= age <= left
    assert age >= {30: 0, 400: 60, 2000: 600, 20000: 3600}[seconds]


def test_medium_scale_nginx_t(tmp_path):
    """A medium-size mapping (the Cagette-scale one is in bench/redirects_scale.py)."""
    n = 40_000
    m = DictMapping({
        "Distribution": {i: 10_000_000 + i for i in range(1, n + 1)},
        "Basket": {i: 20_000_000 + i for i in range(1, 2 * n + 1)},
        "Catalog": {i: 30_000 + i for i in range(1, 2_001)},
        "Group": {i: 900 + i for i in range(1, 600)},
    })
    conf_dir = tmp_path / "out"
    emit_nginx(m, EmitOptions(old_host=OLD, new_host=NEW, config_dir=str(conf_dir),
                              cut=dt.datetime.now(UTC) + dt.timedelta(days=1)), conf_dir)
    conf = write_nginx_conf(tmp_path / "nginx", conf_dir, free_port())
    t0 = time.perf_counter()
    t = nginx_test(tmp_path / "nginx", conf)
    took = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in conf_dir.iterdir())
    print(f"\nmedium scale: {3 * n + 2600} ids, {size / 1e6:.1f} MB of config, nginx -t {took:.2f}s")
    assert t.returncode == 0, t.stderr
