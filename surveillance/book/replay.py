"""The compiled inner loop of the book replay: one pass over integer-coded events.

Everything here works on NumPy arrays of integers, prepared vectorised by
:mod:`surveillance.book.engine`: prices are integer ticks, quantities integer lots
(so sums of resting quantity are exact and never drift), order ids are *slots* in
a compact open-order table, and price levels are indices into the sorted array of
the day's distinct resting prices. :func:`replay` is a numba ``@njit`` function
that applies events ``start..n-1`` to that state and writes output rows into
fixed-size buffers; it returns early when a buffer could overflow, so the caller
flushes and calls again. The state arrays persist between calls and between
chunks of the journal, which is how memory stays bounded by the open orders
rather than by the length of the day.

The small helpers and the level-queue edits (``_append``, ``_unlink``) are
``inline="always"``: inlined in numba's IR, a call no longer passes and
reference-counts every array argument, which saves about a fifth of the loop's
time. Inlining every helper saves about a third but multiplies the cold compile
time by four (numba inlines each call site's copy), so the bigger, rarer ones
(``_kill``, ``_settle``, ``_enter``, ``_scan_best``) stay calls. All remain
callable from Python on their own.

Semantics (the contract's price-time priority; see ``docs/book.md``):

- A LIMIT GTC or POST_ONLY order that does not cross the opposite best joins the
  back of its level at its NEW. A MARKET, IOC or FOK order, or a LIMIT order that
  crosses, is *in flight*: it does not rest while the rest of its instruction (its
  TAKER fills, the counterparties' MAKER fills, self-trade-prevention cancels)
  follows. A GTC/POST_ONLY remainder joins the back of its level (time priority
  from the NEW) as soon as it no longer crosses the opposite best, as an engine
  rests it when matching stops. In any case the instruction ends at the first
  later event that is not a FILL and has a different ``event_time`` (every row of
  one instruction shares the engine's transaction time): the order then settles,
  a GTC/POST_ONLY remainder rests (even if it still crosses: a finding), anything
  else is dropped (MARKET/IOC/FOK never rest).
- A REPLACE keeps the order's place only when the price is unchanged and the
  quantity does not increase; otherwise the order leaves its level and joins the
  back of the new one (or goes in flight when the new price crosses).
- FILL sets the open quantity to the row's ``leaves_quantity`` (a disagreement with
  the previous open quantity minus ``fill_quantity`` is a finding); 0 removes.
  CANCEL, EXPIRE and REJECT remove.
"""

from __future__ import annotations

import numpy as np
from numba import njit

NA = np.iinfo(np.int64).min
"""Sentinel for a missing integer (empty side, null price)."""

# Event type codes (index in EVENT_TYPES).
EV_NEW, EV_REPLACE, EV_CANCEL, EV_FILL, EV_EXPIRE, EV_REJECT = 0, 1, 2, 3, 4, 5
EVENT_TYPES = ("NEW", "REPLACE", "CANCEL", "FILL", "EXPIRE", "REJECT")
SIDES = ("BUY", "SELL")
LIQ_MAKER, LIQ_TAKER = 0, 1

# Flags of an event's order.
FLAG_RESTS = 1  # LIMIT with GTC or POST_ONLY and a price: may rest in the book
FLAG_MARKET = 2  # MARKET order: always marketable

# Slot (open-order table) fields: S[slot, field].
S_STATE, S_SIDE, S_FLAGS, S_LEVEL, S_TICK, S_LEAVES, S_QTY = 0, 1, 2, 3, 4, 5, 6
S_ACCT, S_AMM, S_PREV, S_NEXT, S_JSEQ, S_JTIME = 7, 8, 9, 10, 11, 12
N_SLOT_FIELDS = 13
DEAD, RESTING, IN_FLIGHT = 0, 1, 2

# Level fields: LV[side, level, field].
L_QTY, L_CNT, L_HEAD, L_TAIL, L_AMMQ, L_AMMN = 0, 1, 2, 3, 4, 5
N_LEVEL_FIELDS = 6

# Scalar state: SC[field].
SC_BEST = 0  # +side: best level index per side, -1 when empty
SC_CNT = 2  # +side: resting orders per side
SC_AMMBEST = 4  # +side: the AMM's best level index per side, -1 when none
SC_AMMN = 6  # +side: resting AMM orders per side
SC_PENDING = 8  # the slot in flight, -1 when none
SC_CROSSED = 9  # 1 while the book is locked or crossed (reported once)
SC_MIDB = 10  # bid tick the depth boundaries were computed for (NA: never)
SC_MIDA = 11  # ask tick likewise
N_SC = 12

# Depth state: DEP[0, k] lowest bid level counted, DEP[1, k] highest ask level counted,
# DEP[2, k] bid quantity counted, DEP[3, k] ask quantity counted.
N_DEP_ROWS = 4

