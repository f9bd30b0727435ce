"""`litbot discord` without a usable token or without Discord: one line on stderr, the right exit status,
the token never echoed. Discord's API is a loopback stand-in; nothing leaves the machine."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import discord
import discord.http
import pytest

from bot.chat import ChatHandler
from bot.cli.discord import BAD_TOKEN, run_bot
from ingest.settings import Settings

LITBOT = Path(sys.executable).with_name("litbot")


def run_discord(env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITBOT_DISCORD", "DISCORD_"))}
    env.update(env_extra)
    return subprocess.run(
        [str(LITBOT), "discord"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_missing_token_exits_2_with_one_line() -> None:
    result = run_discord({})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "LITBOT_DISCORD_TOKEN" in lines[0] and "Traceback" not in result.stderr


@pytest.mark.parametrize("variable", ["LITBOT_DISCORD_TOKEN", "DISCORD_TOKEN"])
def test_malformed_token_exits_2_without_printing_it(variable: str) -> None:
    secret = "not a token s3cr3t-value"
    result = run_discord({variable: secret})
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "rejected" in result.stderr
    assert "s3cr3t" not in result.stderr + result.stdout


class FakeDiscordAPI(BaseHTTPRequestHandler):
    """Discord's REST API on 127.0.0.1, as far as logging in: every token is refused with 401."""

    def do_GET(self) -> None:
        self.server.paths.append(self.path)  # type: ignore[attr-defined]
        body = json.dumps({"message": "401: Unauthorized", "code": 0}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def discord_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeDiscordAPI)
    server.paths = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{server.server_port}/api/v10")
    yield server
    server.shutdown()
    server.server_close()


WELL_FORMED = "MTAxMjM0NTY3ODkwMTIzNDU2Nzg.GaBcDe.s3cr3t-part-that-must-never-be-printed"


def test_rejected_token_exits_2_with_one_line(
    mini_settings: Settings, discord_api: ThreadingHTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    handler = ChatHandler.from_settings(mini_settings)
    assert run_bot(mini_settings, handler, WELL_FORMED) == 2
    assert discord_api.paths == ["/api/v10/users/@me"]  # type: ignore[attr-defined]
    out = capsys.readouterr()
    assert out.err.strip().splitlines() == [f"error: {BAD_TOKEN}"]
    assert "s3cr3t" not in out.err + out.out


def test_unreachable_discord_exits_1_with_one_line(
    mini_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a loopback port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{port}/api/v10")
    handler = ChatHandler.from_settings(mini_settings)
    assert run_bot(mini_settings, handler, WELL_FORMED) == 1
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach Discord")
    assert "s3cr3t" not in out.err + out.out
