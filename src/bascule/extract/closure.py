"""What is read for a unit of groups: every row they own (their closure), the producer-space links
of their catalogs, and the shared rows (users, vendors, files) they reference. Every query here is
derived from the table description (``model.tables``): the owner paths say which rows a group
owns, the references say which shared rows move with it.

``read_unit`` returns a :class:`UnitRead` (the hand-off to ``plan.build``); ``all_shared_refs``
asks the server for the shared rows of many groups at once (the shared-row pass of a parallel
run).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, null, or_, select

from bascule.extract.source import GroupRef, SourceReader, chunks
from bascule.model.tables import Migration, Ref
from bascule.transform.rows import ids_in_text

#: ``unhandled(table, ids)``: those ids whose shared rows no earlier unit of the run handled.
Unhandled = Callable[[str, set[int]], set[int]]


@dataclass
class UnitRead:
    """What was read from the source for one unit of groups."""

    rows: dict[str, list[dict]]  # table → its rows owned by the unit's groups
    linked: dict[int, int]  # catalog id → PCatalog id (catalogs linked to a producer space)
    producer_users: dict[int, list[int]]  # vendor id → users of its producer space
    refs: dict[str, set[int]]  # shared table → ids the rows reference
    shared: dict[str, list[dict]]  # shared table → rows fetched (not handled when read)


def empty_read(migration: Migration, refs: dict[str, set[int]],
               shared: dict[str, list[dict]]) -> UnitRead:
    """A read of shared rows alone (the shared-row pass)."""
    return UnitRead({t: [] for t in migration.group}, {}, {}, refs, shared)


# -- the closure of a unit ------------------------------------------------------------------


def group_closure(reader: SourceReader, migration: Migration, group_ids: Sequence[int]
                  ) -> dict[str, list[dict]]:
    """Every row owned by these groups, table by table in load order (shared rows apart): a
    table is read by the ids of its owner rows read before it, or, two steps or more from the
    group, by one query that joins up to the group column."""
    G = list(group_ids)
    rows: dict[str, list[dict]] = {}
    ids: dict[str, list] = {"Group": G}
    for t in migration.group:
        rows[t] = _read_owned(reader, migration, t, G, ids) if G else []
        if rows[t] and "id" in rows[t][0]:
            ids[t] = [r["id"] for r in rows[t]]
    return rows


def _read_owned(reader: SourceReader, migration: Migration, t: str, G: list[int],
                ids: dict[str, list]) -> list[dict]:
    if not reader.has(t):
        return []
    paths = migration.paths(t)
    if not paths:  # Group itself
        return reader.select_in(t, "id", G)
    if len(paths) == 1 and paths[0].by is None:
        p = paths[0]
        if p.parent == "Group" or migration.reads_by_group(p.parent):
            return reader.select_in(t, p.column, ids.get(p.parent, ()))
        return _read_by_join(reader, migration, t, G)
    tb = reader.info.tables[t]
    conds = [and_(tb.c[p.by] == p.value, tb.c[p.column].in_(ids[p.parent]))
             for p in paths if ids.get(p.parent)]
    return reader.select_where(t, or_(*conds)) if conds else []


def _read_by_join(reader: SourceReader, migration: Migration, t: str, G: list[int]
                  ) -> list[dict]:
    """One query joining ``t`` up its owner chain to the group column (a large table whose
    owners are many: UserOrder → Product → Catalog)."""
    T = reader.info.tables
    tb = T[t]
    src, cur = tb, tb
    chain = migration.chain(t)
    for p in chain[:-1]:
        parent = T[p.parent]
        src = src.join(parent, parent.c.id == cur.c[p.column])
        cur = parent
    stmt = (select(*reader.cols(t)).select_from(src).where(cur.c[chain[-1].column].in_(G))
            .order_by(*tb.primary_key.columns))
    return reader.rows(stmt, t)


# -- shared rows ----------------------------------------------------------------------------


def shared_refs_of(migration: Migration, shape: str, rows: dict[str, list[dict]]
                   ) -> dict[str, set[int]]:
    """The ids of the shared rows that these group rows reference (ids in text included)."""
    refs: dict[str, set[int]] = {t: set() for t in migration.shared}
    for t, pairs in migration.shared_refs(shape).items():
        if migration[t].shared:
            continue
        rs = rows.get(t, ())
        for col, target_col, ref in pairs:
            if ref.kind == "fk":
                s = refs[ref.table]
                for r in rs:
                    v = r.get(col)
                    if v is not None:
                        s.add(int(v))
                continue
            for r in rs:
                v = r.get(col)
                if v is not None:
                    for tab, i in ids_in_text(t, target_col, ref, v):
                        if tab in refs:
                            refs[tab].add(i)
    return refs


def read_shared(reader: SourceReader, migration: Migration, refs: dict[str, set[int]],
                unhandled: Unhandled) -> dict[str, list[dict]]:
    """The referenced shared rows that no earlier unit handled. A shared row's own references
    to other shared rows (a vendor's logo) are added to ``refs`` and read too: the tables are
    read referencing ones first (the reverse of the load order)."""
    shape = reader.info.shape
    own = migration.shared_refs(shape)
    shared: dict[str, list[dict]] = {}
    for t in reversed(migration.shared):
        fetched = reader.select_in(t, "id", sorted(unhandled(t, refs[t])))
        for col, _target_col, ref in own.get(t, ()):
            if ref.kind == "fk" and ref.table in refs:
                refs[ref.table].update(int(r[col]) for r in fetched if r.get(col) is not None)
        shared[t] = fetched
    return shared


def user_emails(reader: SourceReader, ids: Sequence[int]) -> list[tuple[int, Any, Any]]:
    """(id, email, email2) of these users (email2 None in a source without it): what deciding
    who may be moved apart needs, without reading whole rows. Ten thousand ids a query, asked
    by their range when they are dense in it (an IN list of that size costs more to send and
    parse than the few rows the range adds), else by the list."""
    u = reader.info.tables["User"]
    cols = [u.c.id, u.c.email, u.c.email2 if "email2" in u.c else null()]
    wanted = set(ids)
    out: list[tuple[int, Any, Any]] = []
    for part in chunks(sorted(wanted), 10_000):
        lo, hi = part[0], part[-1]
        if hi - lo < 2 * len(part):
            rows = reader.scalar_rows(select(*cols).where(u.c.id.between(lo, hi)))
            out.extend(r for r in rows if r[0] in wanted)
        else:
            out.extend(reader.scalar_rows(select(*cols).where(u.c.id.in_(list(part)))))
    return out


def _producer_links(reader: SourceReader, linked: dict[int, int], cat_vendor: dict[int, int],
                    refs: dict[str, set[int]]) -> dict[int, list[int]]:
    """The users of the producer spaces of the ``linked`` catalogs (catalog id → vendor id in
    ``cat_vendor``), who get a membership (and rights) in the catalog's group: they are
    referenced users too (added to ``refs``)."""
    prod_users = reader.producer_users({cat_vendor[c] for c in linked if c in cat_vendor})
    for c in linked:
        refs["User"].update(prod_users.get(cat_vendor.get(c), ()))
    return prod_users


def read_unit(reader: SourceReader, migration: Migration, group_ids: Sequence[int],
              unhandled: Unhandled) -> UnitRead:
    """Everything a unit needs from the source (see the module docstring). Touches no state of
    the run but what ``unhandled`` reads, so it can run in a read-ahead thread."""
    rows = group_closure(reader, migration, group_ids)
    refs = shared_refs_of(migration, reader.info.shape, rows)
    cat_vendor = {r["id"]: r["vendorId"] for r in rows.get("Catalog", ())}
    linked = reader.linked_catalogs(list(cat_vendor))
    prod_users = _producer_links(reader, linked, cat_vendor, refs)
    return UnitRead(rows, linked, prod_users, refs,
                    read_shared(reader, migration, refs, unhandled))


# -- the shared rows of many groups, by the server ------------------------------------------


def _owned_filter(reader: SourceReader, migration: Migration, t: str, G: list[int]):
    """(FROM clause, condition) selecting the rows of ``t`` owned by groups ``G``, in one
    query: an owner read by its group column becomes a sub-select of its ids, a deeper one is
    joined."""
    T = reader.info.tables
    tb = T[t]
    paths = migration.paths(t)
    if not paths:
        return tb, tb.c.id.in_(G)
    src, conds = tb, []
    for p in paths:
        col = tb.c[p.column]
        if p.parent == "Group":
            cond = col.in_(G)
        elif migration.reads_by_group(p.parent):
            parent_from, parent_cond = _owned_filter(reader, migration, p.parent, G)
            cond = col.in_(select(T[p.parent].c.id).select_from(parent_from)
                           .where(parent_cond).scalar_subquery())
        else:
            parent = T[p.parent]
            parent_from, cond = _owned_filter(reader, migration, p.parent, G)
            src = src.join(parent_from, parent.c.id == col)
        conds.append(cond if p.by is None else and_(tb.c[p.by] == p.value, cond))
    return src, conds[0] if len(conds) == 1 else or_(*conds)


def _like(ref: Ref, shared: set[str]) -> str | None:
    """A LIKE pattern that every text holding an id of a shared table matches (its JSON key),
    so that the server sends only those texts; None when there is no such key."""
    keys = {path.rsplit(".", 1)[-1] for path, t in ref.paths if t in shared}
    return f"%{keys.pop()}%" if len(keys) == 1 and ref.kind == "json" else None


def _distinct_jobs(reader: SourceReader, migration: Migration, G: list[int]) -> list:
    """(statement, tag) of the DISTINCT queries over the rows that groups ``G`` own: one per
    table for its id columns (tag: the shared table of each column), one per text column (tag:
    the table, its target column name and its reference)."""
    shared = set(migration.shared)
    jobs: list = []
    for t, triples in migration.shared_refs(reader.info.shape).items():
        if migration[t].shared or not reader.has(t):
            continue
        have = reader.info.columns[t]
        src, cond = _owned_filter(reader, migration, t, G)
        tb = reader.info.tables[t]
        plain = [(c, r.table) for c, _tc, r in triples if r.kind == "fk" and c in have]
        if plain:
            stmt = select(*[tb.c[c] for c, _ in plain]).select_from(src).where(cond).distinct()
            jobs.append((stmt, ("ids", [tab for _, tab in plain])))
        for c, tc, r in triples:
            if r.kind != "fk" and c in have:
                stmt = select(tb.c[c]).select_from(src).where(cond).distinct()
                like = _like(r, shared)
                if like is not None:
                    stmt = stmt.where(tb.c[c].like(like))
                jobs.append((stmt, ("text", (t, tc, r))))
    if reader.has("Catalog"):  # their producer-space links
        src, cond = _owned_filter(reader, migration, "Catalog", G)
        cat = reader.info.tables["Catalog"]
        jobs.append((select(cat.c.id).select_from(src).where(cond), ("catalogs", None)))
    return jobs


def all_shared_refs(reader: SourceReader, migration: Migration, groups: Sequence[GroupRef]
                    ) -> dict[str, set[int]]:
    """The users, vendors and files that the rows of these groups reference (the union of
    what ``read_unit`` finds unit by unit), computed by the source's server: DISTINCT queries
    per table and per thousand groups, run at once on the snapshot's connections, their results
    streamed into one set per shared table."""
    refs: dict[str, set[int]] = {t: set() for t in migration.shared}
    catalogs: set[int] = set()

    def consume(tag, part) -> None:
        kind, what = tag
        if kind == "ids":
            for i, tab in enumerate(what):
                refs[tab].update(int(r[i]) for r in part if r[i] is not None)
        elif kind == "catalogs":
            catalogs.update(r[0] for r in part)
        else:
            t, tc, ref = what
            for (v,) in part:
                if v is not None:
                    for tab, i in ids_in_text(t, tc, ref, v):
                        if tab in refs:
                            refs[tab].add(i)

    reader.run_all([job for G in chunks(sorted(g.id for g in groups))
                    for job in _distinct_jobs(reader, migration, list(G))], consume)
    linked = reader.linked_catalogs(sorted(catalogs))
    cat_vendor = {r["id"]: r["vendorId"] for r in reader.select_in("Catalog", "id", linked)}
    _producer_links(reader, linked, cat_vendor, refs)
    return refs
