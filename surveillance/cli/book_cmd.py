"""``mmsurv book``: rebuild the order book of a day from the curated lake."""

from __future__ import annotations

from typing import Annotated

import typer

from surveillance.cli.options import (
    ConfigOption,
    DateOption,
    FormatOption,
    LakeOption,
    OutputFormat,
)


def register(app: typer.Typer) -> None:
    app.command("book")(book)


SymbolOption = Annotated[
    list[str] | None,
    typer.Option(
        "--symbol",
        help="Only this symbol (repeat for several). [default: every symbol of the day]",
        show_default=False,
    ),
]


def book(
    date: DateOption,
    lake: LakeOption = None,
    config: ConfigOption = None,
    symbol: SymbolOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Replay each symbol's curated order journal and write the book outputs.

    Writes, per symbol, under the lake's book/ folder: top (the top of the book after
    every change: best prices, sizes, order counts, spread, depth within [book]
    depth_bps of the mid, the affiliated market maker's presence), queue (for every
    maker fill, the orders that were resting ahead of the filled order at its price:
    the evidence for or against a priority breach) and findings (where the journal
    disagrees with a price-time priority book). Findings are data, not errors.

    Exit codes: 0 the book was built (findings or not); 2 the day has no curated
    data, a symbol is unknown, a journal is not sorted by seq, or a bad option.
    """
    # Imported here: the replay loads numba, which would slow every other command.
    from surveillance import settings as settings_module
    from surveillance.book import build_book
    from surveillance.cli.output import emit
    from surveillance.config import load_config
    from surveillance.days import parse_day

    settings = settings_module.resolve(None, lake, None, config)
    result = build_book(
        settings,
        parse_day(date),
        symbols=list(symbol) if symbol else None,
        config=load_config(settings.config_path),
    )
    if fmt is not OutputFormat.table:
        emit(result.rows(), fmt)
        return
    typer.echo(
        f"book {result.day}: {result.events:,} events replayed on {len(result.symbols)} "
        f"symbol(s) in {result.seconds:.1f} s"
    )
    emit(result.rows(), fmt)
    for kind, n in result.findings_by_kind().items():
        typer.echo(f"  finding {kind}: {n:,}")
    typer.echo(f"outputs: {settings.lake.book('top', result.day)} (and queue, findings, open)")
