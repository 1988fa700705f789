"""One unit of work as read → the changes to write and what it adds to the run's state.

``Planner.build(groups, read, existing, state)`` returns ``(ChangeSet, StateDelta)``. It is pure:
no connection, no thread, and it does not change ``state`` (the run applies the delta). In order:

1. producer grants: the users of a linked catalog's producer space get a membership of the group
   (and, below, ContractAdmin on the catalog);
2. shared rows: the users, vendors and files the unit references get their ids (a user whose
   e-mail is a target user's e-mail is that user, ``_user_id``);
3. baskets for orders without one (2021 shape);
4. ids of every group-scoped row: the previous run's, or new ones from the allocator;
5. every row transformed (``transform.transform_row``) in load order, encoded as the writer sends
   it, hashed, and compared with the previous run's hash: insert, update or unchanged; verify
   (``capture``) keeps the expected rows instead;
6. rows of the previous runs that the source no longer has (deleted, or pruned with --prune);
7. the id map of every group whose entries changed (``load.apply`` packs it in blocks).
"""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bascule.errors import DataRefused, MigrationError
from bascule.extract.closure import UnitRead
from bascule.extract.source import GroupRef
from bascule.model.tables import Migration
from bascule.plan import values
from bascule.plan.changeset import (
    ChangeSet,
    Entry,
    ExistingEntries,
    Expected,
    GroupResult,
    IdMapEntry,
    TableChanges,
    TableCounts,
)
from bascule.plan.hashing import key_hash, written_hash
from bascule.plan.ids import Allocator, RunState, StateDelta, email_key, new_id
from bascule.plan.unit import Unit
from bascule.transform.context import TransformContext
from bascule.transform.rows import transform_row, values_transform
from bascule.transform.textids import grant_contract_admin

#: ``_entry(IdMapEntry, (table, old_key, …))``: the entry made by tuple's constructor, without
#: the NamedTuple's own ``__new__`` (a Python lambda: a frame per row)
_entry = tuple.__new__

#: ``encoders(table, columns)``: how the writer encodes rows of ``table`` (None: it does not).
Encoders = Callable[[str, tuple[str, ...]], "Callable[[Sequence], Any] | None"]


@dataclass(frozen=True)
class Planner:
    """What stays the same for every unit of a run (see the module docstring)."""

    migration: Migration
    ctx: TransformContext  # the run's: shapes, options, columns, notes
    allocator: Allocator
    encoders: Encoders
    source_columns: dict[str, list[str]]  # what the source has, per table
    capture: bool = False  # verify: keep the expected rows, no hashing
    pack: bool = True  # the id map of the changed groups (not for plan)
    prune: bool = False
    #: the columns whose values the target refuses (``plan.values``): table → (column, kind)
    checks: dict[str, tuple[tuple[str, str], ...]] | None = None
    #: plan: list the refused values (``ChangeSet.refused``); migrate: DataRefused
    collect_refused: bool = False

    def build(self, groups: Sequence[GroupRef], read: UnitRead, existing: ExistingEntries,
              state: RunState) -> tuple[ChangeSet, StateDelta]:
        b = _Build(self, Unit(self.migration, groups, read.rows), state, existing)
        grants = grant_producers(b, read)
        prepare_shared(b, read)
        b.unit.synthesize_baskets()
        allocate(b)
        # the unit's context is not kept on ``b`` (it refers to ``b``: no reference cycle, so
        # a unit's rows are freed as soon as it is built)
        ctx = self.ctx.for_unit(b.alloc, fallback=b.shared_id, linked_catalogs=read.linked,
                                **b.unit.hooks())
        for t in self.migration.order:
            transform_table(b, ctx, t, grants)
        record_deletes(b)
        if self.pack:
            b.cs.group_entries = group_entries(b)
        b.delta.next_id = b.unit_next
        return b.cs, b.delta


