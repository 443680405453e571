#!/usr/bin/env python
"""Throughput of the model-free text features and of one text drift verdict.

    python benchmarks/text_features.py            # 20,000 texts, best of 3
    python benchmarks/text_features.py --n 100000

Texts are generated from word lists (chat-length, 5 to 60 words, a few with
accents and digits), so the run needs no download. Reported: texts per second
for ``text_stats``, ``hashed_ngrams`` and ``looks_like_refusal`` on one core,
and the time of one ``text_drift`` verdict on two samples of 500 texts.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from aims.core.text.drift import text_drift
from aims.core.text.features import hashed_ngrams, text_stats
from aims.core.text.refusal import looks_like_refusal
from aims.core.text.sample import TextSample, priorities

WORDS = [
    "order",
    "refund",
    "shipping",
    "delivery",
    "package",
    "tracking",
    "return",
    "invoice",
    "payment",
    "card",
    "address",
    "late",
    "damaged",
    "parcel",
    "the",
    "a",
    "my",
    "to",
    "for",
    "is",
    "and",
    "it",
    "please",
    "help",
    "I",
    "need",
    "with",
    "can",
    "you",
    "this",
    "café",
    "naïve",
    "2024",
    "#42",
    "München",
    "account",
    "password",
    "reset",
]


def _texts(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(5, 61)))) for _ in range(n)]


def _rate(fn, texts: list[str], repeats: int) -> float:
    best = min(_timed(fn, texts) for _ in range(repeats))
    return len(texts) / best


def _timed(fn, texts: list[str]) -> float:
    start = time.perf_counter()
    for t in texts:
        fn(t)
    return time.perf_counter() - start


def _sample(texts: list[str], tag: str) -> TextSample:
    docs = [hashed_ngrams(t, b"bench") for t in texts]
    offsets = np.concatenate([[0], np.cumsum([d.size for d in docs])])
    return TextSample.of(
        priorities([f"{tag}{i}" for i in range(len(texts))]), offsets, np.concatenate(docs)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    texts = _texts(args.n, 0)
    mean_chars = sum(map(len, texts)) / len(texts)
    print(f"{args.n} texts, {mean_chars:.0f} characters on average")
    for name, fn in (
        ("text_stats", text_stats),
        ("hashed_ngrams", lambda t: hashed_ngrams(t, b"bench")),
        ("looks_like_refusal", looks_like_refusal),
    ):
        print(f"{name:20s} {_rate(fn, texts, args.repeats):>10,.0f} texts/s")
    ref, cur = _sample(_texts(2000, 1), "r"), _sample(_texts(2000, 2), "c")
    start = time.perf_counter()
    verdict = text_drift(ref, cur)
    took = time.perf_counter() - start
    assert verdict is not None
    print(f"text_drift (500 vs 500) {took * 1000:8.1f} ms  auc={verdict.auc:.3f}")


if __name__ == "__main__":
    main()
