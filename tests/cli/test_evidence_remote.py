"""``aims soa``, ``aims evidence``, ``aims review`` and ``aims report pack`` in remote mode:
the CLI acting through a real server on loopback, printing what local mode prints."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.encoders import jsonable_encoder

from aims.server.app import create_app
from aims.services import identity, keys
from tests.cli.test_remote import aims  # noqa: F401 - the fixture that runs the CLI
from tests.server.conftest import LiveServer

WHY = "No AI system is supplied to customers by this organisation"


class Served:
    """A team-mode workspace of project ``default`` served on loopback, keys by person."""

    def __init__(self, ws: Any, url: str, keys_of: dict[str, str]) -> None:
        self.ws, self.url, self.keys = ws, url, keys_of

    def env(self, who: str) -> dict[str, str]:
        # AIMS_USER is set to show that it changes nothing: the key's principal acts.
        return {"AIMS_URL": self.url, "AIMS_API_KEY": self.keys[who], "AIMS_USER": "mallory"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """ana is a scientist, raj an approver, vic a viewer of project default."""
    import yaml

    from aims.workspace import Workspace, init_workspace

    root = init_workspace(tmp_path_factory.mktemp("evremote") / "ws")
    config = yaml.safe_load((root / "aims.yaml").read_text())
    (root / "aims.yaml").write_text(yaml.safe_dump({**config, "identity": "team"}))
    ws = Workspace.open(root)
    made = {}
    for who, role in (("ana", "scientist"), ("raj", "approver"), ("vic", "viewer")):
        name = f"{who}@x.org"
        identity.add_principal(ws, name, kind="human", actor="root")
        identity.grant(ws, name, role=role, project="default", actor="root")
        made[who] = keys.create_key(ws, project="default", role=role, actor="root", principal=name)[
            1
        ]
    try:
        with LiveServer(create_app(ws)) as live:
            yield Served(ws, live.url, made)
    finally:
        ws.close()


def _json(out: Any) -> Any:
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_an_exclusion_proposed_and_approved_by_two_people_remotely(
    served: Served,
    tmp_path: Path,
    aims: Any,  # noqa: F811
) -> None:
    from aims.services.applicability import statement

    proposed = aims(
        ["soa", "exclude", "A.10.4", "--justification", WHY], tmp_path, served.env("ana")
    )
    assert proposed.returncode == 0, proposed.stderr
    assert "A.10.4 v1 (default): pending" in proposed.stdout
    assert "aims soa approve A.10.4" in " ".join(proposed.stdout.split())  # wrapped
    # A scientist may not approve: the server's refusal, exit 1, as locally.
    low = aims(["soa", "approve", "A.10.4"], tmp_path, served.env("ana"))
    assert low.returncode == 1 and "needs the approver role" in low.stderr
    ok = aims(["soa", "approve", "A.10.4"], tmp_path, served.env("raj"))
    assert ok.returncode == 0, ok.stderr
    assert "excluded, approved by raj@x.org" in ok.stdout
    again = aims(["soa", "approve", "A.10.4"], tmp_path, served.env("raj"))
    assert again.returncode == 1 and "no exclusion of A.10.4 awaits approval" in again.stderr

    # What the viewer sees is the document the local command prints.
    shown = _json(aims(["soa", "show", "--format", "json"], tmp_path, served.env("vic")))
    assert shown == jsonable_encoder(statement(served.ws))
    assert shown["counts"]["excluded"] == 1
    table = aims(["soa", "show"], tmp_path, served.env("vic"))
    assert table.returncode == 0 and "1 excluded" in table.stdout


class _Document(http.server.BaseHTTPRequestHandler):
    body = b"Training records, kept by HR.\n"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def document_url() -> Iterator[str]:
    """A document served on loopback, as an intranet would serve it."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Document)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/training.pdf"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_evidence_is_added_by_file_and_by_link_and_approved_remotely(
    served: Served,
    tmp_path: Path,
    aims: Any,  # noqa: F811
    document_url: str,
) -> None:
    policy = tmp_path / "ai-policy.md"
    policy.write_text("# AI policy\n")
    args = ["evidence", "add", "A.2.2", "--owner", "dpo@x.org", "--format", "json"]
    [piece] = _json(aims([*args, "--file", str(policy)], tmp_path, served.env("ana")))
    assert (piece["name"], piece["added_by"]) == ("ai-policy.md", "ana@x.org")
    assert piece["sha256"] == hashlib.sha256(policy.read_bytes()).hexdigest()
    assert served.ws.artifacts.get_bytes(piece["sha256"]) == policy.read_bytes()
    # The link is read here, where it can be reached; the server records its hash.
    [link] = _json(
        aims(
            ["evidence", "add", "A.4.6", "--owner", "hr@x.org", "--url", document_url,
             "--review-every", "6w", "--format", "json"],
            tmp_path,
            served.env("ana"),
        )
    )  # fmt: skip
    assert link["sha256"] == hashlib.sha256(_Document.body).hexdigest()
    assert link["size"] == len(_Document.body)
    # Refusals as locally: one line, exit 1, nothing sent.
    both = aims([*args, "--file", str(policy), "--url", document_url], tmp_path, served.env("ana"))
    assert both.returncode == 1 and "exactly one of --file DOC or --url URL" in both.stderr
    missing = aims([*args, "--file", str(tmp_path / "nope.md")], tmp_path, served.env("ana"))
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    bad = aims([*args[:3], "--owner", "dpo", "--file", str(policy)], tmp_path, served.env("ana"))
    assert bad.returncode == 1 and "is not an e-mail address" in bad.stderr

    own = aims(["evidence", "approve", str(piece["id"])], tmp_path, served.env("raj"))
    assert own.returncode == 0 and "approved by raj@x.org" in own.stdout
    listed = _json(aims(["evidence", "list", "--format", "json"], tmp_path, served.env("vic")))
    assert {p["id"] for p in listed} >= {piece["id"], link["id"]}
    reviewed = aims(["evidence", "review", str(link["id"])], tmp_path, served.env("ana"))
    assert reviewed.returncode == 0 and "reviewed; next review" in reviewed.stdout
    removed = aims(
        ["evidence", "remove", str(link["id"]), "--reason", "moved"], tmp_path, served.env("ana")
    )
    assert removed.returncode == 0 and f"evidence #{link['id']}" in removed.stdout


