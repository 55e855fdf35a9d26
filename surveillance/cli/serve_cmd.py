"""``mmsurv serve``: run the analysts' web app."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from typing import Annotated

import typer

from surveillance import settings as settings_module
from surveillance.cli.options import ConfigOption, DbOption, LakeOption, LandingOption
from surveillance.errors import InputError


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine (then plain HTTP is acceptable)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def serve(
    landing: LandingOption = None,
    lake: LakeOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
    host: Annotated[
        str,
        typer.Option(
            "--host",
            envvar="MMSURV_WEB_HOST",
            help="Address to listen on. 127.0.0.1 keeps the app on this machine; 0.0.0.0 "
            "serves the network (put it behind TLS).",
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", envvar="MMSURV_WEB_PORT", min=1, max=65535, help="TCP port.")
    ] = 8000,
    https_only: Annotated[
        bool | None,
        typer.Option(
            "--https-only/--allow-http",
            help="Send the session cookie over HTTPS only. Default: the [web] https_only "
            "setting, else HTTPS only unless --host is a loopback address.",
            show_default=False,
        ),
    ] = None,
    signing_key: Annotated[
        str | None,
        typer.Option(
            "--signing-key",
            envvar="MMSURV_SIGNING_KEY",
            help="Private key (mmsurv keys generate) that signs evidence packs exported from "
            "case pages. Without it the export button is not offered.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the analysts' web app: case queue, case pages, workflow, dashboard.

    Users sign in with accounts from `mmsurv users add`. The session key comes from
    MMSURV_WEB_SECRET or a file created beside the lake.
    """
    import uvicorn

    from surveillance.web.app import create_app, web_config

    settings = settings_module.resolve(landing, lake, db, config)
    cfg = web_config(settings)
    secure = https_only if https_only is not None else cfg.https_only
    if secure is None:
        secure = not is_loopback(host)
    if not _port_free(host, port):
        raise InputError(
            f"cannot listen on {host}:{port}: the address is in use or not available here; "
            "choose another with --port, or stop the program using it"
        )
    if signing_key and not Path(signing_key).expanduser().is_file():
        raise InputError(
            f"signing key {signing_key}: no such file; create one with `mmsurv keys generate "
            "--out DIR` and pass DIR/mmsurv-signing-key.pem"
        )
    app = create_app(settings, config=cfg, https_only=secure, signing_key=signing_key)
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"mm-surveillance web app on http://{shown}:{port}/  (Ctrl-C stops it)")
    if not secure:
        typer.echo("  session cookies are allowed over plain HTTP: use only on this machine")
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
