"""Route table, id mapping, csv/json, Apache/HAProxy/Caddy outputs (parsed, checked by the real
servers and served for a sample), validation, and the `bascule redirects` command."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from bascule.dbutil import make_engine
from bascule.redirects import emit
from bascule.redirects.common import EmitError, EmitOptions, ge_regex, ttl_thresholds
from bascule.redirects.listing import emit_csv, emit_json
from bascule.load import idmap as packed
from bascule.redirects.mapping import DbMapping, DictMapping, idmap_metadata
from bascule.redirects.routes import ACTIVE_ROUTES, ROUTES

from nginxd import get, wait_port
from samples import NEW, NEW_ID, OLD, OLD_ID, SHOP_ID, free_port, sample_mapping, sample_urls  # noqa: F401

UTC = ZoneInfo("UTC")


def opts(tmp_path: Path, **kw) -> EmitOptions:
    kw.setdefault("cut", dt.datetime.now(UTC) + dt.timedelta(days=10))
    return EmitOptions(old_host=OLD, new_host=NEW, config_dir=str(tmp_path / "out"), **kw)


# --- route table ---------------------------------------------------------------------------------

def test_route_table_covers_the_key_routes():
    by_old = {r.old: r for r in ROUTES}
    must = {
        "/group/{G}": "/group/{G}",
        "/user/choose?group={G}": "/user/choose?group={G}",
        "/contract/order/{C}": "/subscriptions/contract/{C}",
        "/contract/view/{C}": "/subscriptions/contract/{C}",
        "/account/basket/{B}": "/history/basket/{B}",
        "/account/orders/{C}": "/history/orders/{C}",
        "/contract/edit/{C}": "/contractAdmin/edit/{C}",
        "/contract/absences/{C}": "/contractAdmin/absences/{C}",
        "/subscriptions/edit/{S}": "/contractAdmin/subscriptions/edit/{S}",
        "/contractAdmin/orders/{C}?d={D}": "/contractAdmin/orders/{C}?d={D}",
        "/distribution/volunteersCalendar?distrib={MD}": "/distribution/volunteersCalendar/{MD}",
        "/contractAdmin/products/{C}": "/contractAdmin/products/{C}",
        "/contractAdmin/view/{C}": "/contractAdmin/view/{C}",
        "/contractAdmin/selectDistrib/{C}": "/contractAdmin/selectDistrib/{C}",
        "/distribution/list/{D}": "/distribution/list/{D}",
    }
    for old, new in must.items():
        assert by_old[old].action == "redirect" and by_old[old].new == new, old
    assert by_old["/user/quitGroup/{G}/{U}/{sig:hash}"].target == "/group/{G}"
    assert by_old["/shop/{MD}"].action == "home"
    assert by_old["/contractAdmin/delete/{UO}"].action == "home"  # deletes a catalog in Camap
    for old in ("/member/view/{U}", "/vendor/edit/{V}", "/file/{F}_{sig}.{ext}", "/p/pro/group/{G}",
                "/account/editNotif/{U}/{sig:hash}", "/vendorNoAuthEdit/{V}/{sig:hash}"):
        assert by_old[old].action == "left", old
    assert len(ACTIVE_ROUTES) > 100
    for r in ACTIVE_ROUTES:  # a redirect never depends on a shared kind alone
        assert set(r.kinds) - {"U", "V", "F"}, r.name
        assert r.notes or r.action == "redirect" or r.ref


def test_ge_regex_and_thresholds():
    for n in (0, 7, 10, 1693519200, 1999999999):
        rx = re.compile("^" + ge_regex(n) + "$")
        for x in (0, 1, 9, 10, 11, n - 1, n, n + 1, 10 * n + 5, 1693519199, 2000000000):
            if x >= 0:
                assert bool(rx.match(str(x))) == (x >= n), (n, x)
    th = ttl_thresholds(1000000, 86400)
    assert th[0] == (1000000, "gone")
    for t, v in th[1:]:  # any second s >= t (and below the previous threshold): s + 1 + v <= cut
        assert v == "gone" or t + int(v) <= 1000000


@pytest.mark.parametrize("field,value", [
    ("old_host", "evil.org; return 200"), ("new_host", 'a"b'), ("new_host", "x.org\n}"),
    ("new_host", "a b"), ("new_host", "h{}.org"), ("new_host", "https://camap.alilo.fr"),
    ("config_dir", "/etc/ngx; include /x"), ("config_dir", "relative/dir"), ("config_dir", "/a b"),
    ("config_dir", "/a/../b"), ("status", 200), ("fallback", "500"), ("max_age", -1),
])
def test_injection_is_rejected(tmp_path, field, value):
    o = opts(tmp_path)
    setattr(o, field, value)
    with pytest.raises(EmitError):
        o.validate()


# --- mapping -------------------------------------------------------------------------------------

def test_dict_mapping():
    m = DictMapping({"Group": {5: 50, 1: 10}, "Catalog": {}})
    assert m.kinds() == ["Group"] and list(m.items("Group")) == [(1, 10), (5, 50)]
    assert m.get("Group", 5) == 50 and m.get("Group", 6) is None and m.count("Catalog") == 0


def test_db_mapping(dbs):
    url = dbs.new("idmap")
    eng = make_engine(url)
    md = idmap_metadata()
    md.create_all(eng)
    with eng.begin() as c:
        c.execute(insert(md.tables["bascule_group"]), [
            {"source": "s", "source_group_id": 1, "target_group_id": 11, "name": "A",
             "status": "done"},
            {"source": "s", "source_group_id": 2, "target_group_id": 12, "name": "B",
             "status": "running"}])
        c.execute(insert(md.tables["bascule_idmap"]), [{"source": "s", **e} for e in [
            {"table_name": "Catalog", "old_id": 9, "new_id": 90, "group_id": 1},
            {"table_name": "Catalog", "old_id": 3, "new_id": 30, "group_id": 1},
            {"table_name": "Catalog", "old_id": 4, "new_id": 40, "group_id": 2},  # group not done
            {"table_name": "Catalog", "old_id": 5, "new_id": 50, "group_id": 7},  # no bascule_group row
            {"table_name": "User", "old_id": 2**40, "new_id": 7, "group_id": None},
            {"table_name": "Group", "old_id": 1, "new_id": 11, "group_id": 1},
            {"table_name": "Group", "old_id": 2, "new_id": 12, "group_id": 2}]])
    m = DbMapping(eng, batch=1)
    assert m.kinds() == ["Catalog", "Group", "User"]
    assert list(m.items("Catalog")) == [(3, 30), (9, 90)]
    assert list(m.items("User")) == [(2**40, 7)] and m.get("User", 2**40) == 7
    assert m.get("Catalog", 9) == 90 and m.get("Catalog", 4) is None and m.get("Catalog", 5) is None
    assert m.count("Catalog") == 2 and m.count("Group") == 1 and m.count("Nothing") == 0
    assert m.group_of("Catalog", 9) == 1
    # the packed layout (bascule_idblock): two blocks of a moved group, one of a group not done

    big = {o: (o * 10, 0, None) for o in range(1, packed.BLOCK + 3)}  # two blocks
    with eng.begin() as c:
        c.execute(insert(md.tables["bascule_idblock"]), [
            dict(zip(packed.IDBLOCK_COLUMNS, r))
            for r in packed.pack_blocks("s", 1, "Distribution", big, 1)
            + packed.pack_blocks("s", 2, "Distribution", {10**6: (5, 0, None)}, 1)])
    m = DbMapping(eng, batch=1)
    assert m.kinds() == ["Catalog", "Distribution", "Group", "User"]
    assert list(m.items("Distribution")) == [(o, o * 10) for o in range(1, packed.BLOCK + 3)]
    assert m.count("Distribution") == packed.BLOCK + 2
    assert m.get("Distribution", packed.BLOCK + 2) == (packed.BLOCK + 2) * 10
    assert m.get("Distribution", 10**6) is None  # its group is not done
    assert m.group_of("Distribution", 7) == 1
    eng.dispose()


# --- csv / json ----------------------------------------------------------------------------------

def test_csv_and_json_enumerate_single_id_routes(tmp_path):
    m = sample_mapping()
    buf = io.StringIO()
    n = emit_csv(m, opts(tmp_path), buf)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert len(rows) == n > 100
    by = {(r["route"], r["old_id"]): r for r in rows}
    r = by[("contract.order", str(OLD_ID["C"]))]
    assert r["old_url"] == f"https://{OLD}/contract/order/{OLD_ID['C']}"
    assert r["new_url"] == f"https://{NEW}/subscriptions/contract/{NEW_ID['C']}"
    assert by[("user.choose", str(OLD_ID["G"]))]["new_url"] == f"https://{NEW}/user/choose?group={NEW_ID['G']}"
    assert by[("shop", str(OLD_ID["MD"]))]["new_url"] == f"https://{NEW}/home"
    assert not any(r["route"] == "contractAdmin.orders.d" for r in rows)  # two ids: not enumerated
    buf = io.StringIO()
    assert emit_json(m, opts(tmp_path), buf) == n
    d = json.loads(buf.getvalue())
    assert d["new_host"] == NEW and len(d["redirects"]) == n and len(d["routes"]) == len(ACTIVE_ROUTES)
    assert not any("ref" in r for r in d["routes"])  # no pointer to documents outside the repo
    assert d["redirects"][0] == {k: (int(v) if k in ("status", "old_id", "new_id") else v)
                                 for k, v in rows[0].items()}


def test_listing_streams():
    class Big(DictMapping):
        def items(self, kind):
            for i in range(1, 200_001):
                yield i, i + 10
    m = Big({"Group": {1: 2}})
    o = EmitOptions(old_host=OLD, new_host=NEW, cut=dt.datetime.now(UTC),
                    routes=[r for r in ACTIVE_ROUTES if r.name == "group"])

    class Sink(io.TextIOBase):
        n = 0
        def write(self, s):
            self.n += 1
            return len(s)
    s = Sink()
    assert emit_json(m, o, s) == 200_000 and s.n > 200_000  # written as it goes


# --- real servers ----------------------------------------------------------------------------------

def _stop(proc: subprocess.Popen):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover
        proc.kill()
        proc.wait()


def _check_served(port: int, live: bool, max_age: int = 86400):
    sample = list(sample_urls())
    for r, old, new in sample[::3] + sample[-3:]:
        st, h, body = get(port, old)
        if live:
            assert (st, h.get("location")) == (301, f"https://{NEW}{new}"), (r.name, old, st)
            age = int(re.fullmatch(r"max-age=(\d+)", h["cache-control"]).group(1))
            assert 0 <= age <= max_age
        else:
            assert st == 410 and NEW in body, (r.name, old, st)
    for u in (f"/group/{SHOP_ID}", "/home", f"/contractAdmin/orders/{SHOP_ID}?d={OLD_ID['D']}",
              f"/member/view/{OLD_ID['U']}", "/user/choose?show=1"):
        st, h, _ = get(port, u)
        assert st == 404 and "location" not in h, u
    if live:
        st, h, _ = get(port, f"/user/choose?show=1&group={OLD_ID['G']}")
        assert h["location"] == f"https://{NEW}/user/choose?group={NEW_ID['G']}"
        st, h, _ = get(port, f"/contractAdmin/orders/{OLD_ID['C']}?x=1&d={OLD_ID['D']}")
        assert h["location"] == f"https://{NEW}/contractAdmin/orders/{NEW_ID['C']}?d={NEW_ID['D']}"


def _map_lines_ok(path: Path, sep: str = " ", end: str = ""):
    for line in path.read_text().splitlines():
        assert re.fullmatch(rf"[0-9]+{sep}[0-9]+{re.escape(end)}", line), (path, line)


APACHE_MODS = "/usr/lib/apache2/modules"


def _apache_conf(root: Path, out: Path, port: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    conf = root / "httpd.conf"
    conf.write_text(f"""ServerRoot {root}
