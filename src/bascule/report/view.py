"""What a report shows a person, computed once from its model: the summary in words, the header,
the groups, the per-table bars, the notes with their examples, the differences, the producers
affected, the timings. The HTML, the Markdown and the terminal all render this same view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bascule.report import models as m

KINDS = ("insert", "update", "delete", "unchanged")
#: How many examples of a note a report lists, and how many changes the summary names.
SUMMARY_ITEMS = 6


@dataclass
class Bar:
    """One table's rows by kind, with the width of each kind in % of the table's rows."""

    label: str
    counts: dict[str, int]
    widths: dict[str, float] = field(default_factory=dict)
    extra: list[int] = field(default_factory=list)  # the values of View.bar_extra

    @classmethod
    def of(cls, label: str, counts: dict[str, int], kinds=KINDS, extra=()) -> "Bar":
        total = sum(counts.get(k, 0) for k in kinds) or 1
        return cls(label, {k: counts.get(k, 0) for k in kinds},
                   {k: round(100 * counts.get(k, 0) / total, 2) for k in kinds}, list(extra))


@dataclass
class Section:
    """A titled table: a header and rows of cells (already text)."""

    title: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""


@dataclass
class View:
    kind: str  # plan | migrate | verify | rollback
    title: str
    status: str
    summary: str  # in words, first
    meta: list[tuple[str, str]]
    settings: list[tuple[str, str]]
    bar_kinds: list[tuple[str, str]] = field(default_factory=list)  # (kind, its column label)
    bar_extra: list[str] = field(default_factory=list)  # more columns of the per-table table
    bars: list[Bar] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    lines: list[tuple[str, list[str]]] = field(default_factory=list)  # titled lists of lines
    timings: list[tuple[str, float, float]] = field(default_factory=list)  # phase, s, % of max


def n(x: int) -> str:
    return f"{x:,}"


def plural(x: int, word: str, many: str | None = None) -> str:
    return f"{n(x)} {word if x == 1 else (many or word + 's')}"


def delete_label(r: m.RunReportModel) -> str:
    """What the delete column means in this run: removed, or kept in the target."""
    if r.prune:
        return "deleted in source, to remove" if r.dry_run else "deleted in source, removed"
    return "deleted in source, kept (--prune removes)"


def _when(d) -> str:
    return d.isoformat() if d is not None else "—"


def _meta(r: m.ReportBase) -> list[tuple[str, str]]:
    out = [("status", r.status), ("bascule", r.bascule_version), ("source name", r.source_name)]
    if r.source is not None:
        out.append(("source", _endpoint(r.source)))
    out.append(("target", _endpoint(r.target)))
    out += [("operator", r.operator), ("started", _when(r.started_at)),
            ("ended", _when(r.ended_at)), ("duration", f"{r.seconds:,.1f} s")]
    if r.run_id is not None:
        out.append(("run id", str(r.run_id)))
    return out


def _endpoint(e: m.Endpoint) -> str:
    what = " ".join(x for x in (e.backend, (e.kind or "").capitalize() or None,
                                f"shape {e.shape}" if e.shape else None) if x)
    return f"{e.url or '—'}" + (f" ({what})" if what else "")


def _settings(r: m.ReportBase) -> list[tuple[str, str]]:
    return [(k, "—" if v in (None, [], "") else
             ", ".join(map(str, v)) if isinstance(v, list) else str(v))
            for k, v in r.settings.items()]


def _timings(t: dict[str, float]) -> list[tuple[str, float, float]]:
    top = max(t.values(), default=0) or 1
    return [(k, v, round(100 * v / top, 2)) for k, v in sorted(t.items(), key=lambda kv: -kv[1])]


def build(r: m.ReportBase) -> View:
    """The view of any report model."""
    if isinstance(r, m.RunReportModel):
        return run_view(r)
    if isinstance(r, m.VerifyReportModel):
        return verify_view(r)
    if isinstance(r, m.RollbackReportModel):
        return rollback_view(r)
    raise TypeError(type(r))


# -- plan / migrate -------------------------------------------------------------------------


def _written(c: m.Counts) -> int:
    return c.insert + c.update + c.delete


def run_summary(r: m.RunReportModel) -> str:
    """"2 of 30 groups would change: 2 Product updates, 1 UserOrder deleted in the source
    (kept: --prune removes it); 28 unchanged; 0 failures"."""
    done = [g for g in r.groups if g.status != "failed"]
    failed = len(r.groups) - len(done)
    total = len(r.groups) + len(r.unchanged_groups)
    changed = sum(1 for g in done if any(_written(c) for c in g.tables.values()))
    verb = "would change" if r.dry_run else "changed"
    items: list[tuple[int, str]] = []
    gone = ("to remove" if r.dry_run else "removed") if r.prune else "kept: --prune removes"
    for t, c in r.totals.items():
        if c.insert:
            items.append((c.insert, f"{plural(c.insert, t + ' insert')}"))
        if c.update:
            items.append((c.update, f"{plural(c.update, t + ' update')}"))
        if c.delete:
            items.append((c.delete, f"{n(c.delete)} {t} deleted in the source ({gone})"))
    items.sort(key=lambda x: -x[0])
    what = ", ".join(s for _, s in items[:SUMMARY_ITEMS])
    if len(items) > SUMMARY_ITEMS:
        what += f" and {len(items) - SUMMARY_ITEMS} more"
    head = f"{changed} of {plural(total, 'group')} {verb}"
    head += f": {what}" if what else ""
    tail = [f"{total - changed - failed} unchanged", plural(failed, "failure")]
    dropped = sum(c.dropped for c in r.totals.values())
    if dropped:
        tail.append(f"{n(dropped)} rows not moved (see the repairs and drops)")
    if r.fk_check and r.fk_check.dangling:
        tail.append(plural(len(r.fk_check.dangling), "dangling foreign key"))
    if r.shared_failed:
        tail.append(plural(len(r.shared_failed), "shared row") + " could not move")
    if r.refused_values_count:
        tail.append(plural(r.refused_values_count, "value") + " the target will refuse")
    return head + "; " + "; ".join(tail)


