"""`bascule redirects`: the id mapping of a target as web-server configuration or a listing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from click.testing import CliRunner

from bascule.cli import cli

from samples import NEW_ID, OLD, OLD_ID, target_with_mapping


def test_redirects_cli(sqlite_dbs, tmp_path, monkeypatch):
    url = sqlite_dbs.new("tgt")
    target_with_mapping(url)
    monkeypatch.chdir(tmp_path)
    env = {"BASCULE_TARGET_URL": url}
    run = CliRunner()
    r = run.invoke(cli, ["redirects", "--help"])
    assert r.exit_code == 0 and "--fallback" in r.output and "--until" in r.output
    r = run.invoke(cli, ["redirects", "--emit", "nginx", "-o", str(tmp_path / "ng"),
                         "--until", "2099-12-31"], env=env)
    assert r.exit_code == 0, r.output
    assert "include " in r.stderr and "nginx -t" in r.stderr
    conf = (tmp_path / "ng" / "bascule-redirects.conf").read_text()
    assert f"include {tmp_path / 'ng'}/bascule-ids-Catalog.map;" in conf
    assert (tmp_path / "ng" / "bascule-ids-Catalog.map").read_text() == f"{OLD_ID['C']} {NEW_ID['C']};\n"
    env["BASCULE_REDIRECT_UNTIL"] = "2099-12-31"
    r = run.invoke(cli, ["redirects", "--emit", "csv", "--new-host", "camap.example.org", "--status", "308"], env=env)
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert {"old_url": f"https://{OLD}/group/{OLD_ID['G']}", "new_url": f"https://camap.example.org/group/{NEW_ID['G']}",
            "status": "308"}.items() <= rows[0].items()
    r = run.invoke(cli, ["redirects", "--emit", "json", "-o", str(tmp_path / "j")], env=env)
    assert r.exit_code == 0 and json.loads((tmp_path / "j" / "bascule-redirects.json").read_text())["redirects"]
    r = run.invoke(cli, ["redirects", "--emit", "nginx", "--new-host", "x.org;evil"], env=env)
    assert r.exit_code != 0 and "new_host" in r.output
    r = run.invoke(cli, ["redirects", "--emit", "nginx", "--config-dir", "/etc/x y"], env=env)
    assert r.exit_code != 0
    r = run.invoke(cli, ["redirects", "--emit", "apache", "--until", "2023-03-20",
                         "--allow-expired"], env=env)
    assert r.exit_code == 0 and "is past" in r.stderr
    assert (tmp_path / "bascule-out" / "redirects" / "bascule-apache.conf").exists()


def test_redirect_dates(sqlite_dbs, tmp_path, monkeypatch):
    """No default end date (exit 2 naming redirect_until); an end date already past is refused
    (exit 2, nothing written) unless --allow-expired; a date of the future emits (exit 0)."""
    url = sqlite_dbs.new("tgt")
    target_with_mapping(url)
    monkeypatch.chdir(tmp_path)
    env = {"BASCULE_TARGET_URL": url}
    run = CliRunner()
    out = tmp_path / "ng"
    r = run.invoke(cli, ["redirects", "--emit", "nginx", "-o", str(out)], env=env)
    assert r.exit_code == 2 and "redirect_until is not set" in r.stderr
    assert not out.exists()
    yesterday = (dt.date.today() - dt.timedelta(days=2)).isoformat()
    for fmt in ("nginx", "csv"):
        r = run.invoke(cli, ["redirects", "--emit", fmt, "-o", str(out), "--until", yesterday],
                       env=env)
        assert r.exit_code == 2, r.output
        assert "redirect_until" in r.stderr and "--allow-expired" in r.stderr
        assert "Traceback" not in r.output and not out.exists()
    r = run.invoke(cli, ["redirects", "--emit", "nginx", "-o", str(out), "--until", yesterday],
                   env={**env, "BASCULE_REDIRECT_UNTIL": "2099-01-01"})
    assert r.exit_code == 2  # the flag wins over the environment
    r = run.invoke(cli, ["redirects", "--emit", "nginx", "-o", str(out), "--until", yesterday,
                         "--allow-expired"], env=env)
    assert r.exit_code == 0 and "is past" in r.stderr and (out / "bascule-server.conf").exists()
    (tmp_path / "bascule.toml").write_text('redirect_until = "2023-08-31"\n')
    r = run.invoke(cli, ["redirects", "--emit", "csv"], env=env)
    assert r.exit_code == 2 and "2023-09-01T00:00:00+02:00" in r.stderr and not r.stdout
    r = run.invoke(cli, ["redirects", "--emit", "csv", "--until",
                         (dt.date.today() + dt.timedelta(days=1)).isoformat()], env=env)
    assert r.exit_code == 0 and f"/group/{OLD_ID['G']}" in r.stdout
    assert "is past" not in r.stderr
    r = run.invoke(cli, ["redirects"], env=env)
    assert r.exit_code == 2 and "--emit" in r.stderr and "--check" in r.stderr
