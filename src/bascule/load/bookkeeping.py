"""bascule's own tables in the target database.

They are the single source of truth for reruns, verification, redirects and the producer notice.
A target may receive groups from several sources (a Cagette, then a Camap instance): every row
of the first five tables says which one, in ``source`` (the ``source_name`` setting, by default
the old host), and a run reads and writes only the rows of its own source (``Book``):

- ``bascule_idblock``: the id map of the rows a source group owns, packed: one row per (source,
  source group, table, block of up to 8192 entries) with the old ids, the new ids and the hashes
  of the transformed rows (what was written, so that a rerun knows what changed without reading
  the target rows) as little-endian signed 64-bit arrays, sorted by old id. A group's blocks are
  rewritten together, in the transaction that writes the group. Composite-key rows (UserGroup,
  Membership, Volunteer, WaitingList) have a hashed old id, new id 0 and their target key
  ("g,u") in ``new_keys`` (one line per entry). Millions of moved rows are a few thousand rows
  here (bascule.load.idmap reads and writes them).
- ``bascule_idmap``: one row per shared row (users, vendors, files; ``group_id`` NULL):
  (source, table_name, old_id) → new_id and the row hash. A user matched to an existing target
  user by e-mail has ``row_hash`` NULL: this source does not own that row (a user two sources
  know is one target user: owned by the source that moved it first, matched by the other).
- ``bascule_run``: one row per run of migrate, verify or rollback (source, command, the host and
  process that ran it, start, end, status, settings fingerprint, summary); ``running`` while its
  process holds the run lock (``load.runlock``), ``interrupted`` when the next run found it dead.
- ``bascule_group``: one row per source group ever moved (target id, status, last run, and its
  ``identity`` in the source: its creation date, which tells a group of another instance reusing
  the source name, ``run.preflight.check_identities``).
- ``bascule_chunk``: the source's chunk checksums (``extract.checksums``) as of the last run of
  that source that ended with every selected group done, packed as the id blocks are: per table
  and part of up to 8192 chunks, the chunk keys, their rows and the sums of their rows' CRCs.
  The next run compares the source's with them and moves again only the groups that own rows of
  a chunk that changed (``run.changes``). The run that wrote them (``run_id``) names, in its
  summary, the basis they hold for (settings, shapes, bascule's version and code).
- ``bascule_index``: the target's secondary indexes a run dropped before loading empty tables
  (``secondary_indexes = "after"``, PostgreSQL), with their definitions, until they are created
  again; a run that died before that puts them back when the next run starts
  (bascule.load.indexes). It is the target's, whatever the source.

Targets written before sources were named have the same tables without ``source`` (and without
``identity``, ``host``, ``pid``): the "legacy" layout, read as the rows of the configured source
(``Book.legacy``) and upgraded by the first run that writes (``load.adopt``).

Synthesised rows (a basket created for orders that had none) get a deterministic ``old_id``
outside the source's id range (see bascule.transform.baskets.synth_basket_key).
"""

from __future__ import annotations

import datetime as _dt
import functools
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    inspect,
    true,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

IDMAP = "bascule_idmap"
IDBLOCK = "bascule_idblock"
RUN = "bascule_run"
GROUP = "bascule_group"
INDEX = "bascule_index"
CHUNK = "bascule_chunk"
BOOKKEEPING_TABLES = (IDMAP, IDBLOCK, RUN, GROUP, INDEX, CHUNK)
#: The tables whose rows belong to one source (a ``source`` column; ``bascule_index`` is the
#: target's).
SOURCE_TABLES = (IDMAP, IDBLOCK, RUN, GROUP, CHUNK)
#: The longest source name.
SOURCE_NAME_MAX = 64

_LONGTEXT = Text().with_variant(Text(length=2**24 - 1), "mysql", "mariadb")
_BLOB = LargeBinary().with_variant(mysql.MEDIUMBLOB(), "mysql", "mariadb")


def _now() -> _dt.datetime:
    return _dt.datetime.now().replace(microsecond=0)


def _source(legacy: bool) -> list[Column]:
    return [] if legacy else [Column("source", String(SOURCE_NAME_MAX), nullable=False)]


def _key(legacy: bool, table: str, *cols: str) -> list:
    """The primary key: the source first. Named (``<table>_key``), so that a legacy table being
    upgraded (``load.adopt``), whose key PostgreSQL named ``<table>_pkey``, can live beside the
    new one for the copy."""
    if legacy:
        return [PrimaryKeyConstraint(*cols)]
    return [PrimaryKeyConstraint("source", *cols, name=f"{table}_key")]


