"""`bascule producers`: the producer-space notice, as a table, CSV or Markdown."""

from __future__ import annotations

import csv
import io

from click.testing import CliRunner

from bascule.cli import cli

from samples import NEW


def test_producers_cli(producers_pair, tmp_path, monkeypatch):
    src, tgt = producers_pair
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, ["producers", "--format", "csv"],
                           env={"BASCULE_SOURCE_URL": src, "BASCULE_TARGET_URL": tgt})
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert len(rows) == 5 and rows[-1]["catalog_url"] == f"https://{NEW}/contractAdmin/view/2034"
    out = tmp_path / "notice.md"
    r = CliRunner().invoke(cli, ["producers", "--format", "markdown", "-o", str(out), "--new-host", "camap.example.org"],
                           env={"BASCULE_SOURCE_URL": src, "BASCULE_TARGET_URL": tgt})
    assert r.exit_code == 0, r.output
    assert "https://camap.example.org/contractAdmin/selectDistrib/2031" in out.read_text()
    r = CliRunner().invoke(cli, ["producers"], env={"BASCULE_SOURCE_URL": src, "BASCULE_TARGET_URL": tgt})
    assert r.exit_code == 0 and "Ferme" in r.stdout and "Miel" in r.stdout