# Finding kinds (index in schema.FindingKind order).
F_MAKER_NOT_BEST, F_TAKER_SKIPPED, F_NOT_IN_BOOK, F_DUPLICATE_NEW = 0, 1, 2, 3
F_LEAVES_MISMATCH, F_CROSSED, F_OFF_GRID = 4, 5, 6
MAX_FINDINGS_PER_EVENT = 4

# Output row fields.
T_EV, T_BID, T_BIDQ, T_BIDN, T_ASK, T_ASKQ, T_ASKN = 0, 1, 2, 3, 4, 5, 6
T_AMMQB, T_AMMQA, T_AMMB, T_AMMBQ, T_AMMA, T_AMMAQ = 7, 8, 9, 10, 11, 12
T_DEPTH = 13  # then 2 * K depth fields: bid depths, then ask depths
# ``top`` output columns as the loop writes them, column-major (one contiguous row per
# column): integers, floats (prices and quantities already in units), and bytes.
TI_SEQ, TI_TIME, TI_BIDN, TI_ASKN, TI_SPREAD = 0, 1, 2, 3, 4
N_TI_FIELDS = 5
TF_BID, TF_BIDQ, TF_ASK, TF_ASKQ, TF_MID, TF_SPREAD, TF_BPS = 0, 1, 2, 3, 4, 5, 6
TF_SHARE_B, TF_SHARE_A, TF_AMMB, TF_AMMBQ, TF_AMMA, TF_AMMAQ = 7, 8, 9, 10, 11, 12
TF_DEPTH = 13  # then 2 * K depth columns: bid depths, then ask depths
TB_ALONE_B, TB_ALONE_A, TB_PRESENT = 0, 1, 2
N_TB_FIELDS = 3
# TB_PRESENT bits: which prices exist (the others' columns are null)
P_BID, P_ASK, P_AMMB, P_AMMA = 1, 2, 4, 8
P_ALL = P_BID | P_ASK | P_AMMB | P_AMMA
Q_EV, Q_SLOT, Q_ACCT, Q_AMM, Q_SIDE, Q_TICK, Q_LEAVES, Q_JSEQ, Q_JTIME = 0, 1, 2, 3, 4, 5, 6, 7, 8
Q_ATBEST, Q_POS, Q_LVLN, Q_LVLQ, Q_AHEADQ, Q_AHSTART, Q_AHN, Q_TRUNC = 9, 10, 11, 12, 13, 14, 15, 16
N_Q_FIELDS = 17
A_SLOT, A_ACCT, A_QTY, A_JSEQ, A_JTIME, A_AMM = 0, 1, 2, 3, 4, 5
N_A_FIELDS = 6
FD_EV, FD_KIND, FD_PRICE, FD_EXPPRICE, FD_QTY, FD_EXPQTY = 0, 1, 2, 3, 4, 5
N_F_FIELDS = 6


def n_top_fields(n_depths: int) -> int:
    """Width of a ``top`` state row (the loop's change test) for ``n_depths`` distances."""
    return T_DEPTH + 2 * n_depths


def n_top_float_fields(n_depths: int) -> int:
    """Float ``top`` output columns for ``n_depths`` depth distances."""
    return TF_DEPTH + 2 * n_depths


def new_state(n_levels: int, n_depths: int, capacity: int) -> dict[str, np.ndarray]:
    """Fresh replay state: empty book, ``capacity`` free slots."""
    levels = np.zeros((2, max(n_levels, 1), N_LEVEL_FIELDS), dtype=np.int64)
    levels[:, :, L_HEAD] = -1
    levels[:, :, L_TAIL] = -1
    sc = np.zeros(N_SC, dtype=np.int64)
    sc[SC_BEST : SC_BEST + 2] = -1
    sc[SC_AMMBEST : SC_AMMBEST + 2] = -1
    sc[SC_PENDING] = -1
    sc[SC_MIDB] = NA
    sc[SC_MIDA] = NA
    dep = np.zeros((N_DEP_ROWS, max(n_depths, 1)), dtype=np.int64)
    dep[0, :] = n_levels  # no bid level counted yet
    dep[1, :] = -1  # no ask level counted yet
    prev = np.zeros(n_top_fields(n_depths), dtype=np.int64)
    prev[:] = empty_top_row(n_depths)
    return {
        "slots": new_slots(capacity),
        "levels": levels,
        "sc": sc,
        "dep": dep,
        "prev": prev,
    }


def new_slots(capacity: int) -> np.ndarray:
    """``capacity`` dead slots."""
    slots = np.zeros((capacity, N_SLOT_FIELDS), dtype=np.int64)
    slots[:, S_PREV] = -1
    slots[:, S_NEXT] = -1
    return slots


def empty_top_row(n_depths: int) -> np.ndarray:
    """The ``top`` row of an empty book (event index aside)."""
    row = np.zeros(n_top_fields(n_depths), dtype=np.int64)
    row[T_BID] = NA
    row[T_ASK] = NA
    row[T_AMMB] = NA
    row[T_AMMA] = NA
    row[T_DEPTH:] = NA
    return row


