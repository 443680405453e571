"""The demo's LLM chapter: a support assistant registered, gated, traced and monitored.

The same governance as the flight-delay model, applied to an LLM application:
version 1 is evaluated on a small case set, approved by a second person and
promoted through the gates; version 2, a worse prompt, is refused by them.
Production traffic then arrives as real OpenTelemetry spans, sent by the
official SDK's OTLP/HTTP exporter to the demo's server; when the deployment
quietly switches to a dearer model, the monitor's cost trigger opens an
incident with the application's monitoring owner. ``aims demo --llm`` runs
this chapter alone in a workspace of its own (:func:`run_llm_demo`).
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.markup import escape

from aims.demo.llm_app import APP, EXPENSIVE_MODEL, MODEL, write_cases, write_definition
from aims.demo.team import APPROVER, ENGINEER, MONITORING, RISK_OFFICER, SCIENTIST, acting_as

__all__ = ["llm_chapter", "run_llm_demo"]

BUSINESS_OWNER = "support-lead@example.org"
REFERENCE_WINDOWS = 3
TRACES_PER_WINDOW = 30
LLM_GATES = [
    {"metric": "pass_rate", "min": 0.8, "task": "llm"},
    {"metric": "refusal_rate", "max": 0.05, "task": "llm"},
    {"metric": "token_f1", "no_worse_than_production": 0.0, "task": "llm"},
]


def configure_llm(config: Path) -> None:
    """Add the LLM application's gates (tier ``limited``) and monitoring choices to aims.yaml."""
    data = yaml.safe_load(config.read_text())
    limited = data["policy"]["tiers"].setdefault("limited", {})
    limited["gates"] = [*limited.get("gates", []), *LLM_GATES]
    monitoring = data["policy"].get("monitoring") or {}
    # A short reference so the demo's few windows are enough to compare with.
    monitoring["llm"] = {"reference_windows": REFERENCE_WINDOWS}
    data["policy"]["monitoring"] = monitoring
    config.write_text(yaml.safe_dump(data, sort_keys=False))


