"""``mmsurv users add|list|disable|enable``: accounts of the case store.

Admins manage users. On a new case store with no users, ``users add NAME --role
admin`` creates the first admin without signing in (bootstrap). The new user's
password comes from ``MMSURV_NEW_PASSWORD`` or a prompt (asked twice).
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from surveillance.cli.cases_cmd import UserOption, open_store, sign_in
from surveillance.cli.options import ConfigOption, DbOption, FormatOption, LakeOption, OutputFormat
from surveillance.cli.output import emit

ENV_NEW_PASSWORD = "MMSURV_NEW_PASSWORD"


def register(app: typer.Typer) -> None:
    """Add the ``users`` command group to ``app``."""
    users = typer.Typer(
        help="Users and roles (analyst, supervisor, reviewer, admin).", no_args_is_help=True
    )
    app.add_typer(users, name="users")

    @users.command("add")
    def add(
        username: Annotated[str, typer.Argument(help="The new user's name.")],
        role: Annotated[
            str, typer.Option("--role", help="analyst, supervisor, reviewer or admin.")
        ],
        display_name: Annotated[
            str | None, typer.Option("--display-name", help="Full name shown in the app.")
        ] = None,
        user: UserOption = None,
        lake: LakeOption = None,
        db: DbOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Add a user (admins; or the first admin of an empty store, without --user)."""
        with open_store(lake, db, config) as store:
            actor = sign_in(store, user) if (user or store.has_users()) else None
            password = os.environ.get(ENV_NEW_PASSWORD)
            if password is None:
                password = typer.prompt(
                    f"password for new user {username}", hide_input=True, confirmation_prompt=True
                )
            created = store.add_user(actor, username, role, password, display_name=display_name)
        typer.echo(f"user {created.username} added as {created.role}")

    @users.command("list")
    def list_users(
        user: UserOption = None,
        fmt: FormatOption = OutputFormat.table,
        lake: LakeOption = None,
        db: DbOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Every user with role and status."""
        with open_store(lake, db, config) as store:
            sign_in(store, user)
            rows = [u.to_dict() for u in store.list_users()]
        emit(
            rows,
            fmt,
            columns=("username", "display_name", "role", "active", "created_at"),
            title="users",
        )

    @users.command("disable")
    def disable(
        username: Annotated[str, typer.Argument(help="The user to disable.")],
        user: UserOption = None,
        lake: LakeOption = None,
        db: DbOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Disable an account (admins): it can no longer sign in; its history stays."""
        with open_store(lake, db, config) as store:
            actor = sign_in(store, user)
            store.disable_user(actor, username)
        typer.echo(f"user {username} disabled")

    @users.command("enable")
    def enable(
        username: Annotated[str, typer.Argument(help="The user to enable.")],
        user: UserOption = None,
        lake: LakeOption = None,
        db: DbOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Enable a disabled account again (admins)."""
        with open_store(lake, db, config) as store:
            actor = sign_in(store, user)
            store.enable_user(actor, username)
        typer.echo(f"user {username} enabled")
