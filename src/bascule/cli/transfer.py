"""`bascule plan`, `bascule migrate`, `bascule verify`."""

from __future__ import annotations

import sys

import click

from bascule import api
from bascule.cli import console
from bascule.cli.interrupt import interruptible
from bascule.cli.options import (
    check_report_files,
    emit,
    progress_for,
    report_files,
    settings_from,
    transfer_options,
    wait_option,
)
from bascule.config import safe_url
from bascule.errors import EXIT_DATA

_move_options = [
    click.option("--id-strategy", type=click.Choice(["remap", "preserve"]),
                 help="remap: new ids above the target's (default); preserve: keep the source "
                      "ids, refuse to start on any collision."),
    click.option("--keep-linked-stock/--clear-linked-stock", default=None,
                 help="Keep (or clear, the default) the StockManagement flag of catalogs that "
                      "were linked to a producer space."),
    click.option("--batch-size", type=int, help="Rows per batch (default 5000)."),
    click.option("--source-kind", type=click.Choice(["auto", "cagette", "camap"]),
                 help="What the source is (setting source_kind, default auto: found by its "
                      "tables and columns)."),
    click.option("--fk-checks", type=click.Choice(["after", "load"]),
                 help="Foreign keys checked once after the load (after, the default) or row by "
                      "row while it writes (load)."),
    click.option("--secondary-indexes", type=click.Choice(["after", "keep"]),
                 help="Secondary indexes of empty tables built after the data (after, the "
                      "default) or kept during the load (keep)."),
]

_prune_option = click.option(
    "--prune", is_flag=True,
    help="Delete from the target the rows deleted from the source since the last run (without "
         "it they are kept there, and only counted). With plan: the preview of migrate --prune.")


def move_options(f):
    for o in reversed(_move_options):
        f = o(f)
    return f


def _transfer(ctx: click.Context, *, dry_run: bool, prune: bool, create_schema: str | None,
              json_file, md_file, html_file, fmt: str, progress: bool, wait: bool = False,
              **flags) -> None:
    settings = settings_from(ctx, **flags)
    label = "plan" if dry_run else "migrate"
    bar = progress_for(ctx, label, progress, settings)
    try:
        check_report_files(settings, json_file, md_file, html_file)
        if dry_run:
            report = api.plan(settings, progress=bar, prune=prune, create_schema=create_schema)
        else:
            report = api.migrate(settings, prune=prune, progress=bar, wait=wait,
                                 create_schema=create_schema,
                                 created=lambda shape: console.err().print(
                                     f"created an empty Camap {shape} schema in "
                                     f"{safe_url(settings.target_url)}", soft_wrap=True))
    finally:
        bar.stop()
    model = report.model()
    emit(model, fmt)
    report_files(model, settings, json_file, md_file, html_file)
    if not report.ok:
        sys.exit(EXIT_DATA)


@click.command("migrate")
@transfer_options
@click.option("--dry-run", is_flag=True, help="Write nothing anywhere (same as `bascule plan`).")
@_prune_option
@click.option("--create-schema", type=click.Choice(["2023", "head"]),
              help="First create an empty Camap schema of that shape in an empty target.")
@move_options
@click.option("--workers", type=int, help="Worker processes moving groups at once (default 0: "
              "one per core; 1: one process).")
@wait_option
@click.pass_context
@interruptible("migrate")
def migrate_cmd(ctx, dry_run, prune, create_schema, json_file, md_file, html_file, fmt,
                progress, wait, **flags):
    """Move the AMAP-mode groups from the source into the target.

    Every run brings the target up to date with the source: rows already moved are updated when
    they changed, new rows are added, rows deleted from the source are reported (and removed
    with --prune). Each group is committed whole or not at all; a run killed at any point can be
    started again. One run at a time writes into a target: another one refuses, naming the run
    that holds it, or waits (--wait). Exits 1 when a group failed (it is rolled back and named
    with the table, source id and column), 0 otherwise. The summary goes to stdout (--format),
    the reports (JSON, Markdown, HTML) to report_dir.
    """
    if create_schema and dry_run:
        raise click.UsageError("--create-schema with --dry-run: use `bascule plan "
                               "--create-schema`, which creates nothing")
    _transfer(ctx, dry_run=dry_run, prune=prune, create_schema=create_schema,
              json_file=json_file, md_file=md_file, html_file=html_file, fmt=fmt,
              progress=progress, wait=wait, **flags)


@click.command("plan")
@transfer_options
@_prune_option
@click.option("--create-schema", type=click.Choice(["2023", "head"]),
              help="Plan against an empty Camap schema of that shape, as `migrate "
                   "--create-schema` would make it (a fresh target, or none yet); creates "
                   "nothing.")
@move_options
@click.pass_context
def plan_cmd(ctx, prune, create_schema, json_file, md_file, html_file, fmt, progress, **flags):
    """Dry run of migrate: what would move, what is odd, what changed since the last run.

    Writes nothing to the source or the target (not even bascule's own tables). Prints, per
    table, what would be inserted / updated / deleted / dropped, the repairs, the catalogs
    linked to a producer space, the users matched by e-mail and the detected shapes; writes the
    same report as JSON, Markdown and HTML (--json, --markdown, --html; default in report_dir).
    """
    _transfer(ctx, dry_run=True, prune=prune, create_schema=create_schema,
              json_file=json_file, md_file=md_file, html_file=html_file, fmt=fmt,
              progress=progress, **flags)


@click.command("verify")
@transfer_options
@click.option("--source-kind", type=click.Choice(["auto", "cagette", "camap"]),
              help="What the source is (setting source_kind, default auto).")
@click.option("--workers", type=int, help="Worker processes comparing groups at once (default 0:"
              " one per core; 1: one process).")
@click.option("--changed", "changed_only", is_flag=True,
              help="Compare what the last migrate run wrote, what changed in the source since "
                   "the last clean run, and a random sample of the other groups (the cutover "
                   "night); every group when the source's checksums cannot tell.")
@click.option("--sample", type=click.FloatRange(0, 1), default=0.05, show_default=True,
              help="With --changed: the fraction of the other groups compared too.")
@click.option("--seed", type=int, default=None,
              help="With --changed: the seed of the sample (default: random, printed in the "
                   "report).")
@wait_option
@click.pass_context
@interruptible("verify")
def verify_cmd(ctx, json_file, md_file, html_file, fmt, progress, changed_only, sample, seed,
               wait, **flags):
    """Prove that the target holds what the source held.

    For every moved group and table: row counts and a checksum of every mapped column (ids
    mapped, text as UTF-8, dates as text), by chunks; every foreign key of the target must
    resolve; no moved user may have id 1 or site rights. Exits 0 only when everything matches,
    otherwise names each difference and exits 1. With --changed, only what the last run wrote,
    what changed since, and a sample of the rest (see the README's cutover night).
    """
    settings = settings_from(ctx, **flags)
    bar = progress_for(ctx, "verify", progress, settings)
    try:
        check_report_files(settings, json_file, md_file, html_file)
        rep = api.verify(settings, progress=bar, changed_only=changed_only, sample=sample,
                         seed=seed, wait=wait)
    finally:
        bar.stop()
    model = rep.model()
    emit(model, fmt)
    report_files(model, settings, json_file, md_file, html_file)
    if not rep.ok:
        sys.exit(EXIT_DATA)
