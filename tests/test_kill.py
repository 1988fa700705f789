"""A run killed with SIGKILL at several points, then rerun: verify passes, nothing duplicated.

The test starts a real `bascule migrate` subprocess and reads its stderr: it kills the process
right after the N-th unit is committed, or while the N-th unit is written but not committed
(the process announces that point and waits on stdin: no timing involved).
"""

from __future__ import annotations

import pytest

from bascule import api
from bascule.config import load_settings

from faults import run_and_kill
from helpers import idmap_entries, make_source, make_target, rows


def _no_duplicates(tgt):
    """Every target row of the moved tables has exactly one id-map entry, and vice versa."""
    for t in ("Group", "Place", "Catalog", "Product", "MultiDistrib", "Distribution",
              "Subscription", "Basket", "UserOrder", "Operation"):
        n_rows = rows(tgt, f'SELECT COUNT(*) FROM "{t}"')[0][0]
        entries = idmap_entries(tgt, t)
        assert n_rows == len(entries), (t, n_rows, len(entries))
        olds, news = [e[1] for e in entries], [e[2] for e in entries]
        assert len(set(olds)) == len(olds) and len(set(news)) == len(news), t


@pytest.mark.parametrize("marker,nth", [
    ("committed: groups", 1),
    ("committed: groups", 3),
    ("written, not committed", 2),
])
def test_kill_then_rerun(db_factory, tmp_path, marker, nth):
    src = make_source(db_factory("mysql"), seed=5)
    tgt = make_target(db_factory("mysql"), "2023")
    killed, _workers = run_and_kill(src, tgt, tmp_path, marker, nth)
    assert killed, "the run ended before the kill point"
    s = load_settings(None, source_url=src, target_url=tgt, report_dir=str(tmp_path / "o2"),
                      batch_size=40)
    rep = api.migrate(s)
    assert not rep.failed
    ver = api.verify(s)
    assert ver.ok, [d.line() for d in ver.differences]
    _no_duplicates(tgt)
    # a killed run stays "running" in bascule_run; the rerun is "done"
    statuses = [r[0] for r in rows(tgt, "SELECT status FROM bascule_run ORDER BY id")]
    assert statuses[-1] == "done"
