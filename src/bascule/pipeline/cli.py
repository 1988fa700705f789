"""`bascule plan`, `bascule migrate`, `bascule verify`."""

from __future__ import annotations

import datetime as dt
import logging
import sys
from pathlib import Path

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

from bascule.cli import cli, settings_from
from bascule.config import Settings, safe_url

log = logging.getLogger("bascule")
err = Console(stderr=True)


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
        self.p = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=False,
        )
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


def _common(f):
    opts = [
        click.option("--source", "source_url", help="Source SQLAlchemy URL (Cagette database, "
                     "read only). Overrides source_url."),
        click.option("--target", "target_url", help="Target SQLAlchemy URL (Camap database). "
                     "Overrides target_url."),
        click.option("--group", "groups", type=int, multiple=True,
                     help="Only this source group id (repeatable). Default: every AMAP group."),
        click.option("--exclude", "exclude_groups", type=int, multiple=True,
                     help="Never this source group id (repeatable)."),
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


def _write_reports(kind: str, data: dict, settings: Settings, json_file: str | None,
                   md_file: str | None, markdown_fn) -> list[str]:
    from bascule.report import write_json

    written = []
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(settings.report_dir)
    default_json = base / f"{kind}-{stamp}.json"
    default_md = base / f"{kind}-{stamp}.md"
    if json_file == "-":
        import json

        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    else:
        written.append(str(write_json(data, json_file or default_json)))
    p = Path(md_file) if md_file else default_md
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(markdown_fn(data), encoding="utf-8")
    written.append(str(p))
    return written


def run_migrate(ctx: click.Context, *, dry_run: bool, prune: bool, create_schema: str | None,
                json_file, md_file, progress: bool, **flags) -> None:
    from bascule.pipeline.migrate import MigrationError, Migrator
    from bascule.report import print_run, run_markdown

    settings = settings_from(ctx, **flags)
    if create_schema:
        if dry_run:
            raise click.UsageError("--create-schema writes to the target: not with plan/--dry-run")
        from bascule.dbutil import make_engine
        from bascule.pipeline.target import TargetError, create_camap_schema

        try:
            create_camap_schema(make_engine(settings.target_url), create_schema)
        except TargetError as e:
            raise click.ClickException(str(e))
        err.print(f"created an empty Camap {create_schema} schema in "
                  f"{safe_url(settings.target_url)}")
    label = "plan" if dry_run else "migrate"
    try:
        m = Migrator(settings, dry_run=dry_run, prune=prune,
                     progress=RichProgress(label, progress))
        report = m.run()
    except MigrationError as e:
        raise click.ClickException(str(e))
    data = report.as_dict()
    print_run(data, err)
    files = _write_reports(label, data, settings, json_file, md_file, run_markdown)
    err.print("reports: " + ", ".join(files))
    if not report.ok:
        sys.exit(1)


@cli.command("migrate")
@_common
@click.option("--dry-run", is_flag=True, help="Write nothing anywhere (same as `bascule plan`).")
@click.option("--prune", is_flag=True,
              help="Delete from the target the rows deleted from the source since the last run "
                   "(without it they are only reported).")
@click.option("--create-schema", type=click.Choice(["2023", "head"]),
              help="First create an empty Camap schema of that shape in an empty target.")
@click.option("--id-strategy", type=click.Choice(["remap", "preserve"]),
              help="remap: new ids above the target's (default); preserve: keep the source ids, "
                   "refuse to start on any collision.")
@click.option("--keep-linked-stock/--clear-linked-stock", default=None,
              help="Keep (or clear, the default) the StockManagement flag of catalogs that were "
                   "linked to a producer space.")
@click.option("--batch-size", type=int, help="Rows per batch (default 5000).")
@click.option("--workers", type=int, help="Worker processes moving groups at once (default 0: "
              "one per core; 1: one process).")
@click.pass_context
def migrate_cmd(ctx, dry_run, prune, create_schema, json_file, md_file, progress, **flags):
    """Move the AMAP-mode groups from the source into the target.

    Every run brings the target up to date with the source: rows already moved are updated when
    they changed, new rows are added, rows deleted from the source are reported (and removed
    with --prune). Each group is committed whole or not at all; a run killed at any point can be
    started again. Exits 1 when a group failed (it is rolled back and named with the table, id
    and column), 0 otherwise.
    """
    run_migrate(ctx, dry_run=dry_run, prune=prune, create_schema=create_schema,
                json_file=json_file, md_file=md_file, progress=progress, **flags)


@cli.command("plan")
@_common
@click.option("--id-strategy", type=click.Choice(["remap", "preserve"]),
              help="As for migrate.")
@click.option("--keep-linked-stock/--clear-linked-stock", default=None, help="As for migrate.")
@click.option("--batch-size", type=int, help="Rows per batch (default 5000).")
@click.pass_context
def plan_cmd(ctx, json_file, md_file, progress, **flags):
    """Dry run of migrate: what would move, what is odd, what changed since the last run.

    Writes nothing to the source or the target (not even bascule's own tables). Prints, per
    table, what would be inserted / updated / deleted / dropped, the repairs, the catalogs
    linked to a producer space, the users matched by e-mail and the detected shapes; writes the
    same report as JSON and Markdown (--json, --markdown, default in report_dir).
    """
    run_migrate(ctx, dry_run=True, prune=False, create_schema=None, json_file=json_file,
                md_file=md_file, progress=progress, **flags)


@cli.command("verify")
@_common
@click.option("--workers", type=int, help="Worker processes comparing groups at once (default 0:"
              " one per core; 1: one process).")
@click.pass_context
def verify_cmd(ctx, json_file, md_file, progress, **flags):
    """Prove that the target holds what the source held.

    For every moved group and table: row counts and a checksum of every mapped column (ids
    mapped, text as UTF-8, dates as text), by chunks; every foreign key of the target must
    resolve; no moved user may have id 1 or site rights. Exits 0 only when everything matches,
    otherwise names each difference and exits 1.
    """
    from bascule.pipeline.migrate import MigrationError
    from bascule.pipeline.verify import Verifier
    from bascule.report import print_verify, verify_markdown

    settings = settings_from(ctx, **flags)
    try:
        rep = Verifier(settings, progress=RichProgress("verify", progress)).run()
    except MigrationError as e:
        raise click.ClickException(str(e))
    data = rep.as_dict()
    print_verify(data, err)
    files = _write_reports("verify", data, settings, json_file, md_file, verify_markdown)
    err.print("reports: " + ", ".join(files))
    if not rep.ok:
        sys.exit(1)
