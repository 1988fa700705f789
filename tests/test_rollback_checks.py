"""rollback's checks before it writes: a group never moved (exit 2, named), the confirmation on
a terminal (--yes, and the refusal off a terminal), and --run N when a later run moved one of
its groups again."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bascule import api
from bascule.cli import cli
from bascule.cli import rollback as cli_rollback
from bascule.errors import SettingsError
from bascule.transform.clean import display_text

from helpers import amap_and_shop, execute, make_source, make_target, rows, settings_for, \
    table_checksums


def _moved(db_factory, tmp_path, kind, n=2):
    src = make_source(db_factory("mysql"), seed=3, scale=0.003)
    tgt = make_target(db_factory(kind), "head")
    empty = table_checksums(tgt, exclude_prefix="bascule_")
    amap = sorted(amap_and_shop(src)[0])[:n]
    s = settings_for(src, tgt, tmp_path, groups=amap)
    assert api.migrate(s).ok
    return src, tgt, s, amap, empty


def _invoke(*args, **kw):
    return CliRunner().invoke(cli, ["rollback", *args], **kw)


@pytest.mark.parametrize("kind", ["mysql", "postgresql", "sqlite"])
def test_never_moved_group_is_refused_and_confirmation(db_factory, tmp_path, kind, monkeypatch):
    src, tgt, s, amap, _empty = _moved(db_factory, tmp_path, kind)
    before = table_checksums(tgt)  # bascule's tables too: not even a run row
    out = str(tmp_path / "out")
    for dry in (False, True):
        with pytest.raises(SettingsError, match="group 9999 was never moved into this target "
                                                "by source 'app.cagette.net'"):
            api.rollback(s, groups=[amap[0], 9999], dry_run=dry)
    r = _invoke("--target", tgt, "--group", "9999", "--yes", "--report-dir", out)
    assert r.exit_code == 2 and "0 absent" not in r.output
    assert "group 9999 was never moved into this target by source 'app.cagette.net'" in r.output
    assert table_checksums(tgt) == before

    # off a terminal (CliRunner's stdin is a pipe), no --yes: refused, nothing asked
    r = _invoke("--target", tgt, "--group", str(amap[0]), "--report-dir", out)
    assert r.exit_code == 2 and "add --yes" in r.output
    assert table_checksums(tgt) == before

    # on a terminal: the groups and their rows are listed and a "no" removes nothing
    monkeypatch.setattr(cli_rollback, "on_terminal", lambda: True)
    r = _invoke("--target", tgt, "--group", str(amap[0]), "--group", str(amap[1]),
                "--report-dir", out, input="n\n")
    assert r.exit_code == 1, r.output
    assert "rollback will remove 2 groups" in r.output and "Remove them?" in r.output
    for gid in amap:
        (name,) = rows(tgt, "SELECT name FROM bascule_group WHERE source_group_id = :g",
                       g=gid)[0]
        assert f"group {gid} {display_text(name)}" in r.output
    assert "not confirmed: nothing removed" in r.output
    assert table_checksums(tgt) == before
    # a "y" removes them
    r = _invoke("--target", tgt, "--group", str(amap[0]), "--report-dir", out, input="y\n")
    assert r.exit_code == 0, r.output
    assert "1 of 1 group removed" in r.stdout
    assert rows(tgt, "SELECT COUNT(*) FROM bascule_group WHERE source_group_id = :g",
                g=amap[0]) == [(0,)]
    # rolled back already: absent (exit 0), not "never moved"
    r = _invoke("--target", tgt, "--group", str(amap[0]), "--report-dir", out, "--yes")
    assert r.exit_code == 0 and "not in the id map (rolled back already)" in r.output
    # --yes on a terminal asks nothing
    r = _invoke("--target", tgt, "--group", str(amap[1]), "--report-dir", out, "--yes")
    assert r.exit_code == 0 and "Remove them?" not in r.output, r.output
    # the groups rolled back are no longer proven: verify says so (exit 1), no other difference
    ver = api.verify(settings_for(src, tgt, tmp_path, groups=[]))
    assert not ver.ok and not ver.differences, [d.line() for d in ver.differences]
    assert ver.model().checked.groups == 0
    assert {g["source_id"]: g["status"] for g in ver.unproven if g["source_id"] in amap} == \
        {g: "never moved" for g in amap}


@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_run_n_says_which_groups_a_later_run_moved_again(db_factory, tmp_path, kind):
    src, tgt, s, amap, empty = _moved(db_factory, tmp_path, kind)
    runs = [r["id"] for r in api.runs(s)]
    first = runs[-1]
    # the source changes in the second group; the next run moves it again
    execute(src, 'UPDATE "Place" SET name = :n WHERE "groupId" = :g', n="Salle neuve",
            g=amap[1])
    rep = api.migrate(s)
    assert rep.ok and [g.source_id for g in rep.groups] == [amap[1]]
    second = rep.run_id
    # dry run: one line per group of run `first` that `second` moved again
    rep = api.rollback(s, run_id=first, dry_run=True)
    notes = {g.source_id: g.note for g in rep.groups}
    assert set(notes) == set(amap)
    assert notes[amap[0]] is None
    assert notes[amap[1]] == (f"moved again by run {second} after run {first}: rolled back as "
                              f"it is now (the rows of run {second} with it)")
    r = _invoke("--target", tgt, "--run", str(first), "--yes", "--format", "json",
                "--report-dir", str(tmp_path / "out"))
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert {g["source_id"]: (g["status"], g["note"]) for g in d["groups"]} == {
        amap[0]: ("removed", None), amap[1]: ("removed", notes[amap[1]])}
    assert notes[amap[1]] in r.stderr  # the log line too
    # everything the two runs wrote is gone
    assert table_checksums(tgt, exclude_prefix="bascule_") == empty
