"""Rule detectors of the MARKET_INTEGRITY family."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from features.data import NS, SymbolDay
from features.integrity import same_group_trades
from models.rules import text
from models.rules.base import DetectorOutput, RuleDetector, candidates_frame
from surveillance.config import SectionModel
from surveillance.contract import Role, Typology

GroupRole = Literal["AFFILIATED_MM", "HOUSE", "EXTERNAL_MM", "CLIENT"]


class WashTradeParams(SectionModel):
    """Parameters of ``rule:wash_trade``."""

    enabled: bool = Field(True, description="Run this detector.")
    group_roles: tuple[GroupRole, ...] = Field(
        ("AFFILIATED_MM", "HOUSE"),
        description="Roles that make up the operator's group: a trade between two accounts "
        "with these roles is a wash trade even across entity ids.",
    )
    flag_roles: tuple[GroupRole, ...] = Field(
        ("AFFILIATED_MM", "HOUSE"),
        description="A same-entity or same-group trade is alerted when one of its sides has "
        "one of these roles (same-entity trades of clients are a different surveillance).",
    )
    episode_gap_s: float = Field(
        60.0,
        gt=0,
        description="Same-pair trades less than this many seconds apart form one episode "
        "(one alert).",
    )


class WashTrade(RuleDetector):
    """Trades with no change of beneficial ownership involving the operator's group."""

    name = "wash_trade"
    typology = Typology.MI_WASH_TRADE
    version = "1.0.0"
    help = (
        "Flags trades whose buyer and seller are the same entity, or two accounts of the "
        "operator's group (AMM and HOUSE), grouped into episodes per account pair. The "
        "alert names the group account that initiated the trade (the taker) and compares "
        "the episode's volume with the account's day volume."
    )
    params_model = WashTradeParams

    def run(self, data: SymbolDay, params: WashTradeParams) -> DetectorOutput:
        trades = same_group_trades(data, frozenset(params.group_roles))
        flag: set[str] = set(params.flag_roles)
        keep = np.isin(trades["buy_role"], list(flag)) | np.isin(trades["sell_role"], list(flag))
        trades = trades.loc[keep].sort_values(["pair", "t"], kind="stable").reset_index(drop=True)
        if trades.empty:
            return DetectorOutput(trades, candidates_frame([]))
        gap = int(params.episode_gap_s * NS)
        new_episode = (trades["pair"] != trades["pair"].shift()) | (
            trades["t"].diff().fillna(gap + 1) > gap
        )
        trades["episode"] = np.cumsum(new_episode.to_numpy()) - 1
        tv = data.trade_view
        median_trade = float(np.median(tv["qty"])) if len(tv) else float("nan")
        rows = []
        for _, ep in trades.groupby("episode", sort=True):
            account = _flagged_account(ep, data, flag)
            other = (
                ep["sell_account"].iloc[0]
                if ep["buy_account"].iloc[0] == account
                else ep["buy_account"].iloc[0]
            )
            account_volume = float(
                tv.loc[
                    (tv["buy_account"] == account) | (tv["sell_account"] == account), "qty"
                ].sum()
            )
            volume = float(ep["qty"].sum())
            share = volume / account_volume if account_volume else 1.0
            same_entity = bool(ep["same_entity"].all())
            entity = data.entity_of.get(account, "?")
            relation = (
                f"of the same entity {entity}"
                if same_entity
                else f"of the operator's group ({data.role_of.get(other, '?')})"
            )
            # A wash trade is a breach in itself: it starts at twice the threshold,
            # and grows with its size against the typical trade.
            excess = 2.0 + np.log2(1.0 + volume / median_trade) / 4.0 if median_trade else 2.0
            explanation = (
                f"{account} traded {len(ep)} time(s) with {other}, an account {relation}, "
                f"between {text.hms(ep['t'].min())} and {text.hms(ep['t'].max())} UTC: "
                f"{text.qty(data, volume)} at {text.price(ep['price'].min())}"
                f"-{text.price(ep['price'].max())}, with no change in beneficial ownership. "
                f"That is {share:.1%} of {account}'s volume today; a typical trade in "
                f"{data.symbol} is {text.qty(data, median_trade)}."
            )
            rows.append(
                {
                    "account_id": account,
                    "window_start": int(ep["t"].min()),
                    "window_end": int(ep["t"].max()),
                    "excess": float(excess),
                    "order_ids": sorted(set(ep["buy_order"]) | set(ep["sell_order"])),
                    "trade_ids": sorted(ep["trade_id"]),
                    "explanation": explanation,
                    "features": {
                        "n_trades": len(ep),
                        "volume": volume,
                        "notional": float(ep["notional"].sum()),
                        "counterparty": other,
                        "same_entity": same_entity,
                        "baseline_median_trade_qty": median_trade,
                        "share_of_account_volume": share,
                    },
                }
            )
        features = trades[
            [
                "trade_id",
                "t",
                "price",
                "qty",
                "buy_account",
                "sell_account",
                "buy_role",
                "sell_role",
                "same_entity",
                "group",
                "episode",
            ]
        ]
        return DetectorOutput(features, candidates_frame(rows))


def _flagged_account(ep: pd.DataFrame, data: SymbolDay, flag: set[str]) -> str:
    """The group account an analyst should look at: the AMM first, then the taker."""
    first = ep.iloc[0]
    taker, maker = first["taker_account"], first["maker_account"]
    amm = Role.AFFILIATED_MM.value
    for account in (taker, maker):
        if data.role_of.get(account) == amm:
            return str(account)
    for account in (taker, maker):
        if data.role_of.get(account) in flag:
            return str(account)
    return str(taker)
