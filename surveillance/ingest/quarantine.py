"""From failing rows to the quarantine: whole orders, whole trades, reason codes.

The gate names rows that fail a check. Dropping only those rows would let half an
order or half a trade into the curated lake (an order with a fill but no NEW, a
trade with one fill, an order whose leaves quantity jumps because a fill is
missing), which every later stage would misread. So the quarantine grows from the
failing rows along the contract's links until nothing more is linked:

- an ``orders`` row that fails takes its whole order (same symbol and order_id);
- a ``trades`` row that fails takes its fills, hence their orders, whole;
- a quarantined order takes the trades of its fills, and a quarantined trade both
  of its fills, so the counterpart's order too, whole; and so on.

What is left in the curated lake is then closed: every order has all its events,
every fill its trade, every trade both fills. The set can grow beyond the failing
rows (an order that traded with a broken one is quarantined with it); the report
shows those rows under ``order_quarantined`` and ``trade_quarantined``, and the
gate's threshold counts them, so a defect that would take a large part of the day
fails the day instead of silently thinning it. On simulated and real venue days the
linked sets are small (orders live briefly; a day splits into many small groups of
orders that traded with each other).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from surveillance.contract import EventType, Orders, Trades

#: Reason of an orders row that failed no check itself but whose order is quarantined
#: (another of its rows failed, or it traded with a quarantined order or trade).
ORDER_QUARANTINED = "order_quarantined"
#: Reason of a trade that failed no check itself but has a fill in a quarantined order.
TRADE_QUARANTINED = "trade_quarantined"
LINKED_REASONS = frozenset({ORDER_QUARANTINED, TRADE_QUARANTINED})


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
        """Rows per (dataset, reason): failed checks first, most frequent first.

        A row counts once per reason. The linked reasons (``order_quarantined``,
        ``trade_quarantined``) come last: they are consequences, the failed checks
        are what an operator has to fix.
        """
        rows = [
            (dataset, reason, int(count), reason in LINKED_REASONS)
            for dataset, reasons in self.reasons.items()
            for reason, count in reasons.explode().value_counts().items()
        ]
        frame = pd.DataFrame(rows, columns=["dataset", "reason", "rows", "linked"])
        ordered = frame.sort_values(
            ["linked", "rows", "dataset", "reason"],
            ascending=[True, False, True, True],
            kind="stable",
        )
        return ordered.drop(columns="linked").reset_index(drop=True)


def expand(tables: Mapping[str, pd.DataFrame], failures: pd.DataFrame) -> Quarantine:
    """Grow the failing rows into whole orders and trades (see the module docstring).

    ``failures`` has one row per (dataset, position, reason) a check reported;
    ``position`` is the row's position in ``tables[dataset]``.
    """
    direct = {name: _positions(failures, name, len(table)) for name, table in tables.items()}
    masks = {name: mask.copy() for name, mask in direct.items()}
    linked: dict[str, list[tuple[np.ndarray, str]]] = {}
    orders = tables.get(Orders.name)
    trades = tables.get(Trades.name)
    if (
        orders is not None
        and trades is not None
        and (direct[Orders.name].any() or direct[Trades.name].any())
    ):
        order_mask, trade_mask = _linked_closure(
            orders, trades, direct[Orders.name], direct[Trades.name]
        )
        linked[Orders.name] = [(order_mask & ~direct[Orders.name], ORDER_QUARANTINED)]
        linked[Trades.name] = [(trade_mask & ~direct[Trades.name], TRADE_QUARANTINED)]
        masks[Orders.name] = order_mask
        masks[Trades.name] = trade_mask
    reasons = {
        name: _reasons(failures, name, linked.get(name, [])) for name in masks if masks[name].any()
    }
    return Quarantine(masks, reasons)


def _positions(failures: pd.DataFrame, dataset: str, size: int) -> np.ndarray:
    mask = np.zeros(size, dtype=bool)
    mask[failures.loc[failures["dataset"] == dataset, "position"].to_numpy(dtype="int64")] = True
    return mask


def _linked_closure(
    orders: pd.DataFrame, trades: pd.DataFrame, bad_orders: np.ndarray, bad_trades: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the orders rows and trades rows linked to a failing row through fills."""
    is_fill = (orders[Orders.event_type] == EventType.FILL).to_numpy(dtype=bool, na_value=False)
    fills = orders.loc[is_fill, [Orders.symbol, Orders.order_id, Orders.trade_id]].dropna()
    order_keys = _keys(orders, Orders.order_id, bad_orders)
    trade_keys = _keys(trades, Trades.trade_id, bad_trades)
    found_orders, found_trades = [], []
    for symbol in sorted(set(order_keys["symbol"]) | set(trade_keys["symbol"])):
        mine = fills[(fills[Orders.symbol] == symbol).to_numpy(dtype=bool)]
        fill_orders = mine[Orders.order_id].to_numpy(dtype=object)
        fill_trades = mine[Orders.trade_id].to_numpy(dtype=object)
        held_orders = set(order_keys.loc[order_keys["symbol"] == symbol, "key"])
        held_trades = set(trade_keys.loc[trade_keys["symbol"] == symbol, "key"])
        while True:
            held_trades |= set(fill_trades[pd.Index(fill_orders).isin(list(held_orders))])
            grown = held_orders | set(fill_orders[pd.Index(fill_trades).isin(list(held_trades))])
            if len(grown) == len(held_orders):
                break
            held_orders = grown
        found_orders.append(pd.DataFrame({"symbol": symbol, "key": sorted(held_orders)}))
        found_trades.append(pd.DataFrame({"symbol": symbol, "key": sorted(held_trades)}))
    all_orders = pd.concat(found_orders, ignore_index=True) if found_orders else order_keys
    all_trades = pd.concat(found_trades, ignore_index=True) if found_trades else trade_keys
    order_mask = bad_orders | _member(orders, Orders.order_id, all_orders)
    trade_mask = bad_trades | _member(trades, Trades.trade_id, all_trades)
    return order_mask, trade_mask


def _keys(table: pd.DataFrame, column: str, mask: np.ndarray) -> pd.DataFrame:
    """Distinct (symbol, ``column``) pairs of the masked rows, nulls left out."""
    if not mask.any():
        return pd.DataFrame({"symbol": [], "key": []})
    picked = table.loc[mask, [Orders.symbol, column]].dropna()
    picked.columns = ["symbol", "key"]
    return picked.drop_duplicates(ignore_index=True)


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