def run_view(r: m.RunReportModel) -> View:
    title = "bascule plan (dry run: nothing written)" if r.dry_run else "bascule migrate"
    v = View(r.command, title, r.status, run_summary(r), _meta(r), _settings(r),
             timings=_timings(r.timings))
    if r.previous_run:
        p = r.previous_run
        v.meta.append(("previous run", f"#{p.id} {p.started_at} ({p.status}): the counts are "
                       "the diff since then (insert = added, update = changed, delete = "
                       "deleted in the source)"))
    else:
        v.meta.append(("previous run", "none: everything is new"))
    dlabel = delete_label(r)
    v.bar_kinds = [("insert", "insert"), ("update", "update"), ("delete", dlabel),
                   ("unchanged", "unchanged")]
    v.bar_extra = ["dropped"]
    v.bars = [Bar.of(t, c.model_dump(), extra=[c.dropped]) for t, c in r.totals.items()]
    v.sections.append(Section(
        "Groups", ["source id", "name", "target id", "status", "rows written", "insert",
                   "update", dlabel, "dropped", "seconds"],
        [_group_row(g) for g in r.groups],
        note=(f"{plural(len(r.unchanged_groups), 'more group')} unchanged since the last "
              "clean run (skipped): " + ", ".join(map(str, r.unchanged_groups[:50]))
              + (" …" if len(r.unchanged_groups) > 50 else ""))
        if r.unchanged_groups else ""))
    # a row per group and table written to: tens of thousands on a large run, so the
    # numbers are formatted here rather than through n()
    per_group = [[str(g.source_id), g.name, t, f"{c.insert:,}", f"{c.update:,}",
                  f"{c.delete:,}", f"{c.dropped:,}"]
                 for g in r.groups for t, c in g.tables.items()
                 if _written(c) or c.dropped]
    if per_group:
        v.sections.append(Section(
            "Changes per group and table", ["group", "name", "table", "insert", "update",
                                            dlabel, "dropped"], per_group))
    failed = [g for g in r.groups if g.status == "failed"]
    if failed:
        v.lines.append(("Failed groups (rolled back, named with table, id and column)",
                        [f"group {g.source_id} ({g.name}): {g.error}" for g in failed]))
    if r.refused_values:
        v.lines.append((
            f"Values the target will refuse ({n(r.refused_values_count)}): migrate fails "
            "their groups, named", [
                f"{x.table} source id {x.source_id}, column {x.column}"
                + (f" (group {x.group})" if x.group is not None else "") + f": {x.reason}"
                for x in r.refused_values[:200]]
            + ([f"... and {n(r.refused_values_count - 200)} more (see the JSON report)"]
               if r.refused_values_count > 200 else [])))
    _run_details(r, v)
    v.lines += _run_lines(r)
    return v


