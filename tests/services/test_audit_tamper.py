"""Each way of tampering with the stored audit log makes ``aims audit verify --checkpoint`` fail,
naming the case. Run through the real command line (Typer's runner, in process) on a real
SQLite workspace, and once on the real PostgreSQL server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from aims.cli.main import build
from aims.core.audit import GENESIS, event_hash
from aims.services import audit, governance
from aims.storage.schema import Approval, ModelVersion
from aims.workspace import Workspace
from tests.conftest import use_open_policy

runner = CliRunner()
command = build()


def cli(root: Path, *args: str) -> tuple[int, dict | str]:
    result = runner.invoke(command, ["--workspace", str(root), *args], catch_exceptions=False)
    try:
        return result.exit_code, json.loads(result.stdout)
    except ValueError:
        return result.exit_code, result.stdout + result.stderr


def kinds(report: dict) -> set[str]:
    return {p["kind"] for p in report["problems"]}


def sql(ws: Workspace, stmt: str, **params) -> None:
    with ws.db.engine.begin() as conn:
        conn.execute(text(stmt), params)


def scalar(ws: Workspace, stmt: str, **params):
    with ws.db.engine.connect() as conn:
        return conn.execute(text(stmt), params).scalar()


@pytest.fixture
def logged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A workspace with six events and a checkpoint of them in a file outside the store."""
    from aims.workspace import init_workspace

    root = init_workspace(tmp_path / "ws")
    use_open_policy(root)
    ws = Workspace.open(root)
    for i in range(6):
        with ws.db.session() as s:
            audit.record(s, actor="a@x.org", action="test.event", subject=f"thing:{i}")
    checkpoint = tmp_path / "outside" / "cp.json"
    code, out = cli(root, "audit", "checkpoint", "--out", str(checkpoint))
    assert code == 0, out
    yield ws, checkpoint
    ws.close()


def verify(ws: Workspace, checkpoint: Path) -> tuple[int, dict]:
    code, out = cli(ws.root, "audit", "verify", "--checkpoint", str(checkpoint), "-f", "json")
    assert isinstance(out, dict), out
    return code, out


def test_an_untouched_log_extends_its_checkpoint(logged) -> None:
    ws, checkpoint = logged
    with ws.db.session() as s:
        audit.record(s, actor="a@x.org", action="test.event", subject="later")
    code, report = verify(ws, checkpoint)
    assert code == 0 and report["ok"] and report["checkpoint"]["extended"]
    assert report["n_events"] == 7


def test_wipe_is_named(logged) -> None:
    ws, checkpoint = logged
    sql(ws, "delete from audit_events")
    sql(ws, "delete from audit_head")
    # Without the checkpoint an empty log looks like a new one.
    assert cli(ws.root, "audit", "verify")[0] == 0
    code, report = verify(ws, checkpoint)
    assert code == 1 and kinds(report) == {"wiped"}


def test_tail_truncation_is_named(logged) -> None:
    ws, checkpoint = logged
    sql(ws, "delete from audit_events where seq > 4")
    code, report = verify(ws, checkpoint)
    assert code == 1 and {"deleted", "truncated"} <= kinds(report)


def test_head_rollback_is_named(logged) -> None:
    ws, checkpoint = logged
    sql(ws, "delete from audit_events where seq > 4")
    sql(
        ws,
        "update audit_head set seq = 4, hash = (select hash from audit_events where seq = 4)",
    )
    assert cli(ws.root, "audit", "verify")[0] == 0  # consistent, only shorter
    code, report = verify(ws, checkpoint)
    assert code == 1 and kinds(report) == {"rolled-back"}


