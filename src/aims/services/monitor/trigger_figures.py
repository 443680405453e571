"""The figures a trigger condition can read, at which scope, and the incident kind each points to.

A condition reads window figures (such as
``invalid_output_share``), per-feature figures (``psi > 0.25 on >= 3
features``) or per-slice figures (``accuracy_drop > 0.1 on any slices``). A
misspelt or misplaced name is refused when the policy is read, with the
closest names offered.
"""

from __future__ import annotations

import difflib
from typing import Literal

from aims.core.metric_catalog import METRICS
from aims.core.triggers import Condition
from aims.errors import InvalidInput
from aims.services.monitor.llm_policy import LLM_FIGURES, LlmKind

Kind = (
    Literal["drift", "prediction", "output", "data_health", "volume", "performance", "comparison"]
    | LlmKind
)
#: Window-level figures and the kind of incident they point to.
WINDOW_FIGURES: dict[str, Kind] = {
    "n_predictions": "volume",
    "volume_change": "volume",
    "volume_ratio": "volume",
    "share_drifted": "drift",
    "n_drifted": "drift",
    "max_psi": "drift",
    "max_drift_score": "drift",
    "prediction_psi": "prediction",
    "prediction_drift_score": "prediction",
    "score_psi": "prediction",
    "confidence_psi": "prediction",
    "low_confidence_share": "prediction",
    "mean_confidence": "prediction",
    "mean_entropy": "prediction",
    "mean_score": "prediction",
    "nan_share": "output",
    "inf_share": "output",
    "out_of_range_share": "output",
    "unknown_class_share": "output",
    "null_prediction_share": "output",
    "invalid_output_share": "output",
    "health_issues": "data_health",
    "schema_changes": "data_health",
    "null_jumps": "data_health",
    "stale_columns": "data_health",
    "contract_warning_rows": "data_health",
    "contract_warning_share": "data_health",
    "n_labelled": "performance",
    "labelled_share": "performance",
    "prediction_psi_vs_production": "comparison",
    "mean_score_vs_production": "comparison",
    **{m: "performance" for m in METRICS},
    **{f"{m}_drop": "performance" for m in METRICS},
    **{f"{m}_vs_production": "comparison" for m in METRICS},
    **LLM_FIGURES,
}
#: Per-feature figures, read with ``on ... features``.
FEATURE_FIGURES: dict[str, Kind] = {
    "psi": "drift",
    "drift_score": "drift",
    "drift_statistic": "drift",
    "drifted": "drift",
    "null_share": "data_health",
}
#: Per-slice figures, read with ``on ... slices``.
SLICE_FIGURES: dict[str, Kind] = {
    **{m: "performance" for m in METRICS},
    **{f"{m}_drop": "performance" for m in METRICS},
    "n_labelled": "performance",
}


def check_figures(condition: Condition) -> None:
    """Raise ``InvalidInput`` when a clause reads a figure that does not exist at its scope."""
    for clause in condition.clauses:
        table = {"window": WINDOW_FIGURES, "features": FEATURE_FIGURES, "slices": SLICE_FIGURES}[
            clause.scope
        ]
        if clause.name in table:
            continue
        hint = ""
        if clause.scope == "window" and clause.name in FEATURE_FIGURES:
            hint = f"; {clause.name} is per feature: add 'on >= N features'"
        elif clause.scope == "features" and clause.name in WINDOW_FIGURES:
            hint = f"; {clause.name} is a window figure: drop 'on ... features'"
        elif clause.scope == "slices" and clause.name in WINDOW_FIGURES:
            hint = f"; {clause.name} is not computed per slice"
        else:
            known = {*WINDOW_FIGURES, *FEATURE_FIGURES, *SLICE_FIGURES}
            close = difflib.get_close_matches(clause.name, sorted(known), n=3, cutoff=0.6)
            if close:
                hint = f"; did you mean {', '.join(close)}?"
        scope = "window" if clause.scope == "window" else clause.scope[:-1]
        raise InvalidInput(f"unknown {scope} figure {clause.name!r}{hint}")


def kind_of(condition: Condition) -> Kind:
    """The incident kind of a condition: that of its first clause's figure."""
    clause = condition.clauses[0]
    table = {"window": WINDOW_FIGURES, "features": FEATURE_FIGURES, "slices": SLICE_FIGURES}
    return table[clause.scope].get(clause.name, "drift")


__all__ = [
    "FEATURE_FIGURES",
    "SLICE_FIGURES",
    "WINDOW_FIGURES",
    "Kind",
    "check_figures",
    "kind_of",
]
