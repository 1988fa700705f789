"""`bascule describe`: what a source holds (kind and shape, groups by mode, rows per table, and
each group with its size, so that an operator can choose ``--group``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import MetaData, Table, func, inspect, select
from sqlalchemy.engine import Engine

from bascule.extract.source import SourceReader, inspect_source
from bascule.transform.clean import display_text

#: What a group's size is counted in (table, the path from it to the group's id column).
SIZE_TABLES = ("UserGroup", "Catalog", "Product", "Distribution", "UserOrder")


@dataclass
class GroupSize:
    id: int
    name: str  # repaired (display_text)
    mode: str  # "AMAP" (moves) | "shop" (stays)
    members: int = 0
    catalogs: int = 0
    orders: int = 0
    rows: int = 0  # members, catalogs, products, distributions and orders

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "mode": self.mode, "members": self.members,
                "catalogs": self.catalogs, "orders": self.orders, "rows": self.rows}


@dataclass
class SourceDescription:
    kind: str  # "cagette" | "camap"
    shape: str
    shape_reasons: list[str]
    backend: str
    groups_amap: int
    groups_shop: int
    linked_catalogs: int
    rows: dict[str, int] = field(default_factory=dict)
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)
    group_list: list[GroupSize] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "shape": self.shape, "shape_reasons": self.shape_reasons,
                "backend": self.backend, "groups": {"amap": self.groups_amap,
                                                    "shop": self.groups_shop},
                "linked_catalogs": self.linked_catalogs, "rows": self.rows,
                "ignored_columns": self.ignored_columns,
                "group_list": [g.as_dict() for g in self.group_list]}


def _sizes(r: SourceReader) -> dict[str, dict[int, int]]:
    """Rows per group of the tables of ``SIZE_TABLES`` (one grouped count each)."""
    T = r.info.tables
    ug, c, p, d, uo = (T[t] for t in SIZE_TABLES)
    queries = {
        "UserGroup": select(ug.c.groupId, func.count()).group_by(ug.c.groupId),
        "Catalog": select(c.c.groupId, func.count()).group_by(c.c.groupId),
        "Product": select(c.c.groupId, func.count()).select_from(
            p.join(c, c.c.id == p.c.catalogId)).group_by(c.c.groupId),
        "Distribution": select(c.c.groupId, func.count()).select_from(
            d.join(c, c.c.id == d.c.catalogId)).group_by(c.c.groupId),
        "UserOrder": select(c.c.groupId, func.count()).select_from(
            uo.join(p, p.c.id == uo.c.productId).join(c, c.c.id == p.c.catalogId))
        .group_by(c.c.groupId),
    }
    return {t: {int(g): int(k) for g, k in r.scalar_rows(q) if g is not None}
            for t, q in queries.items()}


def describe_source(engine: Engine, kind: str = "auto") -> SourceDescription:
    info = inspect_source(engine, kind=kind)
    with SourceReader(engine, info) as r:
        allg = r.all_groups()
        assert r.conn is not None
        md = MetaData()
        rows: dict[str, int] = {}
        for name in sorted(inspect(engine).get_table_names()):
            t = Table(name, md)
            rows[name] = int(r.conn.execute(select(func.count()).select_from(t)).scalar() or 0)
        linked = rows.get("RemoteCatalog", 0)
        sizes = _sizes(r)
    groups = [GroupSize(g.id, display_text(g.name), "AMAP" if info.is_amap(g.flags) else "shop",
                        members=sizes["UserGroup"].get(g.id, 0),
                        catalogs=sizes["Catalog"].get(g.id, 0),
                        orders=sizes["UserOrder"].get(g.id, 0),
                        rows=sum(s.get(g.id, 0) for s in sizes.values()))
              for g in allg]
    amap = sum(1 for g in groups if g.mode == "AMAP")
    return SourceDescription(
        kind=info.kind, shape=info.shape, shape_reasons=info.shape_reasons, backend=info.backend,
        groups_amap=amap, groups_shop=len(allg) - amap, linked_catalogs=linked,
        rows=rows, ignored_columns=info.ignored_columns, group_list=groups)
