"""Uploads one principal may send at once, and the free disk an upload needs, over real HTTP.

Uploads in flight are held open on raw sockets: the headers and the start of a
file part are sent, the rest never is, so the server is receiving them for as
long as the test wants.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from aims.server.app import create_app
from aims.server.config import ServerConfig
from aims.services import identity, keys
from tests.server.conftest import LiveServer, wait_until
from tests.server.governance_team import Team, upload_dataset

GRANTS = {
    "ana@x.org": ("default", "scientist"),
    "bea@x.org": ("default", "scientist"),
}


def served(ws: Any, config: ServerConfig) -> Iterator[Team]:
    """``ws`` in team mode, ana and bea scientists of its project, served with ``config``."""
    for who, (project, role) in GRANTS.items():
        identity.add_principal(ws, who, kind="human", actor="root")
        identity.grant(ws, who, role=role, project=project, actor="root")
    # The server refuses to start while no key exists.
    keys.create_key(ws, project="default", role="viewer", actor="root", principal="bea@x.org")
    with LiveServer(create_app(ws, config=config)) as server:
        yield Team(ws, server.url, GRANTS)


@pytest.fixture
def team(workspace: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Team]:
    monkeypatch.setenv("AIMS_IDENTITY", "team")
    yield from served(workspace, ServerConfig())


@pytest.fixture
def full_disk(workspace: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Team]:
    """A server that must keep more bytes free than any disk has."""
    monkeypatch.setenv("AIMS_IDENTITY", "team")
    yield from served(workspace, ServerConfig(upload_free_margin_bytes=2**62))


def in_flight(team: Team) -> list[Path]:
    """The folders of the uploads the server is receiving."""
    folder = team.ws.settings.state_dir / "uploads"
    return sorted(folder.glob("upload-*")) if folder.exists() else []


def dataset_names(ws: Any) -> list[str]:
    from aims.services.datasets import list_datasets

    return sorted({d["name"] for d in list_datasets(ws)})


def open_upload(team: Team, who: str) -> socket.socket:
    """A dataset upload by ``who`` whose body is started and never finished."""
    with team.client(who) as c:
        token = c.headers["Authorization"]
    url = urlsplit(team.url)
    head = (
        "POST /v1/datasets HTTP/1.1\r\n"
        f"Host: {url.netloc}\r\n"
        f"Authorization: {token}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\n"
        "Content-Length: 1000000\r\n\r\n"
        "--b\r\n"
        'Content-Disposition: form-data; name="file"; filename="cells.csv"\r\n\r\n'
    )
    sock = socket.create_connection((url.hostname, url.port))
    sock.sendall(head.encode() + b"a,b\n" * 1000)
    return sock


def test_a_principal_sends_at_most_two_uploads_at_once(
    team: Team, cancer_files: dict[str, Path]
) -> None:
    first, second = open_upload(team, "ana@x.org"), open_upload(team, "ana@x.org")
    try:
        wait_until(lambda: len(in_flight(team)) == 2, 10)
        with team.client("ana@x.org") as c:
            refused = upload_dataset(c, cancer_files["data"], "cancer")
        assert refused.status_code == 429, refused.text
        assert refused.headers["retry-after"] == "10"
        assert refused.headers["content-type"] == "application/problem+json"
        assert "server.max_concurrent_uploads" in refused.json()["detail"]
        assert "ana@x.org already has 2 uploads in progress" in refused.json()["detail"]
        # The limit is each principal's own: bea is not held up by ana's uploads.
        with team.client("bea@x.org") as c:
            assert upload_dataset(c, cancer_files["other"], "other").status_code == 201
        assert len(in_flight(team)) == 2
    finally:
        first.close()
    try:
        # Once one of ana's uploads ends, her next one is received.
        with team.client("ana@x.org") as c:
            answer = wait_until(
                lambda: (
                    (r := upload_dataset(c, cancer_files["data"], "cancer")).status_code != 429
                    and r
                ),
                10,
            )
        assert answer.status_code == 201, answer.text
    finally:
        second.close()
    wait_until(lambda: in_flight(team) == [], 10)
    assert dataset_names(team.ws) == ["cancer", "other"]


def test_an_upload_the_disk_has_no_room_for_is_refused_before_it_is_received(
    full_disk: Team, cancer_files: dict[str, Path]
) -> None:
    with full_disk.client("ana@x.org") as c:
        refused = upload_dataset(c, cancer_files["data"], "cancer")
    assert refused.status_code == 507, refused.text
    problem = refused.json()
    assert problem["type"] == "urn:aims:problem:insufficient_storage"
    assert "no room for an upload" in problem["detail"]
    assert "server.upload_free_margin_bytes" in problem["detail"]
    assert dataset_names(full_disk.ws) == []
    assert in_flight(full_disk) == []
