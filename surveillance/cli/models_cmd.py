"""``mmsurv models``: train the anomaly models and list the registry."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from surveillance.cli.options import ConfigOption, FormatOption, LakeOption, OutputFormat

models_app = typer.Typer(
    help="Anomaly models: train them on a window of days, list the registry.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")


FromOption = Annotated[
    str, typer.Option("--from", help="First training day, YYYY-MM-DD (inclusive).")
]
ToOption = Annotated[str, typer.Option("--to", help="Last training day, YYYY-MM-DD (inclusive).")]


@models_app.command("train")
def train(
    first: FromOption,
    last: ToOption,
    lake: LakeOption = None,
    config: ConfigOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Train, calibrate and register every model listed in the anomaly config section.

    Reads the behaviour of the affiliated market maker and its peers from the
    curated lake and book outputs of every day from --from to --to (days without
    data are skipped and listed), fits each model per symbol, calibrates its day
    threshold to the section's target_false_alert_rate on out-of-sample training days,
    and registers it as a new version with its model card under the lake's models/
    folder. `mmsurv detect` then scores the newest version.

    Exit codes: 0 registered; 2 no data in the window, a day without book outputs,
    or a bad date or option.
    """
    from models.anomaly.train import train_models
    from surveillance import settings as settings_module
    from surveillance.days import parse_day

    settings = settings_module.resolve(lake=lake, config=config)
    result = train_models(settings, parse_day(first), parse_day(last))
    summary = result.summary()
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(summary, indent=2))
        return
    from surveillance.cli.output import emit

    rows = [
        {
            "model": m["model"],
            "version": m["version"],
            "symbols": ",".join(m["symbols"]),
            "thresholds": ", ".join(f"{s} {t:.4f}" for s, t in m["thresholds"].items()),
            "uri": m["uri"],
        }
        for m in summary["models"]
    ]
    if fmt is OutputFormat.table:
        typer.echo(
            f"trained on {len(summary['days'])} day(s) from {summary['from']} to {summary['to']} "
            f"in {summary['seconds']:.1f} s"
        )
    emit(rows, fmt)
    if fmt is OutputFormat.table:
        for line in summary["skipped"]:
            typer.echo(f"  skipped {line}")


def card_rows(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per registered model version, for `models list`."""
    rows = []
    for c in cards:
        window = c.get("training_window", {})
        validation = c.get("validation", {})
        rows.append(
            {
                "model": c.get("model"),
                "version": c.get("version"),
                "detector": c.get("detector"),
                "from": window.get("from"),
                "to": window.get("to"),
                "days": len(window.get("days_used", [])),
                "symbols": ",".join(c.get("symbols", [])),
                "features": len(c.get("feature_list", [])),
                "scikit_learn": c.get("library_versions", {}).get("scikit-learn"),
                "created_at": c.get("created_at"),
                "fingerprint": str(c.get("data_fingerprint", ""))[:16],
                "training_days_alerting": ",".join(
                    f"{s} {v.get('training_days_alerting')}" for s, v in validation.items()
                ),
            }
        )
    return rows


@models_app.command("list")
def list_models(lake: LakeOption = None, fmt: FormatOption = OutputFormat.table) -> None:
    """List every registered model version with its training window and card summary.

    The full model card (feature list, parameters, library versions, validation
    metrics) is the card.json beside each model; --format json prints the cards.
    """
    from models.anomaly.registry import cards
    from surveillance import settings as settings_module
    from surveillance.cli.output import emit

    settings = settings_module.resolve(lake=lake)
    found = cards(settings.lake)
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(found, indent=2, default=str))
        return
    if not found and fmt is OutputFormat.table:
        typer.echo(
            f"no anomaly model registered under {settings.lake.models()}; "
            "train one with `mmsurv models train --from D1 --to D2`"
        )
        return
    emit(card_rows(found), fmt)
