"""The write layer (bascule.load.bulk and the engines of bascule.load.dialects) on SQLite,
MariaDB and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    func,
    inspect,
    select,
)
from sqlalchemy.dialects.mysql import MEDIUMBLOB

from bascule.dbutil import make_engine
from bascule.load.bookkeeping import IDMAP, ensure_bookkeeping
from bascule.load.bulk import BulkWriter, LoadError, fix_sequences, max_ids

BLOB = LargeBinary().with_variant(MEDIUMBLOB(), "mysql", "mariadb")


def make_metadata() -> MetaData:
    md = MetaData()
    Table(
        "Group",  # reserved word
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(20), nullable=False),
        Column("desc", Text, nullable=True),  # reserved word
        Column("score", Double, nullable=True),
        Column("cdate", DateTime, nullable=True),
        Column("day", Date, nullable=True),
        Column("data", BLOB, nullable=True),
        Column("big", BigInteger, nullable=True),
        mysql_charset="utf8mb4",
        sqlite_autoincrement=True,
    )
    Table(
        "Operation",  # self-referencing, and child of Group
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(32), nullable=False),
        Column("groupId", Integer, ForeignKey("Group.id"), nullable=False),
        Column("relationId", Integer, ForeignKey("Operation.id"), nullable=True),
        mysql_charset="utf8mb4",
    )
    Table(
        "UserOrder",  # 13 columns, PK + 5 secondary indexes
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("userId", Integer, nullable=False),
        Column("productId", Integer, nullable=False),
        Column("quantity", Double, nullable=False),
        Column("productPrice", Double, nullable=False),
        Column("paid", SmallInteger, nullable=False),
        Column("userId2", Integer, nullable=True),
        Column("distributionId", Integer, nullable=True),
        Column("subscriptionId", Integer, nullable=True),
        Column("basketId", Integer, nullable=True),
        Column("date", DateTime, nullable=False),
        Column("flags", Integer, nullable=False),
        Column("feesRate", Double, nullable=False),
        Index("UserOrder_userId", "userId"),
        Index("UserOrder_productId", "productId"),
        Index("UserOrder_distributionId", "distributionId"),
        Index("UserOrder_subscriptionId", "subscriptionId"),
        Index("UserOrder_basketId", "basketId"),
        mysql_charset="utf8mb4",
    )
    return md


GCOLS = ["id", "name", "desc", "score", "cdate", "day", "data", "big"]

NASTY_TEXT = "tab\there\nnew line\r\nback\\slash 'single' \"double\" \\N \\x00 %s %(x)s ? \x1a end"


def group_rows():
    return [
        (1, "Café été ☕🍓", NASTY_TEXT, 0.1 + 0.2, dt.datetime(2023, 3, 14, 9, 30, 5),
         dt.date(2023, 8, 31), bytes(range(256)), 2**62 + 12345),
        (2, "nulls", None, None, None, None, None, None),
        (3, "", "", 1e-300, dt.datetime(1970, 1, 1, 0, 0, 0), dt.date(2000, 2, 29), b"",
         -(2**63)),
        (4, "tiny", "🎉" * 100, 1.7976931348623157e308, dt.datetime(2038, 1, 19, 3, 14, 8),
         dt.date(1000, 1, 1), b"\x00\\\t\n\r'\"", 2**63 - 1),
        (5, "neg", "ñ" * 5000, -123456.78901234567, None, None, bytes(range(255, -1, -1)) * 300, 0),
        (6, "Zürich \\", "\\", 2.5e-8, None, None, b"\\x41", 7),
    ]


@pytest.fixture
def target(dbs):
    url = dbs.new("load")
    eng = make_engine(url)
    md = make_metadata()
    md.create_all(eng)
    yield eng, md, dbs.kind
    eng.dispose()


def read_all(conn, table, order="id"):
    rows = [tuple(r) for r in conn.execute(select(table).order_by(table.c[order]))]
    conn.rollback()  # end the autobegun read transaction
    return rows


def norm(rows):
    """bytes from drivers may come back as memoryview/bytearray."""
    out = []
    for r in rows:
        out.append(tuple(bytes(v) if isinstance(v, (memoryview, bytearray)) else v for v in r))
    return out


def test_insert_round_trip_exact(target):
    eng, md, kind = target
    g = md.tables["Group"]
    rows = group_rows()
    with eng.connect() as conn:
        with conn.begin():
            n = BulkWriter(conn).insert(g, GCOLS, iter(rows))
        assert n == len(rows)
        got = norm(read_all(conn, g))
    assert got == rows


@pytest.mark.parametrize("variant", ["alt", "small-chunks"])
def test_insert_alternative_paths_and_chunking(target, variant):
    eng, md, kind = target
    g = md.tables["Group"]
    rows = group_rows()
    if variant == "alt":
        opts = {"pg_copy": "text", "mysql_method": "load_data", "prefetch": True}
    else:
        opts = {"batch_rows": 2, "batch_bytes": 4096, "prefetch": False}
    with eng.connect() as conn:
        with conn.begin():
            n = BulkWriter(conn, **opts).insert(g, GCOLS, (r for r in rows))
        assert n == len(rows)
        assert norm(read_all(conn, g)) == rows


def test_rows_encoded_ahead_round_trip(target):
    """row_encoder (the compiled encoders) gives the text the writer sends; rows passed
    encoded ahead are written exactly, inserted and upserted, in small chunks."""
    from bascule.load.encode import pg_copy_line

    eng, md, kind = target
    g = md.tables["Group"]
    rows = group_rows()
    with eng.connect() as conn:
        w = BulkWriter(conn, pg_copy="text", batch_rows=2)
        enc = w.row_encoder(g, GCOLS)
        if kind == "sqlite":
            assert enc is None
            return
        generic = pg_copy_line if kind == "postgresql" else w.ops.row_literal
        assert [enc(r) for r in rows] == [generic(r) for r in rows]
        with conn.begin():
            assert w.insert(g, GCOLS, rows[:3], encoded=[enc(r) for r in rows[:3]]) == 3
            changed = [(r[0], r[1] + "!", *r[2:]) for r in rows]
            # an item left None is encoded by the writer itself
            pre = [enc(r) for r in changed]
            pre[1] = None
            assert w.upsert(g, GCOLS, changed, key=["id"], encoded=pre) == len(rows)
        assert norm(read_all(conn, g)) == changed


def test_row_encoders_equal_the_value_encoders():
    """The row loops (their common types written out inline) give the text of the value
    functions joined, on every type a row may hold, in any column."""
    import random
    from decimal import Decimal

    from bascule.load.encode import make_mysql_literal, pg_copy_line, pg_value

    lit, row_lit = make_mysql_literal(lambda s: "'" + s.replace("'", "''") + "'")
    vals = [1, -5, 0, 1023, 1024, None, True, False, "7", 2**40, -(2**70), "abc", "a\tb", "x'y", 'q"\\z',
            "é\n", "a\rb", "", NASTY_TEXT, 1.5, 0.1, 1e20, -0.0, 0.0, float("nan"), float("inf"),
            dt.datetime(2023, 1, 2, 3, 4, 5, 6), dt.datetime(2023, 1, 2, 3, 4, 5),
            dt.datetime(999, 12, 31, 23, 59, 59), dt.datetime(2023, 1, 2, tzinfo=dt.timezone.utc),
            "0000-00-00 00:00:00", dt.date(2023, 1, 2), dt.date(5, 6, 7), Decimal("1.5"),
            Decimal("NaN"), b"\x00a", bytearray(b"\t"), dt.time(1, 2)]

    def pg_ref(r):
        return "\t".join(pg_value(v) for v in r) + "\n"

    def my_ref(r):
        return "(" + ",".join(lit(v) for v in r) + ")"

    rnd = random.Random(1)
    for n in range(3000):
        r = tuple(rnd.choice(vals) for _ in range(n % 9))
        for ref, fast in ((pg_ref, pg_copy_line), (my_ref, row_lit)):
            try:
                a = ref(r)
            except ValueError as e:  # MySQL: no NaN
                a = type(e)
            try:
                b = fast(r)
            except ValueError as e:
                b = type(e)
            assert a == b, r


def test_many_rows_stream(target):
    eng, md, kind = target
    uo = md.tables["UserOrder"]
    cols = [c.name for c in uo.columns]
    base = dt.datetime(2023, 1, 1)

    def gen(n):
        for i in range(1, n + 1):
            yield (i, i % 97, i % 31, i / 7, 0.1 * i, i % 2, None if i % 3 else i, i % 11,
                   None, i // 3, base + dt.timedelta(seconds=i), i & 7, 0.0)

    with eng.connect() as conn:
        with conn.begin():
            n = BulkWriter(conn, batch_rows=3000, batch_bytes=100_000).insert(uo, cols, gen(12_345))
        assert n == 12_345
        assert conn.execute(select(func.count()).select_from(uo)).scalar() == 12_345
        last = conn.execute(select(uo).where(uo.c.id == 12_345)).one()
        assert tuple(last) == list(gen(12_345))[-1]


def test_upsert_update_delete(target):
    eng, md, kind = target
    g = md.tables["Group"]
    rows = group_rows()
    with eng.connect() as conn:
        with conn.begin():
            w = BulkWriter(conn)
            w.insert(g, GCOLS, rows[:3])
            changed = [
                (2, "nulls now set", "dësc\t2", 0.1, dt.datetime(2023, 3, 1, 12, 0, 0),
                 dt.date(2023, 3, 1), b"\x01\x02", 42),
                rows[2],
                rows[3],
            ]
            assert w.upsert(g, GCOLS, iter(changed), key=["id"]) == 3
        got = norm(read_all(conn, g))
        assert got == [rows[0], changed[0], rows[2], rows[3]]

        with conn.begin():
            w = BulkWriter(conn)
            m = w.update(g, ["id"], ["desc", "score"], iter([(1, "new 🍓\\", 1e-300), (4, None, 0.0), (99, "x", 1.0)]))
            assert m == 2
        got = {r[0]: r for r in norm(read_all(conn, g))}
        assert got[1][2:4] == ("new 🍓\\", 1e-300)
        assert got[4][2:4] == (None, 0.0)
        assert got[3] == rows[2]

        with conn.begin():
            assert BulkWriter(conn).delete(g, ["id"], iter([(2,), (3,), (77,)])) == 2
        assert [r[0] for r in read_all(conn, g)] == [1, 4]


def test_two_pass_self_reference(target):
    eng, md, kind = target
    g, op = md.tables["Group"], md.tables["Operation"]
    with eng.connect() as conn:
        with conn.begin():
            w = BulkWriter(conn)
            w.insert(g, ["id", "name"], [(1, "g")])
            w.insert(op, ["id", "name", "groupId", "relationId"],
                     [(i, f"op{i}", 1, None) for i in range(1, 101)])
            # second pass: each operation points at the next one (forward references)
            assert w.update(op, ["id"], ["relationId"], ((i, i % 100 + 1) for i in range(1, 101))) == 100
        rel = dict(conn.execute(select(op.c.id, op.c.relationId)).all())
        conn.rollback()
    assert rel == {i: i % 100 + 1 for i in range(1, 101)}


@pytest.mark.parametrize("checked", [True, False], ids=["row-by-row", "after"])
def test_two_pass_columns_only_where_checked_row_by_row(server_target, checked):
    """A unit's rows with forward references (each operation points at the next one): where the
    foreign keys are checked row by row, the two-pass column is written NULL, then set by the
    second pass; without the checks (fk_checks=after) every row is written whole, once, and
    nothing is left for a second pass. The same rows either way."""
    from bascule.load.apply import UnitLoad, _second_pass, _write_rows
    from bascule.load.dialects import dialect_for
    from bascule.model.tables import MIGRATION
    from bascule.plan.changeset import ChangeSet, TableChanges

    eng, md, _kind = server_target
    op = md.tables["Operation"]
    ops = [(i, f"op{i}", 1, i % 100 + 1) for i in range(1, 101)]
    cs = ChangeSet({})
    cs.tables["Group"] = TableChanges(("id", "name"), [(1, "g")], [None])
    cs.tables["Operation"] = TableChanges(("id", "name", "groupId", "relationId"), ops,
                                          [None] * len(ops))
    dialect = dialect_for(eng)
    load = UnitLoad(MIGRATION, md.tables, dialect, run_id=1, source="s")
    with eng.connect() as conn:
        with conn.begin():
            dialect.set_fk_checks(conn, checked)
            w = BulkWriter(conn)
            second = _write_rows(w, cs, load, two_pass=checked)
            if checked:
                assert second == [("Operation", [("relationId", i, i % 100 + 1)
                                                 for i in range(1, 101)])]
                for t, pairs in second:
                    _second_pass(w, load.tables[t], pairs)
            else:
                assert second == []
        rel = dict(conn.execute(select(op.c.id, op.c.relationId)).all())
        conn.rollback()
    assert rel == {i: i % 100 + 1 for i in range(1, 101)}


def test_upsert_composite_key_bookkeeping(dbs):
    url = dbs.new("bk")
    eng = make_engine(url)
    try:
        md = ensure_bookkeeping(eng)
        ensure_bookkeeping(eng)  # idempotent
        names = set(inspect(eng).get_table_names())
        assert {"bascule_idmap", "bascule_run", "bascule_group"} <= names
        idmap = md.tables[IDMAP]
        cols = ["source", "table_name", "old_id", "new_id", "group_id", "row_hash", "run_id"]
        key = ["source", "table_name", "old_id"]
        with eng.connect() as conn:
            with conn.begin():
                w = BulkWriter(conn)
                w.insert(idmap, cols, [("s", "Group", 1, 10, 1, -(2**63), 1),
                                       ("s", "User", 1, 11, None, 2**63 - 1, 1),
                                       ("t", "Group", 1, 30, 1, 7, 3)])  # another source
                w.upsert(idmap, cols, [("s", "Group", 1, 20, 1, 5, 2),
                                       ("s", "Group", 2, 21, 1, 6, 2)], key=key)
                w.update(idmap, key, ["row_hash"], [("s", "User", 1, 0)])
                w.delete(idmap, key, [("s", "Group", 2)])
            got = sorted(tuple(r) for r in conn.execute(select(*[idmap.c[c] for c in cols])))
        assert got == [("s", "Group", 1, 20, 1, 5, 2), ("s", "User", 1, 11, None, 0, 1),
                       ("t", "Group", 1, 30, 1, 7, 3)]
    finally:
        eng.dispose()


def _count(conn, table):
    n = conn.execute(select(func.count()).select_from(table)).scalar()
    conn.rollback()
    return n


def test_duplicate_key_names_table_id_column(target):
    eng, md, kind = target
    g = md.tables["Group"]
    rows = [(i, f"g{i}", None, None, None, None, None, None) for i in range(1, 301)]
    rows.insert(170, (50, "dup", None, None, None, None, None, None))
    with eng.connect() as conn:
        with pytest.raises(LoadError) as ei:
            with conn.begin():
                BulkWriter(conn, batch_rows=64).insert(g, GCOLS, iter(rows))
        e = ei.value
        assert e.table == "Group"
        assert e.key == {"id": 50}
        assert e.column == "id"
        assert "Group" in str(e) and "id=50" in str(e)
        assert _count(conn, g) == 0


def test_not_null_and_too_long(target):
    eng, md, kind = target
    g = md.tables["Group"]
    with eng.connect() as conn:
        with pytest.raises(LoadError) as ei:
            with conn.begin():
                BulkWriter(conn).insert(
                    g, ["id", "name"], [(1, "ok"), (2, "ok"), (7, None), (8, "ok")]
                )
        assert (ei.value.table, ei.value.key, ei.value.column) == ("Group", {"id": 7}, "name")
        assert _count(conn, g) == 0
        if kind == "sqlite":
            return  # SQLite does not enforce VARCHAR lengths
        with pytest.raises(LoadError) as ei:
            with conn.begin():
                BulkWriter(conn).insert(g, ["id", "name"], [(1, "ok"), (2, "é" * 21), (3, "ok")])
        assert (ei.value.key, ei.value.column) == ({"id": 2}, "name")
        assert _count(conn, g) == 0


def test_foreign_key_violation(target):
    eng, md, kind = target
    g, op = md.tables["Group"], md.tables["Operation"]
    with eng.connect() as conn:
        with conn.begin():
            BulkWriter(conn).insert(g, ["id", "name"], [(1, "g")])
        with pytest.raises(LoadError) as ei:
            with conn.begin():
                BulkWriter(conn).insert(
                    op, ["id", "name", "groupId", "relationId"],
                    [(1, "a", 1, None), (2, "b", 1, 1), (3, "c", 999, None), (4, "d", 1, None)],
                )
        assert (ei.value.table, ei.value.key, ei.value.column) == ("Operation", {"id": 3}, "groupId")
        assert _count(conn, op) == 0


def test_upsert_and_update_errors(target):
    eng, md, kind = target
    g = md.tables["Group"]
    with eng.connect() as conn:
        with conn.begin():
            BulkWriter(conn).insert(g, ["id", "name"], [(i, f"g{i}") for i in range(1, 11)])
        with pytest.raises(LoadError) as ei:
            with conn.begin():
                BulkWriter(conn).update(g, ["id"], ["name"], [(1, "a"), (5, None), (6, "b")])
        assert (ei.value.operation, ei.value.key, ei.value.column) == ("update", {"id": 5}, "name")
        with pytest.raises(LoadError) as ei:
            with conn.begin():
                BulkWriter(conn).upsert(g, ["id", "name"], [(1, "a"), (11, None)], key=["id"])
        assert (ei.value.operation, ei.value.key, ei.value.column) == ("upsert", {"id": 11}, "name")
        assert [r[1] for r in read_all(conn, g)] == [f"g{i}" for i in range(1, 11)]


def test_find_bad_row_leaves_nothing(target):
    eng, md, kind = target
    g = md.tables["Group"]
    with eng.connect() as conn:
        with conn.begin():
            w = BulkWriter(conn)
            assert w.find_bad_row(g, ["id", "name"], [(1, "a"), (2, "b")]) is None
            e = w.find_bad_row(g, ["id", "name"], [(1, "a"), (1, "b")])
            assert isinstance(e, LoadError) and e.key == {"id": 1}
            w.insert(g, ["id", "name"], [(3, "c")])
        assert [r[0] for r in read_all(conn, g)] == [3]


def test_fix_sequences_and_max_ids(target):
    eng, md, kind = target
    g, uo, op = md.tables["Group"], md.tables["UserOrder"], md.tables["Operation"]
    with eng.connect() as conn:
        assert max_ids(conn, [g, uo, op]) == {"Group": 0, "UserOrder": 0, "Operation": 0}
        conn.rollback()
        with conn.begin():
            w = BulkWriter(conn)
            w.insert(g, ["id", "name"], ((i, f"g{i}") for i in range(1, 1001)))
            w.insert(op, ["id", "name", "groupId"], [(5, "x", 1)])
        assert max_ids(conn, [g, uo, op]) == {"Group": 1000, "UserOrder": 0, "Operation": 5}
        conn.rollback()
        with conn.begin():
            fixed = fix_sequences(conn, [g, uo, op])
        assert fixed == {"Group": 1000, "UserOrder": 0, "Operation": 5}
        with conn.begin():
            new_id = conn.execute(g.insert().values(name="auto")).inserted_primary_key[0]
            new_op = conn.execute(op.insert().values(name="auto", groupId=1)).inserted_primary_key[0]
            new_uo = conn.execute(
                uo.insert().values(userId=1, productId=1, quantity=1, productPrice=1, paid=0,
                                   date=dt.datetime(2023, 1, 1), flags=0, feesRate=0)
            ).inserted_primary_key[0]
        assert (new_id, new_op, new_uo) == (1001, 6, 1)


@pytest.fixture(params=["mysql", "postgresql"])
def server_target(request, db_factory):
    url = db_factory(request.param).new("srv")
    eng = make_engine(url)
    md = make_metadata()
    md.create_all(eng)
    yield eng, md, request.param
    eng.dispose()


def test_engine_specific_bad_values(server_target):
    """Values one engine refuses: NUL in text (PostgreSQL), non-finite floats (MySQL)."""
    eng, md, kind = server_target
    g = md.tables["Group"]
    col, value = {"postgresql": ("desc", "a\x00b"), "mysql": ("score", float("inf"))}[kind]
    with eng.connect() as conn:
        with pytest.raises(LoadError) as ei:
            with conn.begin():
                BulkWriter(conn).insert(g, ["id", "name", col], [(1, "a", None), (2, "b", value)])
        assert (ei.value.key, ei.value.column) == ({"id": 2}, col)
        assert _count(conn, g) == 0


@pytest.mark.parametrize("prefetch", [False, True])
def test_iterator_error_propagates(target, prefetch):
    eng, md, kind = target
    g = md.tables["Group"]

    class Boom(Exception):
        pass

    def rows():
        for i in range(1, 50):
            yield (i, f"g{i}")
        raise Boom("source went away")

    with eng.connect() as conn:
        with pytest.raises(Boom):
            with conn.begin():
                BulkWriter(conn, batch_rows=10, prefetch=prefetch).insert(g, ["id", "name"], rows())
        assert _count(conn, g) == 0


def test_load_data_path_pinpoints(mysql_dbs):
    eng = make_engine(mysql_dbs.new("ld"))
    md = make_metadata()
    md.create_all(eng)
    g = md.tables["Group"]
    try:
        with eng.connect() as conn:
            with pytest.raises(LoadError) as ei:
                with conn.begin():
                    BulkWriter(conn, mysql_method="load_data").insert(
                        g, ["id", "name"], [(1, "a"), (2, "b"), (2, "c"), (3, "d")]
                    )
            assert (ei.value.key, ei.value.column) == ({"id": 2}, "id")
            assert _count(conn, g) == 0
    finally:
        eng.dispose()


def test_lost_connection_is_not_a_row_error(server_target):
    """A connection killed under the writer surfaces as SQLAlchemy's OperationalError with
    connection_invalidated, not as a LoadError, and the transaction leaves nothing."""
    from sqlalchemy import exc as sa_exc
    from sqlalchemy import text

    eng, md, kind = server_target
    g = md.tables["Group"]
    killer = make_engine(eng.url)
    try:
        with eng.connect() as conn:
            conn.begin()
            pid_sql = "SELECT CONNECTION_ID()" if kind == "mysql" else "SELECT pg_backend_pid()"
            pid = conn.execute(text(pid_sql)).scalar()
            w = BulkWriter(conn, batch_rows=10)
            with killer.connect() as k:
                if kind == "mysql":
                    k.execute(text(f"KILL {int(pid)}"))
                else:
                    k.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            with pytest.raises(sa_exc.DBAPIError) as ei:
                w.insert(g, ["id", "name"], [(i, "x") for i in range(1, 100)])
            assert not isinstance(ei.value, LoadError)
            assert ei.value.connection_invalidated
            conn.rollback()
        with eng.connect() as conn:
            assert _count(conn, g) == 0
    finally:
        killer.dispose()


def test_deadlock_victim_is_not_written_on(db_factory):
    """MariaDB rolls a deadlock victim back whole, savepoints included. The writer must not
    take the failed savepoint for a bad row and go on writing in a new transaction (what was
    written before would be lost while the rest commits): it raises TransactionLost, a
    transient error (the unit is done again)."""
    import threading

    from bascule.load.dialects import TransactionLost, is_transient_error

    url = db_factory("mysql").new("dl")
    eng = make_engine(url)
    md = make_metadata()
    md.create_all(eng)
    g = md.tables["Group"]
    other = make_engine(url)
    try:
        with eng.connect() as a, other.connect() as b:
            a.begin()
            w = BulkWriter(a)
            w.insert(g, ["id", "name"], [(1, "a")])  # a holds row 1
            b.begin()  # b holds row 2 and more: the heavier one, a is the victim
            b.execute(g.insert(), [{"id": i, "name": "b"} for i in [2, *range(100, 160)]])
            errors: list[BaseException] = []

            def b_wants_row_1():
                try:
                    b.execute(g.insert(), [{"id": 1, "name": "b"}])
                except BaseException as e:  # noqa: BLE001
                    errors.append(e)

            # b waits for a's row 1 and a for b's row 2, in whichever order they get there:
            # a deadlock, whose victim is the lighter transaction (a)
            t = threading.Thread(target=b_wants_row_1)
            t.start()
            with pytest.raises(TransactionLost) as ei:
                w.insert(g, ["id", "name"], [(2, "a"), (3, "a")])  # a wants row 2: deadlock
            assert is_transient_error(ei.value)
            assert "Deadlock" in str(ei.value.cause)
            a.rollback()
            t.join()
            assert not errors, errors
            b.rollback()
        with eng.connect() as conn:
            assert _count(conn, g) == 0
    finally:
        other.dispose()
        eng.dispose()


def _filler(col):
    """A value of the column's type for NOT NULL columns in the Camap-metadata test."""
    from sqlalchemy import Boolean, Float, LargeBinary as LB

    t = col.type
    if isinstance(t, Boolean):
        return False
    if isinstance(t, Integer):
        return 0
    if isinstance(t, Float):
        return 0.0
    if isinstance(t, DateTime):
        return dt.datetime(2023, 3, 14, 0, 0, 0)
    if isinstance(t, Date):
        return dt.date(2023, 3, 14)
    if isinstance(t, LB):
        return b""
    return "x"


