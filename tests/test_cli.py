"""The command line as a whole: every verb is registered and documented, --config works before
and after the verb, usage errors exit 2."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from click.testing import CliRunner

import bascule
from bascule.cli import cli

EXPECTED = {"describe", "plan", "migrate", "verify", "rollback", "runs", "redirects", "producers",
            "seed", "demo"}


def test_group_help_lists_every_command():
    r = CliRunner().invoke(cli, ["--help"])
    assert r.exit_code == 0
    assert set(cli.list_commands(None)) == EXPECTED
    for c in EXPECTED:
        assert c in r.output


@pytest.mark.parametrize("cmd", sorted(EXPECTED))
def test_every_command_help_is_complete(cmd):
    r = CliRunner().invoke(cli, [cmd, "--help"])
    assert r.exit_code == 0
    # a description, and every option documented
    assert len(r.output.split("Options:")[0].strip().splitlines()) >= 3
    for p in cli.get_command(None, cmd).params:
        if getattr(p, "help", None) is None and p.param_type_name == "option":
            pytest.fail(f"{cmd}: option {p.opts} has no help")


@pytest.mark.parametrize("where", ["before", "after"])
def test_config_is_accepted_before_and_after_the_verb(tmp_path, where):
    """`bascule --config F plan` and `bascule plan --config F` read the same file."""
    f = tmp_path / "b.toml"
    f.write_text('new_host = "bad host"\n')
    args = ["--config", str(f), "plan"] if where == "before" else ["plan", "--config", str(f)]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 2, r.output
    assert "setting new_host" in r.output and str(f) in r.output


@pytest.mark.parametrize("cmd", ["describe", "plan", "migrate", "verify", "redirects",
                                 "producers"])
def test_every_verb_that_reads_settings_takes_config(cmd):
    assert "--config" in {o for p in cli.get_command(None, cmd).params for o in p.opts}


def test_nothing_in_the_library_imports_the_cli():
    """The command line is a layer: no module of bascule outside bascule.cli imports it."""
    root = Path(bascule.__file__).parent
    for path in root.rglob("*.py"):
        if path.is_relative_to(root / "cli"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n == "bascule.cli" or n.startswith("bascule.cli.") for n in names), \
                path
