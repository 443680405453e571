#!/usr/bin/env python
"""Side-by-side drift-detection benchmark: aims, existing tools and simple baselines.

This is the shared peer harness with an ``aims`` entry added, so aims is timed
in the same run, on the same data and the same way as its peers. The driver
``benchmarks/drift.py`` creates the peer environments and runs it.

    python bench_peers.py --n 1000000                    # all tools, 3 repeats each
    python bench_peers.py --n 100000 --tools numpy_psi,scipy_tests --repeats 5
    python bench_peers.py --report                       # markdown table from results/*.json

Each measurement runs in a fresh subprocess (``--worker TOOL``) that
  1. imports the tool (import time reported separately),
  2. loads ref_<n>.parquet / cur_<n>.parquet (load time reported separately),
  3. runs the tool's standard per-column drift computation (the timed part:
     everything from the loaded frames to a per-column drifted/not-drifted verdict),
  4. reports peak RSS (ru_maxrss, whole process incl. load) and the columns it flagged.
Results are scored against data/truth.json written by gen_drift_data.py, medians over repeats
go to results/results_<n>.json (merged per tool, so subsets can be re-run).

Every tool may live in its own virtualenv (peers pin clashing numpy/pandas):
interpreter = --python TOOL=PATH, else $BENCH_PY_<TOOL>, else ./venv-<env>/bin/python
(see TOOLS), else the interpreter running this script.

Adding a tool (e.g. your own): write ``setup_x() -> version`` (imports) and
``run_x(ref, cur, schema) -> (flags: dict[col, bool], extra: dict)`` and add a Tool
entry to TOOLS; ``loader`` chooses what ``ref``/``cur`` are: "pandas", "polars" or
"arrow" (pyarrow.Table).  ``schema`` has numerical_columns / categorical_columns.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
RESULT_TAG = "@@RESULT "
ALPHA = 0.05  # p-value threshold for test-based baselines
PSI_THRESHOLD = 0.1  # PSI >= 0.1: "moderate" shift by the usual rule of thumb
PSI_BINS = 10

# keep telemetry out of the timings (there is no network here anyway)
QUIET_ENV = {
    "NML_DISABLE_USAGE_LOGGING": "1",
    "WHYLOGS_NO_ANALYTICS": "True",
    "DO_NOT_TRACK": "1",
    "EVIDENTLY_DISABLE_TELEMETRY": "1",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "PYTHONWARNINGS": "ignore",
}


def _read_json(path: str) -> Any:
    with open(path) as f:
        return json.load(f)


# --------------------------------------------------------------------------- tools
def _ver(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


# ---- baseline (a): scipy tests on pandas
def setup_scipy() -> str:
    import scipy.stats  # noqa: F401

    return "scipy " + _ver("scipy")


def run_scipy(ref, cur, schema):
    import numpy as np
    from scipy.stats import chi2_contingency, ks_2samp

    flags, pv = {}, {}
    for c in schema["numerical_columns"]:
        p = ks_2samp(ref[c].to_numpy(), cur[c].to_numpy()).pvalue
        pv[c], flags[c] = float(p), bool(p < ALPHA)
    for c in schema["categorical_columns"]:
        r, k = ref[c].value_counts(), cur[c].value_counts()
        idx = r.index.union(k.index)
        table = np.vstack(
            [r.reindex(idx, fill_value=0).to_numpy(), k.reindex(idx, fill_value=0).to_numpy()]
        )
        p = chi2_contingency(table).pvalue
        pv[c], flags[c] = float(p), bool(p < ALPHA)
    return flags, {"p_values": pv}


# ---- baseline (b): numpy PSI on reference-quantile bins
def setup_numpy() -> str:
    import numpy  # noqa: F401

    return "numpy " + _ver("numpy")


def _psi(r, c):
    import numpy as np

    r = np.maximum(r / r.sum(), 1e-6)
    c = np.maximum(c / c.sum(), 1e-6)
    return float(np.sum((c - r) * np.log(c / r)))


def run_numpy_psi(ref, cur, schema):
    import numpy as np

    q = np.linspace(0, 1, PSI_BINS + 1)[1:-1]
    flags, psi = {}, {}
    for c in schema["numerical_columns"]:
        x, y = ref[c].to_numpy(), cur[c].to_numpy()
        edges = np.quantile(x, q)
        rc = np.bincount(np.searchsorted(edges, x, side="right"), minlength=PSI_BINS)
        cc = np.bincount(np.searchsorted(edges, y, side="right"), minlength=PSI_BINS)
        psi[c] = _psi(rc, cc)
    for c in schema["categorical_columns"]:
        r, k = ref[c].value_counts(), cur[c].value_counts()
        idx = r.index.union(k.index)
        psi[c] = _psi(
            r.reindex(idx, fill_value=0).to_numpy(float),
            k.reindex(idx, fill_value=0).to_numpy(float),
        )
    flags = {c: v >= PSI_THRESHOLD for c, v in psi.items()}
    return flags, {"psi": psi}


# ---- Evidently (0.7 API: Dataset + DataDefinition + Report(DataDriftPreset))
def setup_evidently() -> str:
    import evidently  # noqa: F401
    from evidently import DataDefinition, Dataset, Report  # noqa: F401
    from evidently.presets import DataDriftPreset  # noqa: F401

    return _ver("evidently")


def run_evidently(ref, cur, schema):
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    t0 = time.perf_counter()
    dd = DataDefinition(
        numerical_columns=schema["numerical_columns"],
        categorical_columns=schema["categorical_columns"],
    )
    r = Dataset.from_pandas(ref, data_definition=dd)
    c = Dataset.from_pandas(cur, data_definition=dd)
    t1 = time.perf_counter()
    snap = Report([DataDriftPreset()]).run(current_data=c, reference_data=r)
    res = snap.dict()
    t2 = time.perf_counter()
    flags, detail = {}, {}
    for m in res["metrics"]:
        cfg = m.get("config", {})
        if not cfg.get("type", "").endswith("ValueDrift"):
            continue
        method, thr, val = cfg["method"], cfg["threshold"], m["value"]
        # Evidently's stattests: p-value tests drift if p < thr, distances if d >= thr
        drift = val < thr if "p_value" in method.lower() else val >= thr
        flags[cfg["column"]] = bool(drift)
        detail[cfg["column"]] = [method, val]
    return flags, {"dataset_s": t1 - t0, "report_run_s": t2 - t1, "methods": detail}


# ---- NannyML (UnivariateDriftCalculator, one chunk)
def setup_nannyml() -> str:
    import nannyml  # noqa: F401

    return _ver("nannyml")


def run_nannyml(ref, cur, schema):
    import warnings

    import nannyml as nml
    from nannyml.thresholds import ConstantThreshold

    warnings.filterwarnings("ignore")  # "number of chunks is too low" for every column
    cols = schema["numerical_columns"] + schema["categorical_columns"]
    n = len(ref)
    t0 = time.perf_counter()
    calc = nml.UnivariateDriftCalculator(
        column_names=cols,
        treat_as_categorical=schema["categorical_columns"],
        continuous_methods=["kolmogorov_smirnov", "jensen_shannon"],
        categorical_methods=["chi2", "jensen_shannon"],
        chunk_size=n,  # exactly one chunk for reference and for analysis
        # default StandardDeviationThreshold needs >1 reference chunk (with one
        # chunk its threshold collapses to 0 and every column alerts)
        thresholds={
            "kolmogorov_smirnov": ConstantThreshold(upper=0.1),
            "jensen_shannon": ConstantThreshold(upper=0.1),
        },
    )
    calc.fit(ref)
    t1 = time.perf_counter()
    res = calc.calculate(cur)
    df = res.filter(period="analysis").to_df()
    t2 = time.perf_counter()
    flags, detail = {}, {}
    for c in cols:
        methods = sorted({m for (col, m, _) in df.columns if col == c})
        alerts = {m: bool(df[(c, m, "alert")].iloc[0]) for m in methods}
        detail[c] = {m: [float(df[(c, m, "value")].iloc[0]), alerts[m]] for m in methods}
        flags[c] = any(alerts.values())
    return flags, {"fit_s": t1 - t0, "calculate_s": t2 - t1, "methods": detail, "chunks": len(df)}


# ---- whylogs (profile both frames, then calculate_drift_scores)
def setup_whylogs() -> str:
    import whylogs  # noqa: F401
    from whylogs.viz.drift.column_drift_algorithms import calculate_drift_scores  # noqa: F401

    return _ver("whylogs")


def run_whylogs(ref, cur, schema):
    import whylogs as why
    from whylogs.viz.drift.column_drift_algorithms import calculate_drift_scores

    t0 = time.perf_counter()
    rv = why.log(pandas=ref).view()
    t1 = time.perf_counter()
    cv = why.log(pandas=cur).view()
    t2 = time.perf_counter()
    scores = calculate_drift_scores(target_view=cv, reference_view=rv, with_thresholds=True)
    t3 = time.perf_counter()
    flags = {c: (s or {}).get("drift_category") == "DRIFT" for c, s in scores.items()}
    detail = {
        c: [(s or {}).get("algorithm"), (s or {}).get("pvalue"), (s or {}).get("drift_category")]
        for c, s in scores.items()
    }
    return flags, {
        "profile_ref_s": t1 - t0,
        "profile_cur_s": t2 - t1,
        "scores_s": t3 - t2,
        "methods": detail,
    }


# ---- alibi-detect (TabularDrift: KS per numeric, chi2 per categorical feature)
def setup_alibi() -> str:
    from alibi_detect.cd import TabularDrift  # noqa: F401

    return _ver("alibi-detect")


def run_alibi(ref, cur, schema):
    import numpy as np
    import pandas as pd
    from alibi_detect.cd import TabularDrift

    cols = schema["numerical_columns"] + schema["categorical_columns"]
    cats = set(schema["categorical_columns"])
    t0 = time.perf_counter()
    levels = {c: pd.unique(ref[c]) for c in cats}

    def encode(df):  # TabularDrift wants one numeric matrix, categories as int codes
        out = np.empty((len(df), len(cols)), dtype=np.float64)
        for i, c in enumerate(cols):
            out[:, i] = (
                pd.Categorical(df[c], categories=levels[c]).codes if c in cats else df[c].to_numpy()
            )
        return out

    xr, xc = encode(ref), encode(cur)
    t1 = time.perf_counter()
    cd = TabularDrift(xr, p_val=ALPHA, categories_per_feature={cols.index(c): None for c in cats})
    pred = cd.predict(xc, drift_type="feature")["data"]
    t2 = time.perf_counter()
    flags = {c: bool(d) for c, d in zip(cols, pred["is_drift"], strict=False)}
    return flags, {
        "encode_s": t1 - t0,
        "detector_s": t2 - t1,
        "p_values": dict(zip(cols, map(float, pred["p_val"]), strict=False)),
    }


# ---- aims (this project: default tests, profile path above 50,000 rows)
def setup_aims() -> str:
    import aims.core.drift  # noqa: F401

    return _ver("aims")


def run_aims(ref, cur, schema):
    from aims.core.drift import compare

    kinds = {c: "numeric" for c in schema["numerical_columns"]}
    kinds.update({c: "categorical" for c in schema["categorical_columns"]})
    report = compare(ref, cur, kinds=kinds)
    flags = {c.name: c.drifted for c in report.columns}
    detail = {c.name: [c.test, c.statistic, c.error_bound] for c in report.columns}
    return flags, {"method": report.method, "methods": detail}


@dataclass
class Tool:
    setup: Callable[[], str]
    run: Callable[[Any, Any, dict], tuple[dict, dict]]
    env: str = ""  # ./venv-<env>/bin/python; "" = ./venv
    loader: str = "pandas"
    note: str = ""


TOOLS: dict[str, Tool] = {
    "aims": Tool(setup_aims, run_aims, loader="polars", note="aims defaults: W1/sd>=0.1, JS>=0.1"),
    "numpy_psi": Tool(
        setup_numpy,
        run_numpy_psi,
        note=f"PSI, {PSI_BINS} ref-quantile bins, flag PSI>={PSI_THRESHOLD}",
    ),
    "scipy_tests": Tool(
        setup_scipy, run_scipy, note=f"ks_2samp / chi2_contingency, flag p<{ALPHA}"
    ),
    "evidently": Tool(
        setup_evidently, run_evidently, env="evidently", note="Report([DataDriftPreset()]) defaults"
    ),
    "nannyml": Tool(
        setup_nannyml, run_nannyml, env="nannyml", note="KS+JS / chi2+JS, 1 chunk, const thr 0.1"
    ),
    "whylogs": Tool(
        setup_whylogs,
        run_whylogs,
        env="whylogs",
        note="profiles + calculate_drift_scores, DRIFT only",
    ),
    "alibi_detect": Tool(
        setup_alibi, run_alibi, env="alibi", note=f"TabularDrift p_val={ALPHA}, feature-level"
    ),
}


# --------------------------------------------------------------------------- worker
def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def load(loader: str, path: str):
    if loader == "pandas":
        import pandas as pd

        return pd.read_parquet(path)
    if loader == "polars":
        import polars as pl

        return pl.read_parquet(path)
    if loader == "arrow":
        import pyarrow.parquet as pq

        return pq.read_table(path)
    raise ValueError(loader)


def worker(name: str, n: int, data_dir: str) -> None:
    tool = TOOLS[name]
    schema = _read_json(os.path.join(data_dir, "truth.json"))
    t0 = time.perf_counter()
    version = tool.setup()
    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = load(tool.loader, os.path.join(data_dir, f"ref_{n}.parquet"))
    cur = load(tool.loader, os.path.join(data_dir, f"cur_{n}.parquet"))
    t_load = time.perf_counter() - t0
    rss_load = _rss_mb()
    t0 = time.perf_counter()
    flags, extra = tool.run(ref, cur, schema)
    t_drift = time.perf_counter() - t0
    out = {
        "tool": name,
        "version": version,
        "n": n,
        "import_s": t_import,
        "load_s": t_load,
        "drift_s": t_drift,
        "rss_after_load_mb": rss_load,
        "peak_rss_mb": _rss_mb(),
        "flags": flags,
        "extra": extra,
        "python": sys.executable,
        "libs": _libs(),
    }
    print(RESULT_TAG + json.dumps(out, default=str), flush=True)


def _libs() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for d in ("numpy", "pandas", "pyarrow", "scipy", "polars"):
        with contextlib.suppress(PackageNotFoundError):
            out[d] = version(d)
    return out


# --------------------------------------------------------------------------- driver
def python_for(name: str, overrides: dict) -> str:
    if name in overrides:
        return overrides[name]
    if os.environ.get(f"BENCH_PY_{name.upper()}"):
        return os.environ[f"BENCH_PY_{name.upper()}"]
    env = TOOLS[name].env
    cand = os.path.join(HERE, f"venv-{env}" if env else "venv", "bin", "python")
    return cand if os.path.exists(cand) else sys.executable


def score(flags: dict, truth: dict) -> dict:
    drifted, unchanged = set(truth["drifted"]), set(truth["unchanged"])
    flagged = {c for c, f in flags.items() if f}
    missing = sorted((drifted | unchanged) - set(flags))
    fn = sorted(drifted - flagged)
    fp = sorted(flagged & unchanged)
    total = len(drifted | unchanged)
    return {
        "correct": total - len(fn) - len(fp) - len([m for m in missing if m not in fn]),
        "total": total,
        "missed": fn,
        "false_alarms": fp,
        "not_reported": missing,
    }


def run_one(name: str, n: int, args, py: str) -> dict:
    cmd = [
        py,
        os.path.abspath(__file__),
        "--worker",
        name,
        "--n",
        str(n),
        "--data-dir",
        args.data_dir,
    ]
    env = {**os.environ, **QUIET_ENV}
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "wall_s": time.perf_counter() - t0}
    wall = time.perf_counter() - t0
    for line in reversed(p.stdout.splitlines()):
        if line.startswith(RESULT_TAG):
            r = json.loads(line[len(RESULT_TAG) :])
            r.update(status="ok", wall_s=wall)
            return r
    return {"status": "error", "rc": p.returncode, "wall_s": wall, "stderr_tail": p.stderr[-3000:]}


def bench(args) -> None:
    truth = (
        _read_json(os.path.join(args.data_dir, "truth.json"))
        if os.path.exists(os.path.join(args.data_dir, "truth.json"))
        else None
    )
    overrides = dict(kv.split("=", 1) for kv in args.python)
    names = args.tools.split(",") if args.tools else list(TOOLS)
    os.makedirs(args.results_dir, exist_ok=True)
    for n in args.n:
        if not all(
            os.path.exists(os.path.join(args.data_dir, f"{k}_{n}.parquet")) for k in ("ref", "cur")
        ):
            print(f"generating data for n={n} ...", flush=True)
            subprocess.run(
                [
                    sys.executable,
                    os.path.join(HERE, "gen_drift_data.py"),
                    "--n",
                    str(n),
                    "--out",
                    args.data_dir,
                ],
                check=True,
            )
        truth = _read_json(os.path.join(args.data_dir, "truth.json"))
        path = os.path.join(args.results_dir, f"results_{n}.json")
        results = _read_json(path) if os.path.exists(path) else {}
        for name in names:
            py = python_for(name, overrides)
            runs = []
            for i in range(args.repeats):
                r = run_one(name, n, args, py)
                runs.append(r)
                msg = (
                    f"drift {r['drift_s']:.2f}s load {r['load_s']:.2f}s peak {r['peak_rss_mb']:.0f}MB"
                    if r["status"] == "ok"
                    else r["status"] + " " + r.get("stderr_tail", "")[-800:]
                )
                print(f"[n={n}] {name} run {i + 1}/{args.repeats}: {msg}", flush=True)
                if r["status"] != "ok":
                    break  # a timeout/error will not get better on repeat
            ok = [r for r in runs if r["status"] == "ok"]
            summary = {
                "tool": name,
                "n": n,
                "python": py,
                "repeats": len(runs),
                "status": runs[-1]["status"] if not ok else "ok",
                "note": TOOLS[name].note,
                "timeout_s": args.timeout,
            }
            if ok:

                def med(k: str, ok: list = ok) -> float:
                    return statistics.median(r[k] for r in ok)

                summary.update(
                    version=ok[0]["version"],
                    libs=ok[0]["libs"],
                    drift_s=med("drift_s"),
                    load_s=med("load_s"),
                    import_s=med("import_s"),
                    peak_rss_mb=med("peak_rss_mb"),
                    rss_after_load_mb=med("rss_after_load_mb"),
                    drift_s_all=[r["drift_s"] for r in ok],
                    score=score(ok[0]["flags"], truth),
                    flags=ok[0]["flags"],
                    extra={
                        k: (
                            statistics.median(r["extra"][k] for r in ok)
                            if isinstance(v, float)
                            else v
                        )
                        for k, v in ok[0]["extra"].items()
                    },
                )
            else:
                summary["error"] = runs[-1].get("stderr_tail", "")
            results[name] = summary
            with open(path, "w") as f:
                json.dump(results, f, indent=1, default=str)
        print(table([results[k] for k in names if k in results]))


def table(rows: list[dict]) -> str:
    hdr = (
        "| tool | version | N | drift s (median) | load s | import s | RSS after load MB | peak RSS MB "
        "| correct / incorrect | missed | false alarms |\n|---|---|---|---|---|---|---|---|---|---|---|"
    )
    out = [hdr]
    for r in rows:
        if r["status"] != "ok":
            out.append(
                f"| {r['tool']} | | {r['n']:,} | {r['status'].upper()} (>{r['timeout_s']}s)"
                if r["status"] == "timeout"
                else f"| {r['tool']} | | {r['n']:,} | ERROR | | | | | | | |"
            )
            continue
        s = r["score"]
        bad = s["total"] - s["correct"]
        out.append(
            f"| {r['tool']} | {r['version']} | {r['n']:,} | {r['drift_s']:.2f} | {r['load_s']:.2f} | {r['import_s']:.2f} "
            f"| {r['rss_after_load_mb']:.0f} | {r['peak_rss_mb']:.0f} | {s['correct']} / {bad} "
            f"| {', '.join(s['missed']) or '-'} | {', '.join(s['false_alarms'] + s['not_reported']) or '-'} |"
        )
    return "\n".join(out)


def report(args) -> None:
    import glob

    rows = []
    for p in glob.glob(os.path.join(args.results_dir, "results_*.json")):
        rows += _read_json(p).values()
    order = {k: i for i, k in enumerate(TOOLS)}
    rows.sort(key=lambda r: (r["n"], order.get(r["tool"], 99)))
    print(table(rows))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, nargs="+", default=[100_000])
    ap.add_argument("--tools", default="", help=f"comma list, default all: {','.join(TOOLS)}")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--timeout", type=int, default=600, help="seconds per run (subprocess is killed)"
    )
    ap.add_argument("--data-dir", default=os.path.join(HERE, "data"))
    ap.add_argument("--results-dir", default=os.path.join(HERE, "results"))
    ap.add_argument(
        "--python", action="append", default=[], metavar="TOOL=PATH", help="interpreter for a tool"
    )
    ap.add_argument(
        "--report", action="store_true", help="print the table of all saved results and exit"
    )
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.n[0], args.data_dir)
    elif args.report:
        report(args)
    else:
        bench(args)


if __name__ == "__main__":
    main()
