"""Which database a set of reflected columns is: a Cagette one (and which shape) or a Camap one
(and which shape). Pure functions over ``{table: {column, ...}}``; the readers of the source
(``extract.source``) and of the target (``load.target``) reflect and call them.

The evidence is what the references name: camap-schema.md §3.1-§3.4 (the tables and columns
one side has and the other has not) and cagette-schema.md §2.
"""

from __future__ import annotations

CAGETTE = "cagette"
CAMAP = "camap"

#: Tables only a Cagette database has (plugins, producer space, technical tables).
CAGETTE_ONLY_TABLES = frozenset({
    "TmpBasket", "RemoteCatalog", "CagettePro", "PUserCompany", "PCatalog", "PProduct", "POffer",
    "Hosting", "Graph", "TxpProduct", "TxpCategory", "TxpSubCategory", "WConfig", "VendorStats",
    "MangopayUser", "MangopayCompany", "BufferedMail",
})
#: Tables only a Camap database has.
CAMAP_ONLY_TABLES = frozenset({"ProductDistributionStock", "NotificationMail", "migrations"})
#: Columns only a Cagette database has (``table.column``).
CAGETTE_ONLY_COLUMNS = (("Vendor", "offCagette"), ("Vendor", "vatNumber"), ("Vendor", "isTest"),
                        ("Vendor", "betaFlags"), ("User", "tutoState"),
                        ("Product", "txpProductId"), ("UserGroup", "rights2"),
                        ("Operation", "data2"), ("Group", "vatRates2"))
#: Columns only a Camap database has.
CAMAP_ONLY_COLUMNS = (("Vendor", "offCamap"), ("Vendor", "showPhone"),
                      ("Product", "stockTracking"),
                      ("Group", "daysAfterClosingBeforeHidingDutyPeriods"))


class ShapeError(ValueError):
    """The columns do not tell which database or shape this is (the message says why)."""


def _evidence(cols: dict[str, set[str]], tables, columns) -> list[str]:
    out = [f"table {t} exists" for t in sorted(tables) if t in cols]
    out += [f"{t}.{c} exists" for t, c in columns if c in cols.get(t, set())]
    return out


def detect_kind(cols: dict[str, set[str]], wanted: str = "auto") -> tuple[str, list[str]]:
    """("cagette" | "camap", the evidence). ``wanted`` ("auto", "cagette", "camap"): what the
    settings say; "auto" decides from the evidence, and a database with evidence of both is an
    error that asks to say which."""
    cagette = _evidence(cols, CAGETTE_ONLY_TABLES, CAGETTE_ONLY_COLUMNS)
    camap = _evidence(cols, CAMAP_ONLY_TABLES, CAMAP_ONLY_COLUMNS)
    if wanted == CAGETTE:
        return CAGETTE, ["source_kind = cagette (settings)"] + cagette
    if wanted == CAMAP:
        return CAMAP, ["source_kind = camap (settings)"] + camap
    if camap and cagette:
        raise ShapeError("the source has tables or columns of both Cagette ("
                         + "; ".join(cagette[:3]) + ") and Camap (" + "; ".join(camap[:3])
                         + "): set source_kind to 'cagette' or 'camap'")
    if camap:
        return CAMAP, camap
    return CAGETTE, cagette or ["no Camap-only table or column"]


def detect_camap_shape(cols: dict[str, set[str]]) -> tuple[str, list[str]]:
    """("2023" | "head", the evidence) of a Camap database."""
    head, old = [], []
    if "stockTracking" in cols.get("Product", set()):
        head.append("Product.stockTracking exists")
    if "daysAfterClosingBeforeHidingDutyPeriods" in cols.get("Group", set()):
        head.append("Group.daysAfterClosingBeforeHidingDutyPeriods exists")
    if "ProductDistributionStock" in cols:
        head.append("table ProductDistributionStock exists")
    if "groupType" in cols.get("Group", set()):
        old.append("Group.groupType exists")
    if "wholesale" in cols.get("Product", set()):
        old.append("Product.wholesale exists")
    if head and not old:
        return "head", head
    if old and not head:
        return "2023", old
    if head and old:
        # a Camap that kept some Cagette columns and ran the later migrations: the head rules
        # apply (flags bits, stock tracking); the extra columns are filled when known.
        return "head", head + ["(also " + "; ".join(old) + ")"]
    raise ShapeError("it does not look like a Camap database "
                     "(no Product.stockTracking nor Group.groupType)")