def _group_row(g: m.RunGroup) -> list[str]:
    """A group's line of the Groups table: its rows by kind over its tables (one pass)."""
    ins = upd = dele = dropped = 0
    for c in g.tables.values():
        ins += c.insert
        upd += c.update
        dele += c.delete
        dropped += c.dropped
    return [str(g.source_id), g.name, str(g.target_id or "—"), g.status,
            n(ins + upd + dele), n(ins), n(upd), n(dele), n(dropped),
            f"{g.seconds:.2f}" if g.seconds is not None else "—"]


def _run_details(r: m.RunReportModel, v: View) -> None:
    """The notes with their examples, the producers affected, the e-mail matches."""
    if r.notes:
        v.sections.append(Section(
            "Repairs, drops and matches", ["table", "column", "what", "reason", "count",
                                           "examples"],
            [[x.table, x.column or "", x.what, x.reason, n(x.count), examples(x)]
             for x in r.notes]))
    linked = [(g, lc) for g in r.groups for lc in g.linked_catalogs]
    if linked:
        v.sections.append(Section(
            "Producers affected (catalogs linked to a producer space, unlinked)",
            ["group", "group name", "catalog", "catalog name", "vendor", "producer users"],
            [[str(g.source_id), g.name, str(lc.catalog), lc.name, str(lc.vendor or "—"),
              ", ".join(map(str, lc.producer_users)) or "—"] for g, lc in linked]))
    if r.email_matches:
        v.sections.append(Section(
            f"Users matched by e-mail ({n(len(r.email_matches))})",
            ["source user", "target user", "e-mail"],
            [[str(x.source_user), str(x.target_user), x.email] for x in r.email_matches[:200]],
            note="the first 200" if len(r.email_matches) > 200 else ""))
    if r.email_conflicts:
        v.sections.append(Section(
            f"E-mail conflicts: not merged ({n(len(r.email_conflicts))})",
            ["source user", "email", "email2", "other user", "its field", "same address",
             "resolution"],
            [[str(x.source_user), x.email or "", x.email2 or "",
              str(x.target_user) + (f" (source user {x.other_source_user})"
                                    if x.other_source_user is not None else ""),
              x.target_field, x.same_as, x.resolution] for x in r.email_conflicts[:200]],
            note="the first 200" if len(r.email_conflicts) > 200 else ""))


def examples(x: m.Note) -> str:
    """A note's examples, labelled: "id 12 (value: 0000-00-00)"."""
    out = []
    for e in x.examples:
        sid = e.source_id
        key = ("key " + ",".join(map(str, sid))) if isinstance(sid, list) else f"id {sid}"
        out.append(key + (f" ({value_label(x)}: {e.value})" if e.value is not None else ""))
    return "; ".join(out)


def value_label(x: m.Note) -> str:
    """What an example's value is, by the note's action."""
    if x.action in ("nulled", "dropped_ref") or (x.action == "dropped_row" and
                                                  "does not move" in x.reason):
        return f"{x.column} was"
    return {"zero_date": "value was", "truncated": "value was", "flag_cleared": "was",
            "right_granted": "catalogs", "malformed": "value"}.get(x.action, "value")


