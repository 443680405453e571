"""The demo's team act: the workspace moves to team mode, and people and an agent act
through the governance API.

Until here the demo's people act as local actors (``AIMS_USER``), as one person
on a laptop would. A team needs the audit log to name who acted, so the
workspace moves to team mode (what ``aims team enable`` does), the admin gives
each person a grant and a key of their own, and an agent owned by the data
scientist gets a narrow grant. The server restarts under the new setting, and
from then on every act goes over HTTP on loopback under the actor's own key:
the scientist registers a retrained version, the agent evaluates it, reads its
gates and tries to approve it (refused: agents never approve), and the approver
approves it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aims.demo import data as demo_data
from aims.demo.team import APPROVER, ENGINEER, SCIENTIST
from aims.demo.traffic import MODEL, RunningServer, start_server

if TYPE_CHECKING:
    import polars as pl

    from aims.workspace import Workspace

AGENT = "retrain-agent"
"""The agent: it evaluates retrained versions for the scientist who owns it."""
AGENT_GRANT_DAYS = 30
AGENT_KEY_HOURS = 1


@dataclass
class Caller:
    """One principal calling the server with a key of its own."""

    name: str
    kind: str
    role: str
    key_id: str
    client: httpx.Client

    @property
    def who(self) -> str:
        """How the demo names the caller: name, kind and the role of its key."""
        return f"{self.name} ({self.kind}, {self.role} key)"

    def call(self, method: str, path: str, *, expect: int, **kwargs: Any) -> httpx.Response:
        """Send one request; an answer other than ``expect`` stops the demo with its detail."""
        r = self.client.request(method, path, **kwargs)
        if r.status_code != expect:
            raise RuntimeError(
                f"{method} {path} as {self.name} answered {r.status_code}, not {expect}: "
                f"{problem_detail(r)}"
            )
        return r

    def close(self) -> None:
        self.client.close()


def problem_detail(r: httpx.Response) -> str:
    """The ``detail`` of an RFC 9457 problem answer, else the body's text."""
    try:
        body = r.json()
    except ValueError:
        return r.text
    return str(body.get("detail", body)) if isinstance(body, dict) else str(body)


def team_act(
    ws: Workspace,
    root: Path,
    server: RunningServer,
    data: pl.DataFrame,
    step: Callable[[str], None],
    out: Console,
) -> tuple[Workspace, RunningServer, dict[str, Any]]:
    """Move ``ws`` to team mode and act through the API of a server restarted under it.

    ``ws`` and ``server`` are closed and stopped; returns the reopened workspace,
    the server now serving it (same address), and what happened: the principals,
    each act with its actor and HTTP status, and the audit events written since
    the server restarted.
    """
    from skops.io import dump
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    from aims.services import audit
    from aims.workspace import Workspace

    project = str(ws.settings.project)
    enabled, keys = _team_up(ws, project)
    _set_team_mode(root / "aims.yaml")
    step(
        f"team mode on (aims team enable): the {enabled['people']} people of the history are "
        f"principals, its {len(enabled['keys'])} keys attached to service principals, {ENGINEER} "
        f"admin; {ENGINEER} granted {SCIENTIST} scientist, {APPROVER} approver and the agent "
        f"{AGENT} (owned by {SCIENTIST}) scientist for {AGENT_GRANT_DAYS} days, with a key for "
        f"each, none above its grant"
    )

    # The settings are read once per open: the server restarts on the reopened
    # workspace, at the same address, as 'aims serve' would after the switch.
    port = urlsplit(server.url).port
    server.stop()
    ws.close()
    ws = Workspace.open(root)
    server = start_server(ws, port=port)
    if not server.server.started:  # the address was taken meanwhile: any free port will do
        server.stop()
        server = start_server(ws)
    start = _last_seq(ws)
    step(f"server restarted in team mode at {server.url}; from here every act goes over HTTP")

    callers = {
        name: Caller(name, kind, role, key_id, _client(server.url, key))
        for name, (kind, role, key_id, key) in keys.items()
    }
    ana, bo, agent = callers[SCIENTIST], callers[APPROVER], callers[AGENT]
    acts: list[dict[str, Any]] = []

    def record(caller: Caller, act: str, r: httpx.Response) -> None:
        acts.append(
            {"actor": caller.name, "kind": caller.kind, "act": act, "status": r.status_code}
        )

    try:
        files = root / "data"
        summer = files / "flights_jun_aug.parquet"
        september = files / "flights_sep_team.parquet"
        demo_data.months(data, 6, 8).write_parquet(summer)
        demo_data.months(data, 9, 9).write_parquet(september)
        model_file = root / "models" / "delay_summer.skops"
        # One thread: the model is small, and on a busy machine OpenMP's idle
        # workers spin for many times the few seconds the training needs.
        with threadpool_limits(limits=1):
            dump(demo_data.train(demo_data.months(data, 6, 8), seed=4), model_file)

        with summer.open("rb") as f:
            r = ana.call(
                "POST",
                "/v1/datasets",
                expect=201,
                files={"file": (summer.name, f)},
                data={"name": "flights", "sha256": _sha256(summer)},
            )
        record(ana, "dataset.register", r)
        dataset = f"flights@{r.json()['version']}"
        with model_file.open("rb") as f:
            r = ana.call(
                "POST",
                f"/v1/models/{MODEL}/versions",
                expect=201,
                files={"artifact": (model_file.name, f)},
                data={
                    "sha256": _sha256(model_file),
                    "dataset": [dataset],
                    "tag": ["retrained_from=production", "months=2013-06..08"],
                },
            )
        record(ana, "model.register", r)
        version = r.json()["version"]
        ref = f"{MODEL}@{version}"
        base = f"/v1/models/{MODEL}/versions/{version}"
        step(
            f"{ana.who}: uploaded {dataset} (Jun-Aug) and registered {ref} trained on it, "
            "each file with its SHA-256"
        )

        with september.open("rb") as f:
            r = agent.call(
                "POST",
                f"{base}/evaluations",
                expect=201,
                files={"data": (september.name, f)},
                data={"label": demo_data.LABEL, "sha256": _sha256(september)},
            )
        record(agent, "model.evaluate", r)
        ev = r.json()
        new = ev["evaluation"]["metrics"]
        old = ((ev.get("champion") or {}).get("evaluation") or {}).get("metrics") or {}
        beside = f" vs production {old['accuracy']:.3f}" if "accuracy" in old else ""
        step(
            f"{agent.who}: had the server evaluate {ref} on September: accuracy "
            f"{new['accuracy']:.3f}{beside}"
        )
        r = agent.call("GET", f"{base}/gates", expect=200, params={"stage": "production"})
        record(agent, "gates", r)
        unmet = [rule["rule"] for rule in r.json()["rules"] if not rule["passed"]]
        step(f"{agent.who}: read the gates to production, unmet: {', '.join(unmet) or 'none'}")
        r = agent.call(
            "POST", f"{base}/approvals", expect=403, json={"note": "my evaluation looks good"}
        )
        record(agent, "model.approve", r)
        refused = {"actor": agent.name, "status": r.status_code, "detail": problem_detail(r)}
        step(
            f"{agent.who}: tried to approve {ref}: refused, {r.status_code}: "
            f"{refused['detail']} (an agent is never granted approver)"
        )
        r = bo.call(
            "POST", f"{base}/approvals", expect=200, json={"note": "read the agent's evaluation"}
        )
        record(bo, "model.approve", r)
        r = bo.call("GET", f"{base}/gates", expect=200, params={"stage": "production"})
        unmet = [rule["rule"] for rule in r.json()["rules"] if not rule["passed"]]
        step(f"{bo.who}: approved {ref}; still unmet for production: {', '.join(unmet) or 'none'}")
    finally:
        for caller in callers.values():
            caller.close()

    events = [
        {k: e[k] for k in ("seq", "actor", "action", "subject")}
        for e in audit.query(ws.db, audit.EventFilter(after=start))
    ]
    table = Table(title="audit log since the server restarted in team mode")
    for col in ("seq", "actor", "kind", "action", "subject"):
        table.add_column(col)
    kinds = {name: c.kind for name, c in callers.items()}
    for e in events:
        table.add_row(
            str(e["seq"]),
            escape(e["actor"]),
            kinds.get(e["actor"], "-"),
            escape(e["action"]),
            escape(e["subject"]),
        )
    out.print(table)
    return (
        ws,
        server,
        {
            "principals": {name: c.kind for name, c in callers.items()},
            "keys": {name: c.key_id for name, c in callers.items()},
            "version": version,
            "acts": acts,
            "refused": refused,
            "audit": events,
        },
    )


