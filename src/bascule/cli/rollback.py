"""`bascule rollback`."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from bascule import api
from bascule.cli.options import (
    config_option,
    err,
    settings_from,
    source_name_option,
    wait_option,
)
from bascule.report import write_json

#: How each status reads in the summary.
STATUS_STYLE = {"removed": "green", "would remove": "cyan", "absent": "dim", "refused": "red",
                "failed": "red", "skipped": "yellow"}


@click.command("rollback")
@config_option
@click.option("--target", "target_url", help="Target SQLAlchemy URL (Camap database). "
              "Overrides target_url.")
@click.option("--group", "groups", type=int, multiple=True,
              help="Source group id to take out of the target, as in `migrate --group` "
                   "(repeatable).")
@click.option("--run", "run_id", type=int, help="Take out the groups that this run moved "
              "(its id in bascule_run, in migrate's report).")
@click.option("--dry-run", is_flag=True, help="Show what would go (and what is refused); "
              "write nothing.")
@click.option("--force", is_flag=True, help="Remove even the rows changed or added in Camap "
              "since the migrate (saved to --save first).")
@click.option("--save", type=click.Path(dir_okay=False, path_type=Path),
              help="With --force: the JSON file that receives every row removed, before it goes "
                   "(default: <report-dir>/rollback-saved-<time>.json).")
@click.option("--report-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where report files go (default: report_dir setting, bascule-out).")
@click.option("--json", "json_file", type=click.Path(dir_okay=False),
              help="Also write the report as JSON to this file ('-' for stdout).")
@source_name_option
@wait_option
@click.pass_context
def rollback_cmd(ctx, groups, run_id, dry_run, force, save, json_file, wait, **flags):
    """Remove from the target what bascule wrote for some moved groups.

    Exactly the rows of the groups' id map go, children first, one transaction per group, with
    the id map itself: a later `bascule migrate` moves them again; redirects and the producer
    notice no longer list them. Users, vendors and files go only when nothing else references
    them (a user matched by e-mail to a user the target had never goes). A row changed or added
    in Camap since the migrate makes the rollback refuse (table, id, column named; nothing is
    removed) unless --force, which first saves every row it removes to a JSON file. Exits 0 when
    done (groups already rolled back are reported absent), 1 when refused or failed.
    """
    if not groups and run_id is None:
        raise click.UsageError("name the groups to roll back: --group ID (repeatable) or "
                               "--run RUN_ID")
    if save is not None and not force:
        raise click.UsageError("--save is the file of --force")
    flags = {k: v for k, v in flags.items() if v is not None}
    settings = settings_from(ctx, **flags)
    try:
        rep = api.rollback(settings, groups=groups, run_id=run_id, dry_run=dry_run,
                           force=force, save=save, wait=wait)
    except api.MigrationError as e:
        raise click.ClickException(str(e))
    data = rep.as_dict()
    print_rollback(data, err)
    _report_file(data, settings.report_dir, json_file)
    if not rep.ok:
        sys.exit(1)


def _report_file(data: dict, report_dir, json_file: str | None) -> None:
    if json_file == "-":
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        return
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    p = write_json(data, json_file or Path(report_dir) / f"rollback-{stamp}.json")
    err.print(f"report: {p}")


def print_rollback(d: dict, console: Console) -> None:
    """The summary: one line per group, then what was refused, kept and saved."""
    verb = "would remove" if d["dry_run"] else "removed"
    t = Table(title=f"rollback{' (dry run: nothing written)' if d['dry_run'] else ''}")
    for col in ("source group", "target id", "name", "status", f"rows {verb}", "shared rows",
                "shared kept", "changed", "added"):
        t.add_column(col, justify="right" if col not in ("name", "status") else "left")
    for g in d["groups"]:
        style = STATUS_STYLE.get(g["status"], "")
        t.add_row(str(g["source_id"]), str(g["target_id"] or "-"), g["name"] or "",
                  f"[{style}]{g['status']}[/]" if style else g["status"],
                  f"{sum(g['rows'].values()):,}", f"{sum(g['shared'].values()):,}",
                  f"{g['kept_count']:,}", f"{g['changed_count']:,}", f"{g['added_count']:,}")
    console.print(t)
    for g in d["groups"]:
        _group_details(g, console)
    by_status: dict[str, int] = {}
    for g in d["groups"]:
        by_status[g["status"]] = by_status.get(g["status"], 0) + 1
    console.print("groups: " + (", ".join(f"{n} {s}" for s, n in sorted(by_status.items()))
                                or "none to roll back"))
    if d["save"]:
        console.print(f"rows removed saved to: {d['save']}")
    if d["run_id"]:
        console.print(f"logged as run {d['run_id']} in bascule_run")


def _group_details(g: dict, console: Console) -> None:
    gid = g["source_id"]
    if g["status"] == "absent":
        console.print(f"group {gid}: not in the id map (rolled back already, or never moved)")
    if g["rows"]:
        console.print(f"group {gid} rows: " + ", ".join(f"{t} {n:,}" for t, n in
                                                     g["rows"].items()))
    for c in g["changed"]:
        col = f" column {c['column']}" if c.get("column") else ""
        console.print(f"[red]group {gid}: changed[/] {c['table']} id {c['id']}{col}: "
                      f"{c['detail']}")
    for a in g["added"]:
        console.print(f"[red]group {gid}: added[/] {a['table']} id {a['id']} references "
                      f"{a['parent']} {a['parent_id']} ({a['column']}): written since the "
                      "migrate")
    for k in g["kept"][:10]:
        console.print(f"group {gid}: kept {k['table']} {k['id']}: {k['reason']}")
    if g["kept_count"] > 10:
        console.print(f"group {gid}: ... {g['kept_count'] - 10} more shared rows kept "
                      "(see the JSON report)")
    if g["error"]:
        console.print(f"[yellow]group {gid}:[/] {g['error']}")
    if g["status"] == "refused":
        console.print(f"group {gid}: refused; nothing removed (--force removes these rows "
                      "too, after saving them)")
