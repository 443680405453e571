"""Columns that look renamed: a contract column missing from the data, paired with a new one.

When data arrives without a column its contract names and with a column the
contract does not know, the likeliest explanation is a rename upstream. The
check reports the missing column with the guess, and data health uses it to
keep following the column under its new name.
"""

from __future__ import annotations

import difflib

import polars as pl

from aims.core.contract import _types
from aims.core.contract.model import Column

__all__ = ["guess_renames"]


def guess_renames(columns: list[Column], schema: dict[str, pl.DataType]) -> dict[str, str]:
    """Pair contract columns absent from the data with new data columns that look like them.

    A new column is a candidate when its type fits the missing column's
    logical type. The candidate standing where the missing column stood
    (right after the contract column that precedes it) wins; else the most
    similar name, if similar enough; else a lone candidate for a lone missing
    column.

    Examples
    --------
    >>> cols = [Column("id", "integer"), Column("age", "integer"), Column("city", "string")]
    >>> guess_renames(cols, {"id": pl.Int64(), "years": pl.Int64(), "town": pl.String()})
    {'age': 'years', 'city': 'town'}
    """
    names = [c.name for c in columns]
    missing = [c for c in columns if c.name not in schema]
    extra = [n for n in schema if n not in set(names)]
    order = list(schema)
    out: dict[str, str] = {}
    for col in missing:
        fits = [
            n
            for n in extra
            if n not in out.values() and _types.in_family(col.logical_type, schema[n])
        ]
        if not fits:
            continue
        at = names.index(col.name)
        before = [n for n in names[:at] if n in schema or n in out]
        anchor = out.get(before[-1], before[-1]) if before else None
        slot = order.index(anchor) + 1 if anchor is not None else 0
        if slot < len(order) and order[slot] in fits:
            out[col.name] = order[slot]
            continue
        best = max(fits, key=lambda n: difflib.SequenceMatcher(None, col.name, n).ratio())
        similar = difflib.SequenceMatcher(None, col.name.lower(), best.lower()).ratio() >= 0.5
        if similar or (len(fits) == 1 and len(missing) == 1):
            out[col.name] = best
    return out
