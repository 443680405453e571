"""The checks run on every window, turning its profile (and labels) into results.

Each check returns a JSON-ready section of the window's results and adds flat
figures to ``values`` (the names conditions read, see
:mod:`aims.services.monitor.triggers`):

========================  ==========================================================
section                   figures
========================  ==========================================================
``drift`` / ``features``  ``share_drifted``, ``n_drifted``, ``max_psi``, ``max_drift_score``;
                          per feature ``psi``, ``drift_score``, ``drift_statistic``,
                          ``drifted``, ``null_share``
``prediction``            ``prediction_psi``, ``prediction_drift_score``, ``score_psi``,
                          ``confidence_psi``, ``low_confidence_share``, ``mean_confidence``,
                          ``mean_entropy``, ``mean_score``
``sanity``                ``nan_share``, ``inf_share``, ``out_of_range_share``,
                          ``unknown_class_share``, ``null_prediction_share``, ``invalid_output_share``
``health``                ``health_issues``, ``schema_changes``, ``null_jumps``, ``stale_columns``
``volume``                ``n_predictions``, ``volume_change``, ``volume_ratio``
``performance``           ``n_labelled``, ``labelled_share``, each metric and ``<metric>_drop``
``vs_production``         ``prediction_psi_vs_production``, ``mean_score_vs_production``,
                          ``<metric>_vs_production``
========================  ==========================================================

A feature that is missing, all null, or whose type changed is a data-health
problem, not drift: it is left out of the drift figures (and reported by the
health check), so a broken upstream column opens a data-health incident.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from aims.core.contract import HealthProfile, data_health
from aims.core.drift import DriftOptions, drift_from_profiles, psi_from_counts
from aims.core.profile import CategoricalProfile, NumericProfile
from aims.core.triggers import WindowFacts
from aims.services.monitor.figures import clean, finite, share
from aims.services.monitor.performance import labelled_rows, performance, slice_facts
from aims.services.monitor.reference import Reference
from aims.services.monitor.triggers import MonitoringPolicy
from aims.services.monitor.windows import WindowProfile

#: Tests that mean "cannot compare" rather than "moved": handled by data health.
NOT_DRIFT = frozenset({"schema", "presence", "none"})
RESULTS_SCHEMA = 1


# --------------------------------------------------------------------------- drift
def _psi_options(opts: DriftOptions, names: list[str]) -> DriftOptions:
    return DriftOptions(tests=dict.fromkeys(names, "psi"), bins=opts.bins, eps=opts.eps)


def feature_drift(
    ref: Reference, prof: WindowProfile, opts: DriftOptions
) -> tuple[dict[str, Any], dict[str, Any], dict[str, float | None]]:
    """Per-feature drift against the training data: (features, summary, values)."""
    features: dict[str, Any] = {}
    if ref.inputs is None or prof.inputs is None:
        note = "no reference profile" if ref.inputs is None else "no inputs logged"
        return features, {"computed": False, "note": note}, {}
    names = [f for f in ref.features if f in ref.inputs.columns and f in prof.inputs.columns]
    report = drift_from_profiles(ref.inputs, prof.inputs, columns=names, options=opts)
    psi = drift_from_profiles(
        ref.inputs, prof.inputs, columns=names, options=_psi_options(opts, names)
    )
    for row, prow in zip(report.columns, psi.columns, strict=True):
        cur = prof.inputs.columns[row.name]
        entry: dict[str, Any] = {
            "kind": row.kind,
            "test": row.test,
            "statistic": finite(row.statistic),
            "p_value": finite(row.p_value),
            "threshold": finite(row.threshold),
            "null_share": share(cur.missing, cur.rows),
            "note": row.note,
        }
        if row.test in NOT_DRIFT or prow.test in NOT_DRIFT:
            entry.update(excluded=True, drifted=None, psi=None, drift_score=None)
        else:
            entry.update(
                excluded=False,
                drifted=bool(row.drifted),
                psi=finite(prow.statistic),
                drift_score=finite(row.score),
            )
        features[row.name] = entry
    for name in ref.features:
        if ref.inputs is not None and name in ref.inputs.columns and name not in features:
            features[name] = {
                "excluded": True,
                "note": "missing from the logged inputs",
                "null_share": 1.0,
                "psi": None,
                "drift_score": None,
                "drifted": None,
            }
    tested = [f for f in features.values() if not f["excluded"]]
    n_drifted = sum(1 for f in tested if f["drifted"])
    psis = [f["psi"] for f in tested if f["psi"] is not None]
    scores = [f["drift_score"] for f in tested if f["drift_score"] is not None]
    summary: dict[str, Any] = {
        "computed": True,
        "n_tested": len(tested),
        "n_drifted": n_drifted,
        "share_drifted": share(n_drifted, len(tested)),
        "excluded": sorted(n for n, f in features.items() if f["excluded"]),
    }
    values: dict[str, float | None] = {
        "n_drifted": float(n_drifted),
        "share_drifted": summary["share_drifted"] if tested else None,
        "max_psi": max(psis) if psis else None,
        "max_drift_score": max(scores) if scores else None,
    }
    return features, summary, values


def feature_facts(features: Mapping[str, Any]) -> dict[str, dict[str, float | None]]:
    """Per-feature figures for conditions."""
    out = {}
    for name, f in features.items():
        drifted = f.get("drifted")
        out[name] = {
            "psi": f.get("psi"),
            "drift_score": f.get("drift_score"),
            "drift_statistic": None if f.get("excluded") else f.get("statistic"),
            "drifted": None if drifted is None else float(drifted),
            "null_share": f.get("null_share"),
        }
    return out


# --------------------------------------------------------------------------- outputs
def _mean(p: Any) -> float | None:
    return finite(p.mean) if isinstance(p, NumericProfile) and p.n else None


def prediction_checks(
    ref: Reference, prof: WindowProfile, opts: DriftOptions
) -> tuple[dict[str, Any], dict[str, float | None]]:
    """Prediction drift and the confidence distribution against the reference predictions."""
    section: dict[str, Any] = {"reference": ref.outputs_source}
    values: dict[str, float | None] = {}
    sanity = prof.sanity
    if ref.task == "classification":
        values["low_confidence_share"] = share(sanity.get("low_confidence", 0), prof.rows)
    if prof.outputs is not None:
        for name in ("confidence", "entropy", "score"):
            values[f"mean_{name}"] = _mean(prof.outputs.columns.get(name))
    if ref.outputs is None or prof.outputs is None:
        section["computed"] = False
        return section, values
    names = [c for c in ref.outputs.columns if c in prof.outputs.columns]
    report = drift_from_profiles(ref.outputs, prof.outputs, columns=names, options=opts)
    psi = drift_from_profiles(
        ref.outputs, prof.outputs, columns=names, options=_psi_options(opts, names)
    )
    section["computed"] = True
    section["columns"] = {}
    for row, prow in zip(report.columns, psi.columns, strict=True):
        ok = row.test not in NOT_DRIFT and prow.test not in NOT_DRIFT
        section["columns"][row.name] = {
            "test": row.test,
            "statistic": finite(row.statistic),
            "drifted": bool(row.drifted) if ok else None,
            "psi": finite(prow.statistic) if ok else None,
            "score": finite(row.score) if ok else None,
        }
    cols = section["columns"]
    values["prediction_psi"] = cols.get("prediction", {}).get("psi")
    values["prediction_drift_score"] = cols.get("prediction", {}).get("score")
    values["score_psi"] = cols.get("score", {}).get("psi")
    values["confidence_psi"] = cols.get("confidence", {}).get("psi")
    return section, values


def sanity_checks(prof: WindowProfile) -> tuple[dict[str, Any], dict[str, float | None]]:
    """Shares of null, NaN, infinite, out-of-range and unknown-class outputs."""
    s, n = prof.sanity, prof.rows
    values: dict[str, float | None] = {
        "null_prediction_share": share(s["null_prediction"], n),
        "nan_share": share(s["nan"], n),
        "inf_share": share(s["inf"], n),
        "out_of_range_share": share(s["out_of_range"], n),
        "unknown_class_share": share(s["unknown_class"], n),
        "invalid_output_share": share(s["invalid"], n),
    }
    return dict(s), values


# --------------------------------------------------------------------------- data health
def health_checks(
    ref: Reference, prof: WindowProfile, end: datetime, policy: MonitoringPolicy
) -> tuple[dict[str, Any], dict[str, float | None]]:
    """Schema changes, null-share jumps, freshness and contract warnings of the logged inputs."""
    if prof.health is None:
        return {"computed": False, "note": "no inputs logged"}, {}
    section, values = _health_sections(ref, prof.health, end, policy)
    # Rows served although they broke a warn rule of the input contract (see
    # aims_contract_warnings_total): counted, not an issue by themselves.
    warned = prof.sanity.get("contract_warnings", 0)
    section["contract_warning_rows"] = warned
    values["contract_warning_rows"] = float(warned)
    values["contract_warning_share"] = share(warned, prof.rows)
    return section, values


def _health_sections(
    ref: Reference, health: HealthProfile, end: datetime, policy: MonitoringPolicy
) -> tuple[dict[str, Any], dict[str, float | None]]:
    if ref.contract is not None:
        report = data_health(
            ref.contract,
            health,
            reference_null_shares=ref.null_shares or None,
            now=end,
            max_null_increase=policy.max_null_increase,
            ignore=[ref.label] if ref.label else (),
        )
        section = report.to_dict()
        section["computed"] = True
        values: dict[str, float | None] = {
            "health_issues": float(len(report.issues)),
            "schema_changes": float(sum(1 for c in report.schema_changes if c.is_issue)),
            "null_jumps": float(sum(1 for n in report.null_shares if n["jumped"])),
            "stale_columns": float(sum(1 for f in report.freshness if f["stale"])),
        }
        return section, values
    # Without a contract: missing features and null shares against the training data.
    h = health
    issues, shares = [], []
    missing = [f for f in ref.features if f not in h.dtypes]
    issues += [f"{f}: missing from the data" for f in missing]
    for name, refshare in ref.null_shares.items():
        if name not in h.missing:
            continue
        now = share(h.missing[name], h.rows)
        limit = refshare + policy.max_null_increase
        jumped = now > limit + 1e-12
        shares.append(
            {
                "column": name,
                "share": now,
                "reference": refshare,
                "limit": limit,
                "jumped": jumped,
            }
        )
        if jumped:
            issues.append(f"{name}: null share {now:.1%}, limit {limit:.1%}")
    section = {
        "computed": True,
        "ok": not issues,
        "rows": h.rows,
        "issues": issues,
        "schema_changes": [{"kind": "missing", "column": f, "issue": True} for f in missing],
        "null_shares": shares,
        "note": "no input contract; checked against the training data",
    }
    values = {
        "health_issues": float(len(issues)),
        "schema_changes": float(len(missing)),
        "null_jumps": float(sum(1 for s in shares if s["jumped"])),
        "stale_columns": 0.0,
    }
    return section, values


def volume_check(rows: int, baseline: int | None) -> tuple[dict[str, Any], dict[str, float | None]]:
    """Rows against the same window one baseline period (a week) earlier.

    Examples
    --------
    >>> volume_check(140, 100)[1]["volume_change"]
    0.4
    """
    section: dict[str, Any] = {"rows": rows, "baseline_rows": baseline}
    values: dict[str, float | None] = {"n_predictions": float(rows)}
    if baseline:
        ratio = rows / baseline
        # rounded so that a 40 % change compares equal to 0.4 despite float error
        values["volume_ratio"] = round(ratio, 12)
        values["volume_change"] = round(abs(ratio - 1.0), 12)
    section.update({k: values.get(k) for k in ("volume_ratio", "volume_change")})
    return section, values


# --------------------------------------------------------------------------- canary / shadow
def _class_counts(p: Any) -> dict[str | None, int]:
    return p.frequencies() if isinstance(p, CategoricalProfile) else {}


def comparison(
    mine: WindowProfile | None,
    production: WindowProfile | None,
    my_values: Mapping[str, float | None],
    prod_values: Mapping[str, float | None],
    production_version: int,
    opts: DriftOptions,
) -> tuple[dict[str, Any], dict[str, float | None]]:
    """A canary or shadow window against production's window at the same time."""
    section: dict[str, Any] = {"production_version": production_version}
    values: dict[str, float | None] = {}
    if mine is not None and production is not None and mine.outputs and production.outputs:
        a = _class_counts(production.outputs.columns.get("prediction"))
        b = _class_counts(mine.outputs.columns.get("prediction"))
        # None is the profile's "other" bucket: it sorts last, after the named classes.
        keys = sorted(set(a) | set(b), key=lambda k: (k is None, k or ""))
        if keys and sum(a.values()) and sum(b.values()):
            values["prediction_psi_vs_production"] = psi_from_counts(
                np.array([a.get(k, 0) for k in keys], float),
                np.array([b.get(k, 0) for k in keys], float),
                eps=opts.eps,
            )
    for name in ("mean_score",):
        mv, pv = my_values.get(name), prod_values.get(name)
        if mv is not None and pv is not None:
            values[f"{name}_vs_production"] = mv - pv
    for name, mv in my_values.items():
        from aims.core.metric_catalog import METRICS

        pv = prod_values.get(name)
        if name in METRICS and mv is not None and pv is not None:
            values[f"{name}_vs_production"] = mv - pv
    section.update(values)
    return section, values


# --------------------------------------------------------------------------- facts
def facts_of(results: Mapping[str, Any]) -> WindowFacts:
    """The :class:`~aims.core.triggers.WindowFacts` conditions read from stored results."""
    perf = results.get("performance") or {}
    return WindowFacts(
        values=dict(results.get("values") or {}),
        features=feature_facts(results.get("features") or {}),
        slices=slice_facts(perf),
        rows=int(results.get("rows") or 0),
        n_labelled=int(perf.get("n_labelled") or 0),
    )


__all__ = [
    "NOT_DRIFT",
    "RESULTS_SCHEMA",
    "clean",
    "comparison",
    "facts_of",
    "feature_drift",
    "feature_facts",
    "finite",
    "health_checks",
    "labelled_rows",
    "performance",
    "prediction_checks",
    "sanity_checks",
    "slice_facts",
    "volume_check",
]
