"""A team-mode workspace with people, an agent and keys, served over real HTTP.

The governance API's tests share it through a module-scoped fixture: one
workspace, one server, tokens exchanged once per key.

Who is who (project ``credit`` holds the models; ``other`` holds none):

=========  ==========================  =============================================
label      principal                   keys
=========  ==========================  =============================================
root       root@x.org, admin of ``*``   ``root``: admin on ``*``
ana        ana@x.org, approver         ``ana``: scientist (she registers), ``ana2``:
                                       approver (her second key)
bo         bo@x.org, admin of credit   ``bo-<role>``: one key per role of the ladder
bot        bot, agent owned by ana     ``bot``: scientist
eve        eve@x.org, admin of other   ``eve``: admin on ``other`` only
=========  ==========================  =============================================
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import select

from tests.conftest import use_open_policy
from tests.server.conftest import LiveServer, bearer

PROJECT = "credit"
OTHER = "other"
ROLES = ("viewer", "predictor", "scientist", "approver", "operator", "admin")
OWNERS = {"deployment": "dep@x.org", "monitoring": "mon@x.org"}


@dataclass
class Governed:
    """The served workspace, its keys by label, and a token per key label.

    Keys in ``keys`` are real keys, exchanged at ``POST /v1/auth/token`` once.
    Labels in ``claims`` are tokens signed with the server's own secret and
    the claims the token route would give a key of that principal, project
    and role: each real key costs an argon2 hash to create and one to check,
    which a test calling forty routes with a dozen roles cannot afford.
    """

    ws: Any
    url: str
    keys: dict[str, str]
    claims: dict[str, dict[str, Any]] = field(default_factory=dict)
    incidents: dict[str, int] = field(default_factory=dict)
    _tokens: dict[str, str] = field(default_factory=dict)
    _client: httpx.Client | None = None

    def token(self, label: str) -> str:
        """A token for key ``label``."""
        if label in self._tokens:
            return self._tokens[label]
        if label in self.claims:
            from aims.server.auth import TokenIssuer
            from aims.server.config import token_secret

            token, _ = TokenIssuer(token_secret(self.ws), 900).issue(self.claims[label])
        else:
            r = httpx.post(
                f"{self.url}/v1/auth/token", json={"api_key": self.keys[label]}, timeout=30
            )
            assert r.status_code == 200, r.text
            token = r.json()["access_token"]
        self._tokens[label] = token
        return token

    def call(self, label: str, method: str, path: str, **kw: Any) -> httpx.Response:
        """One request as the holder of key ``label`` (on one kept-alive connection)."""
        headers = {**bearer(self.token(label)), **kw.pop("headers", {})}
        if self._client is None:
            self._client = httpx.Client(base_url=self.url, timeout=60)
        return self._client.request(method, path, headers=headers, **kw)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def key_id(self, label: str) -> str:
        if label in self.claims:
            return str(self.claims[label]["key_id"])
        return self.keys[label].split(".")[1]


def team_workspace(root: Path) -> Any:
    """A fresh workspace of project ``credit`` in team mode, with an open policy.

    Refused calls are audited at shutdown only (a long ``auth_audit_interval``),
    so that a test can compare the chain's length before and after a refusal.
    """
    from aims.workspace import Workspace, init_workspace

    init_workspace(root)
    use_open_policy(root)
    config = yaml.safe_load((root / "aims.yaml").read_text())
    config["project"] = PROJECT
    config["identity"] = "team"
    config["server"] = {
        **(config.get("server") or {}),
        "auth_audit_interval": 3600,
        "rate_limit": 10_000,
        "rate_burst": 10_000,
    }
    (root / "aims.yaml").write_text(yaml.safe_dump(config))
    return Workspace.open(root)


KEYS = {
    "root": ("root@x.org", "admin", "*"),
    "ana": ("ana@x.org", "scientist", PROJECT),
    "ana2": ("ana@x.org", "approver", PROJECT),
    "bot": ("bot", "scientist", PROJECT),
    "eve": ("eve@x.org", "admin", OTHER),
    "spare": ("bo@x.org", "viewer", PROJECT),
    **{f"bo-{role}": ("bo@x.org", role, PROJECT) for role in ROLES},
}
"""Key label -> (principal, role, project)."""


def people(ws: Any, real: tuple[str, ...]) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """The principals and grants of the table above, real keys for the labels in ``real``
    and token claims for the others; returns both by label."""
    from aims.services import identity, keys

    def add(name: str, kind: str = "human", **kw: Any) -> None:
        identity.add_principal(ws, name, kind=kind, actor="setup", **kw)

    add("root@x.org")
    identity.grant(ws, "root@x.org", role="admin", project="*", actor="setup")
    add("ana@x.org")
    identity.grant(ws, "ana@x.org", role="approver", project=PROJECT, actor="setup")
    add("bo@x.org")
    identity.grant(ws, "bo@x.org", role="admin", project=PROJECT, actor="setup")
    add("bot", kind="agent", owner="ana@x.org")
    identity.grant(ws, "bot", role="scientist", project=PROJECT, actor="setup")
    add("eve@x.org")
    identity.grant(ws, "eve@x.org", role="admin", project=OTHER, actor="setup")
    made, claims = {}, {}
    for n, (label, (who, role, project)) in enumerate(KEYS.items()):
        if label in real:
            made[label] = keys.create_key(
                ws, project=project, role=role, actor="setup", principal=who, name=label
            )[1]
        else:
            claims[label] = {
                "key_id": f"k{n:012x}",
                "project": project,
                "role": role,
                "principal": who,
            }
    return made, claims


def register(ws: Any, files: dict[str, Path], name: str, registrant_key: str, n: int = 2) -> None:
    """Versions 1..n of model ``name`` in project credit, registered through ana's key."""
    from aims.services import registry
    from aims.storage.schema import Dataset

    actor = f"apikey:{registrant_key.split('.')[1]}"
    with ws.db.session() as s:
        has_data = s.scalar(select(Dataset.id).limit(1)) is not None
    if not has_data:
        registry.register_dataset(ws, files["data"], "tiny", actor=actor)
    for i in range(n):
        registry.register_model(
            ws,
            files["model" if i % 2 == 0 else "model2"],
            name,
            actor=actor,
            datasets=["tiny@1"],
            owners=OWNERS,
            contract_path=files["contract"],
        )


