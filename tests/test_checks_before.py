"""Checks made before anything is written to the target: the report files and report_dir
(plan, migrate, verify, rollback), and migrate --create-schema's source and selection of groups
(nothing created when one is refused)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from bascule import api
from bascule.cli import cli
from bascule.errors import SettingsError
from bascule.report import check_outputs

from helpers import amap_and_shop, make_source, make_target, settings_for, table_checksums, \
    table_names


def _invoke(*args):
    return CliRunner().invoke(cli, [*args])


def test_check_outputs_names_the_path_and_the_reason(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(SettingsError, match=r"report_dir .*afile/out: cannot be written"):
        check_outputs(afile / "out", {})
    with pytest.raises(SettingsError, match=r"afile is a file, not a directory"):
        check_outputs(afile, {})
    with pytest.raises(SettingsError, match=r"--html .*: cannot be written: it is a directory"):
        check_outputs(None, {"--html": tmp_path})
    with pytest.raises(SettingsError, match=r"--json .*afile/r.json: cannot be written"):
        check_outputs(tmp_path / "ok", {"--json": afile / "r.json"})
    check_outputs(tmp_path / "new" / "dir", {"--json": tmp_path / "new2" / "r.json",
                                             "--markdown": afile})
    assert (tmp_path / "new" / "dir").is_dir() and afile.read_text() == "x"
    assert not list((tmp_path / "new" / "dir").iterdir())  # the probe is gone


@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_unwritable_outputs_refused_before_the_target_is_written(db_factory, tmp_path, kind):
    src = make_source(db_factory("mysql"), seed=3, scale=0.002)
    tgt = make_target(db_factory(kind), "head")
    amap = sorted(amap_and_shop(src)[0])
    assert api.migrate(settings_for(src, tgt, tmp_path, groups=amap[:-1])).ok
    before = table_checksums(tgt)
    afile = tmp_path / "afile"
    afile.write_text("x")
    base = ["--source", src, "--target", tgt]
    cases = [
        ["migrate", *base, "--report-dir", str(afile / "out"), "--no-progress"],
        ["migrate", *base, "--json", str(tmp_path), "--no-progress"],
        ["plan", *base, "--report-dir", str(afile / "out"), "--no-progress"],
        ["verify", *base, "--html", str(afile / "v.html"), "--no-progress"],
        ["rollback", "--target", tgt, "--group", str(amap[0]), "--yes",
         "--report-dir", str(afile / "out")],
        ["rollback", "--target", tgt, "--group", str(amap[0]), "--yes", "--force",
         "--save", str(afile / "saved.json"), "--report-dir", str(tmp_path / "out")],
    ]
    for args in cases:
        r = _invoke(*args)
        assert r.exit_code == 2, (args, r.output)
        assert "cannot be written" in r.output and "afile" in r.output or \
            "is a directory" in r.output, (args, r.output)
        assert "Traceback" not in r.output
        assert table_checksums(tgt) == before, args  # not even a run row
    # report_dir from the settings file, as in the issue: the migrate would have moved the last
    # group; it is refused before it starts
    conf = tmp_path / "bascule.toml"
    conf.write_text(f'report_dir = "{afile / "reports"}"\n')
    r = _invoke("--config", str(conf), "migrate", *base, "--no-progress")
    assert r.exit_code == 2 and f"report_dir {afile / 'reports'}: cannot be written" in r.output
    assert table_checksums(tgt) == before


@pytest.mark.parametrize("kind", ["mysql", "postgresql", "sqlite"])
def test_create_schema_checks_the_selection_before_creating(db_factory, tmp_path, kind):
    src = make_source(db_factory("mysql"), seed=3, scale=0.002)
    amap, shop = amap_and_shop(src)
    tgt = db_factory(kind).new("tgt")  # an empty database
    for bad, why in ((999999, "group 999999: not in the source"),
                     (min(shop), f"group {min(shop)}: is a shop-mode group")):
        r = _invoke("migrate", "--source", src, "--target", tgt, "--create-schema", "head",
                    "--group", str(bad), "--report-dir", str(tmp_path / "out"),
                    "--no-progress")
        assert r.exit_code == 2 and why in r.output, r.output
        assert "created an empty Camap" not in r.output
        assert table_names(tgt) == set()  # nothing created
        with pytest.raises(SettingsError, match=why):
            api.migrate(settings_for(src, tgt, tmp_path, groups=[min(amap), bad]),
                        create_schema="head")
        assert table_names(tgt) == set()
    # a source that is the target: refused before the schema is created too
    with pytest.raises(SettingsError, match="same database"):
        api.migrate(settings_for(tgt, tgt, tmp_path), create_schema="head")
    assert table_names(tgt) == set()
    # and when everything is right, the schema is made and the groups move
    made = []
    rep = api.migrate(settings_for(src, tgt, tmp_path, groups=[min(amap)]),
                      create_schema="head", created=made.append)
    assert rep.ok and made == ["head"] and "Group" in table_names(tgt)
