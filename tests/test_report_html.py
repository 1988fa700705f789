"""What a person reads, read as a person would: the HTML reports of plan, migrate, verify and
rollback opened in Debian's headless Chromium (installed by `make test`, see
scripts/ensure-chromium.sh), printed, and their rendered text read back (pdftotext). The source
is a `--dirty` MariaDB Cagette: its latin1 columns hold UTF-8 bytes, so that every name read
from it raw is mojibake. The rendered text must show the repaired names and the figures, and
no mojibake. The producer notice and its CSV are checked on the same source."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

from click.testing import CliRunner

from bascule import api
from bascule.cli import cli
from bascule.transform.clean import looks_double_encoded, repair_text

from helpers import make_source, make_target, q, rows

#: What mojibake of French text looks like once rendered (Ã©, Ã¨, Ã´, Â ...).
MOJIBAKE_MARKS = ("Ã", "Â", "â€")


def chromium() -> str:
    b = shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(b).exists(), "chromium is missing: run scripts/ensure-chromium.sh (make test)"
    return b


def rendered_text(html: Path, tmp: Path) -> str:
    """The text of ``html`` as Chromium renders it (printed to PDF, read back), whitespace
    collapsed."""
    assert shutil.which("pdftotext"), "pdftotext is missing: run scripts/ensure-chromium.sh"
    pdf = tmp / (html.stem + ".pdf")
    subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                    "--no-pdf-header-footer", "--user-data-dir=" + str(tmp / "chromium"),
                    f"--print-to-pdf={pdf}", html.resolve().as_uri()],
                   check=True, capture_output=True, timeout=120)
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True,
                          capture_output=True, timeout=60).stdout.decode("utf-8")
    return " ".join(text.split())


def squash(text: str) -> str:
    """Text without spaces and hyphens: a name that a table cell wrapped (and pdftotext joined,
    taking a hyphen at the end of a line for a hyphenation) is still found."""
    return re.sub(r"[\s\-\u2010]", "", text)


def assert_no_mojibake(text: str, where: str) -> None:
    for mark in MOJIBAKE_MARKS:
        assert mark not in text, f"{where}: mojibake {mark!r} in {text[:2000]}"
    bad = [w for w in text.split() if looks_double_encoded(w)]
    assert not bad, f"{where}: {bad[:10]}"


def _raw_names(src: str) -> dict[int, str]:
    """Group id → its name as stored (mojibake in a --dirty MariaDB source)."""
    return {int(i): n for i, n in rows(src, f"SELECT id, name FROM {q(src, 'Group')} "
                                            "WHERE (flags & 2) = 0")}


def test_html_reports_render_repaired_names_in_chromium(db_factory, tmp_path):
    src = make_source(db_factory("mysql"), dirty=True, seed=5, scale=0.002)
    tgt = make_target(db_factory("sqlite"), "head")
    raw = _raw_names(src)
    assert any(looks_double_encoded(n) for n in raw.values()), "the source has no mojibake"
    names = {g: repair_text(n) for g, n in raw.items()}
    accented = {g: n for g, n in names.items() if not n.isascii()}
    assert accented, names
    rep = tmp_path / "rep"
    base = ["--source", src, "--target", tgt, "--report-dir", str(rep), "--no-progress"]
    runner = CliRunner()
    for verb in (["plan"], ["migrate"], ["verify"]):
        r = runner.invoke(cli, [*verb, *base, "--html", str(rep / f"{verb[0]}.html")])
        assert r.exit_code == 0, r.output
    gid = sorted(accented)[-1]
    r = runner.invoke(cli, ["rollback", "--target", tgt, "--group", str(gid), "--dry-run",
                            "--report-dir", str(rep), "--html", str(rep / "rollback.html")])
    assert r.exit_code == 0, r.output

    migrate_json = json.loads(next(rep.glob("migrate-*.json")).read_text())
    texts = {k: rendered_text(rep / f"{k}.html", tmp_path)
             for k in ("plan", "migrate", "verify", "rollback")}
    for k, text in texts.items():
        assert_no_mojibake(text, k)
    # the summary in words comes first, then the figures
    assert texts["plan"].index("groups would change") < texts["plan"].index("Per table")
    for n in accented.values():
        assert squash(n) in squash(texts["plan"]) and squash(n) in squash(texts["migrate"]), n
    assert squash(names[gid]) in squash(texts["rollback"])
    assert "would be removed" in texts["rollback"]
    total = migrate_json["totals"]["UserOrder"]["insert"]
    assert f"{total:,}" in texts["migrate"]
    assert f"{len(names)} of {len(names)} groups changed" in texts["migrate"]
    assert "OK:" in texts["verify"] and "no difference" in texts["verify"]
    for k in ("plan", "migrate", "verify", "rollback"):  # the change-ticket header
        t = texts[k]
        assert "bascule 0." in t or "bascule " + migrate_json["bascule_version"] in t
        assert "operator" in t and "started" in t and "source name" in t
    # the page is self-contained: no script, no external asset
    html = (rep / "migrate.html").read_text(encoding="utf-8")
    assert '<meta charset="utf-8">' in html
    for ref in ("http://", "https://", "<script", "<link", "src="):
        assert ref not in html.split("<h2>Settings</h2>")[0], ref


def test_notice_csv_and_table_show_repaired_names(db_factory, tmp_path):
    """The producer notice, its CSV and the producers table on a --dirty MariaDB source."""
    src = make_source(db_factory("mysql"), dirty=True, seed=5, scale=0.002)
    tgt = make_target(db_factory("sqlite"), "head")
    s = api.settings(source_url=src, target_url=tgt, report_dir=str(tmp_path))
    assert api.migrate(s).ok
    raw_vendors = [n for (n,) in rows(src, f"SELECT name FROM {q(src, 'Vendor')}")]
    assert any(looks_double_encoded(n) for n in raw_vendors)
    env = {"BASCULE_SOURCE_URL": src, "BASCULE_TARGET_URL": tgt}
    md = CliRunner().invoke(cli, ["producers", "--format", "markdown"], env=env)
    table = CliRunner().invoke(cli, ["producers"], env=env)
    out = CliRunner().invoke(cli, ["producers", "--format", "csv"], env=env)
    js = CliRunner().invoke(cli, ["producers", "--format", "json"], env=env)
    for r in (md, table, out, js):
        assert r.exit_code == 0, r.output
    ps = json.loads(js.stdout)["producers"]
    assert ps, "no producer in the dirty source"
    for p in ps:
        assert p["name"] == repair_text(p["name"])
        assert f"## {p['name']}" in md.stdout
    people = [u for p in ps for u in p["users"]]
    assert any(not (u["first_name"] + u["last_name"]).isascii() for u in people) or \
        any(not p["name"].isascii() for p in ps)
    for text in (md.stdout, table.stdout, out.stdout):
        assert_no_mojibake(text, "producers")
    rows_ = list(csv.DictReader(io.StringIO(out.stdout)))
    assert {r["vendor"] for r in rows_} == {p["name"] for p in ps}
