"""`bascule seed`: fill a database with a synthetic Cagette (source) or Camap database."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from bascule.cli import console
from bascule.cli.options import verbosity_options
from bascule.config import safe_url
from bascule.dbutil import create_database, database_exists, drop_database
from bascule.errors import MigrationError
from bascule.generate import KINDS, GenerateError, generate


@click.command("seed")
@click.argument("url", metavar="URL")
@click.option("--kind", type=click.Choice(list(KINDS)), default="cagette", show_default=True,
              help="cagette: a Cagette.net database (both group modes, plugin tables); camap: a "
              "Camap database (AMAP groups only, no Cagette plugin table).")
@click.option("--shape", type=click.Choice(["2021", "2023", "head"]), default="2023",
              show_default=True,
              help="Schema shape. Cagette: 2021 (public source: rights2, data2, TmpBasket...) or "
              "2023 (renamed columns, Basket.status, no TmpBasket). Camap: 2023 (the March-2023 "
              "fork) or head (current Camap: notification flags, stock tracking, "
              "ProductDistributionStock, NotificationMail, migrations...).")
@click.option("--scale", type=float, default=0.01, show_default=True,
              help="Size: 1.0 is Cagette-sized (2,500 groups, 150,000 users, ~2,000,000 orders); "
              "every count is multiplied by it (small minimums keep every feature at 0.001). A Camap "
              "database has the AMAP share of the groups (60%, at least 5) and all the users.")
@click.option("--seed", "seed", type=int, default=1, show_default=True,
              help="Random seed: the same kind, shape, seed, scale, --shared-users and --dirty give "
              "the same rows on every engine.")
@click.option("--shared-users", type=click.FloatRange(0.0, 1.0), default=0.0, show_default=True,
              help="Share of the users taken from a pool of identities common to every database "
              "(same names and e-mail, at ids that depend on the seed): two databases seeded with "
              "shares a and b have min(round(a*(users-1)), round(b*(users-1))) e-mail addresses in "
              "common, besides admin@cagette.net. 0 keeps the usual rows.")
@click.option("--dirty", is_flag=True,
              help="Cagette only. Add what real dumps hold: zero dates, UTF-8 bytes in latin1 columns, case-only "
              "duplicate e-mails, dangling ids (in text; real FK values on MariaDB), malformed JSON, "
              "legacy orders without subscription/basket/distribution, legacy columns and tables.")
@click.option("--create", is_flag=True, help="Create the database first (utf8mb4 / UTF8).")
@click.option("--drop-existing", is_flag=True,
              help="Drop the database if it exists and create it again (destroys its content).")
@verbosity_options
@click.pass_context
def seed_cmd(ctx: click.Context, url: str, kind: str, shape: str, scale: float, seed: int,
             shared_users: float, dirty: bool, create: bool, drop_existing: bool) -> None:
    """Create a synthetic Cagette.net (or Camap) database at URL (a SQLAlchemy URL) and fill it.

    \b
    Examples:
      bascule seed 'mysql+pymysql://root@127.0.0.1/cagette' --create --scale 0.1
      bascule seed sqlite:///cagette.sqlite --scale 0.01 --shape 2021 --dirty
      bascule seed postgresql+psycopg://postgres@127.0.0.1/cagette --drop-existing
      bascule seed sqlite:///camap.sqlite --kind camap --shape head --seed 2 --shared-users 0.3

    The per-table row counts and a one-line summary go to stdout; the progress bar to stderr
    (none with -q).
    """
    shown = safe_url(url)
    quiet = bool((ctx.obj or {}).get("quiet"))
    if shape not in KINDS[kind]:
        raise click.BadParameter(f"a {kind} database has no shape {shape!r} (choose from "
                                 f"{', '.join(KINDS[kind])})", param_hint="'--shape'")
    if dirty and kind != "cagette":
        raise click.BadParameter("--dirty makes Cagette dump defects: --kind cagette only",
                                 param_hint="'--dirty'")
    try:
        if drop_existing:
            if database_exists(url):
                drop_database(url)
            create_database(url)
        elif create:
            create_database(url, exist_ok=False)
        stats = generate(url, kind=kind, shape=shape, scale=scale, seed=seed, dirty=dirty,
                         shared_users=shared_users, progress=not quiet)
    except MigrationError:  # a database error, translated (dberrors): the group prints it
        raise
    except (GenerateError, ValueError, FileExistsError) as e:
        raise click.ClickException(f"{shown}: {_hide(str(e), url)}") from None
    except Exception as e:  # driver errors: name the database, never the password
        msg = _hide(str(e).splitlines()[0] if str(e) else type(e).__name__, url)
        raise click.ClickException(f"{shown}: {type(e).__name__}: {msg}") from None
    what = (f"{kind.capitalize()} {shape}, scale {scale}, seed {seed}"
            + (f", shared users {shared_users}" if shared_users else "") + (", dirty" if dirty else ""))
    _print_stats(console.out(), stats, what)
    click.echo(f"seeded {shown}: {stats.total_rows:,} rows in {len(stats.counts)} tables "
               f"in {stats.seconds:.1f}s ({what})")


def _print_stats(err: Console, stats, what: str) -> None:
    """Rows per table and the defects written (dirty)."""
    t = Table(title=f"bascule seed: {what}", show_edge=False)
    t.add_column("table")
    t.add_column("rows", justify="right")
    for name in sorted(stats.counts):
        t.add_row(name, f"{stats.counts[name]:,}")
    err.print(t)
    if stats.defects:
        d = Table(title="defects (dirty)", show_edge=False)
        d.add_column("defect")
        d.add_column("count", justify="right")
        for k, v in stats.defects.items():
            d.add_row(k, str(v))
        for k, v in stats.dangling.items():
            d.add_row(f"dangling FK {k}", str(v))
        err.print(d)


def _hide(msg: str, url: str) -> str:
    """Remove the password of url from a driver message (defensive: drivers rarely echo it)."""
    try:
        pw = make_url(url).password
    except Exception:
        return msg
    return msg.replace(pw, "***") if pw else msg


__all__ = ["seed_cmd"]
