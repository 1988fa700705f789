"""`bascule describe`."""

from __future__ import annotations

import json
import sys

import click

from bascule import api
from bascule.cli import console
from bascule.cli.options import config_option, format_option, settings_from, verbosity_options
from bascule.report.describe import description_csv, description_markdown, print_description


@click.command("describe")
@config_option
@verbosity_options
@click.option("--source", "source_url", help="Source SQLAlchemy URL (overrides source_url).")
@click.option("--source-kind", type=click.Choice(["auto", "cagette", "camap"]),
              help="What the source is (setting source_kind, default auto).")
@format_option(help="Form of the result on stdout: table (for a person), json, markdown, csv "
               "(csv: one row per group).")
@click.pass_context
def describe_cmd(ctx, source_url, source_kind, fmt):
    """Describe a source: Cagette or Camap, detected shape, its groups (id, name, mode, size:
    to choose --group) and rows per table.

    Read only (one read-only, consistent-snapshot transaction). The result goes to stdout.
    """
    s = settings_from(ctx, source_url=source_url, source_kind=source_kind)
    if not s.source_url:
        raise click.UsageError("no source: set source_url or pass --source")
    d = api.describe(s).as_dict()
    if fmt == "json":
        sys.stdout.write(json.dumps(d, indent=2) + "\n")
    elif fmt == "markdown":
        sys.stdout.write(description_markdown(d))
    elif fmt == "csv":
        sys.stdout.write(description_csv(d))
    else:
        print_description(d, console.out())
