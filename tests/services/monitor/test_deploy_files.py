"""The Prometheus files in ``deploy/`` parse and name only metrics the server exports."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from aims.services.monitor import run_once
from aims.services.monitor.metrics import MonitorCollector
from tests.services.monitor.conftest import HOUR, T0, Traffic

PROMETHEUS = Path(__file__).parents[3] / "deploy" / "prometheus"


def test_the_scrape_job_loads_the_alert_rules_that_ship_beside_it() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert [job["metrics_path"] for job in config["scrape_configs"]] == ["/metrics"]
    # /metrics refuses a scrape without a viewer token.
    assert config["scrape_configs"][0]["authorization"]["type"] == "Bearer"
    for name in config["rule_files"]:
        assert (PROMETHEUS / name).is_file(), name


def test_the_alert_rules_use_only_exported_metrics(served, synthetic) -> None:
    rules = yaml.safe_load((PROMETHEUS / "aims-alerts.yml").read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    names = [rule["alert"] for group in rules["groups"] for rule in group["rules"]]
    assert len(set(names)) == len(names) == len(exprs) >= 4
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