def _risk(folder: Path) -> Path:
    today = dt.date.today()
    doc = {
        "intended_use": "Answer customers' questions about their orders and the return policy.",
        "out_of_scope": ["legal or medical advice", "payments"],
        "risk_tier": "limited",
        "tier_rationale": "Talks to people (transparency duty); decides nothing on its own.",
        "failure_modes": [
            {
                "name": "wrong promise",
                "description": "promises a refund the policy does not allow",
                "likelihood": "possible",
                "impact": "moderate",
            }
        ],
        "data_dependencies": ["order database (lookup_order)", "refund rules (refund_policy)"],
        "downstream_impact": "A customer acts on a wrong answer; support handles the complaint.",
        "mitigations": ["evaluation gates on every prompt change", "cost and drift monitoring"],
        "residual_risk": "low",
        "reviewer": RISK_OFFICER,
        "assessed_on": today.isoformat(),
        "next_review": (today + dt.timedelta(days=180)).isoformat(),
    }
    path = folder / "support-risk.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def llm_chapter(root: Path, url: str, step: Callable[[str], None], out: Console) -> dict[str, Any]:
    """Run the chapter on the workspace at ``root``, served at ``url``; return what happened.

    Opens a workspace of its own on ``root`` (after adding the LLM policy to
    aims.yaml) and closes it before returning.
    """
    from aims.errors import GateFailed, PermissionDenied
    from aims.services import approvals, keys, lifecycle, llm_apps, llm_evaluation, risk
    from aims.workspace import Workspace

    configure_llm(root / "aims.yaml")
    ws = Workspace.open(root)
    try:
        folder = root / "llm"
        out.rule("[bold]LLM application")
        with acting_as(SCIENTIST):
            v1 = llm_apps.register_app(
                ws,
                write_definition(folder, 1),
                APP,
                actor=SCIENTIST,
                owners={
                    "development": SCIENTIST,
                    "business": BUSINESS_OWNER,
                    "deployment": ENGINEER,
                    "monitoring": MONITORING,
                },
            )
            step(
                f"registered LLM application {APP}@{v1['version']} (support-assistant prompt, "
                f"{MODEL}, tools lookup_order and refund_policy; prompt sha256 "
                f"{v1['prompt_sha256'][:12]}…)"
            )
        with acting_as(RISK_OFFICER):
            assessed = risk.assess_risk(ws, APP, _risk(folder), actor=RISK_OFFICER)
            step(f"risk assessed: tier {assessed['tier']} (gates on pass rate, refusals, F1)")
        with acting_as(SCIENTIST):
            e1 = llm_evaluation.evaluate_app(
                ws, f"{APP}@1", write_cases(folder / "cases_v1.jsonl", 1), actor=SCIENTIST
            )["evaluation"]["metrics"]
            step(_metrics_text(1, e1))
            try:
                approvals.approve(ws, f"{APP}@1", actor=SCIENTIST)
            except PermissionDenied:
                step(f"{SCIENTIST} may not approve her own application version (four-eyes)")
        with acting_as(APPROVER):
            approvals.approve(ws, f"{APP}@1", actor=APPROVER, note="evaluation reviewed")
        with acting_as(ENGINEER):
            lifecycle.promote(ws, f"{APP}@1", "production", actor=ENGINEER, reason="launch")
            step(f"approved by {APPROVER}; {APP}@1 promoted to production through the gates")
        with acting_as(SCIENTIST):
            llm_apps.register_app(ws, write_definition(folder, 2), APP, actor=SCIENTIST)
            e2 = llm_evaluation.evaluate_app(
                ws, f"{APP}@2", write_cases(folder / "cases_v2.jsonl", 2), actor=SCIENTIST
            )["evaluation"]["metrics"]
            step(f"registered {APP}@2 (a 'friendlier' prompt); " + _metrics_text(2, e2))
        with acting_as(APPROVER):
            approvals.approve(ws, f"{APP}@2", actor=APPROVER)
        refused: list[str] = []
        with acting_as(ENGINEER):
            try:
                lifecycle.promote(ws, f"{APP}@2", "production", actor=ENGINEER)
            except GateFailed as exc:
                refused = list(exc.rules)
                step(f"{APP}@2 refused by the gates despite its approval: {', '.join(refused)}")
        if not refused:
            raise RuntimeError(f"{APP}@2 was promoted although its evaluation is worse")

        _, key = keys.create_key(
            ws,
            project=str(ws.settings.project),
            role="predictor",
            actor=ENGINEER,
            name="support-assistant traces",
        )
        traced = _traffic(ws, url, key, step)
        incident = _monitor(ws, step)
        return {"refused_rules": refused, **traced, "incident": incident}
    finally:
        ws.close()


def _metrics_text(version: int, m: dict[str, Any]) -> str:
    return (
        f"evaluated {APP}@{version} on 8 cases: pass rate {m['pass_rate']:.2f}, refusals "
        f"{m['refusal_rate']:.2f}, token F1 {m['token_f1']:.2f}, "
        f"${m['cost_usd']:.6f} a case"
    )


def _traffic(ws: Any, url: str, key: str, step: Callable[[str], None]) -> dict[str, Any]:
    """Send six windows of traces (the last one answered by the dearer model) and wait for them."""
    from aims.clock import now_utc
    from aims.core.windowing import window_start
    from aims.demo import llm_traffic
    from aims.demo.traffic import token
    from aims.services.monitor.settings import monitor_settings

    settings = monitor_settings(ws)
    seconds = settings.window_seconds
    last_closed = window_start(now_utc() - settings.grace, seconds)
    starts = [last_closed - dt.timedelta(seconds=seconds * k) for k in range(6, 0, -1)]
    windows = [
        llm_traffic.Window(
            s,
            TRACES_PER_WINDOW,
            MODEL if k < 5 else EXPENSIVE_MODEL,
            failing=7 if k == 4 else None,  # one tool call times out the window before
        )
        for k, s in enumerate(starts)
    ]
    sent = llm_traffic.send(url, token(url, key), windows, version="1", seconds=seconds)
    stored = _wait_stored(ws, sent, starts[0])
    step(
        f"{len(windows) * TRACES_PER_WINDOW} conversations traced with the OpenTelemetry SDK's "
        f"OTLP/HTTP exporter: {sent} spans to {url}/v1/traces, {stored} stored and linked "
        f"to {APP}@1 (agent, chat, tool, chat); the last {seconds} s window answered by "
        f"{EXPENSIVE_MODEL} instead of {MODEL}"
    )
    return {"spans_sent": sent, "spans_stored": stored, "window_seconds": seconds}


