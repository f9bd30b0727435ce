"""Peak RSS of the Discord bot's handler process: the objects `litbot discord` builds, without the gateway.

    LITBOT_CHROMA_PATH=<a store> [LITBOT_EMBEDDING_MODEL=...] .venv/bin/python bench/discord_rss.py [--questions 20]

Builds what ``litbot discord`` builds before it connects (``ChatHandler.from_settings``, the cogs' shared
``Services``), runs the bot's warm-up search, then answers SciFact claims through ``Services.ask`` — the code
path of ``/ask`` minus sending to Discord, which is unreachable here. Prints one JSON line: the seconds of each
phase and the process's peak RSS (``getrusage``) after start-up, after the warm-up and after the questions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SCIFACT_QUERIES = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "beir" / "scifact" / "queries.jsonl"
)


def peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--questions", type=int, default=20)
    args = parser.parse_args()
    from bot.chat import ChatHandler
    from bot.discord.answering import Services
    from ingest.settings import load_settings

    lines = SCIFACT_QUERIES.read_text(encoding="utf-8").splitlines()[: args.questions]
    asked = [json.loads(line)["text"] for line in lines]
    row: dict[str, object] = {}
    started = time.perf_counter()
    settings = load_settings()
    services = Services.build(settings, ChatHandler.from_settings(settings))
    row["build_s"], row["rss_built_mb"] = round(time.perf_counter() - started, 2), peak_mb()
    started = time.perf_counter()
    services.warm_up()
    row["warm_up_s"], row["rss_warm_mb"] = round(time.perf_counter() - started, 2), peak_mb()

    async def ask_all() -> list[float]:
        times = []
        for question in asked:
            t = time.perf_counter()
            answer, _ = await services.ask(None, question, None)
            assert answer.text
            times.append(time.perf_counter() - t)
        return times

    times = asyncio.run(ask_all())
    row["questions"] = len(times)
    row["answer_median_s"] = round(sorted(times)[len(times) // 2], 3)
    row["peak_rss_mb"] = peak_mb()
    print(json.dumps(row))


if __name__ == "__main__":
    main()
