"""The loop itself: idempotent re-runs, resuming after a kill, canaries, window settings."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime

import polars as pl
import pytest
from sqlalchemy import func, select

from aims.services import lifecycle, registry
from aims.services.monitor import list_incidents, run_forever, run_once
from aims.services.monitor.windows import utc, window_start
from aims.storage.schema import Incident, MonitorWindow
from tests.services.monitor.conftest import HOUR, OWNERS, T0, Traffic, configure


def _windows(ws) -> list[tuple[int, str, datetime, int]]:
    with ws.db.session() as s:
        rows = s.execute(
            select(
                MonitorWindow.version,
                MonitorWindow.role,
                MonitorWindow.window_start,
                MonitorWindow.n_predictions,
            ).order_by(MonitorWindow.window_start)
        ).all()
    return [tuple(r) for r in rows]


def test_rerun_over_the_same_windows_changes_nothing(served_store, synthetic) -> None:
    ws = served_store
    traffic = Traffic(ws, synthetic.model, seed=21)
    for w in range(6):
        traffic.window(T0 + w * HOUR, 200, shift={"x0": 1.5} if w >= 3 else None)
    traffic.close()
    first = run_once(ws, now=T0 + 7 * HOUR)
    assert first.windows == 6 and len(first.incidents_opened) >= 1
    before, incidents = _windows(ws), list_incidents(ws, status="all")
    again = run_once(ws, now=T0 + 7 * HOUR)
    assert (again.windows, again.incidents_opened, again.incidents_updated) == (0, [], [])
    assert _windows(ws) == before
    assert list_incidents(ws, status="all") == incidents
    # late labels: performance is added to the stored windows, once
    traffic.send_labels()
    labelled = run_once(ws, now=T0 + 8 * HOUR)
    assert (labelled.windows, labelled.refreshed) == (0, 6)
    with ws.db.session() as s:
        rows = s.scalars(select(MonitorWindow).order_by(MonitorWindow.window_start)).all()
        assert [r.n_labelled for r in rows] == [200] * 6
        assert all(0.5 < r.results["values"]["accuracy"] <= 1 for r in rows)
    assert run_once(ws, now=T0 + 8 * HOUR).refreshed == 0
    assert list_incidents(ws, status="all") == incidents


def test_open_windows_wait_for_the_grace_period(served, synthetic) -> None:
    traffic = Traffic(served, synthetic.model, seed=22)
    traffic.window(T0, 100)
    traffic.window(T0 + HOUR, 100)
    traffic.close()
    assert run_once(served, now=T0 + HOUR + HOUR / 15).windows == 0  # 01:04: in the grace period
    assert run_once(served, now=T0 + HOUR + HOUR / 12).windows == 1  # 01:05: first one closed
    assert run_once(served, now=T0 + 2 * HOUR + HOUR / 12).windows == 1
    assert [w[2].hour for w in _windows(served)] == [0, 1]


def test_window_length_from_settings(served, synthetic) -> None:
    ws = configure(served, window="30m", grace="1m")
    traffic = Traffic(ws, synthetic.model, seed=23)
    traffic.window(T0, 120)  # rows at :05, :20, :35, :50
    traffic.close()
    summary = run_once(ws, now=T0 + HOUR + HOUR / 30)
    assert summary.windows == 2
    assert [(w[2].minute, w[3]) for w in _windows(ws)] == [(0, 60), (30, 60)]
    ws.close()


def test_canary_is_compared_with_production_in_the_same_window(served, synthetic) -> None:
    registry.register_model(
        served, synthetic.model_path, "syn", actor="ana@example.org", datasets=["syn@1"]
    )
    lifecycle.promote(served, "syn@2", "canary", actor="ops@example.org", traffic=20)
    traffic = Traffic(served, synthetic.model, seed=24)

    def worse(inputs: pl.DataFrame):
        p = synthetic.model.predict_proba(inputs.to_pandas())
        p[::3] = p[::3, ::-1]  # a third of the canary's answers are flipped
        return p

    traffic.window(T0, 800)
    traffic.window(T0, 300, version=2, role="canary", predict=worse)
    traffic.close()
    traffic.send_labels()
    summary = run_once(served, now=T0 + 2 * HOUR)
    assert summary.windows == 2
    with served.db.session() as s:
        canary = s.scalar(select(MonitorWindow).where(MonitorWindow.role == "canary"))
        prod = s.scalar(select(MonitorWindow).where(MonitorWindow.role == "production"))
    vs = canary.results["vs_production"]
    assert vs["production_version"] == 1
    acc = canary.results["values"]["accuracy"] - prod.results["values"]["accuracy"]
    assert vs["values"]["accuracy_vs_production"] == pytest.approx(acc)
    assert acc < -0.05
    assert vs["values"]["prediction_psi_vs_production"] >= 0
    [incident] = list_incidents(served)
    assert (incident["trigger"], incident["version"], incident["role"]) == (
        "challenger_worse",
        2,
        "canary",
    )


def test_a_model_that_was_never_served_gets_no_empty_windows(served, synthetic) -> None:
    ws = configure(served, {"volume_baseline": "1d"})
    registry.register_model(
        ws, synthetic.model_path, "syn", actor="ana@example.org", datasets=["syn@1"]
    )
    lifecycle.promote(ws, "syn@2", "canary", actor="ops@example.org", traffic=10)
    registry.register_model(
        ws,
        synthetic.model_path,
        "idle",
        actor="ana@example.org",
        datasets=["syn@1"],
        owners=OWNERS,
    )
    lifecycle.promote(ws, "idle@1", "production", actor="ops@example.org")
    traffic = Traffic(ws, synthetic.model, seed=28)
    for w in range(30):
        traffic.window(T0 + w * HOUR, 40)
    traffic.close()
    summary = run_once(ws, now=T0 + 36 * HOUR + HOUR / 6)
    assert summary.models == ["syn"]
    # hours 30-35 are quiet: one empty production window each, but none for the
    # canary (it never logged a prediction) and none for the model 'idle'
    assert summary.windows == 36
    quiet = [w for w in _windows(ws) if utc(w[2]) >= T0 + 30 * HOUR]
    assert [(w[0], w[1], w[3]) for w in quiet] == [(1, "production", 0)] * 6
    assert {w[1] for w in _windows(ws)} == {"production"}
    ws.close()


def test_a_release_that_never_serves_is_an_outage_of_that_release(served, synthetic) -> None:
    ws = configure(served, {"volume_baseline": "1d"})
    registry.register_model(
        ws, synthetic.model_path, "syn", actor="ana@example.org", datasets=["syn@1"]
    )
    traffic = Traffic(ws, synthetic.model, seed=31)
    for w in range(30):
        traffic.window(T0 + w * HOUR, 40)
    traffic.close()
    # v2 replaces v1 at hour 30 and answers nothing from then on.
    lifecycle.promote(ws, "syn@2", "production", actor="ops@example.org")
    summary = run_once(ws, now=T0 + 33 * HOUR + HOUR / 6)
    quiet = [w for w in _windows(ws) if utc(w[2]) >= T0 + 30 * HOUR]
    assert [(w[0], w[1], w[3]) for w in quiet] == [(2, "production", 0)] * 3
    assert len(summary.incidents_opened) == 1
    ws.close()


def test_quiet_windows_count_only_where_the_baseline_had_traffic(served, synthetic) -> None:
    ws = configure(served, {"volume_baseline": "1d"})
    traffic = Traffic(ws, synthetic.model, seed=29)
    busy = [w for w in range(30) if not 10 <= w < 14]  # a gap on the first day
    for w in busy:
        traffic.window(T0 + w * HOUR, 40)
    traffic.close()
    assert run_once(ws, now=T0 + 36 * HOUR + HOUR / 6).windows == len(busy) + 4
    starts = [int((utc(w[2]) - T0) / HOUR) for w in _windows(ws) if w[3] == 0]
    # the first day's gap had nothing a day earlier; hours 34 and 35 compare with it
    assert starts == [30, 31, 32, 33]
    assert run_once(ws, now=T0 + 36 * HOUR + HOUR / 6).windows == 0
    ws.close()


def test_a_silent_canary_is_reported_until_its_stage_is_vacated(served, synthetic) -> None:
    ws = configure(served, {"volume_baseline": "1d"})
    registry.register_model(
        ws, synthetic.model_path, "syn", actor="ana@example.org", datasets=["syn@1"]
    )
    lifecycle.promote(ws, "syn@2", "canary", actor="ops@example.org", traffic=20)
    traffic = Traffic(ws, synthetic.model, seed=30)
    for w in range(28):
        traffic.window(T0 + w * HOUR, 40)
        if w < 24:
            traffic.window(T0 + w * HOUR, 10, version=2, role="canary")
    traffic.writer.flush()
    run_once(ws, now=T0 + 28 * HOUR + HOUR / 6)
    canary = [(int((utc(w[2]) - T0) / HOUR), w[0], w[3]) for w in _windows(ws) if w[1] == "canary"]
    assert canary[24:] == [(24, 2, 0), (25, 2, 0), (26, 2, 0), (27, 2, 0)]
    [incident] = list_incidents(ws)
    assert (incident["trigger"], incident["version"], incident["role"]) == ("volume", 2, "canary")
    # the canary is promoted: its old stage is empty, so its silence is no outage
    lifecycle.promote(ws, "syn@2", "production", actor="ops@example.org")
    for w in range(28, 32):
        traffic.window(T0 + w * HOUR, 40, version=2)
    traffic.close()
    assert run_once(ws, now=T0 + 32 * HOUR + HOUR / 6).windows == 4
    assert [w[1] for w in _windows(ws) if utc(w[2]) >= T0 + 28 * HOUR] == ["production"] * 4
    ws.close()


def test_two_monitors_at_once_store_each_window_once(served, synthetic) -> None:
    traffic = Traffic(served, synthetic.model, seed=25)
    for w in range(8):
        traffic.window(T0 + w * HOUR, 200, shift={"x0": 2.0} if w >= 4 else None)
    traffic.close()
    out = []
    threads = [
        threading.Thread(target=lambda: out.append(run_once(served, now=T0 + 9 * HOUR)))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(s.windows for s in out) == 8
    assert len(_windows(served)) == 8
    kinds = [i["trigger"] for i in list_incidents(served, status="all")]
    assert len(kinds) == len(set(kinds))  # one incident per trigger, no duplicates


CHILD = r"""
import sys
from datetime import datetime
from aims.workspace import Workspace
from aims.services.monitor import run_once
run_once(Workspace.open(sys.argv[1]), now=datetime.fromisoformat(sys.argv[2]))
"""


@pytest.mark.slow
def test_a_monitor_killed_mid_run_resumes_where_it_stopped(served, synthetic) -> None:
    ws = configure(served, lookback="10d")
    traffic = Traffic(ws, synthetic.model, seed=26)
    total, change = 60, 10
    for w in range(total):
        traffic.window(T0 + w * HOUR, 200, shift={"x0": 2.0} if w >= change else None)
    traffic.close()
    now = T0 + (total + 1) * HOUR
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(ws.root), now.isoformat()], env=env)
    stored = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        with ws.db.session() as s:
            stored = s.scalar(select(func.count(MonitorWindow.id))) or 0
        if stored >= change + 10:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with ws.db.session() as s:
        stored = s.scalar(select(func.count(MonitorWindow.id))) or 0
        incidents = s.scalar(select(func.count(Incident.id)))
    assert 0 < stored < total, "the kill must land mid-run"
    assert incidents >= 1  # the shift was seen before the kill
    summary = run_once(ws, now=now)
    assert summary.windows == total - stored
    rows = _windows(ws)
    assert len(rows) == total and len({r[2] for r in rows}) == total
    drift = [i for i in list_incidents(ws, status="all") if i["trigger"] == "feature_drift"]
    assert len(drift) == 1 and drift[0]["window_count"] == total - change
    ws.close()


def test_run_forever_stops_when_told(served, synthetic) -> None:
    traffic = Traffic(served, synthetic.model, seed=27)
    traffic.window(window_start(datetime.now(T0.tzinfo) - 3 * HOUR, 3600), 50)
    traffic.close()
    stop = threading.Event()
    seen = []

    def on_run(summary) -> None:
        seen.append(summary)
        stop.set()

    thread = threading.Thread(
        target=run_forever,
        args=(served,),
        kwargs={"interval": 0.01, "stop": stop, "on_run": on_run},
    )
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert seen[0].windows == 1 and seen[0].errors == []
