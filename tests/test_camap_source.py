"""A Camap source (instance to instance): a generated Camap 2023 or current Camap database moved
into a current Camap that already hosts groups and users. Users matched by e-mail, ids remapped,
verify, reruns, kills, rollback and redirects (Camap's own routes, served by a real nginx) work as
for a Cagette source."""

from __future__ import annotations

import datetime as dt

import pytest

from bascule import api
from bascule.generate import generate
from faults import run_and_kill
from helpers import count, idmap_entries, q, rows, settings_for, table_checksums
from nginxd import Nginx, nginx_test, write_nginx_conf
from samples import OLD, free_port

SCALE = 0.003


def camap_db(factory, shape: str, seed: int, label: str) -> str:
    url = factory.new(label)
    generate(url, kind="camap", shape=shape, scale=SCALE, seed=seed, shared_users=0.3,
             progress=False)
    return url


def new_id(tgt: str, table: str, old: int) -> int:
    found = [new for t, o, new, _g in idmap_entries(tgt, table) if t == table and o == old]
    assert len(found) == 1, (table, old, found)
    return found[0]


def test_a_camap_source_is_told_from_a_cagette_one(sqlite_dbs):
    src = camap_db(sqlite_dbs, "head", 1, "src")
    d = api.describe(api.settings(source_url=src))
    assert (d.kind, d.shape) == ("camap", "camap-head")
    assert "table ProductDistributionStock exists" in d.shape_reasons
    assert d.groups_shop == 0 and d.groups_amap == count(src, "Group")
    old = camap_db(sqlite_dbs, "2023", 1, "src23")
    assert api.describe(api.settings(source_url=old)).shape == "camap-2023"


@pytest.mark.parametrize("target_kind", ["mysql", "postgresql"])
def test_camap_2023_into_a_current_camap_that_hosts_groups(db_factory, tmp_path, target_kind):
    src = camap_db(db_factory("mysql"), "2023", 1, "src")
    tgt = camap_db(db_factory(target_kind), "head", 2, "tgt")
    hosted = hosted_rows(tgt)
    users_before = count(tgt, "User")
    s = settings_for(src, tgt, tmp_path)
    rep = api.migrate(s)
    assert rep.ok and rep.source["kind"] == "camap" and rep.source["shape"] == "camap-2023"
    assert len(rep.groups) == count(src, "Group")  # every group of a Camap source moves
    matched = [n for n in rep.notes if n["action"] == "matched"]
    assert matched and matched[0]["count"] > 10  # the shared people were matched by e-mail
    assert count(tgt, "User") < users_before + count(src, "User")
    # the groups the target hosted are untouched; the moved ones got ids above theirs
    g = q(tgt, "Group")
    old_max = max(int(r[0]) for r in rows(tgt, f"SELECT id FROM {g}")) - len(rep.groups)
    for r in rep.groups:
        assert r.target_id > old_max
    # flags: the head bits (11, 12) added to a 2023 group, as Camap's migration did
    sg = {int(i): int(f) for i, f in rows(src, f"SELECT id, flags FROM {q(src, 'Group')}")}
    tg = {int(i): int(f) for i, f in rows(tgt, f"SELECT id, flags FROM {g}")}
    for r in rep.groups:
        assert tg[r.target_id] == sg[r.source_id] | 6144
    assert api.verify(s).ok
    again = api.migrate(s)
    assert again.ok and again.rows_written() == 0 and not again.groups
    assert hosted < hosted_rows(tgt)  # the target's own groups are as they were
    check_redirects(tmp_path, s, src, tgt)


def hosted_rows(tgt: str) -> set[tuple]:
    """Every row of the target's groups, catalogs and products, as read."""
    out = set()
    for t in ("Group", "Catalog", "Product"):
        out |= {(t, *r) for r in rows(tgt, f"SELECT * FROM {q(tgt, t)}")}
    return out


