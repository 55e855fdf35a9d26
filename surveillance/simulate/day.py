"""``simulate_day``: one simulated venue day written in the contract's landing layout."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from surveillance.contract import Accounts, Instruments, Labels, Orders, ReferencePrices, Trades
from surveillance.days import parse_day
from surveillance.errors import InputError
from surveillance.simulate import injectors as injectors_module
from surveillance.simulate import novel as novel_module
from surveillance.simulate import writer
from surveillance.simulate.market import SymbolSim
from surveillance.simulate.venue import Population, instruments, population
from surveillance.storage import Landing, join, table_writer, write_table

#: Rows converted to Arrow at a time, which bounds the writer's memory.
CHUNK_ROWS = 1_000_000
#: Orders and trades go to two files per day: events before and after noon UTC.
SPLIT_NS = 43_200 * 1_000_000_000
#: Affiliated accounts earn a deeper maker rebate (bps), as group market makers do.
AMM_MAKER_FEE_BPS = -1.0


@dataclass(frozen=True)
class SimulationSummary:
    """What a simulated day holds: counts by symbol and role, labels by typology."""

    root: str
    day: dt.date
    seed: int
    clean: bool
    intensity: float
    symbols: tuple[str, ...]
    orders: int
    trades: int
    events_by_symbol_role: dict[tuple[str, str], int] = field(default_factory=dict)
    trades_by_symbol: dict[str, int] = field(default_factory=dict)
    labels_by_typology: dict[str, int] = field(default_factory=dict)

    @property
    def labels(self) -> int:
        return sum(self.labels_by_typology.values())

    def events_by_symbol(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for (symbol, _), n in self.events_by_symbol_role.items():
            out[symbol] = out.get(symbol, 0) + n
        return out

    def event_rows(self) -> list[dict[str, Any]]:
        """One row per (symbol, role) for printing."""
        return [
            {"symbol": s, "role": r, "events": n}
            for (s, r), n in sorted(self.events_by_symbol_role.items())
        ]

    def label_rows(self) -> list[dict[str, Any]]:
        return [{"typology": t, "labels": n} for t, n in sorted(self.labels_by_typology.items())]


def _day_ns(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()) * 10**9


def simulate_day(
    out_root: str | Path,
    day: dt.date | str,
    *,
    symbols: int = 3,
    events: int = 300_000,
    seed: int = 0,
    clean: bool = False,
    intensity: float = 1.0,
    engine_truth: str | Path | None = None,
    progress: Callable[[int], object] | None = None,
    novel: tuple[str, ...] = (),
) -> SimulationSummary:
    """Simulate one trading day of the venue and land it in the contract layout.

    Writes ``accounts``, ``instruments``, ``orders`` and ``trades`` (each split into
    two files, before and after noon, with every symbol in both), ``reference_prices``
    and ``labels`` for ``day`` below ``out_root``, then the ``_SUCCESS`` marker. The
    same arguments always give the same bytes.

    Parameters
    ----------
    out_root
        Landing root (a folder or an fsspec URI).
    day
        The trading day.
    symbols
        Number of instruments, 1 to 8.
    events
        Approximate total number of order-journal rows over all symbols.
    seed
        Seed of every random draw.
    clean
        Inject no misconduct (the labels file is then empty).
    intensity
        How blatant the injected misconduct is, in (0, 1]: 1 is clear, 0.3 subtle
        (smaller size advantages, shorter leads, fewer layers, marginal breaches).
    engine_truth
        When given, a folder outside the landing root that receives
        ``<symbol>.parquet`` with the engine's best bid/ask after every journal row.
    progress
        Called with the number of journal rows produced since the last call.
    novel
        Novel misconduct scenarios to inject as well (``surveillance.simulate.novel``;
        none by default). With ``clean=True`` they are the day's only misconduct.

    Returns
    -------
    SimulationSummary

    Raises
    ------
    InputError
        If ``symbols``, ``events`` or ``intensity`` is out of range.
    """
    the_day = parse_day(day)
    if events < 1_000:
        raise InputError(f"--events {events}: a day needs at least 1000 events; pass more")
    if not (0.0 < intensity <= 1.0) or math.isnan(intensity):
        raise InputError(f"--intensity {intensity}: must be in (0, 1]; 1 is blatant, 0.3 subtle")
    specs = instruments(symbols)
    pop = population()
    landing = Landing(out_root)
    day_ns = _day_ns(the_day)
    names = [a.account_id for a in pop.accounts]
    fee_bps = np.array(
        [
            AMM_MAKER_FEE_BPS if a.role == "AFFILIATED_MM" else writer.MAKER_FEE_BPS
            for a in pop.accounts
        ]
    )
    total_weight = sum(s.weight for s in specs)

    write_table(
        _accounts_table(pop), join(landing.day_dir(Accounts.name, the_day), "part-0.parquet")
    )
    write_table(
        _instruments_table(specs),
        join(landing.day_dir(Instruments.name, the_day), "part-0.parquet"),
    )
    events_by: dict[tuple[str, str], int] = {}
    trades_by: dict[str, int] = {}
    labels: list[dict[str, Any]] = []
    references: list[pa.Table] = []
    n_orders = n_trades = 0
    order_files = [join(landing.day_dir(Orders.name, the_day), f"part-{k}.parquet") for k in (0, 1)]
    trade_files = [join(landing.day_dir(Trades.name, the_day), f"part-{k}.parquet") for k in (0, 1)]
    with (
        table_writer(order_files[0], Orders.schema()) as o0,
        table_writer(order_files[1], Orders.schema()) as o1,
        table_writer(trade_files[0], Trades.schema()) as t0,
        table_writer(trade_files[1], Trades.schema()) as t1,
    ):
        for index, spec in enumerate(specs):
            sim = SymbolSim(
                spec,
                index,
                pop,
                seed,
                int(events * spec.weight / total_weight),
                truth=engine_truth is not None,
                progress=progress,
            )
            injectors = [] if clean else injectors_module.build(sim, intensity)
            injectors += novel_module.build(sim, intensity, tuple(novel)) if novel else []
            sim.run(injectors)
            j = sim.journal
            n = len(j)
            split = int(np.searchsorted(np.frombuffer(j.t, dtype=np.int64), SPLIT_NS))
            for lo, hi, w in ((0, split, o0), (split, n, o1)):
                for a in range(lo, hi, CHUNK_ROWS):
                    w.write_table(
                        writer.orders_table(j, a, min(hi, a + CHUNK_ROWS), spec, day_ns, names)
                    )
            m = len(j.tr_t)
            tsplit = int(np.searchsorted(np.frombuffer(j.tr_t, dtype=np.int64), SPLIT_NS))
            for lo, hi, w in ((0, tsplit, t0), (tsplit, m, t1)):
                for a in range(lo, hi, CHUNK_ROWS):
                    w.write_table(
                        writer.trades_table(
                            j, a, min(hi, a + CHUNK_ROWS), spec, day_ns, names, fee_bps
                        )
                    )
            n_orders += n
            n_trades += m
            trades_by[spec.symbol] = m
            counts = np.bincount(np.frombuffer(j.acct, dtype=np.int32), minlength=len(names))
            for role in ("AFFILIATED_MM", "EXTERNAL_MM", "CLIENT", "HOUSE"):
                idx = [i for i, r in enumerate(pop.role_of) if r == role]
                events_by[(spec.symbol, role)] = int(counts[idx].sum())
            references.append(_reference_table(sim, day_ns))
            for injector in injectors:
                labels.extend(injector.labels(sim, day_ns))
            if engine_truth is not None:
                write_table(
                    writer.truth_table(j, spec), join(str(engine_truth), f"{spec.symbol}.parquet")
                )
            del sim, j
    write_table(
        pa.concat_tables(references),
        join(landing.day_dir(ReferencePrices.name, the_day), "part-0.parquet"),
    )
    labels.sort(key=lambda r: (r[Labels.symbol], r[Labels.window_start], r[Labels.typology]))
    for k, row in enumerate(labels, start=1):
        row[Labels.label_id] = f"L-{the_day.isoformat()}-{k:05d}"
    write_table(
        Labels.from_pylist(labels), join(landing.day_dir(Labels.name, the_day), "part-0.parquet")
    )
    landing.mark_ready(the_day)
    by_typology: dict[str, int] = {}
    for row in labels:
        by_typology[row[Labels.typology]] = by_typology.get(row[Labels.typology], 0) + 1
    return SimulationSummary(
        root=landing.root,
        day=the_day,
        seed=seed,
        clean=clean,
        intensity=intensity,
        symbols=tuple(s.symbol for s in specs),
        orders=n_orders,
        trades=n_trades,
        events_by_symbol_role=events_by,
        trades_by_symbol=trades_by,
        labels_by_typology=by_typology,
    )


def _accounts_table(pop: Population) -> pa.Table:
    return Accounts.from_pylist(
        [
            {
                Accounts.account_id: a.account_id,
                Accounts.entity_id: a.entity_id,
                Accounts.role: a.role,
                Accounts.display_name: a.display_name or None,
            }
            for a in pop.accounts
        ]
    )


def _instruments_table(specs: list[Any]) -> pa.Table:
    return Instruments.from_pylist(
        [
            {
                Instruments.symbol: s.symbol,
                Instruments.base_asset: s.base,
                Instruments.quote_asset: s.quote,
                Instruments.tick_size: s.tick_size,
                Instruments.lot_size: s.lot_size,
                Instruments.mm_max_spread_bps: s.mm_max_spread_bps,
                Instruments.mm_min_quote_quantity: s.mm_min_quote_quantity,
                Instruments.mm_min_uptime: s.mm_min_uptime,
            }
            for s in specs
        ]
    )


def _reference_table(sim: SymbolSim, day_ns: int) -> pa.Table:
    n = len(sim.reference)
    times = day_ns + np.arange(n, dtype=np.int64) * 1_000_000_000
    prices = np.round(sim.reference, sim.spec.price_decimals + 2)
    return pa.Table.from_arrays(
        [
            pa.array(times, type=writer.TS),
            pa.array([sim.spec.symbol] * n, type=pa.string()),
            pa.array(prices),
        ],
        schema=ReferencePrices.schema(),
    )
