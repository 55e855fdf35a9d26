"""Book replay throughput on a 10-million-event day, against the floor and a baseline.

The day is synthesised (the simulator is far slower than the replay at this size):
a compiled generator keeps its own price-time book and writes a consistent journal
of passive GTC orders, cancels, replaces (size reductions that keep priority, price
moves that lose it) and IOC takers that fill the best level's queue in time order,
with the AMM's accounts quoting a third of the passive orders. The journal is written
as a curated ``orders`` Parquet partition, then:

* **floor**: pyarrow reading the replay's columns of that partition as the replay
  reads them (``order_key`` included, enum columns dictionary-encoded);
* **build**: ``build_symbol``, what ``mmsurv book`` does for one symbol: read, key
  orders, compiled loop with top of book, depth, AMM presence and queue evidence,
  Arrow outputs written to Parquet (the goal is measured on this);
* **replay**: the same without writing the outputs, and the compiled loop alone;
* **baseline**: the ``order-book`` package (a C price-level book) applying the same
  price-level updates, plus a top-of-book read after each, from a Python loop;
* **memory**: the build's peak RSS in a fresh process, for the whole day and for a
  quarter of it: bounded by the open book and the chunk, not the day's length;
* **JIT**: numba compile time with a cold cache, and loading the cached machine code.

Rates are per CPU second of the process on one core, median of runs, each with the
load average when it was taken. Run with ``python -m benchmarks book``;
``BOOK_BENCH_EVENTS`` changes the day's size.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from numba import njit

from surveillance.book import replay as rp
from surveillance.book.build import build_symbol, journal_batches, replay_partition
from surveillance.book.engine import ORDER_KEY, ReplayParams, SymbolBook
from surveillance.contract import Orders
from surveillance.storage import Lake

N_EVENTS = int(os.environ.get("BOOK_BENCH_EVENTS", "10000000"))
BASELINE_UPDATES = 2_000_000
RUNS = 3
CHUNK = 1_000_000
WINDOW = 1 << 16  # price window of the synthetic day, in ticks
BASE_TICK = 6_000_000 - WINDOW // 2  # 60,000.00 at a 0.01 tick in the middle
TICK, LOT = 0.01, 0.0001
N_ACCOUNTS = 500
AMM_ACCOUNTS = 2  # accounts 0 and 1 belong to the affiliated market maker
SYMBOL = "BTC-USD"
DAY = dt.date(2026, 3, 2)
CHUNK_ROWS = 262_144

# generator state: st[...]
G_LIVE, G_FREE, G_OID, G_TRADE, G_TIME = 0, 1, 2, 3, 4


@njit(cache=True)
def _passive_level(sc: np.ndarray, side: int, window: int) -> int:
    opp = sc[rp.SC_BEST + 1 - side]
    own = sc[rp.SC_BEST + side]
    if opp >= 0:
        ref = opp - 1 if side == 0 else opp + 1
    elif own >= 0:
        ref = own
    else:
        ref = window // 2
    off = int(np.random.exponential(4.0))
    idx = ref - off if side == 0 else ref + off
    idx = min(max(idx, 1), window - 2)
    if opp >= 0 and ((side == 0 and idx >= opp) or (side == 1 and idx <= opp)):
        return -1
    return idx


@njit(cache=True)
def _generate(
    n: int,
    window: int,
    s: np.ndarray,
    lv: np.ndarray,
    sc: np.ndarray,
    dep: np.ndarray,
    live: np.ndarray,
    live_pos: np.ndarray,
    free: np.ndarray,
    oid_of: np.ndarray,
    st: np.ndarray,
    out: np.ndarray,
    upd: np.ndarray,
) -> tuple[int, int]:
    """Write about ``n`` journal rows into ``out`` (fields x rows); returns (rows, updates)."""
    r = 0
    u = 0
    while r < n - 40:
        st[G_TIME] += 1 + int(np.random.exponential(8_000_000.0))
        t = st[G_TIME]
        x = np.random.random()
        nlive = st[G_LIVE]
        if nlive < 50 or (x < 0.42 and nlive < 20_000):
            side = np.random.randint(0, 2)
            idx = _passive_level(sc, side, window)
            if idx < 0:
                continue
            slot = free[st[G_FREE] - 1]
            st[G_FREE] -= 1
            q = 1 + int(np.random.exponential(50.0))
            acct = (
                np.random.randint(0, AMM_ACCOUNTS)
                if np.random.random() < 0.33
                else (AMM_ACCOUNTS + np.random.randint(0, N_ACCOUNTS - AMM_ACCOUNTS))
            )
            s[slot, rp.S_FLAGS] = rp.FLAG_RESTS
            s[slot, rp.S_TICK] = idx
            s[slot, rp.S_LEAVES] = q
            s[slot, rp.S_QTY] = q
            s[slot, rp.S_ACCT] = acct
            s[slot, rp.S_AMM] = 1 if acct < AMM_ACCOUNTS else 0
            oid_of[slot] = st[G_OID]
            st[G_OID] += 1
            rp._append(s, lv, sc, dep, slot, side, idx)
            live[nlive] = slot
            live_pos[slot] = nlive
            st[G_LIVE] += 1
            _row(out, r, rp.EV_NEW, oid_of[slot], acct, side, 0, idx, q, q, -1, 0, -1, -1, t)
            r += 1
            u = _update(upd, u, r - 1, side, idx, lv[side, idx, rp.L_QTY])
        elif x < 0.72:
            slot = live[np.random.randint(0, nlive)]
            side = s[slot, rp.S_SIDE]
            idx = s[slot, rp.S_LEVEL]
            _row(
                out,
                r,
                rp.EV_CANCEL,
                oid_of[slot],
                s[slot, rp.S_ACCT],
                side,
                0,
                idx,
                s[slot, rp.S_QTY],
                0,
                -1,
                0,
                -1,
                -1,
                t,
            )
            r += 1
            rp._unlink(s, lv, sc, dep, slot)
            _drop(live, live_pos, free, st, slot)
            u = _update(upd, u, r - 1, side, idx, lv[side, idx, rp.L_QTY])
        elif x < 0.84:
            slot = live[np.random.randint(0, nlive)]
            side = s[slot, rp.S_SIDE]
            idx = s[slot, rp.S_LEVEL]
            leaves = s[slot, rp.S_LEAVES]
            if np.random.random() < 0.5 and leaves > 1:
                new_leaves = 1 + np.random.randint(0, leaves - 1)
                s[slot, rp.S_QTY] -= leaves - new_leaves
                s[slot, rp.S_LEAVES] = new_leaves
                rp._level_qty_change(lv, sc, dep, side, idx, new_leaves - leaves, s[slot, rp.S_AMM])
                new_idx = idx
            else:
                new_idx = _passive_level(sc, side, window)
                if new_idx < 0 or new_idx == idx:
                    continue
                rp._unlink(s, lv, sc, dep, slot)
                s[slot, rp.S_TICK] = new_idx
                rp._append(s, lv, sc, dep, slot, side, new_idx)
            _row(
                out,
                r,
                rp.EV_REPLACE,
                oid_of[slot],
                s[slot, rp.S_ACCT],
                side,
                0,
                new_idx,
                s[slot, rp.S_QTY],
                s[slot, rp.S_LEAVES],
                -1,
                0,
                -1,
                -1,
                t,
            )
            r += 1
            u = _update(upd, u, r - 1, side, idx, lv[side, idx, rp.L_QTY])
            if new_idx != idx:
                u = _update(upd, u, r - 1, side, new_idx, lv[side, new_idx, rp.L_QTY])
        else:
            side = np.random.randint(0, 2)
            opp = sc[rp.SC_BEST + 1 - side]
            if opp < 0:
                continue
            q = 1 + int(np.random.exponential(80.0))
            acct = (
                np.random.randint(0, AMM_ACCOUNTS)
                if np.random.random() < 0.2
                else (AMM_ACCOUNTS + np.random.randint(0, N_ACCOUNTS - AMM_ACCOUNTS))
            )
            taker = st[G_OID]
            st[G_OID] += 1
            _row(out, r, rp.EV_NEW, taker, acct, side, 1, opp, q, q, -1, 0, -1, -1, t)
            r += 1
            rem = q
            fills = 0
            while rem > 0 and fills < 16:
                head = lv[1 - side, opp, rp.L_HEAD]
                if head < 0:
                    break
                f = min(rem, s[head, rp.S_LEAVES])
                after = s[head, rp.S_LEAVES] - f
                trade = st[G_TRADE]
                st[G_TRADE] += 1
                _row(
                    out,
                    r,
                    rp.EV_FILL,
                    oid_of[head],
                    s[head, rp.S_ACCT],
                    1 - side,
                    0,
                    opp,
                    s[head, rp.S_QTY],
                    after,
                    opp,
                    f,
                    rp.LIQ_MAKER,
                    trade,
                    t,
                )
                _row(
                    out,
                    r + 1,
                    rp.EV_FILL,
                    taker,
                    acct,
                    side,
                    1,
                    opp,
                    q,
                    rem - f,
                    opp,
                    f,
                    rp.LIQ_TAKER,
                    trade,
                    t,
                )
                r += 2
                if after == 0:
                    rp._unlink(s, lv, sc, dep, head)
                    _drop(live, live_pos, free, st, head)
                else:
                    s[head, rp.S_LEAVES] = after
                    rp._level_qty_change(lv, sc, dep, 1 - side, opp, -f, s[head, rp.S_AMM])
                u = _update(upd, u, r - 2, 1 - side, opp, lv[1 - side, opp, rp.L_QTY])
                rem -= f
                fills += 1
            if rem > 0:
                _row(out, r, rp.EV_EXPIRE, taker, acct, side, 1, opp, q, 0, -1, 0, -1, -1, t)
                r += 1
    return r, u


@njit(cache=True, inline="always")
def _row(
    out: np.ndarray,
    r: int,
    et: int,
    oid: int,
    acct: int,
    side: int,
    ioc: int,
    idx: int,
    q: int,
    leaves: int,
    fill_idx: int,
    fq: int,
    liq: int,
    trade: int,
    t: int,
) -> None:
    out[0, r] = et
    out[1, r] = oid
    out[2, r] = acct
    out[3, r] = side
    out[4, r] = ioc
    out[5, r] = idx
    out[6, r] = q
    out[7, r] = leaves
    out[8, r] = fill_idx
    out[9, r] = fq
    out[10, r] = liq
    out[11, r] = trade
    out[12, r] = t


@njit(cache=True, inline="always")
def _update(upd: np.ndarray, u: int, row: int, side: int, idx: int, qty: int) -> int:
    upd[0, u] = row
    upd[1, u] = side
    upd[2, u] = idx
    upd[3, u] = qty
    return u + 1


@njit(cache=True, inline="always")
def _drop(
    live: np.ndarray, live_pos: np.ndarray, free: np.ndarray, st: np.ndarray, slot: int
) -> None:
    k = live_pos[slot]
    last = live[st[G_LIVE] - 1]
    live[k] = last
    live_pos[last] = k
    st[G_LIVE] -= 1
    free[st[G_FREE]] = slot
    st[G_FREE] += 1


@njit(cache=True)
def _seed(seed: int) -> None:
    np.random.seed(seed)


def _strings(prefix: str, numbers: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    text = pc.binary_join_element_wise(prefix, pc.cast(pa.array(numbers), pa.string()), "")
    if valid is not None:
        text = pc.if_else(pa.array(valid), text, pa.scalar(None, pa.string()))
    return text


_SCHEMA = Orders.schema().append(pa.field(ORDER_KEY, pa.int64(), nullable=False))


def _arrow(out: np.ndarray, start_seq: int, day_ns: int) -> pa.Table:
    """Journal rows (generator fields x rows) as a curated ``orders`` table."""
    n = out.shape[1]
    et, oid, acct, side, ioc, idx, q, leaves, fidx, fq, liq, trade, t = out
    is_fill = et == rp.EV_FILL
    accounts = pa.array(
        [f"AMM-{i + 1}" for i in range(AMM_ACCOUNTS)]
        + [f"CLI-{i:04d}" for i in range(N_ACCOUNTS - AMM_ACCOUNTS)]
    )
    cols = {
        Orders.event_time: pa.array(day_ns + t, pa.timestamp("ns", tz="UTC")),
        Orders.gateway_time: pa.nulls(n, pa.timestamp("ns", tz="UTC")),
        Orders.seq: pa.array(np.arange(start_seq, start_seq + n, dtype=np.int64)),
        Orders.symbol: pa.array([SYMBOL]).take(pa.array(np.zeros(n, np.int32))),
        Orders.order_id: _strings("BTC-O", oid),
        Orders.account_id: accounts.take(pa.array(acct)),
        Orders.event_type: pa.array(list(rp.EVENT_TYPES)).take(pa.array(et)),
        Orders.side: pa.array(list(rp.SIDES)).take(pa.array(side)),
        Orders.order_type: pa.array(["LIMIT"]).take(pa.array(np.zeros(n, np.int32))),
        Orders.time_in_force: pa.array(["GTC", "IOC"]).take(pa.array(ioc)),
        Orders.price: pa.array(np.round((BASE_TICK + idx) * TICK, 2)),
        Orders.quantity: pa.array(np.round(q * LOT, 4)),
        Orders.leaves_quantity: pa.array(np.round(leaves * LOT, 4)),
        Orders.fill_price: pa.array(np.round((BASE_TICK + fidx) * TICK, 2), mask=~is_fill),
        Orders.fill_quantity: pa.array(np.round(fq * LOT, 4), mask=~is_fill),
        Orders.trade_id: _strings("BTC-T", trade, is_fill),
        Orders.liquidity: pa.array(["MAKER", "TAKER"]).take(pa.array(liq, mask=liq < 0)),
        Orders.origin: pa.array(["CLIENT"]).take(pa.array(np.zeros(n, np.int32))),
        # as the ingest writes it: orders numbered by first appearance (their NEW)
        ORDER_KEY: pa.array(oid - 1),
    }
    return pa.Table.from_pydict(cols, schema=_SCHEMA)


def synthesise(path: Path, n_events: int, *, seed: int = 7) -> tuple[np.ndarray, int]:
    """Write an ``n_events``-row journal to ``path``; return the level updates and rows."""
    _seed(seed)
    state = rp.new_state(WINDOW, 1, 1 << 16)
    s, lv, sc, dep = state["slots"], state["levels"], state["sc"], state["dep"]
    cap = s.shape[0]
    live = np.zeros(cap, np.int64)
    live_pos = np.zeros(cap, np.int64)
    free = np.arange(cap - 1, -1, -1, dtype=np.int64)
    oid_of = np.zeros(cap, np.int64)
    st = np.zeros(8, np.int64)
    st[G_FREE] = cap
    st[G_OID] = 1
    st[G_TRADE] = 1
    day_ns = int(np.datetime64(DAY.isoformat(), "ns").astype(np.int64))
    updates: list[np.ndarray] = []
    written = 0
    with pq.ParquetWriter(path, _SCHEMA, compression="zstd") as writer:
        while written < n_events:
            want = min(CHUNK, n_events - written) + 40
            out = np.zeros((13, want), np.int64)
            upd = np.zeros((4, 2 * want), np.int64)
            rows, n_upd = _generate(
                want, WINDOW, s, lv, sc, dep, live, live_pos, free, oid_of, st, out, upd
            )
            rows = min(rows, n_events - written)
            keep = upd[:, :n_upd]
            keep = keep[:, keep[0] < rows]
            keep[0] += written
            if sum(u.shape[1] for u in updates) < BASELINE_UPDATES:
                updates.append(keep)
            writer.write_table(_arrow(out[:, :rows], written + 1, day_ns), row_group_size=CHUNK)
            written += rows
    return np.concatenate(updates, axis=1)[:, :BASELINE_UPDATES], written


def _order_book_rate(updates: np.ndarray) -> float:
    """Journal rows per second of ``order-book`` applying the level updates of those rows."""
    from order_book import OrderBook

    book = OrderBook()
    sides = (book.bids, book.asks)
    rows, side_of, idx_of, qty_of = (updates[i].tolist() for i in range(4))
    prices = [round((BASE_TICK + i) * TICK, 2) for i in idx_of]
    sizes = [q * LOT for q in qty_of]
    started = time.process_time()
    bids, asks = book.bids, book.asks
    for k in range(len(rows)):
        levels = sides[side_of[k]]
        if sizes[k] > 0:
            levels[prices[k]] = sizes[k]
        elif prices[k] in levels:
            del levels[prices[k]]
        if len(bids) and len(asks):
            bids.index(0)
            asks.index(0)
    elapsed = time.process_time() - started
    return (rows[-1] + 1 - rows[0]) / elapsed


def _child(code: str, cache_dir: str | None = None) -> str:
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return done.stdout.strip().splitlines()[-1]


_MEMORY_CODE = """
import datetime as dt
from pathlib import Path
from surveillance.book.build import build_symbol
from surveillance.book.engine import ReplayParams
from surveillance.storage import Lake
def hwm():  # peak RSS of this process in kB (ru_maxrss would include the forking parent's)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
p = ReplayParams("BTC-USD", 0.01, 0.0001, frozenset({"AMM-1", "AMM-2"}), (10, 25, 50, 100))
base = hwm()
result = build_symbol(Lake(Path(LAKE)), dt.date(2026, 3, 2), p, chunk_rows=262_144)
print(base, hwm(), result.events)
"""

_JIT_CODE = """
import time
t0 = time.perf_counter()
import pyarrow as pa
from surveillance.book.engine import ReplayParams, replay_table
from surveillance.contract import Orders
from surveillance.storage import Lake
import pandas as pd
rows = [dict(event_time=pd.Timestamp("2026-03-02", tz="UTC"), seq=1, symbol="X", order_id="a",
             account_id="c", event_type="NEW", side="BUY", order_type="LIMIT", time_in_force="GTC",
             price=1.0, quantity=1.0, leaves_quantity=1.0, origin="CLIENT")]
