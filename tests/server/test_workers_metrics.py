"""``/metrics`` of several workers: each worker's series labelled, every worker's answered."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.parser import text_string_to_metric_families

from aims.server.metrics import ServerMetrics
from aims.server.worker_metrics import WorkerMetrics


class _StoreView:
    """A collector read from the store, the same in every worker."""

    def collect(self):
        family = GaugeMetricFamily("aims_monitor_predictions", "From the store.", labels=["model"])
        family.add_metric(["churn"], 120.0)
        yield family


def _worker(folder: Path, number: int, answered: int) -> ServerMetrics:
    metrics = ServerMetrics()
    metrics.registry.register(_StoreView())
    metrics.set_served([("sales", "churn", 3, "production", None)])
    metrics.requests.labels("churn", "3", "production", "200").inc(answered)
    metrics.workers = WorkerMetrics(metrics.registry, number, folder, interval=60)
    return metrics


def _samples(text: str, name: str) -> dict[str, float]:
    return {
        s.labels.get("worker", "-"): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


def test_a_scrape_answers_every_workers_series_once(tmp_path: Path) -> None:
    zero, one = _worker(tmp_path, 0, answered=5), _worker(tmp_path, 1, answered=7)
    one.workers.snapshot()
    one.requests.labels("churn", "3", "production", "200").inc(100)  # after its snapshot
    text = zero.exposition(None).decode()
    assert _samples(text, "aims_requests_total") == {"0": 5.0, "1": 7.0}
    # Read from the store: once, without a worker label.
    assert _samples(text, "aims_monitor_predictions") == {"-": 120.0}
    assert text.count("# TYPE aims_requests_total counter") == 1


def test_a_projects_scrape_keeps_only_its_models_from_every_worker(tmp_path: Path) -> None:
    zero, one = _worker(tmp_path, 0, answered=2), _worker(tmp_path, 1, answered=3)
    one.workers.snapshot()
    mine = zero.exposition({"sales"}).decode()
    assert _samples(mine, "aims_requests_total") == {"0": 2.0, "1": 3.0}
    other = zero.exposition({"finance"}).decode()
    assert "aims_requests_total" not in other


def test_a_missing_or_broken_snapshot_is_skipped(tmp_path: Path) -> None:
    zero = _worker(tmp_path, 0, answered=4)
    (tmp_path / "worker-1.json").write_text("{not json")
    assert _samples(zero.exposition(None).decode(), "aims_requests_total") == {"0": 4.0}


def test_stopping_writes_a_last_snapshot(tmp_path: Path) -> None:
    one = _worker(tmp_path, 1, answered=1)
    one.workers.start()
    one.requests.labels("churn", "3", "production", "200").inc(9)
    one.workers.stop()
    zero = _worker(tmp_path, 0, answered=0)
    assert _samples(zero.exposition(None).decode(), "aims_requests_total")["1"] == 10.0
