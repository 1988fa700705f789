"""`bascule redirects`: web-server configuration sending old Cagette URLs to Camap."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bascule import api
from bascule.cli.options import (
    config_option,
    settings_from,
    source_name_option,
    verbosity_options,
)
from bascule.redirects import FORMATS, EmitError
from bascule.redirects.common import DEFAULT_MAX_AGE


@click.command("redirects")
@config_option
@verbosity_options
@click.option("--target", "target_url", default=None,
              help="Target SQLAlchemy URL, where bascule_idmap lives (overrides target_url).")
@click.option("--emit", "fmt", type=click.Choice(FORMATS), required=True,
              help="Output: nginx/apache/caddy/haproxy (config files) or csv/json (one row per "
              "old URL of a moved entity).")
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
def redirects_cmd(ctx, target_url, fmt, out_dir, config_dir, status, until, timezone, old_host,
                  new_host, fallback, max_age, server_tz, source_name):
    """Emit the redirect configuration from the id mapping in the target database.

    \b
    Only URLs carrying ids of moved entities redirect (the route table is in
    bascule/redirects/routes.py); shop-mode groups and id-less URLs stay on the old host.
    The redirects stop by themselves at the end of redirect_until (Europe/Paris by default),
    then old URLs of moved entities get the fallback.
    \b
    Examples:
      bascule redirects --emit nginx -o /tmp/redir --config-dir /etc/nginx/bascule
      bascule redirects --emit csv > redirects.csv
    """
    s = settings_from(ctx, target_url=target_url, old_host=old_host, new_host=new_host,
                      source_name=source_name,
                      redirect_until=until.date() if until else None, timezone=timezone,
                      redirect_status=int(status) if status else None)
    if not s.target_url:
        raise click.UsageError("target_url is not set (the id mapping lives in the target database)")
    to_stdout = fmt in ("csv", "json") and out_dir is None
    out = Path(out_dir) if out_dir else s.report_dir / "redirects"
    try:
        opts = api.emit_options(s, fallback=fallback, max_age=max_age,
                                config_dir=config_dir or str(out.resolve()), server_tz=server_tz)
    except (EmitError, ValueError) as e:
        raise click.UsageError(str(e))
    if to_stdout:
        _, info = api.redirects(s, fmt, opts, stream=sys.stdout)
    else:
        files, info = api.redirects(s, fmt, opts, out_dir=out)
        for f in files:
            click.echo(f"wrote {f}", err=True)
    click.echo(info, err=True)
    if api.redirects_left(opts).total_seconds() <= 0:
        click.echo(f"note: the end date {opts.cut.isoformat()} is past: every moved URL gets the "
                   "fallback.", err=True)