def check_redirects(tmp_path, s, src: str, tgt: str) -> None:
    """Camap's own URLs of the old instance, served by a real nginx: new host, new ids."""
    conf_dir = tmp_path / "redirects"
    settings = s.model_copy(update={"old_host": OLD, "new_host": "camap.example.org",
                                    "redirect_until": dt.date.today() + dt.timedelta(days=30)})
    opts = api.emit_options(settings, config_dir=str(conf_dir))
    opts.cut = dt.datetime.now(opts.cut.tzinfo) + dt.timedelta(days=30)
    api.redirects(settings, "nginx", opts, out_dir=conf_dir)
    port = free_port()
    conf = write_nginx_conf(tmp_path / "nginx", conf_dir, port)
    t = nginx_test(tmp_path / "nginx", conf)
    assert t.returncode == 0, t.stderr
    ng = Nginx(tmp_path / "nginx", conf, port)
    try:
        g = int(rows(src, f"SELECT min(id) FROM {q(src, 'Group')}")[0][0])
        c = int(rows(src, f"SELECT min(id) FROM {q(src, 'Catalog')} WHERE groupId = {g}")[0][0])
        d = int(rows(src, f"SELECT min(id) FROM {q(src, 'Distribution')} WHERE catalogId = {c}"
                     )[0][0])
        cases = {
            f"/group/{g}": f"/group/{new_id(tgt, 'Group', g)}",
            f"/subscriptions/contract/{c}": f"/subscriptions/contract/{new_id(tgt, 'Catalog', c)}",
            f"/contractAdmin/orders/{c}?d={d}":
                f"/contractAdmin/orders/{new_id(tgt, 'Catalog', c)}?d="
                f"{new_id(tgt, 'Distribution', d)}",
            f"/distribution/csaList/{d}": f"/distribution/csaList/{new_id(tgt, 'Distribution', d)}",
            f"/product/export/{c}": f"/product/export/{new_id(tgt, 'Catalog', c)}",
        }
        for old, new in cases.items():
            st, h, _body = ng.get(old)
            assert st == 301, (old, st)
            assert h["location"] == f"https://camap.example.org{new}", old
        assert ng.get("/group/99999999")[0] == 404  # not moved: the old host serves it
        assert ng.get("/contract/order/1")[0] == 404  # a Cagette route: not Camap's
    finally:
        ng.stop()


def test_current_camap_to_current_camap(db_factory, tmp_path):
    """What the later Camap migrations added moves as the source has it: flags, stock tracking,
    ProductDistributionStock, the catalogs' first distribution, quantities."""
    src = camap_db(db_factory("mysql"), "head", 3, "src")
    tgt = camap_db(db_factory("postgresql"), "head", 4, "tgt")
    before = count(tgt, "ProductDistributionStock")
    s = settings_for(src, tgt, tmp_path)
    rep = api.migrate(s)
    assert rep.ok and rep.source["shape"] == "camap-head"
    pds = count(src, "ProductDistributionStock")
    assert pds and count(tgt, "ProductDistributionStock") == before + pds
    sg = {int(i): int(f) for i, f in rows(src, f"SELECT id, flags FROM {q(src, 'Group')}")}
    tg = {int(i): int(f) for i, f in rows(tgt, f"SELECT id, flags FROM {q(tgt, 'Group')}")}
    assert len({f & 6144 for f in sg.values()}) > 1  # some groups turned notifications off
    for r in rep.groups:
        assert tg[r.target_id] == sg[r.source_id]  # copied, not forced on
    first = rows(src, f"SELECT id, firstDistribId FROM {q(src, 'Catalog')} "
                      "WHERE firstDistribId IS NOT NULL")
    assert first
    for cid, md in first:
        got = rows(tgt, f"SELECT {q(tgt, 'firstDistribId')} FROM {q(tgt, 'Catalog')} "
                        "WHERE id = :i",
                   i=new_id(tgt, "Catalog", int(cid)))
        assert got[0][0] == new_id(tgt, "MultiDistrib", int(md))
    track = sorted(str(r) for r in rows(src, f"SELECT stockTracking, stockTrackingPerDistrib, "
                                             f"count(*) FROM {q(src, 'Product')} GROUP BY "
                                             "stockTracking, stockTrackingPerDistrib"))
    assert len(track) > 2
    v = api.verify(s)
    assert v.ok, [d.line() for d in v.differences[:5]]
    assert api.migrate(s).rows_written() == 0


def test_current_camap_source_refuses_a_2023_target(db_factory, tmp_path):
    src = camap_db(db_factory("sqlite"), "head", 1, "src")
    tgt = camap_db(db_factory("sqlite"), "2023", 2, "tgt")
    with pytest.raises(api.MigrationError, match="current Camap source .* only into a current"):
        api.migrate(settings_for(src, tgt, tmp_path))


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["2023", "head"])
def test_killed_camap_migrate_then_rerun_and_rollback(mysql_dbs, tmp_path, shape):
    """Killed at several points, then run again: verify passes; a rollback of the run then
    gives back the target as it was before (ProductDistributionStock included)."""
    src = camap_db(mysql_dbs, shape, 5, "src")
    tgt = camap_db(mysql_dbs, "head", 6, "tgt")
    before = table_checksums(tgt, exclude_prefix="bascule_")
    for nth in (1, 3):
        killed, _w = run_and_kill(src, tgt, tmp_path, "not committed", nth)
        assert killed
    s = settings_for(src, tgt, tmp_path, batch_size=40)
    rep = api.migrate(s)
    assert rep.ok
    assert api.verify(s).ok
    moved = [r.source_id for r in rep.groups]
    done = api.migrate(s)
    assert done.rows_written() == 0
    back = api.rollback(s, groups=sorted({*moved, *done.unchanged_groups}))
    assert back.ok, back.as_dict()
    assert table_checksums(tgt, exclude_prefix="bascule_") == before
