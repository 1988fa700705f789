"""The compact id map and id set of a parallel run behave like the dict and set they replace."""

from __future__ import annotations

import pickle
import random

import pytest

from bascule.plan.compact import IntMap, IntSet


@pytest.mark.parametrize("seed", range(20))
def test_intmap_is_a_dict_of_new_ids(seed):
    r = random.Random(seed)
    m, ref = IntMap({5: (50, "h", None)}), {5: 50}
    for _ in range(r.randint(1, 10)):
        batch = {r.randint(-50, 400): r.randint(0, 10**12) for _ in range(r.randint(0, 80))}
        for k, v in batch.items():
            m[k] = (v, "hash", None)  # entries as the build makes them
            ref[k] = v
        if r.random() < 0.7:  # written: only the new ids are kept, in the arrays
            m.fold(lambda e: e[0], keys=[k for k in batch if r.random() < 0.8])
    m.fold(lambda e: e[0])
    m = pickle.loads(pickle.dumps(m))  # as a worker receives it
    assert len(m) == len(ref)
    assert sorted(m) == sorted(ref)
    for k in range(-60, 420):
        assert m.get(k) == ref.get(k)
        assert (k in m) == (k in ref)
    assert list(m.keys) == sorted(m.keys)


def test_intmap_keeps_recent_entries_whole_until_folded():
    m = IntMap({3: (30, "h3", None)})
    m[7] = (70, "h7", None)
    m.fold(lambda e: e[0], keys=[7])
    assert m.get(3) == (30, "h3", None)  # not folded: the hash is still there
    assert m.get(7) == 70
    m[7] = (71, "h7b", None)  # a newer entry wins over the folded one
    assert m[7] == (71, "h7b", None)
    assert m.pop(7) == (71, "h7b", None) and m[7] == 70
    with pytest.raises(KeyError):
        m[8]


@pytest.mark.parametrize("seed", range(20))
def test_intset_is_a_set(seed):
    r = random.Random(seed)
    s, ref = IntSet([1, 2, 3]), {1, 2, 3}
    for _ in range(r.randint(1, 10)):
        add = {r.randint(0, 300) for _ in range(r.randint(0, 60))}
        s |= add
        ref |= add
        if r.random() < 0.3:
            s.update([299, 300])
            ref.update([299, 300])
        if r.random() < 0.4:
            gone = set(r.sample(sorted(ref), min(5, len(ref))))
            s -= gone
            ref -= gone
        if r.random() < 0.6:
            s.fold()
    s = pickle.loads(pickle.dumps(s))
    ids = set(range(-5, 320, 2))
    assert ids & s == ids & ref
    assert ids - s == ids - ref
    assert len(s) == len(ref) and sorted(s) == sorted(ref)
    s.fold()
    assert list(s.keys) == sorted(ref)
