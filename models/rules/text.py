"""Formatting helpers for the plain-language explanations analysts read."""

from __future__ import annotations

import pandas as pd

from features.data import SymbolDay


def hms(ns: int) -> str:
    """``HH:MM:SS.mmm`` UTC of a nanosecond timestamp."""
    stamp = pd.Timestamp(int(ns), unit="ns", tz="UTC")
    return stamp.strftime("%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}"


def secs(ns: float) -> str:
    """A duration in seconds with sensible precision."""
    value = float(ns) / 1e9
    if abs(value) >= 100:
        return f"{value:,.0f} s"
    if abs(value) >= 1:
        return f"{value:.1f} s"
    return f"{value * 1000:.1f} ms"


def qty(data: SymbolDay, value: float) -> str:
    """A quantity with the instrument's base asset (``3.2 BTC``)."""
    base = data.instrument.get("base_asset") or ""
    text = f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return f"{text} {base}".strip()


def price(value: float) -> str:
    return f"{value:,.8g}"


def bps(value: float) -> str:
    return f"{value:+.1f} bps"


def num(value: float) -> str:
    return f"{value:,.3g}"
