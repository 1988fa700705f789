"""SQLAlchemy Core metadata for the four database shapes bascule reads and writes.

```python
from bascule.schema import cagette_metadata, camap_metadata, CAGETTE_SHAPES, CAMAP_SHAPES
cagette_metadata("2021" | "2023", *, legacy=False, latin1_tables=()) -> MetaData
camap_metadata("2023" | "head") -> MetaData
```

Every call returns a new ``MetaData`` (callers create it in different databases). The same
metadata creates on MariaDB/MySQL (exact types of cagette-schema.md §1 through ``with_variant``),
PostgreSQL and SQLite (generic types, ENUMs as VARCHAR, booleans as SMALLINT 0/1); see
``types.py``. Table sources: ``cagette.py`` (one function per table) and ``camap.py``.

Shapes
------
* Cagette ``"2021"``: the C21 public-source shape (cagette-schema.md §2, camap-schema.md
  Appendix A) with every persisted table, plugins and sugoi tables included (54 tables).
* Cagette ``"2023"``: C21 with the C21→FORK changes of camap-schema.md §3.2 that were made
  inside Cagette (renames ``vatRates2``/``allowedPaymentsType2``/``rights2``/``data2``, Basket
  with ``status``, no TmpBasket, NOT NULL backfills...), still with shop-mode and plugin tables
  (53 tables).
* ``legacy=True``: adds the §2.17 leftover columns (all NULLable, plain INT, no FK) and the
  legacy tables OrderPayment, TourAttendee, PVendor, CategoryGroup, Category, ProductCategory.
* ``latin1_tables``: those tables are ``latin1`` / ``latin1_swedish_ci`` on MySQL (real dumps
  hold UTF-8 bytes in latin1 columns); every other table is ``utf8mb4`` / ``utf8mb4_unicode_ci``.
  An unknown table name is a ValueError.
* Camap ``"2023"``: the FORK TypeORM entities (§2.3 modified by Appendix B), 27 tables.
* Camap ``"head"``: exactly §2.3 + §2.4 (29 tables) plus TypeORM's ``migrations`` table.

Names: indexes ``Table_col1_col2``, FKs ``Table_<haxeField>`` (``Group_contact``,
``Catalog_contact``, ``WaitingList_group``...), ON DELETE CASCADE for NOT NULL relations and SET
NULL for nullable ones (except where camap-schema §2.4 states otherwise, e.g. ``Basket_user``).
The circular FKs ``Group.placeId``↔``Place.groupId`` and ``CagettePro.demoCatalogId``↔
``PCatalog.companyId`` are created with ``use_alter`` on ``Group_mainPlace`` /
``CagettePro_demoCatalog``.

Choices where the references are ambiguous
------------------------------------------
* Only the indexes the references name are declared. For Cagette that is the ``@:index``
  list (§2); FK columns get no explicit index (MySQL adds one per FK, named after the
  constraint, as it did in production; PostgreSQL/SQLite get none). For Camap it is §2.4;
  MySQL may add implicit FK indexes there too (e.g. ``WaitingList_user``).
* Composite PK column order: Cagette follows the Haxe ``@:id`` order (``UserGroup(userId,
  groupId)``, ``Membership(userId, groupId, year)``, ``WaitingList(userId, amapId)``); Camap
  follows camap-schema §2.4 (``UserGroup(groupId, userId)``, ``Membership(year, groupId,
  userId)``, ``WaitingList(amapId, userId)``).
* Cagette 2023: ``Group.vatRates`` and ``Group.allowedPaymentsType`` are TEXT (FORK Haxe and
  TypeORM types); ``Group.disabled`` is ENUM('BLOCKED_BY_ADMIN','MOVED',
  'TOO_MANY_MULTI_DISTRIBS_NOT_VALIDATED') NULL (§3.4 down()); ``Basket.status`` and
  ``MultiDistrib.validatedStatus`` are VARCHAR(32) (Haxe-managed; the Haxe enum also had
  ``PAID``), the latter NOT NULL DEFAULT 'NOT_VALIDATED'; ``Basket.userId`` becomes NULLable so
  ``Basket_user`` is ON DELETE SET NULL there (dbadmin rule); ``UserOrder.basketId`` NOT NULL so
  ``UserOrder_basket`` is CASCADE; ``Operation.data`` is VARCHAR(256) NULL. ``User`` keeps
  ``tosVersion``/``tutoState`` and ``Message`` is identical in both Cagette shapes (§2.11, with
  ``slateContent``/``attachments``; FKs ``Message_amap``/``Message_sender``, no extra index).
* Cagette ``Hosting.id`` and ``RemoteCatalog.id`` are plain INT PKs (no AUTO_INCREMENT, no FK).
  The Mangopay single-column ``@:id`` PKs keep record-macros' AUTO_INCREMENT quirk;
  ``MangopayLegalUserGroup.legalUserId`` references ``MangopayLegalUser.mangopayUserId`` (its PK).
  FK field names not given by the references follow the column (``MangopayLegalUser_legalRepr``,
  ``Course_teacher``, ``CagettePro_demoCatalog``...).
  ``User.pass2`` stays NOT NULL as declared.
* Legacy (§2.17) column types are guesses from their names: ``Group.aboEnd`` DATE,
  ``aboType``/``legalStatus`` TINYINT UNSIGNED, ``emailStock``/``smsStock`` INT, the serialized
  ``Group.vatRates``/``allowedPaymentsType`` MEDIUMBLOB (2021 only, in 2023 the names are the
  JSON columns), ``Catalog.allowedOverspend``/``orderPreparationHours`` INT, flags TINYINT(1),
  ``MultiDistrib.timeSlotData``/``Distribution.text``/``Subscription.defaultOrder`` MEDIUMTEXT,
  ``Basket.basketRef`` VARCHAR(256), ``*.ddate`` DATETIME, every ``*Id`` a plain INT (no FK).
  Legacy tables: Category* and PVendor as documented in §2.14/§2.16 (PVendor columns NULLable,
  its FKs SET NULL); OrderPayment and TourAttendee are reconstructed (id + NULLable columns,
  no FK).
* Camap head ``Vendor.companyNumber`` is NULLable (entity, §2.3; the 2024 migration said NOT
  NULL). ``Vendor.showEmail``/``showPhone`` are TINYINT DEFAULT 1. ``NotificationMail.cdate`` is
  DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6) on MySQL (CURRENT_TIMESTAMP elsewhere);
  ``NotificationMail`` has no FK and no index (the migration creates none).
* Camap 2023 ``Group.disabled`` is ENUM('BLOCKED_BY_ADMIN','MOVED',
  'TOO_MANY_MULTI_DISTRIBS_NOT_VALIDATED') (the real DB enum, Appendix B) and
  ``MultiDistrib.validatedStatus`` ENUM('NOT_VALIDATED','VALIDATED') NOT NULL DEFAULT
  'NOT_VALIDATED'.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import MetaData

from . import camap, cagette

CAGETTE_SHAPES: tuple[str, ...] = ("2021", "2023")
CAMAP_SHAPES: tuple[str, ...] = ("2023", "head")

__all__ = ["CAGETTE_SHAPES", "CAMAP_SHAPES", "cagette_metadata", "camap_metadata"]


def cagette_metadata(
    shape: str, *, legacy: bool = False, latin1_tables: Iterable[str] = ()
) -> MetaData:
    """A new MetaData of the Cagette source schema in ``shape`` ("2021" or "2023")."""
    if shape not in CAGETTE_SHAPES:
        raise ValueError(f"unknown Cagette shape {shape!r} (expected one of {CAGETTE_SHAPES})")
    return cagette.build(shape, legacy, frozenset(latin1_tables))


def camap_metadata(shape: str) -> MetaData:
    """A new MetaData of the Camap target schema in ``shape`` ("2023" or "head")."""
    if shape not in CAMAP_SHAPES:
        raise ValueError(f"unknown Camap shape {shape!r} (expected one of {CAMAP_SHAPES})")
    return camap.build(shape)
