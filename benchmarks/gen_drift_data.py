#!/usr/bin/env python
"""Synthetic drift benchmark data: reference + current Parquet files with known drift.

Usage:  python gen.py --n 1000000 [--out data] [--seed 42]

Writes  <out>/ref_<n>.parquet, <out>/cur_<n>.parquet, <out>/truth.json

Schema (27 columns):
  num_00..num_19  float64  mixture of normal / lognormal / uniform (dist = i % 3)
  cat_0..cat_4    string   5, 10, 20, 30, 50 categories, Zipf-like frequencies
  prediction      float64  model probability = sigmoid(f(num_00, num_03, num_04) + noise)
  label           int64    Bernoulli(prediction)

Known drift in `current` (everything else is drawn from the same distribution):
  see NUM_SHIFTS / CAT_SHIFTS below; prediction and label drift as a consequence
  of the num_00 mean shift (label rate ~0.35 -> ~0.51).
truth.json lists drifted / unchanged columns plus the effect sizes measured on
the generated data, so benchmark scripts can score flags without importing this.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

N_NUM = 20
CAT_SIZES = [5, 10, 20, 30, 50]
DISTS = ["normal", "lognormal", "uniform"]

# column index -> (kind of shift, amount).  Chosen to be clearly drifted
# (normalised Wasserstein >= ~0.2, i.e. above Evidently's 0.1 default) at any N.
NUM_SHIFTS = {
    0: ("mean_sd", 0.50),  # normal: mean + 0.5 sd
    1: ("log_mu", 0.30),  # lognormal: mu + 0.3 (x1.35 multiplicative)
    2: ("width", 0.20),  # uniform: interval moved by 20% of width
    6: ("scale", 1.50),  # normal: sd x 1.5, same mean
    10: ("log_sigma", 1.40),  # lognormal: sigma x 1.4
    14: ("width", 0.25),  # uniform: interval moved by 25% of width
    18: ("mean_sd", 0.25),  # normal: mean + 0.25 sd (the smallest shift)
}
# categorical index -> kind of frequency change
CAT_SHIFTS = {
    0: "swap_0_4",  # 5 categories: most and least frequent swap probabilities
    3: "reverse",  # 30 categories: frequency ranking reversed
}


def num_params(i: int) -> tuple[str, dict]:
    d = DISTS[i % 3]
    if d == "normal":
        return d, {"loc": float(i), "scale": 1.0 + (i % 4)}
    if d == "lognormal":
        return d, {"mean": 0.0, "sigma": 0.5 + 0.1 * (i % 3)}
    return d, {"low": 0.0, "high": 1.0 + i}


def shifted_params(i: int, d: str, p: dict) -> dict:
    if i not in NUM_SHIFTS:
        return p
    kind, amt = NUM_SHIFTS[i]
    p = dict(p)
    if kind == "mean_sd":
        p["loc"] += amt * p["scale"]
    elif kind == "scale":
        p["scale"] *= amt
    elif kind == "log_mu":
        p["mean"] += amt
    elif kind == "log_sigma":
        p["sigma"] *= amt
    elif kind == "width":
        w = p["high"] - p["low"]
        p["low"] += amt * w
        p["high"] += amt * w
    else:
        raise ValueError(kind)
    return p


def draw(rng: np.random.Generator, d: str, p: dict, n: int) -> np.ndarray:
    if d == "normal":
        return rng.normal(p["loc"], p["scale"], n)
    if d == "lognormal":
        return rng.lognormal(p["mean"], p["sigma"], n)
    return rng.uniform(p["low"], p["high"], n)


def cat_probs(j: int, k: int, current: bool) -> np.ndarray:
    p = 1.0 / np.arange(1, k + 1) ** 0.8
    p /= p.sum()
    if current and j in CAT_SHIFTS:
        kind = CAT_SHIFTS[j]
        if kind == "reverse":
            p = p[::-1].copy()
        elif kind.startswith("swap_"):
            a, b = map(int, kind.split("_")[1:])
            p[[a, b]] = p[[b, a]]
    return p


def make_frame(n: int, rng: np.random.Generator, current: bool) -> pa.Table:
    cols: dict[str, pa.Array] = {}
    raw: dict[int, np.ndarray] = {}
    for i in range(N_NUM):
        d, p = num_params(i)
        if current:
            p = shifted_params(i, d, p)
        x = draw(rng, d, p, n)
        raw[i] = x
        cols[f"num_{i:02d}"] = pa.array(x)
    for j, k in enumerate(CAT_SIZES):
        names = pa.array([f"c{j}_v{v:02d}" for v in range(k)])
        codes = rng.choice(k, size=n, p=cat_probs(j, k, current)).astype(np.int32)
        cols[f"cat_{j}"] = names.take(pa.array(codes))  # plain utf8 strings

    # prediction depends on num_00 (shifted), num_03, num_04 (unchanged);
    # standardise with the *reference* parameters so the shift propagates.
    def z(i):
        d, p = num_params(i)
        if d == "normal":
            return (raw[i] - p["loc"]) / p["scale"]
        if d == "lognormal":
            return (np.log(raw[i]) - p["mean"]) / p["sigma"]
        return (raw[i] - (p["low"] + p["high"]) / 2) / ((p["high"] - p["low"]) / np.sqrt(12))

    logit = -1.2 + 2.5 * z(0) + 0.5 * z(3) - 0.3 * z(4) + rng.normal(0, 0.5, n)
    pred = 1.0 / (1.0 + np.exp(-logit))
    cols["prediction"] = pa.array(pred)
    cols["label"] = pa.array((rng.random(n) < pred).astype(np.int64))
    return pa.table(cols)


def truth_dict() -> dict:
    num = [f"num_{i:02d}" for i in range(N_NUM)]
    cat = [f"cat_{j}" for j in range(len(CAT_SIZES))]
    drifted = (
        [f"num_{i:02d}" for i in NUM_SHIFTS]
        + [f"cat_{j}" for j in CAT_SHIFTS]
        + ["prediction", "label"]
    )
    return {
        "numerical_columns": [*num, "prediction"],
        "categorical_columns": [*cat, "label"],
        "drifted": sorted(drifted),
        "unchanged": sorted(c for c in num + cat if c not in drifted),
        "num_shifts": {f"num_{i:02d}": list(v) for i, v in NUM_SHIFTS.items()},
        "cat_shifts": {f"cat_{j}": v for j, v in CAT_SHIFTS.items()},
        "distributions": {f"num_{i:02d}": num_params(i) for i in range(N_NUM)},
    }


def effect_sizes(ref: pa.Table, cur: pa.Table, m: int = 200_000) -> dict:
    """Normalised Wasserstein (numeric) / Jensen-Shannon distance (categorical), on a sample."""
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import wasserstein_distance

    t = truth_dict()
    out = {}
    for c in t["numerical_columns"]:
        r = ref[c].to_numpy()[:m]
        k = cur[c].to_numpy()[:m]
        out[c] = round(float(wasserstein_distance(r, k) / np.std(r)), 4)
    for c in t["categorical_columns"]:
        r = ref[c].to_pandas().iloc[:m].value_counts(normalize=True)
        k = cur[c].to_pandas().iloc[:m].value_counts(normalize=True)
        idx = r.index.union(k.index)
        out[c] = round(
            float(jensenshannon(r.reindex(idx, fill_value=0), k.reindex(idx, fill_value=0))), 4
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, nargs="+", default=[100_000], help="row count(s) per file")
    ap.add_argument(
        "--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
    )
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    truth = truth_dict()
    for n in args.n:
        t0 = time.perf_counter()
        rng = np.random.default_rng([args.seed, n])
        ref = make_frame(n, rng, current=False)
        cur = make_frame(n, rng, current=True)
        for name, tab in (("ref", ref), ("cur", cur)):
            pq.write_table(tab, os.path.join(args.out, f"{name}_{n}.parquet"))
        truth.setdefault("effect_sizes", {})[str(n)] = effect_sizes(ref, cur)
        print(f"n={n}: wrote ref/cur in {time.perf_counter() - t0:.1f}s")
        del ref, cur
    path = os.path.join(args.out, "truth.json")
    if os.path.exists(path):  # keep effect sizes of other N
        with open(path) as f:
            old = json.load(f).get("effect_sizes", {})
        truth["effect_sizes"] = {**old, **truth["effect_sizes"]}
    with open(path, "w") as f:
        json.dump(truth, f, indent=1)
    print(json.dumps(truth["effect_sizes"], indent=None)[:2000])


if __name__ == "__main__":
    main()
