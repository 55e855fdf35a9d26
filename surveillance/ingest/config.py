"""The ``[ingest]`` section of the configuration file: the data-quality gate's thresholds.

Kept apart from the gate itself so that loading a configuration never imports
Great Expectations (which takes seconds to import).
"""

from __future__ import annotations

from pydantic import Field

from surveillance.config import SectionModel


class IngestConfig(SectionModel):
    """Thresholds of the data-quality gate; the defaults are the packaged defaults."""

    max_quarantine_share: float = Field(
        0.001,
        ge=0.0,
        le=1.0,
        description="Largest share of a day's events (orders and trades rows) that may be "
        "quarantined before the day fails; 0.001 is 0.1%.",
    )
    min_order_events: int = Field(
        1,
        ge=0,
        description="Fewest orders rows a day must hold; a day below it (an empty export) "
        "fails rather than passing silently with nothing to analyse.",
    )
    report_examples: int = Field(
        5,
        ge=1,
        le=100,
        description="Example rows shown per quarantine reason in the data-quality report.",
    )
    result_rows_kept: int = Field(
        200,
        ge=0,
        description="Failing rows listed per expectation in the saved GX results JSON; the "
        "counts are always complete and every row is in the quarantine dataset.",
    )