@njit(cache=True, inline="always")
def _better(side: int, a: int, b: int) -> bool:
    # level a is better than level b on this side (higher bid, lower ask)
    return a > b if side == 0 else a < b


@njit(cache=True)
def _scan_best(lv: np.ndarray, side: int, start: int, field: int) -> int:
    """Nearest level at or worse than ``start`` whose ``field`` is positive, else -1."""
    n = lv.shape[1]
    if side == 0:
        i = start
        while i >= 0:
            if lv[0, i, field] > 0:
                return i
            i -= 1
    else:
        i = start
        while i < n:
            if lv[1, i, field] > 0:
                return i
            i += 1
    return -1


@njit(cache=True, inline="always")
def _depth_delta(dep: np.ndarray, side: int, idx: int, delta: int) -> None:
    k = dep.shape[1]
    if side == 0:
        for d in range(k):
            if idx >= dep[0, d]:
                dep[2, d] += delta
    else:
        for d in range(k):
            if idx <= dep[1, d]:
                dep[3, d] += delta


@njit(cache=True, inline="always")
def _level_qty_change(
    lv: np.ndarray, sc: np.ndarray, dep: np.ndarray, side: int, idx: int, delta: int, amm: int
) -> None:
    lv[side, idx, L_QTY] += delta
    if amm:
        lv[side, idx, L_AMMQ] += delta
    _depth_delta(dep, side, idx, delta)


@njit(cache=True, inline="always")
def _append(
    s: np.ndarray, lv: np.ndarray, sc: np.ndarray, dep: np.ndarray, o: int, side: int, idx: int
) -> None:
    """Put slot ``o`` at the back of level ``idx`` on ``side`` (fields already set)."""
    tail = lv[side, idx, L_TAIL]
    s[o, S_PREV] = tail
    s[o, S_NEXT] = -1
    if tail >= 0:
        s[tail, S_NEXT] = o
    else:
        lv[side, idx, L_HEAD] = o
    lv[side, idx, L_TAIL] = o
    s[o, S_STATE] = RESTING
    s[o, S_LEVEL] = idx
    s[o, S_SIDE] = side
    lv[side, idx, L_CNT] += 1
    sc[SC_CNT + side] += 1
    amm = s[o, S_AMM]
    _level_qty_change(lv, sc, dep, side, idx, s[o, S_LEAVES], amm)
    best = sc[SC_BEST + side]
    if best < 0 or _better(side, idx, best):
        sc[SC_BEST + side] = idx
    if amm:
        lv[side, idx, L_AMMN] += 1
        sc[SC_AMMN + side] += 1
        ab = sc[SC_AMMBEST + side]
        if ab < 0 or _better(side, idx, ab):
            sc[SC_AMMBEST + side] = idx


@njit(cache=True, inline="always")
def _unlink(s: np.ndarray, lv: np.ndarray, sc: np.ndarray, dep: np.ndarray, o: int) -> None:
    """Take resting slot ``o`` out of its level; the slot becomes dead."""
    side = s[o, S_SIDE]
    idx = s[o, S_LEVEL]
    prev = s[o, S_PREV]
    nxt = s[o, S_NEXT]
    if prev >= 0:
        s[prev, S_NEXT] = nxt
    else:
        lv[side, idx, L_HEAD] = nxt
    if nxt >= 0:
        s[nxt, S_PREV] = prev
    else:
        lv[side, idx, L_TAIL] = prev
    s[o, S_PREV] = -1
    s[o, S_NEXT] = -1
    s[o, S_STATE] = DEAD
    amm = s[o, S_AMM]
    _level_qty_change(lv, sc, dep, side, idx, -s[o, S_LEAVES], amm)
    lv[side, idx, L_CNT] -= 1
    sc[SC_CNT + side] -= 1
    if lv[side, idx, L_CNT] == 0 and sc[SC_BEST + side] == idx:
        if sc[SC_CNT + side] == 0:
            sc[SC_BEST + side] = -1
        else:
            sc[SC_BEST + side] = _scan_best(lv, side, idx, L_CNT)
    if amm:
        lv[side, idx, L_AMMN] -= 1
        sc[SC_AMMN + side] -= 1
        if lv[side, idx, L_AMMN] == 0 and sc[SC_AMMBEST + side] == idx:
            if sc[SC_AMMN + side] == 0:
                sc[SC_AMMBEST + side] = -1
            else:
                sc[SC_AMMBEST + side] = _scan_best(lv, side, idx, L_AMMN)


@njit(cache=True)
def _kill(s: np.ndarray, lv: np.ndarray, sc: np.ndarray, dep: np.ndarray, o: int) -> None:
    """Remove a live order, resting or in flight."""
    if s[o, S_STATE] == RESTING:
        _unlink(s, lv, sc, dep, o)
    else:
        if sc[SC_PENDING] == o:
            sc[SC_PENDING] = -1
        s[o, S_STATE] = DEAD