class _Build:
    """The values one ``build`` works on (local to it)."""

    def __init__(self, p: Planner, unit: Unit, state: RunState, existing: ExistingEntries):
        self.p = p
        self.unit = unit
        self.state = state
        self.existing = existing
        self.cs = ChangeSet({g.id: GroupResult(g.id, g.name) for g in unit.groups})
        if p.capture:
            self.cs.expected = Expected()
        self.delta = StateDelta()
        self.alloc: dict[str, dict[Any, int]] = {}  # table → old id → new id
        self.unit_next: dict[str, int] = {}
        self.seen: dict[str, set] = {}  # table → old keys read

    def shared_id(self, table: str, old: Any) -> int | None:
        """The transform's ids beyond the unit's own (``alloc``): the run's shared rows."""
        shared = self.state.shared.get(table)
        if shared is not None:
            e = shared.get(old)
            if e is not None:
                return new_id(e)
        return None


# -- 1-4: before the transform ------------------------------------------------------------------


def grant_producers(b: _Build, read: UnitRead) -> dict[tuple[int, int], list[int]]:
    """(user, group) → catalogs of the linked catalogs' producers; those who are not members yet
    get a membership row (the rights are granted when UserGroup is transformed)."""
    rows, results = b.unit.rows, b.cs.results
    cat_vendor = {r["id"]: r["vendorId"] for r in rows.get("Catalog", ())}
    grants: dict[tuple[int, int], list[int]] = defaultdict(list)
    for c in read.linked:
        crow = b.unit.by_id["Catalog"][c]
        users = read.producer_users.get(cat_vendor[c], [])
        for uid in users:
            grants[(uid, crow["groupId"])].append(c)
        results[crow["groupId"]].linked_catalogs.append(
            {"catalog": c, "name": crow["name"], "vendor": cat_vendor[c],
             "pcatalog": read.linked[c], "producer_users": users})
    if not grants:
        return grants
    members = {(r["userId"], r["groupId"]) for r in rows["UserGroup"]}
    have = b.p.source_columns.get("UserGroup", [])
    rights_col = "rights2" if "rights2" in have else "rights"
    for (uid, gid) in sorted(grants):
        if (uid, gid) not in members:
            synth = {"userId": uid, "groupId": gid, rights_col: None, "balance": 0.0}
            if "rights" in have and rights_col != "rights":
                synth["rights"] = None
            rows["UserGroup"].append(synth)
    return grants


def prepare_shared(b: _Build, read: UnitRead) -> None:
    """Ids for the users, vendors and files the unit references: the run's, a target user's of
    the same e-mail, or new ones. Rows handled by an earlier unit are not written again (the read
    may have happened before that unit committed); referenced ids that the source does not have
    get no id, so the transform nulls or drops what points at them."""
    state, allocator = b.state, b.p.allocator
    for t in b.p.migration.shared:
        known, handled = state.shared[t], state.handled[t]
        al = b.alloc.setdefault(t, {})
        for i in read.refs.get(t, set()) & handled:
            e = known.get(i)
            if e is not None:
                al[i] = new_id(e)
        fetched = [r for r in read.shared.get(t, ()) if r["id"] not in handled]
        b.unit.shared_rows[t] = fetched
        b.delta.handled[t] = {r["id"] for r in fetched}
        for r in fetched:
            old = r["id"]
            if old in known:
                al[old] = new_id(known[old])
            elif t == "User":
                al[old] = _user_id(b, r)
            else:
                al[old] = allocator.one(t, old, b.unit_next)


