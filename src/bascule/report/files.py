"""The report files of a run: JSON, Markdown and HTML side by side, under names no other run
takes (two runs in the same second get ``plan-<time>.json`` and ``plan-<time>-2.json``)."""

from __future__ import annotations

import codecs
import datetime as dt
import json
import os
import tempfile
from pathlib import Path

from pydantic_core import PydanticSerializationError

from bascule.errors import SettingsError
from bascule.report import models as m
from bascule.report.render import to_html, to_markdown
from bascule.report.view import build

#: The kinds of report file, by option name.
SUFFIXES = {"json": ".json", "markdown": ".md", "html": ".html"}


def write_json(data: dict, path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    return p


def _json_escapes(e: UnicodeError) -> tuple[str, int]:
    """The non-ASCII characters of a JSON text (only inside its strings) as json.dumps escapes
    them: ``\\u00e9``, a surrogate pair beyond the BMP."""
    assert isinstance(e, UnicodeEncodeError)
    return json.encoder.encode_basestring_ascii(e.object[e.start:e.end])[1:-1], e.end


codecs.register_error("bascule.json-escapes", _json_escapes)


def report_json(r: m.ReportBase) -> str:
    """The report as the JSON text ``write_json(r.model_dump(mode="json"))`` writes (indented
    by 2, non-ASCII escaped), from pydantic's own serializer: json.dumps with an indent takes
    the pure-Python encoder, many times slower on a large run. The text is the same but for
    the spelling of a float under 1e-4 (``0.00001`` for ``1e-05``); a string pydantic cannot
    write (a lone surrogate) takes json.dumps's way."""
    try:
        text = r.model_dump_json(indent=2)
    except PydanticSerializationError:
        return json.dumps(r.model_dump(mode="json"), indent=2, default=str) + "\n"
    if not text.isascii() or "\x7f" in text:
        # DEL is ASCII to the codec, escaped by json.dumps
        text = text.replace("\x7f", "\\u007f").encode("ascii", "bascule.json-escapes").decode()
    return text + "\n"


def check_outputs(report_dir: str | Path | None, files: dict[str, str | Path | None]
                  ) -> None:
    """Before a run writes anything anywhere: the report directory (created when missing, as
    the run would) takes a file, and every file named (``files``: option → path or None) can
    be written (its directory exists or can be made, and takes a file; an existing file is
    not a directory and opens for writing; nothing in it changes). A SettingsError names the
    first path that cannot, the option or setting that gave it, and why."""
    if report_dir is not None:
        _writable_dir(Path(report_dir), "report_dir")
    for option, f in files.items():
        if not f:
            continue
        p = Path(f)
        if p.is_dir():
            raise SettingsError(f"{option} {p}: cannot be written: it is a directory")
        _writable_dir(p.parent, option, of=p)
        if p.exists():
            try:
                with open(p, "ab"):  # appends nothing: the file stays as it is
                    pass
            except OSError as e:
                raise SettingsError(f"{option} {p}: cannot be written: "
                                    f"{e.strerror or e}") from None


def _writable_dir(d: Path, option: str, of: Path | None = None) -> None:
    """``d`` exists (made when missing) and a file can be created in it (one is made and
    removed: permissions alone do not say it for root, nor on a read-only mount)."""
    what = f"{option} {of if of is not None else d}"
    if d.exists() and not d.is_dir():
        raise SettingsError(f"{what}: cannot be written: {d} is a file, not a directory")
    try:
        d.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=d, prefix=".bascule-check-"):
            pass
    except OSError as e:
        raise SettingsError(f"{what}: cannot be written: {e.strerror or e}") from None


def claim_base(report_dir: str | Path, kind: str, when: dt.datetime | None = None,
               suffixes: tuple[str, ...] = (".json", ".md", ".html")) -> Path:
    """A base name ``<report_dir>/<kind>-<YYYYmmdd-HHMMSS>[-N]`` that no other run holds: the
    file of its first suffix is created exclusively (O_EXCL) and none of the others exists, so
    that two runs, even two processes started in the same second, never write over each
    other's reports."""
    d = Path(report_dir)
    d.mkdir(parents=True, exist_ok=True)
    stamp = (when or m.now()).strftime("%Y%m%d-%H%M%S")
    for i in range(1, 10_000):
        base = d / (f"{kind}-{stamp}" + (f"-{i}" if i > 1 else ""))
        if any(Path(f"{base}{x}").exists() for x in suffixes[1:]):
            continue
        try:
            fd = os.open(f"{base}{suffixes[0]}", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            continue
        os.close(fd)
        return base
    raise FileExistsError(f"{d}: no free report name for {kind}-{stamp}")


def write_reports(r: m.ReportBase, report_dir: str | Path, *, json_file: str | Path | None = None,
                  md_file: str | Path | None = None, html_file: str | Path | None = None
                  ) -> dict[str, Path]:
    """The report as JSON, Markdown and HTML: in the files given, else in
    ``<report_dir>/<command>-<time>[-N].json|.md|.html``. Returns {kind: path}."""
    given = {"json": json_file, "markdown": md_file, "html": html_file}
    mine = tuple(SUFFIXES[k] for k, f in given.items() if not f)
    base = claim_base(report_dir, r.command, r.started_at, mine) if mine else None
    paths = {k: Path(f) if f else Path(f"{base}{SUFFIXES[k]}") for k, f in given.items()}
    _write(paths["json"], report_json(r))
    v = build(r)  # once, for both
    for kind, text in (("markdown", to_markdown(r, v)), ("html", to_html(r, v))):
        _write(paths[kind], text)
    return paths


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