def _rehash_from(ws: Workspace, seq: int, key: bytes | None) -> None:
    """Recompute every hash from ``seq`` on, as a forger with (or without) the key would."""
    with ws.db.engine.begin() as conn:
        prev = conn.execute(
            text("select hash from audit_events where seq = :s"), {"s": seq - 1}
        ).scalar()
        rows = conn.execute(
            text(
                "select seq, ts, actor, action, subject, payload from audit_events "
                "where seq >= :s order by seq"
            ),
            {"s": seq},
        ).all()
        for r in rows:
            digest = event_hash(
                seq=r.seq,
                ts=r.ts,
                actor=r.actor,
                action=r.action,
                subject=r.subject,
                payload=r.payload,
                prev_hash=prev or GENESIS,
                key=key,
            )
            conn.execute(
                text("update audit_events set prev_hash = :p, hash = :h where seq = :s"),
                {"p": prev or GENESIS, "h": digest, "s": r.seq},
            )
            prev = digest
        conn.execute(text("update audit_head set hash = :h"), {"h": prev})


def test_edit_rehashed_without_the_key_is_named_by_the_hmac(logged) -> None:
    ws, checkpoint = logged
    sql(ws, "update audit_events set actor = 'mallory' where seq = 3")
    _rehash_from(ws, 3, key=None)
    code, report = verify(ws, checkpoint)
    assert code == 1
    chain = [p for p in report["problems"] if p["found_by"] == "chain"]
    assert (chain[0]["kind"], chain[0]["seq"]) == ("edited", 3)
    assert "audit key" in chain[0]["message"]


def test_edit_rehashed_with_the_key_is_named_by_the_checkpoint(logged) -> None:
    ws, checkpoint = logged
    sql(ws, "update audit_events set actor = 'mallory' where seq = 3")
    _rehash_from(ws, 3, key=audit.chain_key_of(ws.db))
    assert cli(ws.root, "audit", "verify")[0] == 0  # the key holder re-made a valid chain
    code, report = verify(ws, checkpoint)
    assert code == 1 and kinds(report) == {"rewritten"}


def test_forged_append_with_head_updated_is_named(logged) -> None:
    ws, checkpoint = logged
    last = scalar(ws, "select hash from audit_events where seq = 6")
    fields = dict(
        seq=7,
        ts="2026-01-01T00:00:00+00:00",
        actor="mallory",
        action="model.approve",
        subject="model:m@1",
        payload="{}",
        prev_hash=last,
    )
    forged = event_hash(**fields)  # the published, unkeyed formula
    sql(
        ws,
        "insert into audit_events (seq, ts, actor, action, subject, payload, prev_hash, hash) "
        "values (:seq, :ts, :actor, :action, :subject, :payload, :prev_hash, :hash)",
        hash=forged,
        **fields,
    )
    sql(ws, "update audit_head set seq = 7, hash = :h", h=forged)
    code, report = verify(ws, checkpoint)
    assert code == 1 and kinds(report) == {"forged"}


def test_a_missing_store_is_named(logged) -> None:
    ws, checkpoint = logged
    ws.close()
    db_file = ws.root / ".aims" / "aims.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_file) + suffix).unlink(missing_ok=True)
    code, report = verify(ws, checkpoint)
    assert code == 1 and kinds(report) == {"missing-store"}
    assert not db_file.exists()  # verifying did not create an empty store in its place


def test_a_checkpoint_signed_with_another_key_is_refused(logged) -> None:
    ws, checkpoint = logged
    data = json.loads(checkpoint.read_text())
    data["events"] = 2  # a weaker claim, re-signed by nobody: the signature no longer fits
    checkpoint.write_text(json.dumps(data))
    code, report = verify(ws, checkpoint)
    assert code == 1 and kinds(report) == {"bad-signature"}


