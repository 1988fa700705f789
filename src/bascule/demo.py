"""`bascule demo`: the whole story on an embedded SQLite pair, no server needed.

1. generate a small, realistic Cagette database (SQLite file, with the defects real dumps have);
2. create an empty Camap database (SQLite file);
3. describe the source, plan, migrate, verify; then show the redirects and the producer notice;
4. print what happened and where every file is.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import click
from rich.console import Console

from bascule.cli import cli

out = Console(stderr=True)


def run_demo(workdir: Path, *, scale: float, seed: int, shape: str, camap: str) -> int:
    from bascule.config import load_settings
    from bascule.dbutil import make_engine
    from bascule.extract.cli import print_description
    from bascule.extract.describe import describe_source
    from bascule.generate import generate
    from bascule.pipeline.migrate import Migrator
    from bascule.pipeline.target import create_camap_schema
    from bascule.pipeline.verify import Verifier
    from bascule.report import print_run, print_verify, run_markdown, verify_markdown, write_json

    workdir.mkdir(parents=True, exist_ok=True)
    src_file = workdir / "cagette.sqlite"
    tgt_file = workdir / "camap.sqlite"
    for f in (src_file, tgt_file):
        if f.exists():
            f.unlink()
    src_url, tgt_url = f"sqlite:///{src_file}", f"sqlite:///{tgt_file}"

    out.rule("1. a Cagette database")
    stats = generate(src_url, shape=shape, scale=scale, seed=seed, dirty=True, progress=False)
    out.print(f"generated a Cagette {shape} database in [bold]{src_file}[/] "
              f"(seed {seed}, scale {scale}, {sum(stats.counts.values()):,} rows, with the "
              "defects of real dumps)")
    print_description(describe_source(make_engine(src_url)).as_dict(), out)

    out.rule("2. an empty Camap database")
    create_camap_schema(make_engine(tgt_url), camap)
    out.print(f"created an empty Camap ({camap}) schema in [bold]{tgt_file}[/]")

    settings = load_settings(None, source_url=src_url, target_url=tgt_url,
                             report_dir=str(workdir / "reports"))

    out.rule("3. bascule plan (dry run)")
    plan = Migrator(settings, dry_run=True).run().as_dict()
    print_run(plan, out)
    write_json(plan, workdir / "reports" / "plan.json")
    (workdir / "reports" / "plan.md").write_text(run_markdown(plan), encoding="utf-8")

    out.rule("4. bascule migrate")
    mig = Migrator(settings).run()
    md = mig.as_dict()
    print_run(md, out)
    write_json(md, workdir / "reports" / "migrate.json")
    (workdir / "reports" / "migrate.md").write_text(run_markdown(md), encoding="utf-8")

    out.rule("5. bascule verify")
    ver = Verifier(settings).run()
    vd = ver.as_dict()
    print_verify(vd, out)
    write_json(vd, workdir / "reports" / "verify.json")
    (workdir / "reports" / "verify.md").write_text(verify_markdown(vd), encoding="utf-8")

    extra = _after_the_move(settings, workdir)

    out.rule("where things are")
    out.print(f"source (Cagette):  {src_file}")
    out.print(f"target (Camap):    {tgt_file}")
    out.print(f"reports:           {workdir / 'reports'} (plan, migrate, verify: .json and .md)")
    for line in extra:
        out.print(line)
    out.print("try: sqlite3 " + str(tgt_file) + " 'select * from bascule_group limit 5'")
    return 0 if (ver.ok and mig.ok) else 1


def _after_the_move(settings, workdir: Path) -> list[str]:
    """Redirects (nginx) and the producer notice, from the id mapping the migration wrote."""
    from bascule.dbutil import make_engine
    from bascule.producers.notice import find_producers, to_markdown, to_table
    from bascule.redirects import EmitOptions, emit
    from bascule.redirects.mapping import DbMapping

    lines: list[str] = []
    src, tgt = make_engine(settings.source_url), make_engine(settings.target_url)
    try:
        mapping = DbMapping(tgt)
        out.rule("6. bascule redirects --emit nginx")
        rdir = workdir / "redirects"
        opts = EmitOptions(old_host=settings.old_host, new_host=settings.new_host,
                           cut=settings.redirect_end, status=settings.redirect_status,
                           fallback="410", max_age=86400, config_dir=str(rdir.resolve()),
                           server_tz=settings.timezone)
        opts.validate()
        files, info = emit("nginx", mapping, opts, out_dir=rdir)
        _, csv_info = emit("csv", mapping, opts, out_dir=rdir)
        out.print(f"{len(files)} nginx files in {rdir} (one id map per entity kind, one pattern "
                  f"per route; the redirects stop at {settings.redirect_end.isoformat()})")
        out.print(csv_info)
        lines.append(f"nginx redirects:   {rdir} (and bascule-redirects.csv: every old URL)")

        out.rule("7. bascule producers")
        ps = find_producers(src, mapping, new_host=settings.new_host,
                            cutover_date=settings.cutover_date)
        out.print(to_table(ps))
        notice = workdir / "producers.md"
        notice.write_text(to_markdown(ps, new_host=settings.new_host), encoding="utf-8")
        lines.append(f"producer notice:   {notice}")
    finally:
        src.dispose()
        tgt.dispose()
    return lines


@cli.command("demo")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("bascule-demo"), show_default=True,
              help="Folder for the demo's databases and reports (emptied first).")
@click.option("--scale", type=float, default=0.004, show_default=True,
              help="Size of the generated Cagette (1.0 = Cagette-sized).")
@click.option("--seed", type=int, default=1, show_default=True, help="Generator seed.")
@click.option("--shape", type=click.Choice(["2021", "2023"]), default="2023", show_default=True,
              help="Cagette shape of the generated source.")
@click.option("--camap", type=click.Choice(["2023", "head"]), default="head", show_default=True,
              help="Camap shape of the target.")
def demo_cmd(workdir: Path, scale: float, seed: int, shape: str, camap: str):
    """The whole story on an embedded SQLite pair, with no server: generate a Cagette, plan,
    migrate, verify, and show where everything is."""
    if workdir.exists() and any(workdir.iterdir()) and not (workdir / "cagette.sqlite").exists():
        raise click.UsageError(f"{workdir} is not empty and is not a bascule demo folder")
    if (workdir / "reports").exists():
        shutil.rmtree(workdir / "reports")
    raise SystemExit(run_demo(workdir, scale=scale, seed=seed, shape=shape, camap=camap))
