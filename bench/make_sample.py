"""Build ``ingest/sample/pubmedqa-1000.jsonl.gz``, the corpus ``litbot ingest --sample`` loads.

Source: PubMedQA's expert-labelled set (``ori_pqal.json``, MIT): 1,000 PubMed abstracts keyed by PMID, each
split into labelled ``CONTEXTS`` plus the ``LONG_ANSWER`` conclusion. One JSON line per PMID:

    {"pmid", "title", "abstract", "sections": [{"label", "text"}, ...], "year", "mesh"}

``title`` is PubMedQA's ``QUESTION``: the labelled set was built from articles whose titles are questions, and
the question is that title. The output is byte-stable (sorted by PMID, gzip with mtime 0 and a fixed inner
name), so re-running it changes nothing.

    .venv/bin/python bench/make_sample.py [--source path/to/ori_pqal.json] [--out path/to/out.jsonl.gz]
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO.parent / "shared" / "data" / "pubmedqa" / "ori_pqal.json"
DEFAULT_OUT = REPO / "ingest" / "sample" / "pubmedqa-1000.jsonl.gz"


def sample_record(pmid: str, entry: dict[str, Any]) -> dict[str, Any]:
    """One PubMedQA entry -> one litbot JSONL record (abstract = contexts + conclusion, as in BEIR's text)."""
    contexts: list[str] = entry["CONTEXTS"]
    labels: list[str] = entry.get("LABELS") or [""] * len(contexts)
    conclusion: str = entry.get("LONG_ANSWER") or ""
    sections = [{"label": label, "text": text} for label, text in zip(labels, contexts, strict=True)]
    if conclusion:
        sections.append({"label": "CONCLUSIONS", "text": conclusion})
    year = entry.get("YEAR")
    return {
        "pmid": pmid,
        "title": str(entry.get("QUESTION") or "").strip(),
        "abstract": " ".join([*contexts, conclusion] if conclusion else contexts),
        "sections": sections,
        "year": int(year) if year else None,
        "mesh": list(entry.get("MESHES") or []),
    }


def build(source: Path, out: Path) -> int:
    data: dict[str, dict[str, Any]] = json.loads(source.read_text(encoding="utf-8"))
    out.parent.mkdir(parents=True, exist_ok=True)
    with (
        out.open("wb") as raw,
        gzip.GzipFile(filename=out.name.removesuffix(".gz"), mode="wb", fileobj=raw, mtime=0) as packed,
    ):
        for pmid in sorted(data, key=int):
            line = json.dumps(sample_record(pmid, data[pmid]), ensure_ascii=False, sort_keys=False)
            packed.write(line.encode("utf-8") + b"\n")
    return len(data)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="PubMedQA ori_pqal.json")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the .jsonl.gz to write")
    args = parser.parse_args()
    count = build(args.source, args.out)
    print(f"wrote {count} records to {args.out}")


if __name__ == "__main__":
    main()
