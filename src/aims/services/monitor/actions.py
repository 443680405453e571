"""What a fired trigger does beyond opening the incident: notify, retrain, roll back.

Actions are planned when the incident opens (stored in ``incident.actions``
with status ``pending``, in the same transaction as the incident) and run
right after it commits. Each is marked ``running`` before it starts and
``done``, ``failed`` or ``skipped`` after, with an audit event; so a monitor
killed in between finds the pending ones on its next run and runs them then.
An interrupted retrain is not started twice (it is marked ``failed`` with the
reason); an interrupted webhook or rollback is retried (a rollback checks
first that the version it would replace is still in production).

* ``webhook``: a JSON POST with a timeout and retries with doubling backoff on
  network errors, 429 and 5xx; ``format: slack`` sends ``{"text": ...}``.
* ``retrain``: exports the incident's windows (predictions, inputs and the
  latest labels) to ``.aims/monitor/incidents/<id>/data.parquet`` and runs the
  policy's command or calls its Python entry point
  ``function(workspace, incident_id, data_path)``.
* ``rollback``: only for the production role, only if the model's risk tier
  allows it (``policy.monitoring.tiers.<tier>.auto_rollback``), through
  :func:`aims.services.lifecycle.rollback`.
"""

from __future__ import annotations

import importlib
import json
import os
import shlex
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from aims.clock import utc
from aims.errors import AimsError
from aims.services import audit
from aims.services.monitor.triggers import MonitoringPolicy, TriggerSpec, WebhookSpec
from aims.storage.schema import Incident, Model

#: Characters of a command's output kept in the incident.
OUTPUT_TAIL = 2000


def plan(trigger: TriggerSpec, policy: MonitoringPolicy) -> list[dict[str, Any]]:
    """The actions a new incident of ``trigger`` will run, each ``pending``."""
    out: list[dict[str, Any]] = []
    for action in trigger.actions:
        base, _, target = action.partition(":")
        if base == "incident":
            continue
        if base == "webhook":
            names = [target] if target else sorted(policy.webhooks)
            out += [{"type": "webhook", "target": n, "status": "pending"} for n in names]
        else:
            out.append({"type": base, "target": None, "status": "pending"})
    return out


# --------------------------------------------------------------------------- webhook
def _payload(inc: dict[str, Any], spec: WebhookSpec) -> dict[str, Any]:
    if spec.format == "slack":
        owner = inc.get("owner") or "no monitoring owner set"
        text = (
            f"[{inc['severity']}] aims incident #{inc['id']} on {inc['model']}@{inc['version']} "
            f"({inc.get('role')}): {inc['summary']}. Owner: {owner}."
        )
        return {"text": text}
    keys = (
        "id",
        "model",
        "version",
        "role",
        "trigger",
        "kind",
        "severity",
        "status",
        "owner",
        "summary",
        "condition",
        "first_window",
        "last_window",
        "opened_at",
    )
    body = {k: inc.get(k) for k in keys}
    windows = (inc.get("evidence") or {}).get("windows") or []
    body["observed"] = windows[-1]["observed"] if windows else {}
    return {"event": "aims.incident", "incident": body}


def post_webhook(spec: WebhookSpec, payload: dict[str, Any]) -> dict[str, Any]:
    """POST ``payload`` as JSON; retries on network errors, 429 and 5xx. Returns the outcome."""
    data = json.dumps(payload, default=str).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "aims-monitor", **spec.headers}
    attempts, delay, last = 0, spec.backoff, ""
    while True:
        attempts += 1
        request = urllib.request.Request(spec.url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=spec.timeout) as response:
                return {"status": "done", "http_status": response.status, "attempts": attempts}
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
            retry = exc.code == 429 or exc.code >= 500
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            last = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
            retry = True
        if not retry or attempts > spec.retries:
            return {"status": "failed", "error": last, "attempts": attempts}
        time.sleep(delay)
        delay *= 2


