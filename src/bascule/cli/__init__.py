"""The bascule command line. Thin: it parses, calls ``bascule.api``, prints. Nothing in bascule
imports this package.

The result of a verb goes to stdout (``--format`` where it applies); progress and logs to stderr
(``-v``/``-q`` on the group or the verb); report files to ``report_dir``.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
import traceback
from typing import NoReturn

import click

from bascule import __version__
from bascule.cli.options import CONFIG_HELP, verbosity_options
from bascule.dberrors import is_database_error, translate
from bascule.errors import EXIT_CANNOT_PROCEED, MigrationError

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

    def invoke(self, ctx: click.Context):
        """Run the verb; any error it ends with is ONE line on stderr and its exit code
        (``bascule.errors``: 1 the data says no, 2 usage or settings, 3 could not proceed); the
        stack only with ``--traceback`` or ``-vv``."""
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit,
                click.exceptions.Abort):
            raise
        except MigrationError as e:
            fail(ctx, e, str(e), e.exit_code)
        except Exception as e:  # noqa: BLE001 - one line, never a bare traceback
            if is_database_error(e):
                err = translate(e)
                fail(ctx, e, str(err), err.exit_code)
            if isinstance(e, OSError):  # a file or directory: its own message says which
                fail(ctx, e, str(e), EXIT_CANNOT_PROCEED)
            fail(ctx, e, f"{type(e).__name__}: {' '.join(str(e).split())} (rerun with "
                 "--traceback)",
                 EXIT_CANNOT_PROCEED, prefix="internal error: ")


def fail(ctx: click.Context, exc: BaseException, message: str, code: int,
         prefix: str = "error: ") -> None:
    """Print ``message`` on stderr as one line (several problems joined by "; "), after the
    stack with --traceback or -vv, and exit ``code``."""
    obj = ctx.obj or {}
    if obj.get("traceback") or obj.get("verbose", 0) >= 2:
        traceback.print_exception(exc, file=sys.stderr)
        if getattr(exc, "worker_traceback", None):  # the stack of a worker process
            sys.stderr.write(f"in the worker process:\n{exc.worker_traceback}")
    lines = [" ".join(ln.split()) for ln in message.splitlines() if ln.strip()]
    sys.stderr.write(prefix + "; ".join(lines) + "\n")
    sys.stderr.flush()
    ctx.exit(code)


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
    \b
    Exit codes: 0 done; 1 the data says no (a failed group, a difference, a refused
    rollback); 2 bad usage or settings (selection and schema included); 3 could not proceed
    (connection, access, missing database or bascule tables, driver, server limit). An error
    is one line on stderr; --traceback (or -vv) shows its stack.
    """
    ctx.ensure_object(dict)
    ctx.obj["config_file"] = config_file


def main() -> NoReturn:  # console-script entry point
    """``bascule``. Once the verb has ended (its files closed, its engines disposed, its
    worker processes waited for) and the output is flushed, the process leaves without
    tearing down its modules and objects one by one, which took 0.3 s of every command and
    serves nothing (``os._exit``; a normal exit while a thread that is not a daemon runs)."""
    try:
        cli(prog_name="bascule")
        code: object = 0
    except SystemExit as e:
        code = e.code
    except OSError as e:  # click's own output (--version, usage) could not be written
        sys.stderr.write(f"error: {e}\n")
        code = EXIT_CANNOT_PROCEED
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (``| head``): nothing more to say
        pass
    except OSError as e:  # the result could not be written (a full disk)
        sys.stderr.write(f"error: the result on stdout: {e}\n")
        code = code or EXIT_CANNOT_PROCEED
    sys.stderr.flush()
    logging.shutdown()
    if any(not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(code)
    os._exit(code)
