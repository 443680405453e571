"""What a model version's traffic is compared with: its training data and its own predictions there.

For each model version the monitor needs, once:

* the **input reference**: the training dataset version's profile (stored by
  ``aims dataset register``), restricted to the model's features;
* the **output reference**: the model's predictions on (a spread sample of)
  its training rows, profiled as prediction, score, confidence and entropy.
  The model is loaded once per version and the profile cached under
  ``.aims/monitor/reference/``; when the training data cannot be read, the
  training label's distribution stands in for the predictions (and a note
  says so), but a damaged artifact or a model that fails on its own training
  rows is an error of that model's pass, never a note;
* the input contract (data health), the label column, the classes, the
  null shares of the training data, the baseline metrics (latest evaluation,
  else the metrics given at registration) and the owner and risk tier.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy.orm import Session

from aims.core.contract import Contract, label_column, parse_contract
from aims.core.metric_catalog import METRICS
from aims.core.outputs import output_frame
from aims.core.profile import FrameProfile, NumericProfile, dumps, loads, profile_frame
from aims.errors import AimsError, InvalidInput, ModelFailed, NotFound
from aims.services.monitor.triggers import MonitoringPolicy
from aims.storage.schema import ModelVersion

#: Regression outputs beyond the training label's range by more than this share of it are out of range.
OUTPUT_RANGE_MARGIN = 0.5


@dataclass
class Reference:
    """Everything a window of one model version is judged against."""

    model: str
    model_id: int
    version: int
    task: str
    classes: list[str] | None
    features: list[str]
    label: str | None = None
    inputs: FrameProfile | None = None
    outputs: FrameProfile | None = None
    outputs_source: str = "none"
    """``model`` (its predictions on training rows), ``label`` (the label's distribution) or ``none``."""
    contract: Contract | None = None
    null_shares: dict[str, float] = field(default_factory=dict)
    baseline: dict[str, float] = field(default_factory=dict)
    output_range: tuple[float, float] | None = None
    owner: str | None = None
    tier: str = "high"
    notes: list[str] = field(default_factory=list)


def _text(value: Any) -> str:
    from aims.storage.predlog.schema import as_text

    return str(as_text(value))


@dataclass(frozen=True)
class VersionFacts:
    """What the store knows about a model version, read in one short transaction."""

    model: str
    model_id: int
    version: int
    info: dict[str, Any]
    artifact_sha256: str
    flavour: str
    trusted: bool
    input_contract: str | None
    dataset_contracts: tuple[str, ...]
    dataset_profile: bytes | None
    dataset_source: str | None
    dataset_artifact: str | None
    baseline: dict[str, float]
    owner: str | None
    tier: str


def _baseline(s: Session, mv: ModelVersion) -> dict[str, float]:
    from aims.services.governance import latest_evaluation

    result = latest_evaluation(s, mv.id) or {}
    metrics = (result.get("evaluation") or {}).get("metrics") or {}
    if not metrics:
        metrics = mv.metrics or {}
    return {
        k: float(v)
        for k, v in metrics.items()
        if k in METRICS and isinstance(v, int | float) and math.isfinite(float(v))
    }


def version_facts(s: Session, mv: ModelVersion, default_tier: str = "high") -> VersionFacts:
    """Read what :func:`build_reference` needs while the session is open."""
    from aims.services.governance import latest_risk

    risk = latest_risk(s, mv.model_id)
    dv = mv.inputs[0] if mv.inputs else None
    return VersionFacts(
        model=mv.model.name,
        model_id=mv.model_id,
        version=mv.version,
        info=dict(mv.info or {}),
        artifact_sha256=mv.artifact_sha256,
        flavour=mv.flavour,
        trusted=bool(mv.trusted),
        input_contract=mv.input_contract,
        dataset_contracts=tuple(d.contract for d in mv.inputs if d.contract),
        dataset_profile=dv.profile if dv is not None else None,
        dataset_source=dv.source if dv is not None else None,
        dataset_artifact=dv.artifact_sha256 if dv is not None else None,
        baseline=_baseline(s, mv),
        owner=next((o.owner for o in mv.model.owners if o.role == "monitoring"), None),
        tier=risk.tier if risk is not None else default_tier,
    )


def _contract(facts: VersionFacts) -> tuple[Contract | None, str | None, list[str]]:
    """The input contract, the label column (from it or the training data's contract), and notes.

    A stored contract that no longer parses does not stop the pass: like the
    other failures the reference survives, it becomes a note the monitor shows.
    """
    contract = None
    label = None
    notes: list[str] = []
    if facts.input_contract:
        try:
            contract = parse_contract(
                facts.input_contract, source=f"input contract of v{facts.version}"
            )
            label = label_column(contract)
        except AimsError as exc:
            notes.append(
                f"input contract of v{facts.version} unreadable ({exc.message}); "
                "data health is not checked"
            )
    for text in facts.dataset_contracts:
        if label is not None:
            break
        try:
            label = label_column(parse_contract(text, source="training data contract"))
        except AimsError as exc:
            notes.append(f"training data contract unreadable ({exc.message}); skipped")
    return contract, label, notes


def build_reference(ws: Any, facts: VersionFacts, policy: MonitoringPolicy) -> Reference:
    """The reference of a model version (runs the model once, then uses the cache)."""
    info = facts.info
    task = info.get("task") or "classification"
    classes = [_text(c) for c in info["classes"]] if info.get("classes") else None
    contract, label, contract_notes = _contract(facts)
    full = loads(facts.dataset_profile) if facts.dataset_profile else None
    features = list(info.get("feature_names") or [])
    if not features and contract is not None:
        # A model that does not name its features reads what its input contract
        # describes, in that order, apart from a business key it never reads.
        features = [c.name for c in contract.table().columns if not c.label and not c.primary_key]
    if not features and full is not None:
        features = [c for c in full.columns if c != label]
    if label is None and full is not None:
        # No contract names the label: the one training column the model does not read is it.
        rest = [c for c in full.columns if c not in features]
        label = rest[0] if len(rest) == 1 else None
    ref = Reference(
        model=facts.model,
        model_id=facts.model_id,
        version=facts.version,
        task=task,
        classes=classes,
        features=features,
        label=label,
        contract=contract,
        baseline=dict(facts.baseline),
        owner=facts.owner,
        tier=facts.tier,
        notes=contract_notes,
    )
    if full is None:
        ref.notes.append("the training data has no stored profile; feature drift is not computed")
    else:
        cols = {c: full.columns[c] for c in features if c in full.columns}
        ref.inputs = FrameProfile(cols, full.rows)
        ref.null_shares = {c: (p.missing / p.rows if p.rows else 0.0) for c, p in cols.items()}
    ref.outputs, ref.outputs_source = _outputs(ws, facts, ref, full, policy)
    ref.output_range = _output_range(ref, full, policy)
    return ref


def output_cache_path(ws: Any, facts: VersionFacts) -> Path:
    """Where the profile of a version's own predictions on its training data is cached.

    The monitor writes it; the dashboard reads it to draw the reference of
    the output distributions.
    """
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in facts.model)
    folder = ws.settings.state_dir / "monitor" / "reference"
    return folder / f"{safe}-v{facts.version}-{facts.artifact_sha256[:16]}.msgpack"


