"""`bascule runs`: the history of the runs in a target, on stdout, as a table or JSON, every
source's or one's."""

from __future__ import annotations

import json

from click.testing import CliRunner

from bascule import api
from bascule.cli import cli

from helpers import make_source, make_target, settings_for


def test_runs_table_and_json(sqlite_dbs, tmp_path):
    src = make_source(sqlite_dbs, kind="sqlite")
    tgt = make_target(sqlite_dbs, "2023")
    r = CliRunner().invoke(cli, ["runs", "--target", tgt])
    assert r.exit_code == 0 and "no run in the target yet" in r.stdout
    s = settings_for(src, tgt, tmp_path)
    rep = api.migrate(s)
    assert rep.ok and api.verify(s).ok
    group = rep.groups[0].source_id
    assert api.rollback(s, groups=[group]).ok
    r = CliRunner().invoke(cli, ["runs", "--target", tgt, "--format", "json"])
    assert r.exit_code == 0, r.output
    found = json.loads(r.stdout)
    assert [(x["id"], x["command"], x["status"], x["source"]) for x in found] == [
        (1, "migrate", "done", "app.cagette.net"), (2, "verify", "done", "app.cagette.net"),
        (3, "rollback", "done", "app.cagette.net")]
    assert found[0]["groups"] == len(rep.groups) and found[0]["rows"] == rep.rows_written()
    assert found[1]["rows"] == 0 and found[2]["groups"] == 1 and found[2]["rows"] > 0
    assert found[0]["pid"] and found[0]["host"] and found[0]["started"] <= found[0]["ended"]
    r = CliRunner().invoke(cli, ["runs", "--target", tgt])
    assert r.exit_code == 0
    assert "migrate" in r.stdout and "rollback" in r.stdout and "app.cagette.net" in r.stdout
    r = CliRunner().invoke(cli, ["runs", "--target", tgt, "--source-name", "other", "--format",
                                 "json"])
    assert json.loads(r.stdout) == []
