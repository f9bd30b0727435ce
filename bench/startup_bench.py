"""Start-up latency of the commands people type: `litbot --help`, `litbot stats`, `litbot ask` (extractive).

    LITBOT_CHROMA_PATH=<a store holding the sample> .venv/bin/python bench/startup_bench.py [--runs 5]

Each command is a fresh process, timed from spawn to exit (the answer is printed just before exit), run
``--runs`` times in turn; prints the median and the range. Targets: --help and stats ≲ 2 s, ask ≤ 3 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

LITBOT = str(Path(sys.executable).parent / "litbot")
QUESTION = "How does the gut microbiota contribute to drug resistance in liver cancer?"
COMMANDS = {"help": ["--help"], "stats": ["stats"], "ask": ["ask", QUESTION]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.runs):
        for name, argv in COMMANDS.items():
            start = time.perf_counter()
            subprocess.run([LITBOT, *argv], check=True, capture_output=True)
            times[name].append(time.perf_counter() - start)
    print("| command | median s | min s | max s |\n|---|---|---|---|")
    for name, values in times.items():
        print(f"| litbot {name} | {statistics.median(values):.2f} | {min(values):.2f} | {max(values):.2f} |")
    print(json.dumps({name: round(statistics.median(v), 3) for name, v in times.items()}))


if __name__ == "__main__":
    main()
