"""How long `make demo` takes to install litbot on a fresh clone: this checkout against another, in turn.

Each round, in each checkout: `make clean`, then the install step of `make demo` (`make install`), then the first
`litbot stats` (a pip install compiles bytecode as it installs, a uv one when a module is first imported: the
first run pays for it, so it is counted). ``--cold`` gives every install empty pip and uv caches (a new machine);
without it each installer keeps its own cache as the machine has it. Prints each time and the medians.

    .venv/bin/python bench/install_bench.py --other /tmp/litbot-main --rounds 3 [--cold]

The other checkout is typically a fresh clone of an older commit (`git clone -q . /tmp/litbot-main && git -C
/tmp/litbot-main checkout -q 56aff01`). Nothing is ingested: the sample ingest is the same code either way.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_install(checkout: Path, cold: bool) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITBOT_", "VIRTUAL_ENV"))}
    caches = Path(tempfile.mkdtemp(prefix="install-bench-"))
    if cold:
        env |= {"PIP_CACHE_DIR": str(caches / "pip"), "UV_CACHE_DIR": str(caches / "uv")}
    env["LITBOT_DATA_DIR"] = str(caches / "data")
    subprocess.run(["make", "-s", "clean"], cwd=checkout, env=env, check=True)
    started = time.perf_counter()
    subprocess.run(["make", "-s", "install"], cwd=checkout, env=env, check=True, capture_output=True)
    subprocess.run([".venv/bin/litbot", "stats"], cwd=checkout, env=env, capture_output=True)
    seconds = time.perf_counter() - started
    shutil.rmtree(caches, ignore_errors=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--other", type=Path, required=True, help="the checkout to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="empty pip and uv caches for every install")
    args = parser.parse_args()
    times: dict[str, list[float]] = {"this": [], "other": []}
    for round_ in range(args.rounds):
        for name, checkout in (("other", args.other), ("this", ROOT)):
            seconds = one_install(checkout, args.cold)
            times[name].append(seconds)
            print(f"round {round_ + 1} {name:5} {seconds:6.1f} s", flush=True)
    this, other = statistics.median(times["this"]), statistics.median(times["other"])
    print(f"median: this {this:.1f} s, other {other:.1f} s, ratio {this / other:.2f}")


if __name__ == "__main__":
    main()
