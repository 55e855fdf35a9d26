"""The contract reader and validator: one landing day in, violations with reason codes out.

``read_landing_day`` reads and type-checks every file of a day (file-level failures
raise :class:`~surveillance.errors.ContractError`); ``find_violations`` runs the rule
registry ``RULES`` over it and returns one row per (rule, offending row). Ingest turns
the violations into its quarantine and data-quality report.
"""

from __future__ import annotations

from surveillance.validate.reader import (
    BOOKKEEPING_COLUMNS,
    FILE_COLUMN,
    ROW_COLUMN,
    LandingDay,
    conform_table,
    landing_day_from_tables,
    read_dataset_files,
    read_landing_day,
    to_contract_table,
)
from surveillance.validate.rules import (
    RULES,
    RULES_BY_CODE,
    VIOLATION_COLUMNS,
    Rule,
    find_violations,
    order_keys,
    prepare_in_background,
    rule_violations,
    trade_keys,
)

__all__ = [
    "BOOKKEEPING_COLUMNS",
    "FILE_COLUMN",
    "ROW_COLUMN",
    "RULES",
    "RULES_BY_CODE",
    "VIOLATION_COLUMNS",
    "LandingDay",
    "Rule",
    "conform_table",
    "find_violations",
    "landing_day_from_tables",
    "order_keys",
    "prepare_in_background",
    "read_dataset_files",
    "read_landing_day",
    "rule_violations",
    "to_contract_table",
    "trade_keys",
]