def _team_up(ws: Workspace, project: str) -> tuple[dict[str, Any], dict[str, tuple]]:
    """What the admin does while the store is still theirs to write: ``aims team
    enable``, then ``aims principals add``, ``aims grant`` and ``aims keys create
    --principal`` for the people and the agent of the API act."""
    from aims.services import identity
    from aims.services.keys import create_key
    from aims.services.team_mode import enable_team

    enabled = enable_team(ws, actor=ENGINEER, admin=ENGINEER)
    enabled["people"] = sum(p["kind"] == "human" for p in identity.list_principals(ws))
    now = dt.datetime.now(dt.UTC)
    identity.grant(ws, SCIENTIST, role="scientist", project=project, actor=ENGINEER)
    identity.grant(ws, APPROVER, role="approver", project=project, actor=ENGINEER)
    identity.add_principal(ws, AGENT, kind="agent", owner=SCIENTIST, actor=ENGINEER)
    identity.grant(
        ws,
        AGENT,
        role="scientist",
        project=project,
        actor=ENGINEER,
        expires_at=now + dt.timedelta(days=AGENT_GRANT_DAYS),
    )
    keys: dict[str, tuple] = {}
    for name, kind, role, hours in (
        (SCIENTIST, "human", "scientist", 24),
        (APPROVER, "human", "approver", 24),
        (AGENT, "agent", "scientist", AGENT_KEY_HOURS),
    ):
        payload, key = create_key(
            ws,
            project=project,
            role=role,
            actor=ENGINEER,
            name=f"{name} on the team server",
            principal=name,
            expires_at=now + dt.timedelta(hours=hours),
        )
        keys[name] = (kind, role, payload["key_id"], key)
    return enabled, keys


def _set_team_mode(config: Path) -> None:
    """``identity: team`` in ``aims.yaml`` (the demo wrote that file, without the key)."""
    import yaml

    doc = yaml.safe_load(config.read_text(encoding="utf-8"))
    doc["identity"] = "team"
    config.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def _client(url: str, key: str) -> httpx.Client:
    """A client of the server carrying a token exchanged for ``key``."""
    from aims.demo.traffic import token

    return httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token(url, key)}"}, timeout=300
    )


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _last_seq(ws: Workspace) -> int:
    from aims.services import audit

    head, _ = audit.head_of(ws.db)
    return head[0] if head else 0
