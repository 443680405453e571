"""The latest window results as Prometheus metrics, for ``/metrics``.

Register the collector once with the registry the server exposes::

    from prometheus_client import CollectorRegistry
    from aims.services.monitor.metrics import MonitorCollector

    registry = CollectorRegistry()
    registry.register(MonitorCollector(ws))

Each scrape reads, per model, version and role, the newest stored window
(one query) and the count of unresolved incidents. Every series carries the
labels ``model``, ``version`` and ``role``; per-feature series add
``feature``, performance series ``metric``. A figure the window does not have
(no labels yet, no baseline a week earlier) is left out rather than sent as
NaN, so alerts on it stay silent until it exists.

=====================================================  ==========================================
metric                                                 meaning
=====================================================  ==========================================
``aims_monitor_window_end_timestamp_seconds``          end of the newest computed window
``aims_monitor_predictions``                           predictions in that window
``aims_monitor_volume_change``                         relative change against a week earlier
``aims_monitor_feature_drift_score{feature}``          statistic / threshold (>= 1: drifted)
``aims_monitor_feature_psi{feature}``                  population stability index
``aims_monitor_share_drifted``                         share of features drifted
``aims_monitor_prediction_psi``                        PSI of the predictions against the reference
``aims_monitor_low_confidence_share``                  share of low-confidence predictions
``aims_monitor_invalid_output_share``                  share of NaN, infinite, out-of-range or unknown outputs
``aims_monitor_health_issues``                         data-health issues (schema, nulls, freshness)
``aims_monitor_performance{metric}``                   accuracy, roc_auc, ... on labelled predictions
``aims_monitor_labelled_share``                        share of the window's predictions labelled so far
``aims_monitor_incidents_open{model,severity}``        incidents about models not yet resolved
=====================================================  ==========================================

``aims_incidents_open{project,subject_kind,subject,severity}`` counts every
incident not yet resolved, those about no model (an MCP server, an agent) too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from aims.clock import utc
from aims.core.metric_catalog import METRICS
from aims.services.monitor import window_store
from aims.storage.schema import Incident, Model, MonitorWindow

LABELS = ["model", "version", "role"]
#: Window-level figures exported as their own gauge: (figure, metric name, help).
SCALARS: tuple[tuple[str, str, str], ...] = (
    ("n_predictions", "aims_monitor_predictions", "Predictions in the newest closed window."),
    (
        "volume_change",
        "aims_monitor_volume_change",
        "Relative change of predictions against the same window one week earlier.",
    ),
    (
        "share_drifted",
        "aims_monitor_share_drifted",
        "Share of features drifted in the newest window.",
    ),
    ("max_psi", "aims_monitor_max_psi", "Largest feature PSI in the newest window."),
    (
        "prediction_psi",
        "aims_monitor_prediction_psi",
        "PSI of the predictions against the reference predictions.",
    ),
    (
        "low_confidence_share",
        "aims_monitor_low_confidence_share",
        "Share of predictions whose top probability is below the policy's low_confidence.",
    ),
    ("mean_confidence", "aims_monitor_mean_confidence", "Mean top probability."),
    (
        "invalid_output_share",
        "aims_monitor_invalid_output_share",
        "Share of outputs that are null, NaN, infinite, out of range or an unknown class.",
    ),
    ("health_issues", "aims_monitor_health_issues", "Data-health issues in the newest window."),
    (
        "labelled_share",
        "aims_monitor_labelled_share",
        "Share of the window's predictions labelled so far.",
    ),
    # Windows of LLM application versions (role "llm", docs/llm-monitoring.md).
    ("requests", "aims_llm_requests", "Model calls of the LLM application version."),
    ("error_rate", "aims_llm_error_rate", "Share of model calls that failed."),
    ("latency_p95_ms", "aims_llm_latency_p95_ms", "95th percentile of model call latency (ms)."),
    ("cost_usd", "aims_llm_cost_usd", "Cost of the window's spans (US dollars)."),
    ("input_tokens", "aims_llm_input_tokens", "Input tokens of the window's model calls."),
    ("output_tokens", "aims_llm_output_tokens", "Output tokens of the window's model calls."),
    ("refusal_rate", "aims_llm_refusal_rate", "Share of answers that read as refusals."),
    ("tool_error_rate", "aims_llm_tool_error_rate", "Share of tool calls that failed."),
    (
        "text_drift_score",
        "aims_llm_text_drift_score",
        "Text drift of prompts or responses against the reference (>= 1 means drifted).",
    ),
    (
        "embedding_drift_score",
        "aims_llm_embedding_drift_score",
        "Embedding drift of prompts or responses against the reference (>= 1 means drifted).",
    ),
)


def latest_windows(ws: Any) -> list[tuple[str, MonitorWindow]]:
    """The newest final window of every (model, version, role), with the model's name.

    Provisional windows (``aims monitor run --now``) are left out: a gauge
    that alerting reads must not move on a window still open.
    """
    with ws.db.session() as s:
        return window_store.latest_final_everywhere(s)


class MonitorCollector(Collector):
    """A ``prometheus_client`` collector of the newest window results of workspace ``ws``."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    def describe(self) -> list[Any]:
        # Nothing is read at registration; the families are built per scrape.
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        windows = latest_windows(self.ws)
        end = GaugeMetricFamily(
            "aims_monitor_window_end_timestamp_seconds",
            "End of the newest computed window (Unix time).",
            labels=LABELS,
        )
        scalars = {key: GaugeMetricFamily(name, text, labels=LABELS) for key, name, text in SCALARS}
        drift = GaugeMetricFamily(
            "aims_monitor_feature_drift_score",
            "Drift statistic divided by its threshold, per feature (>= 1 means drifted).",
            labels=[*LABELS, "feature"],
        )
        psi = GaugeMetricFamily(
            "aims_monitor_feature_psi",
            "Population stability index of each feature against the training data.",
            labels=[*LABELS, "feature"],
        )
        perf = GaugeMetricFamily(
            "aims_monitor_performance",
            "Model metrics on the window's labelled predictions.",
            labels=[*LABELS, "metric"],
        )
        for name, row in windows:
            labels = [name, str(row.version), row.role]
            start = utc(row.window_start).timestamp()
            end.add_metric(labels, start + row.window_seconds)
            results = row.results or {}
            values = results.get("values") or {}
            for key, family in scalars.items():
                value = values.get(key)
                if value is not None:
                    family.add_metric(labels, float(value))
            for feature, f in (results.get("features") or {}).items():
                if f.get("drift_score") is not None:
                    drift.add_metric([*labels, feature], float(f["drift_score"]))
                if f.get("psi") is not None:
                    psi.add_metric([*labels, feature], float(f["psi"]))
            for metric, value in ((results.get("performance") or {}).get("metrics") or {}).items():
                if metric in METRICS and value is not None:
                    perf.add_metric([*labels, metric], float(value))
        yield end
        yield from scalars.values()
        yield drift
        yield psi
        yield perf
        yield self._incidents()
        yield self._incidents_by_subject()

    def _incidents(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            "aims_monitor_incidents_open",
            "Incidents not yet resolved, by model and severity.",
            labels=["model", "severity"],
        )
        with self.ws.db.session() as s:
            rows = s.execute(
                select(Model.name, Incident.severity, func.count(Incident.id))
                .join(Model, Model.id == Incident.model_id)
                .where(Incident.status != "resolved")
                .group_by(Model.name, Incident.severity)
            ).all()
        for name, severity, count in rows:
            family.add_metric([name, severity], float(count))
        return family

    def _incidents_by_subject(self) -> GaugeMetricFamily:
        # Every incident, models' and the others' (an MCP server's, an agent's),
        # which the per-model family above cannot label.
        family = GaugeMetricFamily(
            "aims_incidents_open",
            "Incidents not yet resolved, by project, subject and severity.",
            labels=["project", "subject_kind", "subject", "severity"],
        )
        with self.ws.db.session() as s:
            rows = s.execute(
                select(
                    Incident.project,
                    Incident.subject_kind,
                    Incident.subject,
                    Incident.severity,
                    func.count(Incident.id),
                )
                .where(Incident.status != "resolved")
                .group_by(
                    Incident.project, Incident.subject_kind, Incident.subject, Incident.severity
                )
            ).all()
        for project, kind, subject, severity, count in rows:
            family.add_metric([project, kind, subject, severity], float(count))
        return family


__all__ = ["SCALARS", "MonitorCollector", "latest_windows"]
