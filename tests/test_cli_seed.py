"""`bascule seed`: a synthetic Cagette database at a URL."""

from __future__ import annotations

from click.testing import CliRunner

from bascule.cli import cli


def test_seed_cli(sqlite_dbs, tmp_path):
    url = sqlite_dbs.new("gen_cli")
    runner = CliRunner()
    res = runner.invoke(cli, ["seed", "--help"])
    assert res.exit_code == 0 and "--scale" in res.output and "--dirty" in res.output
    res = runner.invoke(cli, ["seed", url, "--scale", "0.001", "--shape", "2021", "--quiet"])
    assert res.exit_code == 0, res.output
    assert "UserOrder" in res.output and "rows" in res.output
    # a second run needs --drop-existing
    res = runner.invoke(cli, ["seed", url, "--scale", "0.001", "--quiet"])
    assert res.exit_code != 0 and "not empty" in res.output
    res = runner.invoke(cli, ["seed", url, "--scale", "0.001", "--quiet", "--drop-existing"])
    assert res.exit_code == 0, res.output
    new = str(tmp_path / "sub" / "created.sqlite")
    res = runner.invoke(cli, ["seed", f"sqlite:///{new}", "--scale", "0.001", "--quiet", "--create"])
    assert res.exit_code == 0, res.output


def test_seed_cli_hides_password():
    res = CliRunner().invoke(cli, ["seed", "mysql+pymysql://root:s3cr3tpw@127.0.0.1:1/nope", "--quiet"])
    assert res.exit_code != 0
    assert "s3cr3tpw" not in res.output and "***" in res.output


def test_seed_cli_camap(sqlite_dbs):
    runner = CliRunner()
    res = runner.invoke(cli, ["seed", "--help"])
    assert "--kind" in res.output and "head" in res.output and "--shared-users" in res.output
    url = sqlite_dbs.new("gen_cli_camap")
    res = runner.invoke(cli, ["seed", url, "--kind", "camap", "--shape", "head", "--scale", "0.002",
                              "--shared-users", "0.2", "--quiet"])
    assert res.exit_code == 0, res.output
    assert "ProductDistributionStock" in res.output and "Camap head" in res.output
    assert "RemoteCatalog" not in res.output and "TmpBasket" not in res.output
    other = sqlite_dbs.new("gen_cli_camap23")
    res = runner.invoke(cli, ["seed", other, "--kind", "camap", "--scale", "0.002", "--quiet"])
    assert res.exit_code == 0 and "Camap 2023" in res.output, res.output
    # shapes are checked per kind, --dirty is Cagette's
    for args, word in ((["--kind", "camap", "--shape", "2021"], "2023, head"),
                       (["--shape", "head"], "2021, 2023"),
                       (["--kind", "camap", "--dirty"], "--dirty")):
        res = runner.invoke(cli, ["seed", sqlite_dbs.new("gen_cli_bad"), "--quiet", *args])
        assert res.exit_code == 2 and word in res.output, (args, res.output)
