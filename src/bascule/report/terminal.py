"""A report on the terminal (rich tables, the result of a verb on stdout) and as CSV: the same
view as the HTML and Markdown files, shorter (the per-group tables stay in the files)."""

from __future__ import annotations

import csv
import io

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bascule.report import models as m
from bascule.report.view import Section, View, build

#: Sections the terminal shows, per kind (the files show every one).
ON_TERMINAL = {
    "plan": ("Repairs, drops and matches",),
    "migrate": ("Repairs, drops and matches",),
    "verify": ("Not proven", "Differences"),
    "rollback": ("Groups",),
}
STYLE = {"done": "green", "failed": "red", "running": "yellow", "interrupted": "red"}


def _table(s: Section, title: str | None = None) -> Table:
    t = Table(title=title or s.title)
    for i, h in enumerate(s.header):
        t.add_column(h, justify="left" if i == 0 or not any(
            r[i][:1].isdigit() for r in s.rows if i < len(r)) else "right", overflow="fold")
    for r in s.rows:
        t.add_row(*(escape(c) for c in r))
    return t


def tables_section(v: View) -> Section:
    """The per-table figures of the view (the bars of the HTML) as a table."""
    return Section("per table", ["table", *(label for _, label in v.bar_kinds), *v.bar_extra],
                   [[b.label, *(f"{b.counts[k]:,}" for k, _ in v.bar_kinds),
                     *(f"{x:,}" for x in b.extra)] for b in v.bars])


def print_report(r: m.ReportBase, console: Console, v: View | None = None) -> None:
    """The summary in words, the main tables, then what needs reading (failures, warnings)."""
    v = v or build(r)
    wanted = ON_TERMINAL.get(r.command, ())
    if v.bars and r.command != "rollback":
        console.print(_table(tables_section(v), f"{v.title} — per table"))
    for s in v.sections:
        if s.title in wanted:
            if s.title == "Repairs, drops and matches":
                s = Section(s.title, s.header[:-1], [row[:-1] for row in s.rows])
            console.print(_table(s))
    for title, lines in v.lines:
        console.print(f"[bold]{escape(title)}[/]")
        for line in lines:
            console.print(f"  {escape(line)}")
    style = STYLE.get(r.status, "")
    console.print(f"[{style}]{escape(v.summary)}[/]" if style else escape(v.summary))


def report_csv(r: m.ReportBase) -> str:
    """The figures of a report as CSV: per group and table (plan, migrate, rollback), per table
    (verify)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    if isinstance(r, m.RunReportModel):
        w.writerow(["group", "name", "status", "table", "insert", "update", "delete",
                    "unchanged", "dropped"])
        for g in r.groups:
            for t, c in g.tables.items():
                w.writerow([g.source_id, g.name, g.status, t, c.insert, c.update, c.delete,
                            c.unchanged, c.dropped])
        for t, c in r.shared.items():
            w.writerow(["", "(shared)", "", t, c.insert, c.update, c.delete, c.unchanged,
                        c.dropped])
    elif isinstance(r, m.VerifyReportModel):
        w.writerow(["table", "source_rows", "target_rows", "chunks", "differences"])
        for t, x in r.tables.items():
            w.writerow([t, x.source, x.target, x.chunks, x.differences])
    elif isinstance(r, m.RollbackReportModel):
        w.writerow(["group", "name", "status", "table", "rows", "shared"])
        for g in r.groups:
            for t, k in g.rows.items():
                w.writerow([g.source_id, g.name, g.status, t, k, g.shared.get(t, 0)])
            if not g.rows:
                w.writerow([g.source_id, g.name, g.status, "", 0, 0])
    return out.getvalue()
