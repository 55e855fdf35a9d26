"""One symbol's trading day: price process, agents and the event loop around the engine.

The simulation is a discrete-event loop over one heap of timed callbacks. Agents
*decide* at a gateway time, looking at the book as the engine has it then, and
their instruction *arrives* at the engine one gateway-to-engine latency later;
the engine processes instructions strictly in order of arrival. Latency is drawn
for every participant from one distribution (log-normal around 350 µs with rare
millisecond spikes), so instructions overtake each other at the engine now and
then on a clean day too.

Prices follow an exogenous log-random walk on a 100 ms grid with Markov volatility
regimes (calm, normal, volatile), plus a venue-local impact term that taker flow
pushes and that decays with a half-life of minutes: large client orders move the
price, which is what front-running profits from. The external reference index
tracks the exogenous path (other venues do not see this venue's impact).

Agents: the affiliated market maker (two accounts quoting a four-level ladder on
each side with inventory skew, heavy quote churn and occasional hedging, plus a
HOUSE account trading treasury flows); external market makers; hundreds of small
clients (marketable and passive orders of odd sizes, cancels, replaces, FOK and
post-only orders, an occasional risk reject); institutional clients working large
parent orders in slices; momentum traders; and leveraged clients whose positions
the venue's liquidation engine closes (``origin = LIQUIDATION``) when the last
trade price crosses their liquidation price.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

import numpy as np

from surveillance.simulate.engine import (
    BUY,
    CLIENT_ORIGIN,
    FOK,
    GTC,
    IOC,
    LIMIT,
    LIQUIDATION_ORIGIN,
    MARKET,
    NULL,
    POST_ONLY,
    SELL,
    Engine,
    Journal,
    Order,
)
from surveillance.simulate.rand import Rand
from surveillance.simulate.venue import InstrumentSpec, Population

SECOND = 1_000_000_000
DAY_NS = 86_400 * SECOND
GRID_NS = 100_000_000  # price grid step: 100 ms
STOP_NS = DAY_NS - 2 * SECOND  # no decisions after this; in-flight instructions still land

ARRIVAL, DECISION = 0, 1

# Volatility regimes: multiplier of volatility and of activity, mean duration (min).
REGIME_VOL = (0.6, 1.0, 2.2)
REGIME_ACTIVITY = (0.7, 1.0, 1.8)
REGIME_MINUTES = (120.0, 240.0, 30.0)

# Background agents, by share of decisions.
AGENT_WEIGHTS = (("amm", 0.12), ("retail", 0.62), ("xmm", 0.14), ("momentum", 0.06))
AMM_LEVELS = 4  # per side: AMM-1 quotes levels 0-1, AMM-2 levels 2-3
N_LEVERAGED = 90  # retail accounts that hold leveraged positions


def latency_ns(rng: Rand) -> int:
    """One gateway-to-engine latency, the same distribution for every participant.

    Log-normal with median 350 µs (σ 0.4, at least 30 µs); with probability 1.5 % a
    spike drawn uniformly in 1-6 ms.
    """
    return rng.latency()


class SymbolSim:
    """Simulate one symbol's day into a :class:`Journal`.

    Parameters
    ----------
    spec
        The instrument.
    index
        Its position in the day's instrument list (seeds its random stream).
    population
        The venue's accounts.
    seed
        The run's seed.
    target_rows
        Approximate number of order-journal rows to produce.
    truth
        Record the engine's best bid/ask after every row.
    progress
        Called with the number of new journal rows from time to time.
    """

    def __init__(
        self,
        spec: InstrumentSpec,
        index: int,
        population: Population,
        seed: int,
        target_rows: int,
        *,
        truth: bool = False,
        progress: Callable[[int], object] | None = None,
    ) -> None:
        self.spec = spec
        self.index = index
        self.pop = population
        self.rng = Rand([seed, index, 1_000_003])
        self.journal = Journal(truth)
        self.engine = Engine(self.journal)
        self.engine.on_fill = self._on_fill
        self.engine.on_stp = self._on_stp
        self.target_rows = max(1000, int(target_rows))
        self.progress = progress
        self._reported = 0
        self.heap: list[tuple[int, int, int, Callable[[Any], object], Any]] = []
        self._counter = 0
        self.now = 0
        self.next_oid = 1
        self.entity_of = population.entity_of
        self.tick = spec.tick_size
        self.lot = spec.lot_size
        self.size_scale = math.sqrt(spec.weight / 0.34)
        self._paths()
        ticks_per_bp = self.px0_ticks * 1e-4
        self.ticks_per_bp = ticks_per_bp
        # The AMM quotes a level-0 spread of 40% of its obligation and steps 10% per level.
        self.amm_half = max(1.0, 0.20 * spec.mm_max_spread_bps * ticks_per_bp)
        self.amm_step = max(1.0, 0.10 * spec.mm_max_spread_bps * ticks_per_bp)
        self.min_quote_lots = spec.min_quote_lots
        self.impact_per_lot = 2.0e-4 / self.lots_at(50_000.0 * self.size_scale, spec.price)
        self.impact = 0.0
        self.impact_t = 0
        self.impact_tau = 180.0 * SECOND
        # AMM state.
        amm1, amm2 = population.amm
        self.amm_accounts = (amm1, amm2)
        self.group_entity = self.entity_of[amm1]
        self.amm_inventory = 0
        self.amm_slots: list[list[Any]] = []
        for level in range(AMM_LEVELS):
            acct = amm1 if level < 2 else amm2
            for side in (BUY, SELL):
                self.amm_slots.append([acct, side, level, None])
        self.amm_base_lots = [
            max(self.min_quote_lots * 2, self.lots_at(k * 30_000.0 * self.size_scale, spec.price))
            for k in (1.0, 1.4, 2.0, 2.8)
        ]
        self.amm_hedge_lots = 5 * self.amm_base_lots[0]
        self.amm_frozen_until = 0
        self.amm_override: dict[str, float] = {}
        self.amm_wake_pending = False
        # External market makers: two levels per side each, a little wider than the AMM.
        self.xmm_slots: dict[int, list[list[Any]]] = {}
        self.xmm_half: dict[int, float] = {}
        for acct in population.by_kind["xmm"]:
            self.xmm_slots[acct] = [[acct, s, lv, None] for lv in range(2) for s in (BUY, SELL)]
            self.xmm_half[acct] = self.amm_half * self.rng.uniform(1.15, 1.7)
        self.retail = population.by_kind["retail"]
        self.leveraged = self.retail[:N_LEVERAGED]
        self.inst = population.by_kind["inst"]
        self.momentum = population.by_kind["momentum"]
        self.house = population.house
        self.mid_history: list[tuple[int, int]] = []
        # Liquidation engine: heaps of (key, n, position) for longs and shorts.
        self._longs: list[tuple[int, int, list[int]]] = []
        self._shorts: list[tuple[int, int, list[int]]] = []
        self._npos = 0
        self.liquidation_listeners: list[Callable[[Order], None]] = []
        weights = [w for _, w in AGENT_WEIGHTS]
        total = sum(weights)
        acc = 0.0
        self._agent_cum = []
        for w in weights:
            acc += w / total
            self._agent_cum.append(acc)
        self._agents = [getattr(self, f"_agent_{name}") for name, _ in AGENT_WEIGHTS]
        self._rows_per_tick = 1.7
        self._ticks = 0
        self._ticks_at_control = 0
        self._rows_at_control = 0
        self.scale = (
            self.target_rows / (86_400.0 * self._rows_per_tick) / float(np.mean(self.activity))
        )

    # ------------------------------------------------------------- processes
    def _paths(self) -> None:
        """Regimes, the exogenous price, the client flow bias and the activity profile."""
        g = self.rng.gen
        minutes = 1440
        regime = np.empty(minutes, dtype=np.int64)
        state = 1
        for m in range(minutes):
            if g.random() < 1.0 / REGIME_MINUTES[state]:
                state = int(g.choice([s for s in range(3) if s != state]))
            regime[m] = state
        self.regime_by_minute = regime.tolist()
        steps = DAY_NS // GRID_NS
        vol_step = self.spec.daily_vol / math.sqrt(steps)
        mult = np.asarray(REGIME_VOL)[np.repeat(regime, steps // minutes)]
        increments = g.standard_normal(steps) * vol_step * mult
        log_path = np.concatenate([[0.0], np.cumsum(increments)[:-1]])
        self.px0_ticks = round(self.spec.price / self.tick)
        self.fair_grid: list[float] = (self.px0_ticks * np.exp(log_path)).tolist()
        # Reference index: the exogenous path at 1 s with a small AR(1) basis.
        per_second = self.fair_grid[:: SECOND // GRID_NS]
        basis = np.zeros(len(per_second))
        noise = g.standard_normal(len(per_second)) * 0.3e-4
        for k in range(1, len(basis)):
            basis[k] = 0.98 * basis[k - 1] + noise[k]
        self.reference = np.asarray(per_second) * self.tick * (1.0 + basis)
        # Client flow bias: P(client buys) = 0.5 + bias, an OU process at 1 s.
        seconds = 86_400
        tau = 300.0
        a = math.exp(-1.0 / tau)
        sd = 0.30 * math.sqrt(1.0 - a * a)
        shocks = g.standard_normal(seconds) * sd
        bias = np.empty(seconds)
        b = 0.0
        for k in range(seconds):
            b = a * b + shocks[k]
            bias[k] = b
        self.flow_bias: list[float] = np.clip(bias, -0.45, 0.45).tolist()
        # Activity: a daily cycle times the regime's activity multiplier.
        t = np.arange(seconds) / 86_400.0
        cycle = 1.0 + 0.35 * np.sin(2.0 * math.pi * (t - 0.3))
        act = cycle * np.asarray(REGIME_ACTIVITY)[np.repeat(regime, 60)]
        self.activity: list[float] = act.tolist()
        cum = np.cumsum(act)
        self.activity_cum: list[float] = (cum / cum[-1]).tolist()

    def regime(self, t: int) -> int:
        return int(self.regime_by_minute[min(1439, t // (60 * SECOND))])

    def fair(self, t: int | None = None) -> float:
        """Fair value in ticks: the exogenous path moved by decaying venue impact."""
        t = self.now if t is None else t
        if t != self.impact_t:
            self.impact *= math.exp(-(t - self.impact_t) / self.impact_tau)
            self.impact_t = t
        return self.fair_grid[min(len(self.fair_grid) - 1, t // GRID_NS)] * (1.0 + self.impact)

    def bias(self, t: int | None = None) -> float:
        t = self.now if t is None else t
        return self.flow_bias[min(86_399, t // SECOND)]

    def lots_at(self, notional: float, price: float) -> int:
        return max(1, int(notional / price / self.lot + 0.5))

    def lots(self, notional: float) -> int:
        """Quote-currency notional in whole lots at the current fair price."""
        return max(1, int(notional / (self.fair() * self.tick) / self.lot + 0.5))

    def touch(self) -> tuple[int, int]:
        """Best bid and ask, falling back on fair value around an empty side."""
        bb = self.engine.best_bid()
        ba = self.engine.best_ask()
        if bb == NULL or ba == NULL:
            f = self.fair()
            if bb == NULL:
                bb = int(f - self.amm_half * 2)
            if ba == NULL:
                ba = int(f + self.amm_half * 2) + 1
        return bb, ba

    def reach(self, side: int, qty: int, bound: int = NULL) -> tuple[int, int]:
        """Limit price for a ``side`` taker to meet ``qty`` lots of other entities' orders.

        Walks the opposite side from its best price (not past ``bound`` when given)
        and returns ``(limit, available)``: the price at which non-group liquidity
        reaches ``qty`` (or the deepest one seen) and how much there is up to it;
        ``(NULL, 0)`` when there is none. The affiliated market maker uses it to trade
        against others rather than run into its own quotes.
        """
        opp = 1 - side
        ge = self.group_entity
        levels = self.engine.levels[opp]
        avail = 0
        limit = NULL
        for p in self.engine.prices(opp):
            if bound != NULL and (p > bound if side == BUY else p < bound):
                break
            other = sum(o.leaves for o in levels[p] if o.ent != ge)
            if other:
                avail += other
                limit = p
                if avail >= qty:
                    break
        return limit, avail

    # ----------------------------------------------------------- event loop
    def at(self, t: int, fn: Callable[[Any], object], arg: Any = None) -> None:
        """Schedule a decision ``fn(arg)`` at time ``t`` (dropped after the stop time)."""
        self._counter += 1
        heappush(self.heap, (t, self._counter, DECISION, fn, arg))

    def order(
        self,
        acct: int,
        side: int,
        otype: int,
        tif: int,
        price: int,
        qty: int,
        origin: int = CLIENT_ORIGIN,
    ) -> Order:
        o = Order(self.next_oid, acct, self.entity_of[acct], side, otype, tif, price, qty, origin)
        self.next_oid += 1
        return o

    def send_new(self, o: Order, gw: int | None = None, lat: int | None = None) -> int:
        """Send ``o`` to the gateway at ``gw`` (default now); returns its engine arrival."""
        gw = self.now if gw is None else gw
        arrival = gw + (self.rng.latency() if lat is None else lat)
        o.pending += 1
        self._counter += 1
        heappush(self.heap, (arrival, self._counter, ARRIVAL, self._arrive_new, (o, gw)))
        return arrival

    def send_cancel(self, o: Order, gw: int | None = None, lat: int | None = None) -> int:
        gw = self.now if gw is None else gw
        arrival = gw + (self.rng.latency() if lat is None else lat)
        o.pending += 1
        self._counter += 1
        heappush(self.heap, (arrival, self._counter, ARRIVAL, self._arrive_cancel, (o, gw)))
        return arrival

    def send_replace(
        self, o: Order, price: int, qty: int, gw: int | None = None, lat: int | None = None
    ) -> int:
        gw = self.now if gw is None else gw
        arrival = gw + (self.rng.latency() if lat is None else lat)
        o.pending += 1
        self._counter += 1
        heappush(
            self.heap, (arrival, self._counter, ARRIVAL, self._arrive_replace, (o, price, qty, gw))
        )
        return arrival

    def _engine_time(self) -> int:
        last = self.engine.last_time
        return self.now if self.now > last else last + 1

    def _arrive_new(self, arg: tuple[Order, int]) -> None:
        o, gw = arg
        o.pending -= 1
        self.engine.new(o, self._engine_time(), gw)

    def _arrive_cancel(self, arg: tuple[Order, int]) -> None:
        o, gw = arg
        o.pending -= 1
        self.engine.cancel(o, self._engine_time(), gw)

    def _arrive_replace(self, arg: tuple[Order, int, int, int]) -> None:
        o, price, qty, gw = arg
        o.pending -= 1
        self.engine.replace(o, price, qty, self._engine_time(), gw)

    def run(self, injectors: list[Any] | None = None) -> None:
        """Simulate the whole day."""
        self.at(0, self._tick)
        self.at(0, self._agent_amm)
        self.at(60 * SECOND, self._control)
        for acct in self.xmm_slots:
            self.at(int(self.rng.uniform(0, 2) * SECOND), self._quote_xmm, acct)
        self._schedule_institutional()
        self._open_positions(0, 40, 0.025)
        for hour in range(1, 24):
            self.at(hour * 3600 * SECOND, self._hourly_positions)
        for injector in injectors or []:
            injector.schedule(self)
        heap = self.heap
        while heap:
            t, _, kind, fn, arg = heappop(heap)
            if kind == DECISION and t >= STOP_NS:
                continue
            self.now = t
            fn(arg)
        self.journal.flush()
        if self.progress is not None:
            self.progress(len(self.journal) - self._reported)

    def _control(self, _: Any = None) -> None:
        """Steer the background rate so the day ends near its target number of rows.

        Every ten simulated minutes: measure the journal rows per background tick over
        the last period (smoothed), and set the tick rate so the next period produces
        its share of the target plus a third of the shortfall so far.
        """
        rows = len(self.journal)
        if self.progress is not None:
            self.progress(rows - self._reported)
            self._reported = rows
        period = 600
        now_s = min(86_399, self.now // SECOND)
        ticks = self._ticks - self._ticks_at_control
        if ticks > 20:
            measured = (rows - self._rows_at_control) / ticks
            self._rows_per_tick = 0.7 * self._rows_per_tick + 0.3 * max(0.2, measured)
        self._ticks_at_control = self._ticks
        self._rows_at_control = rows
        end_s = min(86_399, now_s + period)
        expected_now = self.target_rows * self.activity_cum[now_s]
        needed = self.target_rows * (self.activity_cum[end_s] - self.activity_cum[now_s])
        needed = max(0.2 * needed, needed + (expected_now - rows) / 3.0)
        weight = sum(self.activity[now_s:end_s]) or 1.0
        target_scale = needed / self._rows_per_tick / weight
        self.scale = min(3.0 * self.scale, max(self.scale / 3.0, target_scale))
        self.at(self.now + period * SECOND, self._control)

    def _tick(self, _: Any = None) -> None:
        """One background decision by an agent drawn by weight, then the next tick."""
        rng = self.rng
        self._ticks += 1
        self._agents[rng.weighted(self._agent_cum)]()
        rate = self.scale * self.activity[min(86_399, self.now // SECOND)]
        self._counter += 1
        heappush(
            self.heap,
            (self.now + 1 + int(rng.exp(SECOND / rate)), self._counter, DECISION, self._tick, None),
        )

    # -------------------------------------------------------------- hooks
    def _on_fill(self, maker: Order, taker: Order, price: int, qty: int, tid: int, t: int) -> None:
        sign = 1.0 if taker.side == BUY else -1.0
        self.fair(t)
        self.impact += sign * qty * self.impact_per_lot
        ge = self.group_entity
        if maker.ent == ge:
            self.amm_inventory += qty if maker.side == BUY else -qty
            if not self.amm_wake_pending:
                self.amm_wake_pending = True
                self.at(t + int(self.rng.uniform(2e6, 40e6)), self._agent_amm, True)
        if taker.ent == ge:
            self.amm_inventory += qty if taker.side == BUY else -qty
        # Liquidation engine: positions whose liquidation price the last trade crossed.
        longs = self._longs
        while longs and -longs[0][0] >= price:
            self._liquidate(heappop(longs)[2], SELL, t)
        shorts = self._shorts
        while shorts and shorts[0][0] <= price:
            self._liquidate(heappop(shorts)[2], BUY, t)

    def _on_stp(self, order: Order, t: int) -> None:
        if order.ent == self.group_entity and not self.amm_wake_pending:
            self.amm_wake_pending = True
            self.at(t + int(self.rng.uniform(2e6, 40e6)), self._agent_amm, True)

    # ------------------------------------------------------------ the AMM
    def amm_ladder(self) -> list[tuple[int, int]]:
        """The AMM's wanted (price, size) for every ladder slot now, in slot order.

        Centred on fair value shifted against its inventory (skew), a half-spread
        that widens in the volatile regime, levels a fixed step apart; an injector's
        override may scale the half-spread (``half_mult``) or fix the size
        (``size_lots``).
        """
        ov = self.amm_override
        f = self.fair()
        half = self.amm_half * (1.3 if self.regime(self.now) == 2 else 1.0)
        half *= ov.get("half_mult", 1.0)
        limit = 4.0 * self.amm_base_lots[0]
        skew = max(-1.0, min(1.0, self.amm_inventory / limit)) * half * 0.6
        center = f - skew
        fixed = int(ov["size_lots"]) if "size_lots" in ov else 0
        out = []
        for _, side, level, _ in self.amm_slots:
            off = half + level * self.amm_step
            price = math.floor(center - off) if side == BUY else math.ceil(center + off)
            size = fixed or self.amm_base_lots[level]
            out.append((max(1, price), max(1, size)))
        return out

    def _agent_amm(self, reactive: Any = None) -> None:
        if reactive is True:
            self.amm_wake_pending = False
        if self.now < self.amm_frozen_until:
            return
        rng = self.rng
        tol = max(1, int(self.amm_half * 0.08))
        # Deeper levels tolerate more drift before a requote (less churn) but not so
        # much that they pass the level above; under an override every level follows.
        deep_tol = tol if self.amm_override else max(tol, int(self.amm_step * 0.6))
        max_level = int(self.amm_override.get("levels", AMM_LEVELS))
        ladder = self.amm_ladder()
        for k, slot in enumerate(self.amm_slots):
            acct, side, level, o = slot
            if o is not None and o.pending:
                continue
            if level >= max_level:
                if o is not None and o.live:
                    self.send_cancel(o)
                continue
            price, size = ladder[k]
            if o is None or not o.live:
                o = self.order(acct, side, LIMIT, GTC, price, size)
                slot[3] = o
                self.send_new(o)
                continue
            if abs(o.price - price) >= (deep_tol if level else tol):
                if rng.u() < 0.15:
                    # Churn as cancel and new rather than replace.
                    self.send_cancel(o)
                    o2 = self.order(acct, side, LIMIT, GTC, price, size)
                    slot[3] = o2
                    self.send_new(o2)
                else:
                    self.send_replace(o, price, o.qty - o.leaves + size)
            elif o.leaves < size // 2 or o.leaves > 2 * size:
                self.send_replace(o, o.price, o.qty - o.leaves + size)
            elif rng.u() < 0.12:
                # Size flicker: a reduction keeps priority, an increase loses it.
                new_leaves = max(1, int(o.leaves * rng.uniform(0.8, 1.15)))
                if new_leaves != o.leaves:
                    self.send_replace(o, o.price, o.qty - o.leaves + new_leaves)
        inv = self.amm_inventory
        if abs(inv) > self.amm_hedge_lots and rng.u() < 0.25 and "hold" not in self.amm_override:
            self._hedge(inv)
        if rng.u() < 0.004:
            self._house_trade()

    def _hedge(self, inv: int) -> None:
        """AMM-2 takes liquidity to cut half of an inventory beyond its limit."""
        side = SELL if inv > 0 else BUY
        bb, ba = self.touch()
        price = bb - 2 if side == SELL else ba + 2
        o = self.order(self.amm_accounts[1], side, LIMIT, IOC, max(1, price), abs(inv) // 2)
        self.send_new(o)

    def _house_trade(self) -> None:
        """A treasury rebalancing trade by the group's HOUSE account."""
        side = BUY if self.rng.u() < 0.5 else SELL
        bb, ba = self.touch()
        qty = self.lots(self.rng.lognormal(8_000.0, 0.6) * self.size_scale)
        if self.rng.u() < 0.5:
            price = ba + 1 if side == BUY else bb - 1
            self.send_new(self.order(self.house, side, LIMIT, IOC, max(1, price), qty))
        else:
            price = bb - self.rng.integer(0, 5) if side == BUY else ba + self.rng.integer(0, 5)
            o = self.order(self.house, side, LIMIT, GTC, max(1, price), qty)
            self.send_new(o)
            self.at(self.now + int(self.rng.exp(120.0) * SECOND), self._cancel_if_open, o)

    def amm_quote_now(self) -> None:
        """Requote the AMM ladder now and again once in-flight instructions have landed.

        Used when an override starts or ends: a slot whose previous instruction is
        still in flight is skipped by the first pass and caught by the second.
        """
        self._agent_amm()
        self.at(self.now + 50 * 1_000_000, self._agent_amm)

    def amm_cancel_all(self) -> list[Order]:
        """Cancel every AMM ladder order; returns the orders cancelled."""
        out = []
        for slot in self.amm_slots:
            o = slot[3]
            if o is not None and o.live and not o.pending:
                self.send_cancel(o)
                out.append(o)
        return out

    def amm_order(self, side: int, level: int = 0) -> Order | None:
        """The AMM ladder order resting in one slot, if any."""
        for slot in self.amm_slots:
            if slot[1] == side and slot[2] == level:
                o: Order | None = slot[3]
                return o if o is not None and o.live and not o.pending else None
        return None

    # --------------------------------------------------- external MMs
    def _agent_xmm(self) -> None:
        accts = list(self.xmm_slots)
        self._quote_xmm(accts[self.rng.below(len(accts))])

    def _quote_xmm(self, acct: int) -> None:
        rng = self.rng
        f = self.fair()
        half = self.xmm_half[acct] * (1.5 if self.regime(self.now) == 2 else 1.0)
        tol = max(1, int(half * 0.15))
        for slot in self.xmm_slots[acct]:
            _, side, level, o = slot
            if o is not None and o.pending:
                continue
            off = half + level * self.amm_step * 1.5
            price = math.floor(f - off) if side == BUY else math.ceil(f + off)
            size = self.lots(rng.lognormal(18_000.0, 0.4) * self.size_scale)
            if o is None or not o.live:
                o = self.order(acct, side, LIMIT, POST_ONLY if rng.u() < 0.5 else GTC, price, size)
                slot[3] = o
                self.send_new(o)
            elif abs(o.price - price) >= tol:
                if o.tif == POST_ONLY or rng.u() < 0.3:
                    self.send_cancel(o)
                    slot[3] = None
                else:
                    self.send_replace(o, price, o.qty - o.leaves + size)

    # ---------------------------------------------------------- clients
    def _agent_retail(self) -> None:
        rng = self.rng
        r = rng.u()
        acct = self.retail[rng.below(len(self.retail))]
        # Clients herd: their demand leans with the flow bias, their urgent orders more so.
        lean = self.bias() * (1.6 if r < 0.40 else 1.0)
        side = BUY if rng.u() < 0.5 + lean else SELL
        qty = self.lots(min(50_000.0, rng.lognormal(250.0, 1.3)))
        bb, ba = self.touch()
        touch = ba if side == BUY else bb
        sgn = 1 if side == BUY else -1
        if r < 0.12:
            o = self.order(acct, side, MARKET, IOC, NULL, qty)
        elif r < 0.30:
            o = self.order(acct, side, LIMIT, IOC, max(1, touch + sgn * rng.integer(0, 3)), qty)
        elif r < 0.34:
            o = self.order(acct, side, LIMIT, FOK, max(1, touch + sgn * rng.integer(0, 6)), qty)
        elif r < 0.40:
            o = self.order(acct, side, LIMIT, GTC, max(1, touch + sgn * rng.integer(0, 2)), qty)
            self.at(self.now + int(rng.exp(60.0) * SECOND) + SECOND, self._cancel_if_open, o)
        elif r < 0.46:
            # Post-only near the touch; some would cross and are rejected.
            own = bb if side == BUY else ba
            price = own + sgn * rng.integer(-3, int(self.amm_half * 2.5))
            o = self.order(acct, side, LIMIT, POST_ONLY, max(1, price), qty)
            self.at(self.now + int(rng.exp(90.0) * SECOND) + SECOND, self._cancel_if_open, o)
        else:
            own = bb if side == BUY else ba
            depth = int(rng.exp(self.amm_half * 1.5))
            price = own - sgn * depth if rng.u() < 0.85 else own + sgn * rng.integer(1, 3)
            o = self.order(acct, side, LIMIT, GTC, max(1, price), qty)
            life = int(rng.exp(150.0) * SECOND) + SECOND
            if rng.u() < 0.1:
                self.at(self.now + life // 2, self._reprice, o)
            self.at(self.now + life, self._cancel_if_open, o)
        if rng.u() < 0.003:
            o.reject = True  # fails the venue's pre-trade risk check
        self.send_new(o)

    def _cancel_if_open(self, o: Order) -> None:
        if o.live and not o.pending:
            self.send_cancel(o)

    def _reprice(self, o: Order) -> None:
        """A client moves a resting order toward the touch (loses priority) or trims it."""
        if not o.live or o.pending:
            return
        if self.rng.u() < 0.5 and o.leaves > 1:
            self.send_replace(o, o.price, o.qty - o.leaves // 2)
        else:
            step = 1 + self.rng.below(max(1, int(self.amm_half)))
            price = o.price + step if o.side == BUY else o.price - step
            self.send_replace(o, max(1, price), o.qty)

    def _agent_momentum(self) -> None:
        rng = self.rng
        bb, ba = self.touch()
        mid = (bb + ba) // 2
        hist = self.mid_history
        if not hist or self.now - hist[-1][0] > 10 * SECOND:
            hist.append((self.now, mid))
            if len(hist) > 12:
                del hist[0]
        past = hist[0][1]
        move = (mid - past) / self.ticks_per_bp
        threshold = 4.0 * REGIME_VOL[self.regime(self.now)]
        if abs(move) < threshold:
            return
        side = BUY if move > 0 else SELL
        acct = self.momentum[rng.below(len(self.momentum))]
        qty = self.lots(rng.lognormal(3_000.0, 0.8) * self.size_scale)
        if rng.u() < 0.5:
            self.send_new(self.order(acct, side, MARKET, IOC, NULL, qty))
        else:
            price = ba + rng.integer(0, 4) if side == BUY else bb - rng.integer(0, 4)
            self.send_new(self.order(acct, side, LIMIT, IOC, max(1, price), qty))

    # ------------------------------------------------------ institutional
    def _schedule_institutional(self) -> None:
        rng = self.rng
        for _ in range(rng.integer(3, 8)):
            start = int(rng.uniform(600, 80_000) * SECOND)
            acct = self.inst[rng.below(len(self.inst))]
            # Institutions share the clients' demand: their side leans with the flow bias.
            side = BUY if rng.u() < 0.5 + 1.5 * self.bias(start) else SELL
            slices = rng.integer(6, 25)
            notional = rng.lognormal(45_000.0, 0.4) * self.size_scale
            self.at(start, self._parent_slice, [acct, side, slices, notional])

    def parent_slice_order(self, acct: int, side: int, notional: float) -> Order:
        """One slice of an institutional parent order: marketable, capped a few ticks deep."""
        rng = self.rng
        qty = self.lots(notional * rng.uniform(0.8, 1.2))
        bb, ba = self.touch()
        if rng.u() < 0.3:
            return self.order(acct, side, MARKET, IOC, NULL, qty)
        cap = int(self.amm_half * rng.uniform(1.0, 3.0))
        price = ba + cap if side == BUY else bb - cap
        return self.order(acct, side, LIMIT, IOC, max(1, price), qty)

    def _parent_slice(self, state: list[Any]) -> None:
        acct, side, left, notional = state
        self.send_new(self.parent_slice_order(acct, side, notional))
        if left > 1:
            state[2] = left - 1
            self.at(self.now + int((5.0 + self.rng.exp(40.0)) * SECOND), self._parent_slice, state)

    # -------------------------------------------------------- liquidations
    def open_position(self, acct: int, long: bool, liq_price: int, qty: int) -> list[int]:
        """Register a leveraged position the liquidation engine will close at ``liq_price``."""
        pos = [acct, liq_price, qty]
        self._npos += 1
        if long:
            heappush(self._longs, (-liq_price, self._npos, pos))
        else:
            heappush(self._shorts, (liq_price, self._npos, pos))
        return pos

    def _open_positions(self, _: Any, count: int, median_distance: float) -> None:
        rng = self.rng
        f = self.fair()
        for _k in range(count):
            acct = self.leveraged[rng.below(len(self.leveraged))]
            long = rng.u() < 0.5
            dist = min(0.2, rng.lognormal(median_distance, 0.6))
            liq = int(f * (1.0 - dist)) if long else int(f * (1.0 + dist))
            qty = self.lots(min(80_000.0, rng.lognormal(6_000.0, 0.8)) * self.size_scale)
            self.open_position(acct, long, liq, qty)

    def _hourly_positions(self, _: Any = None) -> None:
        self._open_positions(None, self.rng.integer(3, 8), 0.012)

    def _liquidate(self, pos: list[int], side: int, t: int) -> None:
        acct, _, qty = pos[:3]
        pos.append(t)  # marks the position as liquidated
        o = self.order(acct, side, MARKET, IOC, NULL, qty, LIQUIDATION_ORIGIN)
        self.at(t + int(self.rng.uniform(1e6, 20e6)), self._send_liquidation, o)

    def _send_liquidation(self, o: Order) -> None:
        self.send_new(o)
        for listener in self.liquidation_listeners:
            listener(o)
