"""A price-time-priority matching engine with the contract's order-journal semantics.

Prices are integer ticks and quantities integer lots throughout, so there is no
floating-point arithmetic on either; they become contract floats only when the
journal is written. The engine applies one instruction at a time (NEW, REPLACE,
CANCEL), in the order instructions arrive at it, and records every event in a
:class:`Journal` exactly as ``venue-export-v1.md`` defines the ``orders`` and
``trades`` datasets.

Policies the contract leaves to the venue:

* **Self-trade prevention (STP)** is per entity and cancels the *resting* order:
  when an incoming order would match a resting order of the same entity, the
  resting order is cancelled (a ``CANCEL`` row carrying the incoming instruction's
  gateway time, because that instruction caused it) and matching continues. A
  ``FOK`` order counts only other entities' liquidity when it checks whether it can
  fill, and if it cannot it expires without cancelling anything.
* **REPLACE** keeps time priority only when it reduces the quantity at an unchanged
  price; a price change or a size increase sends the order to the back of its new
  level, and a replaced order that has become marketable executes at once (its
  fills are ``TAKER``). A replace to a total quantity not above what has already
  filled, a replace that changes nothing, and any instruction on an order that is
  no longer open are ignored (no journal row; a venue answers them with a reject
  message that is not an order event).
* **POST_ONLY** orders that would cross are rejected (``REJECT`` as the first event).
* **MARKET** orders carry ``IOC``; they and ``IOC``/``FOK`` remainders are
  ``EXPIRE``\\ d after matching.
* Every row of one instruction shares one ``event_time``, and instructions get
  strictly increasing event times (ties at the engine are broken by one
  nanosecond), so a replay can tell where an instruction ends.

Two hooks exist only for the misconduct injectors and are never used on a clean
day: an order flagged ``jump`` is matched first at its price level even though
orders ahead of it joined earlier (a priority breach), and an incoming order with
``via`` set is matched first against that one resting order whatever better prices
rest (an off-market execution). ``stp_bypass`` lets an order trade with its own
entity (a wash trade).
"""

from __future__ import annotations

from array import array
from collections import deque
from heapq import heapify, heappop, heappush
from typing import Any

# Codes of the journal's categorical columns: index into the contract's values.
EVENT_TYPES = ("NEW", "REPLACE", "CANCEL", "FILL", "EXPIRE", "REJECT")
NEW, REPLACE, CANCEL, FILL, EXPIRE, REJECT = range(6)
SIDES = ("BUY", "SELL")
BUY, SELL = 0, 1
ORDER_TYPES = ("LIMIT", "MARKET")
LIMIT, MARKET = 0, 1
TIME_IN_FORCE = ("GTC", "IOC", "FOK", "POST_ONLY")
GTC, IOC, FOK, POST_ONLY = range(4)
LIQUIDITY = ("MAKER", "TAKER")
MAKER, TAKER = 0, 1
ORIGINS = ("CLIENT", "LIQUIDATION", "SYSTEM")
CLIENT_ORIGIN, LIQUIDATION_ORIGIN, SYSTEM_ORIGIN = range(3)

NULL = -1
_BLOCK = 65_536  # journal rows buffered before they move into the column arrays


class Order:
    """One order's state as the engine sees it (ticks and lots).

    ``price`` is ``NULL`` for MARKET orders. ``track`` is a list the engine appends
    ``(trade_id, event_time, price, qty, liquidity, counterparty_account)`` to on
    every fill when an injector needs to know what became of the order.
    """

    __slots__ = (
        "acct",
        "arrived",
        "ent",
        "jump",
        "jumped",
        "leaves",
        "live",
        "oid",
        "origin",
        "otype",
        "pending",
        "price",
        "qty",
        "reject",
        "side",
        "stp_bypass",
        "tif",
        "track",
        "via",
        "worse_than",
    )

    def __init__(
        self,
        oid: int,
        acct: int,
        ent: int,
        side: int,
        otype: int,
        tif: int,
        price: int,
        qty: int,
        origin: int = CLIENT_ORIGIN,
    ) -> None:
        self.oid = oid
        self.acct = acct
        self.ent = ent
        self.side = side
        self.otype = otype
        self.tif = tif
        self.price = price
        self.qty = qty
        self.leaves = qty
        self.origin = origin
        self.live = False  # resting on the book
        self.pending = 0  # instructions sent but not yet applied by the engine
        self.arrived = NULL  # event time at which it joined its current level
        self.reject = False
        self.jump = False
        self.via: Order | None = None
        self.stp_bypass = False
        self.track: list[tuple[int, int, int, int, int, int]] | None = None
        self.jumped: list[tuple[int, list[int]]] | None = None
        self.worse_than: list[int] | None = None


