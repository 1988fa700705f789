"""`bascule runs`: the history of the runs in a target."""

from __future__ import annotations

import json
import sys

import click
from rich.table import Table

from bascule import api
from bascule.cli import console
from bascule.cli.options import config_option, format_option, settings_from, verbosity_options

#: The columns of the table, in order (the keys of ``api.runs``' rows).
COLUMNS = ("id", "command", "source", "started", "ended", "status", "groups", "rows", "host",
           "pid")
STATUS_STYLE = {"done": "green", "failed": "red", "interrupted": "yellow", "running": "cyan"}


@click.command("runs")
@config_option
@click.option("--target", "target_url", help="Target SQLAlchemy URL (Camap database). "
              "Overrides target_url.")
@click.option("--source-name", help="Only the runs of this source (default: the runs of every "
              "source that moved groups into the target).")
@format_option("table", "json", help="table: for a person; json: one object per run.")
@verbosity_options
@click.pass_context
def runs_cmd(ctx, target_url, source_name, fmt):
    """The history of the runs in the target: migrate, verify and rollback.

    \b
    One line per run, oldest first: its id (`rollback --run ID`), command, source, start and
    end, status (done, failed, running, or interrupted: killed, found so by the next run),
    the groups it handled and the rows it wrote (migrate), removed (rollback) or found
    different (verify), the host and process that ran it. The result goes to stdout.
    """
    s = settings_from(ctx, target_url=target_url)
    found = api.runs(s, source=source_name)
    if fmt == "json":
        sys.stdout.write(json.dumps(found, indent=2, default=str) + "\n")
        return
    console.out().print(runs_table(found))


def runs_table(found: list[dict]) -> Table:
    t = Table(title="runs in the target" if found else "no run in the target yet")
    for c in COLUMNS:
        t.add_column(c, justify="right" if c in ("id", "groups", "rows", "pid") else "left")
    for r in found:
        style = STATUS_STYLE.get(r["status"], "")
        cells = ["" if r.get(c) is None else str(r[c]) for c in COLUMNS]
        cells[COLUMNS.index("status")] = f"[{style}]{r['status']}[/]" if style else r["status"]
        t.add_row(*cells)
    return t
