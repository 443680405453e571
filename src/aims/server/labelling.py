"""Attaching ground truth to logged predictions, for ``POST /v1/labels`` and ``aims labels ingest``.

Labels arrive by prediction id, or by the business key named in the model's
input contract (its primary-key column). When the contract marks that key as
personal data to hash, incoming keys are hashed with the same salt as the
logged ones, so the two still meet; a key the contract drops from the log
cannot be used.

This module imports nothing from the web stack, so the CLI can use it without
the ``server`` extra.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from aims.errors import InvalidInput
from aims.workspace import Workspace

BY = ("prediction_id", "key")


def model_key_column(ws: Workspace, model: str) -> tuple[str, str | None, str | None]:
    """The model's project, business-key column and the key's PII action (``hash``/``drop``).

    The contract of the production version is used, else the newest version's.
    """
    from aims.core.contract import parse_contract
    from aims.services.registry import get_model

    with ws.db.session() as s:
        m = get_model(s, model)
        project = m.project
        versions = sorted(m.versions, key=lambda v: (v.stage != "production", -v.version))
        text = next((v.input_contract for v in versions if v.input_contract), None)
    if text is None:
        return project, None, None
    contract = parse_contract(text, source=f"input contract of {model}")
    for col in contract.table().columns:
        if col.primary_key and not col.label:
            return project, col.name, col.pii
    return project, None, None


def prepare_labels(
    frame: pl.DataFrame,
    *,
    by: str,
    label: str,
    key_column: str | None,
    key_pii: str | None,
    salt: str,
) -> pl.DataFrame:
    """Labels as the columns :class:`~aims.storage.predlog.LabelStore` takes (``by``, ``label``).

    With ``by="key"`` the key is read from a column named ``key`` or named
    like the contract's key column, and hashed when the contract says so.
    """
    from aims.storage.predlog import hash_value

    if by not in BY:
        raise InvalidInput(f"labels attach by {' or '.join(BY)}, not {by!r}")
    if label not in frame.columns:
        raise InvalidInput(
            f"the labels lack a {label!r} column (columns: {', '.join(frame.columns)}); "
            "name the label column with --label"
        )
    if by == "prediction_id":
        if "prediction_id" not in frame.columns:
            raise InvalidInput(
                "the labels lack a 'prediction_id' column; attach by business key with --by key"
            )
        return frame.select(pl.col("prediction_id"), pl.col(label).alias("label"))
    if key_column is None:
        raise InvalidInput(
            "the model's input contract names no business key (a primaryKey column); "
            "attach labels by prediction_id"
        )
    if key_pii == "drop":
        raise InvalidInput(
            f"the business key {key_column!r} is dropped from the log as personal data; "
            "attach labels by prediction_id"
        )
    source = "key" if "key" in frame.columns else key_column
    if source not in frame.columns:
        raise InvalidInput(
            f"the labels lack the business key: a column 'key' or {key_column!r} "
            f"(columns: {', '.join(frame.columns)})"
        )
    keys = frame.get_column(source)
    if key_pii == "hash":
        # Logged keys were hashed from the key's text; hash the same text.
        keys = pl.Series(
            "key",
            [None if k is None else hash_value(k, salt) for k in keys.cast(pl.String).to_list()],
            pl.String,
        )
    return pl.DataFrame({"key": keys, "label": frame.get_column(label)})


def ingest_labels(
    ws: Workspace,
    model: str,
    frame: Any,
    *,
    by: str = "prediction_id",
    label: str = "label",
    salt: str,
) -> dict[str, Any]:
    """Store labels for ``model`` in the workspace's prediction log; returns what matched."""
    from aims.core.frames import to_polars
    from aims.storage.predlog import LabelStore

    _, key_column, key_pii = model_key_column(ws, model)
    prepared = prepare_labels(
        to_polars(frame), by=by, label=label, key_column=key_column, key_pii=key_pii, salt=salt
    )
    store = LabelStore(ws.settings.prediction_log_url)
    return store.ingest(model, prepared, by=by, label="label").as_dict()
