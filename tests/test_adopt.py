"""Targets filled by the release before sources were named keep working: the release of commit
f0399ea (its own code, taken from this repository's history) migrates into a target; this
release reads it as it is (plan), adopts its bookkeeping under the configured source name on its
first run that writes (migrate: nothing written to Camap's tables), and verifies it."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import inspect

from bascule import api
from bascule.dbutil import make_engine
from bascule.load.bookkeeping import IDMAP, bookkeeping_metadata

from helpers import (
    idmap_entries,
    make_source,
    make_target,
    rows,
    settings_for,
    table_checksums,
    table_names,
)

#: The last commit whose bookkeeping has no source.
OLD_RELEASE = "f0399ea"
REPO = Path(__file__).resolve().parents[1]


def old_release(tmp_path: Path) -> Path:
    """The ``src`` of the old release, from git (``git archive``)."""
    out = tmp_path / "old"
    out.mkdir()
    tar = tmp_path / "old.tar"
    subprocess.run(["git", "-C", str(REPO), "archive", "-o", str(tar), OLD_RELEASE, "src"],
                   check=True)
    with tarfile.open(tar) as t:
        t.extractall(out, filter="data")
    return out / "src"


def old_migrate(old_src: Path, src: str, tgt: str, tmp_path: Path) -> None:
    code = (f"import sys; sys.path.insert(0, {str(old_src)!r}); import bascule; "
            f"assert bascule.__file__.startswith({str(old_src)!r}); "
            "from bascule.cli import main; main()")
    p = subprocess.run([sys.executable, "-c", code, "migrate", "--source", src, "--target", tgt,
                        "--workers", "1", "--no-progress", "--report-dir",
                        str(tmp_path / "old-out")], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-3000:]


def _columns(url: str, table: str) -> set[str]:
    eng = make_engine(url)
    try:
        return {c["name"] for c in inspect(eng).get_columns(table)}
    finally:
        eng.dispose()


def _written(rep) -> int:
    return sum(c.insert + c.update + c.delete for c in rep.totals().values())


@pytest.mark.parametrize("target_kind", ["mysql", "postgresql"])
def test_an_old_layout_target_is_adopted(db_factory, tmp_path, target_kind):
    old_src = old_release(tmp_path)
    src = make_source(db_factory("mysql"), seed=4)
    tgt = make_target(db_factory(target_kind), "2023")
    old_migrate(old_src, src, tgt, tmp_path)
    assert "source" not in _columns(tgt, "bascule_group")
    entries = sorted(idmap_entries(tgt))
    camap = table_checksums(tgt, exclude_prefix="bascule_")
    s = settings_for(src, tgt, tmp_path)
    # read as it is: plan finds nothing to do and changes nothing
    plan = api.plan(s)
    assert plan.ok and _written(plan) == 0
    assert "source" not in _columns(tgt, "bascule_group")
    # the first run that writes adopts it, and writes nothing into Camap's tables
    rep = api.migrate(s)
    assert rep.ok and _written(rep) == 0
    assert table_checksums(tgt, exclude_prefix="bascule_") == camap
    for t in ("bascule_idmap", "bascule_idblock", "bascule_group", "bascule_chunk",
              "bascule_run"):
        assert "source" in _columns(tgt, t), t
        assert rows(tgt, f"SELECT DISTINCT source FROM {t}") == [("app.cagette.net",)], t
    assert "identity" in _columns(tgt, "bascule_group")
    assert sorted(idmap_entries(tgt)) == entries
    assert not any(n.endswith("_legacy") for n in table_names(tgt))
    assert api.verify(s).ok
    assert [r["source"] for r in api.runs(s)] == ["app.cagette.net"] * 3
    # the groups it recorded now have their identity (the guard of a reused source name)
    assert rows(tgt, "SELECT COUNT(*) FROM bascule_group WHERE identity IS NULL") == [(0,)]


def test_an_upgrade_killed_midway_is_finished_by_the_next_run(db_factory, tmp_path):
    old_src = old_release(tmp_path)
    src = make_source(db_factory("mysql"), seed=4)
    tgt = make_target(db_factory("postgresql"), "2023")
    old_migrate(old_src, src, tgt, tmp_path)
    entries = sorted(idmap_entries(tgt))
    # as a run killed after putting bascule_idmap aside and creating the new one, half filled
    eng = make_engine(tgt)
    try:
        with eng.begin() as c:
            c.exec_driver_sql("ALTER TABLE bascule_idmap RENAME TO bascule_idmap_legacy")
        bookkeeping_metadata().tables[IDMAP].create(eng)
    finally:
        eng.dispose()
    s = settings_for(src, tgt, tmp_path)
    rep = api.migrate(s)
    assert rep.ok and _written(rep) == 0
    assert sorted(idmap_entries(tgt)) == entries
    assert "bascule_idmap_legacy" not in table_names(tgt)
    assert api.verify(s).ok
