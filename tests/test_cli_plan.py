"""`bascule plan`: the dry run, its result on stdout, its report files, --prune, --create-schema,
and what it refuses."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import text

from bascule.cli import cli
from bascule.dbutil import make_engine

from helpers import make_source, make_target, q, rows, table_checksums, table_names


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
    assert d["status"] == "done" and "ok" not in d and d["schema_version"] >= 1
    # the result (summary in words, per-table figures) on stdout, the report paths on stderr
    assert "dry run: nothing written" in r.stdout and "groups would change" in r.stdout
    assert "reports: " in r.stderr and "reports: " not in r.stdout
    assert list((tmp_path / "rep").glob("plan-*.md")) and list((tmp_path / "rep").glob("plan-*.html"))
    assert table_checksums(tgt) == before and table_names(tgt) == names


def test_plan_json_on_stdout_and_an_empty_target(db_factory, tmp_path):
    src = make_source(db_factory("mysql"))
    tgt = db_factory("sqlite").new("tgt")
    r = CliRunner().invoke(cli, ["plan", "--source", src, "--target", tgt, "--report-dir",
                                 str(tmp_path)])
    assert r.exit_code == 2 and "the target database is empty" in r.output  # a schema: 2
    make = make_target(db_factory("sqlite"), "2023")
    r = CliRunner().invoke(cli, ["plan", "--source", src, "--target", make, "--report-dir",
                                 str(tmp_path), "--format", "json", "--group", "999999"])
    assert r.exit_code == 2 and "group 999999: not in the source" in r.output  # selection: 2
    r = CliRunner().invoke(cli, ["plan", "--source", src, "--target", make, "--report-dir",
                                 str(tmp_path), "--format", "json"])
    assert r.exit_code == 0
    assert json.loads(r.stdout)["command"] == "plan"
    r = CliRunner().invoke(cli, ["plan", "--source", src, "--target", make, "--json", "-"])
    assert r.exit_code == 2 and "--format" in r.output


def test_plan_create_schema_plans_against_an_empty_schema_and_creates_nothing(db_factory,
                                                                               tmp_path):
    src = make_source(db_factory("sqlite"))
    fresh = db_factory("sqlite").new("fresh")  # a fresh target: no table yet
    args = ["plan", "--source", src, "--report-dir", str(tmp_path), "--format", "json"]
    r = CliRunner().invoke(cli, [*args, "--target", fresh, "--create-schema", "head"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["totals"]["UserOrder"]["insert"] > 0 and d["target"]["backend"] == "sqlite"
    assert "nothing created" in " ".join(d["target"]["shape_reasons"])
    assert table_names(fresh) == set()  # nothing created
    r = CliRunner().invoke(cli, [*args, "--create-schema", "2023"],
                           env={"BASCULE_TARGET_URL": ""})  # no target at all yet
    assert r.exit_code == 0, r.output
    full = make_target(db_factory("sqlite"), "head")
    r = CliRunner().invoke(cli, [*args, "--target", full, "--create-schema", "head"])
    assert r.exit_code != 0 and "already has Camap tables" in r.output


def test_plan_prune_previews_migrate_prune_and_the_delete_column_says_which(db_factory,
                                                                           tmp_path):
    src = make_source(db_factory("sqlite"))
    tgt = make_target(db_factory("sqlite"), "head")
    base = ["--source", src, "--target", tgt, "--report-dir", str(tmp_path), "--no-progress"]
    assert CliRunner().invoke(cli, ["migrate", *base]).exit_code == 0
    gone = rows(src, f"SELECT max(id) FROM {q(src, 'UserOrder')}")[0][0]
    eng = make_engine(src)
    with eng.begin() as c:
        c.execute(text(f"DELETE FROM {q(src, 'UserOrder')} WHERE id = {gone}"))
    eng.dispose()
    kept = CliRunner().invoke(cli, ["plan", *base])
    assert kept.exit_code == 0, kept.output
    assert "deleted in source, kept (--prune removes)" in kept.stdout
    assert "1 UserOrder deleted in the source (kept: --prune removes)" in kept.stdout
    preview = CliRunner().invoke(cli, ["plan", "--prune", *base, "--format", "json"])
    d = json.loads(preview.stdout)
    assert d["prune"] and d["dry_run"] and d["totals"]["UserOrder"]["delete"] == 1
    preview = CliRunner().invoke(cli, ["plan", "--prune", *base])
    assert "deleted in source, to remove" in preview.stdout
    assert "1 UserOrder deleted in the source (to remove)" in preview.stdout
    done = CliRunner().invoke(cli, ["migrate", "--prune", *base])
    assert done.exit_code == 0 and "deleted in source, removed" in done.stdout
    assert "1 UserOrder deleted in the source (removed)" in done.stdout


def test_progress_off_a_terminal_is_a_line_per_phase_on_stderr(db_factory, tmp_path):
    src = make_source(db_factory("sqlite"))
    tgt = make_target(db_factory("sqlite"), "head")
    base = ["--source", src, "--target", tgt, "--report-dir", str(tmp_path)]
    r = CliRunner().invoke(cli, ["migrate", *base])
    assert r.exit_code == 0, r.output
    for phase in ("inspecting the source and the target", "reading the target's id map",
                  "estimating the groups' sizes", "3 groups, about",
                  "building indexes again, checking foreign keys"):
        assert f"migrate: {phase}" in r.stderr, phase
    assert "migrate: " not in r.stdout
    r = CliRunner().invoke(cli, ["plan", "-q", *base])
    assert r.exit_code == 0 and "plan: " not in r.stderr
