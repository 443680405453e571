"""A team-mode workspace served on loopback, with keys of principals in two projects.

Used by the tests of the governance API's inventory and evaluation routes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aims.server.app import create_app
from aims.server.config import ServerConfig
from aims.services import identity, keys
from tests.server.conftest import LiveServer, bearer

UPLOAD_LIMIT = 400_000
"""server.max_upload_bytes of the test server: above the cancer data, below 2x it."""


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Team:
    """The served workspace and its URL; each principal's key and token are made
    on first use (each costs an argon2 hash and check)."""

    def __init__(self, ws: Any, url: str, grants: dict[str, tuple[str, str]]) -> None:
        self.ws = ws
        self.url = url
        self.grants = grants
        self.tokens: dict[str, str] = {}

    def client(self, who: str) -> httpx.Client:
        """A client calling as ``who``, with a token exchanged for a key of ``who``."""
        if who not in self.tokens:
            project, role = self.grants[who]
            _, key = keys.create_key(
                self.ws, project=project, role=role, actor="root", principal=who
            )
            r = httpx.post(f"{self.url}/v1/auth/token", json={"api_key": key}, timeout=30)
            assert r.status_code == 200, r.text
            self.tokens[who] = r.json()["access_token"]
        return httpx.Client(base_url=self.url, timeout=120, headers=bearer(self.tokens[who]))

    def uploads_left(self) -> list[Path]:
        folder = self.ws.settings.state_dir / "uploads"
        while True:
            try:
                return sorted(p for p in folder.rglob("*")) if folder.exists() else []
            except FileNotFoundError:
                # The server removed a folder while it was being listed: list again.
                continue


@pytest.fixture
def team(workspace: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Team]:
    """Team mode on, ``$AIMS_USER`` naming someone else: ana is a scientist and vic a
    viewer of project ``default`` (the workspace's), cora a scientist of ``credit``."""
    monkeypatch.setenv("AIMS_IDENTITY", "team")
    monkeypatch.setenv("AIMS_USER", "mallory@x.org")
    ws = workspace
    grants = {"ana@x.org": ("default", "scientist"), "vic@x.org": ("default", "viewer")}
    grants["cora@x.org"] = ("credit", "scientist")
    for who, (project, role) in grants.items():
        identity.add_principal(ws, who, kind="human", actor="root")
        identity.grant(ws, who, role=role, project=project, actor="root")
    # The server refuses to start while no key exists.
    keys.create_key(ws, project="default", role="viewer", actor="root", principal="vic@x.org")
    app = create_app(ws, config=ServerConfig(max_upload_bytes=UPLOAD_LIMIT))
    with LiveServer(app) as server:
        yield Team(ws, server.url, grants)


def upload_dataset(
    c: httpx.Client, path: Path, name: str, *, sha256: str | None = None
) -> httpx.Response:
    """``POST /v1/datasets`` with ``path`` as the file, as the CLI's remote mode sends it."""
    data = {"name": name, "sha256": sha256 or sha256_of(path)}
    with path.open("rb") as f:
        return c.post("/v1/datasets", data=data, files={"file": (path.name, f)})


def upload_model(
    c: httpx.Client, path: Path, name: str, *, sha256: str | None = None, **fields: Any
) -> httpx.Response:
    """``POST /v1/models/{name}/versions`` with ``path`` as the artifact."""
    data = {
        "dataset": ["cancer@1"],
        "owner": ["deployment=dep@x.org", "monitoring=mon@x.org"],
        "sha256": sha256 or sha256_of(path),
        **fields,
    }
    with path.open("rb") as f:
        return c.post(f"/v1/models/{name}/versions", data=data, files={"artifact": (path.name, f)})
