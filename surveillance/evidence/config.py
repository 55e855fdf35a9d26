"""The ``[evidence]`` configuration section: what packs and review reports cover."""

from __future__ import annotations

from pydantic import Field

from surveillance.config import SectionModel


class EvidenceConfig(SectionModel):
    """Settings of evidence packs and the independent review report.

    The defaults are the packaged defaults; a configuration file states only what it
    changes, for example ``[evidence]`` ``margin_seconds = 600``.
    """

    margin_seconds: float = Field(
        300.0,
        ge=0,
        description="Market data before and after each case window that a pack carries, so "
        "a reviewer sees the market the conduct happened in, not only the conduct.",
    )
    report_max_rows: int = Field(
        200,
        ge=10,
        description="Most rows of orders or trades printed in a pack's report.html; the "
        "complete tables are always in data/.",
    )
    markout_horizons_seconds: tuple[float, ...] = Field(
        (1.0, 10.0, 60.0),
        min_length=1,
        description="Horizons of the review report's client markouts (mid price this many "
        "seconds after each trade against the trade price).",
    )
    sequencing_window_seconds: float = Field(
        1.0,
        gt=0,
        description="Two instructions whose gateway times are at most this far apart count "
        "as a pair in the review report's sequencing statistics.",
    )
