"""`bascule describe`: what a source holds."""

from __future__ import annotations

import json

from click.testing import CliRunner

from bascule.cli import cli
from bascule.generate import generate


def test_describe_json(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    generate(url, shape="2021", scale=0.001, seed=2, progress=False)
    r = CliRunner().invoke(cli, ["describe", "--source", url, "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["shape"] == "2021" and d["groups"]["amap"] >= 1 and d["groups"]["shop"] >= 1
    assert d["rows"]["UserOrder"] > 0


def test_describe_tables_and_errors(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    generate(url, shape="2023", scale=0.001, seed=2, progress=False)
    r = CliRunner().invoke(cli, ["describe", "--source", url])
    assert r.exit_code == 0, r.output
    assert "shape 2023" in r.stderr and "rows per table" in r.stderr and r.stdout == ""
    r = CliRunner().invoke(cli, ["describe"], env={"BASCULE_SOURCE_URL": ""})
    assert r.exit_code == 2 and "no source" in r.output
    empty = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    r = CliRunner().invoke(cli, ["describe", "--source", empty])
    assert r.exit_code == 1 and "does not look like a Cagette database" in r.output
