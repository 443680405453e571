"""The window store's views after a promotion: the version in production now, one window per start."""

from __future__ import annotations

from aims.services import dashboard, lifecycle, registry
from aims.services.monitor import run_once, window_store
from aims.services.registry import get_model
from tests.services.monitor.conftest import HOUR, OWNERS, T0, Traffic


def test_after_a_promotion_the_latest_window_is_the_new_production_versions(
    served, synthetic
) -> None:
    registry.register_model(
        served,
        synthetic.model_path,
        "syn",
        actor="ana@example.org",
        datasets=["syn@1"],
        owners=OWNERS,
        metrics={"accuracy": synthetic.accuracy},
    )
    traffic = Traffic(served, synthetic.model, seed=51)
    traffic.window(T0, 200, version=2)  # the promoted version's full window...
    traffic.window(T0, 4, version=1, shift={"x0": 3.0})  # ...and v1's last, drifted requests
    traffic.close()
    lifecycle.promote(served, "syn@2", "production", actor="ops@example.org")
    assert run_once(served, now=T0 + 2 * HOUR).windows == 2

    with served.db.session() as s:
        model_id = get_model(s, "syn").id
        both = window_store.recent_windows(s, model_id)
        assert sorted((w.version, w.n_predictions) for w in both) == [(1, 4), (2, 200)]
        latest = window_store.latest_production_window(s, model_id)
        assert latest is not None and (latest.version, latest.n_predictions) == (2, 200)
        series = window_store.role_series(s, model_id, "production")
        assert [(w.version, w.n_predictions) for w in series] == [(2, 200)]
        assert [w.version for w in window_store.current_windows(s, model_id)] == [2]
        assert window_store.latest_production_window(s, model_id, "canary") is None

    page = dashboard.monitoring(served, "syn")
    assert page["latest"]["version"] == 2 and page["volume"] == [200]
    assert len(page["times"]) == 1
    row = next(r for r in dashboard.inventory(served) if r["name"] == "syn")
    assert row["production"] == 2
    with served.db.session() as s:
        # the inventory's health is judged on these: v1's drifted last requests are not among them
        assert [w.version for w in dashboard.latest_windows(s, model_id)] == [2]
