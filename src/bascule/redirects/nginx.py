"""nginx output: an include for ``http {}`` (maps) + a snippet for the old host's ``server {}``.

Design (no line per URL; size grows with the number of moved entities only through the id maps):

1. ``bascule-ids-<Table>.map``: ONE id map per entity kind, ``old new;`` per line, included in
   ``map $bascule_<K> $bascule_new_<K> { default ""; include ...; }``. Unknown ids give "".
2. ONE route map on a canonical string ``$uri|param=$arg_param|...`` (the query parameters that
   carry ids, in a fixed order, so the order in the request does not matter): one regex per
   route, in table order, whose named captures (``bascule_<K>``) feed the id maps and whose value
   is ``<new path with ${bascule_new_<K>}>|<new id>|<new id>``.
3. The time cut: ``$msec`` (epoch seconds, UTC, whatever the server's time zone) matched by regexes
   for "number ≥ T": ``gone`` at/after the cut, else the largest Cache-Control lifetime that ends
   before the cut (buckets 0, 60, 600, 3600, max-age).
4. A decision map: redirect only when the route matched AND every new id is non-empty; ``gone``
   after the cut for the same URLs. The server snippet turns it into
   ``301 Location: https://new/...`` + ``Cache-Control: max-age=N`` (internal location, so that
   the old server's own ``add_header`` inheritance is untouched), or the fallback.
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

HTTP_CONF = "bascule-redirects.conf"
SERVER_CONF = "bascule-server.conf"


def ids_file(table: str) -> str:
    return f"bascule-ids-{table}.map"


def query_params(routes: list[Route]) -> list[str]:
    return sorted({q.param for r in routes for q in r.query_ids})


def canonical_source(params: list[str]) -> str:
    return "$uri" + "".join(f"|{p}=$arg_{p}" for p in params)


def route_regex(r: Route, params: list[str]) -> str:
    parts = ["^"]
    for s in r.segments:
        parts.append("/")
        if s.is_literal:
            parts.append(re.escape(s.literal))
        elif s.kind:
            parts.append(f"(?<bascule_{s.kind}>{ID_RE})")
        elif s.passthrough == "hash":
            parts.append(PASSTHROUGH_RE["hash"])
        else:
            parts.append(f"(?<bascule_p_{s.name}>{PASSTHROUGH_RE[s.passthrough]})")
    parts.append("/?")
    qk = {q.param: q.kind for q in r.query_ids}
    for p in params:
        if p in qk:
            parts.append(rf"\|{p}=(?<bascule_{qk[p]}>{ID_RE})")
        else:
            parts.append(rf"\|{p}=[^|]*")
    parts.append("$")
    return "".join(parts)


def route_value(r: Route) -> str:
    out = []
    for typ, v in r.target_parts():
        if typ == "text":
            out.append(v)
        elif typ == "id":
            out.append("${bascule_new_%s}" % v)
        else:
            out.append("${bascule_p_%s}" % v)
    for k in r.kinds:  # every id of the OLD url must be moved
        out.append("|${bascule_new_%s}" % k)
    return "".join(out)


def _q(s: str) -> str:
    if '"' in s or "\n" in s or "\\\\" in s:
        raise ValueError(f"cannot quote {s!r}")
    return f'"{s}"'


def hash_sizes(max_entries: int) -> tuple[int, int]:
    """(map_hash_max_size, map_hash_bucket_size) for maps of up to max_entries numeric keys.

    nginx looks for the smallest table size that keeps every bucket within bucket_size; for big
    maps it starts near max_size (when max_size/entries < 100), so max_size is set to twice the
    entries (load ≤ 0.5) and buckets of 256 bytes hold about ten 7-digit keys each."""
    return max(2048, 2 * max_entries + 1024), 256


def emit_nginx(mapping: IdMapping, o: EmitOptions, out_dir: Path) -> list[Path]:
    id_files, counts = write_maps(mapping, o, out_dir, ids_file, end=";")
    http = out_dir / HTTP_CONF
    http.write_text("\n".join(_http_conf(o, counts)), encoding="utf-8")
    server = out_dir / SERVER_CONF
    server.write_text("\n".join(_server_conf(o)), encoding="utf-8")
    return [http, server, *id_files]


def _http_conf(o: EmitOptions, counts: dict[str, int]) -> list[str]:
    """The include of http {}: the id maps, the time cut, one pattern per route."""
    codes = sorted(counts)
    params = query_params(o.routes)
    max_size, bucket = hash_sizes(max(counts.values(), default=0))
    L = header_comment(o, "nginx, include inside http {}")
    L += [
        "# id maps: " + ", ".join(f"{KIND_TABLE[c]}={counts[c]}" for c in codes),
        "# map_hash_* are http-level settings shared by every map: remove them here if your",
        "# nginx.conf sets them already (keep the larger values).",
        f"map_hash_max_size {max_size};",
        f"map_hash_bucket_size {bucket};",
        "",
        "# Time cut on $msec (epoch seconds, UTC: independent of the server's time zone).",
        "# Value: 'gone' at/after the cut, else the Cache-Control max-age that ends before it.",
        "map $msec $bascule_ttl {",
        f"    default {o.max_age};",
    ]
    for t, v in ttl_thresholds(o.cut_epoch, o.max_age):
        L.append(f"    {_q('~^' + ge_regex(t) + '[.]')} {v};")
    L += ["}", ""]
    for code in codes:
        table = KIND_TABLE[code]
        L += [
            f"map $bascule_{code} $bascule_new_{code} {{  # {table}: old id -> new id",
            '    default "";',
            f"    include {o.config_dir}/{ids_file(table)};",
            "}",
        ]
    L += [
        "",
        "# One pattern per route (first match wins). Value: new path | new ids (empty = not moved).",
        f"map {_q(canonical_source(params))} $bascule_path {{",
        '    default "";',
    ]
    for r in o.routes:
        L.append(f"    # {r.name}: {r.old} -> {r.target}")
        L.append(f"    {_q('~' + route_regex(r, params))} {_q(route_value(r))};")
    L += [
        "}",
        "",
        "# redirect: a route matched, every id is moved, before the cut; gone: same after the cut.",
        'map "$bascule_ttl $bascule_path" $bascule_action {',
        '    default "";',
        r'    "~^[0-9]+ (?<bascule_location>/[^|]*)(?:\|[0-9]+)+$" redirect;',
        r'    "~^gone /[^|]*(?:\|[0-9]+)+$" gone;',
        "}",
        "",
    ]
    return L


def _server_conf(o: EmitOptions) -> list[str]:
    """The include at the top of the old host's server {}: the redirect and the fallback."""
    S = header_comment(o, "nginx, include at the TOP of the old host's server {}")
    S += [
        "# Ends server-level rewrite processing for moved URLs only; everything else goes on",
        "# as before (shop-mode groups, id-less URLs, unknown ids).",
        "if ($bascule_action = redirect) {",
        "    rewrite ^ /__bascule/redirect last;",
        "}",
        "if ($bascule_action = gone) {",
        "    rewrite ^ /__bascule/gone last;",
        "}",
        "location = /__bascule/redirect {",
        "    internal;",
        '    add_header Cache-Control "max-age=$bascule_ttl" always;',
        f"    return {o.status} {o.new_base}$bascule_location;",
        "}",
        "location = /__bascule/gone {",
        "    internal;",
        '    add_header Cache-Control "no-store" always;',
    ]
    if o.fallback == "home":
        S.append(f"    return 302 {o.new_base}/home;")
    else:
        S += [
            "    default_type text/html;",
            "    charset utf-8;",
            f"    return 410 {_q(notice_html(o))};",
        ]
    S += ["}", ""]
    return S


def install_text(o: EmitOptions, out_dir: Path) -> str:
    return (
        f"nginx: copy {out_dir}/bascule-* to {o.config_dir}/ on the web server, then\n"
        f"  1. inside http {{}}:  include {o.config_dir}/{HTTP_CONF};\n"
        f"  2. at the top of the server {{}} block of {o.old_host}:  "
        f"include {o.config_dir}/{SERVER_CONF};\n"
        f"  3. nginx -t && nginx -s reload\n"
        f"Old URLs of moved entities answer {o.status} to {o.new_base} until {o.cut.isoformat()}, "
        f"then {'410 with a notice page' if o.fallback == '410' else '302 to the new /home'}.\n"
    )