def _outputs(
    ws: Any,
    facts: VersionFacts,
    ref: Reference,
    full: FrameProfile | None,
    policy: MonitoringPolicy,
) -> tuple[FrameProfile | None, str]:
    path = output_cache_path(ws, facts)
    if path.is_file():
        try:
            return loads(path.read_bytes()), "model"
        except AimsError:
            path.unlink(missing_ok=True)  # a damaged cache is rebuilt
    try:
        rows = _training_rows(ws, facts, ref, policy.reference_rows)
    except (InvalidInput, NotFound) as exc:
        # The training file moved or no longer parses: the label stands in, as documented.
        ref.notes.append(
            f"training rows unreadable ({exc.message}); using the label's distribution"
        )
        rows = None
    # A damaged artifact (IntegrityError) or a model that fails on its own
    # training rows (ModelFailed) is not a note: it stops this model's pass.
    frame = _reference_predictions(ws, facts, ref, rows) if rows is not None else None
    if frame is not None and frame.height:
        kinds = {"prediction": "categorical" if ref.task == "classification" else "numeric"}
        prof = profile_frame(frame, kinds=kinds)
        path.parent.mkdir(parents=True, exist_ok=True)
        # A name of its own per writer: two monitors may build the same cache at once,
        # and one renaming a shared temporary file left the other nothing to rename.
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            tmp.write_bytes(dumps(prof))
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
        return prof, "model"
    if full is not None and ref.label and ref.label in full.columns:
        return FrameProfile({"prediction": full.columns[ref.label]}, full.rows), "label"
    ref.notes.append("no reference for predictions; prediction drift is not computed")
    return None, "none"


