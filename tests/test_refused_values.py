"""Values the target refuses: NUL in text going into PostgreSQL, a 4-byte UTF-8 character (an
emoji) going into a utf8mb3 column of a MariaDB target. plan lists them (terminal and report,
by table, source id and column); migrate fails their group before it is written, named the same
way, and moves the others."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bascule import api
from bascule.cli import cli
from bascule.plan import values

from helpers import amap_and_shop, execute, make_source, make_target, rows, settings_for, \
    table_checksums

CARROT = "\U0001F955"


def test_find_looks_at_each_column_once():
    rows_ = [(1, "ok", "fine"), (2, "a\x00b", "é"), (3, None, "carotte " + CARROT)]
    checks = [(1, "name", values.NUL), (2, "desc", values.FOUR_BYTES),
              (2, "desc", values.NUL), (1, "name", values.FOUR_BYTES)]
    found = values.find(rows_, checks)
    assert [(n, c, k) for n, c, k, _ in found] == [(1, "name", "nul"), (2, "desc", "4byte")]
    assert "NUL character" in found[0][3]
    assert found[1][3].startswith(f"{CARROT} (U+1F955), a 4-byte UTF-8 character")
    assert values.find([], checks) == [] and values.find(rows_, []) == []


def _seeded(db_factory, value):
    """A source whose product (of an AMAP group) has ``value`` in its name."""
    src = make_source(db_factory("mysql"), seed=3, scale=0.002)
    amap = sorted(amap_and_shop(src)[0])
    gid = amap[0]
    (pid,) = rows(src, 'SELECT MIN(p.id) FROM "Product" p JOIN "Catalog" c ON c.id = '
                       'p."catalogId" WHERE c."groupId" = :g', g=gid)[0]
    execute(src, 'UPDATE "Product" SET name = :v WHERE id = :p', v=value, p=pid)
    return src, amap, gid, pid


def _narrow(tgt, table, column):
    """Make a column of a MariaDB target utf8mb3, as an older Camap has it."""
    ((ctype, nullable),) = rows(tgt, "SELECT COLUMN_TYPE, IS_NULLABLE FROM information_schema."
                                "COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :t "
                                "AND COLUMN_NAME = :c", t=table, c=column)
    execute(tgt, f"ALTER TABLE `{table}` MODIFY `{column}` {ctype} CHARACTER SET utf8mb3 "
                 f"COLLATE utf8mb3_general_ci {'NULL' if nullable == 'YES' else 'NOT NULL'}")


@pytest.mark.parametrize("case", ["nul-postgresql", "emoji-mariadb-utf8mb3"])
def test_plan_warns_and_migrate_fails_the_group_named(db_factory, tmp_path, case):
    if case == "nul-postgresql":
        src, amap, gid, pid = _seeded(db_factory, "Zqx carottes\x00bio")
        tgt = make_target(db_factory("postgresql"), "head")
        why = "a NUL character (\\x00), which a PostgreSQL text column refuses"
    else:
        src, amap, gid, pid = _seeded(db_factory, f"Zqx carottes {CARROT}")
        tgt = make_target(db_factory("mysql"), "head")
        _narrow(tgt, "Product", "name")
        why = f"{CARROT} (U+1F955), a 4-byte UTF-8 character, which the target's utf8mb3"
    before = table_checksums(tgt)
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["plan", "--source", src, "--target", tgt, "--no-progress",
                                 "--report-dir", str(out), "--json", str(tmp_path / "p.json")])
    assert r.exit_code == 0, r.output
    assert "Values the target will refuse (1)" in r.stdout
    assert f"Product source id {pid}, column name (group {gid}): {why}" in r.stdout
    assert "1 value the target will refuse" in r.stdout
    d = json.loads((tmp_path / "p.json").read_text())
    assert d["refused_values_count"] == 1
    (v,) = d["refused_values"]
    assert (v["table"], v["source_id"], v["column"], v["group"]) == ("Product", pid, "name", gid)
    assert table_checksums(tgt) == before  # plan writes nothing

    rep = api.migrate(settings_for(src, tgt, tmp_path))
    assert not rep.ok
    (failed,) = rep.failed
    assert failed.source_id == gid
    assert failed.error.startswith(f"Product source id {pid}, column name: {why}")
    assert all(g.status == "done" for g in rep.groups if g.source_id != gid)
    moved = {g for (g,) in rows(tgt, "SELECT source_group_id FROM bascule_group WHERE "
                                     "status = 'done'")}
    assert moved == set(amap) - {gid}
    # nothing of the failed group was written: not its product, not its group
    assert rows(tgt, "SELECT COUNT(*) FROM bascule_idmap WHERE group_id = :g", g=gid) == [(0,)]
    names = {n for (n,) in rows(tgt, 'SELECT name FROM "Product"')}
    assert not any("Zqx" in (n or "") for n in names)


def test_a_camap_made_by_bascule_takes_emoji_and_plan_create_schema_warns_nul(db_factory,
                                                                           tmp_path):
    src, amap, gid, pid = _seeded(db_factory, f"Zqx carottes {CARROT}")
    tgt = make_target(db_factory("mysql"), "head")  # utf8mb4, as --create-schema makes it
    rep = api.plan(settings_for(src, tgt, tmp_path, groups=[gid]))
    assert rep.refused_values == []
    assert api.migrate(settings_for(src, tgt, tmp_path, groups=[gid])).ok
    assert (f"Zqx carottes {CARROT}",) in rows(tgt, 'SELECT name FROM "Product"')
    # plan --create-schema against an empty PostgreSQL database: what PostgreSQL will refuse
    execute(src, 'UPDATE "Product" SET name = :v WHERE id = :p', v="a\x00b", p=pid)
    empty = db_factory("postgresql").new("tgt")
    rep = api.plan(settings_for(src, empty, tmp_path, groups=[gid]), create_schema="head")
    assert [(v["table"], v["source_id"], v["column"]) for v in rep.refused_values] == [
        ("Product", pid, "name")]
    # and into MariaDB made by bascule, nothing is refused
    empty = db_factory("mysql").new("tgt")
    rep = api.plan(settings_for(src, empty, tmp_path, groups=[gid]), create_schema="head")
    assert rep.refused_values == []