def test_reviews_and_findings_remotely_with_the_exit_codes_of_local_mode(
    served: Served,
    tmp_path: Path,
    aims: Any,  # noqa: F811
) -> None:
    added = aims(
        ["review", "add", "--kind", "internal-audit", "--title", "Q1 audit", "--held-on",
         "2026-01-10", "--format", "json"],
        tmp_path,
        served.env("ana"),
    )  # fmt: skip
    review = _json(added)["id"]
    wrong = aims(
        ["review", "add", "--kind", "chat", "--title", "x", "--held-on", "2026-01-10"],
        tmp_path,
        served.env("ana"),
    )
    assert wrong.returncode == 1 and "internal-audit, management-review" in wrong.stderr
    finding = _json(
        aims(
            ["review", "finding", str(review), "--summary", "No minutes", "--owner",
             "dpo@x.org", "--due", "2020-01-01", "--format", "json"],
            tmp_path,
            served.env("ana"),
        )
    )  # fmt: skip
    assert aims(["review", "list"], tmp_path, served.env("vic")).returncode == 1  # overdue
    closed = aims(
        ["review", "close", str(finding["id"]), "--note", "minutes kept"],
        tmp_path,
        served.env("ana"),
    )
    assert closed.returncode == 0 and "closed by ana@x.org" in closed.stdout
    assert aims(["review", "list"], tmp_path, served.env("vic")).returncode == 0


def test_a_pack_made_remotely_verifies_offline(
    served: Served,
    tmp_path: Path,
    aims: Any,  # noqa: F811
) -> None:
    pack = tmp_path / "out" / "pack.zip"
    made = aims(
        ["report", "pack", "--out", str(pack), "--format", "json"], tmp_path, served.env("vic")
    )
    from aims.services.audit_checkpoint import public_key

    key = public_key(served.ws.db)
    summary = _json(made)
    assert (summary["written"], summary["public_key"]) == (str(pack), key)
    with zipfile.ZipFile(pack) as zf:
        assert summary["files"] == len(zf.namelist())
    assert summary["summary"] and summary["checkpoint_events"] > 0
    assert not pack.with_name("pack.zip.part").exists()
    # Offline: no server, no workspace, the workspace's key obtained separately.
    checked = aims(["report", "verify-pack", str(pack), "--key", key], tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "intact" in checked.stdout

    bad = aims(["report", "pack", "--out", str(tmp_path / "p.tgz")], tmp_path, served.env("vic"))
    assert bad.returncode == 1 and "give --out NAME.zip" in bad.stderr
    # A refusal leaves no file behind.
    other = tmp_path / "other.zip"
    refused = aims(
        ["report", "pack", "--out", str(other), "--project", "fraud"], tmp_path, served.env("vic")
    )
    assert refused.returncode == 1 and not other.exists()
