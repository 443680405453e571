#!/usr/bin/env python
"""Cost of embedding drift: texts per second of the NumPy MiniLM encoder on one core, and a verdict.

    .venv/bin/python benchmarks/embedding.py            # 256 texts of each length
    .venv/bin/python benchmarks/embedding.py --quick    # 64

Texts of exactly 32 and 128 tokens (``[CLS]`` and ``[SEP]`` included) are
made from support-desk sentences and encoded in batches of 32, the way the
monitor encodes a window's sample, by both backends of the encoder (ONNX
Runtime and NumPy). The process is pinned to one CPU, BLAS and ONNX Runtime
to one thread. Reported per backend and length: texts per second of CPU time
(the figure that depends least on what else the machine runs) and of wall
time. Then one
embedding drift verdict (:func:`aims.core.text.embedding_drift.embedding_drift`,
cross-fitted ridge classifier and its 100 label shuffles) on 200 against 200
embeddings. Results go to ``benchmarks/results/embedding.json`` (with
``--quick``, to ``benchmarks/results/quick/``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from aims.core.text.embedding_drift import embedding_drift
from aims.core.text.encoder import SentenceEncoder

RESULTS = Path(__file__).resolve().parent / "results"
SENTENCE = (
    "the customer asks why the refund for the damaged parcel has not arrived although the "
    "courier confirmed the return last week and the invoice shows a second charge on the card"
)
WORDS = SENTENCE.split(" ")


def _texts(encoder: SentenceEncoder, tokens: int, n: int) -> list[str]:
    """``n`` distinct texts of exactly ``tokens`` tokens."""
    out = []
    for i in range(n):
        words = [WORDS[(i + j) % len(WORDS)] for j in range(tokens)]
        lo, hi = 1, len(words)
        while lo < hi:  # the most words that fit in ``tokens`` tokens
            mid = (lo + hi + 1) // 2
            if encoder.tokens([" ".join(words[:mid])])[0] <= tokens:
                lo = mid
            else:
                hi = mid - 1
        text = " ".join(words[:lo])
        while encoder.tokens([text])[0] < tokens:
            text += " a"  # one token each
        out.append(text)
    counts = encoder.tokens(out)
    assert all(c == tokens for c in counts), f"texts of {tokens} tokens: got {set(counts)}"
    return out


def _timed(fn: Any) -> tuple[Any, float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    value = fn()
    return value, time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    """Measure and write ``benchmarks/results/embedding.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="64 texts of each length")
    parser.add_argument("--texts", type=int, default=256, help="texts of each length")
    args = parser.parse_args()
    n = 64 if args.quick else args.texts
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    results: dict[str, Any] = {
        "machine": platform.processor() or platform.machine(),
        "load_before": os.getloadavg(),
        "texts": n,
    }
    with threadpool_limits(1):
        for backend in ("onnx", "numpy"):
            encoder, cpu, _ = _timed(lambda backend=backend: SentenceEncoder(backend=backend))
            results[f"{backend}_load_seconds_cpu"] = round(cpu, 3)
            encoder.encode(["warm up"])
            for tokens in (32, 128):
                texts = _texts(encoder, tokens, n)
                vectors, cpu, wall = _timed(lambda e=encoder, t=texts: e.encode(t))
                assert vectors.shape == (n, encoder.dimension)
                results[f"{backend}_tokens_{tokens}"] = {
                    "texts_per_cpu_second": round(n / cpu, 1),
                    "texts_per_wall_second": round(n / wall, 1),
                    "cpu_ms_per_text": round(1000 * cpu / n, 2),
                }
                print(
                    f"{backend:>5} {tokens:>4} tokens: {n / cpu:7.1f} texts/CPU-s  "
                    f"{n / wall:7.1f} texts/s wall"
                )
        rng = np.random.default_rng(0)
        a, b = (rng.normal(size=(200, encoder.dimension)) for _ in range(2))
        verdict, cpu, _ = _timed(lambda: embedding_drift(a, b))
        assert verdict is not None
        results["verdict_200_vs_200_cpu_seconds"] = round(cpu, 3)
        print(f"one verdict, 200 vs 200 texts: {cpu:.2f} CPU-s")
    results["load_after"] = os.getloadavg()
    folder = RESULTS / "quick" if args.quick else RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "embedding.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
