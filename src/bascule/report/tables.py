"""The big tables of a report (a row per group, per group and table: tens of thousands of rows
on a large run) as HTML rows and as a Markdown table, written in a few passes over one string
rather than cell by cell: a template loop, or a Python loop, escaping and formatting each cell
apart, took most of the time of writing a large run's reports.

How: the cells are joined into one string with a control character between cells (``\\x00``)
and another between rows (``\\x01``); that string is escaped (HTML) or collapsed and
pipe-escaped (Markdown) at once, then the separators become the markup. The result is the
text the cell-by-cell writers (``html_rows_each``, ``md_table_each``, kept as the reference)
give, byte for byte; when a cell holds one of the separators, those writers write the table.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from markupsafe import escape

CELL, ROW, NUM = "\x00", "\x01", "\x02"
#: A cell that starts with an ASCII digit (right-aligned), or with a non-ASCII character
#: (a digit of another script, "—" for none, or text: ``_mark_non_ascii`` tells): after each
#: separator, the patterns starting with it (a literal prefix is what re finds fastest).
_ASCII_DIGIT = {sep: re.compile(sep + "(?=[0-9])") for sep in (CELL, ROW)}
_NON_ASCII = {sep: re.compile(sep + "(?=([^\x00-\x7f])([\x00\x01]|\\Z)?)")
              for sep in (CELL, ROW)}


def _joined(rows: Sequence[Sequence[Any]]) -> str | None:
    """The cells as one string, ``\\x00`` between cells, ``\\x01`` before each row; None when a
    cell holds a separator (or a row has no cell), which the string could not tell apart, or
    when there is no row."""
    if not rows:
        return None
    try:
        text = ROW + ROW.join(map(CELL.join, rows))  # type: ignore[arg-type]
    except TypeError:  # a cell that is not text
        text = ROW + ROW.join([CELL.join(map(str, row)) for row in rows])
    cells = sum(map(len, rows))
    if (text.count(CELL) != cells - len(rows) or text.count(ROW) != len(rows)
            or NUM in text or not all(rows)):
        return None
    return text


def _is_num(cell: str) -> bool:
    """As the HTML says it: a cell right-aligned (a number, or "—" for none)."""
    return cell[:1].isdigit() or cell == "—"


def html_rows_each(rows: Sequence[Sequence[Any]]) -> str:
    """``<tr><td>…</td>…</tr>`` and a newline per row, cells escaped, a number's cell
    right-aligned (``class="num"``): cell by cell."""
    out = []
    for row in rows:
        cells = [('<td class="num">' if _is_num(c) else "<td>") + str(escape(c)) + "</td>"
                 for c in map(str, row)]
        out.append("<tr>" + "".join(cells) + "</tr>\n")
    return "".join(out)


def _mark_non_ascii(m: re.Match[str]) -> str:
    """The separator before a cell starting with a non-ASCII character, marked when the cell
    is right-aligned (``_is_num``)."""
    first, after = m.group(1), m.group(2)
    num = first.isdigit() or (first == "—" and after is not None)
    return m.group(0) + NUM if num else m.group(0)


def html_rows(rows: Sequence[Sequence[Any]]) -> str:
    """What ``html_rows_each`` writes, in a few passes over one string."""
    text = _joined(rows)
    if text is None:
        return html_rows_each(rows)
    # escaping leaves the separators, and the first character of a cell that is a digit or
    # not ASCII, as they are: a cell is right-aligned by the character after its separator
    text = str(escape(text))
    for sep in (CELL, ROW):
        text = _ASCII_DIGIT[sep].sub(sep + NUM, text)
        text = _NON_ASCII[sep].sub(_mark_non_ascii, text)
    text = (text.replace(ROW + NUM, '</td></tr>\n<tr><td class="num">')
            .replace(ROW, "</td></tr>\n<tr><td>")
            .replace(CELL + NUM, '</td><td class="num">')
            .replace(CELL, "</td><td>"))
    return text[len("</td></tr>\n"):] + "</td></tr>\n"


def md_cell(text: Any) -> str:
    """Text in a Markdown line or table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def md_table_each(header: Sequence[Any], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table: the header, its rule, a line per row: cell by cell."""
    out = ["| " + " | ".join(md_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(md_cell(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def md_table(header: Sequence[Any], rows: Sequence[Sequence[Any]]) -> str:
    """What ``md_table_each`` writes, in a few passes over one string."""
    text = _joined(rows)
    if text is None:
        return md_table_each(header, rows)
    head = md_table_each(header, [])
    # whitespace collapsed over the whole string, then the space left beside a separator
    # dropped: each cell is stripped and collapsed as md_cell does (the separators are not
    # whitespace to str.split)
    text = " ".join(text.split())
    for sep in (CELL, ROW):
        text = text.replace(" " + sep, sep).replace(sep + " ", sep)
    text = text.replace("|", "\\|")
    return head + "\n" + text[1:].replace(CELL, " | ").replace(ROW, " |\n| ").join(("| ", " |"))
