"""HAProxy (2.2+) output: map files (one per entity kind) + rules for the old host's frontend.

- The cut: the ``date`` fetch is epoch seconds (UTC), compared with an integer
  (``{ date ge <cut> }``). Cache-Control max-age is exact: ``min(max_age, cut - 1 - now)``
  computed per request (``date,neg,add(cut-1)``).
- Per route: an ACL on the path, the ids looked up with ``map()`` (no default: an unknown id sets
  nothing), the location built with ``set-var-fmt`` only when every id is found; one redirect
  before the cut, the fallback after it (``http-request return`` 410 with the notice, or 302 home).
"""

from __future__ import annotations

import re
from pathlib import Path

from bascule.redirects.common import EmitOptions, header_comment, notice_html, write_maps
from bascule.redirects.mapping import IdMapping
from bascule.redirects.routes import KIND_TABLE, Route

HAPROXY_CONF = "bascule-haproxy.cfg"


def map_file(table: str) -> str:
    return f"bascule-{table}.map"


# no commas, braces or parentheses in haproxy arguments
_PASS = {"int": "[0-9]+", "date": "[0-9]+-[0-9]+-[0-9]+", "hash": "[0-9a-fA-F]+"}


def route_rules(i: int, r: Route, o: EmitOptions) -> list[str]:
    acl = f"bascule_r{i}"
    pat = ["^"]
    field: dict[str, int] = {}
    for n, s in enumerate(r.segments):
        pat.append("/")
        if s.is_literal:
            pat.append(re.escape(s.literal))
        elif s.kind:
            field[s.kind] = n + 2
            pat.append("[0-9]+")
        else:
            if s.passthrough != "hash":
                field[s.name] = n + 2
            pat.append(_PASS[s.passthrough])
    pat.append("/?$")
    guard = "!{ var(txn.bascule_loc) -m found }"
    L = [f"# {r.name}: {r.old} -> {r.target}", f"acl {acl} path_reg {''.join(pat)}"]
    q = {x.kind: x.param for x in r.query_ids}
    for k in r.kinds:
        table = KIND_TABLE[k]
        src = f"url_param({q[k]})" if k in q else f"path,field({field[k]},/)"
        L.append(f"http-request set-var(txn.{acl}_{k}) {src},map({o.config_dir}/{map_file(table)}) "
                 f"if {acl} {guard}")
    parts = []
    for typ, v in r.target_parts():
        if typ == "text":
            parts.append(v)
        elif typ == "id":
            parts.append(f"%[var(txn.{acl}_{v})]")
        else:
            parts.append(f"%[path,field({field[v]},/)]")
    found = " ".join(f"{{ var(txn.{acl}_{k}) -m found }}" for k in r.kinds)
    L.append(f'http-request set-var-fmt(txn.bascule_loc) "{"".join(parts)}" if {acl} {found} {guard}')
    return L


def emit_haproxy(mapping: IdMapping, o: EmitOptions, out_dir: Path) -> list[Path]:
    written, _counts = write_maps(mapping, o, out_dir, map_file)
    cut = o.cut_epoch
    L = header_comment(o, "HAProxy, paste into the frontend (or backend) serving the old host")
    L += [
        f"acl bascule_old_host hdr(host),field(1,:) -i {o.old_host.split(':')[0]}",
        f"acl bascule_gone date ge {cut}",
        f"http-request set-var(txn.bascule_ttl) int({o.max_age})",
        f"http-request set-var(txn.bascule_ttl) date,neg,add({cut - 1}) if {{ date ge {cut - o.max_age} }}",
        "",
    ]
    for i, r in enumerate(o.routes):
        L += route_rules(i, r, o)
    L += [
        "",
        "http-request set-var(txn.bascule_redirect) bool(true) if bascule_old_host "
        "{ var(txn.bascule_loc) -m found } !bascule_gone",
        f"http-request redirect code {o.status} location {o.new_base}%[var(txn.bascule_loc)] "
        "if { var(txn.bascule_redirect) -m found }",
        'http-after-response set-header Cache-Control "max-age=%[var(txn.bascule_ttl)]" '
        "if { var(txn.bascule_redirect) -m found }",
    ]
    gone = "if bascule_old_host { var(txn.bascule_loc) -m found } bascule_gone"
    if o.fallback == "home":
        L.append(f"http-request redirect code 302 location {o.new_base}/home {gone}")
    else:
        L.append('http-request return status 410 content-type "text/html; charset=utf-8" '
                 f'hdr Cache-Control no-store string "{notice_html(o)}" {gone}')
    L.append("")
    p = out_dir / HAPROXY_CONF
    p.write_text("\n".join(L), encoding="utf-8")
    return [p, *written]


def install_text(o: EmitOptions, out_dir: Path) -> str:
    return (f"haproxy: copy {out_dir}/bascule-* to {o.config_dir}/ and paste {HAPROXY_CONF} into the "
            f"frontend serving {o.old_host} (before its use_backend lines), then\n"
            f"  haproxy -c -f /etc/haproxy/haproxy.cfg && systemctl reload haproxy\n")