def _user_id(b: _Build, r: dict) -> int:
    """A moved user's id. The rule (two people are never merged into one account):

    - its ``email`` is a target user's ``email`` (case and surrounding spaces aside; the lowest
      id when the target has several): it IS that user (matched, reused, not written), unless
      another user of this source already is (matched or moved earlier): then it cannot be
      written either (the target's e-mails are unique) and DataRefused fails the groups that
      reference it, naming both users and the e-mail;
    - else it is a new user (its ``email`` is no target user's, so the unique index holds);
    - ``email2`` never matches: a user whose ``email2`` is another user's ``email``, or whose
      ``email`` is another user's ``email2`` (two accounts of a couple), keeps its own account;
      the coincidence is listed as a conflict (``ChangeSet.email_conflicts``), with how it was
      resolved (the ``email`` match wins, else a new user).
    """
    old = r["id"]
    state, delta = b.state, b.delta
    e1, e2 = email_key(r.get("email")), email_key(r.get("email2"))
    match = _get(state.emails, delta.emails, e1)
    if match is not None:
        holder = _get(state.holders, delta.holders, match)
        if holder is not None and holder != old and b.p.capture:
            return b.p.allocator.one("User", old, b.unit_next)  # verify: a row not moved
        if holder is not None and holder != old:
            raise DataRefused(
                f"User id {old}: its e-mail {r.get('email')!r} is target user {match}'s, which "
                f"source user {holder} already is: two people are never merged into one "
                "account, and the target's e-mails are unique (give one of them another e-mail "
                "in the source)")
        delta.entries("User")[old] = (match, None, None)
        delta.holders[match] = old
        b.cs.new_entries.append(IdMapEntry("User", old, match, None, None, None))
        b.cs.email_matches.append({"source_user": old, "target_user": match,
                                   "email": (r.get("email") or "").lower()})
        b.p.ctx.note("User", old, "email", "matched",
                     "same e-mail as an existing user: reused, not duplicated")
        _email2_conflicts(b, r, e1, e2, match, f"matched to user {match} by its e-mail (the "
                          "e-mail match wins)")
        return match
    new = b.p.allocator.one("User", old, b.unit_next)
    if new == 1:
        raise MigrationError("internal error: a moved user would get id 1")
    _email2_conflicts(b, r, e1, e2, None, f"new user {new} (an email2 match never merges two "
                      "accounts)")
    if e1 is not None:
        delta.emails.setdefault(e1, new)
    if e2 is not None:
        delta.emails2.setdefault(e2, new)
    delta.holders[new] = old
    return new


def _get(mine: dict, unit: dict, key: Any) -> Any:
    """``key`` in the run's state, else in the unit's delta (None for a None key)."""
    if key is None:
        return None
    v = mine.get(key)
    return unit.get(key) if v is None else v


def _email2_conflicts(b: _Build, r: dict, e1: str | None, e2: str | None, match: int | None,
                      resolution: str) -> None:
    """The target users (other than ``match``) whose ``email`` is this user's ``email2``, or
    whose ``email2`` is its ``email``: listed, not merged."""
    state, delta = b.state, b.delta
    for mine, theirs, other in ((e2, "email", _get(state.emails, delta.emails, e2)),
                                (e1, "email2", _get(state.emails2, delta.emails2, e1))):
        if other is None or other == match:
            continue
        b.cs.email_conflicts.append({
            "source_user": r["id"], "email": r.get("email"), "email2": r.get("email2"),
            "target_user": other, "target_field": theirs, "same_as": mine,
            "other_source_user": _get(state.holders, delta.holders, other),
            "resolution": resolution})
        b.p.ctx.note("User", r["id"], "email2" if theirs == "email" else "email", "conflict",
                     f"{'email2' if theirs == 'email' else 'email'} is user {other}'s "
                     f"{theirs}: not merged, {resolution}")


def allocate(b: _Build) -> None:
    """Ids of every group-scoped row with an id: the previous run's, or a block of new ones."""
    m = b.p.migration
    for t in m.group:
        rows = b.unit.rows.get(t)
        if rows is None or t in m.composite:
            continue
        ex = b.existing.entries.get(t, {})
        al = b.alloc.setdefault(t, {})
        need = []
        for r in rows:
            old = r["id"]
            e = ex.get(old)
            if e is not None:
                al[old] = e[0]
            else:
                need.append(old)
        if need:
            al.update(zip(need, b.p.allocator.block(t, need, b.unit_next)))


# -- 5: transform, encode, hash, compare ----------------------------------------------------------


def transform_table(b: _Build, ctx: TransformContext, t: str, grants: dict) -> None:
    spec = b.p.migration[t]
    if spec.shared:
        src = b.unit.shared_rows.get(t, [])
    elif t in b.unit.rows:
        src = b.unit.rows[t]
    else:
        return
    cols = ctx.columns(t)
    getcols = operator.itemgetter(*cols) if len(cols) > 1 else \
        (lambda o, _c=cols: tuple(o[c] for c in _c))
    # rows encoded here as the writer sends them; the hash is that text's
    encode = None if b.p.capture else b.p.encoders(t, cols)
    changes = TableChanges(cols)
    if spec.shared:
        _shared_rows(b, ctx, t, src, changes, getcols, encode)
    elif spec.composite:
        _composite_rows(b, ctx, t, src, changes, getcols, encode,
                        grants if t == "UserGroup" else None)
    else:
        _id_rows(b, ctx, t, src, changes, getcols, encode)
    b.cs.tables[t] = changes
    if b.p.checks and t in b.p.checks and not b.p.capture:
        check_values(b, t, src, changes)
    if t == "Group":
        for r in src:
            b.cs.results[r["id"]].target_id = b.alloc["Group"][r["id"]]


