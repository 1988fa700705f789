"""`bascule describe`'s result: the source's kind and shape, its groups (id, name, mode, size)
and rows per table, as rich tables, Markdown or CSV (its JSON is ``SourceDescription.as_dict``)."""

from __future__ import annotations

import csv
import io

from rich.console import Console
from rich.markup import escape
from rich.table import Table

GROUP_COLUMNS = ("id", "name", "mode", "members", "catalogs", "orders", "rows")


def _kind(d: dict) -> str:
    return "Camap" if d.get("kind") == "camap" else "Cagette"


def headline(d: dict) -> list[str]:
    out = [f"{_kind(d)} source, shape {d['shape']} ({'; '.join(d['shape_reasons'])}), "
           f"{d['backend']}"]
    if d.get("kind") == "camap":
        out.append(f"groups: {d['groups']['amap']:,} (every group of a Camap source moves)")
    else:
        out.append(f"groups: {d['groups']['amap']:,} AMAP mode (they move), "
                   f"{d['groups']['shop']:,} shop mode (they stay); "
                   f"{d['linked_catalogs']:,} catalogs linked to a producer space")
    if d["ignored_columns"]:
        out.append("legacy columns present (ignored): " + "; ".join(
            f"{k}: {', '.join(v)}" for k, v in sorted(d["ignored_columns"].items())))
    return out


def print_description(d: dict, console: Console) -> None:
    for line in headline(d):
        console.print(escape(line))
    g = Table(title="groups (rows: members, catalogs, products, distributions and orders)")
    for c in GROUP_COLUMNS:
        g.add_column(c, justify="left" if c in ("name", "mode") else "right")
    for x in d.get("group_list", []):
        g.add_row(str(x["id"]), escape(x["name"]), x["mode"],
                  *(f"{x[c]:,}" for c in GROUP_COLUMNS[3:]))
    console.print(g)
    t = Table(title="rows per table")
    t.add_column("table")
    t.add_column("rows", justify="right")
    for name, n in d["rows"].items():
        t.add_row(name, f"{n:,}")
    console.print(t)


def _cell(x) -> str:
    return str(x).replace("|", "\\|")


def description_markdown(d: dict) -> str:
    L = ["# bascule describe", ""] + [f"- {x}" for x in headline(d)] + ["", "## Groups", ""]
    L += ["| " + " | ".join(GROUP_COLUMNS) + " |", "|" + "---|" * len(GROUP_COLUMNS)]
    L += ["| " + " | ".join(_cell(x[c]) for c in GROUP_COLUMNS) + " |"
          for x in d.get("group_list", [])]
    L += ["", "## Rows per table", "", "| table | rows |", "|---|---|"]
    L += [f"| {t} | {n} |" for t, n in d["rows"].items()]
    return "\n".join(L) + "\n"


def description_csv(d: dict) -> str:
    """One row per group (what an operator sorts and filters to choose --group)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(GROUP_COLUMNS)
    for x in d.get("group_list", []):
        w.writerow([x[c] for c in GROUP_COLUMNS])
    return out.getvalue()