@njit(cache=True)
def _settle(s: np.ndarray, lv: np.ndarray, sc: np.ndarray, dep: np.ndarray) -> None:
    """End the in-flight order's matching: rest its remainder or drop it."""
    p = sc[SC_PENDING]
    if p < 0:
        return
    sc[SC_PENDING] = -1
    if (s[p, S_FLAGS] & FLAG_RESTS) and s[p, S_LEAVES] > 0 and s[p, S_LEVEL] >= 0:
        _append(s, lv, sc, dep, p, s[p, S_SIDE], s[p, S_LEVEL])
    else:
        s[p, S_STATE] = DEAD


@njit(cache=True, inline="always")
def _crosses(lv_ticks: np.ndarray, sc: np.ndarray, side: int, flags: int, tick: int) -> bool:
    if flags & FLAG_MARKET:
        return True
    opp = sc[SC_BEST + 1 - side]
    if opp < 0 or tick == NA:
        return False
    if side == 0:
        return tick >= lv_ticks[opp]
    return tick <= lv_ticks[opp]


@njit(cache=True)
def _enter(
    s: np.ndarray,
    lv: np.ndarray,
    sc: np.ndarray,
    dep: np.ndarray,
    lv_ticks: np.ndarray,
    o: int,
    seq: int,
    time: int,
) -> None:
    """Slot ``o`` (fields set) arrives at the book: rest it, or put it in flight."""
    s[o, S_JSEQ] = seq
    s[o, S_JTIME] = time
    if s[o, S_LEAVES] <= 0:
        s[o, S_STATE] = DEAD
        return
    side = s[o, S_SIDE]
    flags = s[o, S_FLAGS]
    if (flags & FLAG_RESTS) and not _crosses(lv_ticks, sc, side, flags, s[o, S_TICK]):
        _append(s, lv, sc, dep, o, side, s[o, S_LEVEL])
    else:
        if sc[SC_PENDING] >= 0 and sc[SC_PENDING] != o:
            _settle(s, lv, sc, dep)  # one order in flight at a time: the earlier one is done
        s[o, S_STATE] = IN_FLIGHT
        sc[SC_PENDING] = o


