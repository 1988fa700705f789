"""The compiled build (``bascule._build``): the compiled modules are the ones loaded when the build
made them, ``BASCULE_COMPILED=0`` loads the pure-Python files, and both give the same target rows,
id maps and row hashes on the generator's data."""

from __future__ import annotations

import importlib
import importlib.machinery
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from bascule import _build
from bascule.dbutil import make_engine
from bascule.load.idmap import unpack_block
from helpers import make_source, make_target, table_checksums

PURE = {**os.environ, _build.SWITCH: "0"}
EXT = tuple(importlib.machinery.EXTENSION_SUFFIXES)


def _package_path(name: str) -> list[str]:
    return list(importlib.import_module(name.rpartition(".")[0]).__path__)


def _loaded(env: dict[str, str]) -> dict[str, str]:
    """Module name → the file it was loaded from, in a fresh process with ``env``."""
    code = ("import importlib, json, bascule._build as b; "
            "print(json.dumps({n: importlib.import_module(n).__file__ for n in b.COMPILED}))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


def test_the_compiled_modules_are_loaded_when_built():
    built = {n for n in _build.COMPILED if _build.built(n, _package_path(n))}
    if os.environ.get("BASCULE_EXPECT_COMPILED") == "1":  # make test: the build must have run
        assert built == set(_build.COMPILED), \
            f"not compiled: {sorted(set(_build.COMPILED) - built)} (scripts/ensure-compiled.sh)"
    files = _loaded({**os.environ, _build.SWITCH: "1"})
    for name, f in files.items():
        assert f.endswith(EXT) == (name in built), (name, f)
    assert all(f.endswith(".py") for f in _loaded(PURE).values())


def test_the_switch_and_the_age_of_the_source_decide(tmp_path, monkeypatch):
    """A package with one module, built (a stand-in file) and then edited: the source wins."""
    pkg = tmp_path / "bascule" / "transform"
    pkg.mkdir(parents=True)
    py = pkg / "rows.py"
    py.write_text("X = 1\n")
    ext = pkg / ("rows" + importlib.machinery.EXTENSION_SUFFIXES[0])
    ext.write_bytes(b"")
    os.utime(py, (1_000, 1_000))
    os.utime(ext, (2_000, 2_000))
    finder = _build._Pure()
    monkeypatch.setenv(_build.SWITCH, "1")
    assert _build.built("bascule.transform.rows", [str(pkg)])
    assert finder.find_spec("bascule.transform.rows", [str(pkg)]) is None  # Python's: the .so
    monkeypatch.setenv(_build.SWITCH, "0")
    assert finder.find_spec("bascule.transform.rows", [str(pkg)]).origin == str(py)
    monkeypatch.setenv(_build.SWITCH, "1")
    os.utime(py, (3_000, 3_000))  # edited after the build
    assert not _build.built("bascule.transform.rows", [str(pkg)])
    with pytest.warns(UserWarning, match="changed since it was compiled"):
        assert finder.find_spec("bascule.transform.rows", [str(pkg)]).origin == str(py)
    # compiled again: only the group's shared library (beside the top package) is written
    group = tmp_path / (_build.GROUP + importlib.machinery.EXTENSION_SUFFIXES[0])
    group.write_bytes(b"")
    os.utime(group, (4_000, 4_000))
    assert _build.built("bascule.transform.rows", [str(pkg)])
    assert finder.find_spec("bascule.transform.rows", [str(pkg)]) is None
    assert finder.find_spec("bascule.other", [str(pkg)]) is None


def _migrate(src: str, tgt: str, env: dict[str, str], tmp_path: Path) -> None:
    code = "import sys; from bascule.cli import main; sys.exit(main())"
    r = subprocess.run([sys.executable, "-c", code, "migrate", "--source", src, "--target", tgt,
                        "--workers", "1", "--no-progress", "--report-dir", str(tmp_path)],
                       env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]


def _id_maps(url: str) -> list[tuple]:
    """Every id-map entry with its row hash, sorted."""
    eng = make_engine(url)
    out = []
    try:
        with eng.connect() as c:
            for row in c.execute(text("SELECT table_name, old_id, new_id, row_hash, new_key "
                                      "FROM bascule_idmap")):
                out.append(tuple(row))
            for tn, g, o, n, h, k in c.execute(text(
                    "SELECT table_name, group_id, old_ids, new_ids, row_hashes, new_keys "
                    "FROM bascule_idblock")):
                out.extend((tn, g, old, *e) for old, e in unpack_block(o, n, h, k))
    finally:
        eng.dispose()
    return sorted(out, key=repr)


@pytest.mark.slow
@pytest.mark.parametrize("shape,target", [("2021", "postgresql"), ("2023", "mysql")])
def test_pure_and_compiled_give_the_same_rows(shape, target, db_factory, tmp_path):
    """Every table of the generator's dirty data, both source shapes, both target engines (the
    COPY text and the SQL literals: the row hashes are those texts')."""
    if not any(_build.built(n, _package_path(n)) for n in _build.COMPILED):
        pytest.skip("no compiled module was built (make venv builds them)")
    src = make_source(db_factory("mysql"), shape=shape, dirty=True, scale=0.004)
    tf = db_factory(target)
    compiled, pure = make_target(tf), make_target(tf)
    _migrate(src, compiled, {**os.environ, _build.SWITCH: "1"}, tmp_path / "c")
    _migrate(src, pure, PURE, tmp_path / "p")
    sums = table_checksums(compiled, exclude_prefix="bascule_")
    assert sum(int(v.split(":")[0]) for v in sums.values()) > 1000
    assert sums == table_checksums(pure, exclude_prefix="bascule_")
    maps = _id_maps(compiled)
    assert maps and maps == _id_maps(pure)
