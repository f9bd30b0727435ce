"""`litbot eval retrieval DIR`: retrieval quality and latency on any BEIR-format folder.

Heavy imports stay inside the command so `litbot --help` stays instant.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.common import APP_SETTINGS, Command
from ingest.errors import LitbotError

if TYPE_CHECKING:
    from bot.types import Answer, Filters

eval_app = typer.Typer(help="Measure litbot on benchmark data.", no_args_is_help=True, **APP_SETTINGS)

_COLUMNS = ("ndcg@10", "recall@5", "recall@100", "mrr@10", "p50_ms", "p95_ms", "queries")


@eval_app.callback()
def _group() -> None:
    """Keeps `eval` a group (a one-command Typer app would otherwise collapse into that command)."""


@eval_app.command("retrieval", cls=Command)
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
    from bot.cli.common import ensure_weights, fail
    from bot.eval.retrieval import evaluate
    from ingest.settings import load_settings

    try:
        settings = load_settings()

        def progress(name: str, done: int) -> None:
            if not as_json and done % 640 == 0:
                typer.echo(f"ingesting {name}: {done} articles", err=True)

        ensure_weights(settings)
        report = evaluate(folder, split, settings, limit=limit, progress=progress)
    except LitbotError as exc:
        raise fail(exc.user_message, as_json=as_json) from exc
    if as_json:
        typer.echo(json.dumps(report))
        return
    typer.echo(f"{'mode':<8} " + " ".join(f"{c:>10}" for c in _COLUMNS))
    for mode, row in report.items():
        typer.echo(f"{mode:<8} " + " ".join(f"{row[c]:>10}" for c in _COLUMNS))


@eval_app.command("answers", cls=Command)
def answers_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="JSONL question sets: {question, pmid|doi|gold} for answerable cases, {question, "
            '"answerable": false} for questions the store cannot answer (see `litbot eval answers --help`).',
            show_default=False,
        ),
    ],
    leave_gold_out: Annotated[
        bool,
        typer.Option(
            "--leave-gold-out",
            help="Hide each case's gold articles from retrieval: the store then cannot answer it, and the "
            "answer should be refused or partial.",
        ),
    ] = False,
    mode: Annotated[
        str | None,
        typer.Option("--mode", help="extractive or llm (default: llm when one is configured)."),
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N cases.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object: summary figures and every case.")
    ] = False,
) -> None:
    """Ask every question of the sets against the store and score the answers a user would read.

    Reports, for answerable questions, how often litbot answers, answers partially or refuses, cites the
    gold article (anywhere, first), how many answer sentences cite only non-gold articles (off-topic), and
    whether the gold abstract's conclusion is quoted (cases with a "conclusion" field); for questions the
    store cannot answer, how often it refuses or says what is missing; and the latency per question. Each
    case is asked in a fresh conversation of the same handler `litbot ask` uses.
    """
    from bot.chat import ChatHandler
    from bot.cli.common import ensure_weights, fail
    from bot.eval.answers import load_cases, run_cases
    from ingest.settings import load_settings

    if mode not in (None, "extractive", "llm"):
        raise fail(f"--mode must be extractive or llm, not {mode!r}", code=2, as_json=as_json)
    try:
        settings = load_settings()
        if mode == "extractive":
            settings = settings.model_copy(update={"llm_enabled": False})
        elif mode == "llm" and not settings.llm_configured:
            raise fail(
                "--mode llm needs an LLM: set OPENAI_API_KEY or OPENAI_BASE_URL", code=2, as_json=as_json
            )
        cases = [case for path in files for case in load_cases(path)][:limit]
        ensure_weights(settings)
        handler = ChatHandler.from_settings(settings)

        def ask(question: str, filters: Filters) -> Answer:
            return handler.new_session().ask(question, filters=filters)

        def progress(done: int) -> None:
            if not as_json and (done % 25 == 0 or done == len(cases)):
                typer.echo(f"asked {done}/{len(cases)}", err=True)

        report = run_cases(cases, ask, leave_gold_out=leave_gold_out, progress=progress)
    except LitbotError as exc:
        raise fail(exc.user_message, as_json=as_json) from exc
    summary = {"mode": handler.mode, "leave_gold_out": leave_gold_out, **report.summary()}
    if as_json:
        typer.echo(json.dumps({**summary, "results": [r.as_dict() for r in report.results]}))
        return
    for line in summary_lines(summary):
        typer.echo(line)


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The figures of `litbot eval answers` as a few readable lines."""

    def pct(value: object) -> str:
        return f"{100 * float(value):.1f}%" if isinstance(value, int | float) else "n/a"

    lines = []
    if answerable := summary.get("answerable"):
        lines += [
            f"answerable ({answerable['cases']} questions): answered {pct(answerable['answered'])} · "
            f"partial {pct(answerable['partial'])} · refused {pct(answerable['refused'])}",
            f"  gold article cited {pct(answerable['gold_cited'])} (first {pct(answerable['gold_cited_first'])})"
            f" · answered citing gold {pct(answerable['answered_citing_gold'])}",
            f"  off-topic sentences per answer: median {answerable['off_topic_sentences_median']}, mean "
            f"{answerable['off_topic_sentences_mean']} ({pct(answerable['answers_with_off_topic'])} of answers "
            "have any)",
        ]
        if answerable.get("conclusion_quoted") is not None:
            lines.append(f"  quotes the gold abstract's conclusion: {pct(answerable['conclusion_quoted'])}")
    if unanswerable := summary.get("unanswerable"):
        lines.append(
            f"not answerable from the store ({unanswerable['cases']} questions): refused "
            f"{pct(unanswerable['refused'])} · partial {pct(unanswerable['partial'])} · answered "
            f"{pct(unanswerable['answered'])} (refused or partial {pct(unanswerable['refused_or_partial'])})"
        )
    latency = summary.get("latency_s", {})
    lines.append(
        f"latency per question ({summary['mode']} mode): p50 {latency.get('p50')} s · p95 {latency.get('p95')} s"
    )
    return lines
