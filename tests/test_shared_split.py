"""A parallel run moves the users side by side (``run.shared_pass``): the parent and each worker
take a share, and two users that share an e-mail are always in the same share, so that every
process decides exactly what one process decides (matched, conflict, refused), with ids from
the counters the processes share."""

from __future__ import annotations

import logging

import pytest

from bascule import api
from bascule.run.shared_pass import share_users

from helpers import idmap_entries, make_source, make_target, q, rows, settings_for
from test_email_match import D, _add_users, _target_users


def test_users_of_one_email_share_a_process():
    found = [(1, "a@x", None), (2, "b@x", "A@x "), (3, "c@x", None), (4, "d@x", "e@x"),
             (5, "E@X", None), (6, None, None), (7, "f@x", None), (8, "g@x", "b@x")]
    shares = share_users(found, [1, 2, 3, 4, 5, 6, 7, 8, 99], 2, own=0)
    where = {u: k for k, s in enumerate(shares) for u in s}
    assert where[1] == where[2] == where[8]  # a = b's email2, g's email2 = b
    assert where[4] == where[5]  # d's email2 is E's email (case and spaces aside)
    assert where[99] == 0  # not in the source: the first share
    assert sorted(u for s in shares for u in s) == [1, 2, 3, 4, 5, 6, 7, 8, 99]
    assert all(s == sorted(s) for s in shares)


def test_shares_are_even_counting_the_parents_other_rows():
    found = [(i, f"u{i}@x", None) for i in range(1, 101)]
    shares = share_users(found, list(range(1, 101)), 2, own=20)
    assert len(shares[0]) + 20 == len(shares[1]) or len(shares[0]) + 20 == len(shares[1]) + 1
    shares = share_users(found, list(range(1, 101)), 4, own=0)
    assert [len(s) for s in shares] == [25, 25, 25, 25]


@pytest.mark.parametrize("target_kind", ["mysql", "postgresql"])
def test_parallel_email_matrix_decides_as_one_process(db_factory, tmp_path, target_kind, caplog):
    src = make_source(db_factory("mysql"), seed=11)
    amap = sorted(int(r[0]) for r in rows(src, f"SELECT id FROM {q(src, 'Group')} "
                                               "WHERE (flags & 2) = 0"))
    # all in one group, as in test_email_match: one process decides them in id order; a
    # parallel run must decide the same although consecutive users go to different processes
    users = [(uid, e1, e2, amap[0]) for uid, e1, e2 in [
        (100101, "a1" + D, None), (100102, "a2" + D, None), (100103, "b3" + D, "a3" + D),
        (100104, "b4" + D, "a4" + D), (100105, "a5" + D, "b5" + D),
        (100111, "c1" + D, None), (100112, "d1" + D, "c1" + D),
        (100113, "c2" + D, "e2" + D), (100114, "e2" + D, None),
        (100115, "f3" + D, "c3" + D), (100116, "h3" + D, "c3" + D),
        (100123, "g1" + D, None)]]
    _add_users(src, users)
    reports = {}
    for workers in (1, 2):
        tgt = make_target(db_factory(target_kind), "2023")
        _target_users(tgt, [(9001, "a1" + D, None), (9002, "z2" + D, "a2" + D),
                            (9003, "a3" + D, None), (9004, "z4" + D, "a4" + D),
                            (9005, "a5" + D, None), (9006, "b5" + D, None),
                            (9007, "g1" + D, None)])
        with caplog.at_level(logging.INFO, logger="bascule.run.shared_pass"):
            rep = api.migrate(settings_for(src, tgt, tmp_path / str(workers), workers=workers,
                                           batch_size=1))
        assert rep.ok and rep.workers == workers
        ids = {o: n for _t, o, n, _g in idmap_entries(tgt, "User")}
        reports[workers] = rep, ids
        u = q(tgt, "User")
        assert rows(tgt, f"SELECT LOWER(email), COUNT(*) FROM {u} GROUP BY LOWER(email) "
                         "HAVING COUNT(*) > 1") == []
        assert rows(tgt, f"SELECT COUNT(*) FROM {u}")[0][0] == \
            len(set(ids.values()) | set(range(9001, 9008)))  # one row per id, none twice
    assert any("by the workers" in m for m in caplog.messages)  # the users were shared out
    (one, ids1), (two, ids2) = reports[1], reports[2]

    def conflicts(rep, ids):  # target users named by what they are, not by their new ids
        back = {n: o for o, n in ids.items()}
        return sorted((x["source_user"], back.get(x["target_user"], x["target_user"]),
                       x["target_field"]) for x in rep.email_conflicts)

    assert conflicts(two, ids2) == conflicts(one, ids1)
    assert sorted((m["source_user"], m["target_user"]) for m in two.email_matches) == \
        sorted((m["source_user"], m["target_user"]) for m in one.email_matches)
    assert {o for o, n in ids2.items() if n <= 9007} == {o for o, n in ids1.items() if n <= 9007}
    assert len(set(ids2.values())) == len(set(ids1.values()))
    assert two.totals()["User"].insert == one.totals()["User"].insert