@njit(cache=True, inline="always")
def _move_boundaries(
    lv: np.ndarray, sc: np.ndarray, dep: np.ndarray, lv_ticks: np.ndarray, bps: np.ndarray
) -> None:
    """Shift the depth bands to the current mid, adding or removing the levels crossed."""
    bb = sc[SC_BEST]
    ba = sc[SC_BEST + 1]
    if bb < 0 or ba < 0:
        return
    bt = lv_ticks[bb]
    at = lv_ticks[ba]
    if bt == sc[SC_MIDB] and at == sc[SC_MIDA]:
        return
    sc[SC_MIDB] = bt
    sc[SC_MIDA] = at
    two_mid = bt + at
    n = lv_ticks.shape[0]
    for d in range(bps.shape[0]):
        # The band edges move with the mid, usually by a few levels: walk them from
        # where they were, adding or removing the quantity of each level crossed.
        # bid band: price >= mid * (1 - b/1e4)  <=>  tick * 20000 >= two_mid * (10000 - b)
        num = two_mid * (10000 - bps[d])
        lo_tick = -((-num) // 20000)  # ceil
        lo = dep[0, d]  # first level counted (n: none)
        acc = dep[2, d]
        while lo > 0 and lv_ticks[lo - 1] >= lo_tick:
            lo -= 1
            acc += lv[0, lo, L_QTY]
        while lo < n and lv_ticks[lo] < lo_tick:
            acc -= lv[0, lo, L_QTY]
            lo += 1
        dep[0, d] = lo
        dep[2, d] = acc
        # ask band: price <= mid * (1 + b/1e4)  <=>  tick * 20000 <= two_mid * (10000 + b)
        hi_tick = (two_mid * (10000 + bps[d])) // 20000  # floor
        hi = dep[1, d]  # last level counted (-1: none)
        acc = dep[3, d]
        while hi < n - 1 and lv_ticks[hi + 1] <= hi_tick:
            hi += 1
            acc += lv[1, hi, L_QTY]
        while hi >= 0 and lv_ticks[hi] > hi_tick:
            acc -= lv[1, hi, L_QTY]
            hi -= 1
        dep[1, d] = hi
        dep[3, d] = acc


@njit(cache=True, inline="always")
def _finding(
    f_out: np.ndarray,
    nf: int,
    ev: int,
    kind: int,
    price: int,
    exp_price: int,
    qty: int,
    exp_qty: int,
) -> int:
    f_out[nf, FD_EV] = ev
    f_out[nf, FD_KIND] = kind
    f_out[nf, FD_PRICE] = price
    f_out[nf, FD_EXPPRICE] = exp_price
    f_out[nf, FD_QTY] = qty
    f_out[nf, FD_EXPQTY] = exp_qty
    return nf + 1


@njit(cache=True, error_model="numpy")
def replay(
    start: int,
    e_type: np.ndarray,
    e_side: np.ndarray,
    e_flags: np.ndarray,
    e_liq: np.ndarray,
    e_slot: np.ndarray,
    e_acct: np.ndarray,
    e_level: np.ndarray,
    e_tick: np.ndarray,
    e_fill_tick: np.ndarray,
    e_qty: np.ndarray,
    e_leaves: np.ndarray,
    e_fill_qty: np.ndarray,
    e_seq: np.ndarray,
    e_time: np.ndarray,
    acct_amm: np.ndarray,
    lv_ticks: np.ndarray,
    bps: np.ndarray,
    max_ahead: int,
    tick_k: int,
    tick_scale: float,
    lot_k: int,
    lot_scale: float,
    s: np.ndarray,
    lv: np.ndarray,
    sc: np.ndarray,
    dep: np.ndarray,
    prev: np.ndarray,
    top_i: np.ndarray,
    top_f: np.ndarray,
    top_b: np.ndarray,
    q_out: np.ndarray,
    a_out: np.ndarray,
    f_out: np.ndarray,
) -> tuple[int, int, int, int, int]:
    """Apply events ``start..`` until the end or until an output buffer is nearly full.

    ``top`` rows are written as the final columns (see ``TI_*``, ``TF_*``, ``TB_*``):
    prices and quantities as ``counts * k / scale`` (``tick_k / tick_scale``, ``lot_k /
    lot_scale``: the grid step as an integer over a power of ten, so each value rounds
    once, as :func:`surveillance.book.engine.to_units` does), the mid, spreads, shares
    and flags derived from them with the same arithmetic as NumPy's (``error_model=
    "numpy"``: no division raises), so the caller only wraps the columns. A column
    whose value is null on a row (an empty side) holds NaN or 0 there and the row's
    ``TB_PRESENT`` bits say which prices exist.

    Returns ``(next_event, n_top, n_queue, n_ahead, n_findings)``: the first event
    not applied and the number of rows written to each buffer.
    """
    n = e_type.shape[0]
    k = bps.shape[0]
    nt = 0
    nq = 0
    na = 0
    nf = 0
    cap_t = top_i.shape[1]
    cap_q = q_out.shape[0]
    cap_a = a_out.shape[0]
    cap_f = f_out.shape[0]
    width = prev.shape[0]
    cur_row = np.empty(width, dtype=np.int64)
    i = start
    while i < n:
        if (
            nt >= cap_t
            or nq >= cap_q
            or na + max_ahead > cap_a
            or nf + MAX_FINDINGS_PER_EVENT > cap_f
        ):
            break
        et = e_type[i]
        o = e_slot[i]
        pending = sc[SC_PENDING]
        # a later instruction begins; the order's own CANCEL/EXPIRE/REJECT, even if
        # stamped later, ends it directly (an IOC expiring is not "not in the book")
        if (
            pending >= 0
            and et != EV_FILL
            and e_time[i] != s[pending, S_JTIME]
            and not (o == pending and et in (EV_CANCEL, EV_EXPIRE, EV_REJECT))
        ):
            _settle(s, lv, sc, dep)
        state = s[o, S_STATE]
        if et == EV_NEW:
            if state != DEAD:
                nf = _finding(f_out, nf, i, F_DUPLICATE_NEW, e_tick[i], NA, e_qty[i], NA)
                _kill(s, lv, sc, dep, o)
            s[o, S_SIDE] = e_side[i]
            s[o, S_FLAGS] = e_flags[i]
            s[o, S_LEVEL] = e_level[i]
            s[o, S_TICK] = e_tick[i]
            s[o, S_LEAVES] = e_leaves[i]
            s[o, S_QTY] = e_qty[i]
            s[o, S_ACCT] = e_acct[i]
            s[o, S_AMM] = acct_amm[e_acct[i]]
            _enter(s, lv, sc, dep, lv_ticks, o, e_seq[i], e_time[i])
        elif et == EV_REPLACE:
            if state == DEAD:
                nf = _finding(f_out, nf, i, F_NOT_IN_BOOK, e_tick[i], NA, e_leaves[i], NA)
            else:
                # resting, or in flight within its own instruction
                side = s[o, S_SIDE]
                new_leaves = e_leaves[i]
                keep = e_tick[i] == s[o, S_TICK] and e_qty[i] <= s[o, S_QTY]
                if new_leaves <= 0:
                    _kill(s, lv, sc, dep, o)
                elif keep:
                    delta = new_leaves - s[o, S_LEAVES]
                    s[o, S_LEAVES] = new_leaves
                    s[o, S_QTY] = e_qty[i]
                    if state == RESTING:
                        _level_qty_change(lv, sc, dep, side, s[o, S_LEVEL], delta, s[o, S_AMM])
                else:
                    _kill(s, lv, sc, dep, o)
                    s[o, S_SIDE] = side
                    s[o, S_LEVEL] = e_level[i]
                    s[o, S_TICK] = e_tick[i]
                    s[o, S_LEAVES] = new_leaves
                    s[o, S_QTY] = e_qty[i]
                    if e_level[i] < 0:
                        s[o, S_FLAGS] = s[o, S_FLAGS] & ~FLAG_RESTS
                    _enter(s, lv, sc, dep, lv_ticks, o, e_seq[i], e_time[i])
        elif et in (EV_CANCEL, EV_EXPIRE, EV_REJECT):
            if state != DEAD:
                _kill(s, lv, sc, dep, o)
            elif et != EV_REJECT:
                nf = _finding(f_out, nf, i, F_NOT_IN_BOOK, e_tick[i], NA, e_leaves[i], NA)
        elif et == EV_FILL:
            ft = e_fill_tick[i]
            if state == DEAD:
                nf = _finding(f_out, nf, i, F_NOT_IN_BOOK, ft, NA, e_fill_qty[i], NA)
            else:
                side = s[o, S_SIDE]
                liq = e_liq[i]
                if liq < 0:
                    liq = LIQ_MAKER if state == RESTING else LIQ_TAKER
                if liq == LIQ_MAKER:
                    if state != RESTING:
                        nf = _finding(f_out, nf, i, F_NOT_IN_BOOK, ft, NA, e_fill_qty[i], NA)
                    else:
                        best = sc[SC_BEST + side]
                        if ft != NA and ft != lv_ticks[best]:
                            nf = _finding(
                                f_out,
                                nf,
                                i,
                                F_MAKER_NOT_BEST,
                                ft,
                                lv_ticks[best],
                                e_fill_qty[i],
                                NA,
                            )
                        idx = s[o, S_LEVEL]
                        q_out[nq, Q_EV] = i
                        q_out[nq, Q_SLOT] = o
                        q_out[nq, Q_ACCT] = s[o, S_ACCT]
                        q_out[nq, Q_AMM] = s[o, S_AMM]
                        q_out[nq, Q_SIDE] = side
                        q_out[nq, Q_TICK] = s[o, S_TICK]
                        q_out[nq, Q_LEAVES] = s[o, S_LEAVES]
                        q_out[nq, Q_JSEQ] = s[o, S_JSEQ]
                        q_out[nq, Q_JTIME] = s[o, S_JTIME]
                        q_out[nq, Q_ATBEST] = 1 if idx == best else 0
                        q_out[nq, Q_LVLN] = lv[side, idx, L_CNT]
                        q_out[nq, Q_LVLQ] = lv[side, idx, L_QTY]
                        q_out[nq, Q_AHSTART] = na
                        pos = 0
                        ahead_q = 0
                        written = 0
                        cur = lv[side, idx, L_HEAD]
                        while cur >= 0 and cur != o:
                            if written < max_ahead:
                                a_out[na, A_SLOT] = cur
                                a_out[na, A_ACCT] = s[cur, S_ACCT]
                                a_out[na, A_QTY] = s[cur, S_LEAVES]
                                a_out[na, A_JSEQ] = s[cur, S_JSEQ]
                                a_out[na, A_JTIME] = s[cur, S_JTIME]
                                a_out[na, A_AMM] = s[cur, S_AMM]
                                na += 1
                                written += 1
                            pos += 1
                            ahead_q += s[cur, S_LEAVES]
                            cur = s[cur, S_NEXT]
                        q_out[nq, Q_POS] = pos
                        q_out[nq, Q_AHEADQ] = ahead_q
                        q_out[nq, Q_AHN] = written
                        q_out[nq, Q_TRUNC] = 1 if pos > written else 0
                        nq += 1
                else:
                    opp = sc[SC_BEST + 1 - side]
                    if ft != NA and opp >= 0:
                        ot = lv_ticks[opp]
                        if (side == 0 and ft > ot) or (side == 1 and ft < ot):
                            nf = _finding(f_out, nf, i, F_TAKER_SKIPPED, ft, ot, e_fill_qty[i], NA)
                expected = s[o, S_LEAVES] - e_fill_qty[i]
                new_leaves = e_leaves[i]
                if new_leaves != expected:
                    nf = _finding(f_out, nf, i, F_LEAVES_MISMATCH, ft, NA, new_leaves, expected)
                if new_leaves <= 0:
                    _kill(s, lv, sc, dep, o)
                elif s[o, S_STATE] == RESTING:
                    delta = new_leaves - s[o, S_LEAVES]
                    s[o, S_LEAVES] = new_leaves
                    _level_qty_change(lv, sc, dep, side, s[o, S_LEVEL], delta, s[o, S_AMM])
                else:
                    s[o, S_LEAVES] = new_leaves

        # a GTC/POST_ONLY order in flight rests as soon as it no longer crosses
        p = sc[SC_PENDING]
        if (
            p >= 0
            and (s[p, S_FLAGS] & FLAG_RESTS)
            and s[p, S_LEAVES] > 0
            and not _crosses(lv_ticks, sc, s[p, S_SIDE], s[p, S_FLAGS], s[p, S_TICK])
        ):
            _settle(s, lv, sc, dep)

        # the book after the event
        _move_boundaries(lv, sc, dep, lv_ticks, bps)
        bb = sc[SC_BEST]
        ba = sc[SC_BEST + 1]
        if bb >= 0 and ba >= 0 and lv_ticks[bb] >= lv_ticks[ba]:
            if sc[SC_CROSSED] == 0:
                sc[SC_CROSSED] = 1
                nf = _finding(f_out, nf, i, F_CROSSED, lv_ticks[bb], lv_ticks[ba], NA, NA)
        else:
            sc[SC_CROSSED] = 0
        changed = False
        row = cur_row
        if bb >= 0:
            row[T_BID] = lv_ticks[bb]
            row[T_BIDQ] = lv[0, bb, L_QTY]
            row[T_BIDN] = lv[0, bb, L_CNT]
            row[T_AMMQB] = lv[0, bb, L_AMMQ]
        else:
            row[T_BID] = NA
            row[T_BIDQ] = 0
            row[T_BIDN] = 0
            row[T_AMMQB] = 0
        if ba >= 0:
            row[T_ASK] = lv_ticks[ba]
            row[T_ASKQ] = lv[1, ba, L_QTY]
            row[T_ASKN] = lv[1, ba, L_CNT]
            row[T_AMMQA] = lv[1, ba, L_AMMQ]
        else:
            row[T_ASK] = NA
            row[T_ASKQ] = 0
            row[T_ASKN] = 0
            row[T_AMMQA] = 0
        ab = sc[SC_AMMBEST]
        if ab >= 0:
            row[T_AMMB] = lv_ticks[ab]
            row[T_AMMBQ] = lv[0, ab, L_AMMQ]
        else:
            row[T_AMMB] = NA
            row[T_AMMBQ] = 0
        aa = sc[SC_AMMBEST + 1]
        if aa >= 0:
            row[T_AMMA] = lv_ticks[aa]
            row[T_AMMAQ] = lv[1, aa, L_AMMQ]
        else:
            row[T_AMMA] = NA
            row[T_AMMAQ] = 0
        if bb >= 0 and ba >= 0:
            for d in range(k):
                row[T_DEPTH + d] = dep[2, d]
                row[T_DEPTH + k + d] = dep[3, d]
        else:
            for d in range(2 * k):
                row[T_DEPTH + d] = NA
        for f in range(1, width):
            if row[f] != prev[f]:
                changed = True
                break
        if changed:
            for f in range(1, width):
                prev[f] = row[f]
            top_i[TI_SEQ, nt] = e_seq[i]
            top_i[TI_TIME, nt] = e_time[i]
            top_i[TI_BIDN, nt] = row[T_BIDN]
            top_i[TI_ASKN, nt] = row[T_ASKN]
            present = 0
            bid_f = 0.0
            ask_f = 0.0
            bq = row[T_BIDQ]
            aq = row[T_ASKQ]
            top_f[TF_BIDQ, nt] = (bq * lot_k) / lot_scale
            top_f[TF_ASKQ, nt] = (aq * lot_k) / lot_scale
            if bb >= 0:
                present |= P_BID
                bid_f = (row[T_BID] * tick_k) / tick_scale
                top_f[TF_SHARE_B, nt] = row[T_AMMQB] / bq
                top_b[TB_ALONE_B, nt] = 1 if row[T_AMMQB] == bq else 0
            else:
                top_f[TF_SHARE_B, nt] = np.nan
                top_b[TB_ALONE_B, nt] = 0
            top_f[TF_BID, nt] = bid_f
            if ba >= 0:
                present |= P_ASK
                ask_f = (row[T_ASK] * tick_k) / tick_scale
                top_f[TF_SHARE_A, nt] = row[T_AMMQA] / aq
                top_b[TB_ALONE_A, nt] = 1 if row[T_AMMQA] == aq else 0
            else:
                top_f[TF_SHARE_A, nt] = np.nan
                top_b[TB_ALONE_A, nt] = 0
            top_f[TF_ASK, nt] = ask_f
            if bb >= 0 and ba >= 0:
                spread_t = row[T_ASK] - row[T_BID]
                mid = (bid_f + ask_f) / 2.0
                spread = (spread_t * tick_k) / tick_scale
                top_i[TI_SPREAD, nt] = spread_t
                top_f[TF_MID, nt] = mid
                top_f[TF_SPREAD, nt] = spread
                top_f[TF_BPS, nt] = spread / mid * 10_000.0
                for d in range(2 * k):
                    top_f[TF_DEPTH + d, nt] = (row[T_DEPTH + d] * lot_k) / lot_scale
            else:
                top_i[TI_SPREAD, nt] = 0
                top_f[TF_MID, nt] = np.nan
                top_f[TF_SPREAD, nt] = np.nan
                top_f[TF_BPS, nt] = np.nan
                for d in range(2 * k):
                    top_f[TF_DEPTH + d, nt] = np.nan
            if ab >= 0:
                present |= P_AMMB
                top_f[TF_AMMB, nt] = (row[T_AMMB] * tick_k) / tick_scale
            else:
                top_f[TF_AMMB, nt] = np.nan
            top_f[TF_AMMBQ, nt] = (row[T_AMMBQ] * lot_k) / lot_scale
            if aa >= 0:
                present |= P_AMMA
                top_f[TF_AMMA, nt] = (row[T_AMMA] * tick_k) / tick_scale
            else:
                top_f[TF_AMMA, nt] = np.nan
            top_f[TF_AMMAQ, nt] = (row[T_AMMAQ] * lot_k) / lot_scale
            top_b[TB_PRESENT, nt] = present
            nt += 1
        i += 1
    return i, nt, nq, na, nf


@njit(cache=True)
def first_rows(keys: np.ndarray, base: int, size: int) -> np.ndarray:
    """Row of the first occurrence of each key ``base..base+size-1`` in ``keys``; -1 if none.

    Keys outside that range are skipped. Used to take the ids of a chunk's new orders
    from their first rows, without hashing the id strings.
    """
    out = np.full(size, -1, dtype=np.int64)
    for r in range(keys.shape[0]):
        j = keys[r] - base
        if 0 <= j < size and out[j] < 0:
            out[j] = r
    return out


@njit(cache=True, inline="always")
def _count(value: float, step: float) -> tuple[int, bool]:
    """``value`` as a multiple of ``step`` and whether it is off the grid.

    The arithmetic of :func:`surveillance.book.engine.to_counts`, one value at a time:
    NaN gives 0 (not off-grid); a value beyond the int64 range gives ``NA``, as
    NumPy's cast does.
    """
    ratio = value / step
    if np.isnan(ratio):
        return 0, False
    rounded = np.rint(ratio)
    off = abs(ratio - rounded) > 1e-6 + 1e-12 * abs(ratio)
    if not (-(2.0**63) <= rounded < 2.0**63):
        return NA, off
    return int(rounded), off


@njit(cache=True)
def prepare(
    price: np.ndarray,
    fill_price: np.ndarray,
    qty: np.ndarray,
    leaves: np.ndarray,
    fill_qty: np.ndarray,
    is_market: np.ndarray,
    tif_rests: np.ndarray,
    tick_size: float,
    lot_size: float,
    ticks: np.ndarray,
    dense: bool,
    e_tick: np.ndarray,
    e_fill_tick: np.ndarray,
    e_qty: np.ndarray,
    e_leaves: np.ndarray,
    e_fill_qty: np.ndarray,
    e_flags: np.ndarray,
    e_level: np.ndarray,
) -> tuple[int, int]:
    """One pass over a chunk's prices and quantities: ticks, lots, flags and levels.

    Prices become ticks (``NA`` when null), quantities lots (0 when null); a priced
    non-MARKET order with GTC/POST_ONLY may rest (``FLAG_RESTS``), a MARKET order is
    marketable (``FLAG_MARKET``); a priced non-MARKET row's level is its tick's index
    in ``ticks`` (its offset from the first when ``dense``), others get -1.

    Returns ``(off_grid_rows, rows_without_level)``: rows holding a value off the
    grid (their findings are made apart), and priced rows whose tick is not a level
    (an error of the caller's level table).
    """
    n = price.shape[0]
    n_levels = ticks.shape[0]
    first = ticks[0] if n_levels else 0
    n_off = 0
    missing = 0
    for r in range(n):
        p = price[r]
        has_price = not np.isnan(p)
        t, off_p = _count(p, tick_size)
        e_tick[r] = t if has_price else NA
        ft, off_fp = _count(fill_price[r], tick_size)
        e_fill_tick[r] = NA if np.isnan(fill_price[r]) else ft
        q, off_q = _count(qty[r], lot_size)
        lv, off_l = _count(leaves[r], lot_size)
        fq, off_fq = _count(fill_qty[r], lot_size)
        e_qty[r] = q
        e_leaves[r] = lv
        e_fill_qty[r] = fq
        if off_p or off_fp or off_q or off_l or off_fq:
            n_off += 1
        market = is_market[r]
        limit_priced = has_price and not market
        flags = 0
        if limit_priced and tif_rests[r]:
            flags |= FLAG_RESTS
        if market:
            flags |= FLAG_MARKET
        e_flags[r] = flags
        level = -1
        if limit_priced:
            if dense:
                level = t - first
                if level < 0 or level >= n_levels:
                    missing += 1
                    level = -1
            else:
                level = int(np.searchsorted(ticks, t))
                if level >= n_levels or ticks[level] != t:
                    missing += 1
                    level = -1
        e_level[r] = level
    return n_off, missing