ServerName localhost
LoadModule mpm_event_module {APACHE_MODS}/mod_mpm_event.so
LoadModule authz_core_module {APACHE_MODS}/mod_authz_core.so
LoadModule rewrite_module {APACHE_MODS}/mod_rewrite.so
LoadModule headers_module {APACHE_MODS}/mod_headers.so
Listen 127.0.0.1:{port}
PidFile {root}/httpd.pid
ErrorLog {root}/error.log
DefaultRuntimeDir {root}
<VirtualHost *:{port}>
    ServerName {OLD}
    Include {out}/bascule-apache.conf
    RewriteRule ^ - [R=404]
</VirtualHost>
""")
    return conf


@pytest.mark.parametrize("live", [True, False])
def test_apache(tmp_path, live):
    o = opts(tmp_path, cut=dt.datetime.now(UTC) + dt.timedelta(days=10 if live else -1))
    out = tmp_path / "out"
    files, _ = emit("apache", sample_mapping(), o, out)
    conf_text = (out / "bascule-apache.conf").read_text()
    maps = dict(re.findall(r'^RewriteMap (bascule_\w+) "txt:(\S+)"$', conf_text, re.M))
    assert set(re.findall(r"\$\{(bascule_\w+):", conf_text)) <= set(maps)
    for f in maps.values():
        _map_lines_ok(Path(f))
    assert conf_text.count("RewriteRule ^/") == len(ACTIVE_ROUTES)
    port = free_port()
    conf = _apache_conf(tmp_path / "apache", out, port)
    t = subprocess.run(["apache2", "-t", "-f", str(conf)], capture_output=True, text=True, timeout=60)
    assert t.returncode == 0, t.stderr
    p = subprocess.Popen(["apache2", "-X", "-f", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_port(port, p, tmp_path / "apache/error.log")
        _check_served(port, live)
    finally:
        _stop(p)


@pytest.mark.parametrize("live", [True, False])
def test_haproxy(tmp_path, live):
    o = opts(tmp_path, cut=dt.datetime.now(UTC) + dt.timedelta(days=10 if live else -1))
    out = tmp_path / "out"
    emit("haproxy", sample_mapping(), o, out)
    rules = (out / "bascule-haproxy.cfg").read_text()
    used = set(re.findall(r"map\((\S+?)\)", rules))
    assert used and all(Path(u).exists() for u in used)
    for u in used:
        _map_lines_ok(Path(u))
    acls = set(re.findall(r"^acl (\S+)", rules, re.M))
    for a in re.findall(r" if (bascule_r\d+) ", rules):
        assert a in acls
    port = free_port()
    cfg = tmp_path / "haproxy.cfg"
    body = "\n".join("    " + line for line in rules.splitlines())
    cfg.write_text(f"""global
    pidfile {tmp_path}/haproxy.pid
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend old
    bind 127.0.0.1:{port}
{body}
    http-request return status 404 content-type text/plain string passthrough
