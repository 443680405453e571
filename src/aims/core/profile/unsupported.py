"""Profile of a column whose values are not compared: its rows and nulls only.

Lists, structs and binary columns have no distribution test; a window column
the reference lacks, or whose type changed since, cannot be compared with it
either. Such columns are still counted, so volume and missing values stay
visible and the profile merges like the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["UnsupportedProfile"]


@dataclass
class UnsupportedProfile:
    """Row and null counts of a column whose values are not compared.

    ``reason`` says why: ``"unsupported"`` (a type without a distribution
    test: lists, structs, binary), ``"new"`` (a window column the reference
    does not have) or ``"mismatch"`` (a window column whose type no longer
    matches the reference's). ``kind`` is the kind its type would have.
    """

    dtype: str
    kind: str = "unsupported"
    rows: int = 0
    nulls: int = 0
    reason: str = "unsupported"

    @property
    def missing(self) -> int:
        return self.nulls

    @property
    def n(self) -> int:
        return self.rows - self.nulls

    def merge(self, other: UnsupportedProfile) -> UnsupportedProfile:
        return UnsupportedProfile(
            self.dtype, self.kind, self.rows + other.rows, self.nulls + other.nulls, self.reason
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "unsupported",
            "kind": self.kind,
            "dtype": self.dtype,
            "rows": self.rows,
            "nulls": self.nulls,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UnsupportedProfile:
        return cls(
            str(data["dtype"]),
            str(data["kind"]),
            int(data["rows"]),
            int(data["nulls"]),
            str(data["reason"]),
        )
