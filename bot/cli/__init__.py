"""The `litbot` command: the Typer app (bot.cli.app.app) and one module per command group."""
