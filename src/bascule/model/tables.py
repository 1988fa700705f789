"""The migration, described as data: every table bascule moves, in one place.

One :class:`TableSpec` per moved table, in load order (every table after the tables its
references point to, except the two-pass columns). Each says:

- ``scope``: ``"shared"`` rows (users, vendors, files) move once, because a moved row references
  them; ``"group"`` rows belong to one source group and move with it.
- ``key``: the target key columns (``("id",)``, or the columns of a composite key); for a
  composite key, ``source_key`` is the order in which the source row's key is hashed into the id
  map (``load.idmap.key_hash``: that order is part of the stored id map, never change it).
- ``refs``: every reference a row holds, by TARGET column name: plain foreign keys, ids in CSV or
  JSON text, and the polymorphic ``EntityFile.entityId``.
- ``owner``: for a group-scoped table, the column whose reference leads to the owning group
  (``Place.groupId`` → Group; ``UserOrder.productId`` → Product → Catalog → Group). The closure
  queries of ``extract``, the owner of each row in ``plan`` and the shared rows a unit needs are
  derived from these paths.
- ``two_pass``: columns inserted NULL and set by an UPDATE once every row of the unit is in
  (``Group.placeId`` ↔ ``Place.groupId``, ``Operation.relationId`` → Operation), where the
  target checks foreign keys row by row (with ``fk_checks=after`` the rows are written whole).
- ``optional``: a source may lack the table (its groups just have none of those rows);
  ``optional_columns`` / ``never_read``: source columns some databases lack, and columns never read
  (secrets).
- ``columns``: only for a table without a hand-written transform (``transform.rows``): the columns
  it carries (the same names in source and target); the generic transform copies them, maps the
  own id and every reference (a NOT NULL reference that does not move drops the row, a nullable
  one is nulled).

``MIGRATION`` is the move from Cagette to Camap, and from a Camap 2023 database. A current Camap
source moves one table more, ``ProductDistributionStock`` (``Migration.for_source``). Stages take
a :class:`Migration` as an argument (default ``MIGRATION``), so that a test can add a table to it
and see it moved and verified.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property

GROUP = "group"
SHARED = "shared"


@dataclass(frozen=True)
class Ref:
    """One reference held by a column.

    kind ``fk``   the column holds an id of ``table`` (``nullable``: NULL allowed in the target);
    kind ``csv``  comma-separated ids of ``table`` (``"12,13"``);
    kind ``json`` ids inside JSON, ``paths`` = ((json path, table), …); the paths are documentation
                  for people and tell which tables are referenced; ``transform.textids`` parses;
    kind ``poly`` the id's table depends on the column ``by`` of the same row: ``paths`` =
                  ((value of ``by``, table), …); other values → the row is dropped.

    ``follow``: a shared row referenced here moves because of this reference (False for
    ``Vendor.userId``, which bascule writes NULL: Camap would give that user rights).
    """

    table: str | None
    kind: str = "fk"
    nullable: bool = False
    paths: tuple[tuple[str, str], ...] = field(default=())
    by: str | None = None
    follow: bool = True

    def tables(self) -> tuple[str, ...]:
        """Every table this reference may point at."""
        if self.kind in ("json", "poly"):
            return tuple(dict.fromkeys(t for _p, t in self.paths))
        return (self.table,) if self.table else ()


@dataclass(frozen=True)
class TableSpec:
    """One moved table (see the module docstring)."""

    name: str
    scope: str
    refs: Mapping[str, Ref] = field(default_factory=dict)
    owner: str | None = None
    key: tuple[str, ...] = ("id",)
    source_key: tuple[str, ...] | None = None
    two_pass: tuple[str, ...] = ()
    optional: bool = False
    optional_columns: frozenset[str] = frozenset()
    never_read: frozenset[str] = frozenset()
    columns: tuple[str, ...] | None = None

    @property
    def composite(self) -> bool:
        return self.key != ("id",)

    @property
    def shared(self) -> bool:
        return self.scope == SHARED


_N = True  # nullable

#: The move from Cagette to Camap. The order is the load order: every table comes after the
#: tables its NOT NULL and nullable foreign keys point to, except the two-pass columns
#: (``Catalog.firstDistribId`` → MultiDistrib among them: NULL but from a current Camap source,
#: whose catalogs may name their first distribution). ``VolunteerRole``
#: (→ Group, Catalog) comes before ``MultiDistrib`` so that the ids of
#: ``MultiDistrib.volunteerRolesIds`` (a CSV, no constraint) also point backwards.
TABLES: tuple[TableSpec, ...] = (
    TableSpec("File", SHARED),
    TableSpec("User", SHARED, never_read=frozenset({"apiKey", "currentRefreshToken"}),
              optional_columns=frozenset({"pass2", "currentRefreshToken", "apiKey", "tutoState",
                                          "tosVersion"})),
    TableSpec("Vendor", SHARED, {
        "imageId": Ref("File", nullable=_N),
        "userId": Ref("User", nullable=_N, follow=False),
    }, optional_columns=frozenset({"production2", "production3"})),
    TableSpec("Group", GROUP, {
        "userId": Ref("User", nullable=_N), "legalReprId": Ref("User", nullable=_N),
        "imageId": Ref("File", nullable=_N), "placeId": Ref("Place", nullable=_N),
    }, owner="id", two_pass=("placeId",), optional_columns=frozenset({"disabled"})),
    TableSpec("Place", GROUP, {"groupId": Ref("Group")}, owner="groupId"),
    TableSpec("Catalog", GROUP, {
        "groupId": Ref("Group"), "userId": Ref("User", nullable=_N), "vendorId": Ref("Vendor"),
        "firstDistribId": Ref("MultiDistrib", nullable=_N),
    }, owner="groupId", two_pass=("firstDistribId",)),
    TableSpec("Product", GROUP, {"catalogId": Ref("Catalog"),
                                 "imageId": Ref("File", nullable=_N)}, owner="catalogId"),
    TableSpec("VolunteerRole", GROUP, {"groupId": Ref("Group"),
                                       "catalogId": Ref("Catalog", nullable=_N)},
              owner="groupId", optional=True),
    TableSpec("DistributionCycle", GROUP, {"groupId": Ref("Group"), "placeId": Ref("Place")},
              owner="groupId", optional=True),
    TableSpec("MultiDistrib", GROUP, {
        "groupId": Ref("Group"), "placeId": Ref("Place"),
        "distributionCycleId": Ref("DistributionCycle", nullable=_N),
        "volunteerRolesIds": Ref("VolunteerRole", kind="csv", nullable=_N),
    }, owner="groupId", optional_columns=frozenset({"validatedStatus", "validatedDate"})),
    TableSpec("Distribution", GROUP, {
        "catalogId": Ref("Catalog"), "multiDistribId": Ref("MultiDistrib"),
        "placeId": Ref("Place"),
    }, owner="catalogId"),
    TableSpec("Subscription", GROUP, {
        "userId": Ref("User"), "userId2": Ref("User", nullable=_N), "catalogId": Ref("Catalog"),
        "defaultOrders": Ref(None, kind="json", nullable=_N,
                             paths=(("$[*].productId", "Product"), ("$[*].userId2", "User"))),
        "absentDistribIds": Ref("Distribution", kind="csv", nullable=_N),
    }, owner="catalogId"),
    TableSpec("Basket", GROUP, {
        "multiDistribId": Ref("MultiDistrib"), "userId": Ref("User", nullable=_N),
        "data": Ref("Product", kind="json", paths=(("$.products[*].productId", "Product"),)),
    }, owner="multiDistribId"),
    TableSpec("UserOrder", GROUP, {
        "userId": Ref("User"), "userId2": Ref("User", nullable=_N), "productId": Ref("Product"),
        "distributionId": Ref("Distribution"), "basketId": Ref("Basket"),
        "subscriptionId": Ref("Subscription", nullable=_N),
    }, owner="productId"),
    TableSpec("Operation", GROUP, {
        "groupId": Ref("Group"), "userId": Ref("User"),
        "relationId": Ref("Operation", nullable=_N), "basketId": Ref("Basket", nullable=_N),
        "subscriptionId": Ref("Subscription", nullable=_N),
        "data": Ref(None, kind="json", nullable=_N,
                    paths=(("$.basketId", "Basket"), ("$.subscriptionId", "Subscription"),
                           ("$.contractId", "Catalog"))),
    }, owner="groupId", two_pass=("relationId",)),
    TableSpec("Membership", GROUP, {
        "groupId": Ref("Group"), "userId": Ref("User"),
        "distributionId": Ref("MultiDistrib", nullable=_N),
        "operationId": Ref("Operation", nullable=_N),
    }, owner="groupId", key=("year", "groupId", "userId"),
        source_key=("userId", "groupId", "year"), optional=True),
    TableSpec("UserGroup", GROUP, {
        "groupId": Ref("Group"), "userId": Ref("User"),
        "rights": Ref("Catalog", kind="json", nullable=_N,
                      paths=(("$[?right=='ContractAdmin'].params[*]", "Catalog"),)),
    }, owner="groupId", key=("groupId", "userId"), source_key=("userId", "groupId")),
    TableSpec("WaitingList", GROUP, {"amapId": Ref("Group"), "userId": Ref("User")},
              owner="amapId", key=("amapId", "userId"), source_key=("userId", "amapId"),
              optional=True),
    TableSpec("Volunteer", GROUP, {
        "userId": Ref("User"), "multiDistribId": Ref("MultiDistrib"),
        "volunteerRoleId": Ref("VolunteerRole"),
    }, owner="multiDistribId", key=("userId", "multiDistribId", "volunteerRoleId"),
        source_key=("userId", "multiDistribId", "volunteerRoleId"), optional=True),
    TableSpec("EntityFile", GROUP, {
        "fileId": Ref("File"),
        "entityId": Ref(None, kind="poly", by="entityType",
                        paths=(("group", "Group"), ("catalog", "Catalog"), ("vendor", "Vendor"))),
    }, owner="entityId", optional=True),
    TableSpec("Message", GROUP, {"amapId": Ref("Group", nullable=_N),
                                 "senderId": Ref("User", nullable=_N)},
              owner="amapId", optional=True,
              optional_columns=frozenset({"slateContent", "attachments", "recipients"})),
)

#: Target column → source column, where a source shape names it differently.
SOURCE_NAMES: dict[str, dict[tuple[str, str], str]] = {
    "2021": {
        ("Group", "vatRates"): "vatRates2",
        ("Group", "allowedPaymentsType"): "allowedPaymentsType2",
        ("UserGroup", "rights"): "rights2",
        ("Operation", "data"): "data2",
    },
    "2023": {},
}

#: The shape labels of a Camap source (a Cagette source is "2021" or "2023"): the same names in
#: source and target, no producer space, no shop mode.
CAMAP_SHAPES = ("camap-2023", "camap-head")

#: Stock per distribution (current Camap only, camap-schema.md §3.4): moved with its product
#: from a current Camap source.
PRODUCT_DISTRIBUTION_STOCK = TableSpec(
    "ProductDistributionStock", GROUP, {
        "productId": Ref("Product"), "startDistributionId": Ref("Distribution"),
        "endDistributionId": Ref("Distribution"),
    }, owner="productId", optional=True,
    columns=("id", "stockPerDistribution", "frequencyRatio", "productId", "startDistributionId",
             "endDistributionId"))

#: Producer-space tables read (never moved) to find linked catalogs and their producers.
PRODUCER_TABLES = ("RemoteCatalog", "CagettePro", "PUserCompany", "PCatalog")


@dataclass(frozen=True)
class Path:
    """How the rows of a group-scoped table are found from the unit's groups: ``column`` holds
    an id of ``parent`` (with ``by == value`` for a polymorphic reference)."""

    column: str
    parent: str
    by: str | None = None
    value: str | None = None


@dataclass(frozen=True)
class Migration:
    """The tables of one move, in load order, and what is derived from them."""

    tables: tuple[TableSpec, ...] = TABLES
    _shared_refs: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [t.name for t in self.tables]
        if len(set(names)) != len(names):
            raise ValueError(f"a table is listed twice: {names}")
        seen: set[str] = set()
        for t in self.tables:
            if t.scope not in (GROUP, SHARED):
                raise ValueError(f"{t.name}: scope must be {GROUP!r} or {SHARED!r}")
            if t.scope == GROUP and t.owner is None:
                raise ValueError(f"{t.name}: a group-scoped table needs an owner column")
            for p in self.paths(t.name) if t.scope == GROUP and t.owner != "id" else ():
                if p.parent not in seen:
                    raise ValueError(f"{t.name}.{p.column}: its owner {p.parent} must come "
                                     "first")
            seen.add(t.name)

    # -- lookups --------------------------------------------------------------------------------

    def __getitem__(self, name: str) -> TableSpec:
        return self.by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self.by_name

    def __iter__(self) -> Iterator[TableSpec]:
        return iter(self.tables)

    @cached_property
    def by_name(self) -> dict[str, TableSpec]:
        return {t.name: t for t in self.tables}

    @cached_property
    def order(self) -> tuple[str, ...]:
        """Every moved table, in load order."""
        return tuple(t.name for t in self.tables)

    @cached_property
    def shared(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tables if t.scope == SHARED)

    @cached_property
    def group(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tables if t.scope == GROUP)

    @cached_property
    def composite(self) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
        """Composite-key tables: (source key columns, target key columns)."""
        return {t.name: (t.source_key or t.key, t.key) for t in self.tables if t.composite}

    @cached_property
    def two_pass(self) -> dict[str, tuple[str, ...]]:
        return {t.name: t.two_pass for t in self.tables if t.two_pass}

    @cached_property
    def optional(self) -> frozenset[str]:
        return frozenset(t.name for t in self.tables if t.optional)

    def key(self, table: str) -> tuple[str, ...]:
        return self.by_name[table].key

    def source_column(self, source_shape: str, table: str, column: str) -> str:
        """The name a source shape gives a target column."""
        return SOURCE_NAMES.get(source_shape, {}).get((table, column), column)

    def refs(self, source_shape: str | None = None) -> dict[str, dict[str, Ref]]:
        """Every reference of every table, by target column names, or by the source column
        names of ``source_shape``."""
        names = SOURCE_NAMES.get(source_shape or "", {})
        return {t.name: {names.get((t.name, c), c): r for c, r in t.refs.items()}
                for t in self.tables}

    # -- ownership and closure --------------------------------------------------------------

    def paths(self, table: str) -> tuple[Path, ...]:
        """How rows of a group-scoped table are found from their owners (see ``Path``)."""
        spec = self.by_name[table]
        if spec.owner in (None, "id"):
            return ()
        ref = spec.refs[spec.owner]
        if ref.kind == "poly":
            return tuple(Path(spec.owner, t, ref.by, v) for v, t in ref.paths
                         if t in self.by_name and self.by_name[t].scope == GROUP)
        return (Path(spec.owner, ref.table),)

    def reads_by_group(self, table: str) -> bool:
        """True when the owner column of ``table`` holds the group id itself."""
        return all(p.parent == "Group" for p in self.paths(table))

    def chain(self, table: str) -> tuple[Path, ...]:
        """The owner paths from ``table`` up to Group (single-parent tables only)."""
        out: list[Path] = []
        t = table
        while t != "Group":
            ps = self.paths(t)
            if len(ps) != 1:
                raise ValueError(f"{t}: no single owner path to Group")
            out.append(ps[0])
            t = ps[0].parent
        return tuple(out)

    def shared_refs(self, source_shape: str) -> dict[str, list[tuple[str, str, Ref]]]:
        """Per table, the (source column, target column, reference) of the references that lead
        to a shared row that moves because of them (followed references; for a text column,
        one that holds ids of a shared table). Computed once per shape (read for every unit)."""
        found = self._shared_refs.get(source_shape)
        if found is None:
            found = self._shared_refs[source_shape] = self._find_shared_refs(source_shape)
        return found

    def _find_shared_refs(self, source_shape: str) -> dict[str, list[tuple[str, str, Ref]]]:
        shared = set(self.shared)
        names = SOURCE_NAMES.get(source_shape, {})
        out: dict[str, list[tuple[str, str, Ref]]] = {}
        for t in self.tables:
            triples = [(names.get((t.name, c), c), c, r) for c, r in t.refs.items()
                       if r.follow and r.kind != "poly" and set(r.tables()) & shared]
            if triples:
                out[t.name] = triples
        return out

    # -- building other migrations ----------------------------------------------------------

    def for_source(self, shape: str) -> "Migration":
        """The tables a source of that shape moves: these, and ``ProductDistributionStock`` for
        a current Camap source (its target must be a current Camap too)."""
        if shape != "camap-head" or PRODUCT_DISTRIBUTION_STOCK.name in self.by_name:
            return self
        return self.with_table(PRODUCT_DISTRIBUTION_STOCK, after="Distribution")

    def with_table(self, spec: TableSpec, *, after: str | None = None) -> "Migration":
        """This migration with one more table (at the end, or right after ``after``)."""
        tables = list(self.tables)
        at = len(tables) if after is None else self.order.index(after) + 1
        tables.insert(at, spec)
        return replace(self, tables=tuple(tables))


#: The move from Cagette to Camap.
MIGRATION = Migration()