def test_camap_metadata_group_two_pass_and_sequences(dbs):
    """On the real Camap shape: all table names quote, Group <-> Place load in two passes, and
    every sequence is fixed (CamelCase and reserved names on PostgreSQL)."""
    schema = pytest.importorskip("bascule.schema")
    md = schema.camap_metadata("head")
    eng = make_engine(dbs.new("camap"))
    try:
        md.create_all(eng)
        group, place = md.tables["Group"], md.tables["Place"]
        with eng.connect() as conn:
            assert set(max_ids(conn, md.tables.values()).values()) == {0}
            conn.rollback()
            with conn.begin():
                w = BulkWriter(conn)
                gcols = ["id"] + [c.name for c in group.columns
                                  if c.name != "id" and not c.nullable and not c.foreign_keys]
                w.insert(group, gcols, ([i] + [_filler(group.c[c]) for c in gcols[1:]] for i in range(1, 51)))
                pcols = ["id", "groupId"] + [c.name for c in place.columns
                                             if c.name not in ("id", "groupId") and not c.nullable
                                             and not c.foreign_keys]
                w.insert(place, pcols, ([100 + i, i] + [_filler(place.c[c]) for c in pcols[2:]]
                                        for i in range(1, 51)))
                assert w.update(group, ["id"], ["placeId"], ((i, 100 + i) for i in range(1, 51))) == 50
            with conn.begin():
                fixed = fix_sequences(conn, md.tables.values())
            assert fixed["Group"] == 50 and fixed["Place"] == 150
            with conn.begin():
                vals = {c: _filler(group.c[c]) for c in gcols[1:]}
                assert conn.execute(group.insert().values(**vals)).inserted_primary_key[0] == 51
            got = dict(conn.execute(select(group.c.id, group.c.placeId)).all())
            conn.rollback()
        assert got == {**{i: 100 + i for i in range(1, 51)}, 51: None}
    finally:
        eng.dispose()