def check_values(b: _Build, t: str, src: list[dict], changes: TableChanges) -> None:
    """The values of the rows to write that the target refuses (``plan.values``): listed
    (plan) or the unit refused, named with the first (migrate)."""
    assert b.p.checks is not None
    cols = changes.columns
    checks = [(cols.index(c), c, k) for c, k in b.p.checks[t] if c in cols]
    if not checks:
        return
    found: list[dict] = []
    for rows in (changes.inserts, changes.updates):
        for n, col, kind, why in values.find(rows, checks):
            where = _source_of(b, t, src, rows[n], cols)
            where.update(column=col, kind=kind, reason=why)
            found.append(where)
    if not found:
        return
    if not b.p.collect_refused:
        raise DataRefused(values.message(found))
    b.cs.refused.extend(found)


def _source_of(b: _Build, t: str, src: list[dict], row: Sequence[Any],
               cols: tuple[str, ...]) -> dict:
    """The table, source id and group of a row about to be written (looked up: rare)."""
    spec = b.p.migration[t]
    if spec.composite:
        _skey, tkey = b.p.migration.composite[t]
        key = ", ".join(str(row[cols.index(c)]) for c in tkey if c in cols)
        return {"table": t, "source_id": f"({key}) in the target", "group": None}
    tid = row[cols.index("id")] if "id" in cols else None
    old: Any = None
    if spec.shared:
        for o, e in b.delta.entries(t).items():
            if e[0] == tid:
                old = o
                break
        return {"table": t, "source_id": old, "group": None}
    for o, nid in b.alloc.get(t, {}).items():
        if nid == tid:
            old = o
            break
    owner = b.unit.owner(t)
    gid = next((owner(r) for r in src if r["id"] == old), None)
    return {"table": t, "source_id": old, "group": gid}


def _values(out: dict, getcols, cols: tuple[str, ...]) -> tuple:
    try:
        return getcols(out)
    except KeyError:
        return tuple(out.get(c) for c in cols)


def _classify(cs: ChangeSet, changes: TableChanges, counts: TableCounts, prev: Entry | None,
              entry: IdMapEntry, vals: tuple, enc: Any) -> None:
    """Insert (no previous entry), update (another hash) or unchanged."""
    if prev is None:
        changes.inserts.append(vals)
        changes.inserts_enc.append(enc)
        counts.insert += 1
        cs.new_entries.append(entry)
    elif prev[1] != entry.row_hash:
        changes.updates.append(vals)
        changes.updates_enc.append(enc)
        counts.update += 1
        cs.changed_entries.append(entry)
    else:
        counts.unchanged += 1


def _expect(cs: ChangeSet, t: str, prev: Entry | None, key: tuple, src_key: Any,
            vals: tuple) -> None:
    """verify: a row with an entry must be in the target as ``vals``; one without is missing."""
    assert cs.expected is not None
    if prev is None:
        cs.expected.missing[t].add(src_key)
    else:
        cs.expected.rows[t][key] = (src_key, vals)


