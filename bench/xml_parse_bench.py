"""PubMed XML parse speed and memory on a baseline-sized file, this checkout against another, in turn.

    .venv/bin/python bench/xml_parse_bench.py [--records 30000] [--rounds 3] [--other /path/to/checkout]

Builds (once, under /tmp) a real-ish PubMed baseline file: the real records of tests/fixtures/pubmed-xml
repeated with fresh PMIDs to ``--records`` records (a baseline file holds 30,000), one per line, gzipped, with
the baseline's XML declaration and DOCTYPE. Each round reads it with ``ingest.sources.read_input`` (gunzip,
sniff, parse into Articles; nothing is embedded or stored) in a fresh process per checkout, this one and
``--other`` in turn; prints the median seconds, records/s and peak RSS of each, and their ratio.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "pubmed-xml"
_RECORD = re.compile(rb"<PubmedArticle>.*?</PubmedArticle>", re.S)
_PMID = re.compile(rb"<PMID Version=\"1\">(\d+)</PMID>")
PROLOG = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, '
    b'1st January 2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n<PubmedArticleSet>\n'
)
_READ = (
    "import json, resource, sys, time\n"
    "from ingest.sources import read_input\n"
    "started = time.perf_counter(); kinds = {}\n"
    "for event in read_input(sys.argv[1]):\n"
    "    kind = type(event).__name__; kinds[kind] = kinds.get(kind, 0) + 1\n"
    "print(json.dumps({'seconds': time.perf_counter() - started, 'events': kinds,\n"
    "                  'rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))\n"
)


def build(records: int) -> Path:
    target = Path("/tmp") / f"litbot-baseline-{records}.xml.gz"
    if target.exists():
        return target
    real = [
        m.group(0)
        for path in sorted(FIXTURES.glob("pubmed*.xml"))
        for m in _RECORD.finditer(path.read_bytes())
    ]
    real += [
        m.group(0)
        for m in _RECORD.finditer(gzip.decompress((FIXTURES / "test_current_medline.xml.gz").read_bytes()))
    ]
    with gzip.open(target, "wb", compresslevel=6) as out:
        out.write(PROLOG)
        for number in range(records):
            record = real[number % len(real)]
            out.write(
                _PMID.sub(b'<PMID Version="1">%d</PMID>' % (40_000_000 + number), record, count=1) + b"\n"
            )
        out.write(b"</PubmedArticleSet>\n")
    return target


def measure(tree: Path, data: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _READ, str(data)], capture_output=True, text=True, cwd=tree, check=True
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--other", type=Path, help="another checkout to compare with (e.g. a worktree of main)"
    )
    args = parser.parse_args()
    data = build(args.records)
    trees = {"this": ROOT, **({"other": args.other.resolve()} if args.other else {})}
    runs: dict[str, list[dict[str, object]]] = {name: [] for name in trees}
    for _ in range(args.rounds):
        for name, tree in trees.items():
            runs[name].append(measure(tree, data))
    print(f"{data.name}: {data.stat().st_size / 2**20:.1f} MB gzipped, {args.records:,} records\n")
    print("| checkout | median s | records/s | peak RSS MB | events |\n|---|---|---|---|---|")
    medians = {}
    for name, results in runs.items():
        seconds = statistics.median(float(r["seconds"]) for r in results)  # type: ignore[arg-type]
        rss = max(int(r["rss_mb"]) for r in results)  # type: ignore[call-overload]
        medians[name] = seconds
        print(
            f"| {name} ({trees[name]}) | {seconds:.2f} | {args.records / seconds:,.0f} | {rss} | {results[0]['events']} |"
        )
    if "other" in medians:
        print(f"\nthis / other: {medians['this'] / medians['other']:.2f}")


if __name__ == "__main__":
    main()
