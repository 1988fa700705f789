"""The id mapping (old source id → new target id) as the redirects and the producer notice read it.

``bascule migrate`` writes it into the TARGET database:

- ``bascule_idmap(table_name, old_id, new_id, group_id)``: one row per shared row (User, Vendor,
  File; ``group_id`` NULL);
- ``bascule_idblock``: the rows each SOURCE group owns, packed (old ids, new ids) per table;
- ``bascule_group(source_group_id, target_group_id, name, status)``: one row per source group;
  ``status = 'done'`` once the group is committed.

Only rows of groups whose status is ``'done'`` count as moved (shared rows count as soon as they
are in the map). A target that received groups from several sources keeps each one's ids apart
(``source``): the redirects of one old host list the ids of that source only (``DbMapping``'s
``source``, the ``source_name`` setting). ``IdMapping`` is the small read interface;
``DictMapping`` serves tests, ``DbMapping`` streams from the target database.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from array import array
from collections.abc import Iterator, Mapping

from sqlalchemy import MetaData, and_, func, inspect, or_, select
from sqlalchemy.engine import Engine

from bascule.load.bookkeeping import IDBLOCK, IDMAP, RUN, Book, bookkeeping_metadata
from bascule.load.idmap import done_groups, moved_entries
from bascule.load.runlog import previous_run
from bascule.model.tables import CAMAP_SHAPES, MIGRATION

# The kinds are the source table names (as bascule_idmap.table_name stores them).
SHARED_KINDS = frozenset(MIGRATION.shared)


def idmap_metadata() -> MetaData:
    """The tables this module reads: bascule's own bookkeeping tables (one definition)."""
    return bookkeeping_metadata()


class IdMapping(ABC):
    """Read-only view of old → new ids, per kind (source table name)."""

    @abstractmethod
    def kinds(self) -> list[str]:
        """Kinds that have at least one moved row, sorted."""

    @abstractmethod
    def items(self, kind: str) -> Iterator[tuple[int, int]]:
        """(old_id, new_id) pairs of one kind, sorted by old id. Streams."""

    @abstractmethod
    def get(self, kind: str, old_id: int) -> int | None:
        """The new id of a moved row, or None."""

    @abstractmethod
    def count(self, kind: str) -> int:
        """How many rows of that kind moved."""

    def from_camap(self) -> bool:
        """Whether the ids are those of a Camap source (the old URLs are then Camap's routes)."""
        return False


class DictMapping(IdMapping):
    """An in-memory mapping: ``{kind: {old_id: new_id}}``."""

    def __init__(self, data: Mapping[str, Mapping[int, int]]):
        self._data = {k: dict(v) for k, v in data.items()}

    def kinds(self) -> list[str]:
        return sorted(k for k, v in self._data.items() if v)

    def items(self, kind: str) -> Iterator[tuple[int, int]]:
        d = self._data.get(kind, {})
        for old in sorted(d):
            yield old, d[old]

    def get(self, kind: str, old_id: int) -> int | None:
        return self._data.get(kind, {}).get(int(old_id))

    def count(self, kind: str) -> int:
        return len(self._data.get(kind, {}))


class DbMapping(IdMapping):
    """The mapping in the target database (bascule's bookkeeping, see bascule.load.idmap).

    Shared kinds (User, Vendor, File) are rows of ``bascule_idmap``: ``get`` is one query. The
    other kinds are packed per group in ``bascule_idblock``: ``items`` decodes the blocks of the
    moved groups into compact arrays and sorts them by old id; ``get`` and ``group_of`` load one
    kind into memory the first time it is asked for. ``source``: the ids of that source only
    (None: of every source).
    """

    def __init__(self, engine: Engine, *, source: str | None = None, batch: int = 10_000):
        self.engine = engine
        self.batch = batch
        self.book = Book.of(engine, source)
        self.idmap = self.book.table(IDMAP)
        self.blocks = self.book.table(IDBLOCK)
        self._cache: dict[tuple[str, int], int | None] = {}
        self._kind: dict[str, dict[int, tuple[int, int | None]]] = {}
        self._has_blocks = inspect(engine).has_table(IDBLOCK)

    def _done(self):
        return done_groups(self.book)

    def _moved(self):
        """FROM clause + WHERE condition selecting moved rows of bascule_idmap."""
        m = self.idmap
        return m, and_(self.book.mine(m),
                       or_(m.c.group_id.is_(None), m.c.group_id.in_(self._done())))

    def kinds(self) -> list[str]:
        frm, cond = self._moved()
        q = select(self.idmap.c.table_name).select_from(frm).where(cond).distinct()
        with self.engine.connect() as c:
            out = {r[0] for r in c.execute(q)}
            if self._has_blocks:
                b = self.blocks
                out |= {r[0] for r in c.execute(select(b.c.table_name).where(
                    self.book.mine(b), b.c.group_id.in_(self._done())).distinct())}
        return sorted(out)

    def _entries(self, kind: str) -> Iterator[tuple[int, int, int | None]]:
        with self.engine.connect() as c:
            yield from moved_entries(c, kind, self.book, blocks=self._has_blocks)

    def items(self, kind: str) -> Iterator[tuple[int, int]]:
        olds, news = array("q"), array("q")
        for old, new, _g in self._entries(kind):
            olds.append(old)
            news.append(new)
        order = sorted(range(len(olds)), key=olds.__getitem__)
        for i in order:
            yield olds[i], news[i]

    def _load(self, kind: str) -> dict[int, tuple[int, int | None]]:
        d = self._kind.get(kind)
        if d is None:
            d = {old: (new, g) for old, new, g in self._entries(kind)}
            self._kind[kind] = d
        return d

    def get(self, kind: str, old_id: int) -> int | None:
        if kind not in SHARED_KINDS:
            e = self._load(kind).get(int(old_id))
            return None if e is None else e[0]
        key = (kind, int(old_id))
        if key in self._cache:
            return self._cache[key]
        frm, cond = self._moved()
        m = self.idmap
        q = (
            select(m.c.new_id)
            .select_from(frm)
            .where(and_(m.c.table_name == kind, m.c.old_id == int(old_id), cond))
        )
        with self.engine.connect() as c:
            v = c.execute(q).scalar()
        self._cache[key] = None if v is None else int(v)
        return self._cache[key]

    def count(self, kind: str) -> int:
        frm, cond = self._moved()
        m = self.idmap
        q = select(func.count()).select_from(frm).where(and_(m.c.table_name == kind, cond))
        with self.engine.connect() as c:
            n = int(c.execute(q).scalar() or 0)
            if self._has_blocks and kind not in SHARED_KINDS:
                b = self.blocks
                n += int(c.execute(select(func.coalesce(func.sum(b.c.n), 0)).where(
                    self.book.mine(b), b.c.table_name == kind,
                    b.c.group_id.in_(self._done()))).scalar() or 0)
        return n

    def from_camap(self) -> bool:
        """The last migrate run of the source into the target read a Camap source."""
        if not inspect(self.engine).has_table(RUN):
            return False
        with self.engine.connect() as c:
            last = previous_run(c, self.book)
        return bool(last and (last.get("source_shape") or "") in CAMAP_SHAPES)

    def group_of(self, kind: str, old_id: int) -> int | None:
        """The SOURCE group id that owns a moved row (None for shared rows or unknown ids)."""
        if kind in SHARED_KINDS:
            return None
        e = self._load(kind).get(int(old_id))
        return None if e is None else e[1]
