"""`litbot discord` without a usable token: one line on stderr, exit status 2, the token never echoed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
