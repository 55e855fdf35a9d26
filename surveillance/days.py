"""Trading days: a UTC calendar day, as the contract defines it (the market runs 24/7)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from surveillance.errors import InputError


def parse_day(value: str | dt.date) -> dt.date:
    """The trading day named by ``YYYY-MM-DD`` (or a date, returned as is).

    Raises
    ------
    InputError
        If the text is not a calendar date in ISO form.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InputError(
            f"date {value!r} is not a trading day: expected YYYY-MM-DD, for example 2026-01-31"
        ) from exc


def day_bounds(day: dt.date) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The half-open UTC interval [start, end) of a trading day."""
    start = pd.Timestamp(day, tz="UTC")
    return start, start + pd.Timedelta(days=1)


def day_range(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every trading day from ``first`` to ``last`` inclusive."""
    if last < first:
        raise InputError(f"date range {first} to {last} is empty: the end is before the start")
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
