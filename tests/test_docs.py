"""The README and the docs stand alone: no file outside the repository named, the glossary
defines the words they use, the output convention and the report files are described."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = re.compile(r"\.\./|shared/SPEC|reference/measurements|SPEC\.md")


def _texts():
    files = [ROOT / "README.md", ROOT / "DEVELOPERS.md", *sorted((ROOT / "docs").glob("*.md")),
             *sorted((ROOT / "scripts").glob("*.sh")), ROOT / "src/bascule/load/bulk.py",
             ROOT / "src/bascule/extract/drivers.py", ROOT / "src/bascule/cli/__init__.py"]
    return {f.relative_to(ROOT): f.read_text(encoding="utf-8") for f in files}


def test_no_file_outside_the_repository_is_named():
    bad = [f"{f}: {m.group(0)}" for f, t in _texts().items() for m in OUTSIDE.finditer(t)]
    assert not bad, bad
    for f, t in _texts().items():  # the docs a text names are in the repository
        for name in re.findall(r"docs/[\w./-]+\.(?:md|json)", t):
            assert (ROOT / name).exists(), (f, name)


def test_the_glossary_defines_the_words_used_before_they_are_defined():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    glossary = readme.split("## Glossary", 1)[1]
    for word in ("AMAP mode and shop mode", "Producer space", "Shape", "Unit", "Chunk", "Id map",
                 "Frozen window", "Fallback"):
        assert f"**{word}" in glossary, word


def test_the_readme_describes_the_output_convention_and_the_report_files():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    out = readme.split("## Output: what goes where", 1)[1].split("\n## ", 1)[0]
    for needle in ("stdout", "stderr", "--format", "table|json|markdown|csv", "-v", "-q",
                   "heartbeat", ".html", "self-contained", "docs/schema/", "_BASCULE_COMPLETE"):
        assert needle in out, needle
    assert "bascule runs" in readme
