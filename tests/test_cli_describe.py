"""`bascule describe`: what a source holds, on stdout, in every --format."""

from __future__ import annotations

import csv
import io
import json

from click.testing import CliRunner

from bascule.cli import cli
from bascule.generate import generate


def test_describe_json_lists_the_groups(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    generate(url, shape="2021", scale=0.001, seed=2, progress=False)
    r = CliRunner().invoke(cli, ["describe", "--source", url, "--format", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["shape"] == "2021" and d["groups"]["amap"] >= 1 and d["groups"]["shop"] >= 1
    assert d["rows"]["UserOrder"] > 0
    groups = d["group_list"]
    assert len(groups) == d["groups"]["amap"] + d["groups"]["shop"]
    assert {g["mode"] for g in groups} == {"AMAP", "shop"}
    assert sum(g["orders"] for g in groups) == d["rows"]["UserOrder"]
    assert all(g["rows"] >= g["orders"] + g["members"] + g["catalogs"] for g in groups)


def test_describe_table_on_stdout_csv_markdown_and_errors(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    generate(url, shape="2023", scale=0.001, seed=2, progress=False)
    r = CliRunner().invoke(cli, ["describe", "--source", url])
    assert r.exit_code == 0, r.output
    # the result goes to stdout: `bascule describe > file` holds it
    assert "shape 2023" in r.stdout and "rows per table" in r.stdout and r.stderr == ""
    assert "groups (rows:" in r.stdout and "AMAP" in r.stdout
    r = CliRunner().invoke(cli, ["describe", "--source", url, "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert r.exit_code == 0 and rows and set(rows[0]) == {"id", "name", "mode", "members",
                                                          "catalogs", "orders", "rows"}
    r = CliRunner().invoke(cli, ["describe", "--source", url, "--format", "markdown"])
    assert r.exit_code == 0 and "## Groups" in r.stdout and "| id | name | mode |" in r.stdout
    r = CliRunner().invoke(cli, ["describe"], env={"BASCULE_SOURCE_URL": ""})
    assert r.exit_code == 2 and "no source" in r.output
    empty = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    r = CliRunner().invoke(cli, ["describe", "--source", empty])
    assert r.exit_code == 2 and "does not look like a Cagette database" in r.output  # settings: 2
