"""Novel misconduct: conduct the rule detectors do not target as written.

The anomaly models (``models.anomaly``) are meant to catch what nobody wrote a
rule for. To measure that honestly they need misconduct that the typology rules,
as parameterised, were not built around. Four scenarios, each an
:class:`~surveillance.simulate.injectors.Injector` acting through the same gateway
and engine as every participant, each labelled only when the journal shows it:

``slow_lead`` (FR_TRADING_AHEAD with new timings)
    The AMM trades ahead of an institutional client's parent order 20-60 s before
    its first slice (the rule looks 5 s back) and unwinds 2-4 minutes after the
    parent's last slice (the rule looks 60 s forward), through IOC orders.
``sustained_widening`` (SM_SPREAD_WIDENING, subtle and sustained)
    For 4-8 hours the AMM quotes a spread 10-30 % wider than usual, not tied to any
    client order and always inside its obligation's widest spread.
``drift_ahead`` (FR_FLOW_ANTICIPATION, drifting in)
    Through the day the AMM starts to trade, in small IOC orders, in the direction
    clients' flow is about to take 10-60 s later; the rate and the share of trades
    in the right direction ramp from nothing in the morning to their full level at
    night, so no early hour looks different.
``informed_thinning`` (invented: no typology fits; family SPREAD_MANIPULATION)
    *Informed depth withdrawal.* When the AMM knows strong one-sided client demand
    is coming (from the venue's order flow), it cuts its quoted size to a fifth of
    usual (never below its obligation's least size) and restores it when demand
    calms. Clients' marketable orders then walk the book into the external market
    makers' wider quotes and pay more, while the AMM's spread, uptime and obligation
    all look normal. The label carries the closest code, SM_SPREAD_WIDENING
    (raising clients' cost of trading), and the description says it is novel.

Every label's ``description`` starts with ``novel:<scenario>:`` so that an
evaluation can tell the scenarios apart. None of these run unless asked for
(``simulate_day(..., novel=("slow_lead",))``): default days, their labels and the
rule detectors' evaluation are unchanged.
"""

from __future__ import annotations

from typing import Any

from surveillance.contract import Typology
from surveillance.errors import InputError
from surveillance.simulate.engine import BUY, IOC, LIMIT, NULL, SELL, Order
from surveillance.simulate.injectors import Incident, Injector, RowIndex, Slots, fill_times, fills
from surveillance.simulate.market import DAY_NS, SECOND, SymbolSim

MINUTE = 60 * SECOND
HOUR = 60 * MINUTE


def _override(sim: SymbolSim, **values: float) -> None:
    """Set keys of the AMM's quoting override without dropping the others."""
    sim.amm_override = {**sim.amm_override, **values}
    sim.amm_quote_now()


def _clear(sim: SymbolSim, *keys: str) -> None:
    sim.amm_override = {k: v for k, v in sim.amm_override.items() if k not in keys}
    sim.amm_quote_now()


def _ioc(inc: Incident, side: int, qty: int) -> Order | None:
    """An AMM IOC order for ``qty`` lots of other entities' liquidity on ``side``."""
    sim = inc.inj.sim
    price, avail = sim.reach(side, qty)
    if price == NULL or avail <= 0:
        return None
    o = inc.track(sim.order(inc.account, side, LIMIT, IOC, price, min(qty, avail)))
    sim.send_new(o)
    return o


# ------------------------------------------------------------------ slow lead
class SlowLead(Injector):
    """Trading ahead of an institutional parent with a long lead and a slow unwind."""

    typology = Typology.FR_TRADING_AHEAD
    per_day = (4, 7)

    def start(self) -> bool:
        sim, rng = self.sim, self.sim.rng
        it = self.draw_intensity()
        acct = sim.inst[rng.below(len(sim.inst))]
        side = BUY if rng.u() < 0.5 else SELL
        n = rng.integer(5, 9)
        notional = rng.lognormal(80_000.0, 0.3) * sim.size_scale
        lead = rng.uniform(20.0, 60.0)
        unwind = rng.uniform(120.0, 240.0)
        inc = _SlowLeadIncident(
            self,
            sim.amm_accounts[rng.below(2)],
            it,
            f"novel:slow_lead: AMM trades {lead:.0f} s ahead of a {n}-slice institutional "
            f"{'buy' if side == BUY else 'sell'} parent and unwinds {unwind:.0f} s after it",
        )
        inc.side = side
        t = sim.now + int(lead * SECOND)
        for _ in range(n):
            sim.at(t, inc.slice, (acct, side, notional))
            t += int(rng.uniform(6.0, 20.0) * SECOND)
        # Ahead: two or three IOC orders spread over the lead.
        for k in range(rng.integer(2, 4)):
            size = notional * it * rng.uniform(0.5, 1.0)
            sim.at(sim.now + int(k * lead / 3 * SECOND), inc.ahead, size)
        sim.at(t + int(unwind * SECOND), inc.unwind, None)
        self.incidents.append(inc)
        return True


