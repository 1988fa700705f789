"""verify says OK only about what it proved: a group of the source selection that was never
moved, whose move failed, or that a run that did not end moved, is named with its state and what
to run, and verify exits 1; after a clean migrate it exits 0."""

from __future__ import annotations

import subprocess

import pytest

from bascule import api

from faults import BASCULE, run_and_kill
from helpers import amap_and_shop, execute, make_source, make_target, rows, settings_for

TARGETS = ["mysql", "postgresql"]


def _pair(db_factory, kind, seed=5):
    src = make_source(db_factory("sqlite"), seed=seed)
    tgt = make_target(db_factory(kind), "2023")
    return src, tgt, sorted(amap_and_shop(src)[0])


def _cli_verify(src, tgt, tmp_path, *extra):
    return subprocess.run(BASCULE + ["verify", "--source", src, "--target", tgt,
                                     "--no-progress", "--report-dir", str(tmp_path / "v"),
                                     "--format", "json", *extra],
                          capture_output=True, text=True)


def _unproven(rep) -> dict[int, str]:
    return {g["source_id"]: g["status"] for g in rep.unproven}


@pytest.mark.parametrize("kind", TARGETS)
def test_verify_names_failed_groups_then_passes_after_a_clean_rerun(db_factory, tmp_path, kind):
    src, tgt, amap = _pair(db_factory, kind)
    victim = amap[len(amap) // 2]
    vname = rows(src, f'SELECT name FROM "Group" WHERE id = {victim}')[0][0]
    lit = vname.replace("'", "''")
    execute(tgt, f'ALTER TABLE "Group" ADD CONSTRAINT "no_victim" CHECK (name <> \'{lit}\')')
    s = settings_for(src, tgt, tmp_path, batch_size=40)
    assert {g.source_id for g in api.migrate(s).failed} == {victim}
    rep = api.verify(s)
    assert not rep.ok and _unproven(rep) == {victim: "failed"}
    assert rep.selected == len(amap)
    model = rep.model()
    assert model.status == "failed" and model.checked.unproven == 1
    assert model.unproven[0].action == f"bascule migrate --group {victim}"
    assert victim not in {g["source_id"] for g in rep.groups if g["status"] == "compared"}
    p = _cli_verify(src, tgt, tmp_path)
    assert p.returncode == 1, p.stderr
    assert f"group {victim} ({vname}) is not proven: failed in run" in p.stderr
    assert f"bascule migrate --group {victim}" in p.stderr and "Traceback" not in p.stderr
    # --changed says the same
    ch = api.verify(s, changed_only=True)
    assert not ch.ok and _unproven(ch) == {victim: "failed"}
    assert _cli_verify(src, tgt, tmp_path, "--changed").returncode == 1
    # the cause removed, a rerun moves it; verify proves everything
    execute(tgt, 'ALTER TABLE "Group" DROP CONSTRAINT "no_victim"' if kind == "postgresql"
            else 'ALTER TABLE "Group" DROP CONSTRAINT `no_victim`')
    assert not api.migrate(s).failed
    rep = api.verify(s)
    assert rep.ok and not rep.unproven, [d.line() for d in rep.differences]
    assert len([g for g in rep.groups if g["status"] == "compared"]) == len(amap)
    p = _cli_verify(src, tgt, tmp_path)
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("kind", TARGETS)
def test_verify_names_the_groups_of_a_killed_run(db_factory, tmp_path, kind):
    src, tgt, amap = _pair(db_factory, kind)
    killed, _ = run_and_kill(src, tgt, tmp_path, "written, not committed", 2)
    assert killed
    committed = {r[0] for r in rows(tgt, "SELECT source_group_id FROM bascule_group")}
    assert committed and committed < set(amap)  # unit 1 committed, unit 2 not
    s = settings_for(src, tgt, tmp_path, batch_size=40)
    rep = api.verify(s)
    states = _unproven(rep)
    assert set(states) == set(amap), states  # the committed ones too: their run did not end
    assert {g for g, st in states.items() if st == "unfinished run"} == committed
    assert {g for g, st in states.items() if st == "never moved"} == set(amap) - committed
    assert not [g for g in rep.groups if g["status"] == "compared"]
    p = _cli_verify(src, tgt, tmp_path)
    assert p.returncode == 1 and "not proven" in p.stderr and "OK" not in p.stdout
    assert rows(tgt, "SELECT status FROM bascule_run ORDER BY id")[0] == ("interrupted",)
    assert not api.migrate(s).failed
    assert api.verify(s).ok
    assert _cli_verify(src, tgt, tmp_path, "--changed").returncode == 0


@pytest.mark.parametrize("kind", TARGETS)
def test_verify_before_anything_moved_is_not_ok(db_factory, tmp_path, kind):
    """A migrate stopped before its first group committed leaves every group never moved:
    verify compares nothing and says so (it used to say "OK: 0 groups")."""
    src, tgt, amap = _pair(db_factory, kind)
    s = settings_for(src, tgt, tmp_path)
    api.migrate(s.model_copy(update={"groups": [amap[0]]}))  # bascule's tables, one group
    rep = api.verify(s)
    assert _unproven(rep) == {g: "never moved" for g in amap[1:]}
    assert not rep.ok
    assert rep.model().checked.groups == 1
    assert api.verify(s.model_copy(update={"groups": [amap[0]]})).ok  # what is selected


@pytest.mark.parametrize("kind", TARGETS)
def test_verify_believes_the_group_row_over_a_run_that_said_done(db_factory, tmp_path, kind):
    """Two runs at once (before the run lock): one said done, the other overwrote the row
    with failed. verify names the group."""
    src, tgt, amap = _pair(db_factory, kind)
    s = settings_for(src, tgt, tmp_path)
    assert not api.migrate(s).failed
    victim = amap[1]
    execute(tgt, "UPDATE bascule_group SET status = 'failed', error = 'deadlock\nmore' "
                 "WHERE source_group_id = :g", g=victim)
    rep = api.verify(s)
    assert _unproven(rep) == {victim: "failed"} and not rep.ok
    assert rep.unproven[0]["error"] == "deadlock"
    assert not api.verify(s, changed_only=True).ok
    # done again, but with the error of a later failed attempt: not proven either
    execute(tgt, "UPDATE bascule_group SET status = 'done' WHERE source_group_id = :g",
            g=victim)
    assert _unproven(api.verify(s)) == {victim: "failed"}


@pytest.mark.parametrize("kind", TARGETS)
def test_verify_changed_never_compares_nothing(db_factory, tmp_path, kind):
    src, tgt, amap = _pair(db_factory, kind)
    s = settings_for(src, tgt, tmp_path)
    assert not api.migrate(s).failed
    assert not api.migrate(s).failed  # nothing changed: the last run wrote no group
    rep = api.verify(s, changed_only=True, sample=0.0)
    assert rep.ok
    assert rep.model().checked.groups >= 1
