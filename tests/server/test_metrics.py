from __future__ import annotations

import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from aims.server.metrics import PROBABILITY_EDGES, ServerMetrics


def families(text: bytes) -> dict[str, object]:
    return {f.name: f for f in text_string_to_metric_families(text.decode())}


def test_batch_histogram_matches_numpy() -> None:
    m = ServerMetrics()
    rng = np.random.default_rng(1)
    a, b = rng.uniform(size=137), rng.beta(2, 5, size=64)
    labels = ("m", "1", "production")
    m.scores.observe_many(labels, a, PROBABILITY_EDGES)
    m.scores.observe_many(labels, np.r_[b, np.nan, np.inf], PROBABILITY_EDGES)
    m.scores.observe_many(labels, np.array([0.5, 1.0]), PROBABILITY_EDGES)  # on the edges
    # A few values are counted without NumPy: the same buckets, non-finite ones left out.
    m.scores.observe_many(labels, np.array([np.nan, 0.3, -np.inf, 0.0]), PROBABILITY_EDGES)
    values = np.r_[a, b, 0.5, 1.0, 0.3, 0.0]
    fam = families(m.exposition(None))["aims_prediction_score"]
    buckets = {
        s.labels["le"]: s.value for s in fam.samples if s.name == "aims_prediction_score_bucket"
    }
    for edge in PROBABILITY_EDGES:
        # Prometheus buckets are cumulative and inclusive: count of values <= edge.
        assert buckets[repr(float(edge))] == np.sum(values <= edge)
    assert buckets["+Inf"] == values.size
    total = next(s.value for s in fam.samples if s.name == "aims_prediction_score_sum")
    assert np.isclose(total, values.sum())


def test_class_counts_are_the_same_for_few_and_many_predictions() -> None:
    m = ServerMetrics()
    series = m.answered(("m", "1", "production"))
    series.count_classes([1, 0, 1])
    series.count_classes([1] * 20 + [0] * 5)
    series.count_classes([True])  # equal to 1 as a key, but its own label
    fam = families(m.exposition(None))["aims_predicted_class"]
    counts = {s.labels["class"]: s.value for s in fam.samples if s.name.endswith("_total")}
    assert counts == {"1": 22.0, "0": 6.0, "True": 1.0}


def test_a_projects_view_holds_only_its_models() -> None:
    m = ServerMetrics()
    m.set_served([("p1", "a", 1, "production", None), ("p2", "b", 3, "canary", 20.0)])
    m.requests.labels("a", "1", "production", "200").inc(3)
    m.requests.labels("b", "3", "canary", "200").inc(2)
    m.auth_failures.labels("expired").inc()
    everything = families(m.exposition(None))
    assert "aims_auth_failures" in everything
    only = families(m.exposition({"p1"}))
    assert "aims_auth_failures" not in only
    models = {s.labels["model"] for f in only.values() for s in f.samples}
    assert models == {"a"}
    info = {
        (s.labels["model"], s.labels["traffic"]): s.value
        for s in everything["aims_served_version_info"].samples
    }
    assert info == {("a", ""): 1.0, ("b", "20"): 1.0}
