"""all-MiniLM-L6-v2 as an ONNX graph, built from its fp32 safetensors weights with numpy and ``onnx`` (no PyTorch),
and cached on disk so a process start pays for reading it, not for building it.

The graph is the plain BERT encoder (standard opset-17 ops, the shape a PyTorch export has); onnxruntime fuses it
when a session is created (LayerNormalization, GELU, MatMul+Add). Its output ``last_hidden_state`` matches
sentence-transformers' token embeddings to float32 rounding. The fused contrib-op graph and onnxruntime's
transformer optimiser were measured slower on CPU (BENCHMARKS.md › Embedding). Bump ``GRAPH_VERSION`` whenever
:func:`build_graph` changes what it emits: the cache is keyed by it and by the weights' sha256.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

from ingest.files import replace_file

GRAPH_VERSION = 1
HIDDEN, HEADS, LAYERS, EPS = 384, 12, 6, 1e-12


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The float32 tensors of a safetensors file (8-byte header length, JSON header, raw little-endian data)."""
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    tensors = {}
    for name, meta in header.items():
        if name == "__metadata__" or meta["dtype"] != "F32":
            continue
        start, end = meta["data_offsets"]
        count = (end - start) // 4
        tensors[name] = np.frombuffer(raw, np.float32, count, 8 + size + start).reshape(meta["shape"])
    return tensors


def build_graph(w: dict[str, np.ndarray]) -> bytes:
    """The serialised ONNX model: inputs input_ids/attention_mask/token_type_ids (int64, [batch, seq]),
    output last_hidden_state (float32, [batch, seq, 384])."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[Any] = []
    inits: list[Any] = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(kind: str, inputs: list[str], **attrs: Any) -> str:
        out = f"{kind}_{len(nodes)}"
        nodes.append(helper.make_node(kind, inputs, [out], name=out, **attrs))
        return out

    def linear(x: str, prefix: str) -> str:
        y = op("MatMul", [x, const(prefix + ".weight_t", w[prefix + ".weight"].T)])
        return op("Add", [y, const(prefix + ".bias", w[prefix + ".bias"])])

    def layer_norm(x: str, prefix: str) -> str:
        scale, bias = (
            const(prefix + ".weight", w[prefix + ".weight"]),
            const(prefix + ".bias", w[prefix + ".bias"]),
        )
        return op("LayerNormalization", [x, scale, bias], axis=-1, epsilon=EPS)

    f32, i64 = np.float32, np.int64
    e = "embeddings."
    seq = op("Shape", ["input_ids"], start=1, end=2)
    table = const(e + "pos", w[e + "position_embeddings.weight"])
    positions = op(
        "Slice", [table, const("zero", np.array([0], i64)), seq, const("axis0", np.array([0], i64))]
    )
    x = op("Gather", [const(e + "word", w[e + "word_embeddings.weight"]), "input_ids"])
    x = op("Add", [x, positions])
    x = op(
        "Add", [x, op("Gather", [const(e + "type", w[e + "token_type_embeddings.weight"]), "token_type_ids"])]
    )
    x = layer_norm(x, e + "LayerNorm")
    # additive attention mask [batch, 1, 1, seq]: 0 for tokens, -10000 for padding (BERT's fp32 convention)
    mask = op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    mask = op("Unsqueeze", [mask, const("axes12", np.array([1, 2], i64))])
    mask = op("Mul", [op("Sub", [const("one", np.array(1, f32)), mask]), const("neg", np.array(-10000, f32))])
    split = const("split_heads", np.array([0, 0, HEADS, HIDDEN // HEADS], i64))
    merge = const("merge_heads", np.array([0, 0, HIDDEN], i64))
    root_d = const("root_d", np.array(np.sqrt(HIDDEN // HEADS), f32))
    root_2, half = const("root_2", np.array(np.sqrt(2), f32)), const("half", np.array(0.5, f32))
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        q, k, v = (
            op("Reshape", [linear(x, p + "attention.self." + n), split]) for n in ("query", "key", "value")
        )
        q = op("Transpose", [q], perm=[0, 2, 1, 3])
        k = op("Transpose", [k], perm=[0, 2, 3, 1])
        v = op("Transpose", [v], perm=[0, 2, 1, 3])
        scores = op("Softmax", [op("Add", [op("Div", [op("MatMul", [q, k]), root_d]), mask])], axis=-1)
        context = op("Reshape", [op("Transpose", [op("MatMul", [scores, v])], perm=[0, 2, 1, 3]), merge])
        x = layer_norm(
            op("Add", [linear(context, p + "attention.output.dense"), x]), p + "attention.output.LayerNorm"
        )
        h = linear(x, p + "intermediate.dense")
        gelu = op("Add", [op("Erf", [op("Div", [h, root_2])]), "one"])  # exact GELU: h * (1 + erf(h/√2)) / 2
        h = op("Mul", [op("Mul", [h, gelu]), half])
        x = layer_norm(op("Add", [linear(h, p + "output.dense"), x]), p + "output.LayerNorm")
    nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="output"))
    dims = ["batch", "seq"]
    names = ("input_ids", "attention_mask", "token_type_ids")
    graph = helper.make_graph(
        nodes,
        "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info(n, TensorProto.INT64, dims) for n in names],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [*dims, HIDDEN])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="litbot")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def cached_graph_path(weights_sha256: str, cache_dir: Path) -> Path:
    """Where the graph for these weights is cached (its checksum beside it, ``.sha256``)."""
    return cache_dir / f"all-MiniLM-L6-v2-{weights_sha256[:16]}-g{GRAPH_VERSION}.onnx"


def cached_graph(weights: Path, weights_sha256: str, cache_dir: Path | None) -> bytes:
    """The graph for these (already verified) weights: from ``cache_dir`` when a cached copy passes its own
    checksum, else built and written there atomically (graph, then its checksum beside it). A stale, partly
    written or damaged copy is simply rebuilt; a cache folder that cannot be written only costs the build."""
    if cache_dir is None:
        return build_graph(read_safetensors(weights))
    path = cached_graph_path(weights_sha256, cache_dir)
    check = path.with_name(path.name + ".sha256")
    try:
        graph, expected = path.read_bytes(), check.read_text(encoding="ascii").strip()
        if hashlib.sha256(graph).hexdigest() == expected:
            return graph
    except (OSError, UnicodeDecodeError):
        pass
    graph = build_graph(read_safetensors(weights))
    try:
        replace_file(path, graph)
        replace_file(check, hashlib.sha256(graph).hexdigest() + "\n")
    except OSError:
        pass
    return graph
