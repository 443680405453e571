"""A workspace the size of a real team's, for the dashboard's benchmark and browser tests.

:func:`build` makes, in a fresh folder:

* ``features`` wide model ``wide-scorer``: a real dataset, a real scikit-learn
  model registered, evaluated (with permutation importance) and promoted
  through the services, and ``windows`` hourly monitor windows whose profiles
  and drift results are computed from generated traffic with the monitor's own
  profile and drift code (a third of the features shift in the last quarter of
  the windows);
* ``models - 1`` other models over five projects, written with bulk inserts:
  versions in production, canary and shadow, owners, tags, risk assessments
  (anchored by their audit events, as ``aims risk assess`` writes them),
  incidents and a few monitor windows each;
* ``events`` audit events in one valid hash chain (``aims audit verify``
  passes), bulk inserted with their hashes computed here.

Everything the dashboard reads is therefore in the store in the shape the
services write it; only the way it got there is faster.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import yaml

PROJECTS = ("default", "payments", "risk", "growth", "support")
TIERS = ("minimal", "limited", "high")
SEVERITIES = ("critical", "high", "medium", "low")
ACTORS = tuple(f"{n}@example.org" for n in ("ana", "ben", "chen", "dara", "eli", "fay", "gus"))
ACTIONS = (
    "monitor.window",
    "model.register",
    "model.promote",
    "model.approve",
    "model.evaluate",
    "incident.open",
    "incident.ack",
    "incident.resolve",
    "auth.token",
    "labels.ingest",
)
WIDE = "wide-scorer"
OPEN_POLICY = {
    "default_tier": "minimal",
    "tiers": {"minimal": {}, "limited": {}, "high": {}, "unacceptable": {"prohibited": True}},
}
PROFILED = 3
"""The newest windows of the wide model that carry a profile."""


@dataclass(frozen=True)
class Built:
    """What :func:`build` made: the folder and the names a test or benchmark looks for."""

    root: Path
    wide: str
    models: list[str]
    n_events: int
    n_features: int
    n_windows: int


def build(
    root: Path,
    *,
    models: int = 500,
    features: int = 300,
    windows: int = 200,
    events: int = 1_000_000,
    seed: int = 21,
) -> Built:
    """Create the workspace in ``root`` (which must not exist yet)."""
    from aims.workspace import Workspace, init_workspace

    init_workspace(root)
    config = yaml.safe_load((root / "aims.yaml").read_text())
    config["policy"] = OPEN_POLICY
    (root / "aims.yaml").write_text(yaml.safe_dump(config))
    rng = np.random.default_rng(seed)
    ws = Workspace.open(root)
    try:
        data = root.parent / f"{root.name}-data"
        names = _bulk_models(ws, rng, models - 1, events, data)
        _wide_model(ws, rng, data, features, windows)
    finally:
        ws.close()
    return Built(root, WIDE, [WIDE, *names], events, features, windows)


# --------------------------------------------------------------------------- bulk part
def _small_artifact(ws: Any, folder: Path) -> dict[str, Any]:
    """One small real model, stored once and shared by every bulk model's versions.

    The server loads every served version at start, so each must be a real
    artifact; content addressing stores the bytes once.
    """
    from sklearn.linear_model import LogisticRegression
    from skops.io import dump

    from aims.flavours import load_bytes

    rng = np.random.default_rng(5)
    x = pl.DataFrame({f"x{j}": rng.normal(0, 1, 200) for j in range(8)})
    y = (x["x0"] + x["x1"] > 0).cast(pl.Int8).to_numpy()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "small.skops"
    dump(LogisticRegression().fit(x.to_pandas(), y), path)
    data = path.read_bytes()
    info = load_bytes(data, "skops", trust=False, name=str(path)).describe()
    ref = ws.artifacts.put_bytes(data)
    return {
        "sha256": ref.sha256,
        "flavour": info["flavour"],
        "info": {k: info.get(k) for k in ("task", "feature_names", "classes", "estimator")},
    }


def _bulk_models(
    ws: Any, rng: np.random.Generator, n: int, n_events: int, root_folder: Path
) -> list[str]:
    from sqlalchemy import insert, select

    from aims.services import audit
    from aims.services.anchors import content_digest
    from aims.storage.schema import (
        AuditEvent,
        AuditHead,
        Incident,
        Model,
        ModelOwner,
        ModelVersion,
        MonitorWindow,
        RiskAssessment,
        StageTransition,
    )

    artifact = _small_artifact(ws, root_folder)
    domains = ("churn", "fraud", "credit", "pricing", "demand", "ranking", "triage", "eta")
    names = [f"{domains[i % len(domains)]}-{i:03d}" for i in range(n)]
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with ws.db.session() as s:
        head = s.get(AuditHead, 1)
        start_seq = head.seq if head is not None else 0
        prev = head.hash if head is not None else "0" * 64
        keyed_from = head.keyed_from if head is not None else 1
        first_id = (s.scalar(select(Model.id).order_by(Model.id.desc()).limit(1)) or 0) + 1
    key = audit.chain_key_of(ws.db)
    # Governance events (risk assessments, promotions) with the rows they anchor.
    governed: list[tuple[str, str, str, dict[str, Any], list[dict[str, Any]]]] = []
    model_rows, owner_rows, version_rows, risk_rows, stage_rows = [], [], [], [], []
    with ws.db.session() as s:
        next_mv = (s.scalar(select(ModelVersion.id).order_by(ModelVersion.id.desc())) or 0) + 1
    incident_rows, window_rows = [], []
    tiers = rng.choice(len(TIERS), size=n, p=[0.5, 0.3, 0.2])
    for i, name in enumerate(names):
        mid = first_id + i
        project = PROJECTS[i % len(PROJECTS)]
        made = now - dt.timedelta(days=int(rng.integers(30, 400)))
        model_rows.append(
            dict(id=mid, name=name, project=project, created_by=ACTORS[i % 7], created_at=made)
        )
        owner_rows += [
            dict(model_id=mid, role="business", owner=ACTORS[(i + 1) % 7]),
            dict(model_id=mid, role="technical", owner=ACTORS[(i + 3) % 7]),
        ]
        n_versions = int(rng.integers(1, 5))
        team = ("ml-platform", "fraud-squad", "pricing", "care")[i % 4]
        promoter = ACTORS[(i + 4) % 7]
        for v in range(1, n_versions + 1):
            stage = "archived"
            traffic = None
            if v == n_versions:
                stage = "production"
            elif v == n_versions - 1 and n_versions > 2 and i % 3 == 0:
                stage, traffic = ("canary", 10.0) if i % 2 else ("shadow", None)
            shown = "production" if stage == "archived" else stage
            transition = dict(
                model_version_id=next_mv,
                from_stage="registered",
                to_stage=shown,
                actor=promoter,
                reason="benchmark workspace",
                at=made + dt.timedelta(days=v),
                audit_seq=None,
            )
            stage_rows.append(transition)
            anchored = [transition]
            if stage == "archived":
                # archived by the promotion of a later version, recorded by its event
                later = dict(transition, from_stage="production", to_stage="archived")
                stage_rows.append(later)
                anchored.append(later)
            governed.append(
                (
                    promoter,
                    "model.promote",
                    f"model:{name}@{v}",
                    {"stage": shown, "from": "registered"},
                    anchored,
                )
            )
            version_rows.append(
                dict(
                    id=next_mv,
                    model_id=mid,
                    version=v,
                    artifact_sha256=artifact["sha256"],
                    artifact_name="model.skops",
                    flavour=artifact["flavour"],
                    trusted=False,
                    info=artifact["info"],
                    params={},
                    metrics={"accuracy": round(0.7 + 0.25 * float(rng.random()), 3)},
                    tags={"team": team, "region": ("eu", "us", "apac")[i % 3]},
                    git_commit=None,
                    input_contract=None,
                    stage=stage,
                    traffic=traffic,
                    created_by=ACTORS[i % 7],
                    created_at=made + dt.timedelta(days=v),
                )
            )
            next_mv += 1
        tier = TIERS[int(tiers[i])]
        overdue = i % 17 == 0
        review = (now.date() + dt.timedelta(days=-3 if overdue else 90)).isoformat()
        document = _risk_document(name, project, tier, ACTORS[(i + 2) % 7], made.date(), review)
        risk_rows.append(
            dict(
                model_id=mid,
                version=1,
                tier=tier,
                document=document,
                reviewer=ACTORS[(i + 2) % 7],
                next_review=review,
                created_by=ACTORS[i % 7],
                created_at=made,
                audit_seq=None,  # set from the event stream below
            )
        )
        governed.append(
            (
                ACTORS[i % 7],
                "risk.assess",
                f"model:{name}",
                {
                    "version": 1,
                    "tier": tier,
                    "document_sha256": content_digest(document),
                },
                [risk_rows[-1]],
            )
        )
        for k in range(int(rng.poisson(0.6))):
            status = "open" if rng.random() < 0.4 else "resolved"
            opened = now - dt.timedelta(hours=int(rng.integers(1, 2000)))
            incident_rows.append(
                dict(
                    dedupe_key=f"{name}:{k}",
                    model_id=mid,
                    project=project,
                    subject_kind="model",
                    subject=name,
                    version=n_versions,
                    trigger="feature_drift",
                    kind=("drift", "performance", "data_health")[k % 3],
                    severity=SEVERITIES[int(rng.integers(0, 4))],
                    status=status,
                    owner=ACTORS[(i + 1) % 7],
                    summary=f"{name}: drift on {int(rng.integers(1, 6))} features",
                    evidence={},
                    actions=[{"type": "alert"}],
                    opened_at=opened,
                    acked_at=opened + dt.timedelta(minutes=20),
                    acked_by=ACTORS[(i + 1) % 7],
                    resolved_at=opened + dt.timedelta(hours=5) if status == "resolved" else None,
                    resolved_by=ACTORS[(i + 1) % 7] if status == "resolved" else None,
                    resolution="retrained" if status == "resolved" else None,
                )
            )
        last = now.replace(minute=0, second=0) - dt.timedelta(hours=int(rng.integers(1, 30)))
        for h in range(3):
            drifted = [bool(rng.random() < 0.04) for _ in range(8)]
            window_rows.append(
                dict(
                    model_id=mid,
                    version=n_versions,
                    role="production",
                    window_start=last - dt.timedelta(hours=h),
                    window_seconds=3600,
                    n_predictions=int(rng.integers(100, 5000)),
                    n_labelled=0,
                    results=_small_results(rng, drifted),
                    profile=None,
                    computed_at=now,
                )
            )
    # The audit stream: `n_events` events, the governance events among them.
    stream_len = max(n_events, len(governed) + 1)
    spots = np.sort(rng.choice(np.arange(1, stream_len), size=len(governed), replace=False))
    at_spot = {int(spot): governed[k] for k, spot in enumerate(spots)}
    stream_start = now - dt.timedelta(days=365)
    step = dt.timedelta(days=364) / stream_len
    seq = start_seq
    events: list[dict[str, Any]] = []
    with ws.db.session() as s:
        s.execute(insert(Model), model_rows)
        s.execute(insert(ModelOwner), owner_rows)
        s.execute(insert(ModelVersion), version_rows)
        for pos in range(stream_len):
            seq += 1
            ts = (stream_start + step * pos).isoformat(timespec="microseconds")
            special = at_spot.get(pos)
            if special is not None:
                actor, action, subject, body, rows = special
                for row in rows:
                    row["audit_seq"] = seq
            else:
                m = names[(pos * 7919) % n]
                actor = ACTORS[pos % 7] if pos % 5 else "monitor"
                action = ACTIONS[pos % len(ACTIONS)]
                subject = f"model:{m}@{1 + pos % 3}"
                body = {"n": pos % 1000}
            payload = json.dumps(body, sort_keys=True, separators=(",", ":"))
            digest = _hash(seq, ts, actor, action, subject, payload, prev, key, keyed_from)
            events.append(
                dict(
                    seq=seq,
                    ts=ts,
                    actor=actor,
                    action=action,
                    subject=subject,
                    payload=payload,
                    prev_hash=prev,
                    hash=digest,
                )
            )
            prev = digest
            if len(events) >= 50_000:
                s.execute(insert(AuditEvent), events)
                events = []
        if events:
            s.execute(insert(AuditEvent), events)
        head = s.get(AuditHead, 1)
        if head is None:
            s.add(AuditHead(id=1, seq=seq, hash=prev, keyed_from=keyed_from))
        else:
            head.seq, head.hash = seq, prev
        s.execute(insert(RiskAssessment), risk_rows)
        s.execute(insert(StageTransition), stage_rows)
        if incident_rows:
            s.execute(insert(Incident), incident_rows)
        s.execute(insert(MonitorWindow), window_rows)
    return names


def _risk_document(
    name: str, project: str, tier: str, reviewer: str, assessed: dt.date, review: str
) -> dict[str, Any]:
    """A risk assessment as ``aims risk assess`` stores it (checked by its own model)."""
    from aims.core.risk import RiskAssessment

    doc = RiskAssessment.from_dict(
        {
            "model": name,
            "intended_use": f"{name} for the {project} team",
            "risk_tier": tier,
            "failure_modes": [
                {"name": "stale inputs", "likelihood": "possible", "impact": "moderate"}
            ],
            "data_dependencies": [{"name": f"{name}-events"}],
            "downstream_impact": "a person reviews every decision it informs",
            "residual_risk": "low",
            "reviewer": reviewer,
            "assessed_on": assessed.isoformat(),
            "next_review": review,
        }
    )
    return json.loads(json.dumps(doc.to_dict(), default=str))


def _hash(
    seq: int,
    ts: str,
    actor: str,
    action: str,
    subject: str,
    payload: str,
    prev: str,
    key: bytes,
    keyed_from: int,
) -> str:
    from aims.core.audit import event_hash

    return event_hash(
        seq=seq,
        ts=ts,
        actor=actor,
        action=action,
        subject=subject,
        payload=payload,
        prev_hash=prev,
        key=key if seq >= keyed_from else None,
    )


def _small_results(rng: np.random.Generator, drifted: list[bool]) -> dict[str, Any]:
    features = {}
    for j, d in enumerate(drifted):
        stat = float(rng.uniform(0.12, 0.4) if d else rng.uniform(0.0, 0.06))
        features[f"x{j}"] = {
            "kind": "numeric",
            "test": "wasserstein",
            "statistic": stat,
            "threshold": 0.1,
            "drift_score": stat / 0.1,
            "drifted": d,
            "excluded": False,
            "psi": stat,
            "null_share": 0.0,
        }
    return {"features": features, "fired": []}


# --------------------------------------------------------------------------- wide model
def _frame(rng: np.random.Generator, n: int, cols: list[str], shift: np.ndarray) -> pl.DataFrame:
    data = {c: rng.normal(shift[j], 1.0, n) for j, c in enumerate(cols)}
    return pl.DataFrame(data)


def _wide_model(
    ws: Any, rng: np.random.Generator, folder: Path, n_features: int, n_windows: int
) -> None:
    from sklearn.linear_model import LogisticRegression
    from skops.io import dump
    from sqlalchemy import insert

    from aims.core.profile import loads, profile_frame_like
    from aims.services import datasets, lifecycle, registry
    from aims.services.monitor.windows import WindowProfile
    from aims.storage.schema import Model, MonitorWindow

    folder.mkdir(parents=True, exist_ok=True)
    cols = [f"f{j:03d}" for j in range(n_features)]
    base = np.zeros(n_features)
    train = _frame(rng, 2000, cols, base)
    weights = rng.normal(0, 1, n_features) * (rng.random(n_features) < 0.15)
    logits = train.to_numpy() @ weights
    train = train.with_columns(pl.Series("label", (logits + rng.normal(0, 1, 2000) > 0) * 1))
    train.write_parquet(folder / "train.parquet")
    model = LogisticRegression(max_iter=300).fit(train.select(cols).to_numpy(), train["label"])
    dump(model, folder / "model.skops")
    actor = "ana@example.org"
    datasets.register_dataset(ws, folder / "train.parquet", WIDE, actor=actor)
    registry.register_model(
        ws,
        folder / "model.skops",
        WIDE,
        actor=actor,
        datasets=[f"{WIDE}@1"],
        owners={"business": "ben@example.org", "monitoring": actor, "deployment": actor},
        tags={"team": "credit", "region": "eu"},
    )
    _evaluate(ws, folder / "train.parquet", cols, actor)
    lifecycle.promote(ws, f"{WIDE}@1", "production", actor="ops@example.org")
    with ws.db.session() as s:
        mv = registry.get_model_version(s, registry.parse_ref(f"{WIDE}@1"))
        model_id = mv.model_id
        reference = loads(mv.inputs[0].profile)
        s.get(Model, model_id)
    # A third of the features shift, more and more, over the last quarter of windows.
    moving = rng.random(n_features) < 1 / 3
    onset = n_windows - max(1, n_windows // 4)
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    first = now - dt.timedelta(hours=n_windows + 1)
    rows = []
    for w in range(n_windows):
        ramp = max(0, w - onset + 1) / max(1, n_windows - onset)
        shift = np.where(moving, 0.6 * ramp, 0.0)
        profile = None
        if w >= n_windows - PROFILED:
            # The newest windows are profiled and judged by the monitor's own code.
            cur = profile_frame_like(reference, _frame(rng, 400, cols, shift))
            features = _judged(reference, cur, cols)
            profile = WindowProfile(rows=400, inputs=cur).dumps()
        else:
            # Older ones: the normalised Wasserstein distance of a mean shift of
            # `shift` sd is `shift`, plus the sampling noise of 400 rows.
            stat = np.abs(shift + rng.normal(0, 0.02, n_features))
            features = {
                c: {
                    "kind": "numeric",
                    "test": "wasserstein",
                    "statistic": float(stat[j]),
                    "p_value": None,
                    "threshold": 0.1,
                    "null_share": 0.0,
                    "note": None,
                    "excluded": False,
                    "drifted": bool(stat[j] >= 0.1),
                    "psi": float(stat[j] ** 2 * 1.1),
                    "drift_score": float(stat[j] / 0.1),
                }
                for j, c in enumerate(cols)
            }
        n_drifted = sum(1 for f in features.values() if f["drifted"])
        rows.append(
            dict(
                model_id=model_id,
                version=1,
                role="production",
                window_start=first + dt.timedelta(hours=w),
                window_seconds=3600,
                n_predictions=400,
                n_labelled=0,
                results={
                    "features": features,
                    "drift": {
                        "computed": True,
                        "n_tested": len(cols),
                        "n_drifted": n_drifted,
                        "share_drifted": n_drifted / len(cols),
                    },
                    "fired": [],
                },
                profile=profile,
                computed_at=now,
            )
        )
    with ws.db.session() as s:
        s.execute(insert(MonitorWindow), rows)


def _evaluate(ws: Any, data: Path, cols: list[str], actor: str) -> None:
    """Evaluate the wide model as ``aims evaluate`` does, slicing by a few columns only.

    Slicing by all 300 features takes half a minute and the dashboard reads
    only the permutation importance, so the slices are limited here.
    """
    from aims.core.evaluation import evaluate
    from aims.services import audit, registry
    from aims.services.anchors import content_digest
    from aims.services.datasets import file_sha256
    from aims.storage.schema import Evaluation

    with ws.db.session() as s:
        mv = registry.get_model_version(s, registry.parse_ref(f"{WIDE}@1"))
        payload = {"artifact_sha256": mv.artifact_sha256, "flavour": mv.flavour, "trusted": False}
    model = registry.load_version(ws, payload)
    result = evaluate(
        model,
        pl.read_parquet(data),
        label="label",
        slice_columns=tuple(cols[:3]),
        robustness=False,
        n_repeats=1,
        importance_rows=500,
    )
    out = json.loads(
        json.dumps(
            {"model": WIDE, "version": 1, "data": str(data), "evaluation": result.to_dict()},
            default=str,
        )
    )
    digest = file_sha256(data)
    with ws.db.session() as s:
        mv = registry.get_model_version(s, registry.parse_ref(f"{WIDE}@1"))
        row = Evaluation(
            model_version_id=mv.id,
            data_source=str(data.resolve()),
            data_hash=digest,
            result=out,
            created_by=actor,
            created_at=audit.now_utc(),
        )
        s.add(row)
        s.flush()
        audit.record(
            s,
            actor=actor,
            action="model.evaluate",
            subject=f"model:{WIDE}@1",
            payload={
                "data_hash": digest,
                "metrics": result.metrics,
                "champion_version": None,
                "result_sha256": content_digest(row.result),
            },
            anchors=(row,),
        )


def _judged(reference: Any, cur: Any, cols: list[str]) -> dict[str, Any]:
    """Per-feature drift results of one window, in the shape the monitor stores them."""
    from aims.core.drift import DriftOptions, drift_from_profiles

    opts = DriftOptions()
    report = drift_from_profiles(reference, cur, columns=cols, options=opts)
    psi_opts = DriftOptions(tests=dict.fromkeys(cols, "psi"), bins=opts.bins, eps=opts.eps)
    psi = drift_from_profiles(reference, cur, columns=cols, options=psi_opts)
    return {
        row.name: {
            "kind": row.kind,
            "test": row.test,
            "statistic": row.statistic,
            "p_value": row.p_value,
            "threshold": row.threshold,
            "null_share": 0.0,
            "note": row.note,
            "excluded": False,
            "drifted": bool(row.drifted),
            "psi": prow.statistic,
            "drift_score": row.score,
        }
        for row, prow in zip(report.columns, psi.columns, strict=True)
    }
