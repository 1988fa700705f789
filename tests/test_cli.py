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


@pytest.mark.parametrize("cmd", sorted(EXPECTED))
def test_v_and_q_are_accepted_on_every_verb_before_and_after_it(cmd):
    for args in (["-v", cmd, "--help"], [cmd, "-v", "--help"], [cmd, "-vv", "-q", "--help"],
                 ["-q", cmd, "--help"]):
        r = CliRunner().invoke(cli, args)
        assert r.exit_code == 0, (args, r.output)


def test_format_is_spelt_the_same_on_every_verb_that_has_a_result():
    for cmd in ("describe", "plan", "migrate", "verify", "rollback", "producers"):
        fmt = [p for p in cli.get_command(None, cmd).params if "--format" in p.opts]
        assert len(fmt) == 1, cmd
        assert set(fmt[0].type.choices) <= {"table", "json", "markdown", "csv"}, cmd
        assert fmt[0].default == "table"
    for cmd in ("plan", "migrate", "verify", "rollback"):  # report files: options of their own
        opts = {o for p in cli.get_command(None, cmd).params for o in p.opts}
        assert {"--json", "--markdown", "--html"} <= opts, cmd


def test_logs_go_through_rich_on_stderr_one_line_each_off_a_terminal(tmp_path):
    import logging

    from bascule.cli.console import LogHandler

    f = tmp_path / "b.toml"
    f.write_text('new_host = "camap.example.org"\n')
    r = CliRunner().invoke(cli, ["-vv", "describe", "--config", str(f)],
                           env={"BASCULE_SOURCE_URL": "", "BASCULE_GRUOPS": "1"})
    assert r.exit_code == 2
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, LogHandler)]
    assert len(handlers) == 1 and logging.getLogger().level == logging.DEBUG
    warn = [ln for ln in r.stderr.splitlines() if "BASCULE_GRUOPS" in ln]
    assert len(warn) == 1 and "WARNING" in warn[0] and warn[0].endswith(
        "(did you mean BASCULE_GROUPS?)")
    assert r.stdout == ""
    r = CliRunner().invoke(cli, ["describe", "-q"], env={"BASCULE_SOURCE_URL": "",
                                                         "BASCULE_GRUOPS": "1"})
    assert "BASCULE_GRUOPS" not in r.stderr  # -q: errors only


def test_piped_output_is_not_wrapped_at_80_columns(tmp_path):
    from bascule.generate import generate

    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    generate(url, shape="2023", scale=0.001, seed=2, dirty=True, progress=False)
    r = CliRunner().invoke(cli, ["describe", "--source", url])
    assert r.exit_code == 0, r.output
    legacy = [ln for ln in r.stdout.splitlines() if ln.startswith("legacy columns present")]
    # one line of its full length, the last table named on it (not cut onto the next line)
    assert len(legacy) == 1 and len(legacy[0]) > 200 and "Vendor: " in legacy[0]
    assert all(ln == ln.rstrip() for ln in r.stdout.splitlines())  # no padding to a width


def test_progress_off_a_terminal_a_line_per_phase_and_a_heartbeat(caplog):
    from bascule.cli.progress import RichProgress
    from bascule.plan.changeset import GroupResult

    p = RichProgress("migrate", enabled=True, heartbeat=0)  # CliRunner-less: not a terminal
    assert not p.live
    with caplog.at_level(25, logger="bascule.progress"):
        with p.phase("checksumming the source"):
            assert "checksumming the source" in p.beat()
        p.start(3, 300)
        with p.phase("moving the shared rows (users, vendors, files)", 40) as step:
            step(10)
            p.group_done(GroupResult(1, "a", status="done"), 100)
            p.group_done(GroupResult(2, "b", status="failed", error="x"), 100)
            line = p.beat()
        p.stop()
    assert "moving the shared rows (users, vendors, files) 10/40" in line
    assert "groups 2/3 (1 failed)" in line and "rows 200 of about 300" in line
    msgs = [r.getMessage() for r in caplog.records]
    assert "migrate: checksumming the source" in msgs and "migrate: 3 groups, about 300 rows" \
        in msgs
    quiet = RichProgress("migrate", enabled=False)
    with quiet.phase("x") as step:
        step(1)
    assert quiet.beat().startswith("migrate: working")
