"""Columns of the prediction log, text form of predictions and labels, personal data.

Every log file holds the fixed columns below plus one column per input
feature; ``model`` and ``version`` come from the partition path. Predictions
and labels are compared as text, so both go through :func:`as_text` (Python
values) or :func:`text_column` (Polars columns), which write an integral float
like ``1.0`` as ``"1"`` and booleans as ``"true"``/``"false"``: a class sent as
``1`` and labelled ``1.0`` then matches.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from aims.clock import utc
from aims.errors import InvalidInput

if TYPE_CHECKING:
    import polars as pl

    FIXED_SCHEMA: dict[str, pl.DataType]
    PARTITION_SCHEMA: dict[str, pl.DataType]

__all__ = [
    "FIXED_COLUMNS",
    "FIXED_SCHEMA",
    "HASH_HEX",
    "HOUR_FORMAT",
    "PARTITION_COLUMNS",
    "PARTITION_SCHEMA",
    "RESERVED",
    "ROLES",
    "PiiAction",
    "Role",
    "apply_pii",
    "apply_pii_frame",
    "as_text",
    "check_pii",
    "check_role",
    "feature_column",
    "hash_value",
    "hour_of",
    "text_column",
]

#: Columns every log file holds; their types are :data:`FIXED_SCHEMA`.
FIXED_COLUMNS = (
    "prediction_id",
    "request_id",
    "role",
    "ts",
    "latency_ms",
    "prediction",
    "score",
    "proba",
    "key",
    # The input contract's warn rules the row broke, as "field:rule,..." (null: none).
    "contract_warnings",
)
#: Columns taken from the partition path (``hour`` is only used for pruning).
PARTITION_COLUMNS = ("model", "version", "hour")


def _fixed_schema() -> dict[str, pl.DataType]:
    import polars as pl

    types = (pl.String(), pl.String(), pl.String(), pl.Datetime("us", "UTC"), pl.Float64(),
             pl.String(), pl.Float64(), pl.List(pl.Float64()), pl.String(), pl.String())  # fmt: skip
    return dict(zip(FIXED_COLUMNS, types, strict=True))


def _partition_schema() -> dict[str, pl.DataType]:
    import polars as pl

    return dict(zip(PARTITION_COLUMNS, (pl.String(), pl.Int64(), pl.String()), strict=True))


def __getattr__(name: str) -> Any:
    # The Polars types are made when first asked for, so that the names, the
    # hashing of personal data and the hour format can be used (by the span
    # store, the MCP tools) without loading Polars.
    make = {"FIXED_SCHEMA": _fixed_schema, "PARTITION_SCHEMA": _partition_schema}.get(name)
    if make is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = make()
    globals()[name] = value
    return value


RESERVED = frozenset(FIXED_COLUMNS) | frozenset(PARTITION_COLUMNS)
HOUR_FORMAT = "%Y-%m-%dT%H"
ROLES = ("production", "canary", "shadow")
Role = Literal["production", "canary", "shadow"]
PiiAction = Literal["hash", "drop"]
PII_ACTIONS: tuple[PiiAction, ...] = ("hash", "drop")
"""What may happen to a personal-data column before it is logged."""
#: Hex digits kept of a hashed value: 128 bits, no practical collisions.
HASH_HEX = 32


def feature_column(name: str) -> str:
    """The log column of input feature ``name``: prefixed only when it clashes with a fixed one.

    Examples
    --------
    >>> feature_column("age"), feature_column("score")
    ('age', 'input_score')
    """
    return f"input_{name}" if name in RESERVED else name


def hour_of(ts: datetime) -> str:
    """The ``hour=`` partition value of ``ts`` (UTC).

    Examples
    --------
    >>> from datetime import UTC
    >>> hour_of(datetime(2026, 3, 1, 9, 59, tzinfo=UTC))
    '2026-03-01T09'
    """
    return utc(ts).strftime(HOUR_FORMAT)


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"role is one of {', '.join(ROLES)}, not {role!r}")
    return role


def as_text(value: Any) -> str | None:
    """The stored text of a prediction or label value.

    Examples
    --------
    >>> [as_text(v) for v in (1, 1.0, 2.5, True, "yes", None)]
    ['1', '1', '2.5', 'true', 'yes', None]
    """
    if value is None or isinstance(value, str):
        return value
    if hasattr(value, "item") and not isinstance(value, list | tuple | dict):
        value = value.item()  # a NumPy scalar
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
        return repr(value)
    return str(value)


def text_column(column: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """The Polars version of :func:`as_text` for a column of type ``dtype``."""
    import polars as pl

    if dtype == pl.String:
        return column
    if dtype == pl.Boolean:
        return column.cast(pl.String)  # Polars already writes "true"/"false"
    if dtype.is_float():
        return (
            pl.when(column.is_nan())
            .then(None)
            .when(column == column.round(0))
            .then(column.cast(pl.Int64, strict=False).cast(pl.String))
            .otherwise(column.cast(pl.String))
        )
    return column.cast(pl.String)


def hash_value(value: Any, salt: str | bytes) -> str:
    """Keyed SHA-256 (HMAC) of ``value``'s text, the first :data:`HASH_HEX` hex digits.

    A keyed hash rather than a bare one: without the workspace salt nobody can
    confirm a guessed value (an e-mail address, a phone number) by hashing it.

    Examples
    --------
    >>> hash_value("a@example.org", "s") == hash_value("a@example.org", "s")
    True
    >>> hash_value("a@example.org", "s") == hash_value("a@example.org", "t")
    False
    """
    key = salt.encode() if isinstance(salt, str) else salt
    text = value if isinstance(value, str) else str(value)
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:HASH_HEX]


def check_pii(pii: Mapping[str, str]) -> dict[str, PiiAction]:
    """Validate a column -> ``"hash"``/``"drop"`` map."""
    out: dict[str, PiiAction] = {}
    for col, action in pii.items():
        if action not in PII_ACTIONS:
            raise InvalidInput(
                f"personal-data action for {col!r} is 'hash' or 'drop', not {action!r}"
            )
        out[col] = action
    return out


def apply_pii(
    records: Sequence[Mapping[str, Any]], pii: Mapping[str, str], salt: str | bytes
) -> list[dict[str, Any]]:
    """Records with personal-data columns hashed (see :func:`hash_value`) or dropped.

    Parameters
    ----------
    records
        Input rows, one mapping per prediction.
    pii
        Column -> ``"hash"`` or ``"drop"`` (from the contract's ``aimsPii``);
        other columns pass through unchanged. Nulls stay null.
    salt
        The workspace secret the hashes are keyed with.

    Examples
    --------
    >>> rows = apply_pii([{"email": "a@x.org", "ssn": "1", "x": 3}], {"email": "hash", "ssn": "drop"}, "s")
    >>> sorted(rows[0]), len(rows[0]["email"])
    (['email', 'x'], 32)
    """
    actions = check_pii(pii)
    if not actions:
        return [dict(r) for r in records]
    out = []
    for record in records:
        row = {}
        for col, value in record.items():
            action = actions.get(col)
            if action == "drop":
                continue
            if action == "hash" and value is not None:
                value = hash_value(value, salt)
            row[col] = value
        out.append(row)
    return out


def apply_pii_frame(frame: pl.DataFrame, pii: Mapping[str, str], salt: str | bytes) -> pl.DataFrame:
    """:func:`apply_pii` for a columnar batch of inputs."""
    import polars as pl

    actions = check_pii(pii)
    drop = [c for c, a in actions.items() if a == "drop" and c in frame.columns]
    frame = frame.drop(drop)
    hashed = [
        pl.Series(c, [None if v is None else hash_value(v, salt) for v in frame[c]], pl.String)
        for c, a in actions.items()
        if a == "hash" and c in frame.columns
    ]
    return frame.with_columns(hashed) if hashed else frame
