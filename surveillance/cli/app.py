"""The ``mmsurv`` console script: one Typer app whose subcommands mirror the stages.

Each command group lives in its own module under ``surveillance.cli`` and exposes
``register(app)``; this module only assembles them and maps the pipeline's typed
errors to the exit codes of ``shared/design/cli.md`` (0 ok, 1 failure, 2 bad input,
3 not ready).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import typer

from surveillance import __version__
from surveillance.errors import SurveillanceError

#: Command modules, each with ``register(app: typer.Typer) -> None``.
COMMAND_MODULES: tuple[str, ...] = (
    # one line per command module; keep sorted
    "surveillance.cli.audit_cmd",
    "surveillance.cli.book_cmd",
    "surveillance.cli.cases_cmd",
    "surveillance.cli.detect_cmd",
    "surveillance.cli.evidence_cmd",
    "surveillance.cli.ingest_cmd",
    "surveillance.cli.models_cmd",
    "surveillance.cli.report_cmd",
    "surveillance.cli.serve_cmd",
    "surveillance.cli.simulate_cmd",
    "surveillance.cli.users_cmd",
)

app = typer.Typer(
    name="mmsurv",
    help="Surveillance of an affiliated market maker's conduct against client flow.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mmsurv {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Surveillance of an affiliated market maker's conduct against client flow."""


for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)


def main(argv: Sequence[str] | None = None) -> None:
    """Run ``mmsurv`` and exit with the code scripts rely on."""
    try:
        result = app(args=list(argv) if argv is not None else None, standalone_mode=False)
    except SurveillanceError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except typer.TyperException as exc:  # usage errors of the (vendored) click layer
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            typer.echo(f"error: {exc}", err=True)
        sys.exit(int(getattr(exc, "exit_code", 2)))
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
