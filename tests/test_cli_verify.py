"""`bascule verify`: exit 0 when the target matches, 1 naming each difference."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import text

from bascule import api
from bascule.cli import cli
from bascule.dbutil import make_engine

from helpers import make_source, make_target, settings_for


def test_verify_exit_codes(db_factory, tmp_path):
    src = make_source(db_factory("mysql"))
    tgt = make_target(db_factory("sqlite"), "head")
    assert api.migrate(settings_for(src, tgt, tmp_path)).ok
    r = CliRunner().invoke(cli, ["verify", "--source", src, "--target", tgt, "--report-dir",
                                 str(tmp_path), "--format", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["status"] == "done" and "ok" not in d
    # what it checked, against what: both databases (masked), counts, the scope
    assert d["source"]["url"] and d["target"]["url"] and d["checked"]["groups"] > 0
    assert d["checked"]["rows"] > 0 and d["checked"]["foreign_keys"] > 0
    assert d["groups"] and all(g["status"] == "compared" for g in d["groups"])
    # a change in the target is a difference: exit 1, named
    eng = make_engine(tgt)
    with eng.begin() as c:
        c.execute(text('UPDATE "Product" SET price = price + 1 WHERE id = (SELECT MIN(id) FROM '
                       '"Product")'))
    eng.dispose()
    r = CliRunner().invoke(cli, ["verify", "--source", src, "--target", tgt, "--report-dir",
                                 str(tmp_path)])
    assert r.exit_code == 1
    assert "Product" in r.output and "price" in r.output
    assert list(tmp_path.glob("verify-*.md"))


def test_verify_of_a_target_never_migrated(db_factory, tmp_path):
    src = make_source(db_factory("mysql"))
    tgt = make_target(db_factory("sqlite"), "head")
    r = CliRunner().invoke(cli, ["verify", "--source", src, "--target", tgt, "--report-dir",
                                 str(tmp_path)])
    assert r.exit_code == 3 and "nothing was migrated into this target yet" in r.output
