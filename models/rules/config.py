"""The ``[rules]`` configuration section: one table of parameters per rule detector.

Its defaults are the packaged defaults (``models/rules/defaults.toml`` states them
as a file, versioned with the code; a test keeps the two equal). Unknown keys and
bad values are refused on load with the key and what is allowed.
"""

from __future__ import annotations

from pydantic import Field

from models.rules.integrity import WashTradeParams
from surveillance.config import SectionModel


class RulesConfig(SectionModel):
    """Parameters of every rule detector, one table each (``[rules.<name>]``)."""

    wash_trade: WashTradeParams = Field(default_factory=WashTradeParams)
