"""Misconduct injectors: one per typology of ``shared/contract/typologies.md``.

Each injector schedules its incidents into free ten-minute slots of the symbol's
day (so two incidents never overlap and one cannot distort another's ground
truth), draws every timing, size and distance from a range scaled by the run's
``intensity`` (1 blatant, 0.3 subtle), acts through the same gateway and engine as
every other participant, and afterwards writes a label only if the journal really
shows the conduct: a priority-breach label exists only when the AMM's fill
actually jumped an earlier client order, a wash-trade label only cites trades
whose two sides belong to the group, and so on. Incidents whose conduct did not
materialise (the market moved away, nobody traded) leave no label.

Each incident's own intensity is the run's intensity times a draw in [0.7, 1],
recorded in the label's ``intensity`` column.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from surveillance.contract import Labels, Typology
from surveillance.simulate.engine import (
    BUY,
    CANCEL,
    GTC,
    IOC,
    LIMIT,
    MARKET,
    NEW,
    NULL,
    REPLACE,
    SELL,
    Order,
)
from surveillance.simulate.market import DAY_NS, SECOND, SymbolSim, latency_ns

MS = 1_000_000
US = 1_000
SLOT_NS = 600 * SECOND
RETRY_SPAN = 240 * SECOND  # an incident that cannot start within this gives up

#: A label's substance: window start and end (ns since midnight), order and trade numbers.
Span = tuple[int, int, list[int], list[int]]
FIRST_SLOT, LAST_SLOT = 3, 141  # keep clear of the day's first and last half hour


class Slots:
    """Ten-minute slots of one symbol's day, handed out without overlap."""

    def __init__(self, sim: SymbolSim) -> None:
        self.sim = sim
        self.free = [True] * (DAY_NS // SLOT_NS)

    def take(self, length: int = 1) -> int | None:
        """Start time of ``length`` consecutive free slots drawn at random, or None."""
        starts = [
            s for s in range(FIRST_SLOT, LAST_SLOT - length + 1) if all(self.free[s : s + length])
        ]
        if not starts:
            return None
        s = starts[self.sim.rng.below(len(starts))]
        for k in range(s, s + length):
            self.free[k] = False
        return s * SLOT_NS + int(self.sim.rng.uniform(10, 60) * SECOND)


class RowIndex:
    """Journal rows of a set of orders, for checking what became of them."""

    def __init__(self, sim: SymbolSim, oids: Iterable[int]) -> None:
        j = sim.journal
        wanted = np.fromiter(set(oids), dtype=np.int64)
        oid = np.frombuffer(j.oid, dtype=np.int64)
        rows = np.flatnonzero(np.isin(oid, wanted)).tolist()
        self.j = j
        self.rows: dict[int, list[int]] = {}
        for r in rows:
            self.rows.setdefault(int(oid[r]), []).append(r)

    def events(self, oid: int, etype: int | None = None) -> list[int]:
        """Row indices of the order's events (of one type if given), in seq order."""
        rows = self.rows.get(oid, [])
        return [r for r in rows if etype is None or self.j.etype[r] == etype]

    def time(self, row: int) -> int:
        return int(self.j.t[row])

    def gateway(self, row: int) -> int:
        return int(self.j.gw[row])


class Incident:
    """One injected instance of conduct, turned into a label once the day is done."""

    typology: Typology

    def __init__(self, inj: Injector, account: int, intensity: float, description: str) -> None:
        self.inj = inj
        self.account = account
        self.intensity = intensity
        self.description = description
        self.orders: list[Order] = []

    def track(self, o: Order) -> Order:
        o.track = []
        self.orders.append(o)
        return o

    def oids(self) -> list[int]:
        return [o.oid for o in self.orders]

    def finalize(self, sim: SymbolSim, rows: RowIndex) -> Span | None:
        """What the journal shows of the conduct, or None when it did not happen.

        Returns the window (start, end, in ns since midnight) and the order and
        trade numbers to cite.
        """
        raise NotImplementedError

    def label(
        self,
        sim: SymbolSim,
        start: int,
        end: int,
        orders: Iterable[int],
        trades: Iterable[int],
        day_ns: int,
    ) -> dict[str, Any]:
        from surveillance.simulate.writer import order_prefix, trade_prefix

        op, tp = order_prefix(sim.spec), trade_prefix(sim.spec)
        return {
            Labels.typology: self.typology.value,
            Labels.symbol: sim.spec.symbol,
            Labels.account_id: sim.pop.accounts[self.account].account_id,
            Labels.window_start: day_ns + start,
            Labels.window_end: day_ns + max(start, end),
            Labels.order_ids: [f"{op}{o}" for o in dict.fromkeys(orders)],
            Labels.trade_ids: [f"{tp}{t}" for t in sorted(set(trades))],
            Labels.intensity: round(self.intensity, 4),
            Labels.description: self.description,
        }


def fills(o: Order) -> list[int]:
    return [f[0] for f in o.track or []]


def fill_times(o: Order) -> list[int]:
    return [f[1] for f in o.track or []]


class Injector:
    """Schedules incidents of one typology on one symbol and labels them afterwards."""

    typology: Typology
    per_day = (3, 5)

    def __init__(self, sim: SymbolSim, slots: Slots, intensity: float) -> None:
        self.sim = sim
        self.slots = slots
        self.intensity = intensity
        self.incidents: list[Incident] = []

    def draw_intensity(self) -> float:
        return self.intensity * self.sim.rng.uniform(0.7, 1.0)

    def schedule(self, sim: SymbolSim) -> None:
        lo, hi = self.per_day
        for _ in range(sim.rng.integer(lo, hi)):
            t = self.slots.take()
            if t is not None:
                sim.at(t, self.attempt, t + RETRY_SPAN)

    def attempt(self, deadline: int) -> None:
        """Start an incident now if the market allows, else retry a little later in its slot."""
        if not self.start():
            t = self.sim.now + int(self.sim.rng.uniform(3, 15) * SECOND)
            if t < deadline:
                self.sim.at(t, self.attempt, deadline)

    def start(self) -> bool:
        raise NotImplementedError

    def labels(self, sim: SymbolSim, day_ns: int) -> list[dict[str, Any]]:
        oids = [oid for inc in self.incidents for oid in inc.oids()]
        rows = RowIndex(sim, oids)
        out = []
        for inc in self.incidents:
            span = inc.finalize(sim, rows)
            if span is not None:
                out.append(inc.label(sim, *span, day_ns=day_ns))
        return out

    # helpers
    def client(self) -> int:
        return self.sim.retail[self.sim.rng.below(len(self.sim.retail))]

    def amm_at_best(self, side: int) -> Order | None:
        """The AMM's level-0 quote on ``side`` if it rests at the best price, else None."""
        o = self.sim.amm_order(side, 0)
        if o is None or o.price != self.sim.engine.best(side):
            return None
        return o


# ---------------------------------------------------------------- front running
class TradingAhead(Injector):
    """FR_TRADING_AHEAD: the AMM trades ahead of an institutional parent's slices."""

    typology = Typology.FR_TRADING_AHEAD

    def start(self) -> bool:
        sim, rng = self.sim, self.sim.rng
        it = self.draw_intensity()
        acct = sim.inst[rng.below(len(sim.inst))]
        side = BUY if rng.u() < 0.5 else SELL
        n = rng.integer(4, 8)
        notional = rng.lognormal(70_000.0, 0.3) * sim.size_scale
        amm = sim.amm_accounts[rng.below(2)]
        inc = _TradingAheadIncident(self, amm, it, "")
        t = sim.now
        gaps = [rng.uniform(8, 30) for _ in range(n)]
        ahead = sorted({rng.below(n - 1) for _ in range(max(1, round(3 * it)))})
        variant = "resting" if rng.u() < 0.5 else "ioc"
        inc.description = (
            f"AMM trades ahead of {len(ahead)} of {n} slices of an institutional "
            f"{'buy' if side == BUY else 'sell'} parent, then reverses ({variant})"
        )
        for k in range(n):
            t += int(gaps[k] * SECOND)
            sim.at(t, inc.slice, (acct, side, notional))
            if k in ahead:
                lead = int((0.05 + it * rng.uniform(0.5, 4.0)) * SECOND)
                size = it * rng.uniform(0.4, 1.0)
                sim.at(t - lead, inc.ahead, (side, notional * size, k))
                back = int(rng.uniform(0.5, 3.0) * SECOND)
                sim.at(
                    t + back,
                    inc.reverse,
                    (side, variant, t + int(gaps[min(k + 1, n - 1)] * SECOND)),
                )
        self.incidents.append(inc)
        return True


class _TradingAheadIncident(Incident):
    typology = Typology.FR_TRADING_AHEAD

    def __init__(self, inj: Injector, account: int, intensity: float, description: str) -> None:
        super().__init__(inj, account, intensity, description)
        self.slices: list[Order] = []
        self.aheads: list[Order] = []
        self.reversals: list[Order] = []

    def slice(self, arg: tuple[int, int, float]) -> None:
        acct, side, notional = arg
        sim = self.inj.sim
        o = self.track(sim.parent_slice_order(acct, side, notional))
        self.slices.append(o)
        sim.send_new(o)

    def ahead(self, arg: tuple[int, float, int]) -> None:
        side, notional, _ = arg
        sim = self.inj.sim
        qty = sim.lots(notional)
        price, avail = sim.reach(side, qty)
        if price == NULL:
            return
        o = self.track(sim.order(self.account, side, LIMIT, IOC, price, min(qty, avail)))
        self.aheads.append(o)
        sim.send_new(o)

    def reverse(self, arg: tuple[int, str, int]) -> None:
        side, variant, next_slice = arg
        sim = self.inj.sim
        held = sum(f[3] for o in self.aheads for f in o.track or [])
        held -= sum(f[3] for o in self.reversals for f in o.track or [])
        if held <= 0:
            return
        opp = SELL if side == BUY else BUY
        bb, ba = sim.touch()
        if variant == "resting" and next_slice > sim.now:
            # Sell to the client's next slice: rest at the touch just before it arrives.
            price = ba if opp == SELL else bb
            o = self.track(sim.order(self.account, opp, LIMIT, GTC, price, held))
            sim.at(max(sim.now, next_slice - int(0.2 * SECOND)), lambda _: sim.send_new(o))
            sim.at(next_slice + 3 * SECOND, _cancel_open, (sim, o))
        else:
            price, avail = sim.reach(opp, held)
            if price == NULL:
                return
            o = self.track(sim.order(self.account, opp, LIMIT, IOC, price, min(held, avail)))
            sim.send_new(o)
        self.reversals.append(o)

    def finalize(self, sim: SymbolSim, rows: RowIndex) -> Span | None:
        slice_first = {o.oid: min(fill_times(o), default=None) for o in self.slices}
        ahead_ok = []
        for a in self.aheads:
            ts = fill_times(a)
            later = [t for t in slice_first.values() if t is not None and ts and t > max(ts)]
            if ts and later:
                ahead_ok.append(a)
        reversal_fills = [f for o in self.reversals for f in o.track or []]
        if not ahead_ok or not reversal_fills:
            return None
        start = min(min(fill_times(a)) for a in ahead_ok)
        end = max(f[1] for f in reversal_fills)
        orders = [o.oid for o in ahead_ok + self.reversals + self.slices if o.track]
        trades = [t for o in ahead_ok + self.reversals for t in fills(o)]
        trades += [t for o in self.slices for t in fills(o)]
        first_ahead = min(rows.time(rows.events(a.oid, NEW)[0]) for a in ahead_ok)
        return (min(start, first_ahead), end, orders, trades)


class FlowAnticipation(Injector):
    """FR_FLOW_ANTICIPATION: all day, the AMM trades in the direction clients will trade.

    Client demand comes in waves: several small client orders on one side over a
    minute and a half, the direction the clients' flow bias is heading. The AMM,
    which sees that demand coming, trades the same way shortly before each wave; at
    lower intensity it trades smaller, gets the direction right a little less often
    and the waves it anticipates are smaller. The label cites the AMM's orders and
    trades; the waves are ordinary client orders.
    """

    typology = Typology.FR_FLOW_ANTICIPATION

    def schedule(self, sim: SymbolSim) -> None:
        if sim.index > 0 and sim.rng.u() < 0.5:
            return
        it = self.draw_intensity()
        self.lead = sim.rng.uniform(20.0, 120.0)
        self.accuracy = 0.8 + 0.15 * it
        self.wave = (3 + round(2 * it), 6 + round(6 * it))
        # Waves and the AMM's orders ahead of them stay a small share of the day's rows.
        rows_per_hour = sim.target_rows / 24.0
        self.per_hour = min(8.0 + 40.0 * it, max(2.0, 0.002 * rows_per_hour))
        self.it = it
        acct = sim.amm_accounts[sim.rng.below(2)]
        self.inc = _FlowIncident(
            self,
            acct,
            it,
            f"AMM trades about {self.per_hour:.0f} times an hour {self.lead:.0f} s ahead of "
            f"waves of client orders, in their direction {self.accuracy:.0%} of the time",
        )
        self.incidents.append(self.inc)
        sim.at(int(sim.rng.uniform(60, 600) * SECOND), self.step, None)

    def step(self, _: Any) -> None:
        sim, rng = self.sim, self.sim.rng
        lead = int(self.lead * rng.uniform(0.7, 1.3) * SECOND)
        direction = BUY if sim.bias(sim.now + lead) > 0 else SELL
        side = direction
        if rng.u() > self.accuracy:
            side = SELL if direction == BUY else BUY
        qty = sim.lots(rng.uniform(1_500.0, 6_000.0) * (0.5 + self.it) * sim.size_scale)
        price, avail = sim.reach(side, qty)
        if price != NULL:
            o = self.inc.track(
                sim.order(self.inc.account, side, LIMIT, IOC, price, min(qty, avail))
            )
            sim.send_new(o)
        for _k in range(rng.integer(*self.wave)):
            sim.at(
                sim.now + lead + int(rng.uniform(0.0, 90.0) * SECOND), self.wave_order, direction
            )
        sim.at(sim.now + int(rng.exp(3600.0 / self.per_hour) * SECOND) + SECOND, self.step, None)

    def wave_order(self, side: int) -> None:
        """One client order of the wave: small, odd-sized and marketable."""
        sim, rng = self.sim, self.sim.rng
        qty = sim.lots(min(20_000.0, rng.lognormal(600.0, 1.0)))
        if rng.u() < 0.4:
            o = sim.order(self.client_account(), side, MARKET, IOC, NULL, qty)
        else:
            bb, ba = sim.touch()
            price = ba + rng.integer(0, 3) if side == BUY else bb - rng.integer(0, 3)
            o = sim.order(self.client_account(), side, LIMIT, IOC, max(1, price), qty)
        sim.send_new(o)

    def client_account(self) -> int:
        return self.sim.retail[self.sim.rng.below(len(self.sim.retail))]


class _FlowIncident(Incident):
    typology = Typology.FR_FLOW_ANTICIPATION

    def finalize(self, sim: SymbolSim, rows: RowIndex) -> Span | None:
        trades = [t for o in self.orders for t in fills(o)]
        if not trades:
            return None
        orders = [o.oid for o in self.orders if o.track]
        return (0, DAY_NS - 1, orders, trades)


# --------------------------------------------------------- preferential treatment
class PriorityBreach(Injector):
    """PT_PRIORITY_BREACH: the engine fills a later AMM order before an earlier client order."""

    typology = Typology.PT_PRIORITY_BREACH

    def start(self) -> bool:
        sim, rng = self.sim, self.sim.rng
        side = BUY if rng.u() < 0.5 else SELL
        best = sim.engine.best(side)
        if best == NULL:
            return False
        it = self.draw_intensity()
        amm = sim.amm_accounts[0]
        inc = _PriorityIncident(self, amm, it, "")
        client = self.client()
        qty = sim.lots(rng.lognormal(1_500.0, 0.8))
        inc.victim = inc.track(sim.order(client, side, LIMIT, GTC, best, qty))
        sim.send_new(inc.victim)
        inc.description = (
            f"engine matches the AMM's later {'bid' if side == BUY else 'offer'} before an "
            "earlier client order at the same price"
        )
        t = sim.now + int(rng.uniform(0.3, 3.0) * SECOND)
        sim.at(t, inc.join, sim.lots(rng.uniform(3_000.0, 12_000.0) * (0.4 + it) * sim.size_scale))
        self.incidents.append(inc)
        return True


class _PriorityIncident(Incident):
    typology = Typology.PT_PRIORITY_BREACH
    victim: Order
    jumper: Order | None = None

    def join(self, qty: int) -> None:
        sim, rng = self.inj.sim, self.inj.sim.rng
        v = self.victim
        if not v.live:
            return
        o = self.track(sim.order(self.account, v.side, LIMIT, GTC, v.price, qty))
        o.jump = True
        self.jumper = o
        sim.send_new(o)
        sim.at(sim.now + int(rng.uniform(0.1, 1.5) * SECOND), self.hit, None)
        sim.at(sim.now + int(rng.uniform(4.0, 8.0) * SECOND), self.end, None)

    def hit(self, _: Any) -> None:
        sim, rng = self.inj.sim, self.inj.sim.rng
        j = self.jumper
        if j is None or not j.live:
            return
        opp = SELL if j.side == BUY else BUY
        qty = max(1, int(j.leaves * rng.uniform(0.3, 0.9)))
        taker = self.track(sim.order(self.inj.client(), opp, LIMIT, IOC, j.price, qty))
        sim.send_new(taker)

    def end(self, _: Any) -> None:
        sim = self.inj.sim
        j = self.jumper
        if j is not None:
            sim.engine.clear_jump(j)
            _cancel_open((sim, j))
        _cancel_open((sim, self.victim))

    def finalize(self, sim: SymbolSim, rows: RowIndex) -> Span | None:
        j = self.jumper
        if j is None or not j.jumped:
            return None
        role = sim.pop.role_of
        accts = _accounts_of(rows, [oid for _, ahead in j.jumped for oid in ahead])
        breaches = [
            (tid, [oid for oid in ahead if role[accts[oid]] == "CLIENT"]) for tid, ahead in j.jumped
        ]
        breaches = [(tid, victims) for tid, victims in breaches if victims and tid in fills(j)]
        if not breaches:
            return None
        tids = [tid for tid, _ in breaches]
        victims = [oid for _, vs in breaches for oid in vs]
        times = [f[1] for f in j.track or [] if f[0] in tids]
        takers = [o.oid for o in self.orders if o is not j and o is not self.victim and o.track]
        start = rows.time(rows.events(j.oid, NEW)[0])
        return (start, max(times), [j.oid, *victims, *takers], tids)


def _accounts_of(rows: RowIndex, oids: list[int]) -> dict[int, int]:
    """Account of each order id, read from the journal."""
    j = rows.j
    oid = np.frombuffer(j.oid, dtype=np.int64)
    wanted = np.fromiter(set(oids), dtype=np.int64)
    idx = np.flatnonzero(np.isin(oid, wanted))
    acct = np.frombuffer(j.acct, dtype=np.int32)
    return {int(oid[i]): int(acct[i]) for i in idx.tolist()}


class SequencingAdvantage(Injector):
    """PT_SEQUENCING_ADVANTAGE: an AMM instruction sent after a client's is applied first."""

    typology = Typology.PT_SEQUENCING_ADVANTAGE

    def start(self) -> bool:
        sim, rng = self.sim, self.sim.rng
        quote_side = BUY if rng.u() < 0.5 else SELL
        client_side = SELL if quote_side == BUY else BUY
        it = self.draw_intensity()
        lat_c = max(300 * US, latency_ns(rng))
        lat_a = int(rng.uniform(3, 30) * US)
        delta = int(rng.uniform(0.1, 0.8) * (lat_c - lat_a - 20 * US))
        if rng.u() < 0.6:
            quote = self.amm_at_best(quote_side)
            if quote is None or quote.leaves < 2:
                return False
            inc = _SequencingIncident(self, quote.acct, it, "")
            inc.description = (
                "AMM cancel received at the gateway after a client's marketable order "
                "is applied before it"
            )
            qty = max(1, int(quote.leaves * rng.uniform(0.3, 1.0)))
            client = inc.track(sim.order(self.client(), client_side, LIMIT, IOC, quote.price, qty))
            inc.client = client
            sim.amm_frozen_until = sim.now + 3 * SECOND
            sim.send_new(client, lat=lat_c)
            inc.amm_order = inc.track(quote)
            sim.send_cancel(quote, gw=sim.now + delta, lat=lat_a)
        else:
            best = sim.engine.best(quote_side)
            if best == NULL:
                return False
            level = sim.engine.levels[quote_side][best]
            others = sum(o.leaves for o in level if o.ent != sim.group_entity)
            if others == 0:
                return False
            amm = sim.amm_accounts[1]
            inc = _SequencingIncident(self, amm, it, "")
            inc.description = (
                "AMM order received at the gateway after a client's marketable order takes "
                "the liquidity the client was hitting, applied before the client's order"
            )
            qty = max(1, int(others * rng.uniform(0.5, 1.0)))
            client = inc.track(
                sim.order(
                    self.client(),
                    client_side,
                    LIMIT,
                    IOC,
                    best,
                    max(1, int(qty * rng.uniform(0.3, 1.0))),
                )
            )
            inc.client = client
            sim.send_new(client, lat=lat_c)
            o = inc.track(sim.order(amm, client_side, LIMIT, IOC, best, qty))
            inc.amm_order = o
            sim.send_new(o, gw=sim.now + delta, lat=lat_a)
        self.incidents.append(inc)
        return True


class _SequencingIncident(Incident):
    typology = Typology.PT_SEQUENCING_ADVANTAGE
    client: Order
    amm_order: Order

    def finalize(self, sim: SymbolSim, rows: RowIndex) -> Span | None:
        c_rows = rows.events(self.client.oid, NEW)
        a_rows = [
            r for r in rows.events(self.amm_order.oid) if sim.journal.etype[r] in (NEW, CANCEL)
        ]
        if not c_rows or not a_rows:
            return None
        c, a = c_rows[0], a_rows[-1]
        if not (rows.gateway(a) > rows.gateway(c) and rows.time(a) < rows.time(c)):
            return None
        trades = fills(self.client) + fills(self.amm_order)
        return (rows.time(a), rows.time(c), [self.amm_order.oid, self.client.oid], trades)


class OffMarketExecution(Injector):
    """PT_OFF_MARKET_EXECUTION: a client is filled by the AMM at a worse price than offered."""

    typology = Typology.PT_OFF_MARKET_EXECUTION

    def start(self) -> bool:
        sim, rng = self.sim, self.sim.rng
        client_side = BUY if rng.u() < 0.5 else SELL
        amm_side = SELL if client_side == BUY else BUY
        best = sim.engine.best(amm_side)
        if best == NULL:
            return False
        it = self.draw_intensity()
        worse_bps = (0.3 + it * rng.uniform(1.0, 12.0)) * (3.0 if rng.u() < 0.25 * it else 1.0)
        d = max(1, round(worse_bps * sim.ticks_per_bp))
        price = best + d if amm_side == SELL else best - d
        amm = sim.amm_accounts[rng.below(2)]
        inc = _OffMarketIncident(self, amm, it, "")
        inc.description = (
            f"client {'buy' if client_side == BUY else 'sell'} filled by the AMM "
            f"{worse_bps:.1f} bps worse than the best price offered"
        )
        qty = sim.lots(rng.lognormal(2_500.0, 0.7))
        inc.amm_order = inc.track(
            sim.order(amm, amm_side, LIMIT, GTC, max(1, price), qty + qty // 2)
        )
        sim.send_new(inc.amm_order)
        t = sim.now + int(rng.uniform(0.05, 1.0) * SECOND)
        sim.at(t, inc.hit, qty)
        sim.at(t + int(rng.uniform(0.5, 3.0) * SECOND), _cancel_open, (sim, inc.amm_order))
        self.incidents.append(inc)
        return True


class _OffMarketIncident(Incident):
    typology = Typology.PT_OFF_MARKET_EXECUTION
    amm_order: Order
    client: Order | None = None

    def hit(self, qty: int) -> None:
        sim = self.inj.sim
        a = self.amm_order
        if not a.live:
            return
        side = SELL if a.side == BUY else BUY
        if sim.rng.u() < 0.5:
            o = sim.order(self.inj.client(), side, MARKET, IOC, NULL, min(qty, a.leaves))
        else:
            o = sim.order(self.inj.client(), side, LIMIT, IOC, a.price, min(qty, a.leaves))
        o.via = a
        self.client = self.track(o)
        sim.send_new(o)

    def finalize(self, sim: SymbolSim, rows: RowIndex) -> Span | None:
        c = self.client
        if c is None or not c.worse_than:
            return None
        tids = [f[0] for f in c.track or [] if f[5] == self.amm_order.acct]
        if not tids:
            return None
        t = min(f[1] for f in c.track or [] if f[0] in tids)
        start = rows.time(rows.events(self.amm_order.oid, NEW)[0])
        return (start, t, [c.oid, self.amm_order.oid], tids[:1])


# ------------------------------------------------------------ spread manipulation
class QuoteFade(Injector):
    """SM_QUOTE_FADE: the AMM worsens its best quote while a client's order is in flight."""

    typology = Typology.SM_QUOTE_FADE

    def start(self) -> bool:
        sim, rng = self.sim, self.sim.rng
        quote_side = BUY if rng.u() < 0.5 else SELL
        quote = self.amm_at_best(quote_side)
        if quote is None:
            return False
        it = self.draw_intensity()
        client_side = SELL if quote_side == BUY else BUY
        lat_c = int(rng.uniform(1.2, 6.0) * MS)
        react = int(rng.uniform(30 * US, 0.4 * lat_c))
        lat_a = latency_ns(rng)
        if react + lat_a >= lat_c - 10 * US:
            lat_a = int(rng.uniform(0.3, 0.8) * (lat_c - react))
        inc = _FadeIncident(self, quote.acct, it, "")
        qty = max(1, int(quote.leaves * rng.uniform(0.3, 1.0)))
        sgn = 1 if client_side == BUY else -1
        if rng.u() < 0.5:
            c = sim.order(self.client(), client_side, MARKET, IOC, NULL, qty)
        else:
            c = sim.order(
                self.client(), client_side, LIMIT, IOC, quote.price + sgn * rng.integer(0, 3), qty
            )
        inc.client = inc.track(c)
        inc.quote = inc.track(quote)
        inc.price0 = quote.price
        sim.amm_frozen_until = sim.now + 3 * SECOND
        sim.send_new(c, lat=lat_c)
        if rng.u() < 0.7:
            d = max(1, round((0.3 + it * rng.uniform(0.5, 3.0)) * sim.amm_half))
            inc.description = (
                f"AMM moves its best quote {d} ticks away while a client order is in flight"
            )
            sim.send_replace(
                quote, max(1, quote.price + sgn * d), quote.qty, gw=sim.now + react, lat=lat_a
            )
        else:
            inc.description = "AMM cancels its best quote while a client order is in flight"
            sim.send_cancel(quote, gw=sim.now + react, lat=lat_a)
        self.incidents.append(inc)
        return True


class _FadeIncident(Incident):
    typology = Typology.SM_QUOTE_FADE
    client: Order
    quote: Order
    price0: int

    def finalize(self, sim: SymbolSim, rows: RowIndex) -> Span | None:
        c_rows = rows.events(self.client.oid, NEW)
        q_rows = [
            r
            for r in rows.events(self.quote.oid)
            if sim.journal.etype[r] in (REPLACE, CANCEL) and sim.journal.gw[r] != NULL
        ]
        if not c_rows:
            return None
        c = c_rows[0]
        fade = [
            r for r in q_rows if rows.gateway(c) < rows.gateway(r) and rows.time(r) < rows.time(c)
        ]
        if not fade:
            return None
        f = fade[0]
        # The client must have traded worse than the faded quote, or not at all.
        better = [x for x in self.client.track or [] if x[2] == self.price0]
        if better:
            return None
        return (rows.time(f), rows.time(c), [self.quote.oid, self.client.oid], fills(self.client))


class SpreadWidening(Injector):
    """SM_SPREAD_WIDENING: the AMM widens its quotes just before a large client order."""

    typology = Typology.SM_SPREAD_WIDENING

    def start(self) -> bool:
        sim, rng = self.sim, self.sim.rng
        if sim.now < sim.amm_frozen_until or sim.amm_override:
            return False
        it = self.draw_intensity()
        regime_mult = 1.3 if sim.regime(sim.now) == 2 else 1.0
        base_spread = 2 * sim.amm_half * regime_mult / sim.ticks_per_bp
        cap = 0.85 * sim.spec.mm_max_spread_bps / base_spread
        mult = min(cap, 1.2 + it * rng.uniform(0.5, 1.2))
        if mult < 1.2:
            return False
        lead = (0.5 + it * rng.uniform(1.0, 15.0)) * SECOND
        inc = _WideningIncident(self, sim.amm_accounts[0], it, "")
        inc.description = (
            f"AMM widens its quotes {mult:.2f}x {lead / SECOND:.1f} s before a large client order"
        )
        sim.amm_override = {"half_mult": mult, "hold": 1.0}
        inc.start_t = sim.now
        inc.quotes = [inc.track(o) for o in _amm_live(sim, levels=(0, 1))]
        sim.amm_quote_now()
        inc.quotes += [inc.track(o) for o in _amm_pending(sim) if o not in inc.quotes]
        acct = sim.inst[rng.below(len(sim.inst))]
        side = BUY if rng.u() < 0.5 else SELL
        notional = rng.lognormal(90_000.0, 0.3) * sim.size_scale
        sim.at(sim.now + int(lead), inc.large, (acct, side, notional))
        self.incidents.append(inc)
        return True


def _amm_live(sim: SymbolSim, levels: tuple[int, ...] = (0, 1, 2, 3)) -> list[Order]:
    out = []
    for _, _, level, o in sim.amm_slots:
        if level in levels and o is not None and o.live:
            out.append(o)
    return out


class _WideningIncident(Incident):
    typology = Typology.SM_SPREAD_WIDENING
    start_t: int
    quotes: list[Order]
    large_order: Order | None = None
    end_t: int = 0

    def large(self, arg: tuple[int, int, float]) -> None:
        sim = self.inj.sim
        acct, side, notional = arg
        o = self.track(sim.parent_slice_order(acct, side, notional))
        self.large_order = o
        sim.send_new(o)
        sim.at(sim.now + int(sim.rng.uniform(1.0, 6.0) * SECOND), self.restore, None)

    def restore(self, _: Any) -> None:
        sim = self.inj.sim
        sim.amm_override = {}
        self.end_t = sim.now
        sim.amm_quote_now()

    def finalize(self, sim: SymbolSim, rows: RowIndex) -> Span | None:
        o = self.large_order
        if o is None or not o.track:
            return None
        widened = [
            q.oid
            for q in self.quotes
            if any(
                rows.time(r) >= self.start_t and sim.journal.etype[r] in (NEW, REPLACE)
                for r in rows.events(q.oid)
            )
        ]
        if not widened:
            return None
        return (self.start_t, max(self.end_t, max(fill_times(o))), [*widened, o.oid], fills(o))


class Spoofing(Injector):
    """SM_SPOOFING: layers of large AMM orders on one side, a trade on the other, cancels."""

    typology = Typology.SM_SPOOFING

    def start(self) -> bool:
        sim, rng = self.sim, self.sim.rng
        spoof_side = BUY if rng.u() < 0.5 else SELL
        trade_side = SELL if spoof_side == BUY else BUY
        # The AMM will sell into (buy from) other participants' best orders on the
        # spoofed side; its layers go behind them, where they show depth but do not trade.
        want = sim.lots(rng.uniform(3_000.0, 15_000.0) * sim.size_scale)
        target, _ = sim.reach(trade_side, want)
        if target == NULL:
            return False
        it = self.draw_intensity()
        n = max(2, round(1.0 + 5.0 * it * rng.uniform(0.7, 1.0)))
        gap = max(1, int(sim.amm_half * rng.uniform(0.2, 0.6)))
        sgn = 1 if spoof_side == BUY else -1
        amm = sim.amm_accounts[1]
        inc = _SpoofIncident(self, amm, it, "")
        size_mult = 1.0 + 4.0 * it * rng.uniform(0.6, 1.0)
        inc.description = (
            f"{n} AMM layers of {size_mult:.1f}x its quote size, trade on the other side, cancel"
        )
        for k in range(n):
            qty = int(sim.amm_base_lots[0] * size_mult * rng.uniform(0.8, 1.2))
            price = max(1, target - sgn * (k + 1) * gap)
            o = inc.track(sim.order(amm, spoof_side, LIMIT, GTC, price, qty))
            inc.layers.append(o)
            sim.send_new(o, gw=sim.now + k * int(rng.uniform(1, 50) * MS))
        t = sim.now + int(rng.uniform(0.2, 2.0) * SECOND)
        sim.at(t, inc.trade, want)
        sim.at(t + int(rng.uniform(0.3, 3.0) * SECOND), inc.cancel, None)
        self.incidents.append(inc)
        return True


class _SpoofIncident(Incident):
    typology = Typology.SM_SPOOFING

    def __init__(self, inj: Injector, account: int, intensity: float, description: str) -> None:
        super().__init__(inj, account, intensity, description)
        self.layers: list[Order] = []
        self.trader: Order | None = None

    def trade(self, want: int) -> None:
        sim = self.inj.sim
        spoof_side = self.layers[0].side
        trade_side = SELL if spoof_side == BUY else BUY
        sgn = 1 if spoof_side == BUY else -1
        limit, avail = sim.reach(trade_side, want, bound=self.layers[0].price + sgn)
        if limit == NULL:
            return
        o = self.track(sim.order(self.account, trade_side, LIMIT, IOC, limit, min(want, avail)))
        self.trader = o
        sim.send_new(o)

    def cancel(self, _: Any) -> None:
        sim = self.inj.sim
        for o in self.layers:
            _cancel_open((sim, o))

    def finalize(self, sim: SymbolSim, rows: RowIndex) -> Span | None:
        t = self.trader
        if t is None or not t.track:
            return None
        cancelled = [o for o in self.layers if rows.events(o.oid, CANCEL)]
        if len(cancelled) < max(1, len(self.layers) // 2):
            return None
        start = min(rows.time(rows.events(o.oid, NEW)[0]) for o in self.layers)
        end = max(rows.time(rows.events(o.oid)[-1]) for o in self.layers)
        return (start, end, [o.oid for o in self.layers] + [t.oid], fills(t))


# ------------------------------------------------------------------ market integrity
class WashTrade(Injector):
    """MI_WASH_TRADE: an AMM account trades with another group account (STP bypassed)."""

    typology = Typology.MI_WASH_TRADE

    def start(self) -> bool:
        sim, rng = self.sim, self.sim.rng
        bb, ba = sim.engine.best_bid(), sim.engine.best_ask()
        if bb == NULL or ba == NULL or ba - bb < 3:
            return False
        it = self.draw_intensity()
        amm1, amm2 = sim.amm_accounts
        r = rng.u()
        if r < 0.5:
            pair, acting = (sim.house, amm1), amm1  # HOUSE rests, AMM-1 takes
        elif r < 0.75:
            pair, acting = (amm2, amm1), amm1
        else:
            pair, acting = (amm2, sim.house), amm2  # AMM-2 rests, HOUSE takes
        rounds = 1 + round(2 * it * rng.uniform(0.5, 1.0))
        inc = _WashIncident(self, acting, it, "")
        inc.description = (
            f"{rounds} trade(s) between {sim.pop.accounts[pair[0]].account_id} and "
            f"{sim.pop.accounts[pair[1]].account_id} with self-trade prevention bypassed"
        )
        notional = rng.uniform(4_000.0, 25_000.0) * (0.3 + it) * sim.size_scale
        t = sim.now
        for k in range(rounds):
            side = BUY if rng.u() < 0.5 else SELL
            sim.at(t, inc.round, (pair, side, sim.lots(notional * rng.uniform(0.8, 1.2))))
            t += int(rng.uniform(2.0, 30.0) * SECOND)
            del k
        self.incidents.append(inc)
        return True


class _WashIncident(Incident):
    typology = Typology.MI_WASH_TRADE

    def round(self, arg: tuple[tuple[int, int], int, int]) -> None:
        (resting, taking), side, qty = arg
        sim, rng = self.inj.sim, self.inj.sim.rng
        bb, ba = sim.engine.best_bid(), sim.engine.best_ask()
        if bb == NULL or ba == NULL or ba - bb < 3:
            return
        price = bb + 1 if side == BUY else ba - 1
        rest = self.track(sim.order(resting, side, LIMIT, GTC, price, qty))
        sim.send_new(rest)
        take = sim.order(taking, SELL if side == BUY else BUY, LIMIT, IOC, price, qty)
        take.stp_bypass = True
        self.track(take)
        sim.send_new(take, gw=sim.now + int(rng.uniform(15, 800) * MS))
        sim.at(sim.now + 2 * SECOND, _cancel_open, (sim, rest))

    def finalize(self, sim: SymbolSim, rows: RowIndex) -> Span | None:
        ge = sim.group_entity
        ent = sim.entity_of
        trades = []
        orders = []
        times = []
        for o in self.orders:
            for f in o.track or []:
                if f[4] == 1 and ent[f[5]] == ge and o.ent == ge:  # taker fill vs group
                    trades.append(f[0])
                    times.append(f[1])
                    orders.append(o.oid)
        if not trades:
            return None
        wash = set(trades)
        orders += [o.oid for o in self.orders if any(f[0] in wash for f in o.track or [])]
        return (min(times), max(times), orders, trades)


class LiquidationHunting(Injector):
    """MI_LIQUIDATION_HUNTING: the AMM pushes the price through clustered liquidation prices."""

    typology = Typology.MI_LIQUIDATION_HUNTING
    per_day = (2, 4)

    def start(self) -> bool:
        sim, rng = self.sim, self.sim.rng
        if sim.now < sim.amm_frozen_until or sim.amm_override:
            return False
        it = self.draw_intensity()
        down = rng.u() < 0.5  # hunt long positions by pushing the price down
        side = SELL if down else BUY
        # The push budget decides how far the AMM can move the price through other
        # participants' orders; the cluster of liquidation prices lies in that reach.
        budget = sim.lots(rng.uniform(30_000.0, 120_000.0) * (0.4 + it) * sim.size_scale)
        far, avail = sim.reach(side, budget)
        bb, ba = sim.touch()
        ref = bb if down else ba
        if far == NULL or abs(far - ref) < 2:
            return False
        sgn = -1 if down else 1
        near = ref + sgn * max(1, int(abs(far - ref) * rng.uniform(0.3, 0.7)))
        inc = _HuntIncident(self, sim.amm_accounts[1], it, "")
        inc.down = down
        inc.far = far
        inc.budget = min(budget, avail)
        k = rng.integer(3, 5 + round(6 * it))
        for _ in range(k):
            liq = near + int((far - near) * rng.u())
            acct = sim.leveraged[rng.below(len(sim.leveraged))]
            qty = sim.lots(rng.lognormal(6_000.0, 0.6) * sim.size_scale)
            inc.cluster_qty += qty
            inc.positions.append(sim.open_position(acct, down, liq, qty))
        bps = sim.ticks_per_bp
        inc.description = (
            f"AMM pushes the price {'down' if down else 'up'} through {k} client liquidation "
            f"prices {abs(near - ref) / bps:.1f}-{abs(far - ref) / bps:.1f} bps away "
            "and takes the other side of the liquidation orders"
        )
        duration = int(rng.uniform(20, 60) * SECOND)
        sim.amm_frozen_until = sim.now + duration
        sim.amm_override = {"hold": 1.0}
        inc.start_t = sim.now
        # Stand the AMM's quotes on the pushed side aside, so the push does not hit them.
        for slot in sim.amm_slots:
            o = slot[3]
            if o is not None and o.live and not o.pending and o.side == (BUY if down else SELL):
                sim.send_cancel(o)
        # How far below (above) the cluster the AMM waits: its discount on the liquidations.
        gap = max(1, round((0.5 + 2.5 * it) * rng.uniform(0.5, 1.5) * sim.ticks_per_bp))
        absorb_price = far + sgn * gap
        absorb = sim.order(
            inc.account, BUY if down else SELL, LIMIT, GTC, max(1, absorb_price), inc.cluster_qty
        )
        inc.absorb = inc.track(absorb)
        sim.send_new(absorb, gw=sim.now + 5 * MS)
        sim.liquidation_listeners.append(inc.listen)
        sim.at(sim.now + int(rng.uniform(50, 300) * MS), inc.push, 0)
        sim.at(sim.now + duration, inc.finish, None)
        self.incidents.append(inc)
        return True


class _HuntIncident(Incident):
    typology = Typology.MI_LIQUIDATION_HUNTING
    down: bool
    far: int
    start_t: int
    absorb: Order
    cluster_qty = 0
    budget = 0
    done = False

    def __init__(self, inj: Injector, account: int, intensity: float, description: str) -> None:
        super().__init__(inj, account, intensity, description)
        self.pushes: list[Order] = []
        self.liquidations: list[Order] = []
        self.positions: list[list[int]] = []

    def listen(self, o: Order) -> None:
        # Only the liquidations the push causes: longs sold when pushing down.
        if not self.done and o.side == (SELL if self.down else BUY):
            o.track = []
            self.liquidations.append(o)

    def push(self, step: int) -> None:
        sim, rng = self.inj.sim, self.inj.sim.rng
        if all(len(p) > 3 for p in self.positions):
            return  # every position of the cluster has been liquidated
        side = SELL if self.down else BUY
        want = max(1, int(self.budget * rng.uniform(0.3, 0.7)))
        limit, avail = sim.reach(side, want, bound=self.far)
        if limit != NULL:
            o = self.track(sim.order(self.account, side, LIMIT, IOC, limit, min(want, avail)))
            self.pushes.append(o)
            sim.send_new(o)
        if step < 14:
            sim.at(sim.now + int(rng.uniform(0.2, 1.2) * SECOND), self.push, step + 1)

    def finish(self, _: Any) -> None:
        sim = self.inj.sim
        self.done = True
        sim.amm_override = {}
        sim.amm_frozen_until = 0
        sim.amm_quote_now()
        sim.at(sim.now + int(sim.rng.uniform(2, 20) * SECOND), _cancel_open, (sim, self.absorb))

    def finalize(self, sim: SymbolSim, rows: RowIndex) -> Span | None:
        ge = sim.group_entity
        ent = sim.entity_of
        hits = [
            (f[0], f[1], o.oid) for o in self.liquidations for f in o.track or [] if ent[f[5]] == ge
        ]
        push_trades = [t for o in self.pushes for t in fills(o)]
        if not hits or not push_trades:
            return None
        orders = [o.oid for o in self.pushes if o.track] + [self.absorb.oid]
        orders += [oid for _, _, oid in hits]
        end = max(t for _, t, _ in hits)
        return (self.start_t, end, orders, push_trades + [tid for tid, _, _ in hits])


class ObligationBreach(Injector):
    """MI_OBLIGATION_BREACH: the AMM pulls, thins or widens its quotes for a span."""

    typology = Typology.MI_OBLIGATION_BREACH
    per_day = (1, 2)

    def schedule(self, sim: SymbolSim) -> None:
        lo, hi = self.per_day
        for _ in range(sim.rng.integer(lo, hi)):
            it = self.draw_intensity()
            minutes = sim.rng.uniform(5.0, 15.0) + it * sim.rng.uniform(10.0, 50.0)
            t = self.slots.take(int(minutes // 10) + 2)
            if t is not None:
                sim.at(t, self.begin, (it, int(minutes * 60 * SECOND)))

    def begin(self, arg: tuple[float, int]) -> None:
        it, duration = arg
        sim, rng = self.sim, self.sim.rng
        mode = ("pull", "thin", "widen")[rng.below(3)]
        spec = sim.spec
        inc = _BreachIncident(self, sim.amm_accounts[0], it, "")
        inc.start_t = sim.now
        inc.mode = mode
        before = _amm_live(sim)
        for o in before:
            inc.track(o)
        if mode == "pull":
            sim.amm_frozen_until = sim.now + duration
            sim.amm_cancel_all()
            # Orders still in flight land after the sweep: sweep again once they have.
            sim.at(sim.now + 100 * MS, lambda _: sim.amm_cancel_all())
            inc.description = f"AMM pulls all its quotes for {duration / SECOND / 60:.0f} min"
        elif mode == "thin":
            frac = rng.uniform(0.3, 0.6) if it > 0.6 else rng.uniform(0.6, 0.85)
            lots = max(1, int(spec.min_quote_lots * frac))
            if lots >= spec.min_quote_lots:
                lots = spec.min_quote_lots - 1
            if lots < 1:
                mode = "widen"
            else:
                sim.amm_override = {"size_lots": float(lots), "levels": 1.0, "hold": 1.0}
                inc.description = (
                    f"AMM quotes {frac:.0%} of the least size its obligation requires "
                    f"for {duration / SECOND / 60:.0f} min"
                )
        if mode == "widen":
            inc.mode = mode
            target = 1.15 + it * rng.uniform(0.1, 1.0)
            half_ticks = target * spec.mm_max_spread_bps * sim.ticks_per_bp / 2.0
            sim.amm_override = {"half_mult": half_ticks / sim.amm_half, "hold": 1.0}
            inc.description = (
                f"AMM quotes {target:.2f}x the widest spread its obligation allows "
                f"for {duration / SECOND / 60:.0f} min"
            )
        if mode != "pull":
            sim.amm_quote_now()
        sim.at(sim.now + duration, inc.end, None)
        self.incidents.append(inc)


class _BreachIncident(Incident):
    typology = Typology.MI_OBLIGATION_BREACH
    start_t: int
    end_t: int = 0
    mode: str

    def end(self, _: Any) -> None:
        sim = self.inj.sim
        sim.amm_override = {}
        sim.amm_frozen_until = 0
        self.end_t = sim.now
        sim.amm_quote_now()
        for o in _amm_pending(sim):
            self.track(o)

    def finalize(self, sim: SymbolSim, rows: RowIndex) -> Span | None:
        if not self.end_t:
            return None
        started = [
            r
            for o in self.orders
            for r in rows.events(o.oid)
            if rows.time(r) >= self.start_t and sim.journal.etype[r] in (CANCEL, REPLACE)
        ]
        restored = [
            r
            for o in self.orders
            for r in rows.events(o.oid)
            if rows.time(r) >= self.end_t and sim.journal.etype[r] in (NEW, REPLACE)
        ]
        start = min((rows.time(r) for r in started), default=self.start_t)
        end = min((rows.time(r) for r in restored), default=self.end_t)
        return (start, end, self.oids(), [])


def _amm_pending(sim: SymbolSim) -> list[Order]:
    return [slot[3] for slot in sim.amm_slots if slot[3] is not None and slot[3].pending]


def _cancel_open(arg: tuple[SymbolSim, Order]) -> None:
    sim, o = arg
    if o.live and not o.pending:
        sim.send_cancel(o)


#: Every injector, one per typology, in the catalogue's order.
INJECTORS: tuple[type[Injector], ...] = (
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


def build(sim: SymbolSim, intensity: float) -> list[Injector]:
    """One injector per typology for ``sim``, sharing the symbol's slots."""
    slots = Slots(sim)
    # Injectors take their slots when scheduled, in this order: long spans first.
    ordered = sorted(INJECTORS, key=lambda k: k is not ObligationBreach)
    return [k(sim, slots, intensity) for k in ordered]
