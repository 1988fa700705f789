"""The HTML and Markdown of a report, from templates (Jinja2) over one view (``report.view``):
one self-contained HTML file (styles inline, no script, no network, no external asset: it opens
from a ticket attachment) and its Markdown twin."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from bascule.report import models as m
from bascule.report.tables import html_rows, md_cell, md_table
from bascule.report.view import Bar, View, build


def _html_rows(rows: list[list[Any]]) -> Markup:
    """A section's rows, escaped (``tables.html_rows``): markup the template writes as is."""
    return Markup(html_rows(rows))


def _bar_row(b: Bar, kinds: list[tuple[str, str]]) -> list[str]:
    return [b.label] + [f"{b.counts[k]:,}" for k, _ in kinds] + [f"{x:,}" for x in b.extra]


def _timing_row(t: tuple[str, float, float]) -> list[str]:
    return [t[0], f"{t[1]:.1f}"]


_env = Environment(loader=PackageLoader("bascule.report", "templates"),
                   autoescape=lambda name: bool(name and name.endswith(".html.j2")),
                   undefined=StrictUndefined, keep_trailing_newline=True,
                   trim_blocks=False, lstrip_blocks=False)
_env.filters.update(md=md_cell, bar_row=_bar_row, timing_row=_timing_row,
                    html_rows=_html_rows)
_env.globals.update(table=md_table)


def to_html(r: m.ReportBase, v: View | None = None) -> str:
    """The report as one self-contained HTML page (``v``: its view, when built already)."""
    return _env.get_template("report.html.j2").render(r=r, v=v or build(r))


def to_markdown(r: m.ReportBase, v: View | None = None) -> str:
    """The report as Markdown (the same view as the HTML)."""
    text = _env.get_template("report.md.j2").render(r=r, v=v or build(r))
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip() + "\n"
