"""Column types and small column/table helpers shared by the Cagette and Camap schemas.

Every type is a *generic* SQLAlchemy type (so that the same metadata creates on PostgreSQL and
SQLite) with a MySQL/MariaDB variant giving the exact type of cagette-schema.md §1:

====================  ======================  ==============================  ==========
Haxe / TypeORM        MySQL (variant)         generic (PostgreSQL / SQLite)   helper
====================  ======================  ==============================  ==========
SInt / int            INT                     INTEGER                         ``INT``
STinyInt / tinyint    TINYINT                 SMALLINT                        ``TINYINT``
SEnum / tinyint UNS.  TINYINT UNSIGNED        SMALLINT                        ``UTINYINT``
SBool / tinyint(1)    TINYINT(1)              SMALLINT (values stay 0/1)      ``BOOL``
SFloat / double       DOUBLE                  DOUBLE PRECISION / DOUBLE       ``DOUBLE``
SString<N>            VARCHAR(N)              VARCHAR(N)                      ``VARCHAR(n)``
STinyText             TINYTEXT                TEXT                            ``TINYTEXT``
SSmallText / text     TEXT                    TEXT                            ``TEXT``
SText / String        MEDIUMTEXT              TEXT                            ``MEDIUMTEXT``
SData / SBinary       MEDIUMBLOB              BYTEA / BLOB                    ``MEDIUMBLOB``
SDate                 DATE                    DATE                            ``DATE``
SDateTime             DATETIME                TIMESTAMP / DATETIME            ``DATETIME``
TypeORM enum          ENUM('a','b')           VARCHAR(longest)                ``ENUM(...)``
====================  ======================  ==============================  ==========

ENUMs are plain strings outside MySQL (no ``CREATE TYPE`` on PostgreSQL, no Python-side
validation: a dirty source value never makes a read fail). Booleans are SMALLINT, not Boolean,
so that 0/1 round-trip unchanged on every engine.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Double,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import TypeEngine

_MY = ("mysql", "mariadb")


def _v(generic: TypeEngine, mysql_type: TypeEngine) -> TypeEngine:
    return generic.with_variant(mysql_type, *_MY)


INT = Integer()
BIGINT = BigInteger()
TINYINT = _v(SmallInteger(), mysql.TINYINT())
UTINYINT = _v(SmallInteger(), mysql.TINYINT(unsigned=True))
BOOL = _v(SmallInteger(), mysql.TINYINT(display_width=1))
DOUBLE = _v(Double(), mysql.DOUBLE(asdecimal=False))
UFLOAT = _v(Float(), mysql.FLOAT(unsigned=True, asdecimal=False))
TINYTEXT = _v(Text(), mysql.TINYTEXT())
TEXT = Text()
MEDIUMTEXT = _v(Text(), mysql.MEDIUMTEXT())
MEDIUMBLOB = _v(LargeBinary(), mysql.MEDIUMBLOB())
DATE = Date()
DATETIME = _v(DateTime(), mysql.DATETIME())
DATETIME6 = _v(DateTime(), mysql.DATETIME(fsp=6))


def VARCHAR(n: int) -> TypeEngine:  # noqa: N802 - reads like the SQL type
    return String(n)


def ENUM(*values: str) -> TypeEngine:  # noqa: N802
    """MySQL ENUM(values); VARCHAR(longest value) elsewhere."""
    return _v(String(max(len(v) for v in values)), mysql.ENUM(*values))


class current_timestamp6(FunctionElement):  # noqa: N801 - used like a SQL function
    """``CURRENT_TIMESTAMP(6)`` on MySQL (a DATETIME(6) default must carry the same precision),
    ``CURRENT_TIMESTAMP`` elsewhere. For ``server_default``."""

    type = DateTime()
    inherit_cache = True


@compiles(current_timestamp6)
def _cts6_default(element, compiler, **kw):
    return "CURRENT_TIMESTAMP"


@compiles(current_timestamp6, "mysql")
@compiles(current_timestamp6, "mariadb")
def _cts6_mysql(element, compiler, **kw):
    return "CURRENT_TIMESTAMP(6)"


# --------------------------------------------------------------------------- column helpers


def col(name: str, type_: TypeEngine, null: bool = False, **kw) -> Column:
    """A plain column; NOT NULL unless ``null=True`` (record-macros: everything not SNull)."""
    return Column(name, type_, nullable=null, **kw)


def pk(name: str = "id") -> Column:
    """``INT AUTO_INCREMENT`` primary key."""
    return Column(name, Integer, primary_key=True, autoincrement=True, nullable=False)


def ref(
    table: str,
    name: str,
    target: str,
    *,
    null: bool = False,
    field: str | None = None,
    ondelete: str | None = None,
    use_alter: bool = False,
    **kw,
) -> Column:
    """An INT relation column ``name`` → ``target.id`` (or ``"Table.col"``) with its FK constraint.

    The constraint is named ``<table>_<haxeField>`` as record-macros' dbadmin and Camap's naming
    strategy do; the field defaults to the column name without ``Id`` (``userId2`` → ``user2``).
    ON DELETE is CASCADE for NOT NULL relations and SET NULL for nullable ones unless given.
    """
    field = field or name.replace("Id", "", 1)
    rule = ondelete or ("SET NULL" if null else "CASCADE")
    target_col = target if "." in target else f"{target}.id"
    fk = ForeignKey(target_col, name=f"{table}_{field}", ondelete=rule, use_alter=use_alter)
    return Column(name, Integer, fk, nullable=null, **kw)


def idx(table: str, *cols: str, unique: bool = False, mysql_length: dict | None = None) -> Index:
    """Index named ``<table>_<col1>_<col2>`` (one composite index, as ``@:index`` makes)."""
    kw = {"mysql_length": mysql_length} if mysql_length else {}
    return Index(f"{table}_{'_'.join(cols)}", *cols, unique=unique, **kw)


def nullable(columns: Iterable[Column]) -> list[Column]:
    """Force columns NULLable (legacy columns must accept rows written without them)."""
    out = []
    for c in columns:
        c.nullable = True
        out.append(c)
    return out


def make_table(md: MetaData, name: str, *items, latin1: bool = False) -> Table:
    """A Table with InnoDB and the charset of real dumps on MySQL (latin1 or utf8mb4)."""
    if latin1:
        opts = {"mysql_charset": "latin1", "mysql_collate": "latin1_swedish_ci"}
    else:
        opts = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}
    return Table(name, md, *items, mysql_engine="InnoDB", **opts)
