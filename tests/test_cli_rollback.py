"""`bascule rollback`: exit codes, the summary on stdout, --format json, the report files (JSON,
Markdown, HTML), --dry-run, refusal and --force with the default save file."""

from __future__ import annotations

import json

from click.testing import CliRunner

from bascule import api
from bascule.cli import cli

from helpers import amap_and_shop, execute, make_source, make_target, rows, settings_for


def _two_runs(db_factory, tmp_path, kind="mysql"):
    src = make_source(db_factory("mysql"), seed=3, scale=0.003)
    tgt = make_target(db_factory(kind), "head")
    amap = sorted(amap_and_shop(src)[0])
    assert api.migrate(settings_for(src, tgt, tmp_path, groups=amap[:-1])).ok
    assert api.migrate(settings_for(src, tgt, tmp_path, groups=amap[-1:])).ok
    return src, tgt, amap[-1]


def _invoke(*args):
    return CliRunner().invoke(cli, ["rollback", *args])


def test_usage_errors_exit_2(tmp_path):
    assert _invoke("--target", "sqlite:///x.sqlite").exit_code == 2
    r = _invoke("--group", "1", "--save", str(tmp_path / "s.json"))
    assert r.exit_code == 2 and "--force" in r.output


def test_rollback_by_run_json_and_dry_run(db_factory, tmp_path):
    _src, tgt, last = _two_runs(db_factory, tmp_path, "postgresql")
    out = str(tmp_path / "out")
    r = _invoke("--target", tgt, "--run", "2", "--dry-run", "--format", "json", "--report-dir",
                out)
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["dry_run"] and d["groups"][0]["source_id"] == last and d["status"] == "done"
    assert d["groups"][0]["status"] == "would remove" and d["run_id"] is None
    assert d["target"]["url"] and d["operator"] and d["started_at"] and d["ended_at"]
    assert "password" not in r.output
    r = _invoke("--target", tgt, "--run", "2", "--dry-run", "--report-dir", out)
    assert "1 of 1 group would be removed" in r.stdout
    assert {p.suffix for p in (tmp_path / "out").glob("rollback-*")} == {".json", ".md", ".html"}
    assert rows(tgt, "SELECT COUNT(*) FROM bascule_group WHERE source_group_id = :g",
                g=last) == [(1,)]
    r = _invoke("--target", tgt, "--run", "2", "--report-dir", out, "--yes")
    assert r.exit_code == 0, r.output
    assert "1 of 1 group removed" in r.stdout and "reports: " in r.stderr
    assert rows(tgt, "SELECT COUNT(*) FROM bascule_group WHERE source_group_id = :g",
                g=last) == [(0,)]
    r = _invoke("--target", tgt, "--group", str(last), "--report-dir", out, "--yes")
    assert r.exit_code == 0 and "not in the id map" in r.output


def test_refused_exits_1_then_force_saves(db_factory, tmp_path):
    _src, tgt, last = _two_runs(db_factory, tmp_path, "mysql")
    g = rows(tgt, "SELECT target_group_id FROM bascule_group WHERE source_group_id = :g",
             g=last)[0][0]
    (place,) = rows(tgt, 'SELECT MIN(id) FROM "Place" WHERE "groupId" = :g', g=g)[0]
    execute(tgt, 'UPDATE "Place" SET name = :n WHERE id = :p', n="Salle des fêtes", p=place)
    out = tmp_path / "out"
    r = _invoke("--target", tgt, "--group", str(last), "--report-dir", str(out), "--yes")
    assert r.exit_code == 1
    assert f"changed: Place id {place}" in r.stdout and "refused" in r.stdout
    assert rows(tgt, 'SELECT COUNT(*) FROM "Place" WHERE id = :p', p=place) == [(1,)]
    r = _invoke("--target", tgt, "--group", str(last), "--force", "--report-dir", str(out),
                "--yes")
    assert r.exit_code == 0, r.output
    saved = next(out.glob("rollback-saved-*.json"))
    assert f"saved to: {saved}" in r.stdout
    data = json.loads(saved.read_text())
    places = {p["id"]: p["name"] for p in data["groups"][0]["tables"]["Place"]}
    assert places[place] == "Salle des fêtes"
    assert rows(tgt, 'SELECT COUNT(*) FROM "Place" WHERE id = :p', p=place) == [(0,)]
