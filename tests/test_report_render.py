"""The report files say every row, escaped: the HTML and Markdown of a run with several groups
(markup, pipes, line breaks in their names) hold each group's row and each group-and-table row
as written cell by cell; the big tables written in a few passes (``report.tables``) are what the
cell-by-cell writers give; the JSON is what json.dumps writes; the view is built once."""

from __future__ import annotations

import datetime as dt
import json
import random

from bascule.report import files, tables, to_html, to_markdown, write_reports
from bascule.report.models import RunReportModel

WHEN = dt.datetime(2023, 3, 14, 3, 0, 0, tzinfo=dt.timezone.utc)


def _report() -> RunReportModel:
    groups = [
        {"source_id": 12, "name": "Ruche <b>&co</b>", "target_id": 501, "status": "done",
         "seconds": 1.5, "tables": {"Product": {"insert": 3, "update": 2},
                                    "UserOrder": {"delete": 1, "unchanged": 40}},
         "linked_catalogs": [{"catalog": 7, "name": "Légumes & <fruits>", "vendor": 3,
                              "producer_users": [4, 5]}]},
        {"source_id": 13, "name": "AMAP a|b", "target_id": 502, "status": "done",
         "seconds": 0.25, "tables": {"Product": {"insert": 1200}, "Basket": {"unchanged": 7}}},
        {"source_id": 14, "name": "Les\n Paniers   bio", "status": "failed",
         "error": "Product id 5 column price: <out> of | range"},
        {"source_id": 15, "name": "3 Vallées", "target_id": 504, "status": "done",
         "seconds": 2.0, "tables": {"Product": {"dropped": 2}}},
    ]
    return RunReportModel.model_validate({
        "command": "migrate", "status": "failed", "source_name": "app.cagette.net",
        "operator": "me@host", "started_at": WHEN, "ended_at": WHEN, "dry_run": False,
        "target": {"backend": "sqlite"}, "settings": {"old_host": "app.cagette.net"},
        "totals": {"Product": {"insert": 1203, "update": 2, "dropped": 2},
                   "UserOrder": {"delete": 1, "unchanged": 40}},
        "groups": groups})


def _between(text: str, start: str, end: str) -> str:
    assert start in text, start
    return text.split(start, 1)[1].split(end, 1)[0]


NUM = '<td class="num">'


def test_every_group_row_is_in_the_html_and_markdown_escaped(tmp_path):
    paths = write_reports(_report(), tmp_path)
    html = paths["html"].read_text(encoding="utf-8")
    md = paths["markdown"].read_text(encoding="utf-8")

    assert _between(html, "<h2>Groups</h2>\n<table>\n", "</table>") == (
        "<tr><th>source id</th><th>name</th><th>target id</th><th>status</th>"
        "<th>rows written</th><th>insert</th><th>update</th>"
        "<th>deleted in source, kept (--prune removes)</th><th>dropped</th><th>seconds</th>"
        "</tr>\n"
        f"<tr>{NUM}12</td><td>Ruche &lt;b&gt;&amp;co&lt;/b&gt;</td>{NUM}501</td><td>done</td>"
        f"{NUM}6</td>{NUM}3</td>{NUM}2</td>{NUM}1</td>{NUM}0</td>{NUM}1.50</td></tr>\n"
        f"<tr>{NUM}13</td><td>AMAP a|b</td>{NUM}502</td><td>done</td>"
        f"{NUM}1,200</td>{NUM}1,200</td>{NUM}0</td>{NUM}0</td>{NUM}0</td>{NUM}0.25</td></tr>\n"
        f"<tr>{NUM}14</td><td>Les\n Paniers   bio</td>{NUM}—</td><td>failed</td>"
        f"{NUM}0</td>{NUM}0</td>{NUM}0</td>{NUM}0</td>{NUM}0</td>{NUM}—</td></tr>\n"
        f"<tr>{NUM}15</td>{NUM}3 Vallées</td>{NUM}504</td><td>done</td>"
        f"{NUM}0</td>{NUM}0</td>{NUM}0</td>{NUM}0</td>{NUM}2</td>{NUM}2.00</td></tr>\n")
    assert _between(html, "<h2>Changes per group and table</h2>\n<table>\n", "</table>") == (
        "<tr><th>group</th><th>name</th><th>table</th><th>insert</th><th>update</th>"
        "<th>deleted in source, kept (--prune removes)</th><th>dropped</th></tr>\n"
        f"<tr>{NUM}12</td><td>Ruche &lt;b&gt;&amp;co&lt;/b&gt;</td><td>Product</td>"
        f"{NUM}3</td>{NUM}2</td>{NUM}0</td>{NUM}0</td></tr>\n"
        f"<tr>{NUM}12</td><td>Ruche &lt;b&gt;&amp;co&lt;/b&gt;</td><td>UserOrder</td>"
        f"{NUM}0</td>{NUM}0</td>{NUM}1</td>{NUM}0</td></tr>\n"
        f"<tr>{NUM}13</td><td>AMAP a|b</td><td>Product</td>"
        f"{NUM}1,200</td>{NUM}0</td>{NUM}0</td>{NUM}0</td></tr>\n"
        f"<tr>{NUM}15</td>{NUM}3 Vallées</td><td>Product</td>"
        f"{NUM}0</td>{NUM}0</td>{NUM}0</td>{NUM}2</td></tr>\n")
    producers = _between(html, "<h2>Producers affected", "</table>")
    assert (f"<tr>{NUM}12</td><td>Ruche &lt;b&gt;&amp;co&lt;/b&gt;</td>{NUM}7</td>"
            f"<td>Légumes &amp; &lt;fruits&gt;</td>{NUM}3</td>{NUM}4, 5</td></tr>\n"
            ) in producers
    assert "<li>group 14 (Les\n Paniers   bio): Product id 5 column price: &lt;out&gt; of | " \
           "range</li>" in html
    assert "<b>&co" not in html and "<fruits>" not in html and "<out>" not in html

    assert _between(md, "## Groups\n\n", "\n\n") == "\n".join([
        "| source id | name | target id | status | rows written | insert | update "
        "| deleted in source, kept (--prune removes) | dropped | seconds |",
        "|---|---|---|---|---|---|---|---|---|---|",
        "| 12 | Ruche <b>&co</b> | 501 | done | 6 | 3 | 2 | 1 | 0 | 1.50 |",
        "| 13 | AMAP a\\|b | 502 | done | 1,200 | 1,200 | 0 | 0 | 0 | 0.25 |",
        "| 14 | Les Paniers bio | — | failed | 0 | 0 | 0 | 0 | 0 | — |",
        "| 15 | 3 Vallées | 504 | done | 0 | 0 | 0 | 0 | 2 | 2.00 |"])
    assert _between(md, "## Changes per group and table\n\n", "\n\n") == "\n".join([
        "| group | name | table | insert | update "
        "| deleted in source, kept (--prune removes) | dropped |",
        "|---|---|---|---|---|---|---|",
        "| 12 | Ruche <b>&co</b> | Product | 3 | 2 | 0 | 0 |",
        "| 12 | Ruche <b>&co</b> | UserOrder | 0 | 0 | 1 | 0 |",
        "| 13 | AMAP a\\|b | Product | 1,200 | 0 | 0 | 0 |",
        "| 15 | 3 Vallées | Product | 0 | 0 | 0 | 2 |"])
    assert "| 12 | Ruche <b>&co</b> | 7 | Légumes & <fruits> | 3 | 4, 5 |" in md
    assert ("- group 14 (Les Paniers bio): Product id 5 column price: <out> of \\| range"
            in md)
    # the files are what to_html and to_markdown give, each building the view itself
    assert html == to_html(_report()) and md == to_markdown(_report())


