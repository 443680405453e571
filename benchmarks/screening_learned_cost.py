"""Timing: what the learned screening signal adds to the screening of one text.

Texts of about 1 KB and 64 KB are made by concatenating cases of the
corpus's development part (only ``dev``: the held-out part is never read
here), benign ones and the same with one attack case in the middle; each is
screened with the learned signal off and on, ``--calls`` times after a
warm-up, and the thread CPU time per call is reported (median and 99th
percentile, in milliseconds), with the model alone (feature hashing and
scoring of every window) for comparison.

    .venv/bin/python benchmarks/screening_learned_cost.py [--calls 500]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from functools import partial

from aims.core.screening import ScreeningPolicy, classifier, screen
from aims.core.screening.screener import learned_input
from aims.services.screening_eval import load_corpus

SEED = 20261205


def _texts(size: int) -> dict[str, str]:
    dev = [c for c in load_corpus() if c.split == "dev" and c.text is not None]
    rng = random.Random(SEED)
    benign = [c.text for c in dev if c.label == "benign" and c.text]
    attack = [c.text for c in dev if c.label == "attack" and c.text]
    parts: list[str] = []
    while sum(len(p) + 1 for p in parts) < size:
        parts.append(rng.choice(benign))
    clean = "\n".join(parts)[:size]
    middle = clean.rfind("\n", 0, size // 2) + 1
    injected = (clean[:middle] + rng.choice(attack) + "\n" + clean[middle:])[:size]
    return {"benign": clean, "with-attack": injected}


def _cpu_ms(call: Callable[[], object], calls: int) -> dict[str, float]:
    for _ in range(min(calls, 20)):
        call()
    times = []
    for _ in range(calls):
        start = time.thread_time()
        call()
        times.append((time.thread_time() - start) * 1000)
    times.sort()
    return {
        "p50": round(statistics.median(times), 3),
        "p99": round(times[min(len(times) - 1, int(0.99 * len(times)))], 3),
    }


def main() -> None:
    """Print the timings as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    off = ScreeningPolicy(learned_signal=False)
    on = ScreeningPolicy()
    model = classifier.shipped()
    out: dict[str, dict[str, object]] = {}
    for size in (1024, 65536):
        calls = args.calls if size < 4096 else max(args.calls // 20, 20)
        for name, text in _texts(size).items():
            lower = learned_input(text)
            out[f"{size // 1024}KB {name}"] = {
                "rules": _cpu_ms(partial(screen, text, "result", off), calls),
                "rules+learned": _cpu_ms(partial(screen, text, "result", on), calls),
                "learned alone": _cpu_ms(partial(model.strongest, lower, "result"), calls),
                "verdict": screen(text, "result", on).verdict,
            }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
