"""The input contract of a model version: what the model consumes, and nothing else.

A model is served behind its input contract: every request is checked against
it before the model runs. That contract must describe the columns the model
reads, so it comes from the model itself (``feature_names_in_`` of a
scikit-learn estimator, the inputs of an ONNX graph) or from a contract the
person registering the version passes. The training data's contract supplies
the rules of those columns (types, ranges, allowed values), restricted to
them: the label and the columns the model never reads are dropped, because a
caller of the prediction API cannot send the answer it is asking for. A
business key (a ``primaryKey`` column) stays: it is how late labels find
their predictions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aims.errors import InvalidInput
from aims.storage.schema import DatasetVersion

__all__ = ["InputContract", "model_input_contract"]


@dataclass(frozen=True)
class InputContract:
    """The contract text a version is registered with, and a note on how it was made."""

    text: str | None
    note: str | None = None


def model_input_contract(
    inputs: Sequence[DatasetVersion],
    info: Mapping[str, Any],
    contract_path: Path | None,
    ws: Any = None,
) -> InputContract:
    """The input contract of a new model version.

    ``info`` is the model's description (``feature_names`` when the model knows
    them). The source of the rules is, in order: the contract at
    ``contract_path``, the first training dataset's contract, or a contract
    inferred from the first training dataset's file. A contract passed
    explicitly is the version's signature: it keeps every column it describes
    (fields the caller sends for the log, such as personal data to hash, are
    legitimate there) as long as it describes all the model's features.
    Otherwise the result holds only the model's features (when known) and a
    business key. In every case a label column is dropped. With the workspace
    ``ws``, the file a contract is inferred from is the dataset's stored copy
    (see :func:`aims.services.datasets.dataset_file`), so data registered by
    upload serves as well as a local file.
    """
    from aims.core import contract as cmod

    features = [str(f) for f in info.get("feature_names") or []]
    if contract_path is not None:
        source = cmod.load_contract(contract_path)
        origin = f"contract {contract_path}"
    else:
        dv = next((d for d in inputs if d.contract), None)
        if dv is not None and dv.contract is not None:
            source = cmod.parse_contract(dv.contract, source=f"contract of {_ref(dv)}")
            origin = f"{_ref(dv)}'s contract"
        else:
            inferred = _inferred(inputs[0], ws) if inputs else None
            if inferred is None:
                return InputContract(None, "no input contract: the training data has none")
            source, origin = inferred, f"a contract inferred from {_ref(inputs[0])}"
    return _restrict(source, features, origin, explicit=contract_path is not None)


def _inferred(dv: DatasetVersion, ws: Any) -> Any:
    """A contract inferred from the dataset's file, or None when it has none to read.

    The recorded source is read when it is still a file; otherwise (data
    registered by upload) the stored copy, scanned as a frame so that the
    contract names no temporary path.
    """
    from aims.core import contract as cmod
    from aims.core import frames
    from aims.services.datasets import dataset_file
    from aims.services.engines.profile_files import is_profile_path

    if is_profile_path(dv.source):
        return None  # a dataset registered by its profile has no rows to infer from
    if Path(dv.source).exists():
        return cmod.infer_contract(dv.source, name=dv.dataset.name)
    if ws is None:
        return None
    with dataset_file(ws, dv.source, dv.artifact_sha256) as path:
        return (
            None if path is None else cmod.infer_contract(frames.scan(path), name=dv.dataset.name)
        )


def _restrict(source: Any, features: list[str], origin: str, *, explicit: bool) -> InputContract:
    from aims.core import contract as cmod

    table = source.table()
    names = table.names
    labels = [c.name for c in table.columns if c.label]
    if features:
        missing = [f for f in features if f not in names]
        if missing:
            raise InvalidInput(
                f"the model reads {', '.join(map(repr, missing))}, which {origin} does not "
                f"describe (it has: {', '.join(names)}); pass the model's own input contract "
                "with --contract FILE (aims contract infer DATA --out FILE, then keep the "
                "model's columns)"
            )
        read_labels = [f for f in features if f in labels]
        if read_labels:
            raise InvalidInput(
                f"the model reads {', '.join(map(repr, read_labels))}, which {origin} marks as "
                "the label; a served model cannot ask for its own answer: retrain it without "
                "that column or fix the contract's aimsLabel"
            )
        # A business key is not read by the model but travels with each request,
        # so that labels arriving later find their prediction by it.
        keys = [c.name for c in table.columns if c.primary_key and not c.label]
        keep = [k for k in keys if k not in features] + features
        if explicit:
            keep = [n for n in names if n not in labels]
    else:
        keep = [n for n in names if n not in labels]
    contract = source.restrict(keep)
    dropped = [n for n in names if n not in keep]
    notes = []
    if not features:
        notes.append(
            f"the model does not name its features: its input contract holds the "
            f"{len(keep)} non-label columns of {origin}; pass --contract FILE if it reads fewer"
        )
    if dropped:
        why = [f"{n} (label)" if n in labels else f"{n} (not read by the model)" for n in dropped]
        shown = ", ".join(why[:8]) + (f" and {len(why) - 8} more" if len(why) > 8 else "")
        notes.append(
            f"input contract: {len(keep)} of the {len(names)} columns of {origin}; dropped {shown}"
        )
    note = "; ".join(notes) or None
    return InputContract(cmod.dump_contract(contract), note)


def _ref(dv: DatasetVersion) -> str:
    return f"{dv.dataset.name}@{dv.version}"