@pytest.fixture
def approved(tmp_path: Path, cancer_files):
    """A workspace where bo approved v1, and a checkpoint taken afterwards."""
    import yaml

    from aims.services import registry
    from aims.workspace import init_workspace

    root = init_workspace(tmp_path / "ws")
    config = yaml.safe_load((root / "aims.yaml").read_text())
    config["policy"] = {
        "default_tier": "minimal",
        "tiers": {
            "minimal": {"approvals": {"count": 2, "four_eyes": True}},
            "limited": {},
            "high": {},
            "unacceptable": {"prohibited": True},
        },
    }
    (root / "aims.yaml").write_text(yaml.safe_dump(config))
    ws = Workspace.open(root)
    registry.register_dataset(ws, cancer_files["data"], "cancer", actor="ana@x.org")
    registry.register_model(
        ws, cancer_files["model"], "cancer", actor="ana@x.org", datasets=["cancer@1"]
    )
    governance.approve(ws, "cancer@1", actor="bo@x.org")
    checkpoint = tmp_path / "cp.json"
    assert cli(root, "audit", "checkpoint", "--out", str(checkpoint))[0] == 0
    yield ws, checkpoint
    ws.close()


def _approval_rule(ws: Workspace) -> dict:
    report = governance.gates(ws, "cancer@1")
    return next(r for r in report["rules"] if r["rule"] == "approvals.count")


def test_an_approval_inserted_into_the_database_is_not_counted_and_is_reported(approved) -> None:
    ws, checkpoint = approved
    assert not _approval_rule(ws)["passed"]  # one approval of two
    version_id = scalar(ws, "select id from model_versions")
    bo_event = scalar(ws, "select audit_seq from approvals")
    # A second approver conjured in SQL, even pointing at bo's genuine event.
    sql(
        ws,
        "insert into approvals (model_version_id, actor, role, note, created_at, audit_seq) "
        "values (:v, 'cy@x.org', null, '', '2026-01-01 00:00:00', :seq)",
        v=version_id,
        seq=bo_event,
    )
    assert not _approval_rule(ws)["passed"]
    with ws.db.session() as s:
        counted = governance.approvals_of(s, s.get(ModelVersion, version_id).id)
        assert [a.actor for a in counted] == ["bo@x.org"]
        assert s.query(Approval).count() == 2
    code, report = verify(ws, checkpoint)
    assert code == 1 and kinds(report) == {"unanchored"}
    assert "approval of cancer@1 by cy@x.org" in report["problems"][0]["message"]


def test_a_stage_set_in_the_database_is_not_production_for_the_gates(approved) -> None:
    ws, checkpoint = approved
    sql(ws, "update model_versions set stage = 'production'")
    with ws.db.session() as s:
        mv = s.scalars(select(ModelVersion)).one()
        assert governance.vouched_stage(s, mv) == "registered"
    code, report = verify(ws, checkpoint)
    assert code == 1 and kinds(report) == {"unanchored"}
    assert "stage 'production'" in report["problems"][0]["message"]


def run_verify(root: Path, checkpoint: Path) -> tuple[int, dict]:
    # A process of its own: the command's connections end with it.
    from tests.cli.test_foundation_cli import run

    out = run(["audit", "verify", "--checkpoint", str(checkpoint), "-f", "json"], root)
    return out.returncode, json.loads(out.stdout)


@pytest.mark.postgres
def test_rewrite_with_the_key_is_named_on_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    from tests.cli.test_foundation_cli import run

    monkeypatch.setenv("AIMS_DATABASE_URL", postgres_url)
    from aims.workspace import init_workspace

    root = init_workspace(tmp_path / "ws")
    ws = Workspace.open(root)
    try:
        for i in range(4):
            with ws.db.session() as s:
                audit.record(s, actor="a@x.org", action="test.event", subject=f"thing:{i}")
        checkpoint = tmp_path / "cp.json"
        assert run(["audit", "checkpoint", "--out", str(checkpoint)], root).returncode == 0
        assert run_verify(root, checkpoint)[0] == 0
        sql(ws, "update audit_events set subject = 'thing:x' where seq = 2")
        _rehash_from(ws, 2, key=audit.chain_key_of(ws.db))
        code, report = run_verify(root, checkpoint)
        assert code == 1 and kinds(report) == {"rewritten"}
        sql(ws, "delete from audit_events")  # the head row left behind names the deletion too
        assert kinds(run_verify(root, checkpoint)[1]) == {"deleted", "wiped"}
    finally:
        ws.close()