def _wait_stored(ws: Any, expected: int, since: dt.datetime) -> int:
    """Spans of the application in the store, once the server's writer has flushed them all."""
    from aims.services.traces import trace_log_url
    from aims.storage.traces import read_spans

    deadline = time.monotonic() + 60  # a loaded machine flushes late; a healthy one at once
    while True:
        n = sum(
            b.num_rows
            for b in read_spans(
                trace_log_url(ws), application=APP, start=since, columns=["version"]
            )
        )
        if n >= expected or time.monotonic() > deadline:
            return n
        time.sleep(0.2)  # the server's writer flushes about once a second


def _monitor(ws: Any, step: Callable[[str], None]) -> dict[str, Any] | None:
    """One pass of the LLM monitor over the new windows; the incident it opened, if any."""
    from aims.clock import now_utc
    from aims.services.llm_monitor import run_llm
    from aims.services.monitor.context import RunSummary
    from aims.storage.schema import Incident

    now = now_utc()
    summary = run_llm(ws, RunSummary(started_at=now), now, applications=[APP])
    if not summary.incidents_opened:
        step(f"monitor: {summary.windows} windows of {APP}, no incident ({summary.errors})")
        return None
    with ws.db.session() as s:
        inc = s.get(Incident, summary.incidents_opened[0])
        assert inc is not None
        found = {
            "id": inc.id,
            "trigger": inc.trigger,
            "kind": inc.kind,
            "severity": inc.severity,
            "owner": inc.owner,
            "summary": inc.summary,
        }
    step(
        f"monitor: {summary.windows} windows of {APP}@1; incident #{found['id']} opened "
        f"({found['trigger']}, {found['severity']}), owner {found['owner']}: {found['summary']}"
    )
    return found


def _configure_alone(config: Path) -> None:
    """What the full demo's team sets before this chapter: people's roles and short windows."""
    from aims.demo.traffic import GRACE_SECONDS, WINDOW_SECONDS

    data = yaml.safe_load(config.read_text())
    data["people"] = {APPROVER: ["approver"], RISK_OFFICER: ["approver"], ENGINEER: ["operator"]}
    data["monitor"] = {
        "window": f"{WINDOW_SECONDS}s",
        "grace": f"{GRACE_SECONDS}s",
        "lookback": "1d",
    }
    config.write_text(yaml.safe_dump(data, sort_keys=False))


def run_llm_demo(
    folder: Path | None = None, console: Console | None = None, keep_serving: bool = False
) -> dict[str, Any]:
    """``aims demo --llm``: the LLM chapter alone, in a fresh workspace served on loopback."""
    from aims.demo.traffic import start_server
    from aims.services import keys
    from aims.workspace import Workspace, init_workspace

    out = console or Console()
    started = time.perf_counter()
    root = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="aims-demo-llm-"))
    init_workspace(root)
    _configure_alone(root / "aims.yaml")
    steps: list[str] = []

    def step(text: str) -> None:
        steps.append(text)
        out.print(f"[green]✓[/green] {escape(text)}")

    out.rule("[bold]aims demo --llm")
    out.print(f"workspace: {root}")
    ws = Workspace.open(root)
    project = str(ws.settings.project)
    _, viewer = keys.create_key(ws, project=project, role="viewer", actor=ENGINEER, name="viewer")
    _, approver = keys.create_key(
        ws, project=project, role="approver", actor=ENGINEER, name="approver"
    )
    server = start_server(ws)
    dashboard = f"{server.url}/ui/applications/{APP}"
    try:
        story = llm_chapter(root, server.url, step, out)
        step(
            f"dashboard: {dashboard} and {server.url}/ui/traces — log in with the approver key "
            f"{approver} or the viewer key {viewer}"
        )
        if keep_serving:
            out.print(f"[bold]dashboard:[/bold] {dashboard} (Ctrl-C to stop)")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    finally:
        server.stop()
        ws.close()
    elapsed = time.perf_counter() - started
    out.rule(f"done in {elapsed:.1f} s")
    return {
        "workspace": str(root),
        "steps": steps,
        "keys": {"approver": approver, "viewer": viewer},
        "dashboard": dashboard,
        **story,
        "seconds": round(elapsed, 2),
    }
