"""Camap starts on a schema bascule created: ``--create-schema head`` (and ``bascule seed --kind
camap --shape head``) fill Camap's ``migrations`` table as Camap's own dataset step does, one row
per TypeORM migration with Camap's exact class names and timestamps, so that Camap's
``migration:run`` at startup finds nothing to do."""

from __future__ import annotations

import pytest

from bascule import api
from bascule.generate import generate

from helpers import execute, make_source, rows, settings_for, table_names

#: camap-ts v3.0.8, packages/api-core/src/migrations: each file's class ``name``.
CAMAP = [
    (1716452582359, "stocksRework1716452582359"),
    (1716557457926, "updateGroupFlagValue1716557457926"),
    (1716900422752, "roleGroupEnabledByDefault1716900422752"),
    (1717668928327, "fixTypo1717668928327"),
    (1719302680137, "daysAfterClosingBeforeHidingDutyPeriods1719302680137"),
    (1719475818737, "addCatalogFirstDistrib1719475818737"),
    (1720184612071, "addDistribQuantities1720184612071"),
    (1721184612071, "addCompanyNumber1721184612071"),
    (1741445966001, "groupDisabled1741445966001"),
    (1760631262459, "producteur1760631262459"),
    (1762796759023, "vendorShowPhone1762796759023"),
    (1773912252829, "EmailDigests1773912252829"),
]
EXPECTED = [(i, ts, name) for i, (ts, name) in enumerate(CAMAP, 1)]


def _migrations(url: str) -> list[tuple]:
    return [(int(i), int(ts), n) for i, ts, n in
            rows(url, 'SELECT id, "timestamp", name FROM migrations ORDER BY id')]


@pytest.mark.parametrize("kind", ["mysql", "postgresql", "sqlite"])
def test_create_schema_head_fills_camaps_migrations(db_factory, tmp_path, kind):
    f = db_factory(kind)
    src, tgt = make_source(f, seed=2), f.new("tgt")
    s = settings_for(src, tgt, tmp_path)
    api.create_schema(s, "head")
    assert _migrations(tgt) == EXPECTED
    assert api.migrate(s).ok  # bascule's load leaves them as they are
    assert _migrations(tgt) == EXPECTED
    # the next migration Camap records gets the next id (the sequence follows)
    execute(tgt, 'INSERT INTO migrations ("timestamp", name) VALUES (1800000000000, '
                 "'next1800000000000')")
    assert _migrations(tgt)[-1][0] == len(CAMAP) + 1


@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_create_schema_2023_has_no_migrations_table(db_factory, tmp_path, kind):
    f = db_factory(kind)
    tgt = f.new("tgt")
    api.create_schema(settings_for(None, tgt, tmp_path), "2023")
    assert "migrations" not in table_names(tgt)


def test_seed_camap_head_writes_the_same_names(sqlite_dbs):
    url = sqlite_dbs.new("seed")
    generate(url, kind="camap", shape="head", scale=0.002, seed=3, progress=False)
    assert _migrations(url) == EXPECTED
