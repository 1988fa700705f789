"""The bascule command line. Thin: it parses, calls the library, prints.

Logs and progress go to stderr; machine output (JSON, CSV, config files) to stdout or files.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from bascule import __version__
from bascule.config import ConfigError, Settings, load_settings

log = logging.getLogger("bascule")


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(
        level=max(level, logging.DEBUG),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def settings_from(ctx: click.Context, **flags: Any) -> Settings:
    """Settings for a command: --config file, BASCULE_* environment, then the command's flags."""
    try:
        return load_settings(ctx.obj.get("config_file"), **flags)
    except ConfigError as e:
        raise click.UsageError(str(e))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="bascule")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML settings file (default: ./bascule.toml when it exists). BASCULE_* environment "
    "variables override it, and command-line flags override both.",
)
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-v info, -vv debug).")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, verbose: int) -> None:
    """Move the AMAP-mode groups of a Cagette.net database into a Camap database.

    \b
    A real move, in order:
      bascule plan        dry run: what would move, what is odd, what changed since last run
      bascule migrate     the load (run it again to bring the target up to date)
      bascule verify      prove the target holds what the source held (exit 1 on a difference)
      bascule redirects   web-server config sending old URLs to the new instance
      bascule producers   who lost their producer space, and where their orders are now
    \b
    To try it without any server:  bascule demo
    """
    _setup_logging(verbose)
    ctx.ensure_object(dict)
    ctx.obj["config_file"] = config_file


def main() -> None:  # console-script entry point
    from bascule import commands  # noqa: F401  (registers the subcommands)

    cli(prog_name="bascule")
