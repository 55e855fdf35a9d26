"""``build_book``: replay every symbol's curated journal of a day and write the book outputs."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from surveillance import storage
from surveillance.book.config import BookConfig
from surveillance.book.engine import (
    DICTIONARY_COLUMNS,
    ORDER_KEY,
    REPLAY_COLUMNS,
    BookReplayer,
    ReplayParams,
    SymbolBook,
    price_levels,
)
from surveillance.book.output import book_writer
from surveillance.book.schema import (
    BOOK_KINDS,
    Findings,
    OpenOrders,
    Queue,
    Top,
    queue_schema,
    top_schema,
)
from surveillance.config import Config, load_config
from surveillance.contract import Accounts, Instruments, Orders, Role
from surveillance.days import parse_day
from surveillance.errors import ContractError, InputError
from surveillance.settings import Settings
from surveillance.storage import Lake


@dataclass(frozen=True)
class SymbolResult:
    """What the replay of one symbol wrote."""

    symbol: str
    events: int
    top_rows: int
    queue_rows: int
    findings: dict[str, int]
    paths: dict[str, str]
    seconds: float

    @property
    def findings_total(self) -> int:
        return sum(self.findings.values())


@dataclass(frozen=True)
class BookResult:
    """The book stage's outcome for one day: per-symbol counts and partitions written."""

    day: dt.date
    symbols: list[str]
    per_symbol: dict[str, SymbolResult] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def events(self) -> int:
        return sum(r.events for r in self.per_symbol.values())

    def findings_by_kind(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for result in self.per_symbol.values():
            for kind, n in result.findings.items():
                out[kind] = out.get(kind, 0) + n
        return dict(sorted(out.items()))

    def rows(self) -> list[dict[str, Any]]:
        """One row per symbol, for printing."""
        return [
            {
                "symbol": r.symbol,
                "events": r.events,
                "top_rows": r.top_rows,
                "queue_rows": r.queue_rows,
                "findings": r.findings_total,
                "seconds": round(r.seconds, 3),
            }
            for r in self.per_symbol.values()
        ]

    def summary(self) -> dict[str, Any]:
        """JSON-able fields for XCom, the run report and ``--format json``."""
        return {
            "day": self.day.isoformat(),
            "symbols": list(self.symbols),
            "events": self.events,
            "top_rows": sum(r.top_rows for r in self.per_symbol.values()),
            "queue_rows": sum(r.queue_rows for r in self.per_symbol.values()),
            "findings": sum(r.findings_total for r in self.per_symbol.values()),
            "findings_by_kind": self.findings_by_kind(),
            "seconds": round(self.seconds, 3),
        }


def build_book(
    settings: Settings,
    day: dt.date | str,
    symbols: list[str] | None = None,
    *,
    config: Config | None = None,
) -> BookResult:
    """Replay the curated order journal of ``day`` and write ``top``, ``queue`` and ``findings``.

    Each symbol's partition of ``lake.curated("orders", day, symbol)`` is streamed in
    chunks of ``[book] chunk_rows`` rows through the compiled replay; the outputs
    replace ``lake.book(kind, day, symbol)`` for each kind. Reconciliation problems
    in the journal become rows of ``findings``, never errors.

    Parameters
    ----------
    settings
        The lake root (and the configuration file, when ``config`` is None).
    day
        The trading day.
    symbols
        Only these symbols (the nightly DAG maps the stage over symbols); default:
        every symbol with curated orders that day.
    config
        The configuration; default: loaded from ``settings.config_path``.

    Returns
    -------
    BookResult

    Raises
    ------
    InputError
        If the day has no curated orders, a requested symbol has none, or the
        curated ``instruments`` or ``accounts`` snapshot is missing or lacks the
        symbol (run ``mmsurv ingest`` first); or if a journal is not sorted by seq.
    """
    started = time.perf_counter()
    the_day = parse_day(day)
    cfg = config or load_config(settings.config_path)
    section = cfg.section("book", BookConfig)
    lake = settings.lake
    chosen = _symbols(lake, the_day, symbols)
    grids = _instruments(lake, the_day)
    amm = _amm_accounts(lake, the_day)
    per_symbol: dict[str, SymbolResult] = {}
    for symbol in chosen:
        if symbol not in grids:
            raise InputError(
                f"lake {lake.root}: the instruments snapshot of {the_day.isoformat()} has no row "
                f"for symbol {symbol} (expected its tick_size and lot_size); "
                f"re-run `mmsurv ingest --date {the_day.isoformat()}`"
            )
        tick, lot = grids[symbol]
        params = ReplayParams(
            symbol=symbol,
            tick_size=tick,
            lot_size=lot,
            amm_accounts=amm,
            depth_bps=section.depth_bps,
            max_ahead=section.queue_max_ahead,
        )
        per_symbol[symbol] = build_symbol(
            lake, the_day, params, chunk_rows=section.chunk_rows, carry_over=section.carry_over
        )
    return BookResult(
        day=the_day,
        symbols=chosen,
        per_symbol=per_symbol,
        seconds=time.perf_counter() - started,
    )


def replay_partition(
    uri: str,
    params: ReplayParams,
    *,
    chunk_rows: int,
    top_sink: Callable[[pa.RecordBatch], object] | None = None,
    queue_sink: Callable[[pa.RecordBatch], object] | None = None,
    opening: pa.Table | None = None,
    sink_consumes: bool = False,
) -> tuple[SymbolBook, pa.Table]:
    """Stream one curated orders partition through the replay; outputs and closing book.

    Two passes over the partition, both in chunks: the first reads only ``price``
    to find the day's price levels (see :func:`~surveillance.book.engine.price_levels`),
    the second replays. With sinks, the
    ``top`` and ``queue`` batches go to them as they are made (see
    :class:`~surveillance.book.engine.BookReplayer`). ``opening`` (the previous
    day's ``open`` table) seeds the book; the second value returned is this day's.
    ``sink_consumes``: the sinks are done with each batch when they return (see
    :class:`~surveillance.book.engine.BookReplayer`).
    """
    carried = [opening.column(OpenOrders.price)] if opening is not None else []

    def prices() -> Iterable[pa.Array]:  # streamed: never the whole day's price column
        yield from carried
        for batch in storage.iter_batches(uri, [Orders.price], batch_rows=chunk_rows):
            yield batch.column(0)

    replayer = BookReplayer(
        params,
        price_levels(prices, params.tick_size),
        top_sink=top_sink,
        queue_sink=queue_sink,
        sink_consumes=sink_consumes,
    )
    if opening is not None:
        replayer.seed(opening)
    for batch in journal_batches(uri, chunk_rows):
        replayer.feed(batch, source=uri)
    return replayer.finish(), replayer.open_orders()


def journal_batches(uri: str, chunk_rows: int) -> Iterator[pa.RecordBatch]:
    """The replay's columns of a curated orders partition, in chunks of ``chunk_rows``.

    With the ingest's ``order_key`` column when the partition has it (the replay then
    keys orders by it instead of hashing ids); partitions written before it existed
    are read without it. Enum columns come dictionary-encoded.
    """
    batches = storage.iter_batches(
        uri, (*REPLAY_COLUMNS, ORDER_KEY), batch_rows=chunk_rows, dictionary=DICTIONARY_COLUMNS
    )
    try:
        first = next(batches, None)
    except ContractError as exc:
        if exc.column != ORDER_KEY:
            raise
        batches = storage.iter_batches(
            uri, REPLAY_COLUMNS, batch_rows=chunk_rows, dictionary=DICTIONARY_COLUMNS
        )
        first = next(batches, None)
    if first is not None:
        yield first
        yield from batches


def build_symbol(
    lake: Lake, day: dt.date, params: ReplayParams, *, chunk_rows: int, carry_over: bool = False
) -> SymbolResult:
    """Replay one symbol's day and replace its book partitions.

    With ``carry_over`` the day starts from the previous day's ``open`` partition when
    it exists (a venue whose exports continue across midnight: orders rest
    overnight); otherwise from an empty book. Either way it writes its own ``open``
    partition for the next day.

    ``top`` and ``queue`` are written row group by row group while the replay runs,
    into staging folders swapped in only when the whole symbol succeeded.
    """
    started = time.perf_counter()
    paths = {kind: lake.book(kind, day, params.symbol) for kind in BOOK_KINDS}
    previous = lake.book(OpenOrders.name, day - dt.timedelta(days=1), params.symbol)
    opening = storage.read_table(previous) if carry_over and storage.exists(previous) else None
    with (
        storage.replace_partition(paths[Top.name]) as top_stage,
        storage.replace_partition(paths[Queue.name]) as queue_stage,
        book_writer(
            storage.join(top_stage, storage.PART_FILE), top_schema(params.depth_bps)
        ) as top_writer,
        book_writer(storage.join(queue_stage, storage.PART_FILE), queue_schema()) as queue_writer,
    ):
        book, closing = replay_partition(
            lake.curated(Orders.name, day, params.symbol),
            params,
            chunk_rows=chunk_rows,
            top_sink=top_writer.write_batch,
            queue_sink=queue_writer.write_batch,
            opening=opening,
            sink_consumes=True,  # the writers encode each batch before returning
        )
    storage.write_partition(book.findings, paths[Findings.name])
    storage.write_partition(closing, paths[OpenOrders.name])
    return SymbolResult(
        symbol=params.symbol,
        events=book.events,
        top_rows=book.top_rows,
        queue_rows=book.queue_rows,
        findings=book.finding_counts(),
        paths=paths,
        seconds=time.perf_counter() - started,
    )


def _symbols(lake: Lake, day: dt.date, symbols: list[str] | None) -> list[str]:
    available = lake.curated_symbols(Orders.name, day)
    if symbols is not None:
        unknown = sorted(set(symbols) - set(available))
        if unknown:
            raise InputError(
                f"lake {lake.root}: no curated orders for {day.isoformat()} symbol {unknown[0]}; "
                f"symbols with data: {', '.join(available) or 'none'}"
            )
        return sorted(set(symbols))
    if not available:
        raise InputError(
            f"lake {lake.root}: no curated orders for {day.isoformat()}; "
            f"run `mmsurv ingest --date {day.isoformat()}` first"
        )
    return available


def _read_reference(lake: Lake, dataset: str, day: dt.date, columns: list[str]) -> Any:
    uri = lake.curated(dataset, day)
    try:
        return storage.read_table(uri, columns=columns)
    except FileNotFoundError as exc:
        raise InputError(
            f"lake {lake.root}: no curated {dataset} snapshot for {day.isoformat()} "
            f"(expected {uri}); run `mmsurv ingest --date {day.isoformat()}` first"
        ) from exc


def _instruments(lake: Lake, day: dt.date) -> dict[str, tuple[float, float]]:
    table = _read_reference(
        lake,
        Instruments.name,
        day,
        [Instruments.symbol, Instruments.tick_size, Instruments.lot_size],
    )
    return {
        row[Instruments.symbol]: (row[Instruments.tick_size], row[Instruments.lot_size])
        for row in table.to_pylist()
    }


def _amm_accounts(lake: Lake, day: dt.date) -> frozenset[str]:
    table = _read_reference(lake, Accounts.name, day, [Accounts.account_id, Accounts.role])
    amm = table.filter(pc.equal(table.column(Accounts.role), Role.AFFILIATED_MM.value))
    return frozenset(amm.column(Accounts.account_id).to_pylist())
