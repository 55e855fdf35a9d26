"""The console script's frame: version, help and exit codes."""

from __future__ import annotations

from collections.abc import Callable

from surveillance import __version__


def test_version(mmsurv: Callable[..., object]) -> None:
    result = mmsurv("--version")
    assert result.exit_code == 0  # type: ignore[attr-defined]
    assert __version__ in result.stdout  # type: ignore[attr-defined]


def test_unknown_command_is_bad_usage(mmsurv: Callable[..., object]) -> None:
    result = mmsurv("no-such-command")
    assert result.exit_code == 2  # type: ignore[attr-defined]
