"""The ``[rules]`` configuration section: one table of parameters per rule detector.

Its defaults are the packaged defaults (``models/rules/defaults.toml`` states them
as a file, versioned with the code; a test keeps the two equal). Unknown keys and
bad values are refused on load with the key and what is allowed.
"""

from __future__ import annotations

from pydantic import Field

from models.rules.front_running import FlowAnticipationParams, TradingAheadParams
from models.rules.integrity import (
    LiquidationHuntingParams,
    ObligationBreachParams,
    WashTradeParams,
)
from models.rules.preferential import (
    OffMarketParams,
    PriorityBreachParams,
    SequencingAdvantageParams,
)
from models.rules.spread import QuoteFadeParams, SpoofingParams, SpreadWideningParams
from surveillance.config import SectionModel


class RulesConfig(SectionModel):
    """Parameters of every rule detector, one table each (``[rules.<name>]``)."""

    trading_ahead: TradingAheadParams = Field(default_factory=TradingAheadParams)
    flow_anticipation: FlowAnticipationParams = Field(default_factory=FlowAnticipationParams)
    priority_breach: PriorityBreachParams = Field(default_factory=PriorityBreachParams)
    sequencing_advantage: SequencingAdvantageParams = Field(
        default_factory=SequencingAdvantageParams
    )
    off_market_execution: OffMarketParams = Field(default_factory=OffMarketParams)
    quote_fade: QuoteFadeParams = Field(default_factory=QuoteFadeParams)
    spread_widening: SpreadWideningParams = Field(default_factory=SpreadWideningParams)
    spoofing: SpoofingParams = Field(default_factory=SpoofingParams)
    wash_trade: WashTradeParams = Field(default_factory=WashTradeParams)
    liquidation_hunting: LiquidationHuntingParams = Field(default_factory=LiquidationHuntingParams)
    obligation_breach: ObligationBreachParams = Field(default_factory=ObligationBreachParams)
