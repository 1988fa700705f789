"""`bascule redirects`: web-server configuration sending old Cagette URLs to Camap."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bascule import api
from bascule.cli.options import (
    config_option,
    quiet,
    settings_from,
    source_name_option,
    verbosity_options,
)
from bascule.config import safe_url
from bascule.errors import EXIT_DATA
from bascule.redirects import FORMATS, EmitError
from bascule.redirects.check import DEFAULT_PER_ROUTE
from bascule.redirects.common import DEFAULT_MAX_AGE


@click.command("redirects")
@config_option
@verbosity_options
@click.option("--target", "target_url", default=None,
              help="Target SQLAlchemy URL, where bascule_idmap lives (overrides target_url).")
@click.option("--emit", "fmt", type=click.Choice(FORMATS), default=None,
              help="Output: nginx/apache/caddy/haproxy (config files) or csv/json (one row per "
              "old URL of a moved entity).")
@click.option("--check", "check_url", metavar="URL", default=None,
              help="Instead of emitting: ask the deployed old host at URL (its base URL as "
              "served, e.g. http://127.0.0.1:8081) a sample of old URLs and compare status and "
              "Location with the id map; one line per mismatch, exit 1 on any, 3 if URL cannot "
              "be reached.")
@click.option("--sample", "per_route", type=click.IntRange(1), default=DEFAULT_PER_ROUTE,
              show_default=True, help="--check: moved ids asked per route.")
@click.option("--seed", type=int, default=None,
              help="--check: seed of the sample (default: random, printed in the summary).")
@click.option("--allow-expired", is_flag=True,
              help="Emit even when the end date (redirect_until) is already past: every moved "
              "URL then gets the fallback. Without it, such a date is refused (exit 2).")
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Directory for the files (default: <report_dir>/redirects; csv/json go to "
              "stdout unless -o is given).")
@click.option("--config-dir", default=None,
              help="Absolute directory where the files will live on the web server, written into "
              "the include/map paths (default: the absolute -o directory).")
@click.option("--status", type=click.Choice(["301", "302", "307", "308"]), default=None,
              help="HTTP status of the redirects (default: setting redirect_status, 301).")
@click.option("--until", "until", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Last day of the redirects (overrides redirect_until); they stop at the end of "
              "that day in `timezone`.")
@click.option("--timezone", default=None, help="Time zone of the end date (default: setting "
              "timezone, Europe/Paris).")
@click.option("--old-host", default=None, help="Old host (default: setting old_host).")
@click.option("--new-host", default=None, help="New host (default: setting new_host).")
@click.option("--fallback", type=click.Choice(["410", "home"]), default="410", show_default=True,
              help="After the end date: 410 with a notice page naming the new host, or a 302 to "
              "the new host's /home.")
@click.option("--max-age", type=click.IntRange(0), default=DEFAULT_MAX_AGE, show_default=True,
              help="Cache-Control max-age of the redirects while far from the end date (it "
              "shrinks automatically so that no cached redirect outlives the end date).")
@click.option("--server-tz", default=None,
              help="apache only: time zone of the web server (its %{TIME} is local time; default: "
              "setting timezone).")
@source_name_option
@click.pass_context
def redirects_cmd(ctx, target_url, fmt, check_url, per_route, seed, allow_expired, out_dir,
                  config_dir, status, until, timezone, old_host, new_host, fallback, max_age,
                  server_tz, source_name):
    """Emit the redirect configuration from the id mapping in the target database, or check
    the deployed one (--check URL).

    \b
    Only URLs carrying ids of moved entities redirect (the route table is in
    bascule/redirects/routes.py); shop-mode groups and id-less URLs stay on the old host.
    The redirects stop by themselves at the end of redirect_until (Europe/Paris by default),
    then old URLs of moved entities get the fallback. redirect_until has no default: set it
    (--until); a day already past is refused unless --allow-expired.
    \b
    Examples:
      bascule redirects --emit nginx -o /tmp/redir --config-dir /etc/nginx/bascule
      bascule redirects --emit csv > redirects.csv
      bascule redirects --check https://app.cagette.net   # the deployed redirects, sampled
    """
    s = settings_from(ctx, target_url=target_url, old_host=old_host, new_host=new_host,
                      source_name=source_name,
                      redirect_until=until.date() if until else None, timezone=timezone,
                      redirect_status=int(status) if status else None)
    if (fmt is None) == (check_url is None):
        raise click.UsageError("give one of --emit FORMAT (write the configuration) or --check "
                               "URL (test the deployed one)")
    if not s.target_url:
        raise click.UsageError("target_url is not set (the id mapping lives in the target database)")
    if check_url is not None:
        _check(ctx, s, check_url, fallback, max_age, per_route, seed)
    else:
        _emit(s, fmt, out_dir, config_dir, fallback, max_age, server_tz, allow_expired)


def _emit(s, fmt, out_dir, config_dir, fallback, max_age, server_tz, allow_expired) -> None:
    to_stdout = fmt in ("csv", "json") and out_dir is None
    out = Path(out_dir) if out_dir else s.report_dir / "redirects"
    try:
        opts = api.emit_options(s, fallback=fallback, max_age=max_age,
                                config_dir=config_dir or str(out.resolve()), server_tz=server_tz)
    except (EmitError, ValueError) as e:
        raise click.UsageError(str(e))
    if to_stdout:
        _, info = api.redirects(s, fmt, opts, stream=sys.stdout, allow_expired=allow_expired)
    else:
        files, info = api.redirects(s, fmt, opts, out_dir=out, allow_expired=allow_expired)
        for f in files:
            click.echo(f"wrote {f}", err=True)
    click.echo(info, err=True)
    if api.redirects_left(opts).total_seconds() <= 0:
        click.echo(f"note: the end date {opts.cut.isoformat()} is past (--allow-expired): every "
                   "moved URL gets the fallback.", err=True)


def _check(ctx, s, url, fallback, max_age, per_route, seed) -> None:
    """--check: the mismatches and the summary on stdout, progress on stderr; exit 1 on any."""
    try:
        opts = api.emit_options(s, fallback=fallback, max_age=max_age, config_dir="/")
    except (EmitError, ValueError) as e:
        raise click.UsageError(str(e))
    show = not quiet(ctx)
    step = {"next": 0}

    def progress(done: int, total: int) -> None:
        if show and (done >= step["next"] or done == total):
            click.echo(f"checked {done}/{total} URLs", err=True)
            step["next"] = done + max(1, total // 10)

    if show:
        click.echo(f"asking {url} (Host: {opts.old_host}) the old URLs of the id map in "
                   f"{safe_url(s.target_url)}...", err=True)
    res = api.check_redirects(s, url, opts, per_route=per_route, seed=seed, progress=progress)
    for m in res.mismatches:
        click.echo(m.line())
    click.echo(res.summary())
    if not res.ok:
        sys.exit(EXIT_DATA)
