"""The retrieval targets, measured through the shipped ``Retriever.search`` (k=100, no floor), all three modes.

    LITBOT_DATA_DIR=... .venv/bin/python bench/retrieval_targets.py [pubmedqa] [paraphrases] [scifact [tuning]]

SciFact is scored on its held-out half only (the tuning half is what bench/retrieval_tune.py tuned on);
PubMedQA on its 1,000 test questions; the paraphrases are bench/data/pubmedqa_paraphrases.jsonl over the
PubMedQA corpus. Latency is per search call, measured here on whatever else the machine is doing.
"""

from __future__ import annotations

import json
import sys

from retrieval_common import PUBMEDQA, SCIFACT, paraphrase_set, retriever_for, scifact_halves

from bot.eval.beir import load_beir
from bot.eval.retrieval import MODES, evaluate, score_mode


def main() -> None:
    wanted = set(sys.argv[1:]) or {"pubmedqa", "paraphrases", "scifact"}
    out: dict[str, object] = {}
    if "pubmedqa" in wanted:
        retriever = retriever_for(PUBMEDQA)
        out["pubmedqa test"] = evaluate(PUBMEDQA, "test", retriever.settings, retriever=retriever)
    if "paraphrases" in wanted:
        retriever = retriever_for(PUBMEDQA)
        para = paraphrase_set()
        ids = list(para.queries)
        out["pubmedqa paraphrases"] = {m: score_mode(retriever, para, m, ids).as_dict() for m in MODES}
    if "scifact" in wanted:
        retriever = retriever_for(SCIFACT)
        tune, held_out = scifact_halves(list(load_beir(SCIFACT, "train").queries))
        out["scifact held-out"] = evaluate(
            SCIFACT, "train", retriever.settings, keep=held_out, retriever=retriever
        )
        if "tuning" in wanted:
            out["scifact tuning"] = evaluate(
                SCIFACT, "train", retriever.settings, keep=tune, retriever=retriever
            )
    for name, report in out.items():
        print(f"{name}: {json.dumps(report)}", flush=True)


if __name__ == "__main__":
    main()
