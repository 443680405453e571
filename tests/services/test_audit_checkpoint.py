"""Checkpoints on a schedule, their settings and input, incremental verification, and the
migration of a chain written before keyed hashes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from aims.core.audit import GENESIS, event_hash
from aims.core.audit_checkpoint import Checkpoint
from aims.errors import ConfigError, IntegrityError, InvalidInput
from aims.services import audit
from aims.services import audit_checkpoint as cps
from aims.workspace import Workspace


def _fill(ws: Workspace, n: int) -> None:
    for i in range(n):
        with ws.db.session() as s:
            audit.record(s, actor="a@x.org", action="test.event", subject=f"thing:{i}")


def _set_audit(ws_root: Path, section: dict) -> Workspace:
    import yaml

    config = yaml.safe_load((ws_root / "aims.yaml").read_text())
    config["audit"] = section
    (ws_root / "aims.yaml").write_text(yaml.safe_dump(config))
    return Workspace.open(ws_root)


def test_the_server_writes_checkpoints_into_a_folder_and_verify_uses_the_newest(
    workspace, tmp_path: Path
) -> None:
    from aims.server.assembly import build_server, stop_monitor

    _fill(workspace, 3)
    folder = tmp_path / "anchors"
    ws = _set_audit(workspace.root, {"checkpoint_url": f"{folder}/", "checkpoint_interval": 3600})
    app = build_server(ws, insecure_dev=True)
    try:
        assert app.state.audit_checkpoints.wrote.wait(30)
    finally:
        stop_monitor(app)
    files = sorted(folder.glob("checkpoint-*.json"))
    assert len(files) == 1 and json.loads(files[0].read_text())["events"] == 3
    cp, path = cps.read_checkpoint(f"{folder}/")
    assert path.endswith(files[0].name)
    assert cps.report(ws.db, cp)["ok"]
    ws.close()


def test_no_url_means_no_schedule_and_the_environment_overrides_the_file(
    workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert cps.start_checkpoints(workspace) is None
    monkeypatch.setenv("AIMS_AUDIT_CHECKPOINT_URL", str(tmp_path / "cp.json"))
    assert cps.CheckpointSettings(workspace).url == str(tmp_path / "cp.json")


@pytest.mark.parametrize(
    ("section", "needle"),
    [
        ({"checkpoint_interval": 0}, "positive number of seconds"),
        ({"checkpoint_interval": "hourly"}, "positive number of seconds"),
        ({"checkpoint_every": 60}, "unknown key(s) checkpoint_every"),
    ],
)
def test_bad_audit_settings_are_refused_with_the_key_named(workspace, section, needle) -> None:
    ws = _set_audit(workspace.root, section)
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        cps.CheckpointSettings(ws)
    ws.close()


def test_a_broken_chain_is_not_checkpointed(workspace, tmp_path: Path) -> None:
    _fill(workspace, 3)
    with workspace.db.engine.begin() as conn:
        conn.execute(text("update audit_events set actor = 'm' where seq = 2"))
    with pytest.raises(IntegrityError, match="chain is broken"):
        cps.write_checkpoint(workspace.db, str(tmp_path / "cp.json"))
    assert not (tmp_path / "cp.json").exists()


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("not json", "is not JSON"),
        ('{"format": "other"}', "is not an aims audit checkpoint"),
        ('{"format": "aims-audit-checkpoint/1", "events": "3"}', "field 'events'"),
    ],
)
def test_malformed_checkpoints_are_refused(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "cp.json"
    path.write_text(content)
    with pytest.raises(InvalidInput, match=needle):
        cps.read_checkpoint(str(path))


def test_a_checkpoint_verifies_with_the_published_public_key_only(workspace) -> None:
    _fill(workspace, 2)
    cp, _ = cps.write_checkpoint(workspace.db, None)
    published = cps.public_key(workspace.db)
    assert cp.public_key == published
    assert cps.report(workspace.db, cp, trusted_key=published)["ok"]
    other = Checkpoint(cp.events, cp.head_hash, cp.keyed_from, cp.time, cp.public_key)
    from aims.core.audit_checkpoint import sign

    forged = sign(other, b"another secret of at least thirty-two bytes")
    report = cps.report(workspace.db, forged, trusted_key=published)
    assert [p["kind"] for p in report["problems"]] == ["bad-signature"]


def test_incremental_verification_checks_new_events_and_the_verified_position(workspace) -> None:
    _fill(workspace, 5)
    check = audit.IncrementalVerifier(workspace.db)
    assert check().ok
    _fill(workspace, 2)
    assert check().n_events == 7
    with workspace.db.engine.begin() as conn:
        conn.execute(text("update audit_events set payload = :p where seq = 7"), {"p": "{}!"})
    report = check()
    # The head's content no longer gives its keyed hash: edited or forged, the same to a verifier.
    assert not report.ok and (report.problem.kind, report.problem.seq) == ("forged", 7)


def test_a_chain_from_before_keyed_hashes_stays_verifiable_and_continues_keyed(
    tmp_path: Path,
) -> None:
    """A store at migration 0003 with plain SHA-256 events and an approval is upgraded."""
    from alembic import command
    from alembic.config import Config

    from aims.storage.db import MIGRATIONS, create_store_engine
    from aims.workspace import init_workspace

    root = init_workspace(tmp_path / "ws")
    url = f"sqlite:///{root}/.aims/aims.db"
    engine = create_store_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
    prev = GENESIS
    legacy = [
        ("ana@x.org", "model.register", "model:m@1", "2026-01-01T10:00:00.000000+00:00"),
        ("bo@x.org", "model.approve", "model:m@1", "2026-01-01T11:00:00.000001+00:00"),
    ]
    with engine.begin() as conn:
        conn.execute(
            text(
                "insert into models (id, name, project, created_by, created_at) "
                "values (1, 'm', 'default', 'ana@x.org', '2026-01-01 10:00:00')"
            )
        )
        conn.execute(
            text(
                "insert into model_versions (id, model_id, version, artifact_sha256, "
                "artifact_name, flavour, trusted, info, params, metrics, tags, stage, "
                "created_by, created_at) values (1, 1, 1, :h, 'a.skops', 'skops', 0, '{}', "
                "'{}', '{}', '{}', 'registered', 'ana@x.org', '2026-01-01 10:00:00')"
            ),
            {"h": "0" * 64},
        )
        for seq, (actor, action, subject, ts) in enumerate(legacy, start=1):
            payload = '{"roles":[]}' if action == "model.approve" else "{}"
            digest = event_hash(
                seq=seq,
                ts=ts,
                actor=actor,
                action=action,
                subject=subject,
                payload=payload,
                prev_hash=prev,
            )
            conn.execute(
                text(
                    "insert into audit_events (seq, ts, actor, action, subject, payload, "
                    "prev_hash, hash) values (:seq, :ts, :a, :ac, :s, :p, :prev, :h)"
                ),
                dict(seq=seq, ts=ts, a=actor, ac=action, s=subject, p=payload, prev=prev, h=digest),
            )
            prev = digest
        conn.execute(text("insert into audit_head (id, seq, hash) values (1, 2, :h)"), {"h": prev})
        conn.execute(
            text(
                "insert into approvals (model_version_id, actor, role, note, created_at) "
                "values (1, 'bo@x.org', null, '', '2026-01-01 11:00:00')"
            )
        )
    engine.dispose()

    ws = Workspace.open(root)  # migrates to the newest revision
    try:
        assert audit.head_of(ws.db)[1] == 3  # events from #3 on are keyed
        assert audit.verify(ws.db).ok
        from aims.services import governance
        from aims.storage.schema import Approval

        with ws.db.session() as s:
            assert s.query(Approval).one().audit_seq == 2
            assert [a.actor for a in governance.approvals_of(s, 1)] == ["bo@x.org"]
        _fill(ws, 2)
        with ws.db.engine.connect() as conn:
            third = conn.execute(text("select * from audit_events where seq = 3")).one()
        plain = event_hash(
            seq=3,
            ts=third.ts,
            actor=third.actor,
            action=third.action,
            subject=third.subject,
            payload=third.payload,
            prev_hash=third.prev_hash,
        )
        assert third.hash != plain  # keyed
        report = cps.report(ws.db)
        assert report["ok"] and report["n_events"] == 4
    finally:
        ws.close()
