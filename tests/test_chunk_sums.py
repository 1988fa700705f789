"""The source's chunk checksums as int64 arrays (load.chunks.TableSums, changed_chunks): pure,
no database."""

from __future__ import annotations

import random
from array import array

import pytest

from bascule.load.chunks import TableSums, changed_chunks


def _as_dict(t: TableSums) -> dict[int, tuple[int, int]]:
    return dict(zip(t.chunks, zip(t.counts, t.sums)))


def _random_pairs(rng: random.Random, n: int) -> dict[int, tuple[int, int]]:
    return {rng.randrange(10 * n): (rng.randrange(1, 50), rng.randrange(1 << 40))
            for _ in range(n)}


@pytest.mark.parametrize("seed", range(5))
def test_of_sorts_and_adds_up_a_chunk_seen_in_several_parts(seed):
    rng = random.Random(seed)
    want: dict[int, list[int]] = {}
    cs, ns, ss = array("q"), array("q"), array("q")
    for _ in range(500):
        c, n, s = rng.randrange(100), rng.randrange(1, 9), rng.randrange(1 << 32)
        cs.append(c), ns.append(n), ss.append(s)
        w = want.setdefault(c, [0, 0])
        w[0] += n
        w[1] += s
    t = TableSums(cs, ns, ss).sorted()
    assert list(t.chunks) == sorted(want)
    assert _as_dict(t) == {c: tuple(v) for c, v in want.items()}
    assert t.rows() == sum(ns)


@pytest.mark.parametrize("seed", range(5))
def test_changed_is_the_chunks_whose_pair_differs(seed):
    rng = random.Random(seed)
    before = _random_pairs(rng, 300)
    now = dict(before)
    for c in rng.sample(sorted(now), 20):  # changed pairs
        now[c] = (now[c][0], now[c][1] + 1)
    gone = rng.sample(sorted(now), 10)
    for c in gone:
        del now[c]
    added = [c for c in range(3000, 3015)]
    for c in added:
        now[c] = (1, 7)
    want = {c for c in now.keys() | before.keys() if now.get(c) != before.get(c)}

    def sums(d):
        ks = list(d)
        rng.shuffle(ks)
        t = TableSums()
        t.extend(ks, [d[k][0] for k in ks], [d[k][1] for k in ks])
        return t.sorted()

    a, b = sums(now), sums(before)
    assert changed_chunks(a, b) == want and len(want) >= 30
    assert changed_chunks(b, a) == want
    assert changed_chunks(a, sums(now)) == set()
    assert changed_chunks(a, None) == set(now)
    assert changed_chunks(TableSums(), b) == changed_chunks(None, b) == set(before)


def test_a_count_change_alone_is_seen():
    a = TableSums(array("q", [1, 2]), array("q", [3, 4]), array("q", [10, 20]))
    b = TableSums(array("q", [1, 2]), array("q", [3, 5]), array("q", [10, 20]))
    assert changed_chunks(a, b) == {2}
