"""The sample corpus bundled with litbot (``litbot ingest --sample``), shipped as package data.

``pubmedqa-1000.jsonl.gz`` holds the 1,000 expert-set PubMedQA abstracts (built by ``bench/make_sample.py``);
``gut-microbiota-hcc-drug-resistance.txt`` is the PubMed page the project started from. See README.md here.
"""

from __future__ import annotations

from pathlib import Path

SAMPLE_DIR = Path(__file__).resolve().parent
SAMPLE_FILES = ("pubmedqa-1000.jsonl.gz", "gut-microbiota-hcc-drug-resistance.txt")


def sample_paths() -> list[Path]:
    """The sample's data files, in ingestion order."""
    return [SAMPLE_DIR / name for name in SAMPLE_FILES]
