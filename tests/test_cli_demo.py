"""`bascule demo`: the whole story on SQLite."""

from __future__ import annotations

import json

from click.testing import CliRunner

from bascule.cli import cli


def test_demo_runs_end_to_end(tmp_path):
    work = tmp_path / "demo"
    r = CliRunner().invoke(cli, ["demo", "--workdir", str(work), "--scale", "0.002"])
    assert r.exit_code == 0, r.output
    assert (work / "cagette.sqlite").exists() and (work / "camap.sqlite").exists()
    verify = json.loads((work / "reports" / "verify.json").read_text())
    assert verify["status"] == "done"
    assert (work / "reports" / "migrate.html").exists()
    assert f"HTML report:       {(work / 'reports' / 'migrate.html').resolve()}" in r.stdout
    migrate = json.loads((work / "reports" / "migrate.json").read_text())
    assert migrate["totals"]["UserOrder"]["insert"] > 0
    assert (work / "redirects").is_dir() and (work / "producers.md").exists()
    assert "OK" in r.output


def test_demo_refuses_a_folder_that_is_not_its_own(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    r = CliRunner().invoke(cli, ["demo", "--workdir", str(tmp_path / "x")])
    assert r.exit_code == 2 and "not a bascule demo folder" in r.output
    assert (tmp_path / "x" / "keep.txt").read_text() == "mine"


def test_demo_from_a_camap_source(tmp_path):
    """--from camap: a current Camap moved into a Camap that hosts groups and users already."""
    work = tmp_path / "demo"
    r = CliRunner().invoke(cli, ["demo", "--workdir", str(work), "--scale", "0.002",
                                 "--from", "camap", "--shape", "head"])
    assert r.exit_code == 0, r.output
    migrate = json.loads((work / "reports" / "migrate.json").read_text())
    assert migrate["source"]["kind"] == "camap" and migrate["source"]["shape"] == "camap-head"
    assert migrate["totals"]["ProductDistributionStock"]["insert"] > 0
    assert any(n["action"] == "matched" for n in migrate["notes"])
    assert json.loads((work / "reports" / "verify.json").read_text())["status"] == "done"
    assert not (work / "producers.md").exists()  # no producer space in a Camap source
    bad = CliRunner().invoke(cli, ["demo", "--workdir", str(work), "--from", "camap",
                                   "--shape", "2021"])
    assert bad.exit_code == 2 and "no such shape" in bad.output
