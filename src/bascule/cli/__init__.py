"""The bascule command line. Thin: it parses, calls ``bascule.api``, prints. Nothing in bascule
imports this package.

The result of a verb goes to stdout (``--format`` where it applies); progress and logs to stderr
(``-v``/``-q`` on the group or the verb); report files to ``report_dir``.
"""

from __future__ import annotations

import importlib

import click

from bascule import __version__
from bascule.cli.options import CONFIG_HELP, verbosity_options

#: verb → "module:command". The verbs are registered here, in this order.
VERBS = {
    "describe": "bascule.cli.describe:describe_cmd",
    "plan": "bascule.cli.transfer:plan_cmd",
    "migrate": "bascule.cli.transfer:migrate_cmd",
    "verify": "bascule.cli.transfer:verify_cmd",
    "rollback": "bascule.cli.rollback:rollback_cmd",
    "runs": "bascule.cli.runs:runs_cmd",
    "redirects": "bascule.cli.redirects:redirects_cmd",
    "producers": "bascule.cli.producers:producers_cmd",
    "seed": "bascule.cli.seed:seed_cmd",
    "demo": "bascule.cli.demo:demo_cmd",
}


class Verbs(click.Group):
    """The group of ``VERBS``, each imported when it is used: ``bascule migrate`` (and each of
    its worker processes) does not load the generator of ``bascule seed`` and ``bascule demo``
    (about 14 MB per process)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(VERBS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = VERBS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=Verbs, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="bascule")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help=CONFIG_HELP)
@verbosity_options
@click.pass_context
def cli(ctx: click.Context, config_file: str | None) -> None:
    """Move the AMAP-mode groups of a Cagette.net database into a Camap database.

    \b
    A real move, in order:
      bascule plan        dry run: what would move, what is odd, what changed since last run
      bascule migrate     the load (run it again to bring the target up to date)
      bascule verify      prove the target holds what the source held (exit 1 on a difference)
      bascule rollback    take moved groups out of the target again (what bascule wrote)
      bascule runs        the history of the runs in the target
      bascule redirects   web-server config sending old URLs to the new instance
      bascule producers   who lost their producer space, and where their orders are now
    \b
    To try it without any server:  bascule demo
    \b
    The result goes to stdout (--format table|json|markdown|csv), progress and
    logs to stderr (-v, -q), the reports (JSON, Markdown, HTML) to report_dir.
    Shell completion (bash): eval "$(_BASCULE_COMPLETE=bash_source bascule)"
    """
    ctx.ensure_object(dict)
    ctx.obj["config_file"] = config_file


def main() -> None:  # console-script entry point
    cli(prog_name="bascule")