def test_writer_without_explicit_begin_commits_with_conn_commit(target):
    eng, md, kind = target
    g = md.tables["Group"]
    with eng.connect() as conn:
        BulkWriter(conn).insert(g, ["id", "name"], [(1, "a"), (2, "b")])
        conn.commit()
    with eng.connect() as conn:
        assert _count(conn, g) == 2


def test_iso_datetime_is_isoformat():
    """The dates' text written out from their fields equals ``isoformat`` (naive, with
    microseconds, aware, years before 1000)."""
    import random

    from bascule.load.encode import iso_date, iso_datetime

    rnd = random.Random(7)
    for _ in range(20000):
        d = dt.datetime(rnd.randint(1, 9999), rnd.randint(1, 12), rnd.randint(1, 28),
                        rnd.randint(0, 23), rnd.randint(0, 59), rnd.randint(0, 59),
                        rnd.choice((0, 0, rnd.randint(1, 999_999))))
        assert iso_datetime(d) == d.isoformat(" ")
        assert iso_datetime(d, "T") == d.isoformat("T")
        assert iso_date(d.date()) == d.date().isoformat()
    aware = dt.datetime(2023, 3, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert iso_datetime(aware) == "2023-03-01 12:00:00+01:00"


def test_remembered_texts_tell_equal_values_apart():
    """The row loops remember the text of dates and floats: values that are equal but are
    written differently (0.0 and -0.0; a naive date and an aware one; fold) keep their own
    text, in either order, and a full cache starts again."""
    from bascule.load import encode
    from bascule.load.encode import make_mysql_literal, pg_copy_line

    _lit, row_lit = make_mysql_literal(lambda s: "'" + s + "'")
    naive = dt.datetime(2023, 3, 1, 12)
    aware = dt.datetime(2023, 3, 1, 12, tzinfo=dt.timezone.utc)
    for first, second in ((0.0, -0.0), (-0.0, 0.0)):
        assert pg_copy_line((first, second, first)) == f"{first!r}\t{second!r}\t{first!r}\n"
        assert row_lit((first, second)) == f"({first!r}e0,{second!r}e0)"
    assert pg_copy_line((naive, aware, naive)) == \
        "2023-03-01 12:00:00\t2023-03-01 12:00:00+00:00\t2023-03-01 12:00:00\n"
    assert pg_copy_line((naive.replace(fold=1),)) == "2023-03-01 12:00:00\n"
    for i in range(encode.CACHED + 10):
        f = 1.5 + i
        assert pg_copy_line((f, i)) == f"{f!r}\t{i}\n"
    assert len(encode._FLOATS) <= encode.CACHED
