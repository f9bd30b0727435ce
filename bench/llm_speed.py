"""How fast a local OpenAI-compatible server reads and writes: the figures behind README › "What a small local
model can and cannot do here" and BENCHMARKS.md › Answers, "twelve blind sets".

    python -m llama_cpp.server --model MODEL.gguf --host 127.0.0.1 --port 8089 --n_ctx 4096 --n_threads 2 &
    .venv/bin/python bench/llm_speed.py --url http://127.0.0.1:8089 --max-tokens 512

Two requests with the same prompt, a coverage judgement of the kind `prompts/coverage.md` asks for over four
PubMedQA abstracts (~1,600 tokens): the first asks for one token (its wall time is reading the prompt), the
second for ``--max-tokens`` (the rest is writing). Each prompt opens with a fresh nonce, so the server cannot
reuse the first request's prompt for the second. Standard library only: it runs beside any server.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import urllib.request
import uuid
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "beir" / "pubmedqa" / "corpus.jsonl"
QUESTION = (
    "Question: Do water pills help people with swollen ankles? For each of the concepts ['water pills', "
    "'swollen ankles'], say whether the abstracts above cover it (possibly under another name). Reply as JSON "
    '{"water pills": true/false, "swollen ankles": true/false}.'
)


def ask(url: str, abstracts: str, max_tokens: int) -> dict[str, object]:
    messages = [
        {"role": "system", "content": f"[{uuid.uuid4().hex}] You judge whether medical abstracts answer a "
         "question. Reply with JSON only."},
        {"role": "user", "content": abstracts + "\n\n" + QUESTION},
    ]  # fmt: skip
    body = json.dumps({"messages": messages, "max_tokens": max_tokens, "temperature": 0}).encode()
    request = urllib.request.Request(
        url.rstrip("/") + "/v1/chat/completions", data=body, headers={"Content-Type": "application/json"}
    )
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=3600) as response:
        reply = json.load(response)
    return {"seconds": round(time.perf_counter() - start, 1), "usage": reply.get("usage", {})}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8089")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="a BEIR corpus.jsonl (its first 4 texts)")
    parser.add_argument("--max-tokens", type=int, default=512)
    args = parser.parse_args()
    with args.corpus.open(encoding="utf-8") as lines:
        abstracts = "\n\n".join(json.loads(next(lines))["text"] for _ in range(4))
    load = os.getloadavg()[0]
    reading = ask(args.url, abstracts, 1)
    writing = ask(args.url, abstracts, args.max_tokens)
    prompt = int(reading["usage"].get("prompt_tokens", 0))  # type: ignore[attr-defined]
    written = int(writing["usage"].get("completion_tokens", 0))  # type: ignore[attr-defined]
    read_s, total_s = float(reading["seconds"]), float(writing["seconds"])  # type: ignore[arg-type]
    summary = {
        "prompt_tokens": prompt,
        "read_seconds": read_s,
        "read_tokens_per_second": round(prompt / read_s, 1) if read_s else None,
        "completion_tokens": written,
        "write_seconds": round(total_s - read_s, 1),
        "write_tokens_per_second": round((written - 1) / (total_s - read_s), 2) if total_s > read_s else None,
        "total_seconds": total_s,
        "load_average_before": round(load, 2),
    }
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
