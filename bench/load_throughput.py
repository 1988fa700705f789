"""Throughput of bascule.load.bulk.BulkWriter.insert on MariaDB and PostgreSQL (not a test).

Writes N rows (default 200,000) of a UserOrder-shaped table (13 columns, primary key + 5 secondary
indexes) into a fresh table, once per write path, in one transaction each, and prints rows/s:

- MariaDB: multi-row INSERT (default path), LOAD DATA LOCAL INFILE
- PostgreSQL: COPY with COPY text built by bascule (default path), COPY with psycopg write_row

The rows are generated in memory first, so the numbers are the write side only. The databases are
created and dropped by the script.

    python bench/load_throughput.py [--rows 200000] [--mysql URL] [--pg URL] [--only mysql|postgresql]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
import uuid

from sqlalchemy import (
    Column,
    DateTime,
    Double,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    Table,
    create_engine,
    text,
)
from sqlalchemy.engine import make_url

from bascule.dbutil import make_engine, normalize_url
from bascule.load.encode import load_data_line, pg_copy_line
from bascule.load.bulk import BulkWriter


def user_order(md: MetaData) -> Table:
    return Table(
        "UserOrder",
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


def make_rows(n: int) -> list[tuple]:
    base = dt.datetime(2021, 1, 1, 8, 0, 0)
    out = []
    for i in range(1, n + 1):
        out.append(
            (
                i,
                (i * 7919) % 150_000 + 1,
                (i * 104729) % 40_000 + 1,
                float(i % 5 + 1),
                round(((i * 31) % 4000) / 100 + 0.5, 2),
                i % 2,
                None if i % 13 else (i * 17) % 150_000 + 1,
                (i // 20) % 60_000 + 1,
                None if i % 4 == 0 else i // 8 + 1,
                i // 3 + 1,
                base + dt.timedelta(minutes=i),
                i % 4,
                0.0 if i % 3 else 1.8,
            )
        )
    return out


def server_engine(url):
    u = normalize_url(url)
    if u.get_backend_name() == "postgresql":
        u = u.set(database="postgres")
    else:
        u = u._replace(database=None)
    return create_engine(u, isolation_level="AUTOCOMMIT")


def create_db(url) -> None:
    u = make_url(url)
    eng = server_engine(url)
    with eng.connect() as c:
        if u.get_backend_name() == "postgresql":
            c.execute(text(f'CREATE DATABASE "{u.database}" ENCODING \'UTF8\' TEMPLATE template0'))
        else:
            c.execute(text(f"CREATE DATABASE `{u.database}` CHARACTER SET utf8mb4"))
    eng.dispose()


def drop_db(url) -> None:
    u = make_url(url)
    eng = server_engine(url)
    with eng.connect() as c:
        if u.get_backend_name() == "postgresql":
            c.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
        else:
            c.execute(text(f"DROP DATABASE IF EXISTS `{u.database}`"))
    eng.dispose()


def run_upsert(url, rows, label) -> None:
    """Upsert of rows that all exist already (a rerun where everything changed)."""
    eng = make_engine(url)
    md = MetaData()
    t = user_order(md)
    md.drop_all(eng)
    md.create_all(eng)
    cols = [c.name for c in t.columns]
    try:
        with eng.connect() as conn:
            with conn.begin():
                BulkWriter(conn).insert(t, cols, iter(rows))
            changed = [r[:3] + (r[3] + 1,) + r[4:] for r in rows]
            t0 = time.perf_counter()
            with conn.begin():
                BulkWriter(conn).upsert(t, cols, iter(changed), key=["id"])
            d = time.perf_counter() - t0
            t0 = time.perf_counter()
            with conn.begin():
                BulkWriter(conn).update(t, ["id"], ["quantity"], ((r[0], r[3]) for r in rows))
            d2 = time.perf_counter() - t0
    finally:
        md.drop_all(eng)
        eng.dispose()
    print(f"  {label + ': upsert, all rows exist':<44} {d:7.2f} s  {len(rows) / d:9,.0f} rows/s", flush=True)
    print(f"  {label + ': update 1 column':<44} {d2:7.2f} s  {len(rows) / d2:9,.0f} rows/s", flush=True)


def run_path(url, rows, label, **opts) -> float:
    eng = make_engine(url)
    md = MetaData()
    t = user_order(md)
    md.drop_all(eng)
    md.create_all(eng)
    cols = [c.name for c in t.columns]
    try:
        with eng.connect() as conn:
            t0 = time.perf_counter()
            with conn.begin():
                n = BulkWriter(conn, **opts).insert(t, cols, iter(rows))
            dt_s = time.perf_counter() - t0
            count = conn.execute(text(f"SELECT COUNT(*) FROM {conn.dialect.identifier_preparer.format_table(t)}")).scalar()
        assert n == len(rows) == count, (n, count)
    finally:
        md.drop_all(eng)
        eng.dispose()
    rate = len(rows) / dt_s
    print(f"  {label:<44} {dt_s:7.2f} s  {rate:9,.0f} rows/s", flush=True)
    return rate


def encode_only(rows, label, fn) -> None:
    t0 = time.perf_counter()
    for r in rows:
        fn(r)
    d = time.perf_counter() - t0
    print(f"  {label:<44} {d:7.2f} s  {len(rows) / d:9,.0f} rows/s  (no database)", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--mysql", default="mysql+pymysql://root@127.0.0.1:3306/")
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/")
    ap.add_argument("--only", choices=["mysql", "postgresql"])
    args = ap.parse_args(argv)

    rows = make_rows(args.rows)
    print(f"{args.rows:,} UserOrder rows (13 columns, PK + 5 secondary indexes), one transaction per path")
    name = f"bench_load_{uuid.uuid4().hex[:8]}"

    if args.only in (None, "mysql"):
        url = make_url(args.mysql).set(database=name).render_as_string(hide_password=False)
        create_db(url)
        try:
            print("MariaDB / MySQL (pymysql):")
            from bascule.load.encode import make_mysql_literal

            _, row_lit = make_mysql_literal(lambda s: "'" + s + "'")
            encode_only(rows, "encode: SQL literals", row_lit)
            encode_only(rows, "encode: LOAD DATA lines", load_data_line)
            run_path(url, rows, "multi-row INSERT, 5000-row stmts, no prefetch", prefetch=False)
            run_path(url, rows, "multi-row INSERT, 5000-row stmts, prefetch (default)")
            run_path(url, rows, "multi-row INSERT, 20000-row stmts, prefetch", batch_rows=20_000)
            run_path(url, rows, "multi-row INSERT, 1000-row stmts, prefetch", batch_rows=1_000)
            run_path(url, rows, "LOAD DATA LOCAL, 5000-row files, no prefetch", mysql_method="load_data", prefetch=False)
            run_path(url, rows, "LOAD DATA LOCAL, 5000-row files, prefetch", mysql_method="load_data")
            run_path(url, rows, "LOAD DATA LOCAL, 20000-row files, prefetch", mysql_method="load_data", batch_rows=20_000)
            run_upsert(url, rows, "default")
        finally:
            drop_db(url)

    if args.only in (None, "postgresql"):
        url = make_url(args.pg).set(database=name).render_as_string(hide_password=False)
        create_db(url)
        try:
            print("PostgreSQL (psycopg 3):")
            encode_only(rows, "encode: COPY text lines", pg_copy_line)
            run_path(url, rows, "COPY, psycopg write_row (default)")
            run_path(url, rows, "COPY, psycopg write_row, prefetch", prefetch=True)
            run_path(url, rows, "COPY, text built by bascule", pg_copy="text")
            run_path(url, rows, "COPY, text built by bascule, prefetch", pg_copy="text", prefetch=True)
            run_upsert(url, rows, "default")
        finally:
            drop_db(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
