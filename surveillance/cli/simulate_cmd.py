"""``mmsurv simulate``: write a simulated venue day, with labelled misconduct."""

from __future__ import annotations

from typing import Annotated

import typer

from surveillance import settings as settings_module
from surveillance.cli.options import DateOption, FormatOption, OutputFormat
from surveillance.cli.output import emit
from surveillance.storage import normalise_uri


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)


def simulate(
    date: DateOption,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            envvar=settings_module.ENV_LANDING,
            help="Landing root to write the day into (contract layout). "
            f"[default: {settings_module.DEFAULT_LANDING}]",
            show_default=False,
        ),
    ] = None,
    symbols: Annotated[int, typer.Option("--symbols", help="Number of instruments, 1 to 8.")] = 3,
    events: Annotated[
        int,
        typer.Option("--events", help="Approximate number of order-journal rows over all symbols."),
    ] = 300_000,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed: the same seed gives the same bytes.")
    ] = 0,
    clean: Annotated[
        bool, typer.Option("--clean", help="Inject no misconduct (the labels file is empty).")
    ] = False,
    intensity: Annotated[
        float,
        typer.Option(
            "--intensity",
            help="How blatant injected misconduct is, in (0, 1]: 1 clear, 0.3 subtle.",
        ),
    ] = 1.0,
    engine_truth: Annotated[
        str | None,
        typer.Option(
            "--engine-truth",
            help="Folder (outside the landing root) for the engine's best bid/ask after every "
            "journal row, one <symbol>.parquet each, to check a book reconstruction against.",
        ),
    ] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Simulate one trading day of the venue and land it in the contract layout.

    A price-time-priority matching engine and an agent population (the affiliated
    market maker's two accounts and its group's HOUSE account, external market
    makers, hundreds of small clients, institutional clients slicing parent orders,
    momentum traders, leveraged clients liquidated by the venue) produce accounts,
    instruments, orders, trades and reference prices for the day. Unless --clean,
    misconduct of every typology is injected and described in labels/. The
    _SUCCESS marker is written last.

    Exit codes: 0 written; 2 a bad option (for example --symbols 9).
    """
    from tqdm import tqdm

    from surveillance.simulate import simulate_day

    root = normalise_uri(out or settings_module.DEFAULT_LANDING)
    with tqdm(total=events, unit="ev", unit_scale=True, desc="simulate", disable=None) as bar:
        summary = simulate_day(
            root,
            date,
            symbols=symbols,
            events=events,
            seed=seed,
            clean=clean,
            intensity=intensity,
            engine_truth=engine_truth,
            progress=bar.update,
        )
    if fmt is not OutputFormat.table:
        # One list for scripts: event counts by symbol and role, then labels by typology.
        rows = [{"what": "events", **r, "count": r.pop("events")} for r in summary.event_rows()]
        rows += [{"what": "labels", **r, "count": r.pop("labels")} for r in summary.label_rows()]
        emit(rows, fmt, columns=["what", "symbol", "role", "typology", "count"])
        return
    typer.echo(
        f"simulated {summary.day} into {summary.root}: {summary.orders:,} order events, "
        f"{summary.trades:,} trades, {summary.labels} labels "
        f"(seed {summary.seed}, {'clean' if summary.clean else f'intensity {intensity:g}'})"
    )
    emit(summary.event_rows(), fmt, columns=["symbol", "role", "events"], title="events")
    if summary.label_rows():
        emit(summary.label_rows(), fmt, columns=["typology", "labels"], title="labels")