# --------------------------------------------------------------------------- retrain
def export_window_data(ws: Any, inc: dict[str, Any]) -> Path:
    """Write the incident's windows (log rows with their latest labels) to a Parquet file."""
    from aims.storage.predlog import LabelStore

    ev = inc.get("evidence") or {}
    seconds = int(ev.get("window_seconds") or 3600)
    first = utc(_parse(ev["first_window"]))
    last = utc(_parse(ev.get("last_window") or ev["first_window"])) + timedelta(seconds=seconds)
    folder = ws.settings.state_dir / "monitor" / "incidents" / str(inc["id"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "data.parquet"
    store = LabelStore(ws.settings.prediction_log_url)
    lazy = store.scan_labelled(
        inc["model"], version=inc["version"], role=ev.get("role"), since=first, until=last
    )
    # A temporary file of this writer's own: two monitors exporting the same
    # incident at once must not rename each other's file away.
    tmp = folder / f".data.parquet.{uuid.uuid4().hex}.tmp"
    try:
        lazy.sink_parquet(tmp)  # streamed: an incident may span many large windows
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _parse(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text)


def _new_version(result: Any) -> Any:
    if isinstance(result, dict):
        return {k: result.get(k) for k in ("name", "version", "stage") if k in result} or result
    if result is None or isinstance(result, int | str):
        return result
    return str(result)


def run_retrain(ws: Any, policy: MonitoringPolicy, inc: dict[str, Any]) -> dict[str, Any]:
    spec = policy.retrain
    if spec is None:
        return {"status": "skipped", "reason": "no policy.monitoring.retrain configured"}
    data = export_window_data(ws, inc)
    if spec.entry_point is not None:
        module_name, _, func_name = spec.entry_point.partition(":")
        try:
            func = getattr(importlib.import_module(module_name), func_name)
        except (ImportError, AttributeError) as exc:
            return {
                "status": "failed",
                "error": f"cannot import {spec.entry_point}: {exc}",
                "data": str(data),
            }
        try:
            result = func(ws, inc["id"], str(data))
        except Exception as exc:  # the user's code failing must not stop the monitor
            return {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "data": str(data)}
        return {"status": "done", "data": str(data), "new_version": _new_version(result)}
    values = {
        "incident": str(inc["id"]),
        "data": str(data),
        "model": str(inc["model"]),
        "version": str(inc["version"]),
        "workspace": str(ws.root),
    }
    if spec.command is None:  # the policy's validation asks for one of the two
        return {"status": "failed", "error": "retrain names neither entry_point nor command"}
    command = spec.command.format(**{k: shlex.quote(v) for k, v in values.items()})
    env = {
        **os.environ,
        "AIMS_WORKSPACE": str(ws.root),
        "AIMS_INCIDENT_ID": values["incident"],
        "AIMS_WINDOW_DATA": values["data"],
        "AIMS_MODEL": values["model"],
    }
    try:
        proc = subprocess.run(
            command,
            shell=True,
            capture_output=True,
            text=True,
            timeout=spec.timeout,
            env=env,
            cwd=ws.root,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {
            "status": "failed",
            "error": f"timed out after {spec.timeout:g} s",
            "data": str(data),
        }
    out = {
        "exit_code": proc.returncode,
        "stdout": proc.stdout[-OUTPUT_TAIL:],
        "stderr": proc.stderr[-OUTPUT_TAIL:],
        "data": str(data),
    }
    out["status"] = "done" if proc.returncode == 0 else "failed"
    return out


# --------------------------------------------------------------------------- rollback
def run_rollback(
    ws: Any, policy: MonitoringPolicy, inc: dict[str, Any], actor: str
) -> dict[str, Any]:
    from aims.services.governance import latest_risk, policy_of
    from aims.services.lifecycle import rollback
    from aims.services.registry import get_model

    role = (inc.get("evidence") or {}).get("role")
    if role != "production":
        return {"status": "skipped", "reason": f"only production is rolled back; this is {role}"}
    with ws.db.session() as s:
        model = get_model(s, inc["model"])
        risk = latest_risk(s, model.id)
        tier = risk.tier if risk is not None else policy_of(ws).default_tier
        current = next((v.version for v in model.versions if v.stage == "production"), None)
    if not policy.auto_rollback(tier):
        return {
            "status": "skipped",
            "tier": tier,
            "reason": f"policy.monitoring.tiers.{tier}.auto_rollback is not true",
        }
    if current != inc["version"]:
        return {
            "status": "skipped",
            "reason": f"v{inc['version']} is no longer in production (production: {current})",
        }
    try:
        back = rollback(
            ws,
            inc["model"],
            actor=actor,
            reason=f"incident #{inc['id']} ({inc['trigger']}): {inc['summary']}",
        )
    except AimsError as exc:
        return {"status": "failed", "error": exc.message}
    return {"status": "done", "tier": tier, "from": inc["version"], "to": back["version"]}


# --------------------------------------------------------------------------- running
def _mark(
    ws: Any, incident_id: int, index: int, update: dict[str, Any], actor: str, audit_it: bool
) -> dict[str, Any]:
    from aims.services.monitor.incidents import incident_payload

    with ws.db.session() as s:
        inc = s.get(Incident, incident_id)
        actions = [dict(a) for a in inc.actions]
        actions[index].update(update)
        inc.actions = actions
        name = s.get(Model, inc.model_id).name
        if audit_it:
            a = actions[index]
            audit.record(
                s,
                actor=actor,
                action=f"monitor.action.{a['type']}",
                subject=f"model:{name}@{inc.version}",
                payload={"incident": incident_id, **{k: v for k, v in a.items() if k != "stdout"}},
            )
        s.flush()
        return incident_payload(inc, name)


def run_pending(
    ws: Any, incident_id: int, policy: MonitoringPolicy, actor: str
) -> list[dict[str, Any]]:
    """Run the pending actions of one incident, in order; returns what each did."""
    from aims.services.monitor.incidents import show_incident

    inc = show_incident(ws, incident_id)
    done = []
    for i, action in enumerate(inc["actions"]):
        status = action.get("status")
        if status == "running" and action["type"] == "retrain":
            _mark(
                ws,
                incident_id,
                i,
                {"status": "failed", "error": "interrupted; not started again"},
                actor,
                True,
            )
            continue
        if status not in ("pending", "running"):
            continue
        inc = _mark(
            ws,
            incident_id,
            i,
            {"status": "running", "started_at": audit.now_utc().isoformat()},
            actor,
            False,
        )
        if action["type"] == "webhook":
            spec = policy.webhooks.get(action["target"])
            result = (
                post_webhook(spec, _payload(inc, spec))
                if spec is not None
                else {"status": "failed", "error": f"no webhook named {action['target']!r}"}
            )
        elif action["type"] == "retrain":
            result = run_retrain(ws, policy, inc)
        elif action["type"] == "rollback":
            result = run_rollback(ws, policy, inc, actor)
        else:
            result = {"status": "failed", "error": f"unknown action {action['type']!r}"}
        result["finished_at"] = audit.now_utc().isoformat()
        _mark(ws, incident_id, i, result, actor, True)
        done.append(
            {
                "incident": incident_id,
                "type": action["type"],
                "target": action.get("target"),
                **result,
            }
        )
    return done


def pending_incidents(ws: Any) -> list[int]:
    """Incidents with actions still to run (after an interrupted run)."""
    from sqlalchemy import select

    with ws.db.session() as s:
        rows = s.execute(
            select(Incident.id, Incident.actions).where(Incident.status != "resolved")
        ).all()
    return [
        i
        for i, actions in rows
        if any(a.get("status") in ("pending", "running") for a in actions or [])
    ]


__all__ = [
    "export_window_data",
    "pending_incidents",
    "plan",
    "post_webhook",
    "run_pending",
    "run_retrain",
    "run_rollback",
]
