"""bascule's own tables in the target database.

They are the single source of truth for reruns, verification, redirects and the producer notice:

- ``bascule_idblock``: the id map of the rows a source group owns, packed: one row per (source
  group, table, block of up to 8192 entries) with the old ids, the new ids and the hashes of the
  transformed rows (what was written, so that a rerun knows what changed without reading the
  target rows) as little-endian signed 64-bit arrays, sorted by old id. A group's blocks are
  rewritten together, in the transaction that writes the group. Composite-key rows (UserGroup,
  Membership, Volunteer, WaitingList) have a hashed old id, new id 0 and their target key
  ("g,u") in ``new_keys`` (one line per entry). Millions of moved rows are a few thousand rows
  here (bascule.load.idmap reads and writes them).
- ``bascule_idmap``: one row per shared row (users, vendors, files; ``group_id`` NULL):
  (table_name, old_id) → new_id and the row hash. A user matched to an existing target user by
  e-mail has ``row_hash`` NULL: bascule does not own that row.
- ``bascule_run``: one row per run (start, end, status, settings fingerprint, summary).
- ``bascule_group``: one row per source group ever moved (target id, status, last run).
- ``bascule_chunk``: the source's chunk checksums (``extract.checksums``) as of the last run that
  ended with every selected group done, packed as the id blocks are: per table and part of up to
  8192 chunks, the chunk keys, their rows and the sums of their rows' CRCs. The next run
  compares the source's with them and moves again only the groups that own rows of a chunk that
  changed (``run.changes``). The run that wrote them (``run_id``) names, in its summary, the
  basis they hold for (settings, shapes, bascule's version and code).
- ``bascule_index``: the target's secondary indexes a run dropped before loading empty tables
  (``secondary_indexes = "after"``, PostgreSQL), with their definitions, until they are created
  again; a run that died before that puts them back when the next run starts
  (bascule.load.indexes).

Synthesised rows (a basket created for orders that had none) get a deterministic ``old_id``
outside the source's id range (see bascule.transform.baskets.synth_basket_key).
"""

from __future__ import annotations

import datetime as _dt

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Connection, Engine

IDMAP = "bascule_idmap"
IDBLOCK = "bascule_idblock"
RUN = "bascule_run"
GROUP = "bascule_group"
INDEX = "bascule_index"
CHUNK = "bascule_chunk"
BOOKKEEPING_TABLES = (IDMAP, IDBLOCK, RUN, GROUP, INDEX, CHUNK)

_LONGTEXT = Text().with_variant(Text(length=2**24 - 1), "mysql", "mariadb")
_BLOB = LargeBinary().with_variant(mysql.MEDIUMBLOB(), "mysql", "mariadb")


def _now() -> _dt.datetime:
    return _dt.datetime.now().replace(microsecond=0)


def _id_tables(md: MetaData) -> None:
    """bascule_idmap (shared rows) and bascule_idblock (group rows, packed)."""
    Table(
        IDMAP,
        md,
        Column("table_name", String(64), primary_key=True),
        Column("old_id", BigInteger, primary_key=True, autoincrement=False),
        Column("new_id", Integer, nullable=False),
        Column("group_id", Integer, nullable=True),
        Column("row_hash", BigInteger, nullable=True),
        Column("new_key", String(64), nullable=True),
        Column("run_id", Integer, nullable=False, default=0),
        Index("bascule_idmap_group", "group_id", "table_name"),
        Index("bascule_idmap_new", "table_name", "new_id"),
        mysql_charset="utf8mb4",
    )
    Table(
        IDBLOCK,
        md,
        Column("group_id", Integer, primary_key=True, autoincrement=False),
        Column("table_name", String(64), primary_key=True),
        Column("block", Integer, primary_key=True, autoincrement=False),
        Column("run_id", Integer, nullable=False, default=0),
        Column("n", Integer, nullable=False),
        Column("max_new_id", BigInteger, nullable=False),
        Column("old_ids", _BLOB, nullable=False),
        Column("new_ids", _BLOB, nullable=False),
        Column("row_hashes", _BLOB, nullable=False),
        Column("new_keys", _LONGTEXT, nullable=True),
        mysql_charset="utf8mb4",
    )


def _run_tables(md: MetaData) -> None:
    """bascule_run, bascule_group and bascule_index."""
    Table(
        RUN,
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("command", String(16), nullable=False),
        Column("started_at", DateTime, nullable=False),
        Column("ended_at", DateTime, nullable=True),
        Column("status", String(16), nullable=False),
        Column("fingerprint", String(64), nullable=False),
        Column("source_shape", String(16), nullable=True),
        Column("target_shape", String(16), nullable=True),
        Column("settings", _LONGTEXT, nullable=True),
        Column("summary", _LONGTEXT, nullable=True),
        mysql_charset="utf8mb4",
    )
    Table(
        GROUP,
        md,
        Column("source_group_id", Integer, primary_key=True, autoincrement=False),
        Column("target_group_id", Integer, nullable=True),
        Column("name", String(128), nullable=False),
        Column("status", String(16), nullable=False),
        Column("run_id", Integer, nullable=False, default=0),
        Column("rows", Integer, nullable=False, default=0),
        Column("updated_at", DateTime, nullable=False, default=_now),
        Column("error", _LONGTEXT, nullable=True),
        mysql_charset="utf8mb4",
    )
    Table(
        CHUNK,
        md,
        Column("table_name", String(64), primary_key=True),
        Column("part", Integer, primary_key=True, autoincrement=False),
        Column("run_id", Integer, nullable=False, default=0),
        Column("n", Integer, nullable=False),
        Column("chunks", _BLOB, nullable=False),
        Column("counts", _BLOB, nullable=False),
        Column("sums", _BLOB, nullable=False),
        mysql_charset="utf8mb4",
    )
    Table(
        INDEX,
        md,
        Column("index_name", String(128), primary_key=True),
        Column("table_name", String(64), nullable=False),
        Column("definition", _LONGTEXT, nullable=False),
        Column("run_id", Integer, nullable=False, default=0),
        Column("dropped_at", DateTime, nullable=False, default=_now),
        mysql_charset="utf8mb4",
    )


def bookkeeping_metadata() -> MetaData:
    """The metadata of bascule's own tables (a new MetaData each call)."""
    md = MetaData()
    _id_tables(md)
    _run_tables(md)
    return md


def ensure_bookkeeping(bind: Engine | Connection) -> MetaData:
    """Create bascule's tables in the target when they are missing (never alters user tables)."""
    md = bookkeeping_metadata()
    md.create_all(bind, checkfirst=True)
    return md
