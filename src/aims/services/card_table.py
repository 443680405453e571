"""Tables of text cells, as the model card's view model holds them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Table:
    """A table of text cells; ``rows`` is empty when there is nothing to list."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def of(cls, records: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> Table:
        """One row per record, the named columns in order (missing ones blank)."""
        return cls(tuple(columns), tuple(tuple(cell(r.get(c)) for c in columns) for r in records))


def cell(value: Any) -> str:
    """A value as table text: floats to four decimals, ``None`` blank.

    Examples
    --------
    >>> cell(0.123456), cell(None), cell(3)
    ('0.1235', '', '3')
    """
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


__all__ = ["Table", "cell"]
