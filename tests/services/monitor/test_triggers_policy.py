"""The monitor: settings and policy sections of aims.yaml, validated with errors naming the key."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aims.errors import ConfigError, InvalidInput
from aims.services.monitor.settings import load_monitor_settings, parse_duration
from aims.services.monitor.triggers import DEFAULT_TRIGGERS, parse_monitoring


def test_durations() -> None:
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration(" 15m ") == timedelta(minutes=15)
    assert parse_duration("2h") == timedelta(hours=2)
    assert parse_duration("7d") == timedelta(days=7)
    assert parse_duration("1w") == timedelta(days=7)
    assert parse_duration(30) == timedelta(seconds=30)
    for bad in ("1 hour", "h", "-5m", True, -1):
        with pytest.raises(InvalidInput, match="duration"):
            parse_duration(bad)  # type: ignore[arg-type]


def test_monitor_settings_defaults_and_overrides() -> None:
    s = load_monitor_settings({})
    assert (s.window_seconds, s.grace, s.interval) == (
        3600,
        timedelta(minutes=5),
        timedelta(minutes=1),
    )
    s = load_monitor_settings({"monitor": {"window": "30m", "lookback": "2d", "batch_rows": 5000}})
    assert s.window_seconds == 1800 and s.lookback == timedelta(days=2) and s.batch_rows == 5000


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"windw": "1h"}, "monitor.windw: unknown key 'windw'; allowed keys: window, grace"),
        ({"window": "7m"}, "monitor.window: a window of 0:07:00 does not divide a day"),
        ({"window": "0s"}, "monitor.window: a window is a whole number of seconds, at least 1s"),
        ({"grace": "soon"}, "monitor.grace: 'soon' is not a duration"),
        ({"batch_rows": 10}, "monitor.batch_rows: input should be greater than or equal to 1000"),
    ],
)
def test_monitor_settings_errors_name_the_key(section: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_monitor_settings({"monitor": section})
    assert message in str(info.value)


def test_default_triggers_and_named_overrides() -> None:
    policy = parse_monitoring({})
    names = [t.name for t in policy.active_triggers()]
    assert names == [t.name for t in DEFAULT_TRIGGERS]
    assert {t.incident_kind for t in DEFAULT_TRIGGERS} == {
        "drift",
        "prediction",
        "output",
        "data_health",
        "volume",
        "performance",
        "comparison",
        # the defaults of LLM application windows
        "cost",
        "errors",
        "refusals",
        "text_drift",
    }
    policy = parse_monitoring(
        {
            "triggers": [
                {"name": "volume", "when": "volume_change >= 0.6", "severity": "low"},
                {"name": "prediction_drift", "when": "prediction_psi > 1", "enabled": False},
                {
                    "name": "auc",
                    "when": "roc_auc < 0.75 with >= 200 labels",
                    "severity": "critical",
                },
            ]
        }
    )
    by_name = {t.name: t for t in policy.active_triggers()}
    assert by_name["volume"].condition.clauses[0].threshold == 0.6
    assert by_name["volume"].severity == "low"
    assert "prediction_drift" not in by_name
    assert by_name["auc"].incident_kind == "performance"
    assert parse_monitoring({"default_triggers": False}).active_triggers() == []


def test_metrics_to_compute_follow_the_triggers() -> None:
    policy = parse_monitoring({"triggers": [{"name": "ll", "when": "log_loss_drop > 0.2"}]})
    assert "log_loss" in policy.metrics_for("classification")
    assert "roc_auc" in policy.metrics_for("classification")
    assert policy.metrics_for("regression") >= {"mae", "rmse", "r2"}
    assert "accuracy" not in policy.metrics_for("regression")


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"trigers": []}, "policy.monitoring.trigers: unknown key 'trigers'"),
        (
            {"triggers": [{"name": "x", "when": "psi > 0.2"}]},
            "policy.monitoring.triggers[0].when: unknown window figure 'psi'; psi is per "
            "feature: add 'on >= N features'",
        ),
        (
            {"triggers": [{"name": "x", "when": "roc_auc <"}]},
            "policy.monitoring.triggers[0].when: condition 'roc_auc <': expected a number",
        ),
        (
            {"triggers": [{"name": "x", "when": "nan_share > 0", "severity": "urgent"}]},
            "policy.monitoring.triggers[0].severity: input should be 'low', 'medium', 'high' or "
            "'critical'",
        ),
        (
            {"triggers": [{"name": "x", "when": "nan_share > 0", "actions": ["page"]}]},
            "unknown action 'page'",
        ),
        (
            {"triggers": [{"name": "x", "when": "nan_share > 0", "actions": ["retrain"]}]},
            "policy.monitoring.triggers[0].actions[0]: 'retrain' needs policy.monitoring.retrain",
        ),
        (
            {
                "webhooks": {"ops": {"url": "https://example.org/hook"}},
                "triggers": [{"name": "x", "when": "nan_share > 0", "actions": ["webhook:dev"]}],
            },
            "no webhook named 'dev'; defined: ops",
        ),
        ({"webhooks": {"ops": {"url": "ftp://x"}}}, "policy.monitoring.webhooks.ops.url"),
        (
            {"retrain": {"command": "x", "entry_point": "a:b"}},
            "exactly one of command and entry_point",
        ),
        ({"retrain": {"entry_point": "nocolon"}}, "entry_point is 'module:function'"),
        ({"tiers": {"extreme": {"auto_rollback": True}}}, "policy.monitoring.tiers.extreme"),
        ({"drift": {"tests": {"x0": "t_test"}}}, "unknown drift test 't_test'"),
        ({"metrics": ["aucroc"]}, "unknown metric(s) aucroc"),
        ({"volume_baseline": "a week"}, "policy.monitoring.volume_baseline"),
    ],
)
def test_policy_errors_name_the_key(section: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_monitoring(section)
    assert message in str(info.value)


def test_auto_rollback_is_per_tier() -> None:
    policy = parse_monitoring({"tiers": {"high": {"auto_rollback": True}, "minimal": None}})
    assert policy.auto_rollback("high") is True
    assert policy.auto_rollback("minimal") is False
    assert policy.auto_rollback("limited") is False


def test_workspace_policy_is_read_from_aims_yaml(workspace) -> None:
    from aims.services.monitor import monitoring_policy
    from tests.services.monitor.conftest import configure

    ws = configure(workspace, {"triggers": [{"name": "nan", "when": "nan_share > 0.01"}]})
    try:
        assert "nan" in {t.name for t in monitoring_policy(ws).active_triggers()}
        ws = configure(ws, {"triggers": [{"name": "nan", "when": "nan_shar > 0.01"}]})
        with pytest.raises(ConfigError, match=r"aims.yaml: policy.monitoring.triggers\[0\].when"):
            monitoring_policy(ws)
    finally:
        ws.close()


def test_package_exports_resolve() -> None:
    import aims.services.monitor as monitor

    assert len(set(monitor.__all__)) == len(monitor.__all__) == 16
    for name in monitor.__all__:
        assert getattr(monitor, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        monitor.nope  # noqa: B018
