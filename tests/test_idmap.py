"""The id map's layout in the target (load.idmap): the block codec, and the one-row-per-entry
rows of earlier versions, read like blocks and folded into blocks when their group is written."""

from __future__ import annotations

from sqlalchemy import insert, select

from bascule.dbutil import make_engine
from bascule.load.apply import UnitLoad, write_changeset
from bascule.load.bookkeeping import IDBLOCK, IDMAP, Book, ensure_bookkeeping
from bascule.load.idmap import IDBLOCK_COLUMNS
from bascule.load.dialects import dialect_for
from bascule.load.idmap import (
    BLOCK,
    load_group_entries,
    max_new_ids,
    moved_entries,
    pack_blocks,
    unpack_block,
)
from bascule.model.tables import MIGRATION
from bascule.plan.changeset import ChangeSet


def test_blocks_round_trip_with_keys_and_matched_rows():
    entries = {o: (o * 10, o * 7 - 3, None) for o in range(1, BLOCK + 5)}
    entries[3] = (30, None, None)  # a hash of None is stored as 0
    rows = pack_blocks("s", 9, "UserOrder", entries, run_id=4)
    assert [r[3] for r in rows] == [0, 1] and [r[5] for r in rows] == [BLOCK, 4]
    assert rows[0][6] == BLOCK * 10 and rows[1][10] is None and rows[0][0] == "s"
    back = {}
    for r in rows:
        back.update(unpack_block(r[7], r[8], r[9], r[10]))
    assert back[3] == (30, 0, None) and back[BLOCK + 4] == ((BLOCK + 4) * 10, (BLOCK + 4) * 7 - 3,
                                                            None)
    keyed = pack_blocks("s", 9, "UserGroup", {5: (0, 11, "1,2"), 6: (0, 12, None)}, run_id=1)
    assert dict(unpack_block(*keyed[0][7:])) == {5: (0, 11, "1,2"), 6: (0, 12, None)}


def test_legacy_rows_are_read_and_folded_into_blocks(sqlite_dbs):
    url = sqlite_dbs.new("idmap")
    eng = make_engine(url)
    md = ensure_bookkeeping(eng)
    idmap, blocks = md.tables[IDMAP], md.tables[IDBLOCK]
    with eng.begin() as c:
        c.execute(insert(idmap), [  # group 1 in the layout of earlier versions
            {"source": "s", "table_name": "Place", "old_id": 5, "new_id": 50, "group_id": 1,
             "row_hash": 1, "run_id": 1},
            {"source": "s", "table_name": "User", "old_id": 10, "new_id": 100, "group_id": None,
             "row_hash": 2, "run_id": 1}])
        c.execute(insert(blocks), [dict(zip(IDBLOCK_COLUMNS, r))
                                   for r in pack_blocks("s", 2, "Place", {6: (60, 3, None)},
                                                        run_id=2)])
    book = Book("s")
    with eng.connect() as c:
        found = load_group_entries(c, [1, 2], book)
        assert found.entries["Place"] == {5: (50, 1, None), 6: (60, 3, None)}
        assert found.owners["Place"] == {5: 1, 6: 2}
        assert max_new_ids(c, book) == {"Place": 60, "User": 100}
        assert load_group_entries(c, [1, 2], Book("another")).entries == {}
    # group 1 is written again: its entries become a block, its legacy rows go
    tables = {"Place": None}
    cs = ChangeSet({}, group_entries={1: {"Place": {5: (50, 1, None), 7: (70, 4, None)}}})
    load = UnitLoad(MIGRATION, tables, dialect_for(eng), run_id=3, source="s")
    write_changeset(eng, cs, load, unit_no=1)
    with eng.connect() as c:
        assert [tuple(r) for r in c.execute(select(idmap.c.table_name, idmap.c.group_id))] == [
            ("User", None)]
        found = load_group_entries(c, [1], book)
        assert found.entries["Place"] == {5: (50, 1, None), 7: (70, 4, None)}
    eng.dispose()


def test_moved_entries_are_those_of_groups_done(sqlite_dbs):
    url = sqlite_dbs.new("moved")
    eng = make_engine(url)
    md = ensure_bookkeeping(eng)
    with eng.begin() as c:
        c.execute(insert(md.tables["bascule_group"]), [
            {"source": "s", "source_group_id": 1, "name": "a", "status": "done"},
            {"source": "s", "source_group_id": 2, "name": "b", "status": "failed"},
            {"source": "t", "source_group_id": 3, "name": "c", "status": "done"}])
        c.execute(insert(md.tables[IDBLOCK]), [
            dict(zip(IDBLOCK_COLUMNS, r))
            for g, src in ((1, "s"), (2, "s"), (3, "t"))
            for r in pack_blocks(src, g, "Catalog", {g * 10: (g * 100, 0, None)}, 1)])
    with eng.connect() as c:
        assert list(moved_entries(c, "Catalog", Book("s"))) == [(10, 100, 1)]
        assert list(moved_entries(c, "Catalog", Book("t"))) == [(30, 300, 3)]
    eng.dispose()


def test_packed_integers_are_the_same_bytes_from_any_sequence():
    """``pack``: the bytes every earlier run stored (little-endian signed 64-bit), whether the
    integers come as a list, a tuple, an iterator or an array; ``unpack`` reads them back."""
    from array import array
    import struct
    from bascule.load.idmap import pack, unpack
    ints = [0, 1, -1, 2**63 - 1, -2**63, 123456789012345, -42]
    want = b"".join(struct.pack("<q", i) for i in ints)
    for given in (ints, tuple(ints), iter(ints), array("q", ints)):
        assert pack(given) == want
    assert pack(array("q", ints)[2:]) == want[16:]
    assert list(unpack(pack(ints))) == ints
    assert pack([]) == b""
