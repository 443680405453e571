"""Mergeable profile of a categorical column: exact counts with a bounded "other" bucket.

The reference fixes a :class:`CategoricalLayout`: its ``max_categories`` most
frequent values (ties broken by value). A later profile counts exactly

* every layout category (``counts``, in layout order),
* up to ``max_extra`` values outside the layout (``extra``: unseen in the
  reference, or too rare there to be kept), the most frequent first,
* everything else in one ``other`` count,

plus nulls apart. Counts add when profiles merge; merging is exact as long as
the union of ``extra`` values fits in ``max_extra`` (past that the least
frequent extras move to ``other``, which is the bounded part).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from aims.errors import InvalidInput

__all__ = [
    "DEFAULT_MAX_CATEGORIES",
    "DEFAULT_MAX_EXTRA",
    "CategoricalLayout",
    "CategoricalProfile",
    "aligned",
    "fit_layout",
    "profile_labels",
    "value_counts",
]

DEFAULT_MAX_CATEGORIES = 200
DEFAULT_MAX_EXTRA = 50


@dataclass(frozen=True)
class CategoricalLayout:
    """The categories a column is counted on, fixed by the reference."""

    categories: tuple[str, ...]
    max_extra: int = DEFAULT_MAX_EXTRA

    def __post_init__(self) -> None:
        if len(set(self.categories)) != len(self.categories):
            raise InvalidInput("categorical layout has repeated categories")
        if self.max_extra < 0:
            raise InvalidInput(f"max_extra must be >= 0, got {self.max_extra}")

    def to_dict(self) -> dict[str, Any]:
        return {"categories": list(self.categories), "max_extra": self.max_extra}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CategoricalLayout:
        return cls(tuple(str(c) for c in data["categories"]), int(data["max_extra"]))


@dataclass
class CategoricalProfile:
    """Mergeable summary of one categorical (or boolean) column."""

    layout: CategoricalLayout
    kind: str = "categorical"
    dtype: str = "String"
    rows: int = 0
    nulls: int = 0
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    extra: dict[str, int] = field(default_factory=dict)
    other: int = 0

    def __post_init__(self) -> None:
        if self.counts.size == 0:
            self.counts = np.zeros(len(self.layout.categories), dtype=np.int64)

    @property
    def n(self) -> int:
        """Non-null values."""
        return self.rows - self.nulls

    @property
    def missing(self) -> int:
        """Rows that are null."""
        return self.nulls

    def frequencies(self) -> dict[str | None, int]:
        """Every counted category with its count (``other`` under the key ``None``)."""
        out: dict[Any, int] = dict(zip(self.layout.categories, self.counts.tolist(), strict=True))
        out.update(self.extra)
        if self.other:
            out[None] = self.other
        return out

    def merge(self, other: CategoricalProfile) -> CategoricalProfile:
        """The profile of both batches together; layouts must be equal."""
        if other.layout != self.layout:
            raise InvalidInput(
                "cannot merge categorical profiles with different category sets; "
                "build window profiles with profile_like(reference, data)"
            )
        extra = dict(self.extra)
        for k, c in other.extra.items():
            extra[k] = extra.get(k, 0) + c
        kept, spilled = _bound(extra, self.layout.max_extra)
        return CategoricalProfile(
            layout=self.layout,
            kind=self.kind,
            dtype=self.dtype,
            rows=self.rows + other.rows,
            nulls=self.nulls + other.nulls,
            counts=self.counts + other.counts,
            extra=kept,
            other=self.other + other.other + spilled,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "categorical",
            "kind": self.kind,
            "dtype": self.dtype,
            "layout": self.layout.to_dict(),
            "rows": self.rows,
            "nulls": self.nulls,
            "counts": self.counts.tolist(),
            "extra": [[k, c] for k, c in self.extra.items()],
            "other": self.other,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CategoricalProfile:
        return cls(
            layout=CategoricalLayout.from_dict(data["layout"]),
            kind=str(data["kind"]),
            dtype=str(data["dtype"]),
            rows=int(data["rows"]),
            nulls=int(data["nulls"]),
            counts=np.asarray(data["counts"], dtype=np.int64),
            extra={str(k): int(c) for k, c in data["extra"]},
            other=int(data["other"]),
        )


def _bound(extra: dict[str, int], limit: int) -> tuple[dict[str, int], int]:
    """Keep the ``limit`` most frequent extras (ties by value); return the rest's total."""
    ordered = sorted(extra.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = dict(ordered[:limit])
    return kept, sum(c for _, c in ordered[limit:])


def value_counts(labels: pl.Series) -> tuple[list[str], np.ndarray, int]:
    """Distinct non-null values of a string series, their counts, and the null count."""
    nulls = labels.null_count()
    vc = labels.drop_nulls().value_counts(sort=False)
    if vc.height == 0:
        return [], np.zeros(0, dtype=np.int64), nulls
    names = vc.get_column(vc.columns[0]).to_list()
    counts = vc.get_column(vc.columns[1]).to_numpy().astype(np.int64)
    return names, counts, nulls


def fit_layout(
    labels: pl.Series,
    *,
    max_categories: int = DEFAULT_MAX_CATEGORIES,
    max_extra: int = DEFAULT_MAX_EXTRA,
) -> tuple[CategoricalLayout, CategoricalProfile]:
    """Choose the layout from reference ``labels`` and profile them on it.

    The layout keeps the ``max_categories`` most frequent values (ties broken
    by value); the reference's remaining values are counted in ``other``.
    """
    if max_categories < 1:
        raise InvalidInput(f"max_categories must be >= 1, got {max_categories}")
    names, counts, nulls = value_counts(labels)
    order = sorted(range(len(names)), key=lambda i: (-int(counts[i]), names[i]))
    keep = order[:max_categories]
    layout = CategoricalLayout(tuple(names[i] for i in keep), max_extra=max_extra)
    prof = CategoricalProfile(
        layout=layout,
        rows=labels.len(),
        nulls=nulls,
        counts=np.asarray([counts[i] for i in keep], dtype=np.int64),
        other=int(sum(int(counts[i]) for i in order[max_categories:])),
    )
    return layout, prof


def profile_labels(labels: pl.Series, layout: CategoricalLayout) -> CategoricalProfile:
    """Profile string ``labels`` on a fixed ``layout``."""
    names, counts, nulls = value_counts(labels)
    position = {c: i for i, c in enumerate(layout.categories)}
    fixed = np.zeros(len(layout.categories), dtype=np.int64)
    extra: dict[str, int] = {}
    for name, count in zip(names, counts.tolist(), strict=True):
        i = position.get(name)
        if i is None:
            extra[name] = count
        else:
            fixed[i] = count
    kept, spilled = _bound(extra, layout.max_extra)
    return CategoricalProfile(
        layout=layout,
        rows=labels.len(),
        nulls=nulls,
        counts=fixed,
        extra=kept,
        other=spilled,
    )


def aligned(
    ref: CategoricalProfile, cur: CategoricalProfile
) -> tuple[list[str | None], np.ndarray, np.ndarray]:
    """Common category list and both profiles' counts on it.

    Layout categories first, then extras of either profile (sorted), then
    ``None`` for the "other" bucket when either profile has one. Categories
    empty in both are dropped.
    """
    if ref.layout != cur.layout:
        raise InvalidInput(
            "categorical profiles have different category sets; build the current "
            "profile with profile_like(reference, data)"
        )
    names: list[str | None] = list(ref.layout.categories)
    rc = [int(c) for c in ref.counts]
    cc = [int(c) for c in cur.counts]
    for key in sorted(set(ref.extra) | set(cur.extra)):
        names.append(key)
        rc.append(ref.extra.get(key, 0))
        cc.append(cur.extra.get(key, 0))
    if ref.other or cur.other:
        names.append(None)
        rc.append(ref.other)
        cc.append(cur.other)
    r = np.asarray(rc, dtype=np.int64)
    c = np.asarray(cc, dtype=np.int64)
    keep = (r > 0) | (c > 0)
    return [n for n, k in zip(names, keep, strict=True) if k], r[keep], c[keep]
