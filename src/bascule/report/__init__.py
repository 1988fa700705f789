"""Reports of plan/migrate and verify: a rich terminal table, JSON, Markdown.

They render the reports' ``as_dict()`` (the JSON written next to them), so that a saved report
renders the same.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

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


def write_json(data: dict, path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")
    return p


def write_reports(kind: str, data: dict, report_dir: str | Path, *, json_file: str | None = None,
                  md_file: str | None = None, stdout: TextIO | None = None) -> list[Path]:
    """The report of ``kind`` (plan, migrate, verify) as JSON and Markdown: in ``json_file`` /
    ``md_file``, else ``<report_dir>/<kind>-<time>.json|.md``; ``json_file="-"``: the JSON goes
    to ``stdout`` instead. Returns the files written."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(report_dir)
    written = []
    if json_file == "-":
        assert stdout is not None
        stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    else:
        written.append(write_json(data, json_file or base / f"{kind}-{stamp}.json"))
    p = Path(md_file) if md_file else base / f"{kind}-{stamp}.md"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(verify_markdown(data) if kind == "verify" else run_markdown(data),
                 encoding="utf-8")
    written.append(p)
    return written


def _md_table(header: list[str], rows: Iterable[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        out.append("| " + " | ".join(str(x).replace("|", "\\|") for x in r) + " |")
    return out


# ---------------------------------------------------------------------------------------------
# describe


def _kind(d: dict) -> str:
    return "Camap" if d.get("kind") == "camap" else "Cagette"


def print_description(d: dict, console: Console) -> None:
    console.print(f"{_kind(d)} source, shape [bold]{d['shape']}[/] "
                  f"({'; '.join(d['shape_reasons'])}), {d['backend']}")
    if d.get("kind") == "camap":
        console.print(f"groups: {d['groups']['amap']:,} (every group of a Camap source moves)")
    else:
        console.print(f"groups: {d['groups']['amap']:,} AMAP mode (they move), "
                      f"{d['groups']['shop']:,} shop mode (they stay); "
                      f"{d['linked_catalogs']:,} catalogs linked to a producer space")
    t = Table(title="rows per table")
    t.add_column("table")
    t.add_column("rows", justify="right")
    for name, n in d["rows"].items():
        t.add_row(name, f"{n:,}")
    console.print(t)
    if d["ignored_columns"]:
        console.print("legacy columns present (ignored): " + "; ".join(
            f"{k}: {', '.join(v)}" for k, v in sorted(d["ignored_columns"].items())))


# ---------------------------------------------------------------------------------------------
# plan / migrate


def _run_header(d: dict) -> list[str]:
    """The summary lines at the top of a plan/migrate report."""
    title = "bascule plan (dry run: nothing written)" if d["dry_run"] else "bascule migrate"
    L = [f"# {title}", ""]
    L.append(f"- started: {d['started_at']}, {d['seconds']} s, status **{d['status']}**")
    s, t = d["source"], d["target"]
    L.append(f"- source: {s.get('backend')} {_kind(s)} shape **{s.get('shape')}** "
             f"({'; '.join(s.get('shape_reasons', []))})")
    L.append(f"- target: {t.get('backend')} Camap shape **{t.get('shape')}** "
             f"({'; '.join(t.get('shape_reasons', []))})")
    st = d["settings"]
    L.append(f"- settings: source `{st.get('source_url')}`, target `{st.get('target_url')}`, "
             f"id_strategy {st.get('id_strategy')}, keep_linked_stock "
             f"{st.get('keep_linked_stock')}")
    if d.get("previous_run"):
        pr = d["previous_run"]
        L.append(f"- previous run: #{pr['id']} {pr['started_at']} ({pr['status']}); the counts "
                 "below are the diff since then (insert = added, update = changed, delete = "
                 "deleted in the source)")
    else:
        L.append("- no previous run: everything is new")
    L += [f"- {x}" for x in _after_load_lines(d)]
    if s.get("mojibake_columns"):
        L.append(f"- double-encoded text columns repaired: {', '.join(s['mojibake_columns'])}")
    if s.get("ignored_columns"):
        L.append("- source columns ignored (legacy): " + "; ".join(
            f"{tb}: {', '.join(cs)}" for tb, cs in sorted(s["ignored_columns"].items())))
    if s.get("missing_tables"):
        L.append(f"- optional source tables absent: {', '.join(s['missing_tables'])}")
    return L


def run_markdown(d: dict) -> str:
    """Markdown of a plan/migrate report (the dict of RunReport.as_dict())."""
    L = _run_header(d)
    L += ["", "## Totals", ""]
    L += _md_table(["table", "insert", "update", "delete", "unchanged", "dropped"],
                   [[tb, c["insert"], c["update"], c["delete"], c["unchanged"], c["dropped"]]
                    for tb, c in d["totals"].items()])
    L += ["", "## Groups", ""]
    L += _md_table(["source id", "name", "target id", "status", "insert", "update", "delete",
                    "dropped", "linked catalogs"],
                   [[g["source_id"], g["name"], g["target_id"], g["status"],
                     sum(c["insert"] for c in g["tables"].values()),
                     sum(c["update"] for c in g["tables"].values()),
                     sum(c["delete"] for c in g["tables"].values()),
                     sum(c["dropped"] for c in g["tables"].values()),
                     len(g["linked_catalogs"])] for g in d["groups"]])
    failed = [g for g in d["groups"] if g["status"] == "failed"]
    if failed:
        L += ["", "## Failed groups (rolled back)", ""]
        for g in failed:
            L.append(f"- group {g['source_id']} {g['name']}: {g['error']}")
    linked = [(g, lc) for g in d["groups"] for lc in g["linked_catalogs"]]
    if linked:
        L += ["", "## Catalogs linked to a producer space (unlinked)", ""]
        L += _md_table(["group", "catalog", "name", "vendor", "producer users"],
                       [[g["source_id"], lc["catalog"], lc["name"], lc["vendor"],
                         ", ".join(map(str, lc["producer_users"]))] for g, lc in linked])
    if d["notes"]:
        L += ["", "## Repairs, drops and matches", ""]
        L += _md_table(["table", "column", "what", "reason", "count", "examples (source ids)"],
                       [[n["table"], n["column"] or "", ACTION_WORDS.get(n["action"], n["action"]),
                         n["reason"], n["count"],
                         ", ".join(str(e[0]) for e in n["examples"])] for n in d["notes"]])
    if d["email_matches"]:
        L += ["", f"## Users matched by e-mail ({len(d['email_matches'])})", ""]
        L += _md_table(["source user", "target user", "e-mail"],
                       [[m["source_user"], m["target_user"], m["email"]]
                        for m in d["email_matches"][:200]])
    if d.get("email_conflicts"):
        L += ["", f"## E-mail conflicts: not merged ({len(d['email_conflicts'])})", ""]
        L += _md_table(["source user", "email", "email2", "target user", "its field",
                        "same address", "resolution"],
                       [[c["source_user"], c["email"] or "", c["email2"] or "",
                         c["target_user"], c["target_field"], c["same_as"], c["resolution"]]
                        for c in d["email_conflicts"][:200]])
    if d.get("vanished_groups"):
        L += ["", "## Groups moved earlier that are no longer AMAP groups of the source", ""]
        for g in d["vanished_groups"]:
            L.append(f"- {g['source_id']} {g['name']} (target {g['target_id']})")
    return "\n".join(L) + "\n"


def print_run(d: dict, console: Console) -> None:
    t = Table(title="bascule plan — dry run, nothing written" if d["dry_run"]
              else "bascule migrate — summary")
    for h in ("table", "insert", "update", "delete", "unchanged", "dropped"):
        t.add_column(h, justify="left" if h == "table" else "right")
    for tb, c in d["totals"].items():
        t.add_row(tb, *(f"{c[k]:,}" for k in ("insert", "update", "delete", "unchanged",
                                                "dropped")))
    console.print(t)
    groups = d["groups"]
    ok = sum(1 for g in groups if g["status"] in ("done", "planned"))
    failed = [g for g in groups if g["status"] == "failed"]
    console.print(f"source: {_kind(d['source'])} {d['source'].get('shape')} "
                  f"({d['source'].get('backend')}); "
                  f"target: Camap {d['target'].get('shape')} ({d['target'].get('backend')})")
    unchanged = len(d.get("unchanged_groups") or ())
    console.print(f"groups: {ok} {'planned' if d['dry_run'] else 'moved'}, "
                  + (f"{unchanged} unchanged since the last run (skipped), " if unchanged else "")
                  + f"{len(failed)} failed; "
                  f"{sum(1 for g in groups for _ in g['linked_catalogs'])} linked catalogs; "
                  f"{len(d['email_matches'])} users matched by e-mail; {d['seconds']} s")
    for c in (d.get("email_conflicts") or [])[:20]:
        console.print(f"[yellow]e-mail conflict:[/] source user {c['source_user']} "
                      f"({c['email']}, email2 {c['email2']}): its "
                      f"{'email2' if c['target_field'] == 'email' else 'email'} is user "
                      f"{c['target_user']}'s {c['target_field']}; {c['resolution']}")
    ch = d.get("changes") or {}
    if ch.get("rows_checksummed"):
        console.print(f"source checksums: {ch['rows_checksummed']:,} rows in {ch['chunks']:,} "
                      "chunks; " + (f"{sum(ch['changed_chunks'].values()):,} chunks changed since "
                                    f"the last clean run, {ch['groups_changed']} groups affected"
                                    if ch["compared"] else f"every group moved ({ch['why_not']})")
                      + f" ({ch['seconds']} s)")
    if d["notes"]:
        nt = Table(title="repairs, drops and matches")
        for h in ("table", "column", "what", "reason", "count"):
            nt.add_column(h, justify="right" if h == "count" else "left")
        for n in d["notes"]:
            nt.add_row(n["table"], n["column"] or "", ACTION_WORDS.get(n["action"], n["action"]),
                       n["reason"], f"{n['count']:,}")
        console.print(nt)
    for g in failed:
        console.print(f"[red]group {g['source_id']} ({g['name']}) failed, rolled back:[/] "
                      f"{g['error']}")
    for line in _after_load_lines(d):
        console.print(line)


def _after_load_lines(d: dict) -> list[str]:
    out: list[str] = []
    ix = d.get("indexes")
    if ix:
        out.append(f"secondary indexes built after the data (secondary_indexes=after): "
                   f"{ix['dropped']} dropped, {ix['restored']} built again in {ix['seconds']} s")
        for f in ix["failed"]:
            out.append(f"index {f['index']} on {f['table']} could not be built again: "
                       f"{f['error']} (kept in bascule_index; the next run tries again)")
    fk = d.get("fk_check")
    if not fk:
        return out
    out += [f"foreign keys checked after the load (fk_checks=after): {fk['checked']}, "
           f"{len(fk['dangling'])} dangling"]
    for b in fk["dangling"]:
        out.append(f"dangling foreign key: {b['table']}.{','.join(b['columns'])} -> "
                   f"{b['parent']}: {b['rows']} rows point at nothing")
    return out


# ---------------------------------------------------------------------------------------------
# verify


def verify_markdown(d: dict) -> str:
    L = ["# bascule verify", "", f"- started: {d['started_at']}, {d['seconds']} s",
         f"- result: **{'OK' if d['ok'] else 'DIFFERENCES FOUND'}**",
         f"- groups checked: {d['groups']}, foreign keys checked: {d['fk_checked']}", ""]
    if d.get("indexes_missing"):
        L[-1:-1] = [f"- secondary indexes still missing (dropped by a migrate run that did not "
                    f"end; the next `bascule migrate` builds them): "
                    f"{', '.join(d['indexes_missing'])}"]
    L += _md_table(["table", "source rows", "target rows", "chunks", "differences"],
                   [[t, v["source"], v["target"], v["chunks"], v["differences"]]
                    for t, v in d["tables"].items()])
    if d["differences"]:
        L += ["", "## Differences", ""]
        for x in d["differences"]:
            L.append(f"- {x['kind']} {x['table']} source {x['source_id']} target "
                     f"{x['target_id']} {x['column'] or ''}: {x['detail']}")
    return "\n".join(L) + "\n"


def print_verify(d: dict, console: Console) -> None:
    t = Table(title="bascule verify")
    for h in ("table", "source rows", "target rows", "chunks", "differences"):
        t.add_column(h, justify="left" if h == "table" else "right")
    for tb, v in d["tables"].items():
        t.add_row(tb, f"{v['source']:,}", f"{v['target']:,}", f"{v['chunks']:,}",
                  f"{v['differences']:,}")
    console.print(t)
    if d["ok"]:
        console.print(f"[green]OK[/]: {d['groups']} groups, every mapped row and column matches, "
                      f"{d['fk_checked']} foreign keys resolve ({d['seconds']} s)")
    else:
        console.print(f"[red]{len(d['differences'])} differences[/] ({d['seconds']} s):")
        for x in d["differences"]:
            where = x["table"]
            if x["source_id"] is not None:
                where += f" source id {x['source_id']}"
            if x["target_id"] is not None:
                where += f" target id {x['target_id']}"
            if x["column"]:
                where += f" column {x['column']}"
            console.print(f"  {x['kind']}: {where}: {x['detail']}")
    sc = d.get("scope") or {}
    if sc.get("mode") == "changed":
        console.print(f"--changed: {sc['groups']} of {d['groups']} groups compared ({sc['written']}"
                      f" written by run {sc['run_id']}, {len(sc['source_changed'])} changed in "
                      f"the source since, {sc['sampled']} sampled of {sc['of']}, seed "
                      f"{sc['seed']}), {sc['shared_rows']} shared rows; the foreign keys of "
                      "those rows")
    elif sc.get("why"):
        console.print(f"[yellow]every group compared[/]: {sc['why']}")
    if d.get("vanished_groups"):
        console.print(f"[yellow]{len(d['vanished_groups'])} moved groups are shop-mode groups in "
                      f"the source now[/], not compared: {', '.join(map(str, d['vanished_groups']))}")
    if d.get("indexes_missing"):
        console.print(f"[yellow]{len(d['indexes_missing'])} secondary indexes still missing[/] "
                      "(dropped by a migrate run that did not end; the next `bascule migrate` "
                      "builds them again)")