def test_write_reports_builds_the_view_once(tmp_path, monkeypatch):
    built = []
    real = files.build
    monkeypatch.setattr(files, "build", lambda r: built.append(r) or real(r))
    write_reports(_report(), tmp_path)
    assert len(built) == 1


#: Cells that try the few-passes writers: markup, pipes, whitespace of every kind, "—" alone
#: or not, digits of other scripts (right-aligned as str.isdigit says), the separators
#: themselves (the cell-by-cell writers take over), cells that are not text.
CELLS = ["", " ", "a", "12", "1,200", "—", "— x", "x —", "²", "٣ trois", "<b>&'\"", "a|b",
         " a \t b\n", "\u00a0nbsp\u2003", "\x1c", "É", "😀", "0.5", "-3", "\x00", "\x01",
         "\x02", 7, None]


def test_the_big_tables_are_what_the_cell_by_cell_writers_give():
    rnd = random.Random(3)
    cases = [[], [[]], [["a"], []], [["a", "b"], ["c"]], [[c] for c in CELLS],
             [CELLS], [["—", "—", "—"], ["—"]]]
    text = [c for c in CELLS if isinstance(c, str) and c not in ("\x00", "\x01", "\x02")]
    for _ in range(300):
        width = rnd.randint(1, 5)
        cases.append([[rnd.choice(text) + rnd.choice(text) for _ in range(width)]
                      for _ in range(rnd.randint(1, 6))])
    for rows in cases:
        header = ["h|1", " h 2 "][:len(rows[0]) if rows and rows[0] else 1]
        assert tables.html_rows(rows) == tables.html_rows_each(rows), rows
        assert tables.md_table(header, rows) == tables.md_table_each(header, rows), rows


def test_the_json_file_is_what_json_dumps_writes():
    r = _report().model_copy(update={
        "source_name": "Ruche des Côteaux 😀 \x7f\x01\n\t\"\\/ <b>",
        "timings": {"read": 1.25, "tiny": 0.5, "never": float("inf"), "odd": float("nan")}})
    old = json.dumps(r.model_dump(mode="json"), indent=2, default=str) + "\n"
    assert files.report_json(r) == old and files.report_json(r).isascii()
    # a lone surrogate pydantic cannot write: json.dumps writes the file
    lone = r.model_copy(update={"source_name": "x\ud800y"})
    assert files.report_json(lone) == json.dumps(lone.model_dump(mode="json"), indent=2,
                                                 default=str) + "\n"
