"""`bascule demo`: the whole story on an embedded SQLite pair, no server needed.

1. generate a small, realistic Cagette database (SQLite file, with the defects real dumps have),
   or with ``--from camap`` a Camap one (an instance-to-instance move);
2. create an empty Camap database (SQLite file), or for a Camap source a current Camap that
   already hosts groups and some of the same people;
3. describe the source, plan, migrate, verify; then show the redirects and the producer notice;
4. print what happened and where every file is.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import click
from rich.console import Console

from bascule import api
from bascule.cli import console
from bascule.cli.options import verbosity_options
from bascule.config import Settings
from bascule.generate import generate
from bascule.producers.notice import to_markdown, to_table
from bascule.report import print_report, write_reports
from bascule.report.describe import print_description


#: How long the demo's redirects live after the day it runs (about six months).
DEMO_REDIRECT_DAYS = 183


class _Out:
    """The demo's story goes to stdout (its result), on the console of the moment; a rule is
    a short title line when stdout is not a terminal (no 10,000-column line)."""

    def __getattr__(self, name: str):
        return getattr(console.out(), name)

    def rule(self, title: str) -> None:
        c = console.out()
        if c.is_terminal:
            c.rule(title)
        else:
            c.print(f"\n== {title} ==")


out: Console = _Out()  # type: ignore[assignment]


def run_demo(workdir: Path, *, scale: float, seed: int, shape: str, camap: str,
             source_kind: str = "cagette") -> int:
    workdir.mkdir(parents=True, exist_ok=True)
    name = "cagette" if source_kind == "cagette" else "camap-source"
    src_file, tgt_file = workdir / f"{name}.sqlite", workdir / "camap.sqlite"
    for f in (workdir / "cagette.sqlite", workdir / "camap-source.sqlite", tgt_file):
        if f.exists():
            f.unlink()
    reports = workdir / "reports"
    today = dt.date.today()
    # the dates of a move are the day it runs and a few months on: the demo's redirects are
    # live the day they are emitted
    settings = api.settings(source_url=f"sqlite:///{src_file}",
                            target_url=f"sqlite:///{tgt_file}", report_dir=str(reports),
                            cutover_date=today,
                            redirect_until=today + dt.timedelta(days=DEMO_REDIRECT_DAYS))
    label = "Cagette" if source_kind == "cagette" else "Camap"

    out.rule(f"1. a {label} database")
    if source_kind == "cagette":
        stats = generate(settings.source_url, shape=shape, scale=scale, seed=seed, dirty=True,
                         progress=False)
        what = "with the defects of real dumps"
    else:
        stats = generate(settings.source_url, kind="camap", shape=shape, scale=scale, seed=seed,
                         shared_users=0.3, progress=False)
        what = "every group moves: Camap has no shop mode"
    out.print(f"generated a {label} {shape} database in [bold]{src_file}[/] "
              f"(seed {seed}, scale {scale}, {sum(stats.counts.values()):,} rows, {what})")
    print_description(api.describe(settings).as_dict(), out)

    if source_kind == "cagette":
        out.rule("2. an empty Camap database")
        api.create_schema(settings, camap)
        out.print(f"created an empty Camap ({camap}) schema in [bold]{tgt_file}[/]")
    else:
        out.rule("2. a Camap that already hosts groups")
        generate(settings.target_url, kind="camap", shape=camap, scale=scale, seed=seed + 1,
                 shared_users=0.3, progress=False)
        out.print(f"generated a Camap ({camap}) in [bold]{tgt_file}[/] with its own groups; "
                  "some of its users are people of the source too (matched by e-mail)")

    ok = True
    html: dict[str, Path] = {}
    for step, kind in (("3. bascule plan (dry run)", "plan"), ("4. bascule migrate", "migrate"),
                       ("5. bascule verify", "verify")):
        out.rule(step)
        rep = {"plan": api.plan, "migrate": api.migrate, "verify": api.verify}[kind](settings)
        model = rep.model()
        print_report(model, out)
        files = write_reports(model, reports, json_file=reports / f"{kind}.json",
                              md_file=reports / f"{kind}.md", html_file=reports / f"{kind}.html")
        html[kind] = files["html"]
        ok = ok and rep.ok

    extra = _after_the_move(settings, workdir, producers=source_kind == "cagette")

    out.rule("where things are")
    out.print(f"source ({label}):{' ' * (9 - len(label))}{src_file}")
    out.print(f"target (Camap):    {tgt_file}")
    out.print(f"reports:           {reports} (plan, migrate, verify: .json, .md and .html)")
    out.print(f"HTML report:       {html['migrate'].resolve()} (open it in a browser)")
    for line in extra:
        out.print(line)
    out.print("try: sqlite3 " + str(tgt_file) + " 'select * from bascule_group limit 5'")
    return 0 if ok else 1


def _after_the_move(settings: Settings, workdir: Path, producers: bool = True) -> list[str]:
    """Redirects (nginx) and the producer notice, from the id mapping the migration wrote."""
    out.rule("6. bascule redirects --emit nginx")
    rdir = workdir / "redirects"
    opts = api.emit_options(settings, max_age=86400, config_dir=str(rdir.resolve()))
    files, _info = api.redirects(settings, "nginx", opts, out_dir=rdir)
    _, csv_info = api.redirects(settings, "csv", opts, out_dir=rdir)
    out.print(f"{len(files)} nginx files in {rdir} (one id map per entity kind, one pattern "
              f"per route; the redirects stop at {settings.redirect_end.isoformat()})")
    out.print(csv_info)
    lines = [f"nginx redirects:   {rdir} (and bascule-redirects.csv: every old URL)"]
    if not producers:
        return lines  # a Camap source has no producer space

    out.rule("7. bascule producers")
    ps = api.producers(settings)
    out.print(to_table(ps))
    notice = workdir / "producers.md"
    notice.write_text(to_markdown(ps, new_host=settings.new_host), encoding="utf-8")
    return lines + [f"producer notice:   {notice}"]


@click.command("demo")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("bascule-demo"), show_default=True,
              help="Folder for the demo's databases and reports (emptied first).")
@click.option("--scale", type=float, default=0.004, show_default=True,
              help="Size of the generated Cagette (1.0 = Cagette-sized).")
@click.option("--seed", type=int, default=1, show_default=True, help="Generator seed.")
@click.option("--from", "source_kind", type=click.Choice(["cagette", "camap"]), default="cagette",
              show_default=True,
              help="What the generated source is: a Cagette (the March 2023 move) or a Camap "
              "(an instance-to-instance move, into a Camap that already hosts groups).")
@click.option("--shape", type=click.Choice(["2021", "2023", "head"]), default="2023",
              show_default=True,
              help="Shape of the generated source: 2021 or 2023 for a Cagette, 2023 or head for "
              "a Camap.")
@click.option("--camap", type=click.Choice(["2023", "head"]), default="head", show_default=True,
              help="Camap shape of the target.")
@verbosity_options
def demo_cmd(workdir: Path, scale: float, seed: int, source_kind: str, shape: str, camap: str):
    """The whole story on an embedded SQLite pair, with no server: generate a source, plan,
    migrate, verify, and show where everything is."""
    if (source_kind, shape) in (("cagette", "head"), ("camap", "2021")):
        raise click.UsageError(f"--shape {shape}: a {source_kind.capitalize()} database has no "
                               "such shape")
    if source_kind == "camap" and shape == "head" and camap != "head":
        raise click.UsageError("a current Camap source (--shape head) moves only into a current "
                               "Camap (--camap head)")
    if workdir.exists() and any(workdir.iterdir()) and not any(
            (workdir / f).exists() for f in ("cagette.sqlite", "camap-source.sqlite")):
        raise click.UsageError(f"{workdir} is not empty and is not a bascule demo folder")
    if (workdir / "reports").exists():
        shutil.rmtree(workdir / "reports")
    raise SystemExit(run_demo(workdir, scale=scale, seed=seed, shape=shape, camap=camap,
                              source_kind=source_kind))