class Journal:
    """The order journal, trades and (optionally) engine truth of one symbol, as arrays.

    Columns are compact ``array.array`` buffers of codes, ticks and lots; the
    writer turns them into contract columns in bulk. ``seq`` is the row index + 1.
    """

    def __init__(self, truth: bool = False) -> None:
        self.t = array("q")
        self.gw = array("q")
        self.oid = array("q")
        self.acct = array("i")
        self.etype = array("b")
        self.side = array("b")
        self.otype = array("b")
        self.tif = array("b")
        self.price = array("q")
        self.qty = array("q")
        self.leaves = array("q")
        self.fill_price = array("q")
        self.fill_qty = array("q")
        self.trade_id = array("q")
        self.liquidity = array("b")
        self.origin = array("b")
        # trades
        self.tr_t = array("q")
        self.tr_id = array("q")
        self.tr_price = array("q")
        self.tr_qty = array("q")
        self.tr_aggr = array("b")
        self.tr_buy_oid = array("q")
        self.tr_sell_oid = array("q")
        self.tr_buy_acct = array("i")
        self.tr_sell_acct = array("i")
        # engine truth: best prices and quantities after each row
        self.truth = truth
        self.bb = array("q")
        self.bbq = array("q")
        self.ba = array("q")
        self.baq = array("q")
        self._rows: list[tuple[int, ...]] = []
        self._columns = (
            self.t,
            self.gw,
            self.oid,
            self.acct,
            self.etype,
            self.side,
            self.otype,
            self.tif,
            self.price,
            self.qty,
            self.leaves,
            self.fill_price,
            self.fill_qty,
            self.trade_id,
            self.liquidity,
            self.origin,
        )

    def __len__(self) -> int:
        return len(self.t) + len(self._rows)

    def row(
        self,
        t: int,
        gw: int,
        o: Order,
        etype: int,
        fill_price: int = NULL,
        fill_qty: int = NULL,
        trade_id: int = NULL,
        liquidity: int = NULL,
    ) -> None:
        """Append the event ``etype`` on ``o``; quantities are read from ``o`` after it.

        Rows are buffered as tuples and moved into the column arrays in blocks,
        which costs far less than sixteen appends per row.
        """
        rows = self._rows
        rows.append(
            (
                t,
                gw,
                o.oid,
                o.acct,
                etype,
                o.side,
                o.otype,
                o.tif,
                o.price,
                o.qty,
                o.leaves,
                fill_price,
                fill_qty,
                trade_id,
                liquidity,
                o.origin,
            )
        )
        if len(rows) >= _BLOCK:
            self.flush()

    def flush(self) -> None:
        """Move buffered rows into the column arrays (call before reading them)."""
        if not self._rows:
            return
        for column, values in zip(self._columns, zip(*self._rows, strict=True), strict=True):
            column.extend(values)
        self._rows = []


