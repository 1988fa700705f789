"""The reports as typed values: what ``plan``, ``migrate``, ``verify`` and ``rollback`` write as
JSON, and what the Markdown, HTML and terminal renderings read.

One spelling per meaning in every report: ``status`` (never ``ok``), ``groups`` (a list of groups,
each with ``source_id``, ``name``, ``target_id``, ``status``), ``started_at`` / ``ended_at``
(ISO 8601 with their UTC offset), ``source`` / ``target`` (the URL masked, the kind and shape
found), ``settings`` (passwords masked), ``timings`` (seconds per phase). ``schema_version`` goes
up when a key changes meaning or goes away (adding a key does not); the JSON Schema of each
report is in ``docs/schema/`` (``python -m bascule.report.schema docs/schema`` writes it again,
and a test fails when it drifts).

Names that people read (groups, catalogs, vendors, users) are repaired text
(``transform.clean.display_text``) by the time they are in a model.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import socket
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bascule import __version__

#: Goes up when a key of a report changes meaning or goes away.
SCHEMA_VERSION = 1

#: The statuses of a report as a whole (as in ``bascule_run.status``).
ReportStatus = Literal["running", "done", "failed", "interrupted"]


def now() -> dt.datetime:
    """This instant, local time with its UTC offset, to the second."""
    return dt.datetime.now().astimezone().replace(microsecond=0)


def operator() -> str:
    """Who runs bascule: user@host."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in a container
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


#: The actions of the notes, in words.
ACTION_WORDS = {
    "repaired": "repaired",
    "zero_date": "zero date fixed",
    "defaulted": "default filled",
    "nulled": "reference nulled",
    "dropped_ref": "id dropped from list",
    "dropped_row": "row dropped",
    "malformed": "malformed value",
    "flag_cleared": "flag cleared",
    "truncated": "truncated",
    "ignored": "ignored",
    "right_granted": "right granted",
    "matched": "matched",
}


class Model(BaseModel):
    # an infinite or NaN float as json.dumps writes it, not null: the report files are
    # pydantic's JSON (report.files.report_json)
    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")


class Endpoint(Model):
    """A database of the run: where (the URL, password masked) and what was found there."""

    url: str | None = Field(None, description="SQLAlchemy URL, password masked")
    backend: str | None = Field(None, description="mysql, postgresql or sqlite")
    kind: str | None = Field(None, description="cagette or camap")
    shape: str | None = Field(None, description="the shape found: 2021, 2023, camap-2023, "
                              "camap-head (source); 2023 or head (a Camap target)")
    shape_reasons: list[str] = Field(default_factory=list, description="the evidence of the shape")
    mojibake_columns: list[str] = Field(default_factory=list,
                                        description="double-encoded text columns, repaired")
    ignored_columns: dict[str, list[str]] = Field(default_factory=dict,
                                                  description="legacy columns present, ignored")
    missing_tables: list[str] = Field(default_factory=list,
                                      description="optional tables absent from the source")
    producer_tables: list[str] = Field(default_factory=list,
                                       description="producer-space tables present (read only)")
    has_bookkeeping: bool | None = Field(None, description="bascule's own tables exist there")


class ReportBase(Model):
    """What every report says first: what ran, who ran it, when, against what, with what."""

    schema_version: int = Field(SCHEMA_VERSION, description="goes up when a key changes meaning")
    command: Literal["plan", "migrate", "verify", "rollback"]
    status: ReportStatus = Field(description="done, failed, running or interrupted")
    bascule_version: str = __version__
    source_name: str = Field(description="the name of the source instance (setting "
                             "source_name when it exists, else old_host)")
    operator: str = Field(description="user@host that ran the command")
    started_at: dt.datetime = Field(description="ISO 8601 with the UTC offset")
    ended_at: dt.datetime | None = Field(None, description="ISO 8601 with the UTC offset")
    seconds: float = 0.0
    run_id: int | None = Field(None, description="the run's id in bascule_run (migrate, "
                               "rollback); None when nothing was written")
    source: Endpoint | None = None
    target: Endpoint
    settings: dict[str, Any] = Field(description="every setting of the run, passwords masked")
    timings: dict[str, float] = Field(default_factory=dict, description="seconds per phase")


# -- plan and migrate -----------------------------------------------------------------------


class Counts(Model):
    """Rows of one table: inserted, updated, deleted in the source (removed with --prune, else
    kept), unchanged, dropped (not moved, with a reason in the notes)."""

    insert: int = 0
    update: int = 0
    delete: int = 0
    unchanged: int = 0
    dropped: int = 0


class LinkedCatalog(Model):
    catalog: int = Field(description="source catalog id")
    name: str
    vendor: int | None = Field(None, description="source vendor id")
    pcatalog: int | None = Field(None, description="the producer-space catalog it was linked to")
    producer_users: list[int] = Field(default_factory=list, description="source user ids")


