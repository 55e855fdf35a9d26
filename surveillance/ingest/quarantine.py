"""From failing rows to the quarantine: whole orders, whole trades, reason codes.

The gate names rows that fail a check. Dropping only those rows would let half an
order or half a trade into the curated lake (an order with a fill but no NEW, a
trade with one fill), which every later stage would misread. So the quarantine
grows from the failing rows by the contract's links:

1. an ``orders`` row that fails takes its whole order (same symbol and order_id);
   a ``trades`` row that fails takes the orders its fills belong to, whole;
2. a quarantined order takes the trades of its fills;
3. a quarantined trade takes both of its fills, the counterpart's included.

The expansion stops there: the counterpart's order keeps its other events in the
curated lake, so one bad order never cascades through the day's whole trade graph
(a market maker's order trades with hundreds of others). Rows added by the
expansion carry the reason ``order_quarantined`` or ``trade_quarantined``; rows
that failed a check carry every check they failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from surveillance.contract import EventType, Orders, Trades

#: Reason of a row quarantined because its order was (it failed no check itself).
ORDER_QUARANTINED = "order_quarantined"
#: Reason of a trade, or a fill, quarantined because its trade or an order of it was.
TRADE_QUARANTINED = "trade_quarantined"


@dataclass
class Quarantine:
    """Which rows of each dataset are quarantined, and why."""

    #: Dataset -> boolean array over the day's table, True where the row is quarantined.
    masks: dict[str, np.ndarray]
    #: Dataset -> reasons of each quarantined row, indexed by position, sorted codes.
    reasons: dict[str, pd.Series]

    def count(self, dataset: str) -> int:
        mask = self.masks.get(dataset)
        return int(mask.sum()) if mask is not None else 0

    def reason_counts(self) -> pd.DataFrame:
        """Rows per (dataset, reason), most frequent first (a row counts once per reason)."""
        rows = [
            (dataset, reason, int(count))
            for dataset, reasons in self.reasons.items()
            for reason, count in reasons.explode().value_counts().items()
        ]
        frame = pd.DataFrame(rows, columns=["dataset", "reason", "rows"])
        return frame.sort_values(
            ["rows", "dataset", "reason"], ascending=[False, True, True], kind="stable"
        ).reset_index(drop=True)


def expand(tables: Mapping[str, pd.DataFrame], failures: pd.DataFrame) -> Quarantine:
    """Grow the failing rows into whole orders and trades (see the module docstring).

    ``failures`` has one row per (dataset, position, reason) a check reported;
    ``position`` is the row's position in ``tables[dataset]``.
    """
    direct = {
        name: _positions(failures, name, len(table))
        for name, table in tables.items()
        if len(table) or name in set(failures["dataset"])
    }
    masks = {name: mask.copy() for name, mask in direct.items()}
    linked: dict[str, list[tuple[np.ndarray, str]]] = {}
    orders = tables.get(Orders.name)
    trades = tables.get(Trades.name)
    if orders is not None and trades is not None and len(orders):
        whole_orders, counterpart_fills, trade_mask = _expand_orders_and_trades(
            orders, trades, direct[Orders.name], direct[Trades.name]
        )
        linked[Orders.name] = [
            (whole_orders & ~direct[Orders.name], ORDER_QUARANTINED),
            (counterpart_fills & ~whole_orders & ~direct[Orders.name], TRADE_QUARANTINED),
        ]
        linked[Trades.name] = [(trade_mask & ~direct[Trades.name], ORDER_QUARANTINED)]
        masks[Orders.name] = whole_orders | counterpart_fills
        masks[Trades.name] = trade_mask
    reasons = {
        name: _reasons(failures, name, linked.get(name, [])) for name in masks if masks[name].any()
    }
    return Quarantine(masks, reasons)


def _positions(failures: pd.DataFrame, dataset: str, size: int) -> np.ndarray:
    mask = np.zeros(size, dtype=bool)
    mask[failures.loc[failures["dataset"] == dataset, "position"].to_numpy(dtype="int64")] = True
    return mask


def _expand_orders_and_trades(
    orders: pd.DataFrame, trades: pd.DataFrame, bad_orders: np.ndarray, bad_trades: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Masks of the whole quarantined orders, the counterpart fills and the trades."""
    is_fill = (orders[Orders.event_type] == EventType.FILL).to_numpy(dtype=bool, na_value=False)
    # Orders whose fills belong to a failing trade are seeded too: a trade leaves whole.
    failing_trade_keys = _keys(trades, Trades.trade_id, bad_trades)
    fills_of_failing = is_fill & _member(orders, Orders.trade_id, failing_trade_keys)
    seed_orders = _keys(orders, Orders.order_id, bad_orders | fills_of_failing)
    whole_orders = bad_orders | _member(orders, Orders.order_id, seed_orders)
    trade_keys = _union(failing_trade_keys, _keys(orders, Orders.trade_id, whole_orders & is_fill))
    trade_mask = bad_trades | _member(trades, Trades.trade_id, trade_keys)
    counterpart_fills = is_fill & _member(orders, Orders.trade_id, trade_keys)
    return whole_orders, counterpart_fills, trade_mask


def _keys(table: pd.DataFrame, column: str, mask: np.ndarray) -> pd.DataFrame:
    """Distinct (symbol, ``column``) pairs of the masked rows, nulls left out."""
    if not mask.any():
        return pd.DataFrame({"symbol": [], "key": []})
    picked = table.loc[mask, [Orders.symbol, column]].dropna()
    picked.columns = ["symbol", "key"]
    return picked.drop_duplicates(ignore_index=True)


def _union(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([a, b], ignore_index=True).drop_duplicates(ignore_index=True)


def _member(table: pd.DataFrame, column: str, keys: pd.DataFrame) -> np.ndarray:
    """Rows whose (symbol, ``column``) is among ``keys``.

    Filters on the key column alone first (one vectorised ``isin`` over the day) and
    checks the symbol only on those few candidates: ids are unique within a symbol,
    not across symbols.
    """
    result = np.zeros(len(table), dtype=bool)
    if keys.empty:
        return result
    candidates = np.flatnonzero(
        table[column].isin(keys["key"].unique()).to_numpy(dtype=bool, na_value=False)
    )
    if not len(candidates):
        return result
    pairs = pd.MultiIndex.from_arrays(
        [
            table[Orders.symbol].to_numpy(dtype=object)[candidates],
            table[column].to_numpy(dtype=object)[candidates],
        ]
    )
    wanted = pd.MultiIndex.from_arrays(
        [keys["symbol"].to_numpy(dtype=object), keys["key"].to_numpy(dtype=object)]
    )
    result[candidates[pairs.isin(wanted)]] = True
    return result


def _reasons(
    failures: pd.DataFrame, dataset: str, linked: list[tuple[np.ndarray, str]]
) -> pd.Series:
    own = failures.loc[failures["dataset"] == dataset, ["position", "reason"]]
    parts = [own]
    for mask, reason in linked:
        positions = np.flatnonzero(mask)
        parts.append(pd.DataFrame({"position": positions, "reason": [reason] * len(positions)}))
    long = pd.concat(parts, ignore_index=True).drop_duplicates()
    grouped = long.groupby("position", sort=True)["reason"].agg(lambda s: sorted(set(s)))
    grouped.index = grouped.index.astype("int64")
    return grouped
