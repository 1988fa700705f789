"""What the verbs share: settings from the --config file, the environment and the flags; the
options of plan, migrate and verify; the progress bar; the report files."""

from __future__ import annotations

import datetime as dt
import logging
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from bascule.config import ConfigError, Settings, load_settings
from bascule.report import write_reports

log = logging.getLogger("bascule")
err = Console(stderr=True)

CONFIG_HELP = ("TOML settings file (default: ./bascule.toml when it exists). BASCULE_* environment "
               "variables override it, and command-line flags override both.")


def _set_config(ctx: click.Context, _param, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(dict)
        ctx.obj["config_file"] = value


#: ``--config FILE`` on a verb (``bascule migrate --config F``), as on the group.
config_option = click.option("--config", type=click.Path(dir_okay=False), default=None,
                             expose_value=False, callback=_set_config, help=CONFIG_HELP)


#: ``--source-name``: which source's bookkeeping a verb acts on.
source_name_option = click.option(
    "--source-name", help="The name of the source in the target's bookkeeping: what a verb "
    "acts on when the target holds groups of several sources (default: setting source_name, "
    "else old_host).")

#: ``--wait`` of the verbs that hold the target's run lock (migrate, verify, rollback).
wait_option = click.option(
    "--wait", is_flag=True, help="When another bascule run holds the target, wait for it to "
    "end instead of refusing (exit 3).")


def settings_from(ctx: click.Context, **flags: Any) -> Settings:
    """Settings for a command: --config file, BASCULE_* environment, then the command's flags."""
    try:
        return load_settings((ctx.obj or {}).get("config_file"), **flags)
    except ConfigError as e:
        raise click.UsageError(str(e))


class RichProgress:
    """Groups and rows, with rate and ETA, on stderr."""

    def __init__(self, label: str, enabled: bool = True):
        self.label = label
        self.enabled = enabled and err.is_terminal or enabled == "always"
        self.p: Progress | None = None

    def start(self, groups: int, rows_estimate: int) -> None:
        if not self.enabled:
            log.info("%s: %d groups, about %d rows", self.label, groups, rows_estimate)
            return
        self.p = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                          MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                          TimeElapsedColumn(), TimeRemainingColumn(), console=err,
                          transient=False)
        self.p.start()
        self.tg = self.p.add_task(f"{self.label} groups", total=groups, rate="")
        self.tr = self.p.add_task("rows (estimate)", total=max(rows_estimate, 1), rate="")
        self.t0 = dt.datetime.now()
        self.rows = 0

    def group_done(self, result, rows_estimate: int) -> None:
        if self.p is None:
            if result.status == "failed":
                log.error("group %s failed: %s", result.source_id, result.error)
            return
        self.rows += rows_estimate
        secs = max((dt.datetime.now() - self.t0).total_seconds(), 1e-6)
        self.p.update(self.tg, advance=1, rate=f"{result.source_id} {result.status}")
        self.p.update(self.tr, advance=rows_estimate, rate=f"{self.rows / secs:,.0f} rows/s")

    def stop(self) -> None:
        if self.p is not None:
            self.p.stop()


def transfer_options(f):
    """The options of plan, migrate and verify (and --config)."""
    opts = [
        config_option,
        click.option("--source", "source_url", help="Source SQLAlchemy URL (Cagette database, "
                     "read only). Overrides source_url."),
        click.option("--target", "target_url", help="Target SQLAlchemy URL (Camap database). "
                     "Overrides target_url."),
        click.option("--group", "groups", type=int, multiple=True,
                     help="Only this source group id (repeatable). Default: every AMAP group."),
        click.option("--exclude", "exclude_groups", type=int, multiple=True,
                     help="Never this source group id (repeatable)."),
        source_name_option,
        click.option("--report-dir", type=click.Path(file_okay=False, path_type=Path),
                     help="Where report files go (default: report_dir setting, bascule-out)."),
        click.option("--json", "json_file", type=click.Path(dir_okay=False),
                     help="Also write the report as JSON to this file ('-' for stdout)."),
        click.option("--markdown", "md_file", type=click.Path(dir_okay=False),
                     help="Also write the report as Markdown to this file."),
        click.option("--progress/--no-progress", default=True,
                     help="Progress bar on stderr (only on a terminal).", show_default=True),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def report_files(kind: str, data: dict, settings: Settings, json_file: str | None,
                 md_file: str | None) -> None:
    """The report as JSON (or on stdout with ``--json -``) and Markdown; their paths on stderr."""
    files = write_reports(kind, data, settings.report_dir, json_file=json_file, md_file=md_file,
                          stdout=sys.stdout)
    err.print("reports: " + ", ".join(str(f) for f in files))