def _id_tables(md: MetaData, legacy: bool) -> None:
    """bascule_idmap (shared rows) and bascule_idblock (group rows, packed)."""
    Table(
        IDMAP,
        md,
        *_source(legacy),
        Column("table_name", String(64), nullable=False),
        Column("old_id", BigInteger, nullable=False, autoincrement=False),
        Column("new_id", Integer, nullable=False),
        Column("group_id", Integer, nullable=True),
        Column("row_hash", BigInteger, nullable=True),
        Column("new_key", String(64), nullable=True),
        Column("run_id", Integer, nullable=False, default=0),
        *_key(legacy, IDMAP, "table_name", "old_id"),
        *([Index("bascule_idmap_group", "group_id", "table_name"),
           Index("bascule_idmap_new", "table_name", "new_id")] if legacy else
          [Index("bascule_idmap_source_group", "source", "group_id", "table_name"),
           Index("bascule_idmap_target", "table_name", "new_id")]),
        mysql_charset="utf8mb4",
    )
    Table(
        IDBLOCK,
        md,
        *_source(legacy),
        Column("group_id", Integer, nullable=False, autoincrement=False),
        Column("table_name", String(64), nullable=False),
        Column("block", Integer, nullable=False, autoincrement=False),
        Column("run_id", Integer, nullable=False, default=0),
        Column("n", Integer, nullable=False),
        Column("max_new_id", BigInteger, nullable=False),
        Column("old_ids", _BLOB, nullable=False),
        Column("new_ids", _BLOB, nullable=False),
        Column("row_hashes", _BLOB, nullable=False),
        Column("new_keys", _LONGTEXT, nullable=True),
        *_key(legacy, IDBLOCK, "group_id", "table_name", "block"),
        mysql_charset="utf8mb4",
    )


def _run_tables(md: MetaData, legacy: bool) -> None:
    """bascule_run, bascule_group, bascule_chunk and bascule_index."""
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
        *([] if legacy else [Column("source", String(SOURCE_NAME_MAX), nullable=True),
                             Column("host", String(255), nullable=True),
                             Column("pid", Integer, nullable=True)]),
        mysql_charset="utf8mb4",
    )
    Table(
        GROUP,
        md,
        *_source(legacy),
        Column("source_group_id", Integer, nullable=False, autoincrement=False),
        Column("target_group_id", Integer, nullable=True),
        Column("name", String(128), nullable=False),
        Column("status", String(16), nullable=False),
        Column("run_id", Integer, nullable=False, default=0),
        Column("rows", Integer, nullable=False, default=0),
        Column("updated_at", DateTime, nullable=False, default=_now),
        Column("error", _LONGTEXT, nullable=True),
        *([] if legacy else [Column("identity", String(64), nullable=True)]),
        *_key(legacy, GROUP, "source_group_id"),
        mysql_charset="utf8mb4",
    )
    Table(
        CHUNK,
        md,
        *_source(legacy),
        Column("table_name", String(64), nullable=False),
        Column("part", Integer, nullable=False, autoincrement=False),
        Column("run_id", Integer, nullable=False, default=0),
        Column("n", Integer, nullable=False),
        Column("chunks", _BLOB, nullable=False),
        Column("counts", _BLOB, nullable=False),
        Column("sums", _BLOB, nullable=False),
        *_key(legacy, CHUNK, "table_name", "part"),
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


def bookkeeping_metadata(*, legacy: bool = False) -> MetaData:
    """The metadata of bascule's own tables (a new MetaData each call); ``legacy``: as bascule
    wrote them before sources were named."""
    md = MetaData()
    _id_tables(md, legacy)
    _run_tables(md, legacy)
    return md


@functools.cache
def _tables(legacy: bool) -> dict[str, Table]:
    return dict(bookkeeping_metadata(legacy=legacy).tables)


def ensure_bookkeeping(bind: Engine | Connection) -> MetaData:
    """Create bascule's tables in the target when they are missing (never alters user tables;
    a target of the legacy layout is upgraded before, ``load.adopt``)."""
    md = bookkeeping_metadata()
    md.create_all(bind, checkfirst=True)
    return md


def is_legacy(bind: Engine | Connection) -> bool:
    """The target holds bascule's tables in the layout of before sources were named."""
    insp = inspect(bind)
    return any(insp.has_table(t) and "source" not in {c["name"] for c in insp.get_columns(t)}
               for t in (IDMAP, GROUP))


@dataclass(frozen=True)
class Book:
    """Whose rows of bascule's tables a command reads and writes: those of one source
    (``source``, the ``source_name`` setting; None: of every source, to read only).
    ``legacy``: the target's tables are of the layout of before sources were named, where every
    row is this source's (read as such; the first run that writes upgrades them,
    ``load.adopt``)."""

    source: str | None
    legacy: bool = False

    def table(self, name: str) -> Table:
        """A bookkeeping table, as this target's layout has it."""
        return _tables(self.legacy)[name]

    def mine(self, t: Table) -> ColumnElement:
        """The condition on ``t`` (a bookkeeping table of this layout) that keeps this source's
        rows."""
        return true() if self.legacy or self.source is None else t.c.source == self.source

    @classmethod
    def of(cls, bind: Engine | Connection, source: str | None) -> Book:
        """The book of ``source`` in this target, its layout found by reflection."""
        return cls(source, is_legacy(bind))
