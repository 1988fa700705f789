"""Two people are never merged into one account: every combination of ``email`` and ``email2``,
in the same and in another letter case, between a source user and a user the target had, and
between two users of one source. The ``email`` match wins; an ``email2`` coincidence is a
conflict listed by plan and migrate, never a merge; two source users of one e-mail fail the
groups of the second, naming both; the target's e-mails stay unique."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import MetaData, Table, insert, select

from bascule import api
from bascule.dbutil import make_engine
from bascule.report import to_markdown

from helpers import idmap_entries, make_source, make_target, q, rows, settings_for

D = "@matrix.test"


def _case(e: str, other: bool) -> str:
    return e.upper() if other else e


def _add_users(src: str, users: list[tuple[int, str | None, str | None, int]]) -> None:
    """Source users (id, email, email2, group): copies of an existing user, each a member of
    its group (a copy of one of the group's memberships)."""
    eng = make_engine(src)
    try:
        md = MetaData()
        u, ug = Table("User", md, autoload_with=eng), Table("UserGroup", md, autoload_with=eng)
        with eng.begin() as c:
            model = dict(c.execute(select(u).order_by(u.c.id).limit(1)).mappings().one())
            for uid, e1, e2, g in users:
                c.execute(insert(u).values({**model, "id": uid, "email": e1, "email2": e2}))
                m = dict(c.execute(select(ug).where(ug.c.groupId == g).limit(1))
                         .mappings().one())
                c.execute(insert(ug).values({**m, "userId": uid}))
    finally:
        eng.dispose()


def _target_users(tgt: str, users: list[tuple[int, str, str | None]]) -> None:
    """Users the target had (id, email, email2)."""
    eng = make_engine(tgt)
    try:
        u = Table("User", MetaData(), autoload_with=eng)
        with eng.begin() as c:
            c.execute(insert(u), [{"id": i, "lang": "fr", "pass": "", "pass2": "", "rights": 0,
                                   "firstName": "T", "lastName": str(i), "email": e1,
                                   "email2": e2, "cdate": dt.datetime(2020, 1, 1), "flags": 0}
                                  for i, e1, e2 in users])
    finally:
        eng.dispose()


@pytest.mark.parametrize("other_case", [False, True], ids=["same-case", "other-case"])
@pytest.mark.parametrize("target_kind", ["mysql", "postgresql"])
def test_email_matrix(db_factory, tmp_path, target_kind, other_case):
    # a PostgreSQL source: its unique index on User.email lets two addresses differ by case
    src = make_source(db_factory("postgresql"), seed=11)
    tgt = make_target(db_factory(target_kind), "head" if target_kind == "postgresql" else "2023")
    amap = sorted(int(r[0]) for r in rows(src, f"SELECT id FROM {q(src, 'Group')} "
                                               "WHERE (flags & 2) = 0"))
    ga, gb, gc = amap[0], amap[1], amap[2]
    c = lambda e: _case(e, other_case)  # noqa: E731 - the other side's spelling
    _target_users(tgt, [
        (9001, c("a1" + D), None),            # m1: its email is S101's email
        (9002, "z2" + D, c("a2" + D)),        # m2: its email2 is S102's email
        (9003, c("a3" + D), None),            # m3: its email is S103's email2
        (9004, "z4" + D, c("a4" + D)),        # m4: its email2 is S104's email2
        (9005, c("a5" + D), None),            # m5: its email is S105's email ...
        (9006, c("b5" + D), None),            # ... and this one's is S105's email2
        (9007, c("g1" + D), None),            # matched by S123, then S124 has its e-mail
    ])
    users = [
        (100101, "a1" + D, None, ga), (100102, "a2" + D, None, ga),
        (100103, "b3" + D, "a3" + D, ga), (100104, "b4" + D, "a4" + D, ga),
        (100105, "a5" + D, "b5" + D, ga),
        # two users of the source
        (100111, "c1" + D, None, ga), (100112, "d1" + D, c("c1" + D), ga),   # the case
        (100113, "c2" + D, "e2" + D, ga), (100114, c("e2" + D), None, ga),
        (100115, "f3" + D, "c3" + D, ga), (100116, "h3" + D, c("c3" + D), ga),
        (100123, "g1" + D, None, ga),
    ]
    if other_case:  # one e-mail for two source users: only where the source lets it be
        users += [(100121, "f1" + D, None, ga), (100122, "F1" + D, None, gb),
                  (100124, "G1" + D, None, gc)]
    _add_users(src, users)
    s = settings_for(src, tgt, tmp_path, batch_size=1)  # one group per unit, in id order

    def check(rep, planned: bool):
        conflicts = {(x["source_user"], x["target_user"], x["target_field"])
                     for x in rep.email_conflicts}
        ids = {} if planned else {o: n for t, o, n, _g in idmap_entries(tgt, "User")}
        assert (100102, 9002, "email2") in conflicts
        assert (100103, 9003, "email") in conflicts
        assert not any(x[0] == 100104 for x in conflicts)  # email2 = email2: no conflict
        assert (100105, 9006, "email") in conflicts
        if planned:
            return
        assert ids[100101] == 9001 and ids[100105] == 9005 and ids[100123] == 9007
        for s_id in (100102, 100103, 100104, 100111, 100112, 100113, 100114, 100115, 100116):
            assert ids[s_id] > 9007, s_id  # a new user each: no merge
        assert len({ids[i] for i in (100111, 100112, 100113, 100114, 100115, 100116)}) == 6
        assert (100112, ids[100111], "email") in conflicts
        assert (100114, ids[100113], "email2") in conflicts
        assert not any(x[0] == 100116 for x in conflicts)
        matched = {(m["source_user"], m["target_user"]) for m in rep.email_matches}
        assert {(100101, 9001), (100105, 9005), (100123, 9007)} <= matched
        if other_case:
            assert ids[100121] > 9007 and 100122 not in ids and 100124 not in ids
            failed = {r.source_id: r.error for r in rep.groups if r.status == "failed"}
            assert set(failed) == {gb, gc}
            assert "User id 100122" in failed[gb] and "source user 100121" in failed[gb]
            assert "F1" + D in failed[gb]
            assert "User id 100124" in failed[gc] and "target user 9007" in failed[gc]
            assert "source user 100123" in failed[gc]

    plan = api.plan(s)
    check(plan, planned=True)
    rep = api.migrate(s)
    assert rep.ok is (not other_case)
    check(rep, planned=False)
    u = q(tgt, "User")
    assert rows(tgt, f"SELECT LOWER(email), COUNT(*) FROM {u} GROUP BY LOWER(email) "
                     "HAVING COUNT(*) > 1") == []
    # the Markdown report lists the conflicts with both users and the e-mails
    md = to_markdown(rep.model())
    assert "E-mail conflicts" in md and "100112" in md and "c1" + D in md.lower()
    # a rerun decides the same
    again = api.migrate(s)
    assert sum(x.insert + x.update for x in again.totals().values()) == 0
    ids = {o: n for t, o, n, _g in idmap_entries(tgt, "User")}
    assert ids[100101] == 9001 and ids[100112] != ids[100111]
