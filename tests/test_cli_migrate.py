"""`bascule migrate`: the load from the command line, exit codes, --config after the verb."""

from __future__ import annotations

import json

from click.testing import CliRunner

from bascule.cli import cli

from helpers import amap_and_shop, count, execute, make_source, make_target, rows


def test_migrate_creates_the_schema_and_exits_0(db_factory, tmp_path):
    src = make_source(db_factory("mysql"))
    tgt = db_factory("sqlite").new("tgt")
    r = CliRunner().invoke(cli, ["migrate", "--source", src, "--target", tgt, "--create-schema",
                                 "head", "--report-dir", str(tmp_path), "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "created an empty Camap head schema" in r.stderr
    assert count(tgt, "Group") == len(amap_and_shop(src)[0])
    r = CliRunner().invoke(cli, ["migrate", "--source", src, "--target", tgt, "--create-schema",
                                 "head", "--report-dir", str(tmp_path)])
    assert r.exit_code == 2 and "already has Camap tables" in r.output  # the target: 2
    r = CliRunner().invoke(cli, ["migrate", "--dry-run", "--create-schema", "head"])
    assert r.exit_code == 2


def test_migrate_reads_config_given_after_the_verb(db_factory, tmp_path):
    src = make_source(db_factory("mysql"))
    tgt = make_target(db_factory("mysql"), "2023")
    one = sorted(amap_and_shop(src)[0])[0]
    f = tmp_path / "bascule.toml"
    f.write_text(f'source_url = "{src}"\ntarget_url = "{tgt}"\ngroups = [{one}]\n'
                 f'report_dir = "{tmp_path / "out"}"\n')
    r = CliRunner().invoke(cli, ["migrate", "--config", str(f), "--no-progress", "--json",
                                 str(tmp_path / "m.json")])
    assert r.exit_code == 0, r.output
    d = json.loads((tmp_path / "m.json").read_text())
    assert [g["source_id"] for g in d["groups"]] == [one]
    assert count(tgt, "Group") == 1


def test_migrate_exits_1_when_a_group_fails(db_factory, tmp_path):
    src = make_source(db_factory("mysql"))
    tgt = make_target(db_factory("postgresql"), "2023")
    victim = sorted(amap_and_shop(src)[0])[0]
    name = rows(src, f'SELECT name FROM "Group" WHERE id = {victim}')[0][0].replace("'", "''")
    execute(tgt, f'ALTER TABLE "Group" ADD CONSTRAINT "no_victim" CHECK (name <> \'{name}\')')
    r = CliRunner().invoke(cli, ["migrate", "--source", src, "--target", tgt, "--report-dir",
                                 str(tmp_path), "--no-progress"])
    assert r.exit_code == 1
    assert f"group {victim}" in r.stderr and "no_victim" in r.stderr
