"""`litbot settings`: what litbot will use, setting by setting, and where to change it."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from bot.cli.common import fail
from ingest.errors import LitbotError


def settings_command(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object: {group: {VARIABLE: value}}.")
    ] = False,
    example: Annotated[
        bool,
        typer.Option(
            "--example", help="Print a .env.example with every setting, its default and its meaning."
        ),
    ] = False,
) -> None:
    """Show every setting's value now (from LITBOT_* variables, .env and the defaults), grouped by area.

    Secrets are never printed, only whether they are set. `litbot settings --example > .env` starts a settings
    file with every setting commented out at its default.
    """
    from ingest.settings import GROUPS, effective, env_example, load_settings

    if example:
        typer.echo(env_example(), nl=False)
        return
    try:
        values = effective(load_settings())
    except LitbotError as exc:
        raise fail(exc.user_message, code=2, as_json=as_json) from None
    if as_json:
        typer.echo(json.dumps(values))
        return
    for group, title in GROUPS.items():
        typer.echo(f"{title}:")
        for name, value in values[group].items():
            typer.echo(f"  {name} = {'' if value is None else value}")