t1 = time.perf_counter()
table = Orders.from_pylist(rows)
table = table.append_column("order_key", pa.array([0], pa.int64()))  # the keyed path
replay_table(table, ReplayParams("X", 0.5, 0.1, frozenset(), (10,)))
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def _cpu(fn: Callable[[], object]) -> tuple[float, float]:
    """CPU seconds and wall seconds of ``fn()``.

    Rates are reported per CPU second of this process (Arrow limited to one
    thread): "events per second on one core" even when other jobs share the
    machine, which wall-clock time would charge to the replay.
    """
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def _discard(batch: pa.RecordBatch) -> None:
    """A sink that drops output batches: measures producing them, not storing them."""


def _load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def _median_rate(n: int, fn: Callable[[], object]) -> tuple[float, float, str]:
    """Events per CPU second and per wall second of ``fn`` (median of RUNS), and the load."""
    cpu, wall = zip(*(_cpu(fn) for _ in range(RUNS)), strict=True)
    return n / statistics.median(cpu), n / statistics.median(wall), _load()


def run() -> None:
    pa.set_cpu_count(1)  # one core: Arrow's thread pools too
    pa.set_io_thread_count(1)
    with tempfile.TemporaryDirectory(prefix="book-bench-") as tmp:
        lake = Lake(Path(tmp) / "lake")
        folder = Path(lake.curated(Orders.name, DAY, SYMBOL))
        folder.mkdir(parents=True)
        path = folder / "part-0.parquet"
        started = time.perf_counter()
        updates, n = synthesise(path, N_EVENTS)
        print(
            f"synthetic day: {n:,} journal rows written in {time.perf_counter() - started:.1f} s "
            f"({path.stat().st_size / 1e6:.0f} MB Parquet)"
        )

        def floor_read() -> None:  # what the replay reads, as it reads it
            for _ in journal_batches(str(folder), CHUNK_ROWS):
                pass

        params = ReplayParams(SYMBOL, TICK, LOT, frozenset({"AMM-1", "AMM-2"}), (10, 25, 50, 100))
        build_symbol(lake, DAY, params, chunk_rows=CHUNK_ROWS)  # warm: load the JIT cache
        holder: list[SymbolBook] = []

        def replay() -> None:
            holder.append(
                replay_partition(
                    str(folder),
                    params,
                    chunk_rows=CHUNK_ROWS,
                    top_sink=_discard,
                    queue_sink=_discard,
                    sink_consumes=True,  # as the build's writers
                )[0]
            )

        def build() -> None:  # what `mmsurv book` does for the symbol
            build_symbol(lake, DAY, params, chunk_rows=CHUNK_ROWS)

        floor, _, floor_load = _median_rate(n, floor_read)
        built, built_wall, built_load = _median_rate(n, build)
        total, _, total_load = _median_rate(n, replay)
        core = n / statistics.median(b.replay_seconds for b in holder)
        book = holder[-1]
        baseline = _order_book_rate(updates)
        baseline_load = _load()
        sizes = {
            kind: sum(
                f.stat().st_size for f in Path(lake.book(kind, DAY, SYMBOL)).glob("*.parquet")
            )
            for kind in ("top", "queue")
        }
        print(
            f"outputs: {book.top_rows:,} top rows ({sizes['top'] / 1e6:.0f} MB), "
            f"{book.queue_rows:,} queue rows ({sizes['queue'] / 1e6:.0f} MB), "
            f"findings {book.finding_counts() or 'none'}"
        )
        print(f"rates per CPU second on one core, median of {RUNS} runs:")
        rows = (
            ("floor", "pyarrow read of the replay's columns", floor, floor_load),
            ("build", "end to end: read, replay, Parquet outputs", built, built_load),
            ("build", "  the same in wall-clock time (shared)", built_wall, built_load),
            ("replay", "as build, outputs made but not written", total, total_load),
            ("replay", "  the compiled loop alone", core, total_load),
            ("baseline", "order-book (C) from a Python loop", baseline, baseline_load),
        )
        for label, what, rate, load in rows:
            print(f"{label:<8} {what:<42}: {rate / 1e6:6.2f} M events/s  ({load})")
        print(
            f"ratio    end to end / order-book baseline: {built / baseline:5.2f}x (goal >= 2x); "
            f"without writing {total / baseline:.2f}x; end to end / floor {built / floor:.2f}x"
        )
        goal = "meets" if built >= 3e6 else "misses"
        print(f"goal     >= 3 M events/s end to end with top of book and queues: {goal}")

        quarter = Lake(Path(tmp) / "quarter")
        quarter_file = Path(quarter.curated(Orders.name, DAY, SYMBOL)) / "part-0.parquet"
        quarter_file.parent.mkdir(parents=True)
        pq.write_table(pq.read_table(path).slice(0, n // 4), quarter_file)
        for label, target in (("whole day", lake), ("quarter day", quarter)):
            code = _MEMORY_CODE.replace("LAKE", repr(str(target.root)))
            base, peak, events = (int(v) for v in _child(code).split())
            print(
                f"memory   {label:<12}: {events:>11,} events, peak RSS {peak / 1024:7.0f} MB "
                f"(after imports {base / 1024:.0f} MB; build with Parquet outputs)"
            )

        cache = Path(tmp) / "numba-cache"
        _, first_cold = (float(v) for v in _child(_JIT_CODE, str(cache)).split())
        import_warm, first_warm = (float(v) for v in _child(_JIT_CODE, str(cache)).split())
        print(
            f"JIT      compile with a cold cache: {first_cold:.1f} s; load from the cache: "
            f"{first_warm:.2f} s (imports {import_warm:.1f} s); the rates above exclude both"
        )
