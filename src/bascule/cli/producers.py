"""`bascule producers`: who lost their producer space, and where their orders are now."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from bascule import api
from bascule.cli import console
from bascule.cli.options import (
    config_option,
    format_option,
    settings_from,
    source_name_option,
    verbosity_options,
)
from bascule.producers.notice import to_csv, to_json, to_markdown, to_table


@click.command("producers")
@config_option
@verbosity_options
@click.option("--source", "source_url", default=None,
              help="Source SQLAlchemy URL (Cagette, read only; overrides source_url).")
@click.option("--target", "target_url", default=None,
              help="Target SQLAlchemy URL, where bascule_idmap lives (overrides target_url).")
@format_option("table", "json", "markdown", "csv",
               help="table: for a person; csv: one row per (producer user, catalog) for a mail "
               "merge; markdown: the notice with the three steps; json: every producer, user, "
               "catalog and link.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write to this file instead of stdout.")
@click.option("--new-host", default=None, help="Host of the links (default: setting new_host).")
@click.option("--cutover-date", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Distributions from that day on are listed (default: setting cutover_date).")
@source_name_option
@click.pass_context
def producers_cmd(ctx, source_url, target_url, fmt, output, new_host, cutover_date, source_name):
    """List the producers whose catalogs were linked to a producer space (Cagette Pro).

    \b
    For each: the producer (vendor name, e-mail), the users who ran its producer space, and
    for each moved catalog the group, the new ids and the Camap links where the orders are
    now (Catalogues > Gérer /contractAdmin/view/<C> > Commandes
    /contractAdmin/selectDistrib/<C>, and /contractAdmin/orders/<C>?d=<D> for every
    distribution from the cutover date on). Reads the source (read only) and the id mapping
    in the target.
    """
    s = settings_from(ctx, source_url=source_url, target_url=target_url, new_host=new_host,
                      cutover_date=cutover_date.date() if cutover_date else None,
                      source_name=source_name)
    if not s.source_url or not s.target_url:
        raise click.UsageError("source_url and target_url are both needed")
    ps = api.producers(s)
    if fmt == "table":
        if output:
            with open(output, "w", encoding="utf-8") as fh:
                Console(file=fh, width=console.WIDE, soft_wrap=True).print(to_table(ps))
        else:
            console.out().print(to_table(ps))
    else:
        text = {"csv": to_csv, "json": to_json}[fmt](ps) if fmt != "markdown" else \
            to_markdown(ps, new_host=s.new_host)
        if output:
            Path(output).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    n_cat = sum(len(p.catalogs) for p in ps)
    click.echo(f"{len(ps)} producers, {n_cat} catalogs", err=True)