class GroupEntry(Model):
    """A group in any report: its source id, its (repaired) name, its id in the target, what
    happened to it."""

    source_id: int
    name: str
    target_id: int | None = None
    status: str


class RunGroup(GroupEntry):
    status: str = Field(description="planned, done or failed")
    seconds: float | None = Field(None, description="its share of its unit's read, build and "
                                  "write time")
    tables: dict[str, Counts] = Field(default_factory=dict)
    linked_catalogs: list[LinkedCatalog] = Field(default_factory=list)
    error: str | None = None


class Example(Model):
    """One row a note is about: its source key, and the value concerned when there is one."""

    source_id: int | str | list[Any] | None = Field(description="the row's source id (a "
                                                    "composite key as a list)")
    value: Any = Field(None, description="the value concerned (the id that does not move, the "
                       "zero date, the text cut...)")


class Note(Model):
    table: str
    column: str | None = None
    action: str = Field(description="repaired, zero_date, defaulted, nulled, dropped_ref, "
                        "dropped_row, malformed, flag_cleared, truncated, ignored, "
                        "right_granted, matched")
    what: str = Field(description="the action in words")
    reason: str
    count: int
    examples: list[Example] = Field(default_factory=list)


class EmailMatch(Model):
    source_user: int
    target_user: int
    email: str


class EmailConflict(Model):
    """A source user whose email2 is another user's email, or whose email is another user's
    email2: never merged (README, "Users: matched by e-mail, never merged")."""

    source_user: int
    email: str | None = None
    email2: str | None = None
    target_user: int = Field(description="the other user (in the target, or moved by this run)")
    target_field: Literal["email", "email2"] = Field(description="which of its e-mails is the "
                                                     "same address")
    same_as: str = Field(description="the address they share (case folded)")
    other_source_user: int | None = Field(None, description="the source user that the other "
                                          "user is, when this source moved or matched it")
    resolution: str = Field(description="what became of the source user")


class GroupRef(Model):
    source_id: int
    name: str | None = None
    target_id: int | None = None


class SharedFailure(Model):
    table: str
    id: int
    error: str


class Dangling(Model):
    table: str
    columns: list[str]
    parent: str
    rows: int


class FkCheck(Model):
    checked: int
    dangling: list[Dangling] = Field(default_factory=list)


class PreviousRun(Model):
    model_config = ConfigDict(extra="allow")
    id: int
    started_at: str | None = None
    ended_at: str | None = None
    status: str | None = None


class RefusedValue(Model):
    """A value of a row to write that the target refuses (``plan.values``): plan lists them;
    migrate fails their groups, named with the first."""

    table: str
    source_id: int | str | None = Field(description="the row's id in the source")
    column: str
    group: int | None = Field(None, description="the source group it belongs to (None: a user, "
                              "vendor or file, or a row of a composite key)")
    kind: str = Field(description="nul: a NUL character into PostgreSQL text; 4byte: a "
                      "character beyond U+FFFF into a utf8mb3 column")
    reason: str


class RunReportModel(ReportBase):
    """``bascule plan`` (dry_run) and ``bascule migrate``."""

    command: Literal["plan", "migrate"]
    dry_run: bool
    prune: bool = Field(False, description="rows deleted in the source are removed (--prune); "
                        "without it they are kept in the target and only counted")
    workers: int = 1
    units: int = 0
    rows_read: int = 0
    previous_run: PreviousRun | None = None
    totals: dict[str, Counts] = Field(default_factory=dict, description="per table, every "
                                      "group that did not fail and the shared rows")
    shared: dict[str, Counts] = Field(default_factory=dict,
                                      description="users, vendors and files")
    groups: list[RunGroup] = Field(default_factory=list)
    unchanged_groups: list[int] = Field(default_factory=list, description="skipped: their "
                                        "source rows did not change since the last clean run")
    vanished_groups: list[GroupRef] = Field(default_factory=list, description="moved earlier, "
                                            "no longer AMAP groups of the source")
    notes: list[Note] = Field(default_factory=list, description="repairs, drops and matches")
    email_matches: list[EmailMatch] = Field(default_factory=list)
    email_conflicts: list[EmailConflict] = Field(default_factory=list, description="e-mails "
                                                 "that two users share through an email2: not "
                                                 "merged")
    shared_failed: list[SharedFailure] = Field(default_factory=list)
    refused_values: list[RefusedValue] = Field(default_factory=list, description="plan: "
                                               "values the target will refuse (the first 1000)")
    refused_values_count: int = 0
    changes: dict[str, Any] = Field(default_factory=dict,
                                    description="what the source's checksums found")
    fk_check: FkCheck | None = None
    indexes: dict[str, Any] | None = None
    sequences: dict[str, int] = Field(default_factory=dict)


