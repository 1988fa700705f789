"""The source is never written: a target that is the source's own database (however the URL
spells it) or a Cagette database is refused before anything is written, and the source's tables
are unchanged (checksums)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy.engine import make_url

from bascule import api
from bascule.errors import MigrationError, SettingsError

from helpers import make_source, make_target, settings_for, table_checksums


def _spellings(url: str, kind: str, tmp_path) -> list[str]:
    """Other URLs of the same database: localhost for 127.0.0.1, a symlink to a SQLite file."""
    u = make_url(url)
    if kind == "sqlite":
        link = tmp_path / "same-file.sqlite"
        os.symlink(u.database, link)
        return [url, f"sqlite:///{link}"]
    return [url, u.set(host="localhost").render_as_string(hide_password=False)]


@pytest.mark.parametrize("kind", ["mysql", "postgresql", "sqlite"])
def test_source_as_target_is_refused_and_left_unchanged(db_factory, tmp_path, kind):
    src = make_source(db_factory(kind), seed=5)
    before = table_checksums(src)
    for tgt in _spellings(src, kind, tmp_path):
        s = settings_for(src, tgt, tmp_path)
        for call in (api.migrate, api.plan, api.verify):
            with pytest.raises(SettingsError) as e:
                call(s)
            assert "source and target are the same database" in str(e.value)
        with pytest.raises(MigrationError):  # --create-schema touches no Cagette table
            api.create_schema(s, "head")
    assert table_checksums(src) == before  # not a row, not a bascule table


@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_two_databases_of_one_server_are_not_the_same(db_factory, tmp_path, kind):
    f = db_factory(kind)
    src = make_source(f, seed=5)
    tgt = make_target(f, "2023")
    assert api.migrate(settings_for(src, tgt, tmp_path)).ok


@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_a_cagette_target_is_refused(db_factory, tmp_path, kind):
    f = db_factory(kind)
    src = make_source(f, seed=5)
    other = make_source(f, seed=6)  # a second Cagette database given as the target
    before = table_checksums(other)
    s = settings_for(src, other, tmp_path)
    for call in (api.migrate, api.plan, api.verify):
        with pytest.raises(SettingsError) as e:
            call(s)
        assert "the target is a Cagette database" in str(e.value)
    with pytest.raises(SettingsError):
        api.rollback(s, groups=[1])
    assert table_checksums(other) == before
