"""Columns of the prediction log and personal-data handling before anything is logged."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

# Stored in every file; ``model`` and ``version`` come from the partition path.
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
)
PARTITION_COLUMNS = ("model", "version", "hour")
RESERVED = frozenset(FIXED_COLUMNS) | frozenset(PARTITION_COLUMNS)
HOUR_FORMAT = "%Y-%m-%dT%H"


def feature_column(name: str) -> str:
    """The log column of input feature ``name`` (prefixed only when it clashes with a fixed one)."""
    return f"input_{name}" if name in RESERVED else name


def hour_of(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime(HOUR_FORMAT)


def apply_pii(
    records: Sequence[Mapping[str, Any]], pii: Mapping[str, str], salt: str
) -> list[dict[str, Any]]:
    """Records with personal-data columns hashed (salted sha256) or dropped, per ``pii``.

    ``pii`` maps a column to ``"hash"`` or ``"drop"``; other columns pass through.
    """
    if not pii:
        return [dict(r) for r in records]
    out = []
    for record in records:
        row = {}
        for col, value in record.items():
            action = pii.get(col)
            if action == "drop":
                continue
            if action == "hash" and value is not None:
                value = hashlib.sha256(f"{salt}:{value}".encode()).hexdigest()[:32]
            row[col] = value
        out.append(row)
    return out
