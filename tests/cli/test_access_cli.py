"""``aims access review`` and ``aims keys rotate`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.in_process import run


def test_review_and_rotate_from_the_command_line(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    assert run(["init", str(root)], tmp_path).returncode == 0
    assert run(["principals", "add", "root", "--kind", "human"], root).returncode == 0
    assert run(["grant", "root", "--role", "admin", "--project", "*"], root).returncode == 0
    made = run(["keys", "create", "--principal", "root", "-p", "*", "-f", "json"], root)
    assert made.returncode == 0, made.stderr
    old = json.loads(made.stdout)["key_id"]
    review = run(["access", "review"], root)
    assert review.returncode == 0, review.stderr
    assert "grant.standing_admin: root holds admin on * with no expiry" in review.stdout
    data = json.loads(run(["access", "review", "-f", "json"], root).stdout)
    assert [p["name"] for p in data["principals"]] == ["root"]
    assert data["principals"][0]["keys"][0]["key_id"] == old
    rotated = run(["keys", "rotate", old, "--overlap", "0s"], root)
    assert rotated.returncode == 0, rotated.stderr
    assert f"key {old} replaced by k" in rotated.stdout
    bad = run(["keys", "rotate", old], root)
    assert bad.returncode != 0 and "only an active key is rotated" in bad.stderr
    wrong = run(["keys", "rotate", old, "--overlap", "a while"], root)
    assert wrong.returncode != 0 and "--overlap 'a while' is not a duration" in wrong.stderr
