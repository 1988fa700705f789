"""`bascule rollback`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bascule import api
from bascule.cli import console
from bascule.cli.options import (
    check_report_files,
    config_option,
    emit,
    format_option,
    heartbeat_option,
    progress_for,
    report_file_options,
    report_files,
    settings_from,
    source_name_option,
    verbosity_options,
    wait_option,
)
from bascule.errors import EXIT_DATA, SettingsError
from bascule.transform.clean import display_text


def on_terminal() -> bool:
    """Whether a person can answer a question (stdin and stderr are terminals)."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def _confirm(bar):
    """The question asked once every group is checked: the groups, their rows, yes or no."""
    def ask(rep) -> bool:
        bar.stop()
        todo = [g for g in rep.groups if g.status == "would remove"]
        out = console.err()
        out.print(f"rollback will remove {len(todo)} group{'s' if len(todo) != 1 else ''} "
                  "from the target:", soft_wrap=True, highlight=False)
        for g in todo:
            rows = sum(g.rows.values())
            out.print(f"  group {g.source_id} {display_text(g.name)} (target id {g.target_id}):"
                      f" {rows} rows" + (f", {g.note}" if g.note else ""),
                      soft_wrap=True, highlight=False, markup=False)
        return click.confirm("Remove them?", default=False, err=True)
    return ask

from bascule.cli.interrupt import interruptible


def _report_options(f):
    for o in reversed([*report_file_options, format_option(), heartbeat_option]):
        f = o(f)
    return f


@click.command("rollback")
@config_option
@click.option("--target", "target_url", help="Target SQLAlchemy URL (Camap database). "
              "Overrides target_url.")
@click.option("--source", "source_url", help="Source SQLAlchemy URL (overrides source_url): "
              "when reachable, the columns of rows changed since the migrate are named.")
@click.option("--group", "groups", type=int, multiple=True,
              help="Source group id to take out of the target, as in `migrate --group` "
                   "(repeatable).")
@click.option("--run", "run_id", type=int, help="Take out the groups that this run moved "
              "(its id in bascule_run, in migrate's report).")
@click.option("--dry-run", is_flag=True, help="Show what would go (and what is refused); "
              "write nothing.")
@click.option("--yes", "-y", "yes", is_flag=True, help="Do not ask for confirmation (needed "
              "off a terminal: cron, CI, a pipe).")
@click.option("--force", is_flag=True, help="Remove even the rows changed or added in Camap "
              "since the migrate (saved to --save first).")
@click.option("--save", type=click.Path(dir_okay=False, path_type=Path),
              help="With --force: the JSON file that receives every row removed, before it goes "
                   "(default: <report-dir>/rollback-saved-<time>.json).")
@click.option("--report-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where report files go (default: report_dir setting, bascule-out).")
@_report_options
@verbosity_options
@source_name_option
@wait_option
@interruptible("rollback")  # SIGINT, SIGTERM: one line, exit 130 / 143
@click.pass_context
def rollback_cmd(ctx, groups, run_id, dry_run, yes, force, save, json_file, md_file, html_file,
                 fmt, wait, **flags):
    """Remove from the target what bascule wrote for some moved groups.

    Exactly the rows of the groups' id map go, children first, one transaction per group, with
    the id map itself: a later `bascule migrate` moves them again; redirects and the producer
    notice no longer list them. Users, vendors and files go only when nothing else references
    them (a user matched by e-mail to a user the target had never goes). A row changed or added
    in Camap since the migrate makes the rollback refuse (table, id, column named; nothing is
    removed) unless --force, which first saves every row it removes to a JSON file. On a
    terminal it lists the groups and their rows and asks before removing anything, unless
    --yes; off a terminal --yes is required. Exits 0 when done (groups already rolled back are
    reported absent), 1 when refused, failed or not confirmed, 2 for a group this source never
    moved into the target. The summary goes to stdout (--format), the reports (JSON, Markdown,
    HTML) to report_dir.
    """
    if not groups and run_id is None:
        raise click.UsageError("name the groups to roll back: --group ID (repeatable) or "
                               "--run RUN_ID")
    if save is not None and not force:
        raise click.UsageError("--save is the file of --force")
    if not dry_run and not yes and not on_terminal():
        raise SettingsError("rollback removes groups from the target: off a terminal it "
                            "asks no confirmation, add --yes (or --dry-run to see what "
                            "would go)")
    flags = {k: v for k, v in flags.items() if v is not None}
    settings = settings_from(ctx, **flags)
    bar = progress_for(ctx, "rollback", True, settings)
    try:
        check_report_files(settings, json_file, md_file, html_file,
                           **({"--save": save} if force and not dry_run else {}),
                           report_dir_too=force and not dry_run and save is None)
        rep = api.rollback(settings, groups=groups, run_id=run_id, dry_run=dry_run,
                           force=force, save=save, progress=bar, wait=wait,
                           confirm=None if yes or dry_run else _confirm(bar))
    finally:
        bar.stop()
    model = rep.model()
    emit(model, fmt)
    report_files(model, settings, json_file, md_file, html_file)
    if not rep.ok:
        sys.exit(EXIT_DATA)