""")
    t = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=60)
    assert t.returncode == 0, t.stdout + t.stderr
    p = subprocess.Popen(["haproxy", "-db", "-f", str(cfg)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_port(port, p)
        _check_served(port, live)
    finally:
        _stop(p)


@pytest.mark.parametrize("live", [True, False])
def test_caddy(tmp_path, live):
    o = opts(tmp_path, cut=dt.datetime.now(UTC) + dt.timedelta(days=10 if live else -1))
    out = tmp_path / "out"
    emit("caddy", sample_mapping(), o, out)
    text = (out / "bascule.caddy").read_text()
    for imp in re.findall(r"^\timport (\S+)", text, re.M):
        _map_lines_ok(Path(imp))
    assert text.count("route @bascule_r") == len(ACTIVE_ROUTES)
    assert text.count("{") == text.count("}")
    port = free_port()
    cf = tmp_path / "Caddyfile"
    cf.write_text(f"{{\n\tadmin off\n\tauto_https off\n}}\nhttp://{OLD}:{port} {{\n"
                  f"\timport {out}/bascule.caddy\n\trespond \"passthrough\" 404\n}}\n")
    env = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "PATH": "/usr/bin:/bin"}
    t = subprocess.run(["caddy", "validate", "--config", str(cf), "--adapter", "caddyfile"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert t.returncode == 0, t.stderr[-2000:]
    p = subprocess.Popen(["caddy", "run", "--config", str(cf), "--adapter", "caddyfile"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    try:
        wait_port(port, p)
        _check_served(port, live)
    finally:
        _stop(p)


# --- command line --------------------------------------------------------------------------------
