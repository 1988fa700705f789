"""The reports as typed models: their JSON Schema in docs/schema/ is what the models say, the same
key means the same thing in every report, a saved report reads back, names are repaired, and two
runs in the same second do not write over each other's report files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from bascule.plan.changeset import GroupResult, TableCounts
from bascule.report import load_report, to_html, to_markdown, write_reports
from bascule.report.files import claim_base
from bascule.report.models import REPORTS, RunReportModel, now
from bascule.report.schema import schema_text
from bascule.run.compare import VerifyReport
from bascule.run.report import RunReport
from bascule.run.rollback import GroupRollback, RollbackReport
from bascule.transform.clean import display_text

DOCS = Path(__file__).resolve().parents[1] / "docs" / "schema"
SETTINGS = {"source_url": "mysql+pymysql://reader:***@db1/cagette",
            "target_url": "mysql+pymysql://camap:***@db2/camap", "old_host": "app.cagette.net"}


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_the_published_json_schema_is_the_models(name):
    """docs/schema/<name>.schema.json is generated from the model: a change to a model without
    `python -m bascule.report.schema docs/schema` fails here."""
    path = DOCS / f"{name}.schema.json"
    assert path.exists(), f"missing {path}: run python -m bascule.report.schema docs/schema"
    assert path.read_text(encoding="utf-8") == schema_text(name), \
        f"{path} drifted from the model: run python -m bascule.report.schema docs/schema"


def _run_report() -> RunReport:
    r = RunReport(command="migrate", dry_run=False, started_at=now(),
                  source={"backend": "mysql", "kind": "cagette", "shape": "2023"},
                  target={"backend": "mysql", "shape": "head"}, settings=dict(SETTINGS))
    g = GroupResult(12, "Ruche des CÃ´teaux", 501, "done", seconds=1.5)
    g.tables["Product"] = TableCounts(insert=3, update=2)
    g.tables["UserOrder"] = TableCounts(delete=1, unchanged=40)
    g.linked_catalogs.append({"catalog": 7, "name": "LÃ©gumes", "vendor": 3, "pcatalog": 9,
                              "producer_users": [4]})
    r.groups.append(g)
    r.groups.append(GroupResult(13, "AMAP du Port", None, "failed",
                                error="Product id 5 column price: out of range"))
    r.unchanged_groups = [14, 15]
    r.notes = [{"table": "Distribution", "column": "date", "action": "zero_date",
                "reason": "zero date", "count": 2, "examples": [(81, "0000-00-00"), (82,)]},
               {"table": "UserGroup", "column": "rights", "action": "right_granted",
                "reason": "producer", "count": 1, "examples": [((4, 12), [7])]}]
    r.status, r.ended_at, r.run_id = "failed", now(), 3
    return r


def _verify_report() -> VerifyReport:
    v = VerifyReport(started_at=now(), settings=dict(SETTINGS), source={"backend": "mysql"},
                     target={"backend": "mysql"},
                     groups=[{"source_id": 12, "name": "Ruche des CÃ´teaux", "target_id": 501,
                              "status": "compared"}])
    v.tables["Product"].update(source=5, target=5, chunks=1)
    v.ended_at = now()
    return v


def _rollback_report() -> RollbackReport:
    return RollbackReport(started_at=now(), dry_run=True, force=False,
                          target={"backend": "mysql", "shape": "head"},
                          selection={"groups": [12], "run": None}, settings=dict(SETTINGS),
                          groups=[GroupRollback(12, 501, "Ruche des CÃ´teaux", "would remove",
                                                rows={"Product": 5})], ended_at=now())


def test_every_report_says_the_same_things_with_the_same_keys():
    models = [_run_report().model(), _verify_report().model(), _rollback_report().model()]
    for m in models:
        d = m.model_dump(mode="json")
        assert "ok" not in d and d["status"] in ("done", "failed")
        assert d["schema_version"] >= 1 and d["bascule_version"]
        assert d["source_name"] == "app.cagette.net" and "@" in d["operator"]
        assert d["target"]["url"] == SETTINGS["target_url"]
        for k in ("started_at", "ended_at"):  # with their time zone
            assert dt.datetime.fromisoformat(d[k].replace("Z", "+00:00")).tzinfo is not None
        assert d["settings"]["source_url"].count("***") == 1
        for g in d["groups"]:
            assert {"source_id", "name", "target_id", "status"} <= set(g)
            assert g["name"] in ("Ruche des Côteaux", "AMAP du Port")  # repaired
        assert load_report(d) == m  # a saved report reads back as its model
    assert models[0].groups[0].linked_catalogs[0].name == "Légumes"


def test_examples_are_labelled_and_the_summary_says_what_changed():
    m = _run_report().model()
    ex = m.notes[0].examples
    assert [(e.source_id, e.value) for e in ex] == [(81, "0000-00-00"), (82, None)]
    assert m.notes[1].examples[0].source_id == [4, 12]
    md = to_markdown(m)
    assert "id 81 (value was: 0000-00-00); id 82" in md and "key 4,12" in md
    summary = md.split("\n")[2]
    assert summary == ("**1 of 4 groups changed: 3 Product inserts, 2 Product updates, "
                       "1 UserOrder deleted in the source (kept: --prune removes); "
                       "2 unchanged; 1 failure**")
    html = to_html(m)
    assert html.index("1 of 4 groups changed") < html.index("Per table")
    assert "Ruche des Côteaux" in html and "CÃ´" not in html
    assert "deleted in source, kept (--prune removes)" in html


def test_the_delete_column_says_removed_or_kept():
    r = _run_report()
    r.prune = True
    assert "deleted in source, removed" in to_markdown(r.model())
    r.dry_run, r.command = True, "plan"
    assert "deleted in source, to remove" in to_markdown(r.model())
    assert "(to remove)" in to_markdown(r.model())


def test_report_files_of_two_runs_in_the_same_second_do_not_collide(tmp_path):
    when = dt.datetime(2023, 3, 14, 3, 0, 0, tzinfo=dt.timezone.utc)
    a = claim_base(tmp_path, "migrate", when)
    b = claim_base(tmp_path, "migrate", when)
    assert a != b and a.name == "migrate-20230314-030000" and b.name.endswith("-2")
    m = _run_report().model().model_copy(update={"started_at": when})
    one = write_reports(m, tmp_path / "r")
    two = write_reports(m, tmp_path / "r")
    assert set(one.values()).isdisjoint(two.values())
    assert sorted(p.suffix for p in one.values()) == [".html", ".json", ".md"]
    assert json.loads(one["json"].read_text())["run_id"] == 3
    given = write_reports(m, tmp_path / "r", json_file=tmp_path / "mine.json")
    assert given["json"] == tmp_path / "mine.json" and given["html"].parent == tmp_path / "r"


def test_display_text_repairs_what_people_read():
    assert display_text("Ruche des CÃ´teaux") == "Ruche des Côteaux"
    assert display_text("NoÃ«l BÃ‰RANGER") == "Noël BÉRANGER"
    assert display_text("Ruche des Côteaux") == "Ruche des Côteaux"  # correct text unchanged
    assert display_text(None) == "" and display_text(12) == "12"


def test_the_models_refuse_unknown_keys():
    d = _run_report().model().model_dump(mode="json")
    d["ok"] = True
    with pytest.raises(ValueError):
        RunReportModel.model_validate(d)
