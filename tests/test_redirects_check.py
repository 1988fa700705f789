"""`bascule redirects --check URL`: the deployed redirects asked by a sample of old URLs.

The end-to-end tests migrate a generated Cagette (with shop-mode groups) into a MariaDB and a
PostgreSQL target, emit the nginx configuration, serve it with a real nginx on a free loopback
port (tests/nginxd.py: `nginx -t`, then started, then its port connected) and run the check:
right config (exit 0), a map edited to a wrong target id or redirecting a group that was not
moved (exit 1, the URL named), nginx without the config (exit 1), nobody listening (exit 3).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from bascule import api
from bascule.cli import cli
from bascule.cli.demo import DEMO_REDIRECT_DAYS
from bascule.dbutil import make_engine
from bascule.errors import CannotProceed, SettingsError
from bascule.generate import generate
from bascule.redirects.check import PASS_SAMPLE, check, probes
from bascule.redirects.common import EmitOptions
from bascule.redirects.nginx import HTTP_CONF, SERVER_CONF
from bascule.redirects.routes import ACTIVE_ROUTES

from helpers import settings_for
from nginxd import Nginx, nginx_test, write_nginx_conf
from samples import NEW, NEW_ID, OLD, OLD_ID, SHOP_ID, UTC, free_port, sample_mapping

LATER = (dt.date.today() + dt.timedelta(days=90)).isoformat()
PAST = (dt.date.today() - dt.timedelta(days=3)).isoformat()


@pytest.fixture
def started():
    servers: list[Nginx] = []
    yield servers
    for s in servers:
        s.stop()


def serve(root: Path, conf_dir: Path, started: list) -> int:
    """A real nginx serving the files of ``conf_dir`` for the old host; its port."""
    port = free_port()
    conf = write_nginx_conf(root, conf_dir, port)
    t = nginx_test(root, conf)
    assert t.returncode == 0, t.stderr
    started.append(Nginx(root, conf, port))
    return port


def opts_for(cut: dt.datetime, **kw) -> EmitOptions:
    return EmitOptions(old_host=OLD, new_host=NEW, cut=cut, **kw).validate()


# --- the sample, without a server ------------------------------------------------------------

def test_the_sample_covers_every_route_and_what_must_not_redirect():
    cut = dt.datetime.now(UTC) + dt.timedelta(days=3)
    ps, unsampled = probes(sample_mapping(), opts_for(cut), per_route=2, seed=5,
                           not_moved_groups=[SHOP_ID])
    assert not unsampled
    pas = {"day": PASS_SAMPLE["date"], "type": "1", "font": "1", "sig": PASS_SAMPLE["hash"]}
    olds = {r.name: r.render_old(OLD_ID, pas) for r in ACTIVE_ROUTES}
    want = {r.name: f"https://{NEW}" + (r.render_new(NEW_ID, pas) if r.action == "redirect"
                                        else "/home") for r in ACTIVE_ROUTES}
    moved = [p for p in ps if p.status is not None]
    assert {p.route for p in moved} == {r.name for r in ACTIVE_ROUTES}
    assert {p.status for p in moved} == {301}
    assert all(p.location.startswith(f"https://{NEW}/") for p in moved)
    # a route of one id asks both ids of the map (per_route=2): one of them is the sample URL
    exact = {p.route for p in moved if p.path == olds[p.route]}
    assert exact >= {r.name for r in ACTIVE_ROUTES if len(r.kinds) == 1}
    assert all(p.location == want[p.route] for p in moved if p.path == olds[p.route])
    stay = [p for p in ps if p.status is None]
    assert f"/group/{SHOP_ID}" in {p.path for p in stay}
    assert f"/user/choose?group={SHOP_ID}" in {p.path for p in stay}
    assert {p.route for p in stay if "unknown" in p.why} == {r.name for r in ACTIVE_ROUTES}
    again, _ = probes(sample_mapping(), opts_for(cut), per_route=2, seed=5,
                      not_moved_groups=[SHOP_ID])
    assert again == ps  # the seed repeats the sample
    # after the end date every moved URL expects the fallback
    late, _ = probes(sample_mapping(), opts_for(cut - dt.timedelta(days=5)), per_route=1)
    assert {(p.status, p.location) for p in late if p.status} == {(410, None)}


def test_check_with_a_dict_mapping_against_a_real_nginx(tmp_path, started):
    from bascule.redirects.nginx import emit_nginx
    cut = dt.datetime.now(UTC) + dt.timedelta(days=3)
    conf_dir = tmp_path / "out"
    emit_nginx(sample_mapping(), opts_for(cut, config_dir=str(conf_dir)), conf_dir)
    port = serve(tmp_path / "nginx", conf_dir, started)
    base = f"http://127.0.0.1:{port}"
    res = check(sample_mapping(), opts_for(cut), base, per_route=2, seed=1,
                not_moved_groups=[SHOP_ID])
    assert res.ok, [m.line() for m in res.mismatches]
    assert res.probes > 2 * len(ACTIVE_ROUTES) and res.routes == len(ACTIVE_ROUTES)
    assert "OK" in res.summary() and "seed 1" in res.summary()
    # the map says another target for catalog 10+i: the URLs of that catalog are named
    wrong = sample_mapping({"Catalog": {OLD_ID["C"]: 99999, OLD_ID["C"] + 1000: 99998}})
    res = check(wrong, opts_for(cut), base, per_route=2, seed=1)
    assert not res.ok
    lines = [m.line() for m in res.mismatches]
    assert any(f"{base}/contract/order/{OLD_ID['C']} expected 301 https://{NEW}"
               f"/subscriptions/contract/99999, got 301 https://{NEW}/subscriptions/contract/"
               in line for line in lines), lines
    with pytest.raises(SettingsError):
        check(sample_mapping(), opts_for(cut), "127.0.0.1:80")


def test_unreachable_server_cannot_proceed():
    cut = dt.datetime.now(UTC) + dt.timedelta(days=3)
    with pytest.raises(CannotProceed) as e:
        check(sample_mapping(), opts_for(cut), f"http://127.0.0.1:{free_port()}", per_route=1)
    assert e.value.exit_code == 3 and "cannot reach" in str(e.value)


# --- end to end: a real migrate into MariaDB and PostgreSQL, a real nginx --------------------

def groups_not_moved(src: str, tgt_settings) -> list[int]:
    from bascule.redirects.mapping import DbMapping
    eng = make_engine(tgt_settings.target_url)
    try:
        return api.not_moved_groups(tgt_settings, DbMapping(eng, source=tgt_settings.source_name))
    finally:
        eng.dispose()


def edit_map(path: Path, fn) -> None:
    lines = path.read_text().splitlines()
    path.write_text("".join(line + "\n" for line in fn(lines)))


@pytest.mark.parametrize("source_kind,target_kind", [("sqlite", "mysql"),
                                                     ("mysql", "postgresql")])
def test_check_deployed_redirects_after_a_real_migrate(db_factory, tmp_path, started,
                                                       monkeypatch, source_kind, target_kind):
    src = db_factory(source_kind).new("src")
    tgt = db_factory(target_kind).new("tgt")
    generate(src, shape="2023", scale=0.002, seed=3, progress=False)
    s = settings_for(src, tgt, tmp_path)
    api.create_schema(s, "head")
    assert api.migrate(s).ok
    shop = groups_not_moved(src, s)
    assert shop  # the generated Cagette has shop-mode groups: they stay on the old host
    monkeypatch.chdir(tmp_path)
    env = {"BASCULE_SOURCE_URL": src, "BASCULE_TARGET_URL": tgt, "BASCULE_OLD_HOST": OLD,
           "BASCULE_NEW_HOST": NEW, "BASCULE_REDIRECT_UNTIL": LATER}
    run = CliRunner()
    conf_dir = tmp_path / "redirects"
    r = run.invoke(cli, ["redirects", "--emit", "nginx", "-o", str(conf_dir)], env=env)
    assert r.exit_code == 0, r.output
    groups_map = conf_dir / "bascule-ids-Group.map"
    n_groups = len(groups_map.read_text().splitlines())
    sample = str(max(3, n_groups))  # every moved group and every group not moved is asked

    def check_cli(port: int, *extra: str):
        return run.invoke(cli, ["redirects", "--check", f"http://127.0.0.1:{port}", "--seed",
                                "7", "--sample", sample, *extra], env=env)

    # 1. the right config: every sampled URL answers as the id map says
    port = serve(tmp_path / "ng1", conf_dir, started)
    r = check_cli(port)
    assert r.exit_code == 0, r.output
    summary = r.stdout.strip().splitlines()[-1]
    assert summary.startswith("OK: ") and "0 mismatches" in summary, r.stdout
    n = int(re.search(r"of (\d+) URLs", summary).group(1))
    assert n > len(ACTIVE_ROUTES)
    assert "checked" in r.stderr and "checked" not in r.stdout  # progress on stderr
    assert r.stdout.count("\n") == 1  # nothing but the summary

    # 2. a map edited to a wrong target id: the group's URLs are named, exit 1
    old_g, new_g = groups_map.read_text().splitlines()[0].rstrip(";").split()
    edit_map(groups_map, lambda ls: [f"{old_g} {int(new_g) + 100000};"] + ls[1:])
    port = serve(tmp_path / "ng2", conf_dir, started)
    r = check_cli(port)
    assert r.exit_code == 1, r.output
    lines = r.stdout.strip().splitlines()
    assert lines[-1].startswith("MISMATCH: ")
    assert (f"route group: http://127.0.0.1:{port}/group/{old_g} expected 301 "
            f"https://{NEW}/group/{new_g}, got 301 https://{NEW}/group/{int(new_g) + 100000}"
            ) in lines
    assert all(line.startswith("route ") for line in lines[:-1])
    assert all(f"/{old_g}" in line or f"={old_g}" in line for line in lines[:-1])

    # 3. a group not moved (shop mode) redirected by the config: named, exit 1
    edit_map(groups_map, lambda ls: [f"{old_g} {new_g};"] + ls[1:]
             + [f"{g} {900000 + g};" for g in shop])
    port = serve(tmp_path / "ng3", conf_dir, started)
    r = check_cli(port)
    assert r.exit_code == 1, r.output
    assert any(re.match(rf"route group: http://127\.0\.0\.1:{port}/group/{g} expected not "
                        rf"redirected \(group {g} not moved\), got 301 https://{NEW}/group/"
                        rf"{900000 + g}$", line) for line in r.stdout.splitlines()
               for g in shop), r.stdout

    # 4. nginx without the configuration: nothing redirects, exit 1
    empty = tmp_path / "empty"
    empty.mkdir()
    for f in (HTTP_CONF, SERVER_CONF):
        (empty / f).write_text("")
    port = serve(tmp_path / "ng4", empty, started)
    r = check_cli(port)
    assert r.exit_code == 1
    assert f"route group: http://127.0.0.1:{port}/group/{old_g} expected 301 " \
           f"https://{NEW}/group/{new_g}, got 404" in r.stdout
    assert re.search(r"MISMATCH: (\d+) of (\d+) URLs", r.stdout)

    # 5. nobody listening: exit 3, one line, no traceback
    r = check_cli(free_port())
    assert r.exit_code == 3 and "cannot reach" in r.stderr and "Traceback" not in r.output
    assert r.stdout == ""

    # 6. redirects whose end date is past (emitted with --allow-expired): the fallback
    # is what the check expects, and the deployed config gives it
    gone = tmp_path / "gone"
    r = run.invoke(cli, ["redirects", "--emit", "nginx", "-o", str(gone), "--until", PAST,
                         "--allow-expired"], env=env)
    assert r.exit_code == 0, r.output
    port = serve(tmp_path / "ng6", gone, started)
    r = check_cli(port, "--until", PAST)
    assert r.exit_code == 0, r.output
    assert "the fallback (end date past)" in r.stdout
    r = check_cli(port)  # the id map's end date is later: a redirect was expected
    assert r.exit_code == 1 and "expected 301" in r.stdout and "got 410" in r.stdout


def test_the_demo_emits_redirects_live_today(tmp_path, started):
    """The demo's dates come from the day it runs: its nginx files, served by a real nginx,
    redirect (redirects --check, exit 0), and stop months from now."""
    work = tmp_path / "demo"
    r = CliRunner().invoke(cli, ["demo", "--workdir", str(work), "--scale", "0.002"])
    assert r.exit_code == 0, r.output
    rdir = work / "redirects"
    head = (rdir / HTTP_CONF).read_text()
    epoch = int(re.search(r"\(epoch (\d+)\)", head).group(1))
    left = epoch - dt.datetime.now(UTC).timestamp()
    assert 150 * 86400 < left < 200 * 86400
    port = serve(tmp_path / "nginx", rdir, started)
    tgt = f"sqlite:///{work / 'camap.sqlite'}"
    until = (dt.date.today() + dt.timedelta(days=DEMO_REDIRECT_DAYS)).isoformat()
    r = CliRunner().invoke(cli, ["redirects", "--check", f"http://127.0.0.1:{port}",
                                 "--target", tgt, "--until", until, "--seed", "1"],
                           env={"BASCULE_SOURCE_URL": f"sqlite:///{work / 'cagette.sqlite'}"})
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("OK: ")