class Engine:
    """The book and matching logic of one symbol.

    ``on_fill(maker, taker, price, qty, trade_id, t)`` is called after every trade
    and ``on_stp(order, t)`` after every self-trade-prevention cancel, so agents can
    react (replenish quotes, track inventory, trigger liquidations).
    """

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.levels: tuple[dict[int, deque[Order]], dict[int, deque[Order]]] = ({}, {})
        self.level_qty: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self._heaps: tuple[list[int], list[int]] = ([], [])
        self.resting: dict[int, Order] = {}
        self.next_trade_id = 1
        self.last_price = NULL
        self.last_time = 0
        self.n_jumpers = 0
        self.on_fill: Any = None
        self.on_stp: Any = None
        self._truth_done = 0

    # ------------------------------------------------------------------ book
    def best_bid(self) -> int:
        h = self._heaps[BUY]
        lv = self.levels[BUY]
        while h:
            p = -h[0]
            if p in lv:
                return p
            heappop(h)
        return NULL

    def best_ask(self) -> int:
        h = self._heaps[SELL]
        lv = self.levels[SELL]
        while h:
            p = h[0]
            if p in lv:
                return p
            heappop(h)
        return NULL

    def best(self, side: int) -> int:
        return self.best_bid() if side == BUY else self.best_ask()

    def depth(self, side: int, price: int) -> int:
        return self.level_qty[side].get(price, 0)

    def prices(self, side: int) -> list[int]:
        """Every price with resting orders on ``side``, best first."""
        return sorted(self.levels[side], reverse=side == BUY)

    def _rest(self, o: Order, t: int) -> None:
        side = o.side
        lv = self.levels[side]
        p = o.price
        q = lv.get(p)
        if q is None:
            lv[p] = deque((o,))
            self.level_qty[side][p] = o.leaves
            h = self._heaps[side]
            heappush(h, -p if side == BUY else p)
            if len(h) > 4 * len(lv) + 256:
                h[:] = [-x for x in lv] if side == BUY else list(lv)
                heapify(h)
        else:
            q.append(o)
            self.level_qty[side][p] += o.leaves
        o.live = True
        o.arrived = t
        self.resting[o.oid] = o
        if o.jump:
            self.n_jumpers += 1

    def _unrest(self, o: Order) -> None:
        side = o.side
        lv = self.levels[side]
        p = o.price
        q = lv[p]
        if q[0] is o:
            q.popleft()
        else:
            q.remove(o)
        if q:
            self.level_qty[side][p] -= o.leaves
        else:
            del lv[p]
            del self.level_qty[side][p]
        o.live = False
        del self.resting[o.oid]
        if o.jump:
            self.n_jumpers -= 1

    def clear_jump(self, o: Order) -> None:
        """Stop favouring ``o`` (the injector's priority breach is over)."""
        if o.jump:
            o.jump = False
            if o.live:
                self.n_jumpers -= 1

    def _settle(self) -> None:
        """Record the engine truth for every row not yet given one: the book as it is now."""
        j = self.journal
        n = len(j)
        k = self._truth_done
        if k >= n:
            return
        bb = self.best_bid()
        ba = self.best_ask()
        bbq = self.level_qty[BUY][bb] if bb != NULL else NULL
        baq = self.level_qty[SELL][ba] if ba != NULL else NULL
        for _ in range(n - k):
            j.bb.append(bb)
            j.bbq.append(bbq)
            j.ba.append(ba)
            j.baq.append(baq)
        self._truth_done = n

    # ----------------------------------------------------------- instructions
    def _crosses(self, o: Order) -> bool:
        if o.otype == MARKET:
            return True
        if o.side == BUY:
            best = self.best_ask()
            return best != NULL and best <= o.price
        best = self.best_bid()
        return best != NULL and best >= o.price

    def new(self, o: Order, t: int, gw: int) -> None:
        """Apply a NEW instruction received at the gateway at ``gw``, at engine time ``t``."""
        truth = self.journal.truth
        self.last_time = t
        row = self.journal.row
        if (
            o.reject
            or o.qty <= 0
            or (o.otype == LIMIT and o.price <= 0)
            or (o.tif == POST_ONLY and self._crosses(o))
        ):
            o.leaves = 0
            row(t, gw, o, REJECT)
            if truth:
                self._settle()
            return
        row(t, gw, o, NEW)
        if o.tif == FOK and not self._fok_fillable(o):
            o.leaves = 0
            row(t, NULL, o, EXPIRE)
        else:
            self._execute(o, t, gw)
        if truth:
            self._settle()

    def cancel(self, o: Order, t: int, gw: int) -> bool:
        """Apply a CANCEL; False (and no row) when the order is no longer open."""
        self.last_time = t
        if not o.live:
            return False
        if self.journal.truth:
            self._settle()
        self._unrest(o)
        o.leaves = 0
        self.journal.row(t, gw, o, CANCEL)
        if self.journal.truth:
            self._settle()
        return True

    def replace(self, o: Order, price: int, qty: int, t: int, gw: int) -> bool:
        """Apply a REPLACE to total quantity ``qty`` at ``price``; False if ignored."""
        self.last_time = t
        if not o.live:
            return False
        filled = o.qty - o.leaves
        leaves = qty - filled
        if leaves <= 0 or price <= 0 or (price == o.price and qty == o.qty):
            return False
        truth = self.journal.truth
        if price == o.price and qty < o.qty:
            # Pure size reduction: keeps its place in the queue.
            if truth:
                self._settle()
            self.level_qty[o.side][price] -= o.leaves - leaves
            o.qty = qty
            o.leaves = leaves
            self.journal.row(t, gw, o, REPLACE)
            if truth:
                self._settle()
            return True
        if o.tif == POST_ONLY:
            best = self.best_ask() if o.side == BUY else self.best_bid()
            if best != NULL and (price >= best if o.side == BUY else price <= best):
                return False
        if truth:
            self._settle()
        self._unrest(o)
        o.price = price
        o.qty = qty
        o.leaves = leaves
        self.journal.row(t, gw, o, REPLACE)
        self._execute(o, t, gw)
        if truth:
            self._settle()
        return True

    # --------------------------------------------------------------- matching
    def _fok_fillable(self, o: Order) -> bool:
        opp = 1 - o.side
        need = o.leaves
        for p in self.prices(opp):
            if o.otype == LIMIT and (p > o.price if o.side == BUY else p < o.price):
                break
            for m in self.levels[opp][p]:
                if m.ent != o.ent or o.stp_bypass:
                    need -= m.leaves
                    if need <= 0:
                        return True
        return False

    def _execute(self, o: Order, t: int, gw: int) -> None:
        """Match ``o`` as the incoming order, then rest or expire what is left."""
        opp = 1 - o.side
        levels = self.levels[opp]
        via = o.via
        if via is not None and via.live and via.side == opp:
            self._fill(via, o, via.price, t)
        is_buy = o.side == BUY
        is_limit = o.otype == LIMIT
        while o.leaves > 0:
            best = self.best_ask() if is_buy else self.best_bid()
            if best == NULL or (is_limit and (best > o.price if is_buy else best < o.price)):
                break
            q = levels[best]
            maker = q[0]
            if self.n_jumpers:
                for m in q:
                    if m.jump:
                        if m is not maker:
                            ahead = [x.oid for x in q if x.arrived < m.arrived]
                            if m.jumped is None:
                                m.jumped = []
                            m.jumped.append((self.next_trade_id, ahead))
                        maker = m
                        break
            if maker.ent == o.ent and not o.stp_bypass:
                if self.journal.truth:
                    self._settle()
                self._unrest(maker)
                maker.leaves = 0
                self.journal.row(t, gw, maker, CANCEL)
                if self.on_stp is not None:
                    self.on_stp(maker, t)
                continue
            self._fill(maker, o, best, t)
        if o.leaves > 0:
            if o.otype == MARKET or o.tif == IOC or o.tif == FOK:
                o.leaves = 0
                self.journal.row(t, NULL, o, EXPIRE)
            else:
                self._rest(o, t)

    def _fill(self, maker: Order, taker: Order, price: int, t: int) -> None:
        j = self.journal
        if j.truth:
            self._settle()
        qty = maker.leaves if maker.leaves < taker.leaves else taker.leaves
        if taker.via is maker:
            # Off-market execution: record the better prices the taker was denied.
            best = self.best_ask() if taker.side == BUY else self.best_bid()
            taker.worse_than = [best] if best != NULL and best != price else []
            taker.via = None
        if maker.leaves == qty:
            self._unrest(maker)
            maker.leaves = 0
        else:
            maker.leaves -= qty
            self.level_qty[maker.side][price] -= qty
        taker.leaves -= qty
        tid = self.next_trade_id
        self.next_trade_id = tid + 1
        j.row(t, NULL, maker, FILL, price, qty, tid, MAKER)
        if j.truth:
            self._settle()
        j.row(t, NULL, taker, FILL, price, qty, tid, TAKER)
        j.tr_t.append(t)
        j.tr_id.append(tid)
        j.tr_price.append(price)
        j.tr_qty.append(qty)
        j.tr_aggr.append(taker.side)
        if taker.side == BUY:
            j.tr_buy_oid.append(taker.oid)
            j.tr_sell_oid.append(maker.oid)
            j.tr_buy_acct.append(taker.acct)
            j.tr_sell_acct.append(maker.acct)
        else:
            j.tr_buy_oid.append(maker.oid)
            j.tr_sell_oid.append(taker.oid)
            j.tr_buy_acct.append(maker.acct)
            j.tr_sell_acct.append(taker.acct)
        self.last_price = price
        if maker.track is not None:
            maker.track.append((tid, t, price, qty, MAKER, taker.acct))
        if taker.track is not None:
            taker.track.append((tid, t, price, qty, TAKER, maker.acct))
        if maker.jump and maker.leaves == 0:
            maker.jump = False
        if self.on_fill is not None:
            self.on_fill(maker, taker, price, qty, tid, t)
