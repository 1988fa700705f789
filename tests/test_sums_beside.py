"""A parallel first run checksums the source beside its units (``run.changes.Beside``), on the
snapshot's spare connection: the checksums it keeps are exactly those a one-process run
computes at its end (the whole-table checksums asked after the units), a rerun finds nothing
changed, and a run that stops them leaves the connection free and keeps nothing."""

from __future__ import annotations

import json
import logging

import pytest

from bascule import api
from bascule.dbutil import make_engine
from bascule.extract.source import SourceReader, inspect_source
from bascule.load.chunks import WHOLE_KEY
from bascule.model.tables import MIGRATION
from bascule.run.changes import SourceChanges, complete, drop_beside, start_beside

from helpers import make_source, make_target, rows, settings_for


def _stored(url: str) -> list[tuple]:
    """The checksums a target keeps, whatever run stored them."""
    return rows(url, "SELECT table_name, part, n, chunks, counts, sums FROM bascule_chunk "
                     "ORDER BY table_name, part")


def _wholes(url: str) -> dict:
    """The whole-table checksums kept in the summary of the target's last run."""
    (summary,), = rows(url, "SELECT summary FROM bascule_run ORDER BY id DESC LIMIT 1")
    return json.loads(summary)[WHOLE_KEY]


@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_beside_the_units_same_as_at_the_end(db_factory, tmp_path, kind, caplog):
    src = make_source(db_factory("mysql"), dirty=True)
    one, many = make_target(db_factory(kind), "head"), make_target(db_factory(kind), "head")
    r1 = api.migrate(settings_for(src, one, tmp_path / "1", workers=1, batch_size=10))
    with caplog.at_level(logging.INFO, logger="bascule.run.changes"):
        r2 = api.migrate(settings_for(src, many, tmp_path / "2", workers=2, batch_size=10))
    assert r1.ok and r2.ok and r2.workers == 2
    assert any("beside the units" in m for m in caplog.messages), caplog.messages
    assert r2.changes["rows_checksummed"] == r1.changes["rows_checksummed"] > 0
    stored = _stored(many)
    assert stored and stored == _stored(one)
    # the whole-table checksums, asked after the units beside them, are the serial run's
    assert _wholes(many) == _wholes(one) and _wholes(one)["tables"]
    again = api.migrate(settings_for(src, many, tmp_path / "3", workers=2, batch_size=10))
    assert again.ok and again.changes["compared"]
    assert again.changes["groups_changed"] == 0
    assert again.changes["tables_unchanged"] == len(_wholes(one)["tables"])
    assert not again.groups and len(again.unchanged_groups) == len(r2.groups)


def test_stopped_checksums_keep_nothing_and_free_the_connection(db_factory):
    src = make_source(db_factory("mysql"))
    eng = make_engine(src)
    try:
        info = inspect_source(eng)
        with SourceReader(eng, info, snapshots=1) as reader:
            out = SourceChanges(deferred=True)
            start_beside(out, reader, MIGRATION, reader.snapshots)
            assert out.beside is not None
            drop_beside(out)
            assert out.beside is None and out.deferred and out.sums is None
            spare = reader.snapshots[0]
            assert spare.exec_driver_sql("SELECT 1").scalar() == 1  # free again
            # nothing started: the end of the run computes them as before
            complete(out, reader, MIGRATION)
            assert not out.deferred and out.rows() > 0
    finally:
        eng.dispose()


def test_no_spare_connection_waits_for_the_end(db_factory):
    src = make_source(db_factory("mysql"))
    eng = make_engine(src)
    try:
        with SourceReader(eng, inspect_source(eng)) as reader:
            out = SourceChanges(deferred=True)
            start_beside(out, reader, MIGRATION, reader.snapshots)  # none
            assert out.beside is None
    finally:
        eng.dispose()


def test_stopped_workers_snapshots_are_closed_without_a_word(db_factory):
    """A worker that was stopped (a failure, a signal) may have been killed in the middle of a
    result on the snapshot connection lent to it: the parent closes that connection without a
    word. A ROLLBACK there read the rest of that result and waited for ever (a migrate
    interrupted in its shared-row pass never ended). Workers that ended give theirs back."""
    from types import SimpleNamespace

    from bascule.run.context import lent_snapshots

    src = make_source(db_factory("mysql"))
    eng = make_engine(src)
    try:
        with SourceReader(eng, inspect_source(eng), snapshots=2) as reader:
            run = SimpleNamespace(reader=reader, lent=[])
            every = list(reader.snapshots)
            with lent_snapshots(run, 2):
                assert run.lent == every[:1] and reader.snapshots == every[1:]
            assert reader.snapshots == every  # the workers ended: given back
            with pytest.raises(KeyboardInterrupt), lent_snapshots(run, 2):
                lent = run.lent[0]
                raise KeyboardInterrupt
            assert lent.invalidated and run.lent == [] and reader.snapshots == every[1:]
            assert reader.snapshots[0].exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        eng.dispose()
