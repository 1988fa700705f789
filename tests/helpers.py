"""Helpers shared by the tests (real databases only): sources and targets, settings, queries."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import MetaData, inspect, select, text

from bascule.config import load_settings
from bascule.dbutil import make_engine
from bascule.generate import generate
from bascule.load.idmap import unpack_block
from bascule.load.target import create_camap_schema

SCALE = 0.002


def make_source(factory, kind="mysql", shape="2023", dirty=False, seed=7, scale=SCALE):
    """A generated Cagette database in a new database of ``factory``."""
    url = factory.new("src")
    generate(url, shape=shape, scale=scale, seed=seed, dirty=dirty, progress=False)
    return url


def make_target(factory, camap="2023"):
    """An empty Camap schema in a new database of ``factory``."""
    url = factory.new("tgt")
    eng = make_engine(url)
    try:
        create_camap_schema(eng, camap)
    finally:
        eng.dispose()
    return url


def amap_and_shop(src):
    """The AMAP-mode and the shop-mode group ids of a source."""
    g = q(src, "Group")
    amap = {r[0] for r in rows(src, f"SELECT id FROM {g} WHERE (flags & 2) = 0")}
    shop = {r[0] for r in rows(src, f"SELECT id FROM {g} WHERE (flags & 2) <> 0")}
    return amap, shop


def table_checksums(url: str, only: list[str] | None = None, exclude_prefix: str | None = None
                    ) -> dict[str, str]:
    """Order-independent-free checksum per table: every row, ordered by primary key."""
    eng = make_engine(url)
    try:
        md = MetaData()
        md.reflect(eng)
        out = {}
        with eng.connect() as c:
            for name, t in sorted(md.tables.items()):
                if only is not None and name not in only:
                    continue
                if exclude_prefix and name.startswith(exclude_prefix):
                    continue
                pk = list(t.primary_key.columns) or list(t.columns)
                h = hashlib.sha256()
                n = 0
                for row in c.execute(select(t).order_by(*pk)):
                    h.update(repr(tuple(norm_value(v) for v in row)).encode())
                    n += 1
                out[name] = f"{n}:{h.hexdigest()[:16]}"
        return out
    finally:
        eng.dispose()


def norm_value(v):
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, memoryview):
        return bytes(v)
    return v


def settings_for(src: str, tgt: str, tmp_path, **kw):
    return load_settings(None, source_url=src, target_url=tgt, report_dir=str(tmp_path / "out"),
                         **kw)


def count(url: str, table: str, where: str = "") -> int:
    eng = make_engine(url)
    try:
        q = eng.dialect.identifier_preparer.quote_identifier(table)
        with eng.connect() as c:
            return int(c.execute(text(f"SELECT COUNT(*) FROM {q} {where}")).scalar())
    finally:
        eng.dispose()


def rows(url: str, sql: str, **params) -> list:
    """Run SQL written with "double-quoted" identifiers (backticks on MySQL) and 'literals'."""
    eng = make_engine(url)
    if eng.dialect.name in ("mysql", "mariadb"):
        sql = sql.replace('"', "`")
    try:
        with eng.connect() as c:
            return [tuple(r) for r in c.execute(text(sql), params)]
    finally:
        eng.dispose()


def execute(url: str, sql: str, **params):
    """Execute one statement (same quoting convention as rows()); returns the lastrowid."""
    eng = make_engine(url)
    if eng.dialect.name in ("mysql", "mariadb"):
        sql = sql.replace('"', "`")
    try:
        with eng.begin() as c:
            res = c.execute(text(sql), params)
            return res.lastrowid if eng.dialect.name != "postgresql" else None
    finally:
        eng.dispose()


def q(url: str, name: str) -> str:
    """Quote an identifier for the URL's engine."""
    eng = make_engine(url)
    try:
        return eng.dialect.identifier_preparer.quote_identifier(name)
    finally:
        eng.dispose()


def table_names(url: str) -> set[str]:
    eng = make_engine(url)
    try:
        return set(inspect(eng).get_table_names())
    finally:
        eng.dispose()


def json_list(v):
    if not v:
        return []
    try:
        d = json.loads(v)
    except ValueError:
        return []
    return d if isinstance(d, list) else []


def idmap_entries(url: str, table: str | None = None) -> list[tuple]:
    """Every id-map entry in the target as (table, old_id, new_id, group_id or None): the rows of
    bascule_idmap and the decoded blocks of bascule_idblock."""
    eng = make_engine(url)
    out = []
    try:
        with eng.connect() as c:
            where = " WHERE table_name = :t" if table else ""
            for tn, old, new, g in c.execute(text("SELECT table_name, old_id, new_id, group_id "
                                                  "FROM bascule_idmap" + where), {"t": table}):
                out.append((tn, int(old), int(new), None if g is None else int(g)))
            if inspect(c).has_table("bascule_idblock"):
                for tn, g, o, n, h, k in c.execute(text(
                        "SELECT table_name, group_id, old_ids, new_ids, row_hashes, new_keys "
                        "FROM bascule_idblock" + where), {"t": table}):
                    for old, e in unpack_block(o, n, h, k):
                        out.append((tn, old, e[0], int(g)))
    finally:
        eng.dispose()
    return out
