"""The sealed evidence pack: what it holds, that it verifies with nothing but itself, and that
one changed byte is found and named.

Built on the workspace of ``test_evidence`` (two high-risk models in production).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import delete

from aims.errors import InvalidInput
from aims.services import audit, audit_checkpoint, external_evidence, governance
from aims.services.evidence_pack import build_pack, verify_pack
from aims.storage.schema import Approval
from aims.workspace import Workspace
from tests.services.test_evidence import (
    APPROVER,
    SCIENTIST,
    built,  # noqa: F401 (the module-scoped workspace)
)


@pytest.fixture
def ws(evidence_built: Path, tmp_path: Path):
    """A copy of the evidence workspace (tests/services/conftest.py) of its own."""
    copy = tmp_path / "ws"
    shutil.copytree(evidence_built, copy)
    w = Workspace.open(copy)
    yield w
    w.close()


def _status(pack: Path, control: str) -> str:
    with zipfile.ZipFile(pack) as zf:
        report = json.loads(zf.read("report.json"))
    return next(c["status"] for c in report["controls"] if c["id"] == control)


def _rewrite(pack: Path, name: str, edit) -> None:
    """Rewrite ``pack`` with member ``name`` changed by ``edit`` (a well-formed zip)."""
    with zipfile.ZipFile(pack) as zf:
        members = [(i, zf.read(i.filename)) for i in zf.infolist()]
    with zipfile.ZipFile(pack, "w") as zf:
        for info, data in members:
            zf.writestr(info, edit(data) if info.filename == name else data)


def _verify_offline(pack: Path, folder: Path, *extra: str) -> subprocess.CompletedProcess:
    """``aims report verify-pack`` run in an empty folder, with no workspace and no audit key."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / "pack.zip"
    shutil.copy(pack, copy)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIMS_")}
    return subprocess.run(
        [sys.executable, "-m", "aims", "report", "verify-pack", str(copy), *extra],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def packed(ws, tmp_path: Path) -> Path:
    policy = ws.root / "ai-policy.md"
    policy.write_text("# AI policy\n")
    external_evidence.add(
        ws, ["A.2.2"], actor=SCIENTIST, owner="dpo@x.org", review_every="12m", file=policy
    )
    out = tmp_path / "pack.zip"
    build_pack(ws, out, standard="iso42001")
    return out


def test_a_pack_holds_the_report_cards_documents_and_a_signed_manifest(ws, packed) -> None:
    with zipfile.ZipFile(packed) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
        html = zf.read("report.html").decode()
        artifacts = json.loads(zf.read("artifacts.json"))
        checkpoint = json.loads(zf.read("checkpoint.json"))
    assert {"report.html", "report.json", "report.md", "statement-of-applicability.json",
            "external-evidence.json", "reviews.json", "checkpoint.json", "manifest.sig",
            "cards/cancer.html", "cards/tumour.html"} <= names  # fmt: skip
    assert any(n.startswith("external/") and n.endswith("-ai-policy.md") for n in names)
    assert set(manifest["files"]) == names - {"manifest.json", "manifest.sig"}
    assert manifest["public_key"] == audit_checkpoint.public_key(ws.db)
    # Every link in the report resolves inside the pack (no /ui links, no absolute paths).
    hrefs = [h for h in re.findall(r'href="([^"]+)"', html) if not h.startswith("#")]
    assert hrefs and not [h for h in hrefs if h.startswith("/") or h not in names], hrefs
    models = [a for a in artifacts if a["kind"] == "model"]
    assert sorted(a["ref"] for a in models) == ["cancer@1", "tumour@1"]
    assert all(re.fullmatch(r"[0-9a-f]{64}", a["sha256"]) for a in artifacts)
    # The checkpoint covers every event the report cites.
    assert checkpoint["events"] == max(e["seq"] for e in audit.query(ws.db))


def test_an_untouched_pack_verifies_without_the_workspace(ws, packed, tmp_path: Path) -> None:
    key = audit_checkpoint.public_key(ws.db)
    out = _verify_offline(packed, tmp_path / "elsewhere", "--key", key, "--format", "json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["ok"] and result["key_trusted"] and result["problems"] == []
    # Another workspace's key is not this pack's signer.
    other = "A" * 43 + "="
    refused = _verify_offline(packed, tmp_path / "elsewhere2", "--key", other)
    assert refused.returncode == 1 and "another workspace" in refused.stderr


def test_one_edited_byte_is_found_and_the_file_named(packed, tmp_path: Path) -> None:
    def flip(data: bytes) -> bytes:
        return data[:100] + bytes([data[100] ^ 1]) + data[101:]

    _rewrite(packed, "report.html", flip)
    out = _verify_offline(packed, tmp_path / "a")
    assert out.returncode == 1
    assert out.stderr.startswith("report.html: was changed"), out.stderr
    assert "report.json" not in out.stderr
    result = verify_pack(packed)
    assert [p["file"] for p in result["problems"]] == ["report.html"]


def test_a_byte_flipped_in_the_raw_archive_names_its_member(packed) -> None:
    with zipfile.ZipFile(packed) as zf:
        info = next(i for i in zf.infolist() if i.filename.startswith("external/"))
    raw = bytearray(packed.read_bytes())
    # Local header: 30 bytes, then the name and the extra field, then the data.
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw[start] ^= 0xFF
    packed.write_bytes(bytes(raw))
    result = verify_pack(packed)
    assert not result["ok"]
    assert [p["file"] for p in result["problems"]] == [info.filename]


def test_a_signed_manifest_edited_to_match_is_caught_by_its_signature(packed) -> None:
    def retarget(data: bytes) -> bytes:
        manifest = json.loads(data)
        manifest["summary"]["met"] += 1
        return (json.dumps(manifest, indent=2) + "\n").encode()

    _rewrite(packed, "manifest.json", retarget)
    result = verify_pack(packed)
    assert [p["file"] for p in result["problems"]] == ["manifest.json"]
    assert "signature" in result["problems"][0]["message"]


def test_removed_evidence_turns_controls_partial_or_missing_in_the_pack_and_back(
    ws, tmp_path: Path
) -> None:
    def pack(name: str) -> Path:
        out = tmp_path / f"{name}.zip"
        build_pack(ws, out)
        return out

    policy = ws.root / "ai-policy.md"
    policy.write_text("# AI policy\n")
    # A document whose review was due a month ago.
    [piece] = external_evidence.add(
        ws, ["A.2.2"], actor=SCIENTIST, owner="dpo@x.org", review_every="12m", file=policy,
        reviewed_on=dt.date.today() - dt.timedelta(days=390),
    )  # fmt: skip
    first = pack("overdue")
    assert _status(first, "A.2.2") == "partial"
    assert _status(first, "A.6.2.5") == "met"
    # An approval removed from the store; a document reviewed.
    with ws.db.session() as s:
        s.execute(delete(Approval))
    external_evidence.review(ws, piece["id"], actor="dpo@x.org")
    second = pack("no-approval")
    assert _status(second, "A.2.2") == "outside"
    assert _status(second, "A.6.2.5") in ("partial", "missing")
    # The approval restored the way it is made; the document withdrawn.
    for name in ("cancer", "tumour"):
        governance.approve(ws, f"{name}@1", actor=APPROVER, note="re-checked")
    external_evidence.remove(ws, piece["id"], actor=SCIENTIST, reason="withdrawn")
    third = pack("restored")
    assert _status(third, "A.6.2.5") == "met"
    assert _status(third, "A.2.2") == "missing"
    assert verify_pack(third)["ok"]


def test_a_pack_must_be_a_zip_and_verify_pack_refuses_what_is_not_one(ws, tmp_path) -> None:
    with pytest.raises(InvalidInput, match="zip"):
        build_pack(ws, tmp_path / "pack.tar")
    assert not (tmp_path / "pack.tar").exists()
    junk = tmp_path / "junk.zip"
    junk.write_text("not a zip")
    with pytest.raises(InvalidInput, match="not a zip"):
        verify_pack(junk)
