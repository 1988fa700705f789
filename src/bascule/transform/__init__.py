"""Pure transform layer: plain source rows (dicts) in, Camap rows out. No database, no I/O.

Modules
- ``context``  TransformContext (shapes, id lookup, options, hooks, notes), TransformError
- ``rows``     transform_row(table, row, ctx), email_keys, referenced_ids, order_window
- ``textids``  ids inside text columns (rights JSON, defaultOrders, CSV lists, operation data…),
               grant_contract_admin
- ``clean``    double-encoded UTF-8 detection/repair, zero dates
- ``baskets``  baskets for orders without one (synthetic keys, numbering, totals)
- ``order``    TABLE_ORDER, TWO_PASS, FK_MAP, known target/source columns (data)
"""

from .baskets import (
    BasketSynthesizer, is_synth_basket_key, order_basket_key, split_synth_basket_key,
    synth_basket_key, synth_basket_row,
)
from .clean import (
    detect_mojibake_columns, fix_date, is_invalid_date, looks_double_encoded, mojibake_stats,
    repair_text,
)
from .context import FALLBACK_DATETIME, TransformContext, TransformError
from .order import (
    COMPOSITE_KEYS, FK_MAP, PRODUCED_COLUMNS, SOURCE_COLUMNS, TABLE_ORDER, TARGET_COLUMNS,
    TEXT_COLUMNS, TWO_PASS, Ref, fk_map,
)
from .rows import (
    email_keys, is_temporary_basket, order_window, referenced_ids, transform_row, transform_rows,
)
from .textids import grant_contract_admin

__all__ = [
    "BasketSynthesizer", "COMPOSITE_KEYS", "FALLBACK_DATETIME", "FK_MAP", "PRODUCED_COLUMNS",
    "Ref", "SOURCE_COLUMNS", "TABLE_ORDER", "TARGET_COLUMNS", "TEXT_COLUMNS", "TWO_PASS",
    "TransformContext", "TransformError", "detect_mojibake_columns", "email_keys", "fix_date",
    "fk_map", "grant_contract_admin", "is_invalid_date", "is_synth_basket_key",
    "is_temporary_basket", "looks_double_encoded", "mojibake_stats", "order_basket_key",
    "order_window", "referenced_ids", "repair_text", "split_synth_basket_key",
    "synth_basket_key", "synth_basket_row", "transform_row", "transform_rows",
]
