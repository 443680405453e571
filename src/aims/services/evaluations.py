"""Evaluations of model versions on labelled data, beside the production version."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.errors import InvalidInput
from aims.refs import parse_ref
from aims.services import audit
from aims.services.anchors import content_digest, is_anchored
from aims.services.registry import file_sha256, get_model_version, load_version
from aims.storage.schema import Evaluation, ModelVersion
from aims.workspace import Workspace

__all__ = [
    "attach_evaluation",
    "evaluate",
    "latest_evaluation",
    "production_version",
    "store_evaluation",
]


def evaluate(
    ws: Workspace,
    text: str,
    data: Path,
    *,
    actor: str,
    label: str | None = None,
    sensitive: Sequence[str] = (),
    champion: bool = True,
    shap: bool = False,
    source: str | None = None,
) -> dict[str, Any]:
    """Evaluate ``NAME@VERSION`` on labelled ``data``, and the production version beside it.

    ``source`` is what the result names as the data (default: the path of
    ``data``); the server names a registered dataset or the file uploaded.

    With ``shap``, the version's features are also explained by mean |SHAP|
    (the optional ``shap`` package; checked before any work is done).
    """
    if shap:
        from aims.core.explain import require_shap

        require_shap()
    from aims.core import frames
    from aims.core.evaluation import evaluate as run

    ref = parse_ref(text)
    with ws.db.session() as s:
        mv = get_model_version(s, ref)
        payload = {
            "artifact_sha256": mv.artifact_sha256,
            "flavour": mv.flavour,
            "trusted": mv.trusted,
        }
        features = mv.info.get("feature_names")
        contract_label = _contract_label(mv)
        prod = production_version(mv)
        prod_payload = (
            {
                "artifact_sha256": prod.artifact_sha256,
                "flavour": prod.flavour,
                "trusted": prod.trusted,
                "version": prod.version,
            }
            if prod is not None and champion
            else None
        )
    label = label or contract_label
    if not label:
        raise InvalidInput(
            "which column holds the label? pass --label COL (or name it in the data contract)"
        )
    frame = frames.read(Path(data))
    digest = file_sha256(Path(data))
    model = load_version(ws, payload)
    data_id = f"{Path(data).name}:{digest[:12]}"
    result = run(
        model,
        frame,
        label=label,
        features=features,
        sensitive=list(sensitive),
        shap=shap,
        data_id=data_id,
    )
    out: dict[str, Any] = {
        "model": ref.name,
        "version": ref.version or mv.version,
        "data": source or str(data),
        "evaluation": result.to_dict(),
    }
    if prod_payload is not None:
        champ = run(
            load_version(ws, prod_payload),
            frame,
            label=label,
            features=features,
            sensitive=list(sensitive),
            robustness=False,
            importance=False,
            data_id=data_id,
        )
        out["champion"] = {"version": prod_payload["version"], "evaluation": champ.to_dict()}
        out["comparison"] = result.compare(champ).to_dict()
    with ws.db.session() as s:
        store_evaluation(
            s,
            get_model_version(s, ref),
            out,
            data_source=source or str(Path(data).resolve()),
            data_hash=digest,
            actor=actor,
            action="model.evaluate",
            payload={
                "metrics": result.metrics,
                "champion_version": prod_payload["version"] if prod_payload else None,
            },
        )
    return out


def attach_evaluation(
    ws: Workspace,
    text: str,
    evaluation: dict[str, Any],
    *,
    actor: str,
    data: str,
    data_sha256: str,
) -> dict[str, Any]:
    """Store an evaluation of ``NAME@VERSION`` computed elsewhere (e.g. on data
    that may not leave its owner's machine).

    ``evaluation`` is the ``evaluation`` document :func:`evaluate` produces
    (``EvaluationResult.to_dict``); it is read back before anything is stored,
    so what the gates later read is known to parse. ``data`` names the data
    and ``data_sha256`` is its SHA-256. The result is marked ``attached`` and
    audited as ``model.evaluate.attach``, so a reviewer sees that aims did not
    compute it. Returns the stored document (the shape :func:`evaluate` returns).
    """
    import re

    from aims.core.evaluation_result import SCHEMA_VERSION, EvaluationResult

    if not re.fullmatch(r"[0-9a-f]{64}", data_sha256 or ""):
        raise InvalidInput(
            f"data_sha256 {str(data_sha256)[:80]!r} is not a SHA-256 digest; give the 64 "
            "lower-case hex characters of the data file's digest (e.g. from sha256sum)"
        )
    if not isinstance(evaluation, dict):
        raise InvalidInput("the evaluation must be an object, as 'aims evaluate' writes it")
    if evaluation.get("schema") != SCHEMA_VERSION:
        raise InvalidInput(
            f"the evaluation has schema {evaluation.get('schema')!r}; this aims reads schema "
            f"{SCHEMA_VERSION}: attach the 'evaluation' object of 'aims evaluate --format "
            "json' from the same aims version, unchanged"
        )
    try:
        result = EvaluationResult.from_dict(evaluation)
    except InvalidInput:
        raise
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(
            f"the evaluation does not parse ({type(exc).__name__}: {exc}); attach the "
            "'evaluation' object of 'aims evaluate --format json' unchanged"
        ) from None
    ref = parse_ref(text)
    with ws.db.session() as s:
        mv = get_model_version(s, ref)
        out: dict[str, Any] = {
            "model": mv.model.name,
            "version": mv.version,
            "data": data,
            "evaluation": result.to_dict(),
            "attached": True,
        }
        store_evaluation(
            s,
            mv,
            out,
            data_source=data,
            data_hash=data_sha256,
            actor=actor,
            action="model.evaluate.attach",
            payload={"metrics": result.metrics},
        )
    return out


def production_version(mv: ModelVersion) -> ModelVersion | None:
    """The version of ``mv``'s model in production, when that is another version:
    the champion an evaluation of ``mv`` is set beside."""
    return next((v for v in mv.model.versions if v.stage == "production" and v.id != mv.id), None)


def store_evaluation(
    s: Session,
    mv: ModelVersion,
    document: dict[str, Any],
    *,
    data_source: str,
    data_hash: str,
    actor: str,
    action: str,
    payload: dict[str, Any],
) -> Evaluation:
    """Store ``document`` as an evaluation of ``mv`` with its ``action`` audit event.

    Both are written in ``s``'s transaction. The event's payload is ``payload``
    with the data's hash and the digest of the stored result, and the event
    anchors the row, so the gates read only an evaluation its event vouches for.
    """
    row = Evaluation(
        model_version_id=mv.id,
        data_source=data_source,
        data_hash=data_hash,
        # Stored as the JSON it reads back as, so the digest holds on every store.
        result=json.loads(json.dumps(document, default=str)),
        created_by=actor,
        created_at=audit.now_utc(),
    )
    s.add(row)
    s.flush()
    audit.record(
        s,
        actor=actor,
        action=action,
        subject=f"model:{mv.model.name}@{mv.version}",
        payload={
            "data_hash": data_hash,
            **payload,
            "result_sha256": content_digest(row.result),
        },
        anchors=(row,),
    )
    return row


def _contract_label(mv: ModelVersion) -> str | None:
    """The label column, from the training data's contracts (an input contract has none)."""
    from aims.core.contract import label_column, parse_contract

    texts = [(mv.input_contract, f"input contract of v{mv.version}")] + [
        (d.contract, f"contract of {d.dataset.name}@{d.version}") for d in mv.inputs
    ]
    for text, source in texts:
        label = label_column(parse_contract(text, source=source)) if text else None
        if label is not None:
            return label
    return None


def latest_evaluation(
    s: Session, model_version_id: int, *, data_id: str | None = None
) -> dict[str, Any] | None:
    """The newest evaluation result of a version that its audit event vouches for.

    With ``data_id``, the newest on the data it names (an evaluation on other
    data since then does not hide it).
    """
    key = audit.session_key(s)
    rows = s.scalars(
        select(Evaluation)
        .where(Evaluation.model_version_id == model_version_id)
        .order_by(Evaluation.id.desc())
    )
    for row in rows:
        on = (row.result or {}).get("evaluation", {}).get("data_id")
        if (data_id is None or on == data_id) and is_anchored(s, row, key):
            return row.result
    return None
