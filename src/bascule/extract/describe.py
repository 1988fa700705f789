"""`bascule describe`: what a source holds (kind and shape, groups by mode, rows per table)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import MetaData, Table, func, inspect, select
from sqlalchemy.engine import Engine

from bascule.extract.source import SourceReader, inspect_source


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

    def as_dict(self) -> dict:
        return {"kind": self.kind, "shape": self.shape, "shape_reasons": self.shape_reasons,
                "backend": self.backend, "groups": {"amap": self.groups_amap,
                                                    "shop": self.groups_shop},
                "linked_catalogs": self.linked_catalogs, "rows": self.rows,
                "ignored_columns": self.ignored_columns}


def describe_source(engine: Engine, kind: str = "auto") -> SourceDescription:
    info = inspect_source(engine, kind=kind)
    with SourceReader(engine, info) as r:
        amap = r.amap_groups()
        allg = r.all_groups()
        assert r.conn is not None
        md = MetaData()
        rows: dict[str, int] = {}
        for name in sorted(inspect(engine).get_table_names()):
            t = Table(name, md)
            rows[name] = int(r.conn.execute(select(func.count()).select_from(t)).scalar() or 0)
        linked = rows.get("RemoteCatalog", 0)
    return SourceDescription(
        kind=info.kind, shape=info.shape, shape_reasons=info.shape_reasons, backend=info.backend,
        groups_amap=len(amap), groups_shop=len(allg) - len(amap), linked_catalogs=linked,
        rows=rows, ignored_columns=info.ignored_columns)