def _id_rows(b: _Build, ctx: TransformContext, t: str, src: list[dict], changes: TableChanges,
             getcols, encode) -> None:
    """The rows of a group-scoped table keyed by id: the bulk of a unit, so ``_values``,
    ``_hash`` and ``_classify`` are written out here, and the counts are added per group at the
    end (``_add_counts``) instead of one attribute update per row."""
    cs, capture = b.cs, b.p.capture
    cols = changes.columns
    owner = b.unit.owner(t)
    ex = b.existing.entries.get(t, {})
    seen = b.seen.setdefault(t, set())
    ins, ins_enc, upd, upd_enc = changes.inserts, changes.inserts_enc, changes.updates, \
        changes.updates_enc
    new_entries, changed_entries = cs.new_entries, cs.changed_entries
    # the owning group of each row, by what became of it
    inserted: list = []
    updated: list = []
    unchanged: list = []
    dropped: list = []
    captured: list = []
    # the tables of the most rows give their values without a dict (first: the new id)
    values = values_transform(t, ctx) if cols and cols[0] == "id" else None
    for r in src:
        gid = owner(r)
        if values is not None:
            vals = values(r, ctx)
            if vals is None:
                dropped.append(gid)
                continue
            nid = vals[0]
        else:
            out = transform_row(t, r, ctx)
            if out is None:
                dropped.append(gid)
                continue
            try:
                vals = getcols(out)
            except KeyError:
                vals = tuple(out.get(c) for c in cols)
            nid = out["id"]
        old = r["id"]
        if ex:  # the rows read, against the previous runs' (record_deletes)
            seen.add(old)
        prev = ex.get(old)
        if capture:
            _expect(cs, t, prev, (nid,), old, vals)
            captured.append(gid)
            continue
        h, enc = written_hash(vals, encode)
        if prev is None:
            ins.append(vals)
            ins_enc.append(enc)
            inserted.append(gid)
            new_entries.append(_entry(IdMapEntry, (t, old, nid, gid, h, None)))
        elif prev[1] != h:
            upd.append(vals)
            upd_enc.append(enc)
            updated.append(gid)
            changed_entries.append(_entry(IdMapEntry, (t, old, nid, gid, h, None)))
        else:
            unchanged.append(gid)
    _add_counts(cs, t, (inserted, updated, unchanged, dropped, captured))


def _add_counts(cs: ChangeSet, t: str, by_kind: tuple[list, list, list, list, list]) -> None:
    """Add to each group's counts of table ``t`` (the run's shared counts for a row of no
    group of the unit) its rows, listed by their group: inserted, updated, unchanged, dropped,
    and captured by verify (counted nowhere, but its group's counts of ``t`` exist, as for any
    row read)."""
    results = cs.results
    tally: dict[Any, list[int]] = {}
    for k, gids in enumerate(by_kind):
        for gid in gids:
            n = tally.get(gid)
            if n is None:
                n = tally[gid] = [0, 0, 0, 0, 0]
            n[k] += 1
    for gid, (i, u, same, d, _captured) in tally.items():
        res = results.get(gid)
        counts = res.tables[t] if res is not None else cs.shared_counts[t]
        counts.insert += i
        counts.update += u
        counts.unchanged += same
        counts.dropped += d


def _composite_rows(b: _Build, ctx: TransformContext, t: str, src: list[dict],
                    changes: TableChanges, getcols, encode, grants: dict | None) -> None:
    """The rows of a composite-key table: their old key is the hash of the source key, their
    target key is kept as text; two source rows that become one target row (two users merged
    by e-mail) keep the first."""
    cs, capture = b.cs, b.p.capture
    skey, tkey = b.p.migration.composite[t]
    owner = b.unit.owner(t)
    ex = b.existing.entries.get(t, {})
    seen = b.seen.setdefault(t, set())
    seen_keys: set[tuple] = set()
    for r in src:
        gid = owner(r)
        res = cs.results.get(gid)
        counts = res.tables[t] if res is not None else cs.shared_counts[t]
        out = transform_row(t, r, ctx)
        if out is None:
            counts.dropped += 1
            continue
        if grants:
            _grant(ctx, r, out, grants)
        vals = _values(out, getcols, changes.columns)
        tk = tuple(out.get(c) for c in tkey)
        src_key = tuple(r.get(c) for c in skey)
        if tk in seen_keys:
            ctx.note(t, src_key, None, "dropped_row", "duplicate after e-mail merge")
            counts.dropped += 1
            continue
        seen_keys.add(tk)
        old = key_hash(t, src_key)
        seen.add(old)
        prev = ex.get(old)
        if capture:
            _expect(cs, t, prev, tk, src_key, vals)
            continue
        h, enc = written_hash(vals, encode)
        entry = _entry(IdMapEntry, (t, old, 0, gid, h, ",".join(str(x) for x in tk)))
        _classify(cs, changes, counts, prev, entry, vals, enc)