def _run_lines(r: m.RunReportModel) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    after: list[str] = []
    if r.indexes:
        ix = r.indexes
        after.append(f"secondary indexes built after the data: {ix.get('dropped')} dropped, "
                     f"{ix.get('restored')} built again in {ix.get('seconds')} s")
        for f in ix.get("failed") or ():
            after.append(f"index {f['index']} on {f['table']} could not be built again: "
                         f"{f['error']} (kept in bascule_index; the next run tries again)")
    if r.fk_check:
        after.append(f"foreign keys checked after the load: {n(r.fk_check.checked)}, "
                     f"{len(r.fk_check.dangling)} dangling")
        for b in r.fk_check.dangling:
            after.append(f"dangling foreign key: {b.table}.{','.join(b.columns)} -> {b.parent}: "
                         f"{n(b.rows)} rows point at nothing")
    ch = r.changes or {}
    if ch.get("rows_checksummed"):
        after.append(f"source checksums: {n(ch['rows_checksummed'])} rows in "
                     f"{n(ch.get('chunks', 0))} chunks; " + (
                         f"{n(sum(ch.get('changed_chunks', {}).values()))} chunks changed since "
                         f"the last clean run, {ch.get('groups_changed')} groups affected"
                         + (f"; {ch['tables_unchanged']} tables unchanged (their whole-table "
                            "checksum), not checksummed by chunks again"
                            if ch.get("tables_unchanged") else "")
                         if ch.get("compared") else f"every group moved ({ch.get('why_not')})"))
    if after:
        out.append(("Checksums, indexes and foreign keys", after))
    for s in r.shared_failed:
        out.append(("Shared rows that could not move", [f"{s.table} id {s.id}: {s.error}"]))
    if r.vanished_groups:
        out.append(("Groups moved earlier that are no longer AMAP groups of the source",
                    [f"{g.source_id} {g.name or ''} (target {g.target_id})"
                     for g in r.vanished_groups]))
    src = r.source
    odd = []
    if src and src.mojibake_columns:
        odd.append("double-encoded text columns repaired: " + ", ".join(src.mojibake_columns))
    if src and src.ignored_columns:
        odd.append("source columns ignored (legacy): " + "; ".join(
            f"{t}: {', '.join(cs)}" for t, cs in sorted(src.ignored_columns.items())))
    if src and src.missing_tables:
        odd.append("optional source tables absent: " + ", ".join(src.missing_tables))
    if odd:
        out.append(("The source", odd))
    return out


# -- verify ---------------------------------------------------------------------------------


def verify_summary(r: m.VerifyReportModel) -> str:
    c = r.checked
    what = (f"{plural(c.groups, 'group')} compared ({plural(c.tables, 'table')}, "
            f"{n(c.rows)} rows; {c.scope})")
    if r.status == "done":
        return (f"OK: {what}: no difference; {n(c.foreign_keys)} foreign keys resolve; "
                f"{c.users}")
    if r.unproven:
        ids = ", ".join(f"{g.source_id} ({g.status})" for g in r.unproven[:SUMMARY_ITEMS])
        more = ", ..." if len(r.unproven) > SUMMARY_ITEMS else ""
        diffs = (f"; {plural(len(r.differences), 'difference')} listed" if r.differences
                 else "")
        return (f"NOT PROVEN: {len(r.unproven)} of {plural(c.selected, 'selected group')} "
                f"not proven, not compared: {ids}{more}; run "
                f"{_action([g.source_id for g in r.unproven])}, then bascule verify{diffs}; "
                f"{what}")
    by: dict[str, int] = {}
    for t, v in r.tables.items():
        if v.differences:
            by[t] = v.differences
    fk = sum(1 for d in r.differences if d.kind in ("fk", "user") or d.table not in r.tables)
    total = sum(by.values()) + fk
    parts = [f"{n(k)} in {t}" for t, k in sorted(by.items(), key=lambda x: -x[1])]
    parts += [f"{fk} foreign-key, user or group problems"] if fk else []
    return (f"{plural(total, 'difference')} found: " + ", ".join(parts[:SUMMARY_ITEMS])
            + f"; {what}")


def verify_view(r: m.VerifyReportModel) -> View:
    v = View("verify", "bascule verify", r.status, verify_summary(r), _meta(r), _settings(r),
             timings=_timings(r.timings))
    c = r.checked
    v.meta.append(("checked", f"{plural(c.groups, 'group')}, {plural(c.tables, 'table')}, "
                   f"{n(c.rows)} source rows against the target's (every mapped column), "
                   f"{n(c.foreign_keys)} foreign keys, {c.users}; scope: {c.scope}"))
    v.bar_kinds = [("same", "same"), ("differences", "differences")]
    v.bar_extra = ["source rows", "target rows", "chunks"]
    v.bars = [Bar.of(t, {"same": max(x.source - x.differences, 0),
                         "differences": x.differences}, ("same", "differences"),
                     [x.source, x.target, x.chunks])
              for t, x in r.tables.items()]
    if r.differences:
        v.sections.append(Section("Differences", ["kind", "table", "source id", "target id",
                                                  "column", "detail"],
                                  [[d.kind, d.table, _s(d.source_id), _s(d.target_id),
                                    d.column or "", d.detail] for d in r.differences]))
    if r.unproven:
        v.sections.append(Section("Not proven", ["source id", "name", "target id", "state",
                                                 "run", "what to run"],
                                  [[str(g.source_id), g.name, _s(g.target_id), g.detail,
                                    _s(g.run_id), g.action] for g in r.unproven]))
    v.sections.append(Section("Groups", ["source id", "name", "target id", "status"],
                              [[str(g.source_id), g.name, str(g.target_id or "—"), g.status]
                               for g in r.groups]
                              + [[str(g.source_id), g.name, _s(g.target_id), "not proven"]
                                 for g in r.unproven]))
    warn = []
    if r.indexes_missing:
        warn.append("secondary indexes still missing (dropped by a migrate run that did not "
                    "end; the next `bascule migrate` builds them): "
                    + ", ".join(r.indexes_missing))
    if r.vanished_groups:
        warn.append("moved groups that are shop-mode groups in the source now, not compared: "
                    + ", ".join(map(str, r.vanished_groups)))
    if warn:
        v.lines.append(("Warnings", warn))
    return v


