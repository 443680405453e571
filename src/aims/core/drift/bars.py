"""Reference-vs-current bars: one column's two profiles as shares of rows on one x axis.

The dashboard's distribution charts and the HTML drift report both draw what
:func:`distribution` computes here, so a column looks the same in both. It
reads only profiles (no raw data), so a window of a day and years of training
data are drawn alike.
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

import numpy as np

from aims.core.profile import CategoricalProfile, ColumnProfile, NumericProfile
from aims.core.profile.numeric import aligned

#: Share of the pooled reference and window values a numeric chart's x axis spans.
CENTRAL_MASS = 0.99
#: A numeric chart has about this many bars at most.
MAX_BARS = 30
#: Categories drawn with a bar each; the rest share one "(other)" bar.
TOP_CATEGORIES = 15
#: Labelled ticks on a numeric chart's x axis, at most.
MAX_TICKS = 10
OTHER = "(other)"


def distribution(
    reference: ColumnProfile | None,
    current: ColumnProfile | None,
    *,
    mass: float = CENTRAL_MASS,
    max_bars: int = MAX_BARS,
    top: int = TOP_CATEGORIES,
) -> dict[str, Any] | None:
    """Bars of a column's reference and current profiles on one x axis, as shares of rows.

    Numeric columns get equal-width bins (1, 2 or 5 times a power of ten
    wide, at most about ``max_bars``; centred on integers for integer
    columns) over the range holding the central ``mass`` of the two
    distributions pooled with equal weight, so a small window's drifted tail
    weighs as much as the training data. Values beyond that range are added
    to the outer bars, so nothing is hidden: each side's bars sum to its share
    of finite values. A profile bucket's count is taken as spread evenly over
    the bucket, as :meth:`~aims.core.profile.NumericProfile.quantile` does.

    Categorical columns get one bar for each of the ``top`` categories most
    common in the two pooled and one ``(other)`` bar for the rest.

    Returns None when neither side is a numeric or categorical profile. Keys:
    ``kind``; ``labels`` (one per bar); ``reference`` and ``current`` (shares
    of rows per bar, None for a side without a profile); ``rows``;
    ``missing`` (share of rows null, NaN or infinite); for numeric columns
    also ``edges`` (bar boundaries), ``ticks`` (``[position, label]`` for
    the x axis), ``folded`` (share of rows added to the outer bars) and
    ``mass``.

    Examples
    --------
    >>> import numpy as np
    >>> from aims.core.profile.numeric import NumericLayout, profile_values
    >>> layout = NumericLayout(0.0, 100.0, bins=100)
    >>> ref = profile_values(np.arange(100.0), layout)
    >>> bars = distribution(ref, ref, max_bars=10)
    >>> bars["edges"][0], bars["edges"][-1], len(bars["labels"])
    (0.0, 100.0, 10)
    >>> round(sum(bars["current"]), 6)
    1.0
    """
    sides = {"reference": reference, "current": current}
    first = next((p for p in sides.values() if p is not None), None)
    if isinstance(first, NumericProfile):
        kept = {k: p if isinstance(p, NumericProfile) else None for k, p in sides.items()}
        ref, cur = kept["reference"], kept["current"]
        if ref is not None and cur is not None and ref.layout != cur.layout:
            # profiled on other bins (another version's training data): not comparable
            kept["reference"], first = None, cur
        return _numeric_bars(kept, first, mass, max_bars)
    if isinstance(first, CategoricalProfile):
        kept_c = {k: p if isinstance(p, CategoricalProfile) else None for k, p in sides.items()}
        return _categorical_bars(kept_c, top)
    return None


def _missing(p: NumericProfile | CategoricalProfile | None) -> float | None:
    if p is None:
        return None
    return (p.rows - p.n) / p.rows if p.rows else 0.0


def _numeric_bars(
    sides: dict[str, NumericProfile | None], first: NumericProfile, mass: float, max_bars: int
) -> dict[str, Any]:

    ref, cur = sides["reference"], sides["current"]
    a = ref if ref is not None else first
    b = cur if cur is not None else first
    edges, count_a, count_b = aligned(a, b)
    counts = {
        "reference": count_a if ref is not None else None,
        "current": count_b if cur is not None else None,
    }
    out: dict[str, Any] = {
        "kind": "numeric",
        "rows": {k: (p.rows if p is not None else None) for k, p in sides.items()},
        "missing": {k: _missing(p) for k, p in sides.items()},
        "mass": mass,
    }
    finite = [c / c.sum() for c in counts.values() if c is not None and c.sum() > 0]
    if not finite:
        empty: dict[str, list[float] | None] = {
            k: ([] if p is not None else None) for k, p in sides.items()
        }
        folded = {k: (0.0 if p is not None else None) for k, p in sides.items()}
        return {**out, **empty, "edges": [], "labels": [], "ticks": [], "folded": folded}
    pooled = np.mean(finite, axis=0)
    cdf = np.concatenate([[0.0], np.cumsum(pooled)])
    tail = (1.0 - mass) / 2
    lo, hi = (float(x) for x in np.interp([tail, 1.0 - tail], cdf, edges))
    integer = a.dtype.startswith(("Int", "UInt"))
    grid, step = _grid(lo, hi, float(edges[0]), float(edges[-1]), max_bars, integer)
    below_any = above_any = False
    for key, c in counts.items():
        p = sides[key]
        if c is None or p is None:
            out[key], out.setdefault("folded", {})[key] = None, None
            continue
        cum = np.concatenate([[0.0], np.cumsum(c, dtype=np.float64)])
        at = np.interp(grid, edges, cum)
        bars = np.diff(at)
        below, above = float(at[0]), float(cum[-1] - at[-1])
        bars[0] += below
        bars[-1] += above
        rows = p.rows or 1
        out[key] = (bars / rows).tolist()
        out.setdefault("folded", {})[key] = (below + above) / rows
        below_any, above_any = below_any or below > 0, above_any or above > 0
    out["edges"] = grid.tolist()
    out["labels"] = _bar_labels(grid, step, integer, below_any, above_any)
    out["ticks"] = _ticks(grid, step, integer)
    return out


def _nice_step(raw: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten that is at least ``raw`` (> 0)."""
    power = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 5.0):
        if m * power >= raw * (1 - 1e-9):
            return m * power
    return 10.0 * power


