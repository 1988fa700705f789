"""Several sources into one target (``source_name``): a Cagette and a Camap instance whose group
ids overlap land side by side, each verified, reruns write nothing, a rollback of one source's
group leaves the other verified, the redirects of each old host list its own ids only, a user
both know is one target user, and a source name reused for another instance is refused before
anything is written."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from bascule import api
from bascule.errors import SettingsError
from bascule.generate import generate
from bascule.dbutil import make_engine
from bascule.redirects.mapping import DbMapping

from helpers import count, make_target, q, rows, settings_for, table_checksums

SCALE = 0.002


def _sources(factory):
    """A Cagette source and a Camap one with the same group ids 1..n and people in common."""
    a, b = factory.new("srca"), factory.new("srcb")
    generate(a, scale=SCALE, seed=3, shared_users=0.3, progress=False)
    generate(b, kind="camap", shape="2023", scale=SCALE, seed=4, shared_users=0.3,
             progress=False)
    return a, b


def _settings(src, tgt, tmp_path, host):
    return settings_for(src, tgt, tmp_path, old_host=host, new_host="camap.example.org")


def _written(rep) -> int:
    return sum(c.insert + c.update + c.delete for c in rep.totals().values())


@pytest.mark.parametrize("target_kind", ["mysql", "postgresql"])
def test_two_sources_side_by_side(db_factory, tmp_path, target_kind):
    a, b = _sources(db_factory("mysql"))
    tgt = make_target(db_factory(target_kind), "2023")
    sa = _settings(a, tgt, tmp_path, "app.cagette.net")
    sb = _settings(b, tgt, tmp_path, "camap.alilo.fr")
    assert sa.source_name == "app.cagette.net" and sb.source_name == "camap.alilo.fr"
    ra = api.migrate(sa)
    rb = api.migrate(sb)
    assert ra.ok and rb.ok
    ga = {g.source_id: g.target_id for g in ra.groups}
    gb = {g.source_id: g.target_id for g in rb.groups}
    common = sorted(set(ga) & set(gb))
    assert len(common) >= 2  # the ids overlap
    assert count(tgt, "Group") == len(ga) + len(gb)  # side by side, none overwritten
    assert not set(ga.values()) & set(gb.values())
    assert rows(tgt, "SELECT source, COUNT(*) FROM bascule_group GROUP BY source "
                     "ORDER BY source") == [("app.cagette.net", len(ga)),
                                            ("camap.alilo.fr", len(gb))]
    # a user both sources know is one target user
    u = q(tgt, "User")
    dup = rows(tgt, f"SELECT LOWER(email), COUNT(*) FROM {u} GROUP BY LOWER(email) "
                    "HAVING COUNT(*) > 1")
    assert dup == []
    shared = rows(tgt, "SELECT a.new_id FROM bascule_idmap a JOIN bascule_idmap b ON "
                       "b.table_name = a.table_name AND b.new_id = a.new_id WHERE "
                       "a.table_name = 'User' AND a.source = 'app.cagette.net' AND "
                       "b.source = 'camap.alilo.fr'")
    assert len(shared) > 3
    for s in (sa, sb):
        v = api.verify(s)
        assert v.ok, [d.line() for d in v.differences][:10]
    # reruns write nothing
    assert _written(api.migrate(sa)) == 0 and _written(api.migrate(sb)) == 0
    # redirects per old host: each lists its own ids only
    eng = make_engine(tgt)
    try:
        for s, mine in ((sa, ga), (sb, gb)):
            m = DbMapping(eng, source=s.source_name)
            assert dict(m.items("Group")) == mine
    finally:
        eng.dispose()
    buf = io.StringIO()
    sb_dated = sb.model_copy(update={"redirect_until": dt.date.today() + dt.timedelta(days=30)})
    api.redirects(sb, "csv", api.emit_options(sb_dated, config_dir=str(tmp_path)), stream=buf)
    lines = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert lines and all(r["old_url"].startswith("https://camap.alilo.fr/") for r in lines)
    groups = {int(r["old_id"]): r["new_url"] for r in lines if r["route"] == "user.choose"}
    assert groups == {g: f"https://camap.example.org/user/choose?group={t}"
                      for g, t in gb.items()}
    # a rollback of one source's group leaves the other verified
    before_a = table_checksums(tgt, only=["Catalog", "Product", "UserOrder"])
    g = common[0]
    rep = api.rollback(sb, groups=[g])
    assert rep.ok and [x.status for x in rep.groups] == ["removed"]
    assert rows(tgt, f"SELECT COUNT(*) FROM {q(tgt, 'Group')} WHERE id = :i", i=gb[g]) == [(0,)]
    assert rows(tgt, f"SELECT COUNT(*) FROM {q(tgt, 'Group')} WHERE id = :i", i=ga[g]) == [(1,)]
    assert api.verify(sa).ok
    # b's other groups match; the group rolled back is named, not proven (never moved now)
    vb = api.verify(sb)
    assert not vb.ok and not vb.differences, [d.line() for d in vb.differences][:10]
    assert [(u["source_id"], u["status"]) for u in vb.unproven] == [(g, "never moved")]
    after = table_checksums(tgt, only=["Catalog", "Product", "UserOrder"])
    assert after != before_a  # group g of b is gone ...
    assert {g["source_id"] for g in api.verify(sa).groups} == set(ga)  # ... every one of a's
    # the runs say their source
    runs = api.runs(sa)
    assert {r["source"] for r in runs} == {"app.cagette.net", "camap.alilo.fr"}
    assert [r["command"] for r in api.runs(sa, source="camap.alilo.fr")][-1] == "verify"


def test_a_source_name_reused_for_another_instance_is_refused(db_factory, tmp_path):
    a, b = _sources(db_factory("mysql"))
    tgt = make_target(db_factory("mysql"), "2023")
    assert api.migrate(_settings(a, tgt, tmp_path, "app.cagette.net")).ok
    before = table_checksums(tgt)
    # the Camap instance under the Cagette one's name: its groups are other groups
    wrong = settings_for(b, tgt, tmp_path, old_host="camap.alilo.fr",
                         source_name="app.cagette.net")
    with pytest.raises(SettingsError) as e:
        api.migrate(wrong)
    msg = str(e.value)
    assert "source_name 'app.cagette.net'" in msg and "group 1 was" in msg
    assert msg.count("created ") >= 2 and "Nothing was written" in msg
    assert table_checksums(tgt) == before  # not even a run row
    with pytest.raises(SettingsError):
        api.plan(wrong)
    with pytest.raises(SettingsError):
        api.verify(wrong)
    # the same instance under its name (a rehearsal, then the night): no refusal
    assert _written(api.migrate(_settings(a, tgt, tmp_path, "app.cagette.net"))) == 0
