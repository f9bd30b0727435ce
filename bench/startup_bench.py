"""Start-up latency of the commands people type: `litbot --help`, `litbot stats`, `litbot ask` (extractive).

    LITBOT_CHROMA_PATH=<a store holding the sample> .venv/bin/python bench/startup_bench.py [--runs 5]
    .venv/bin/python bench/startup_bench.py --runs 5 --checkouts /tmp/before /work/main   # side by side

Each command is a fresh process, timed from spawn to exit (the answer is printed just before exit), run
``--runs`` times in turn; prints the median and the range. Targets: --help and stats ≲ 2 s, ask ≤ 3 s.
With ``--checkouts``, each checkout's own ``.venv/bin/litbot`` (its code, its install) runs every command in
turn with the others', so load changes hit all of them alike.
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
    parser.add_argument("--checkouts", nargs="+", type=Path, help="compare these checkouts' installs")
    args = parser.parse_args()
    programs = {str(c): str(c / ".venv" / "bin" / "litbot") for c in args.checkouts or []} or {"": LITBOT}
    times: dict[tuple[str, str], list[float]] = {(p, n): [] for n in COMMANDS for p in programs}
    for _ in range(args.runs):
        for name, argv in COMMANDS.items():
            for label, program in programs.items():
                start = time.perf_counter()
                subprocess.run([program, *argv], check=True, capture_output=True)
                times[label, name].append(time.perf_counter() - start)
    print("| command | checkout | median s | min s | max s |\n|---|---|---|---|---|")
    for (label, name), values in times.items():
        low, high = min(values), max(values)
        print(
            f"| litbot {name} | {label or '.'} | {statistics.median(values):.2f} | {low:.2f} | {high:.2f} |"
        )
    print(
        json.dumps(
            {f"{label} {name}".strip(): round(statistics.median(v), 3) for (label, name), v in times.items()}
        )
    )


if __name__ == "__main__":
    main()
