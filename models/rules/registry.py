"""The one registry of rule detectors, keyed by name (``rule:<name>``).

Each entry declares its typology, version, help text and parameter model; the
``[rules]`` configuration section has one table per entry (``models.rules.config``)
and ``docs/typologies.md`` documents each one (a test fails otherwise).
"""

from __future__ import annotations

from models.rules.base import RuleDetector
from models.rules.front_running import FlowAnticipation, TradingAhead
from models.rules.integrity import LiquidationHunting, ObligationBreach, WashTrade
from models.rules.preferential import OffMarketExecution, PriorityBreach, SequencingAdvantage
from models.rules.spread import QuoteFade, Spoofing, SpreadWidening

#: Every rule detector, in the typology order of ``typologies.md``.
RULES: dict[str, type[RuleDetector]] = {
    d.name: d
    for d in (
        TradingAhead,
        FlowAnticipation,
        PriorityBreach,
        SequencingAdvantage,
        OffMarketExecution,
        QuoteFade,
        SpreadWidening,
        Spoofing,
        WashTrade,
        LiquidationHunting,
        ObligationBreach,
    )
}


def get(name: str) -> type[RuleDetector]:
    """The detector registered as ``name`` (with or without the ``rule:`` prefix).

    Raises
    ------
    KeyError
        If no detector has that name; the message lists the registered names.
    """
    key = name.removeprefix("rule:")
    if key not in RULES:
        raise KeyError(f"no rule detector {name!r}; registered: {', '.join(RULES)}")
    return RULES[key]
