"""What the verbs share: settings from the --config file, the environment and the flags;
``-v``/``-q`` and ``--format`` (the same spelling on every verb); the options of plan, migrate
and verify; the report files and the result on stdout.

The output convention: the result of a verb on stdout (``--format table|json|markdown|csv``
where it applies), progress and logs on stderr, report files where ``report_dir`` or their own
options (``--json FILE``, ``--markdown FILE``, ``--html FILE``) say.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from bascule.cli import console
from bascule.cli.progress import RichProgress
from bascule.config import ConfigError, Settings, load_settings
from bascule.errors import SettingsError
from bascule.report import (
    ReportBase,
    check_outputs,
    print_report,
    report_csv,
    report_json,
    to_markdown,
    write_reports,
)

log = logging.getLogger("bascule")

__all__ = ["RichProgress", "config_option", "format_option", "settings_from",
           "transfer_options", "verbosity_options"]

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


def _count(key: str):
    def cb(ctx: click.Context, _param, value: int) -> None:
        obj = ctx.ensure_object(dict)
        if ctx.parent is None:  # the group: the start of the count
            obj[key] = value
        else:  # a verb: its own -v/-q add to the group's
            obj[key] = obj.get(key, 0) + value
        console.setup_logging(obj.get("verbose", 0), obj.get("quiet", 0))
    return cb


def _traceback(ctx: click.Context, _param, value: bool) -> None:
    if value:
        ctx.ensure_object(dict)["traceback"] = True


def verbosity_options(f):
    """``-v``/``-q`` and ``--traceback`` on the group and on every verb, before or after it:
    ``bascule -v plan`` and ``bascule plan -v`` are the same; ``-vv`` debug, ``-vvv`` SQL;
    ``-q`` errors only, no progress; ``--traceback`` (or ``-vv``): the stack of an error above
    its line."""
    f = click.option("--traceback", "show_traceback", is_flag=True, expose_value=False,
                     callback=_traceback,
                     help="On an error, show the stack above its one line (as -vv does).")(f)
    f = click.option("-q", "--quiet", count=True, expose_value=False, callback=_count("quiet"),
                     help="Less on stderr: errors only, no progress.")(f)
    return click.option("-v", "--verbose", count=True, expose_value=False,
                        callback=_count("verbose"),
                        help="More log lines on stderr (-v info, -vv debug, -vvv SQL).")(f)


def quiet(ctx: click.Context) -> bool:
    return bool((ctx.obj or {}).get("quiet"))


#: The formats of a verb's result on stdout.
FORMATS = ("table", "json", "markdown", "csv")


def format_option(*choices: str, default: str = "table", help: str = ""):
    """``--format`` with these ``choices`` (a subset of ``FORMATS``, in the same spelling
    everywhere): the form of the verb's result on stdout. The value reaches the verb as
    ``fmt``."""
    return click.option("--format", "fmt", type=click.Choice(list(choices or FORMATS)),
                        default=default, show_default=True,
                        help=help or "Form of the result on stdout (table: for a person; json, "
                        "markdown, csv: for a program or a ticket).")


def settings_from(ctx: click.Context, **flags: Any) -> Settings:
    """Settings for a command: --config file, BASCULE_* environment, then the command's flags."""
    try:
        return load_settings((ctx.obj or {}).get("config_file"), **flags)
    except ConfigError as e:  # one line per problem, exit 2
        raise SettingsError(str(e)) from None


def _a_file(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value == "-":
        raise click.BadParameter("a report file, not stdout: the result on stdout is --format",
                                 ctx=ctx, param=param)
    return value


#: ``--json FILE``, ``--markdown FILE``, ``--html FILE``: where the report files go.
report_file_options = [
    click.option("--json", "json_file", type=click.Path(dir_okay=False), callback=_a_file,
                 help="Write the JSON report to this file (default: "
                 "<report-dir>/<verb>-<time>.json)."),
    click.option("--markdown", "md_file", type=click.Path(dir_okay=False), callback=_a_file,
                 help="Write the Markdown report to this file (default: beside the JSON)."),
    click.option("--html", "html_file", type=click.Path(dir_okay=False), callback=_a_file,
                 help="Write the HTML report (one self-contained file: it opens from a ticket "
                 "attachment) to this file (default: beside the JSON)."),
]

#: ``--heartbeat SECONDS`` (the setting heartbeat).
heartbeat_option = click.option(
    "--heartbeat", type=click.FloatRange(0), default=None,
    help="Seconds between progress lines off a terminal (setting heartbeat, default 30; 0: "
    "none).")


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
        *report_file_options,
        format_option(),
        verbosity_options,
        click.option("--progress/--no-progress", default=True,
                     help="Progress on stderr: bars on a terminal, else a line per phase and a "
                     "heartbeat.", show_default=True),
        heartbeat_option,
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def check_report_files(settings: Settings, json_file: str | None, md_file: str | None,
                       html_file: str | None, **more: Any) -> None:
    """Before the run: every file it will write can be written (SettingsError naming the path
    and why, exit 2), so that a run never ends without its report. ``more``: other files the
    verb writes (option → path), and ``report_dir_too=True`` when one of them goes to
    report_dir by default."""
    uses_dir = more.pop("report_dir_too", False) or not (json_file and md_file and html_file)
    check_outputs(settings.report_dir if uses_dir else None,
                  {"--json": json_file, "--markdown": md_file, "--html": html_file, **more})


def report_files(r: ReportBase, settings: Settings, json_file: str | None,
                 md_file: str | None, html_file: str | None = None) -> dict[str, Path]:
    """The report as JSON, Markdown and HTML files; where they are, on stderr."""
    files = write_reports(r, settings.report_dir, json_file=json_file, md_file=md_file,
                          html_file=html_file)
    console.err().print("reports: " + ", ".join(str(f) for f in files.values())
                        + " (open the .html in a browser)", soft_wrap=True, highlight=False)
    return files


def emit(r: ReportBase, fmt: str) -> None:
    """A report as the verb's result on stdout, in ``fmt``."""
    if fmt == "json":
        sys.stdout.write(report_json(r))  # the text of the report's JSON file
    elif fmt == "markdown":
        sys.stdout.write(to_markdown(r))
    elif fmt == "csv":
        sys.stdout.write(report_csv(r))
    else:
        print_report(r, console.out())


def progress_for(ctx: click.Context, label: str, enabled: bool, settings: Settings
                 ) -> RichProgress:
    """The progress of a run on stderr (none with -q or --no-progress)."""
    return RichProgress(label, enabled and not quiet(ctx), settings.heartbeat)