def _action(ids: list[int]) -> str:
    if len(ids) > 10:
        return "bascule migrate"
    return "bascule migrate " + " ".join(f"--group {i}" for i in ids)


def _s(x: Any) -> str:
    return "—" if x is None else str(x)


# -- rollback -------------------------------------------------------------------------------


def rollback_summary(r: m.RollbackReportModel) -> str:
    by: dict[str, int] = {}
    for g in r.groups:
        by[g.status] = by.get(g.status, 0) + 1
    gone = [g for g in r.groups if g.status in ("removed", "would remove")]
    rows = sum(sum(g.rows.values()) for g in gone)
    shared = sum(sum(g.shared.values()) for g in gone)
    verb = "would be removed" if r.dry_run else "removed"
    head = (f"{len(gone)} of {plural(len(r.groups), 'group')} {verb} ({n(rows)} rows, of which "
            f"{n(shared)} shared rows)")
    rest = [f"{k} {s}" for s, k in sorted(by.items()) if s not in ("removed", "would remove")]
    return head + ("; " + "; ".join(rest) if rest else "; nothing refused")


def rollback_view(r: m.RollbackReportModel) -> View:
    title = "bascule rollback" + (" (dry run: nothing written)" if r.dry_run else "")
    v = View("rollback", title, r.status, rollback_summary(r), _meta(r), _settings(r),
             timings=_timings(r.timings))
    sel = r.selection
    v.meta.append(("selection", ", ".join(
        x for x in (("groups " + ", ".join(map(str, sel.get("groups") or []))) if sel.get("groups")
                    else "", f"run {sel['run']}" if sel.get("run") is not None else "") if x)))
    if r.save:
        v.meta.append(("rows removed saved to", r.save))
        v.lines.append(("Saved", [f"rows removed saved to: {r.save}"]))
    verb = "would remove" if r.dry_run else "removed"
    v.sections.append(Section(
        "Groups", ["source id", "target id", "name", "status", f"rows {verb}", "shared rows",
                   "shared kept", "changed", "added"],
        [[str(g.source_id), str(g.target_id or "—"), g.name, g.status, n(sum(g.rows.values())),
          n(sum(g.shared.values())), n(g.kept_count), n(g.changed_count), n(g.added_count)]
         for g in r.groups]))
    tables: dict[str, int] = {}
    for g in r.groups:
        for t, k in g.rows.items():
            tables[t] = tables.get(t, 0) + k
    v.bar_kinds = [("rows", f"rows {verb}")]
    v.bars = [Bar.of(t, {"rows": k}, ("rows",)) for t, k in sorted(tables.items())]
    for g in r.groups:
        lines = [f"changed: {c['table']} id {c['id']}"
                 + (f" column {c['column']}" if c.get("column") else "") + f": {c['detail']}"
                 for c in g.changed]
        lines += [f"added: {a['table']} id {a['id']} references {a['parent']} "
                  f"{a['parent_id']} ({a['column']}): written since the migrate"
                  for a in g.added]
        lines = ([g.note] if g.note else []) + lines
        lines += [f"kept: {k['table']} {k['id']}: {k['reason']}" for k in g.kept[:10]]
        if g.kept_count > 10:
            lines.append(f"... {g.kept_count - 10} more shared rows kept (see the JSON report)")
        if g.error:
            lines.append(g.error)
        if g.status == "refused":
            lines.append("refused; nothing removed (--force removes these rows too, after "
                         "saving them)")
        if g.status == "absent":
            lines.append("not in the id map (rolled back already)")
        if lines:
            v.lines.append((f"Group {g.source_id} {g.name}".rstrip(), lines))
    return v