# -- verify ---------------------------------------------------------------------------------


class VerifyTable(Model):
    source: int = Field(description="rows the source says the target must hold")
    target: int = Field(description="of them, rows found in the target")
    chunks: int = 0
    differences: int = 0


class Difference(Model):
    kind: str = Field(description="missing, extra, changed, count, fk or user")
    table: str
    source_id: Any = None
    target_id: Any = None
    column: str | None = None
    detail: str


class VerifyGroup(GroupEntry):
    status: str = Field(description="compared, or vanished (a shop-mode group in the source "
                        "now: not compared)")


class UnprovenGroup(GroupEntry):
    """A selected group verify cannot vouch for: not compared, and the verify fails."""

    status: str = Field(description="never moved, failed (its last move), or unfinished run "
                        "(moved by a run that did not end)")
    run_id: int | None = Field(None, description="the run that moved it last, or failed to")
    run_status: str | None = Field(None, description="that run's status in bascule_run")
    error: str | None = Field(None, description="why its last move failed")
    detail: str = Field(description="the state in words")
    action: str = Field(description="what to run to move it, e.g. bascule migrate --group 12")


class Checked(Model):
    """What verify compared, in words and figures."""

    groups: int = Field(description="groups compared")
    tables: int = Field(description="tables compared")
    rows: int = Field(description="source rows compared with the target's")
    foreign_keys: int = Field(description="foreign keys of the target checked")
    users: str = "no moved user has id 1 or site rights"
    scope: str = Field(description="what was compared: every moved group, or --changed")
    selected: int = Field(0, description="groups the selection picks in the source")
    unproven: int = Field(0, description="of them, groups not proven (not compared)")


class VerifyReportModel(ReportBase):
    command: Literal["verify"] = "verify"
    checked: Checked
    groups: list[VerifyGroup] = Field(default_factory=list)
    tables: dict[str, VerifyTable] = Field(default_factory=dict)
    differences: list[Difference] = Field(default_factory=list)
    fk_checked: int = 0
    workers: int = 1
    indexes_missing: list[str] = Field(default_factory=list)
    vanished_groups: list[int] = Field(default_factory=list)
    scope: dict[str, Any] = Field(default_factory=dict)
    unproven: list[UnprovenGroup] = Field(default_factory=list, description="selected groups "
                                          "not proven: never moved, failed, or moved by a run "
                                          "that did not end (exit 1)")


# -- rollback -------------------------------------------------------------------------------


class RollbackGroup(GroupEntry):
    status: str = Field(description="removed, would remove (dry run), refused, skipped, absent "
                        "(not in the id map) or failed")
    rows: dict[str, int] = Field(default_factory=dict, description="rows removed (or to "
                                 "remove) per table")
    shared: dict[str, int] = Field(default_factory=dict, description="of which shared rows")
    kept: list[dict[str, Any]] = Field(default_factory=list)
    kept_count: int = 0
    changed: list[dict[str, Any]] = Field(default_factory=list)
    changed_count: int = 0
    added: list[dict[str, Any]] = Field(default_factory=list)
    added_count: int = 0
    missing: dict[str, int] = Field(default_factory=dict)
    error: str | None = None
    note: str | None = Field(None, description="rollback --run: the later runs that moved the "
                             "group again, and that it is rolled back as it is now")


class RollbackReportModel(ReportBase):
    command: Literal["rollback"] = "rollback"
    dry_run: bool
    force: bool
    selection: dict[str, Any]
    save: str | None = Field(None, description="the JSON file of the rows removed (--force)")
    groups: list[RollbackGroup] = Field(default_factory=list)


#: Every report model, by the name of its JSON Schema file in docs/schema/.
REPORTS: dict[str, type[ReportBase]] = {
    "run-report": RunReportModel,
    "verify-report": VerifyReportModel,
    "rollback-report": RollbackReportModel,
}


def source_name(settings: dict[str, Any]) -> str:
    """The source's name in a report: the ``source_name`` setting when there is one, else the
    old host."""
    return settings.get("source_name") or settings.get("old_host") or ""


def endpoint(url: str | None, info: dict[str, Any] | None) -> Endpoint:
    """An Endpoint from a masked URL and an ``as_dict()`` of SourceInfo or TargetInfo."""
    known = set(Endpoint.model_fields)
    return Endpoint(url=url, **{k: v for k, v in (info or {}).items() if k in known})


def load_report(data: dict[str, Any]) -> ReportBase:
    """A saved report (its JSON as a dict) as its model."""
    cmd = data.get("command")
    model = {"plan": RunReportModel, "migrate": RunReportModel, "verify": VerifyReportModel,
             "rollback": RollbackReportModel}.get(cmd)
    if model is None:
        raise ValueError(f"not a bascule report (command {cmd!r})")
    return model.model_validate(data)
