"""`bascule describe`."""

from __future__ import annotations

import json
import sys

import click

from bascule import api
from bascule.cli.options import config_option, err, settings_from
from bascule.report import print_description


@click.command("describe")
@config_option
@click.option("--source", "source_url", help="Source SQLAlchemy URL (overrides source_url).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout instead of tables.")
@click.pass_context
def describe_cmd(ctx, source_url, as_json):
    """Describe a Cagette source: detected shape, groups by mode, rows per table.

    Read only (one read-only, consistent-snapshot transaction).
    """
    s = settings_from(ctx, source_url=source_url)
    if not s.source_url:
        raise click.UsageError("no source: set source_url or pass --source")
    try:
        d = api.describe(s).as_dict()
    except api.MigrationError as e:
        raise click.ClickException(str(e))
    if as_json:
        sys.stdout.write(json.dumps(d, indent=2) + "\n")
    else:
        print_description(d, err)
