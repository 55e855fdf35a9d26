"""Seeded random draws, buffered so the event loop pays a list index, not a numpy call.

Every draw the simulator makes comes from one ``numpy.random.Generator`` per symbol,
seeded from the run's seed and the symbol's index, so the same arguments give the
same day byte for byte. Draws are taken from numpy in blocks and handed out one
by one as Python floats: calling the Generator for single values costs about a
microsecond each, which a ten-million-event day cannot afford.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence

import numpy as np

_BLOCK = 8192
# Gateway-to-engine latency: log-normal body with rare millisecond spikes.
LATENCY_MEDIAN_NS = 350_000.0
LATENCY_MIN_NS = 30_000.0
LATENCY_SPIKE_P = 0.015


class Rand:
    """Buffered uniform and normal draws from one seeded Generator."""

    def __init__(self, seed: int | Sequence[int]) -> None:
        self.gen = np.random.default_rng(seed)
        self._u: list[float] = []
        self._ui = 0
        self._n: list[float] = []
        self._ni = 0
        self._lat: list[int] = []
        self._li = 0

    def latency(self) -> int:
        """One gateway-to-engine latency in ns (see :func:`market.latency_ns`)."""
        i = self._li
        if i >= len(self._lat):
            g = self.gen
            spike = g.random(_BLOCK) < LATENCY_SPIKE_P
            body = np.maximum(LATENCY_MIN_NS, g.lognormal(math.log(LATENCY_MEDIAN_NS), 0.4, _BLOCK))
            spikes = g.uniform(1.0e6, 6.0e6, _BLOCK)
            self._lat = np.where(spike, spikes, body).astype(np.int64).tolist()
            i = 0
        self._li = i + 1
        return self._lat[i]

    def u(self) -> float:
        """A uniform draw in [0, 1)."""
        i = self._ui
        if i >= len(self._u):
            self._u = self.gen.random(_BLOCK).tolist()
            i = 0
        self._ui = i + 1
        return self._u[i]

    def n(self) -> float:
        """A standard normal draw."""
        i = self._ni
        if i >= len(self._n):
            self._n = self.gen.standard_normal(_BLOCK).tolist()
            i = 0
        self._ni = i + 1
        return self._n[i]

    def uniform(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * self.u()

    def exp(self, mean: float) -> float:
        """An exponential draw with the given mean."""
        return -mean * math.log(1.0 - self.u())

    def lognormal(self, median: float, sigma: float) -> float:
        return median * math.exp(sigma * self.n())

    def below(self, n: int) -> int:
        """A uniform integer in [0, n)."""
        return int(self.u() * n)

    def integer(self, lo: int, hi: int) -> int:
        """A uniform integer in [lo, hi] (both included)."""
        return lo + int(self.u() * (hi - lo + 1))

    def pick(self, items: Sequence[int]) -> int:
        return items[int(self.u() * len(items))]

    def weighted(self, cumulative: Sequence[float]) -> int:
        """Index drawn with probabilities given as a cumulative sum ending at 1."""
        return min(bisect_right(cumulative, self.u()), len(cumulative) - 1)

    def chance(self, p: float) -> bool:
        return self.u() < p
