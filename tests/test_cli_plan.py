"""`bascule plan`: the dry run, its report files, and what it refuses."""

from __future__ import annotations

import json

from click.testing import CliRunner

from bascule.cli import cli

from helpers import make_source, make_target, table_checksums, table_names


def test_plan_reports_and_writes_nothing(db_factory, tmp_path):
    src = make_source(db_factory("mysql"))
    tgt = make_target(db_factory("sqlite"), "head")
    before, names = table_checksums(tgt), table_names(tgt)
    out = tmp_path / "plan.json"
    r = CliRunner().invoke(cli, ["plan", "--source", src, "--target", tgt, "--report-dir",
                                 str(tmp_path / "rep"), "--json", str(out), "--no-progress"])
    assert r.exit_code == 0, r.output
    d = json.loads(out.read_text())
    assert d["command"] == "plan" and d["dry_run"] and d["totals"]["UserOrder"]["insert"] > 0
    assert "dry run, nothing written" in r.stderr
    assert list((tmp_path / "rep").glob("plan-*.md"))
    assert table_checksums(tgt) == before and table_names(tgt) == names


def test_plan_json_on_stdout_and_an_empty_target(db_factory, tmp_path):
    src = make_source(db_factory("mysql"))
    tgt = db_factory("sqlite").new("tgt")
    r = CliRunner().invoke(cli, ["plan", "--source", src, "--target", tgt, "--report-dir",
                                 str(tmp_path)])
    assert r.exit_code == 1 and "the target database is empty" in r.output
    make = make_target(db_factory("sqlite"), "2023")
    r = CliRunner().invoke(cli, ["plan", "--source", src, "--target", make, "--report-dir",
                                 str(tmp_path), "--json", "-", "--group", "999999"])
    assert r.exit_code == 1 and "group 999999: not in the source" in r.output
    r = CliRunner().invoke(cli, ["plan", "--source", src, "--target", make, "--report-dir",
                                 str(tmp_path), "--json", "-"])
    assert r.exit_code == 0
    assert json.loads(r.stdout)["command"] == "plan"
