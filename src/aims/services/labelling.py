"""Attaching ground truth to logged predictions, for ``POST /v1/labels`` and ``aims labels ingest``.

Labels arrive by prediction id, or by the business key named in the model's
input contract (its primary-key column). When the contract marks that key as
personal data to hash, incoming keys are hashed with the same salt as the
logged ones, so the two still meet; a key the contract drops from the log
cannot be used.

Every batch is attributed and audited: each stored row carries who sent it
(``labelled_by``), how (``source``) and the batch id, and one audit event per
batch records the counts, never a label value or a key. A label sent again for
the same prediction is a new row, so the history of overwritten labels stays
queryable (:func:`label_history`); monitoring uses the latest.

Whether a label's id or key is in the log is itself information: a hashed
business key that matches tells the sender that this person was scored. Only
callers who may read the model's log (``reveal_matches``) see the match counts;
for others every label is kept, matching or not, and they learn how many were
accepted, nothing more.

Label values are scalars (a number, a boolean or a text of at most
:data:`MAX_LABEL_CHARS` characters); ids and keys are texts of at most
:data:`MAX_ID_CHARS` characters. Anything else is refused with the row that
broke the rule, before anything is stored.
"""

from __future__ import annotations

import uuid
from typing import Any

import polars as pl

from aims.core.frames import read
from aims.errors import InvalidInput
from aims.services import audit
from aims.storage.predlog import LabelStore, hash_value
from aims.storage.predlog.labels import LabelBy
from aims.workspace import Workspace

BY: tuple[LabelBy, ...] = ("prediction_id", "key")
MAX_LABEL_CHARS = 256
"""Longest text label accepted; ground truth is a class or a number, not a document."""
MAX_ID_CHARS = 256
"""Longest prediction id or business key accepted."""
LOG_READER_ROLE = "scientist"
"""The lowest server role that may read a model's log, and so see label match counts."""
SOURCES = ("api", "cli")
_SCALAR_KINDS = (pl.String, pl.Boolean, pl.Null)


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


def check_label_values(values: pl.Series, *, column: str = "label") -> None:
    """Refuse labels that are not scalars, texts over the limit, or numbers that are not finite.

    Examples
    --------
    >>> check_label_values(pl.Series([1, 0, None]))
    >>> check_label_values(pl.Series([[1, 2]]))
    Traceback (most recent call last):
    ...
    aims.errors.InvalidInput: label column 'label' holds list values; ...
    """
    dtype = values.dtype
    if not (dtype.is_numeric() or isinstance(dtype, _SCALAR_KINDS)):
        raise InvalidInput(
            f"label column {column!r} holds {_kind(dtype)} values; a label is one number, "
            f"boolean or text of at most {MAX_LABEL_CHARS} characters"
        )
    if dtype.is_float():
        bad = values.is_infinite() | values.is_nan()
        if bad.any():
            row = int(bad.arg_max() or 0)
            raise InvalidInput(
                f"label at row {row} is {values[row]}; a numeric label must be a finite number"
            )
    if dtype == pl.String:
        _check_lengths(values, limit=MAX_LABEL_CHARS, what=f"label column {column!r}")


def _kind(dtype: pl.DataType) -> str:
    """A user's word for a non-scalar type: list, object, or Polars' own name."""
    if isinstance(dtype, pl.List | pl.Array):
        return "list"
    if isinstance(dtype, pl.Struct | pl.Object):
        return "object"
    return str(dtype)


