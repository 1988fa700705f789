"""The source's chunk checksums kept in the target (``bascule_chunk``), and the basis they hold
for: what else decides the rows a group becomes (the settings that choose and shape rows, both
shapes, bascule's version and the code of its transform, the producer-space tables). Checksums
of another basis are not used: the run then moves every group again, as a first run would."""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from bascule import __version__
from bascule.load.bookkeeping import CHUNK, RUN, bookkeeping_metadata
from bascule.load.bulk import BulkWriter
from bascule.load.idmap import BLOCK, pack, unpack

#: table → chunk → (rows, sum of CRCs), as ``extract.checksums``
Checksums = dict[str, dict[int, tuple[int, int]]]

#: The key of the run summary that names the basis of the checksums that run stored.
BASIS_KEY = "checksum_basis"


#: The packages whose code decides the rows a group becomes.
_CODE = ("model", "plan", "transform")


@functools.cache
def code_digest() -> str:
    """A digest of the code of ``_CODE``: a bascule changed between two runs (not only its
    version) moves every group again."""
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent
    for pkg in _CODE:
        for f in sorted((root / pkg).rglob("*.py")):
            h.update(f.relative_to(root).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def basis(fingerprint: str, source_shape: str, target_shape: str, target_columns: dict,
          mojibake: list[str], producers: list) -> str:
    """A digest of everything besides the source rows that decides what a group becomes."""
    d = {"version": __version__, "code": code_digest(), "settings": fingerprint,
         "source": source_shape,
         "target": target_shape, "mojibake": sorted(mojibake), "producers": producers,
         "columns": {t: sorted(c) for t, c in sorted(target_columns.items())}}
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:32]


def store_checksums(engine: Engine, run_id: int, sums: Checksums) -> None:
    """Replace the stored checksums by ``sums`` (one transaction)."""
    t = bookkeeping_metadata().tables[CHUNK]
    rows = []
    for tn, d in sorted(sums.items()):
        keys = sorted(d)
        for part, i in enumerate(range(0, len(keys), BLOCK)):
            ks = keys[i:i + BLOCK]
            rows.append((tn, part, run_id, len(ks), pack(ks), pack(d[k][0] for k in ks),
                         pack(d[k][1] for k in ks)))
    with engine.begin() as conn:
        conn.execute(t.delete())
        if rows:
            BulkWriter(conn).insert(t, ("table_name", "part", "run_id", "n", "chunks", "counts",
                                        "sums"), rows)


def load_checksums(conn: Connection) -> tuple[str | None, Checksums]:
    """(basis, checksums) as stored; basis None when there are none, or when the run that
    stored them did not close (its summary names no basis)."""
    md = bookkeeping_metadata()
    t, run = md.tables[CHUNK], md.tables[RUN]
    run_id = conn.execute(select(func.max(t.c.run_id))).scalar()
    if run_id is None:
        return None, {}
    summary = conn.execute(select(run.c.summary).where(run.c.id == run_id)).scalar()
    try:
        b = json.loads(summary or "{}").get(BASIS_KEY)
    except ValueError:
        b = None
    if b is None:
        return None, {}
    out: Checksums = {}
    for tn, ks, ns, ss in conn.execute(select(t.c.table_name, t.c.chunks, t.c.counts,
                                              t.c.sums)):
        out.setdefault(tn, {}).update(zip(unpack(ks), zip(unpack(ns), unpack(ss))))
    return b, out
