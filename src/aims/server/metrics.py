"""Prometheus metrics of the server, exposed at ``/metrics``.

=====================================  =========  ==========================================
metric                                 type       labels
=====================================  =========  ==========================================
``aims_requests_total``                counter    model, version, role, status
``aims_request_latency_seconds``       histogram  model, version, role
``aims_prediction_score``              histogram  model, version, role (binary: positive-class
                                                  probability; multiclass: top probability;
                                                  regression: the value)
``aims_predicted_class_total``         counter    model, version, role, class
``aims_rejected_inputs_total``         counter    model, rule
``aims_contract_warnings_total``       counter    model, field, rule (one per row and field
                                                  breaking a ``warn`` rule; predicted anyway)
``aims_served_version_info``           gauge      model, version, role, traffic (value 1)
``aims_auth_failures_total``           counter    reason
``aims_shadow_errors_total``           counter    model, version
``aims_shadow_dropped_total``          counter    model, version
``aims_deployment_reloads_total``      counter    outcome
``aims_prediction_log_rows_total``     counter    (rows written to the prediction log)
``aims_prediction_log_errors_total``   counter    (failed log flushes, retried)
``aims_prediction_log_dropped_rows_total``  counter  (queued rows the log could not store)
``aims_prediction_log_queued_rows``    gauge      (predictions waiting to be written)
=====================================  =========  ==========================================

Each app has its own registry, so two servers in one process do not mix
counts. A token of one project sees only the series of that project's
models; a token for every project (``*``) also sees the server-wide series.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
PROBABILITY_EDGES = tuple(round(0.1 * i, 1) for i in range(1, 11))
"""Upper bounds of the score histogram of classifiers: 0.1, 0.2, ..., 1.0."""
VALUE_EDGES = tuple(
    [-(10.0**e) for e in range(6, -4, -1)] + [0.0] + [10.0**e for e in range(-3, 7)]
)
"""Upper bounds of the score histogram of regressors when nothing better is known."""
FEW_VALUES = 8
"""Up to this many values, :meth:`ScoreHistogram.observe_many` counts in plain Python."""


class ScoreHistogram:
    """A histogram fed a whole batch at a time (one ``searchsorted`` per request).

    ``prometheus_client.Histogram`` observes one value per call; a request of
    10,000 rows would make 10,000 calls. A request of a few rows (the common
    case) is counted in plain Python instead: NumPy's fixed cost per call
    (about 15 µs for the seven calls of a batch) would dwarf the work.
    """

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str]) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self._series: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray, list[float]]] = {}
        self._bounds: dict[tuple[str, ...], list[float]] = {}
        self._lock = threading.Lock()

    def observe_many(self, labels: tuple[str, ...], values: np.ndarray, edges: Sequence[float]):
        if len(values) <= FEW_VALUES:
            self._observe_few(labels, values, edges)
            return
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        if values.size == 0:
            return
        with self._lock:
            series = self._series.get(labels)
            if series is None:
                upper = np.asarray(edges, dtype=float)
                series = self._series[labels] = (upper, np.zeros(len(upper) + 1), [0.0])
            upper, counts, total = series
            # side="left": a value equal to an upper bound belongs to that bucket (le).
            counts += np.bincount(
                np.searchsorted(upper, values, side="left"), minlength=len(counts)
            )
            total[0] += float(values.sum())

    def _observe_few(
        self, labels: tuple[str, ...], values: np.ndarray, edges: Sequence[float]
    ) -> None:
        with self._lock:
            series = self._series.get(labels)
            if series is None:
                upper = np.asarray(edges, dtype=float)
                series = self._series[labels] = (upper, np.zeros(len(upper) + 1), [0.0])
            upper, counts, total = series
            bounds = self._bounds.get(labels)
            if bounds is None:
                bounds = self._bounds[labels] = upper.tolist()
            for value in np.asarray(values, dtype=float).tolist():
                if value - value == 0.0:  # finite (NaN and infinities give NaN)
                    # bisect_left, as searchsorted side="left": a bound's value is in its bucket.
                    counts[bisect_left(bounds, value)] += 1
                    total[0] += value

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        with self._lock:
            for labels, (upper, counts, total) in self._series.items():
                cumulative = np.cumsum(counts)
                buckets = [(_le(b), float(c)) for b, c in zip(upper, cumulative[:-1], strict=True)]
                buckets.append(("+Inf", float(cumulative[-1])))
                family.add_metric(list(labels), buckets, total[0])
        yield family


def _le(bound: float) -> str:
    return repr(float(bound))


class _Callback:
    """Counters read from another object when scraped (the log writer's own counts)."""

    def __init__(self, read: Callable[[], dict[str, float]]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        values = self.read()
        for name, doc in (
            ("aims_prediction_log_rows", "Rows written to the prediction log."),
            ("aims_prediction_log_errors", "Prediction log flushes that failed."),
            (
                "aims_prediction_log_dropped_rows",
                "Queued predictions the log could not store (dropped, logged as errors).",
            ),
        ):
            family = CounterMetricFamily(name, doc)
            family.add_metric([], values.get(name, 0.0))
            yield family
        queued = GaugeMetricFamily(
            "aims_prediction_log_queued_rows", "Predictions waiting to be written to the log."
        )
        queued.add_metric([], values.get("aims_prediction_log_queued_rows", 0.0))
        yield queued


class ServerMetrics:
    """Every metric the server exports, in one registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        model_labels = ("model", "version", "role")
        self.requests = Counter(
            "aims_requests", "Predict requests.", (*model_labels, "status"), registry=r
        )
        self.latency = Histogram(
            "aims_request_latency_seconds",
            "Time to answer a predict request, in the server.",
            model_labels,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.scores = ScoreHistogram(
            "aims_prediction_score", "Predicted scores (see the metric table).", model_labels
        )
        r.register(self.scores)
        self.classes = Counter(
            "aims_predicted_class", "Predictions per class.", (*model_labels, "class"), registry=r
        )
        self.rejected = Counter(
            "aims_rejected_inputs",
            "Requests refused by input validation, once per rule they break.",
            ("model", "rule"),
            registry=r,
        )
        self.contract_warnings = Counter(
            "aims_contract_warnings",
            "Fields of predicted rows that broke a warn rule of the input contract, "
            "once per row and field.",
            ("model", "field", "rule"),
            registry=r,
        )
        self.served = Gauge(
            "aims_served_version_info",
            "Versions being served (value 1).",
            (*model_labels, "traffic"),
            registry=r,
        )
        self.auth_failures = Counter(
            "aims_auth_failures", "Refused calls, by reason.", ("reason",), registry=r
        )
        self.shadow_errors = Counter(
            "aims_shadow_errors", "Shadow calls that failed.", ("model", "version"), registry=r
        )
        self.shadow_dropped = Counter(
            "aims_shadow_dropped",
            "Shadow calls dropped because the shadow queue was full.",
            ("model", "version"),
            registry=r,
        )
        self.reloads = Counter(
            "aims_deployment_reloads", "Rebuilds of the routing table.", ("outcome",), registry=r
        )
        self._answered: dict[tuple[str, str, str], AnsweredSeries] = {}
        self.project_of: dict[str, str] = {}
        self.workers: Any = None
        """With several worker processes, every worker's series (a
        :class:`~aims.server.worker_metrics.WorkerMetrics`), answered instead of this registry's."""

    def answered(self, labels: tuple[str, str, str]) -> AnsweredSeries:
        """The series an answered request of ``labels`` (model, version, role) updates.

        Looked up once per label set: ``labels()`` takes a lock and builds a
        key on every call, a few microseconds each, four times a request.
        """
        series = self._answered.get(labels)
        if series is None:
            # Two threads may make it at once: both get the same children.
            series = self._answered[labels] = AnsweredSeries(self, labels)
        return series

    def watch_log(self, read: Callable[[], dict[str, float]]) -> None:
        """Export the prediction log writer's counters, read at scrape time."""
        self.registry.register(_Callback(read))

    def set_served(self, served: Iterable[tuple[str, str, int, str, float | None]]) -> None:
        """Replace the served-version info series: (project, model, version, role, traffic)."""
        self.served.clear()
        for project, model, version, role, traffic in served:
            self.project_of[model] = project
            self.served.labels(
                model, str(version), role, "" if traffic is None else f"{traffic:g}"
            ).set(1)

    def exposition(self, projects: set[str] | None) -> bytes:
        """The text exposition; only series of models in ``projects`` unless it is None."""
        source = self.registry if self.workers is None else self.workers
        if projects is None:
            return generate_latest(source)
        models = {m for m, p in self.project_of.items() if p in projects}
        return generate_latest(_ModelFilter(source, models))


class AnsweredSeries:
    """The request counter (status 200), latency and class counters of one label set."""

    __slots__ = ("_classes", "_labels", "_metrics", "latency", "ok")

    def __init__(self, metrics: ServerMetrics, labels: tuple[str, str, str]) -> None:
        self._metrics = metrics
        self._labels = labels
        self.ok = metrics.requests.labels(*labels, "200")
        self.latency = metrics.latency.labels(*labels)
        self._classes: dict[Any, Any] = {}

    def count_classes(self, predictions: list[Any]) -> None:
        """Add each predicted class's count to its counter."""
        counts = Tally(predictions).items() if len(predictions) > FEW_VALUES else None
        for value, count in counts or ((v, 1) for v in predictions):
            # Keyed with the type: 1, 1.0 and True are equal keys but different labels.
            key = (type(value), value)
            child = self._classes.get(key)
            if child is None:
                child = self._classes[key] = self._metrics.classes.labels(*self._labels, str(value))
            child.inc(count)


class _ModelFilter:
    """A view of a registry that keeps only samples whose ``model`` label is allowed."""

    def __init__(self, registry: Any, models: set[str]) -> None:
        self.registry = registry
        self.models = models

    def collect(self) -> Iterator[Metric]:
        for family in self.registry.collect():
            kept = [s for s in family.samples if s.labels.get("model") in self.models]
            if not kept:
                continue
            out = Metric(family.name, family.documentation, family.type, family.unit)
            out.samples = kept
            yield out