def _check_lengths(values: pl.Series, *, limit: int, what: str) -> None:
    lengths = values.str.len_chars()
    longest = lengths.max()
    if isinstance(longest, int) and longest > limit:
        row = int((lengths > limit).arg_max() or 0)
        raise InvalidInput(
            f"{what}: row {row} is {int(lengths[row])} characters long; "
            f"the limit is {limit} characters"
        )


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
    Values are checked (:func:`check_label_values`) before anything is hashed.
    """
    if by not in BY:
        raise InvalidInput(f"labels attach by {' or '.join(BY)}, not {by!r}")
    if label not in frame.columns:
        raise InvalidInput(
            f"the labels lack a {label!r} column (columns: {', '.join(frame.columns)}); "
            "name the label column with --label"
        )
    check_label_values(frame.get_column(label), column=label)
    if by == "prediction_id":
        if "prediction_id" not in frame.columns:
            raise InvalidInput(
                "the labels lack a 'prediction_id' column; attach by business key with --by key"
            )
        ids = _id_text(frame.get_column("prediction_id"), "prediction_id")
        return pl.DataFrame({"prediction_id": ids, "label": frame.get_column(label)})
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
    keys = _id_text(frame.get_column(source), source)
    if key_pii == "hash":
        # Logged keys were hashed from the key's text; hash the same text.
        keys = pl.Series(
            "key", [None if k is None else hash_value(k, salt) for k in keys.to_list()], pl.String
        )
    return pl.DataFrame({"key": keys, "label": frame.get_column(label)})


def _id_text(values: pl.Series, column: str) -> pl.Series:
    """Ids or keys as text, refusing lists, objects and texts over :data:`MAX_ID_CHARS`."""
    if not (values.dtype.is_numeric() or isinstance(values.dtype, _SCALAR_KINDS)):
        raise InvalidInput(
            f"column {column!r} holds {_kind(values.dtype)} values; ids and keys are texts or numbers"
        )
    text = values.cast(pl.String)
    _check_lengths(text, limit=MAX_ID_CHARS, what=f"column {column!r}")
    return text


def ingest_labels(
    ws: Workspace,
    model: str,
    frame: Any,
    *,
    by: str = "prediction_id",
    label: str = "label",
    salt: str,
    actor: str,
    source: str,
    reveal_matches: bool = True,
) -> dict[str, Any]:
    """Store labels for ``model`` in the workspace's prediction log, attributed and audited.

    Parameters
    ----------
    frame
        The labels: a file path or a Polars, pandas or PyArrow table.
    actor
        Who sends them (``apikey:<id>`` for the API, the user at the command line).
    source
        ``"api"`` or ``"cli"``.
    reveal_matches
        Whether the caller may learn which ids or keys are in the log (see the
        module docstring). When false every label is kept, whether its id is
        in the log or not, and the result holds only the counts that do not
        depend on the log.

    Returns
    -------
    dict
        ``model``, ``by``, ``batch``, ``received``, ``accepted``, ``duplicates``,
        ``skipped``, and (only with ``reveal_matches``) ``stored``, ``matched``,
        ``unknown`` and ``unknown_examples``; those are None otherwise.
    """
    if source not in SOURCES:
        raise InvalidInput(f"label source {source!r} is unknown; use one of {', '.join(SOURCES)}")
    if by not in BY:
        raise InvalidInput(f"labels attach by {' or '.join(BY)}, not {by!r}")
    _, key_column, key_pii = model_key_column(ws, model)
    table = read(frame)
    prepared = prepare_labels(
        table, by=by, label=label, key_column=key_column, key_pii=key_pii, salt=salt
    )
    store = LabelStore(ws.settings.prediction_log_url)
    batch = uuid.uuid4().hex
    with ws.db.session() as s:
        # The audit event commits with the session; the label file is written
        # first, inside it, so a refused batch leaves neither.
        result = store.ingest(
            model,
            prepared,
            by=by,
            label="label",
            labelled_by=actor,
            source=source,
            batch=batch,
            # Storing only the labels that match would make the stored count
            # reveal the matches; a caller who may not see them gets every
            # label kept (an id or key may still reach the log later).
            keep_unknown=not reveal_matches,
        )
        audit.record(
            s,
            actor=actor,
            action="labels.ingested",
            subject=f"model:{model}",
            payload={
                "batch": batch,
                "by": by,
                "source": source,
                "received": result.received,
                "stored": result.stored,
                "matched": result.matched,
                "unknown": result.unknown,
                "duplicates": result.duplicates,
                "skipped": result.skipped,
            },
        )
    out: dict[str, Any] = {
        "model": model,
        "by": by,
        "batch": batch,
        "received": result.received,
        "accepted": result.received - result.duplicates,
        "duplicates": result.duplicates,
        "skipped": result.skipped,
        "stored": None,
        "matched": None,
        "unknown": None,
        "unknown_examples": None,
    }
    if reveal_matches:
        out.update(
            stored=result.stored,
            matched=result.matched,
            unknown=result.unknown,
            unknown_examples=result.unknown_examples,
        )
    return out


def label_history(
    ws: Workspace, model: str, ids: list[str], *, by: str = "prediction_id", salt: str
) -> list[dict[str, Any]]:
    """Every label stored for ``ids`` (prediction ids, or business keys as sent), oldest first.

    Keys the contract hashes are hashed here, so the caller gives them as
    they are; a key the contract drops cannot have labels.
    """
    if by not in BY:
        raise InvalidInput(f"labels attach by {' or '.join(BY)}, not {by!r}")
    if not ids:
        raise InvalidInput("name at least one prediction id (or key with --by key)")
    wanted = list(ids)
    if by == "key":
        _, _, key_pii = model_key_column(ws, model)
        if key_pii == "drop":
            raise InvalidInput(
                f"the business key of {model!r} is dropped from the log as personal data; "
                "look labels up by prediction_id"
            )
        if key_pii == "hash":
            wanted = [hash_value(k, salt) for k in ids]
    store = LabelStore(ws.settings.prediction_log_url)
    rows = store.history(model, by, wanted)
    return rows.select(by, "label", "labelled_at", "labelled_by", "source", "batch").to_dicts()


__all__ = [
    "BY",
    "LOG_READER_ROLE",
    "MAX_ID_CHARS",
    "MAX_LABEL_CHARS",
    "SOURCES",
    "check_label_values",
    "ingest_labels",
    "label_history",
    "model_key_column",
    "prepare_labels",
]
