"""`bascule describe`."""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.table import Table

from bascule.cli import cli, settings_from

err = Console(stderr=True)


def print_description(d: dict, console: Console) -> None:
    console.print(f"Cagette source, shape [bold]{d['shape']}[/] ({'; '.join(d['shape_reasons'])}),"
                  f" {d['backend']}")
    console.print(f"groups: {d['groups']['amap']:,} AMAP mode (they move), "
                  f"{d['groups']['shop']:,} shop mode (they stay); "
                  f"{d['linked_catalogs']:,} catalogs linked to a producer space")
    t = Table(title="rows per table")
    t.add_column("table")
    t.add_column("rows", justify="right")
    for name, n in d["rows"].items():
        t.add_row(name, f"{n:,}")
    console.print(t)
    if d["ignored_columns"]:
        console.print("legacy columns present (ignored): " + "; ".join(
            f"{k}: {', '.join(v)}" for k, v in sorted(d["ignored_columns"].items())))


@cli.command("describe")
@click.option("--source", "source_url", help="Source SQLAlchemy URL (overrides source_url).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout instead of tables.")
@click.pass_context
def describe_cmd(ctx, source_url, as_json):
    """Describe a Cagette source: detected shape, groups by mode, rows per table.

    Read only (one read-only, consistent-snapshot transaction).
    """
    from bascule.dbutil import make_engine
    from bascule.extract.describe import describe_source
    from bascule.extract.source import SourceError

    s = settings_from(ctx, source_url=source_url)
    if not s.source_url:
        raise click.UsageError("no source: set source_url or pass --source")
    try:
        d = describe_source(make_engine(s.source_url)).as_dict()
    except SourceError as e:
        raise click.ClickException(str(e))
    if as_json:
        sys.stdout.write(json.dumps(d, indent=2) + "\n")
    else:
        print_description(d, err)