def _training_rows(
    ws: Any, facts: VersionFacts, ref: Reference, max_rows: int
) -> pl.DataFrame | None:
    """Up to ``max_rows`` of the model's features from its training file, spread over the file.

    The file is the dataset version's verified copy in the artifact store (so a
    dataset registered by upload is read too), else its recorded source. None
    when there is no file to read or no features are known.
    """
    from aims.core import frames
    from aims.services.datasets import dataset_file
    from aims.services.engines.profile_files import is_profile_path

    if not ref.features:
        return None
    if facts.dataset_source and is_profile_path(facts.dataset_source):
        ref.notes.append(
            "the training data is registered as a profile, without rows to run the model on"
        )
        return None
    with dataset_file(ws, facts.dataset_source, facts.dataset_artifact) as path:
        if path is None:
            return None
        source = facts.dataset_source or str(path)
        lazy = frames.scan(path)
        n = int(frames.collect(lazy.select(pl.len()), source).item())
        step = max(1, math.ceil(n / max_rows))
        return frames.collect(lazy.select(ref.features).gather_every(step), source)


def _reference_predictions(
    ws: Any, facts: VersionFacts, ref: Reference, data: pl.DataFrame
) -> pl.DataFrame:
    """The model's outputs on ``data`` (its training rows), as the profiled output columns.

    Raises
    ------
    IntegrityError
        The stored artifact no longer matches its hash.
    ModelFailed
        The model raised while predicting its own training rows.
    """
    from aims.services.registry import load_version

    model = load_version(
        ws,
        {
            "artifact_sha256": facts.artifact_sha256,
            "flavour": facts.flavour,
            "trusted": facts.trusted,
        },
    )
    try:
        pred, proba = model.predict_all(data)
    except Exception as exc:  # the user's model may raise anything; it becomes one typed error
        raise ModelFailed(
            f"{facts.model}@{facts.version} fails on its own training rows "
            f"({type(exc).__name__}: {exc}); the monitor compares traffic with these "
            f"predictions: check the model with 'aims evaluate {facts.model}@{facts.version}'"
        ) from exc
    pred = np.asarray(pred)
    log: dict[str, Any] = {"prediction": [_text(v) for v in pred.tolist()]}
    if ref.task == "classification":
        if proba is not None:
            proba = np.asarray(proba, dtype=float)
            log["proba"] = proba.tolist()
            log["score"] = proba[:, 1] if proba.shape[1] == 2 else proba.max(axis=1)
    else:
        log["prediction"] = [_text(v) for v in pred.astype(float).tolist()]
    frame = pl.DataFrame(log, strict=False)
    return output_frame(frame, ref.task, len(ref.classes or ()) or 2)


def _output_range(
    ref: Reference, full: FrameProfile | None, policy: MonitoringPolicy
) -> tuple[float, float] | None:
    if ref.task != "regression":
        return None
    given = policy.output_range
    source: NumericProfile | None = None
    labels = full.columns.get(ref.label) if full is not None and ref.label else None
    outputs = ref.outputs.columns.get("prediction") if ref.outputs is not None else None
    if isinstance(labels, NumericProfile):
        source = labels
    elif isinstance(outputs, NumericProfile):
        source = outputs
    lo = hi = None
    if source is not None and source.minimum is not None and source.maximum is not None:
        span = source.maximum - source.minimum
        lo = source.minimum - OUTPUT_RANGE_MARGIN * span
        hi = source.maximum + OUTPUT_RANGE_MARGIN * span
    if given is not None:
        lo = given.min if given.min is not None else lo
        hi = given.max if given.max is not None else hi
    if lo is None and hi is None:
        return None
    return (-math.inf if lo is None else lo, math.inf if hi is None else hi)


__all__ = ["OUTPUT_RANGE_MARGIN", "Reference", "VersionFacts", "build_reference", "version_facts"]