def open_incident(ws: Any, model: str, trigger: str = "drift") -> int:
    """An incident on version 1 of ``model``, opened as the monitor opens one."""
    from aims.services import registry
    from aims.services.monitor.incidents import record_firing
    from aims.services.monitor.triggers import TriggerSpec

    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    with ws.db.session() as s:
        found = registry.get_model(s, model)
        opened = record_firing(
            s,
            model=found,
            version=1,
            role="production",
            trigger=TriggerSpec(name=trigger, when="share_drifted > 0.5"),
            start=now,
            seconds=3600,
            observed={"share_drifted": 0.8},
            owner="mon@x.org",
            actions=[],
            actor="aims-monitor",
            now=now,
        )
        assert opened is not None
        return int(opened[0].id)


@dataclass
class Prepared:
    """A team-mode workspace with its people, and the app ``aims serve`` would run on it."""

    ws: Any
    keys: dict[str, str]
    claims: dict[str, dict[str, Any]]
    app: Any


def prepare(root: Path, real: tuple[str, ...] = ("ana", "spare")) -> Prepared:
    """The workspace of the module docstring and its app, not served yet; the keys
    labelled ``real`` are real keys, the others signed token claims."""
    from aims.server.assembly import build_server

    ws = team_workspace(root)
    made, claims = people(ws, real)
    return Prepared(ws, made, claims, build_server(ws))


@contextmanager
def serve(prepared: Prepared, files: dict[str, Path], models: dict[str, int]) -> Iterator[Governed]:
    """``prepared`` with ``models`` (name: number of versions) registered, served on
    loopback; the workspace is closed at the end."""
    try:
        for name, versions in models.items():
            register(prepared.ws, files, name, prepared.keys["ana"], versions)
        with LiveServer(prepared.app) as server:
            g = Governed(prepared.ws, server.url, prepared.keys, prepared.claims)
            try:
                yield g
            finally:
                g.close()
    finally:
        prepared.ws.close()


@contextmanager
def governed(
    root: Path,
    files: dict[str, Path],
    models: dict[str, int],
    real: tuple[str, ...] = ("ana", "spare"),
) -> Iterator[Governed]:
    """:func:`prepare` then :func:`serve`."""
    with serve(prepare(root, real), files, models) as g:
        yield g


def snapshot(ws: Any) -> tuple[Any, ...]:
    """What a refused call must leave as it was: the audit chain's length and the registry,
    approvals, risk assessments, incidents, principals, grants and keys."""
    from aims.services.audit import event_count
    from aims.storage.schema import (
        ApiKey,
        Approval,
        Grant,
        Incident,
        Model,
        ModelVersion,
        Principal,
        RiskAssessment,
    )

    with ws.db.session() as s:
        return (
            event_count(ws.db),
            s.execute(
                select(Model.name, Model.project, ModelVersion.version, ModelVersion.stage)
                .join(ModelVersion, ModelVersion.model_id == Model.id)
                .order_by(Model.name, ModelVersion.version)
            ).all(),
            s.execute(select(Approval.id, Approval.actor).order_by(Approval.id)).all(),
            s.execute(select(RiskAssessment.id).order_by(RiskAssessment.id)).all(),
            s.execute(select(Incident.id, Incident.status).order_by(Incident.id)).all(),
            s.execute(
                select(Principal.name, Principal.kind, Principal.disabled_at).order_by(
                    Principal.name
                )
            ).all(),
            s.execute(
                select(Grant.principal_id, Grant.project, Grant.role).order_by(Grant.id)
            ).all(),
            s.execute(
                select(ApiKey.key_id, ApiKey.role, ApiKey.revoked_at).order_by(ApiKey.id)
            ).all(),
        )