def _grid(
    lo: float, hi: float, full_lo: float, full_hi: float, max_bars: int, integer: bool
) -> tuple[np.ndarray, float]:
    """Bar edges covering ``[lo, hi]`` and their spacing (0 when the spacing is uneven)."""
    if not hi > lo:
        lo, hi = full_lo, full_hi
    if not hi > lo:  # one value only: a bar around it
        half = max(abs(lo) * 0.05, 1.0 if integer else 1e-3)
        lo, hi = lo - half, hi + half
    raw = (hi - lo) / max_bars
    if not (math.isfinite(raw) and raw > 0):
        return np.linspace(lo, hi, max_bars + 1), 0.0
    step = _nice_step(raw)
    # Integer columns: edges at half-integers, so each value sits inside one bar.
    shift = 0.5 if integer else 0.0
    if integer:
        step = max(step, 1.0)
    first, last = math.floor((lo + shift) / step), math.ceil((hi + shift) / step)
    last = max(last, first + 1)
    if last - first > 2 * max_bars + 2:  # float rounding at extreme magnitudes
        return np.linspace(lo, hi, max_bars + 1), 0.0
    decimals = max(0, 1 - math.floor(math.log10(step)))
    return np.round(np.arange(first, last + 1) * step, decimals) - shift, step


def _fmt(value: float, spacing: float) -> str:
    """``value`` with as many decimals as ``spacing`` (a 1-2-5 step) needs."""
    if abs(value) >= 1e6 or spacing <= 0:
        text = f"{value:.4g}"
    else:
        text = f"{value:.{max(0, -math.floor(math.log10(spacing) + 1e-9))}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _bar_labels(
    grid: np.ndarray, step: float, integer: bool, below: bool, above: bool
) -> list[str]:
    if integer and step == 1:
        labels = [_fmt(e + 0.5, 1) for e in grid[:-1]]
    elif integer and step:
        labels = [f"{_fmt(e + 0.5, step)}–{_fmt(f - 0.5, step)}" for e, f in pairwise(grid)]
    else:
        labels = [f"[{_fmt(e, step)}, {_fmt(f, step)})" for e, f in pairwise(grid)]
    # the outer bars also hold what lies beyond them
    if below:
        labels[0] = f"≤ {_fmt(grid[1] - 0.5, step)}" if integer else f"< {_fmt(grid[1], step)}"
    if above:
        edge = grid[-2] + (0.5 if integer else 0.0)
        labels[-1] = f"≥ {_fmt(edge, step)}"
    return labels


def _ticks(grid: np.ndarray, step: float, integer: bool) -> list[list[Any]]:
    """At most ``MAX_TICKS`` x-axis ticks on bar edges (on integer values for integer columns)."""
    if not step:
        every = max(1, math.ceil(grid.size / MAX_TICKS))
        return [[float(e), _fmt(float(e), 0)] for e in grid[::every]]
    shift = 0.5 if integer else 0.0
    index = np.rint((grid + shift) / step).astype(np.int64)
    # tick spacing: a 1-2-5 number that is a whole number of bars
    spacing = _nice_step(step * grid.size / MAX_TICKS) if grid.size > MAX_TICKS else step
    while abs(spacing / step - round(spacing / step)) > 1e-6:
        spacing = _nice_step(spacing * 1.01)
    every = max(1, round(spacing / step))
    return [
        [float(e + shift), _fmt(float(i * step), spacing)]
        for e, i in zip(grid, index, strict=True)
        if i % every == 0
    ]


def _categorical_bars(sides: dict[str, CategoricalProfile | None], top: int) -> dict[str, Any]:
    freqs = {k: (p.frequencies() if p is not None else None) for k, p in sides.items()}
    present = [f for f in freqs.values() if f and sum(f.values()) > 0]
    pooled: dict[Any, float] = {}
    for f in present:
        total = sum(f.values())
        for value, count in f.items():
            pooled[value] = pooled.get(value, 0.0) + count / total / len(present)
    named = sorted((v for v in pooled if v is not None), key=lambda v: (-pooled[v], str(v)))
    shown, rest = named[:top], named[top:]
    other = bool(rest) or None in pooled
    out: dict[str, Any] = {
        "kind": "categorical",
        "labels": [str(v) for v in shown] + ([OTHER] if other else []),
        "rows": {k: (p.rows if p is not None else None) for k, p in sides.items()},
        "missing": {k: _missing(p) for k, p in sides.items()},
    }
    for key, counted in freqs.items():
        p = sides[key]
        if counted is None or p is None:
            out[key] = None
            continue
        rows = p.rows or 1
        shares = [counted.get(v, 0) / rows for v in shown]
        if other:
            shares.append((sum(counted.get(v, 0) for v in rest) + counted.get(None, 0)) / rows)
        out[key] = shares
    return out


__all__ = ["CENTRAL_MASS", "MAX_BARS", "MAX_TICKS", "OTHER", "TOP_CATEGORIES", "distribution"]
