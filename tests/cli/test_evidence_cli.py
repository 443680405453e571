"""``aims evidence``, ``aims soa``, ``aims review`` and ``aims report pack|verify-pack`` as a
person types them, on a real workspace: the entry point runs in the test process
(:mod:`tests.cli.in_process`), with the output streams and exit codes a process would have."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

# _events reads the store read-only: cheaper than an 'aims audit log' process per count
from tests.cli.in_process import run
from tests.cli.test_foundation_cli import _events


@pytest.fixture
def root(tmp_path: Path) -> Path:
    assert run(["init", str(tmp_path / "ws")], tmp_path).returncode == 0
    return tmp_path / "ws"


def test_evidence_add_list_and_refusals(root: Path) -> None:
    policy = root / "policy.md"
    policy.write_text("# AI policy\n")
    before = _events(root)
    for args, message in (
        (["A.2.99", "--file", str(policy), "--owner", "dpo@x.org"], "not a control"),
        (["A.2.2", "--file", str(policy), "--owner", "dpo@x.org", "--review-every", "soon"],
         "90d, 6w, 12m or 1y"),
        (["A.2.2", "--owner", "dpo@x.org"], "exactly one of --file DOC or --url URL"),
    ):  # fmt: skip
        out = run(["evidence", "add", *args], root)
        assert out.returncode != 0 and message in out.stderr, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1  # one clear line
    assert _events(root) == before  # refused input leaves the store untouched

    out = run(
        ["evidence", "add", "A.2.2", "--file", str(policy), "--owner", "dpo@x.org",
         "--review-every", "12m", "--note", "AI policy", "--format", "json"],
        root,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    [piece] = json.loads(out.stdout)
    listed = run(["evidence", "list", "--format", "json"], root)
    assert listed.returncode == 0
    assert [p["sha256"] for p in json.loads(listed.stdout)] == [piece["sha256"]]
    report = json.loads(run(["report", "compliance", "--format", "json"], root).stdout)
    a22 = next(c for c in report["controls"] if c["id"] == "A.2.2")
    assert a22["status"] == "outside"


def test_soa_exclusion_is_four_eyes_from_the_command_line(root: Path) -> None:
    why = "No AI system is provided to customers by this organisation"
    out = run(["soa", "exclude", "A.10.4", "--justification", why], root)
    assert out.returncode == 0 and "pending" in out.stdout
    own = run(["soa", "approve", "A.10.4"], root)
    assert own.returncode != 0 and "four-eyes" in own.stderr
    other = run(["soa", "approve", "A.10.4"], root, env={"AIMS_USER": "bo@x.org"})
    assert other.returncode == 0, other.stderr
    shown = json.loads(run(["soa", "show", "--format", "json"], root).stdout)
    a104 = next(c for c in shown["controls"] if c["control"] == "A.10.4")
    assert a104["state"] == "excluded" and a104["approved_by"] == "bo@x.org"
    assert shown["counts"]["excluded"] == 1


def test_review_findings_and_an_overdue_one_exits_1(root: Path) -> None:
    out = run(
        ["review", "add", "--kind", "management-review", "--title", "Annual review",
         "--held-on", "2026-01-10", "--format", "json"],
        root,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    review = json.loads(out.stdout)["id"]
    bad = run(["review", "add", "--kind", "chat", "--title", "x", "--held-on", "2026-01-10"], root)
    assert bad.returncode != 0 and "internal-audit, management-review" in bad.stderr
    added = run(
        ["review", "finding", str(review), "--summary", "No review minutes", "--owner",
         "dpo@x.org", "--due", "2020-01-01", "--control", "A.2.4", "--format", "json"],
        root,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert run(["review", "list"], root).returncode == 1  # an overdue open finding
    finding = json.loads(added.stdout)["id"]
    assert run(["review", "close", str(finding), "--note", "minutes kept"], root).returncode == 0
    assert run(["review", "list"], root).returncode == 0


def test_pack_and_verify_pack_from_the_command_line(root: Path, tmp_path: Path) -> None:
    pack = tmp_path / "out" / "pack.zip"
    out = run(["report", "pack", "--out", str(pack)], root)
    assert out.returncode == 0, out.stderr
    assert run(["report", "verify-pack", str(pack)], tmp_path).returncode == 0
    bad = run(["report", "pack", "--out", str(tmp_path / "pack.tgz")], root)
    assert bad.returncode != 0 and "zip" in bad.stderr
    # A file added to the pack is named.
    with zipfile.ZipFile(pack, "a") as zf:
        zf.writestr("extra.txt", "hello")
    checked = run(["report", "verify-pack", str(pack)], tmp_path)
    assert checked.returncode == 1 and checked.stderr.startswith("extra.txt:")


def test_team_mode_refuses_these_writes_straight_to_the_store(root: Path) -> None:
    team = {"AIMS_IDENTITY": "team"}
    why = "No AI system is provided to customers by this organisation"
    out = run(["soa", "exclude", "A.10.4", "--justification", why], root, env=team)
    assert out.returncode != 0 and "team mode" in out.stderr
    forced = run(
        ["soa", "exclude", "A.10.4", "--justification", why, "--break-glass", "--reason",
         "auditor on site today"],
        root, env=team,
    )  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    [event] = [
        e for e in json.loads(run(["audit", "log", "--format", "json"], root).stdout)
        if e["action"] == "soa.exclude"
    ]  # fmt: skip
    assert event["payload"]["break_glass"] is True


def test_remote_mode_goes_to_the_server_never_to_the_local_store(root: Path) -> None:
    remote = {"AIMS_URL": "http://127.0.0.1:9", "AIMS_API_KEY": "aims.k000000000000.x"}
    before = _events(root)
    out = run(["soa", "exclude", "A.10.4", "--justification", "x" * 20], root, env=remote)
    assert out.returncode != 0 and "cannot reach the aims server" in out.stderr, out.stderr
    assert _events(root) == before