class _SlowLeadIncident(Incident):
    typology = Typology.FR_TRADING_AHEAD
    side: int

    def __init__(self, inj: Injector, account: int, intensity: float, description: str) -> None:
        super().__init__(inj, account, intensity, description)
        self.slices: list[Order] = []
        self.aheads: list[Order] = []
        self.unwinds: list[Order] = []

    def slice(self, arg: tuple[int, int, float]) -> None:
        acct, side, notional = arg
        sim = self.inj.sim
        o = self.track(sim.parent_slice_order(acct, side, notional))
        self.slices.append(o)
        sim.send_new(o)

    def ahead(self, notional: float) -> None:
        o = _ioc(self, self.side, self.inj.sim.lots(notional))
        if o is not None:
            self.aheads.append(o)

    def unwind(self, _: Any) -> None:
        held = sum(f[3] for o in self.aheads for f in o.track or [])
        if held <= 0:
            return
        o = _ioc(self, SELL if self.side == BUY else BUY, held)
        if o is not None:
            self.unwinds.append(o)

    def finalize(self, sim: SymbolSim, rows: RowIndex) -> Any:
        ahead_t = [t for o in self.aheads for t in fill_times(o)]
        slice_t = [t for o in self.slices for t in fill_times(o)]
        if not ahead_t or not slice_t or min(ahead_t) > min(slice_t):
            return None
        end = max([*slice_t, *(t for o in self.unwinds for t in fill_times(o))])
        orders = [o.oid for o in self.aheads + self.slices + self.unwinds if o.track]
        trades = [t for o in self.aheads + self.slices + self.unwinds for t in fills(o)]
        return (min(ahead_t), end, orders, trades)


# ------------------------------------------------------- sustained widening
class SustainedWidening(Injector):
    """A spread 10-30 % wider than usual for hours, inside the obligation."""

    typology = Typology.SM_SPREAD_WIDENING

    def schedule(self, sim: SymbolSim) -> None:
        it = self.draw_intensity()
        hours = sim.rng.uniform(4.0, 8.0)
        start = int(sim.rng.uniform(2.0, 23.0 - hours) * HOUR)
        base_spread = 2 * sim.amm_half * 1.3 / sim.ticks_per_bp  # volatile regime, worst case
        cap = 0.9 * sim.spec.mm_max_spread_bps / base_spread
        mult = min(cap, 1.0 + it * sim.rng.uniform(0.10, 0.30))
        if mult <= 1.02:
            return
        inc = _SpanIncident(
            self,
            sim.amm_accounts[0],
            it,
            f"novel:sustained_widening: AMM quotes a spread {mult:.2f}x its usual for "
            f"{hours:.1f} h, inside its obligation",
        )
        inc.keys = ("half_mult",)
        sim.at(start, inc.begin, {"half_mult": mult})
        sim.at(start + int(hours * HOUR), inc.end, None)
        self.incidents.append(inc)


class _SpanIncident(Incident):
    """A quoting override held over a span; labelled with the AMM quotes it moved."""

    typology = Typology.SM_SPREAD_WIDENING
    keys: tuple[str, ...] = ()
    start_t: int = 0
    end_t: int = 0

    def begin(self, values: dict[str, float]) -> None:
        sim = self.inj.sim
        if not self.start_t:
            self.start_t = sim.now
        _override(sim, **values)
        for slot in sim.amm_slots:
            o = slot[3]
            if o is not None and o.live and o not in self.orders and len(self.orders) < 200:
                self.track(o)

    def end(self, _: Any) -> None:
        sim = self.inj.sim
        self.end_t = sim.now
        _clear(sim, *self.keys)

    def finalize(self, sim: SymbolSim, rows: RowIndex) -> Any:
        if not self.start_t or not self.end_t:
            return None
        return (self.start_t, self.end_t, self.oids(), [])


