"""The ``[book]`` section of the configuration file: what the book replay reports.

Kept apart from the replay so that loading a configuration never compiles numba code.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from surveillance.book.schema import DEFAULT_DEPTH_BPS
from surveillance.config import SectionModel


class BookConfig(SectionModel):
    """Settings of the book stage; the defaults are the packaged defaults."""

    depth_bps: tuple[int, ...] = Field(
        DEFAULT_DEPTH_BPS,
        min_length=1,
        max_length=16,
        description="Distances from the mid, in whole basis points, within which the top-of-"
        "book rows report resting depth on each side (one bid and one ask column each).",
    )
    queue_max_ahead: int = Field(
        100,
        ge=1,
        le=10_000,
        description="Most orders listed (earliest first) in the queue evidence of one maker "
        "fill; the position and the quantity ahead always count them all.",
    )
    carry_over: bool = Field(
        False,
        description="Start each day from the orders the previous day left resting (its `open` "
        "partition). Only for a venue whose exports continue across midnight: under the "
        "contract as the validator reads it, every order's first event of a day is NEW or "
        "REJECT, and simulated days are independent, so the default starts from an empty book.",
    )
    chunk_rows: int = Field(
        262_144,
        ge=1_024,
        le=16_777_216,
        description="Journal rows read and replayed at a time: memory follows the open book "
        "and this chunk, not the length of the day.",
    )

    @field_validator("depth_bps")
    @classmethod
    def _distinct_and_in_range(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(b < 1 or b > 9_999 for b in value):
            raise ValueError("must hold whole basis points from 1 to 9999")
        if len(set(value)) != len(value):
            raise ValueError("must not repeat a distance")
        return value
