"""csv and json outputs: one row per (route, moved entity), streamed.

Only routes whose single id is the one enumerated can be listed (``/group/{G}``,
``/contract/order/{C}``...): routes with two ids (``/contractAdmin/orders/{C}?d={D}``,
``/member/invoice/{U}/{MD}``) or with a date/number segment are listed once as patterns in the
json ``routes`` array, not enumerated (their combinations are not in the mapping).
Memory stays flat: the mapping is streamed kind by kind and rows are written as they come.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import TextIO

from bascule.redirects.common import EmitOptions
from bascule.redirects.mapping import IdMapping
from bascule.redirects.routes import KIND_TABLE, Route

CSV_HEADER = ["old_url", "new_url", "status", "route", "kind", "old_id", "new_id"]


def listable(r: Route) -> bool:
    return len(r.kinds) == 1 and not any(s.passthrough and s.passthrough != "hash" for s in r.segments) \
        and not any(s.passthrough == "hash" for s in r.segments)


def rows(mapping: IdMapping, o: EmitOptions) -> Iterator[dict]:
    old_base = f"{o.scheme}://{o.old_host}"
    for r in o.routes:
        if not listable(r):
            continue
        code = r.kinds[0]
        kind = KIND_TABLE[code]
        for old, new in mapping.items(kind):
            yield {
                "old_url": old_base + r.render_old({code: old}),
                "new_url": o.new_base + (r.render_new({code: new}) if r.action == "redirect" else "/home"),
                "status": o.status,
                "route": r.name,
                "kind": kind,
                "old_id": old,
                "new_id": new,
            }


def emit_csv(mapping: IdMapping, o: EmitOptions, out: TextIO) -> int:
    o.validate()
    w = csv.DictWriter(out, fieldnames=CSV_HEADER, lineterminator="\n")
    w.writeheader()
    n = 0
    for row in rows(mapping, o):
        w.writerow(row)
        n += 1
    return n


def emit_json(mapping: IdMapping, o: EmitOptions, out: TextIO) -> int:
    """``{"old_host", "new_host", "until", "status", "routes": [...], "redirects": [...]}``,
    written incrementally (valid JSON, one redirect per line)."""
    o.validate()
    head = {
        "old_host": o.old_host,
        "new_host": o.new_host,
        "until": o.cut.isoformat(),
        "status": o.status,
        "fallback": o.fallback,
        "routes": [
            {"name": r.name, "old": r.old, "new": r.target, "action": r.action,
             "kinds": list(r.tables), "enumerated": listable(r), "notes": r.notes}
            for r in o.routes
        ],
    }
    text = json.dumps(head, ensure_ascii=False, indent=1)
    out.write(text[:-2] + ',\n "redirects": [')
    n = 0
    for row in rows(mapping, o):
        out.write(("\n  " if n == 0 else ",\n  ") + json.dumps(row, ensure_ascii=False))
        n += 1
    out.write("\n ]\n}\n")
    return n