# ------------------------------------------------------------- drift ahead
class DriftAhead(Injector):
    """Trading ahead of clients' flow, ramping in over the day."""

    typology = Typology.FR_FLOW_ANTICIPATION

    def schedule(self, sim: SymbolSim) -> None:
        it = self.draw_intensity()
        self.it = it
        self.t0 = int(sim.rng.uniform(1.0, 3.0) * HOUR)
        self.t1 = DAY_NS - 30 * MINUTE
        self.per_hour = 15.0 + 45.0 * it
        self.lead = sim.rng.uniform(10.0, 60.0)
        self.inc = _DriftIncident(
            self,
            sim.amm_accounts[sim.rng.below(2)],
            it,
            f"novel:drift_ahead: AMM trades ahead of clients' flow {self.lead:.0f} s early, "
            f"ramping to {self.per_hour:.0f} trades an hour in the right direction "
            f"{0.5 + 0.4 * it:.0%} of the time",
        )
        self.incidents.append(self.inc)
        sim.at(self.t0, self.step, None)

    def ramp(self, t: int) -> float:
        return max(0.0, min(1.0, (t - self.t0) / max(1, self.t1 - self.t0)))

    def step(self, _: Any) -> None:
        sim, rng = self.sim, self.sim.rng
        r = self.ramp(sim.now)
        accuracy = 0.5 + 0.4 * self.it * r
        lead = int(self.lead * rng.uniform(0.7, 1.3) * SECOND)
        side = BUY if sim.bias(sim.now + lead) > 0 else SELL
        if rng.u() > accuracy:
            side = SELL if side == BUY else BUY
        if r > 0:
            qty = sim.lots(rng.uniform(1_000.0, 4_000.0) * (0.5 + self.it) * sim.size_scale)
            o = _ioc(self.inc, side, qty)
            if o is not None:
                self.inc.first = self.inc.first or sim.now
        rate = max(0.5, self.per_hour * r)
        nxt = sim.now + int(rng.exp(3600.0 / rate) * SECOND) + SECOND
        if nxt < self.t1:
            sim.at(nxt, self.step, None)


class _DriftIncident(Incident):
    typology = Typology.FR_FLOW_ANTICIPATION
    first: int = 0

    def finalize(self, sim: SymbolSim, rows: RowIndex) -> Any:
        times = [t for o in self.orders for t in fill_times(o)]
        if not times:
            return None
        orders = [o.oid for o in self.orders if o.track]
        trades = [t for o in self.orders for t in fills(o)]
        return (min(times), max(times), orders, trades)


# -------------------------------------------------------- informed thinning
class InformedThinning(Injector):
    """Quoted size cut ahead of strong client demand (invented pattern; see module doc)."""

    typology = Typology.SM_SPREAD_WIDENING
    CHECK_S = 20.0

    def schedule(self, sim: SymbolSim) -> None:
        it = self.draw_intensity()
        self.it = it
        self.lead = int(sim.rng.uniform(20.0, 60.0) * SECOND)
        # Stronger intensity: thins on weaker signals, so more often.
        self.trigger = 0.30 - 0.15 * it
        self.lots = float(max(sim.min_quote_lots, sim.amm_base_lots[0] // 5))
        self.inc = _SpanIncident(
            self,
            sim.amm_accounts[0],
            it,
            f"novel:informed_thinning: AMM cuts its quoted size to {self.lots:.0f} lots "
            f"whenever strong client demand is {self.lead / SECOND:.0f} s away",
        )
        self.inc.keys = ("size_lots",)
        self.thin = False
        self.spans = 0
        self.incidents.append(self.inc)
        sim.at(int(sim.rng.uniform(1.0, 2.0) * HOUR), self.step, None)

    def step(self, _: Any) -> None:
        sim = self.sim
        coming = abs(sim.bias(sim.now + self.lead))
        if not self.thin and coming > self.trigger:
            self.thin = True
            self.spans += 1
            self.inc.begin({"size_lots": self.lots})
        elif self.thin and coming < 0.6 * self.trigger:
            self.thin = False
            self.inc.end(None)
        if sim.now + int(self.CHECK_S * SECOND) < DAY_NS - HOUR:
            sim.at(sim.now + int(self.CHECK_S * SECOND), self.step, None)
        elif self.thin:
            self.thin = False
            self.inc.end(None)


#: The novel scenarios by name.
NOVEL: dict[str, type[Injector]] = {
    "slow_lead": SlowLead,
    "sustained_widening": SustainedWidening,
    "drift_ahead": DriftAhead,
    "informed_thinning": InformedThinning,
}


def build(sim: SymbolSim, intensity: float, names: tuple[str, ...]) -> list[Injector]:
    """The novel injectors ``names`` for ``sim``, in their own slots.

    Raises
    ------
    InputError
        If a name is not a novel scenario.
    """
    unknown = [n for n in names if n not in NOVEL]
    if unknown:
        raise InputError(
            f"novel scenario {unknown[0]!r} is unknown; scenarios are {', '.join(NOVEL)}"
        )
    slots = Slots(sim)
    return [NOVEL[n](sim, slots, intensity) for n in names]
