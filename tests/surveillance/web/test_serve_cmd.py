"""``mmsurv serve``: options, loopback detection and a clear refusal of a busy port."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest

from surveillance.cli.serve_cmd import is_loopback


def test_help_lists_host_port_and_the_common_options(mmsurv: Callable[..., Any]) -> None:
    result = mmsurv("serve", "--help")
    assert result.exit_code == 0
    for option in ("--host", "--port", "--lake", "--db", "--signing-key", "--allow-http"):
        assert option in result.stdout


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("10.1.2.3", False),
    ],
)
def test_only_loopback_addresses_may_serve_plain_http_by_default(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_busy_port_is_refused_with_exit_code_2(
    mmsurv: Callable[..., Any], isolated_env: Any
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = mmsurv("serve", "--port", str(port))
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_missing_signing_key_file_is_refused(mmsurv: Callable[..., Any], isolated_env: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = mmsurv("serve", "--port", str(port), "--signing-key", "no-such-key.pem")
    assert result.exit_code == 2
    assert "signing key no-such-key.pem: no such file" in result.stderr
