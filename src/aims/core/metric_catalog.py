"""The catalogue of figures an evaluation reports: which metrics exist, and how figures are named.

:data:`METRICS` says, for every metric aims computes, which task it belongs to
and whether higher values are better; gates and champion/challenger
comparisons read the direction from there. Figures beyond the overall
metrics (slices, fairness, robustness, importance) have dotted names whose
grammar :func:`check_metric_name` checks and whose direction
:func:`metric_direction` reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aims.errors import InvalidInput

Task = Literal["classification", "regression", "llm"]
TASKS: tuple[Task, ...] = ("classification", "regression")
"""The tasks of predictive models; ``llm`` (LLM applications) is evaluated on cases instead."""


@dataclass(frozen=True)
class MetricInfo:
    """What a metric measures and which way is better."""

    name: str
    task: Task
    higher_is_better: bool | None
    """``None`` for figures with no better direction (``selection_rate``)."""
    needs_proba: bool
    description: str


METRICS: dict[str, MetricInfo] = {
    info.name: info
    for info in (
        MetricInfo("accuracy", "classification", True, False, "share of correct predictions"),
        MetricInfo("balanced_accuracy", "classification", True, False, "mean recall over classes"),
        MetricInfo("precision", "classification", True, False, "positive predictive value"),
        MetricInfo("recall", "classification", True, False, "true positive rate"),
        MetricInfo("f1", "classification", True, False, "harmonic mean of precision and recall"),
        MetricInfo("roc_auc", "classification", True, True, "area under the ROC curve"),
        MetricInfo("log_loss", "classification", False, True, "cross-entropy of probabilities"),
        MetricInfo("brier", "classification", False, True, "mean squared probability error"),
        MetricInfo("ece", "classification", False, True, "expected calibration error"),
        MetricInfo("mce", "classification", False, True, "maximum calibration error over bins"),
        MetricInfo(
            "selection_rate", "classification", None, False, "share predicted positive (binary)"
        ),
        MetricInfo("mae", "regression", False, False, "mean absolute error"),
        MetricInfo("rmse", "regression", False, False, "root mean squared error"),
        MetricInfo("mape", "regression", False, False, "mean absolute percentage error"),
        MetricInfo("r2", "regression", True, False, "coefficient of determination"),
    )
}
"""Every metric aims computes on a predictive model, by name."""


LLM_METRICS: dict[str, MetricInfo] = {
    info.name: info
    for info in (
        MetricInfo("pass_rate", "llm", True, False, "share of cases passing every check"),
        MetricInfo("exact_match", "llm", True, False, "share of answers equal to expected"),
        MetricInfo("normalised_match", "llm", True, False, "share equal once normalised"),
        MetricInfo("json_valid", "llm", True, False, "share of JSON answers meeting the schema"),
        MetricInfo("regex_pass", "llm", True, False, "share matching every regex of the case"),
        MetricInfo("refusal_rate", "llm", False, False, "share of answers that refuse"),
        MetricInfo("token_f1", "llm", True, False, "word-overlap F1 with the reference"),
        MetricInfo("rouge_l", "llm", True, False, "longest-common-subsequence F with reference"),
        MetricInfo("judge_score", "llm", True, False, "mean judge score (0-1) on the rubric"),
        MetricInfo("answer_chars", "llm", None, False, "mean answer length in characters"),
        MetricInfo("answer_words", "llm", None, False, "mean answer length in words"),
        MetricInfo("input_tokens", "llm", False, False, "mean input tokens per case"),
        MetricInfo("output_tokens", "llm", False, False, "mean output tokens per case"),
        MetricInfo("cost_usd", "llm", False, False, "mean cost per case in US dollars"),
        MetricInfo("cost_usd_total", "llm", False, False, "cost of all cases in US dollars"),
        MetricInfo("latency_ms", "llm", False, False, "mean latency per case"),
        MetricInfo("latency_ms_p95", "llm", False, False, "95th percentile latency"),
    )
}
"""Metrics of an LLM application's evaluation on cases (:mod:`aims.core.llm_eval`), by name:
means over the cases each applies to. Kept apart from :data:`METRICS`, which the
monitor computes on labelled prediction windows."""


def higher_is_better(metric: str) -> bool | None:
    """Direction of a base metric name, or ``None`` when it is not one of :data:`METRICS`."""
    info = METRICS.get(metric) or LLM_METRICS.get(metric)
    return None if info is None else info.higher_is_better


# --- names of figures in an evaluation --------------------------------------------

SCENARIOS = ("noise", "missing")
"""Robustness scenarios: Gaussian noise on numeric inputs, and missing values."""
FAIRNESS_STATISTICS: dict[str, bool] = {
    "demographic_parity_difference": False,
    "demographic_parity_ratio": True,
    "equalized_odds_difference": False,
    "equalized_odds_ratio": True,
}
"""Fairness statistics by name, with whether higher values are better."""
GROUP_METRICS: dict[str, bool | None] = {"false_positive_rate": False, "count": None}
"""Per-group figures beyond :data:`METRICS`, with whether higher values are better."""
SLICE_AGGREGATES = ("min", "max", "worst")


def metric_direction(name: str) -> bool | None:
    """``True`` if higher values of a named figure are better, ``False`` if lower, else ``None``.

    Names follow :mod:`aims.core.evaluation`: ``roc_auc``, ``slice.worst.f1``,
    ``fairness.sex.demographic_parity_difference``, ``robustness.noise.delta.mae`` ...

    Examples
    --------
    >>> metric_direction("roc_auc"), metric_direction("slice.worst.log_loss")
    (True, False)
    >>> metric_direction("fairness.sex.ratio.recall"), metric_direction("importance.age")
    (True, None)
    """
    head, _, rest = name.partition(".")
    if head == "importance":
        return None
    where, _, last = rest.rpartition(".") if rest else ("", "", head)
    if head == "fairness" and "=" not in where:
        if last in FAIRNESS_STATISTICS:
            return FAIRNESS_STATISTICS[last]
        kind = where.rpartition(".")[2]
        if kind == "difference":
            return False
        if kind == "ratio":
            return True
    if last in GROUP_METRICS:
        return GROUP_METRICS[last]
    return higher_is_better(last)


def check_metric_name(name: str) -> None:
    """Raise ``InvalidInput`` unless ``name`` is a well-formed figure name.

    ``*`` is accepted where a column, value, group, feature or metric would go.

    Examples
    --------
    >>> check_metric_name("fairness.*.equalized_odds_difference")
    >>> check_metric_name("rocauc")
    Traceback (most recent call last):
    ...
    aims.errors.InvalidInput: metric name 'rocauc': unknown metric; use one of ...
    """
    known = set(METRICS) | set(LLM_METRICS) | set(GROUP_METRICS)
    listing = ", ".join(sorted(METRICS))

    def bad(why: str) -> InvalidInput:
        return InvalidInput(f"metric name {name!r}: {why}")

    def need_metric(metric: str) -> None:
        if metric not in known and metric != "*":
            raise bad(f"{metric!r} is not a metric; use one of {listing}")

    if not name or name != name.strip():
        raise bad("empty or padded with spaces")
    head, _, rest = name.partition(".")
    if not rest:
        if head not in METRICS and head not in LLM_METRICS:
            raise bad(
                f"unknown metric; use one of {listing} (LLM applications: "
                f"{', '.join(sorted(LLM_METRICS))}), or a name starting slice., "
                "fairness., robustness., importance. or shap."
            )
        return
    where, _, last = rest.rpartition(".")
    if head == "slice":
        if where not in (*SLICE_AGGREGATES, "*") and "=" not in where:
            raise bad(
                "use slice.min.<metric>, slice.max.<metric>, slice.worst.<metric> "
                "or slice.<column>=<value>.<metric>"
            )
        need_metric(last)
    elif head == "fairness":
        if not where:
            raise bad("use fairness.<column>.<statistic> or fairness.<column>=<group>.<metric>")
        kind = where.rpartition(".")[2]
        if "=" in where or (kind in ("difference", "ratio") and "." in where):
            need_metric(last)
        elif last not in FAIRNESS_STATISTICS and last != "*":
            raise bad(
                f"{last!r} is not a fairness statistic; use one of "
                f"{', '.join(FAIRNESS_STATISTICS)}, difference.<metric> or ratio.<metric>"
            )
    elif head == "robustness":
        scenario, _, tail = rest.partition(".")
        if scenario not in (*SCENARIOS, "*") or not tail:
            raise bad(
                f"use robustness.<scenario>.<metric> with a scenario in {', '.join(SCENARIOS)}"
            )
        need_metric(tail.removeprefix("delta."))
    elif head not in ("importance", "shap"):
        raise bad(
            f"{head!r} is not a prefix; use slice., fairness., robustness., importance. or shap."
        )


__all__ = [
    "FAIRNESS_STATISTICS",
    "GROUP_METRICS",
    "LLM_METRICS",
    "METRICS",
    "SCENARIOS",
    "SLICE_AGGREGATES",
    "TASKS",
    "MetricInfo",
    "Task",
    "check_metric_name",
    "higher_is_better",
    "metric_direction",
]
