"""One window's results: its own figures, and how they compare with the version's reference."""

from __future__ import annotations

from typing import Any

from aims.core.drift import DriftOptions, drift_from_profiles
from aims.core.text.drift import text_drift
from aims.services.llm_monitor.reference import LlmReference
from aims.services.llm_monitor.text_window import SIDES, TextProfile, TextWindow
from aims.services.llm_monitor.traffic import Traffic
from aims.services.monitor.figures import clean

__all__ = ["window_results"]


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b <= 0 else a / b


def _features(ref: TextProfile, cur: TextProfile, options: DriftOptions) -> dict[str, Any]:
    """Per-statistic drift (the tabular features' figures), for sides that had text."""
    names = [
        n
        for n, p in cur.stats.columns.items()
        if getattr(p, "n", 0) and n in ref.stats.columns and getattr(ref.stats[n], "n", 0)
    ]
    if not names:
        return {}
    report = drift_from_profiles(ref.stats, cur.stats, columns=names, options=options)
    psi = drift_from_profiles(
        ref.stats, cur.stats, columns=names, options=DriftOptions(tests=dict.fromkeys(names, "psi"))
    )
    out = {}
    for col in report.columns:
        out[col.name] = {
            "test": col.test,
            "statistic": col.statistic,
            "drift_score": col.score,
            "drifted": col.drifted,
            "psi": psi.column(col.name).statistic,
        }
    return out


def window_results(
    traffic: Traffic,
    text: TextWindow,
    profile: TextProfile,
    reference: LlmReference,
    *,
    drift_options: DriftOptions,
    z: float,
    min_texts: int,
) -> dict[str, Any]:
    """The stored results of a window (``values`` feed the triggers)."""
    figures = traffic.figures()
    values: dict[str, Any] = figures.pop("values")
    out: dict[str, Any] = {"kind": "llm", "rows": traffic.requests, **figures}
    base = reference.baselines
    text_out: dict[str, Any] = {}
    features: dict[str, Any] = {}
    if reference.complete:
        values["error_rate_rise"] = _minus(values["error_rate"], base.get("error_rate"))
        values["refusal_rate_rise"] = _minus(values["refusal_rate"], base.get("refusal_rate"))
        values["tool_error_rate_rise"] = _minus(
            values["tool_error_rate"], base.get("tool_error_rate")
        )
        values["cost_ratio"] = _ratio(values["cost_usd"], base.get("cost_per_window"))
        values["latency_p95_ratio"] = _ratio(values["latency_p95_ms"], base.get("latency_p95_ms"))
        values["feedback_drop"] = _minus(base.get("feedback_mean"), values["feedback_mean"])
        scores = []
        for side in SIDES:
            values[f"{side}_oov_share"] = text.oov_share(side)
            verdict = None
            if reference.text is not None and side in reference.text.samples:
                verdict = text_drift(
                    reference.text.samples[side], profile.samples[side], z=z, min_texts=min_texts
                )
            values[f"{side}_drift_auc"] = verdict.auc if verdict else None
            values[f"{side}_drift_score"] = verdict.score if verdict else None
            text_out[side] = verdict.to_dict() if verdict else None
            if verdict:
                scores.append(verdict.score)
        values["text_drift_score"] = max(scores) if scores else None
        if reference.text is not None:
            features = _features(reference.text, profile, drift_options)
    out["values"] = values
    out["features"] = features
    out["text_drift"] = text_out
    out["reference"] = reference.to_dict()
    return clean(out)
