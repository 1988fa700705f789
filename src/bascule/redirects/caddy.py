"""Caddy 2 output: a block to ``import`` inside the old host's site block + one map file per kind.

- One ``map`` on ``{path}|param={query.param}|...`` (canonical, as for nginx) sets
  ``{bascule_route}`` and the raw ids (``{bascule_<K>}``) from the route regexes; one ``map`` per
  kind turns ``{bascule_<K>}`` into ``{bascule_new_<K>}`` ("" when not moved).
- The cut: a ``map`` on ``{time.now.unix}`` (epoch seconds, UTC) with "number ≥ T" regexes gives
  ``gone`` or the Cache-Control lifetime that ends before the cut (buckets 0/60/600/3600/max-age).
- Per route: an ``expression`` matcher (route and every new id known) and a ``route`` block that
  redirects (before the cut) or answers the fallback (after it).
- Limitation: Caddy's ``map`` compares its entries one after the other, so lookups cost grows with
  the map size (fine for thousands of ids; for hundreds of thousands prefer nginx or HAProxy), and
  map outputs are not expanded, hence one ``redir`` per route.
"""

from __future__ import annotations

import re
from pathlib import Path

from bascule.redirects.common import (
    EmitOptions,
    ge_regex,
    header_comment,
    notice_html,
    ttl_thresholds,
    write_maps,
)
from bascule.redirects.mapping import IdMapping
from bascule.redirects.routes import ID_RE, KIND_TABLE, PASSTHROUGH_RE, Route

CADDY_CONF = "bascule.caddy"


def map_file(table: str) -> str:
    return f"bascule-{table}.caddymap"


def _regex(r: Route, params: list[str]) -> tuple[str, dict[str, int]]:
    parts, groups, n = ["^"], {}, 0
    for s in r.segments:
        parts.append("/")
        if s.is_literal:
            parts.append(re.escape(s.literal))
        elif s.kind:
            n += 1
            groups[s.kind] = n
            parts.append(f"({ID_RE})")
        elif s.passthrough == "hash":
            parts.append("(?:" + PASSTHROUGH_RE["hash"] + ")")
        else:
            n += 1
            groups["p_" + s.name] = n
            parts.append("(" + PASSTHROUGH_RE[s.passthrough] + ")")
    parts.append("/?")
    q = {x.param: x.kind for x in r.query_ids}
    for p in params:
        if p in q:
            n += 1
            groups[q[p]] = n
            parts.append(rf"\|{p}=({ID_RE})")
        else:
            parts.append(rf"\|{p}=[^|]*")
    parts.append("$")
    return "".join(parts), groups


def emit_caddy(mapping: IdMapping, o: EmitOptions, out_dir: Path) -> list[Path]:
    written, counts = write_maps(mapping, o, out_dir, map_file)
    routes = o.routes
    codes = sorted(counts)
    pnames = sorted({s.name for r in routes for s in r.segments if s.passthrough and s.passthrough != "hash"})
    params = sorted({q.param for r in routes for q in r.query_ids})
    src = "{path}" + "".join(f"|{p}={{query.{p}}}" for p in params)
    dests = ["{bascule_route}"] + [f"{{bascule_{c}}}" for c in codes] + [f"{{bascule_p_{n}}}" for n in pnames]
    L = header_comment(o, "Caddy 2, import inside the old host's site block")
    L += ["# cut on {time.now.unix}: 'gone' at/after it, else the max-age that ends before it",
          "map {time.now.unix} {bascule_ttl} {"]
    for t, v in ttl_thresholds(o.cut_epoch, o.max_age):
        L.append(f"\t~^{ge_regex(t)}$ {v}")
    L += [f"\tdefault {o.max_age}", "}", f"map {src} {' '.join(dests)} {{"]
    for i, r in enumerate(routes):
        rx, groups = _regex(r, params)
        outs = [f"r{i}"] + [f'"${{{groups[c]}}}"' if c in groups else '""' for c in codes] \
            + [f'"${{{groups["p_" + n]}}}"' if "p_" + n in groups else '""' for n in pnames]
        L.append(f"\t~{rx} {' '.join(outs)}")
    L += ["\tdefault " + " ".join(['""'] * len(dests)), "}"]
    for c in codes:
        imp = [f"\timport {o.config_dir}/{map_file(KIND_TABLE[c])}"] if counts[c] else []  # empty: EOF
        L += [f"map {{bascule_{c}}} {{bascule_new_{c}}} {{", *imp, '\tdefault ""', "}"]
    L += ['@bascule_live expression `{bascule_ttl} != "gone"`',
          '@bascule_gone expression `{bascule_ttl} == "gone"`']
    for i, r in enumerate(routes):
        cond = " && ".join([f'{{bascule_route}} == "r{i}"'] + [f'{{bascule_new_{k}}} != ""' for k in r.kinds])
        target = "".join(v if t == "text" else (f"{{bascule_new_{v}}}" if t == "id" else f"{{bascule_p_{v}}}")
                         for t, v in r.target_parts())
        L += [f"# {r.name}: {r.old} -> {r.target}",
              f"@bascule_r{i} expression `{cond}`",
              f"route @bascule_r{i} {{",
              '\theader @bascule_live Cache-Control "max-age={bascule_ttl}"',
              f"\tredir @bascule_live {o.new_base}{target} {o.status}"]
        if o.fallback == "home":
            L += ['\theader @bascule_gone Cache-Control "no-store"',
                  f"\tredir @bascule_gone {o.new_base}/home 302"]
        else:
            L += ['\theader @bascule_gone Cache-Control "no-store"',
                  '\theader @bascule_gone Content-Type "text/html; charset=utf-8"',
                  f'\trespond @bascule_gone "{notice_html(o)}" 410']
        L.append("}")
    L.append("")
    p = out_dir / CADDY_CONF
    p.write_text("\n".join(L), encoding="utf-8")
    return [p, *written]


def install_text(o: EmitOptions, out_dir: Path) -> str:
    return (f"caddy: copy {out_dir}/bascule* to {o.config_dir}/ and, inside the site block of "
            f"{o.old_host}:\n  import {o.config_dir}/{CADDY_CONF}\n"
            "  caddy validate --config /etc/caddy/Caddyfile && caddy reload --config /etc/caddy/Caddyfile\n")
