"""`make test` here against `make test` in another checkout, in turn on the same machine (or a target here alone).

    git worktree add /tmp/suite-base 4730a2f && (cd /tmp/suite-base && make install-dev)
    .venv/bin/python bench/suite_bench.py /tmp/suite-base --rounds 3
    .venv/bin/python bench/suite_bench.py --target check --rounds 2      # the edit-test loop, here only

Each round runs the other checkout's `make test`, then this one's, each timed from start to exit (install
check, lint, types and the whole suite, as CI runs it), with the load average before and after. Prints one row
per run, then the medians and the ratio of the medians; a run that fails is reported, not hidden.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def run(checkout: Path, target: str) -> dict[str, object]:
    load = os.getloadavg()[0]
    start = time.perf_counter()
    done = subprocess.run(["make", target], cwd=checkout, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    summary = [line for line in done.stdout.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    return {
        "checkout": str(checkout),
        "exit": done.returncode,
        "seconds": round(seconds, 1),
        "load": f"{load:.2f}/{os.getloadavg()[0]:.2f}",
        "pytest": summary[-1].strip("= ") if summary else "(no summary)",
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "other", type=Path, nargs="?", help="the checkout to compare with (its venv installed)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--target", default="test", help="the make target (the other checkout must have it)")
    args = parser.parse_args()
    checkouts = ([args.other.resolve()] if args.other else []) + [HERE]
    rows: list[dict[str, object]] = []
    print(f"| round | checkout | exit | make {args.target} s | load before/after | pytest |")
    print("|---|---|---|---|---|---|")
    for n in range(1, args.rounds + 1):
        for checkout in checkouts:
            row = {"round": n, **run(checkout, args.target)}
            rows.append(row)
            cells = [n, row["checkout"], row["exit"], row["seconds"], row["load"], row["pytest"]]
            print("| " + " | ".join(map(str, cells)) + " |")
    this = statistics.median(float(str(r["seconds"])) for r in rows if r["checkout"] == str(HERE))
    result: dict[str, object] = {"target": args.target, "this_s": this, "runs": rows}
    if args.other:
        other = statistics.median(float(str(r["seconds"])) for r in rows if r["checkout"] != str(HERE))
        result.update(other_s=other, ratio=round(this / other, 3))
        print(f"median: this {this:.1f} s, other {other:.1f} s, ratio {this / other:.2f}")
    else:
        print(f"median: {this:.1f} s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
