"""The common options of ``shared/design/cli.md``, declared once for every command."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from surveillance import settings

LandingOption = Annotated[
    str | None,
    typer.Option(
        "--landing",
        envvar=settings.ENV_LANDING,
        help=f"The venue's landing root (contract layout). [default: {settings.DEFAULT_LANDING}]",
        show_default=False,
    ),
]
LakeOption = Annotated[
    str | None,
    typer.Option(
        "--lake",
        envvar=settings.ENV_LAKE,
        help="Where curated data, book states, features, models and reports live. "
        f"[default: {settings.DEFAULT_LAKE}]",
        show_default=False,
    ),
]
DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar=settings.ENV_DB_URL,
        help="Case store SQLAlchemy URL. [default: sqlite:/// file beside the lake]",
        show_default=False,
    ),
]
ConfigOption = Annotated[
    str | None,
    typer.Option(
        "--config",
        envvar=settings.ENV_CONFIG,
        help="Rule parameters and settings (TOML). [default: the packaged defaults]",
        show_default=False,
    ),
]
DateOption = Annotated[
    str,
    typer.Option("--date", help="Trading day, YYYY-MM-DD (a UTC calendar day)."),
]


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


FormatOption = Annotated[
    OutputFormat,
    typer.Option("--format", help="table for people; json or csv for scripts."),
]
