"""`litbot eval retrieval DIR`: retrieval quality and latency on any BEIR-format folder.

Heavy imports stay inside the command so `litbot --help` stays instant.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ingest.errors import LitbotError

eval_app = typer.Typer(help="Measure litbot on benchmark data.", no_args_is_help=True)

_COLUMNS = ("ndcg@10", "recall@5", "recall@100", "mrr@10", "p50_ms", "p95_ms", "queries")


@eval_app.callback()
def _group() -> None:
    """Keeps `eval` a group (a one-command Typer app would otherwise collapse into that command)."""


@eval_app.command("retrieval")
def retrieval_command(
    folder: Annotated[
        Path, typer.Argument(help="BEIR folder: corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv.")
    ],
    split: Annotated[str, typer.Option("--split", help="Which qrels/<split>.tsv to score.")] = "test",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object: {mode: metrics}.")] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Score only the first N queries.")
    ] = None,
) -> None:
    """Score hybrid, lexical-only and dense-only retrieval in one run: nDCG@10, recall@5/100, MRR@10, latency.

    The corpus is ingested once into a cached store under the data folder and reused while the corpus file
    and embedding model are unchanged.
    """
    from bot.evaluation import evaluate
    from ingest.cli import fail
    from ingest.settings import load_settings

    try:
        settings = load_settings()

        def progress(name: str, done: int) -> None:
            if not as_json and done % 640 == 0:
                typer.echo(f"ingesting {name}: {done} articles", err=True)

        report = evaluate(folder, split, settings, limit=limit, progress=progress)
    except LitbotError as exc:
        raise fail(exc.user_message) from exc
    if as_json:
        typer.echo(json.dumps(report))
        return
    typer.echo(f"{'mode':<8} " + " ".join(f"{c:>10}" for c in _COLUMNS))
    for mode, row in report.items():
        typer.echo(f"{mode:<8} " + " ".join(f"{row[c]:>10}" for c in _COLUMNS))
