"""/metrics: the newest window results in the Prometheus text format, read back by its parser."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from aims.services.monitor import run_once
from aims.services.monitor.metrics import MonitorCollector
from tests.services.monitor.conftest import HOUR, T0, Traffic


def _samples(ws) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry()
    registry.register(MonitorCollector(ws))
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_export_the_newest_window(served_store, synthetic) -> None:
    ws = served_store
    assert not any(k[0] == "aims_monitor_predictions" for k in _samples(ws))
    traffic = Traffic(ws, synthetic.model, seed=41)
    traffic.window(T0, 200)
    traffic.window(T0 + HOUR, 220, shift={"x0": 2.0})
    traffic.close()
    traffic.send_labels()
    run_once(ws, now=T0 + 3 * HOUR)
    samples = _samples(ws)
    base = (("model", "syn"), ("role", "production"), ("version", "1"))
    assert samples[("aims_monitor_predictions", base)] == 220
    assert (
        samples[("aims_monitor_window_end_timestamp_seconds", base)] == (T0 + 2 * HOUR).timestamp()
    )
    psi = samples[("aims_monitor_feature_psi", tuple(sorted((*base, ("feature", "x0")))))]
    assert psi > 0.25
    score = samples[("aims_monitor_feature_drift_score", tuple(sorted((*base, ("feature", "x0")))))]
    assert score >= 1
    assert samples[("aims_monitor_share_drifted", base)] == pytest.approx(0.2)
    assert samples[("aims_monitor_labelled_share", base)] == 1.0
    accuracy = samples[("aims_monitor_performance", tuple(sorted((*base, ("metric", "accuracy")))))]
    assert 0.5 < accuracy <= 1.0
    assert samples[("aims_monitor_incidents_open", (("model", "syn"), ("severity", "high")))] >= 1
    assert ("aims_monitor_volume_change", base) not in samples  # no window a week earlier


def test_the_grafana_dashboard_uses_only_exported_metrics(served, synthetic) -> None:
    import json
    import re
    from pathlib import Path

    dashboard = Path(__file__).parents[3] / "deploy" / "grafana" / "aims-dashboard.json"
    data = json.loads(dashboard.read_text())
    exprs = [t["expr"] for p in data["panels"] for t in p.get("targets", [])]
    exprs += [
        v["query"]["query"] for v in data["templating"]["list"] if isinstance(v.get("query"), dict)
    ]
    used = {m for e in exprs for m in re.findall(r"aims_[a-z_]+", e)}
    traffic = Traffic(served, synthetic.model, seed=42)
    traffic.window(T0, 200)
    traffic.close()
    traffic.send_labels()
    run_once(served, now=T0 + 2 * HOUR)
    registry = CollectorRegistry()
    registry.register(MonitorCollector(served))
    exported = {f.name for f in text_string_to_metric_families(generate_latest(registry).decode())}
    assert used and used <= exported, used - exported
    assert len({p["id"] for p in data["panels"]}) == len(data["panels"])
