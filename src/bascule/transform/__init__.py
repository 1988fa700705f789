"""Pure transform layer: plain source rows (dicts) in, Camap rows out. No database, no I/O.

Modules
- ``context``  TransformContext (shapes, id lookup, options, hooks, notes), TransformError
- ``rows``     transform_row(table, row, ctx), referenced_ids, ids_in_text; the tables'
               functions are in ``rows_people``, ``rows_catalog``, ``rows_activity``, their
               shared rules in ``fields``
- ``textids``  ids inside text columns (rights JSON, defaultOrders, CSV lists, operation data…),
               grant_contract_admin
- ``clean``    double-encoded UTF-8 detection/repair, zero dates
- ``baskets``  baskets for orders without one (synthetic keys, numbering, totals)
- ``columns``  the known target columns per shape, the source columns read (data)

The tables, their keys and references are in ``bascule.model.tables``.
"""

from .baskets import (
    BasketSynthesizer,
    is_synth_basket_key,
    order_basket_key,
    split_synth_basket_key,
    synth_basket_key,
    synth_basket_row,
)
from .clean import (
    detect_mojibake_columns,
    fix_date,
    is_invalid_date,
    looks_double_encoded,
    mojibake_stats,
    repair_text,
)
from .columns import PRODUCED_COLUMNS, SOURCE_COLUMNS, TARGET_COLUMNS, TEXT_COLUMNS
from .context import FALLBACK_DATETIME, TransformContext, TransformError
from .rows import (
    email_keys,
    ids_in_text,
    is_temporary_basket,
    order_window,
    referenced_ids,
    transform_row,
    transform_rows,
)
from .textids import grant_contract_admin

__all__ = [
    "BasketSynthesizer", "FALLBACK_DATETIME", "PRODUCED_COLUMNS", "SOURCE_COLUMNS",
    "TARGET_COLUMNS", "TEXT_COLUMNS", "TransformContext", "TransformError",
    "detect_mojibake_columns", "email_keys", "fix_date", "grant_contract_admin", "ids_in_text",
    "is_invalid_date", "is_synth_basket_key", "is_temporary_basket", "looks_double_encoded",
    "mojibake_stats", "order_basket_key", "order_window", "referenced_ids", "repair_text",
    "split_synth_basket_key", "synth_basket_key", "synth_basket_row", "transform_row",
    "transform_rows",
]
