"""Apache 2.4 output: RewriteMap txt files (one per entity kind) + a block for the old host's
<VirtualHost> (mod_rewrite + mod_headers: `a2enmod rewrite headers`).

- The time cut: mod_rewrite has no epoch variable; ``%{TIME}`` is the SERVER'S LOCAL time as
  YYYYMMDDhhmmss, compared lexicographically (``>=``). The thresholds are written for the time
  zone given by ``server_tz`` (``--server-tz``, default the settings' time zone): check the
  server's zone (``date +%Z``, or TZ in /etc/apache2/envvars) and re-emit if it differs.
- Cache-Control: ``BASCULE_TTL`` picked from buckets (0, 60, 600, 3600, max-age) by the same
  TIME thresholds; ``Header always set Cache-Control`` on the redirect.
- One rule per route sets ``BASCULE_TARGET`` only when every id is in the maps; then one redirect
  (before the cut) or the fallback (after it: 410 with the notice as ErrorDocument, or 302 home).
- txt maps are read into mod_rewrite's cache lazily; for very large maps convert them to dbm
  (``httxt2dbm -i X.txt -o X.dbm`` and change ``txt:`` to ``dbm:``).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

from bascule.redirects.common import (
    EmitOptions,
    header_comment,
    notice_html,
    ttl_thresholds,
    write_maps,
)
from bascule.redirects.mapping import IdMapping
from bascule.redirects.routes import KIND_TABLE, PASSTHROUGH_RE, Route

APACHE_CONF = "bascule-apache.conf"


def map_file(table: str) -> str:
    return f"bascule-{table}.txt"


def local_time(epoch: int, tz: str) -> str:
    return dt.datetime.fromtimestamp(epoch, ZoneInfo(tz)).strftime("%Y%m%d%H%M%S")


def route_rules(r: Route) -> list[str]:
    """RewriteCond/RewriteRule lines setting BASCULE_TARGET for one route."""
    pat = ["^"]
    groups: dict[str, int] = {}  # kind code or passthrough name → $n
    n = 0
    for s in r.segments:
        pat.append("/")
        if s.is_literal:
            pat.append(re.escape(s.literal))
        elif s.kind:
            n += 1
            groups[s.kind] = n
            pat.append("([0-9]{1,18})")
        elif s.passthrough == "hash":
            pat.append("(?:" + PASSTHROUGH_RE["hash"] + ")")
        else:
            n += 1
            groups[s.name] = n
            pat.append("(" + PASSTHROUGH_RE[s.passthrough] + ")")
    pat.append("/?$")
    conds = ['RewriteCond %{ENV:BASCULE_TARGET} ^$']
    acc: list[str] = []  # resolved kinds, as %1..%k of the last condition
    qparam = {q.kind: q.param for q in r.query_ids}
    for k in r.kinds:
        ts = "".join(f"%{i + 1}:" for i in range(len(acc)))
        pre = "([0-9]+):" * len(acc)
        if k in qparam:
            conds.append(f"RewriteCond {ts}%{{QUERY_STRING}} ^{pre}(?:.*&)?{qparam[k]}=([0-9]{{1,18}})(?:&.*)?$")
            conds.append(f"RewriteCond {ts}${{bascule_{KIND_TABLE[k]}:%{len(acc) + 1}|x}} ^{pre}([0-9]+)$")
        else:
            conds.append(f"RewriteCond {ts}${{bascule_{KIND_TABLE[k]}:${groups[k]}|x}} ^{pre}([0-9]+)$")
        acc.append(k)
    target = []
    for typ, v in r.target_parts():
        if typ == "text":
            target.append(v)
        elif typ == "id":
            target.append(f"%{acc.index(v) + 1}")
        else:
            target.append(f"${groups[v]}")
    path, _, query = "".join(target).partition("?")
    flags = f"E=BASCULE_TARGET:{path}" + (f",E=BASCULE_QUERY:{query}" if query else "")
    return [f"# {r.name}: {r.old} -> {r.target}", *conds, f"RewriteRule {''.join(pat)} - [{flags}]"]


def emit_apache(mapping: IdMapping, o: EmitOptions, out_dir: Path) -> list[Path]:
    written, counts = write_maps(mapping, o, out_dir, map_file)
    tables = sorted({KIND_TABLE[c] for c in counts})
    L = header_comment(o, "Apache 2.4, Include inside the old host's <VirtualHost>")
    L += [f"# %{{TIME}} thresholds are in the server's local time, assumed {o.server_tz}: re-emit with",
          "# --server-tz if the server runs in another zone. Needs mod_rewrite and mod_headers.",
          "RewriteEngine On"]
    for t in tables:
        L.append(f'RewriteMap bascule_{t} "txt:{o.config_dir}/{map_file(t)}"')
    L += ["", "# BASCULE_TTL: 'gone' at/after the cut, else a max-age that ends before it",
          f"RewriteRule ^ - [E=BASCULE_TTL:{o.max_age},E=BASCULE_TARGET:,E=BASCULE_QUERY:]"]
    for t, v in reversed(ttl_thresholds(o.cut_epoch, o.max_age)):
        L += [f"RewriteCond %{{TIME}} >={local_time(t, o.server_tz)}", f"RewriteRule ^ - [E=BASCULE_TTL:{v}]"]
    L += ["", "# One rule per route: BASCULE_TARGET = new path when every id is moved"]
    for r in o.routes:
        L += route_rules(r)
    L += [
        "",
        "# (the query part is kept apart: a '?' coming from a variable is refused by Apache)",
        "RewriteCond %{ENV:BASCULE_TARGET} ^/",
        "RewriteCond %{ENV:BASCULE_TTL} ^[0-9]+$",
        "RewriteCond %{ENV:BASCULE_QUERY} ^.",
        f"RewriteRule ^ {o.new_base}%{{ENV:BASCULE_TARGET}}?%{{ENV:BASCULE_QUERY}} "
        f"[R={o.status},NE,L,E=BASCULE_REDIRECT:1]",
        "RewriteCond %{ENV:BASCULE_TARGET} ^/",
        "RewriteCond %{ENV:BASCULE_TTL} ^[0-9]+$",
        f"RewriteRule ^ {o.new_base}%{{ENV:BASCULE_TARGET}} [R={o.status},NE,QSD,L,E=BASCULE_REDIRECT:1]",
        'Header always set Cache-Control "max-age=%{BASCULE_TTL}e" env=BASCULE_REDIRECT',
        "",
        "# after the cut",
        "RewriteCond %{ENV:BASCULE_TARGET} ^/",
        "RewriteCond %{ENV:BASCULE_TTL} =gone",
    ]
    if o.fallback == "home":
        L.append(f"RewriteRule ^ {o.new_base}/home [R=302,QSD,L,E=BASCULE_GONE:1]")
    else:
        L += ["RewriteRule ^ - [G,L,E=BASCULE_GONE:1]",
              "# (this ErrorDocument applies to every 410 of this host)",
              f'ErrorDocument 410 "{notice_html(o)}"']
    L += ['Header always set Cache-Control "no-store" env=BASCULE_GONE', ""]
    p = out_dir / APACHE_CONF
    p.write_text("\n".join(L), encoding="utf-8")
    return [p, *written]


def install_text(o: EmitOptions, out_dir: Path) -> str:
    return (
        f"apache: copy {out_dir}/bascule-* to {o.config_dir}/, `a2enmod rewrite headers`, then inside "
        f"the <VirtualHost> of {o.old_host}:\n  Include {o.config_dir}/{APACHE_CONF}\n"
        f"  apachectl -t && apachectl graceful\n"
        f"  (%{{TIME}} is local time: thresholds assume the server runs in {o.server_tz})\n"
    )