def _grant(ctx: TransformContext, r: dict, out: dict, grants: dict) -> None:
    """A producer keeps ContractAdmin on its linked catalogs (UserGroup.rights)."""
    for c in grants.get((r["userId"], r["groupId"]), ()):
        newc = ctx.map("Catalog", c)
        if newc is not None:
            before = out.get("rights")
            out["rights"] = grant_contract_admin(before, newc)
            if out["rights"] != before:
                ctx.note("UserGroup", (r["userId"], r["groupId"]), "rights", "right_granted",
                         "producer keeps ContractAdmin on its catalog")


def _shared_rows(b: _Build, ctx: TransformContext, t: str, src: list[dict],
                 changes: TableChanges, getcols, encode) -> None:
    """Users, vendors and files: their entries go to the run's state (the delta)."""
    cs, capture = b.cs, b.p.capture
    counts = cs.shared_counts[t]
    known, new = b.state.shared[t], b.delta.entries(t)
    for r in src:
        old = r["id"]
        m = known.get(old) or new.get(old)
        if m is not None and m[1] is None:
            counts.unchanged += 1  # matched to an existing target user: not ours
            continue
        out = transform_row(t, r, ctx)
        if out is None:
            counts.dropped += 1
            continue
        vals = _values(out, getcols, changes.columns)
        nid = out["id"]
        prev = m
        h, enc = (0, None) if capture else written_hash(vals, encode)
        new[old] = (nid, h, None)
        if capture:
            _expect(cs, t, prev, (nid,), old, vals)
            continue
        _classify(cs, changes, counts, prev, _entry(IdMapEntry, (t, old, nid, None, h, None)),
                  vals, enc)


# -- 6-7: after the transform -------------------------------------------------------------------


def record_deletes(b: _Build) -> None:
    """Entries of the previous runs whose source rows were not read: deleted from the source."""
    cs = b.cs
    for t, ex in b.existing.entries.items():
        seen = b.seen.get(t, set())
        dels = [(old, new, nk) for old, (new, _h, nk) in ex.items() if old not in seen]
        if not dels:
            continue
        cs.deletes[t].extend(dels)
        owner = b.existing.owners.get(t, {})
        for old, _n, _k in dels:
            g = owner.get(old)
            res = cs.results.get(g) if g is not None else None
            if res is not None:
                res.tables[t].delete += 1


def group_entries(b: _Build) -> dict[int, dict[str, dict[int, Entry]]]:
    """The whole id map of every group of the unit that changed: its entries from the previous
    runs, with this unit's new and changed entries, less the rows pruned (shared rows stay rows
    of bascule_idmap)."""
    cs, owner = b.cs, b.existing.owners
    changes = [e for e in cs.new_entries + cs.changed_entries if e.group is not None]
    touched = {e.group for e in changes if e.group is not None}
    if b.p.prune:
        for t, dels in cs.deletes.items():
            ot = owner.get(t, {})
            touched.update(ot[old] for old, _n, _k in dels if old in ot)
    touched &= set(cs.results)
    if not touched:
        return {}
    per: dict[int, dict[str, dict[int, Entry]]] = {g: defaultdict(dict) for g in sorted(touched)}
    for t, ex in b.existing.entries.items():
        ot = owner.get(t, {})
        for old, e in ex.items():
            g = ot.get(old)
            if g in per:
                per[g][t][old] = e
    for t, old, new, g, h, nk in changes:  # unpacked: no attribute lookup per entry
        owned = owner.get(t)
        if owned:
            prev = owned.get(old)
            if prev is not None and prev != g and prev in per:  # the row changed group
                per[prev][t].pop(old, None)
        pg = per.get(g) if g is not None else None
        if pg is not None:
            pg[t][old] = (new, h, nk)
    if b.p.prune:
        for t, dels in cs.deletes.items():
            for old, _n, _k in dels:
                g = owner.get(t, {}).get(old)
                if g in per:
                    per[g][t].pop(old, None)
    return {g: dict(v) for g, v in per.items()}
