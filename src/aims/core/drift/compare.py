"""Drift between two datasets: a test per column and a verdict for the whole.

Two ways in, one result (:class:`~aims.core.drift.result.DriftReport`):

* :func:`compare` takes the data itself (file paths or in-memory tables). With
  ``method="exact"`` every statistic is computed on the raw values (equal to
  SciPy's); with ``method="profile"`` both sides are profiled on the
  reference's layout and statistics come from the profiles (fast, bounded
  memory); ``method="auto"`` is exact up to ``exact_max_rows`` rows per side.
* :func:`drift_from_profiles` takes two profiles, for monitoring where only
  profiles are kept (``profile(reference)``, ``profile_like(reference, window)``).

The dataset drifts when at least ``drift_share`` of the columns drift.
Optionally the p-values of p-value tests are Benjamini–Hochberg adjusted
before their threshold is applied.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from aims.core import frames
from aims.core.drift import _counts, ks, wasserstein
from aims.core.drift.chi_square import chi_square_from_counts
from aims.core.drift.choice import default_test, get_test, is_drifted
from aims.core.drift.correction import benjamini_hochberg
from aims.core.drift.jensen_shannon import jensen_shannon_from_counts
from aims.core.drift.kl import kl_from_counts
from aims.core.drift.options import Correction, DriftOptions
from aims.core.drift.psi import psi_from_counts
from aims.core.drift.result import ColumnDrift, DriftReport
from aims.core.profile import categorical as cat
from aims.core.profile import numeric as num
from aims.core.profile.frame import (
    ColumnProfile,
    FrameProfile,
    ProfileOptions,
    Progress,
    UnsupportedProfile,
    profile,
    profile_frame,
    profile_frame_like,
    profile_like,
)
from aims.core.profile.kinds import NUMERIC_KINDS, as_float, as_labels
from aims.errors import InvalidInput

__all__ = [
    "EXACT_MAX_ROWS",
    "Correction",
    "DriftOptions",
    "Method",
    "compare",
    "count_rows",
    "drift_from_profiles",
]

Method = Literal["auto", "exact", "profile"]
EXACT_MAX_ROWS = 50_000
"""``method="auto"`` computes exactly when both sides have at most this many rows."""


# --------------------------------------------------------------------------- column tests
def _coarse_counts(
    edges: np.ndarray, rc: np.ndarray, cc: np.ndarray, bins: int
) -> tuple[np.ndarray, np.ndarray]:
    """Group fine buckets into ~``bins`` cells holding equal reference mass."""
    cum = np.concatenate([[0.0], np.cumsum(rc) / max(rc.sum(), 1)])
    levels = np.arange(1, bins) / bins
    cuts = np.abs(cum[None, :] - levels[:, None]).argmin(axis=1)
    cuts = np.unique(cuts[(cuts > 0) & (cuts < rc.size)])
    starts = np.concatenate([[0], cuts]).astype(np.intp)
    return np.add.reduceat(rc, starts).astype(float), np.add.reduceat(cc, starts).astype(float)


def _from_counts(
    test: str, rc: np.ndarray, cc: np.ndarray, opts: DriftOptions
) -> tuple[float, float | None]:
    if test == "psi":
        return psi_from_counts(rc, cc, eps=opts.eps), None
    if test == "jensen_shannon":
        return jensen_shannon_from_counts(rc, cc), None
    if test == "kl":
        return kl_from_counts(rc, cc, eps=opts.eps), None
    if test == "chi_square":
        r = chi_square_from_counts(rc, cc)
        return r.statistic, r.p_value
    raise InvalidInput(f"test {test!r} needs numeric values")


def _numeric_exact(
    test: str, x: np.ndarray, y: np.ndarray, opts: DriftOptions
) -> tuple[float, float | None, float | None]:
    if test == "wasserstein":
        return wasserstein.normalised_wasserstein(x, y), None, None
    if test == "ks":
        r = ks.ks_2samp(x, y)
        return r.statistic, r.p_value, None
    rc, cc = _counts.quantile_bin_counts(x, y, opts.bins)
    stat, p = _from_counts(test, rc, cc, opts)
    return stat, p, None


def _numeric_profile(
    test: str, ref: num.NumericProfile, cur: num.NumericProfile, opts: DriftOptions
) -> tuple[float, float | None, float | None]:
    edges, rc, cc = num.aligned(ref, cur)
    if test == "wasserstein":
        distance, bound = wasserstein.wasserstein_from_cdfs(edges, rc, cc)
        s = wasserstein.scale(ref.n, ref.mean, ref.variance, cur.n, cur.mean, cur.variance)
        if s <= 0:
            return 0.0, None, 0.0
        return distance / s, None, bound / s
    if test == "ks":
        r_share, c_share = rc / rc.sum(), cc / cc.sum()
        res = ks.ks_from_cdfs(np.cumsum(r_share), np.cumsum(c_share), ref.n, cur.n)
        return res.statistic, res.p_value, float(np.max(np.maximum(r_share, c_share)))
    coarse_r, coarse_c = _coarse_counts(edges, rc, cc, opts.bins)
    stat, p = _from_counts(test, coarse_r, coarse_c, opts)
    return stat, p, None


def _label_counts(ref: pl.Series, cur: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Exact counts of every category seen on either side."""
    r = as_labels(ref).alias("value").drop_nulls().value_counts(name="r")
    c = as_labels(cur).alias("value").drop_nulls().value_counts(name="c")
    # value_counts has no fixed order: sorted, the sums (and so the statistic) repeat exactly.
    joined = r.join(c, on="value", how="full", coalesce=True).fill_null(0).sort("value")
    return joined["r"].to_numpy().astype(float), joined["c"].to_numpy().astype(float)


def _finite(series: pl.Series) -> np.ndarray:
    values = as_float(series.drop_nulls())
    finite: np.ndarray = values[np.isfinite(values)]
    return finite


def _score(output: str, statistic: float, p_value: float | None, threshold: float) -> float:
    if output == "p_value":
        if p_value is None or threshold <= 0 or threshold >= 1:
            return 0.0
        return math.log(max(p_value, 1e-300)) / math.log(threshold)
    return statistic / threshold if threshold > 0 else math.inf


def _infinite(prof: ColumnProfile) -> int:
    """Rows of ``prof`` that are ``inf`` or ``-inf`` (numeric columns only have any)."""
    return int(getattr(prof, "pos_inf", 0)) + int(getattr(prof, "neg_inf", 0))


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _schema_row(name: str, kind: str, note: str) -> ColumnDrift:
    return ColumnDrift(name, kind, "schema", None, None, None, True, math.inf, note=note)


def _untested_row(name: str, kind: str, **fields: Any) -> ColumnDrift:
    """A column not (yet) tested: no test, no statistic, not drifted."""
    return ColumnDrift(name, kind, "none", None, None, None, False, **fields)


def _column(
    name: str,
    ref: ColumnProfile | None,
    cur: ColumnProfile | None,
    opts: DriftOptions,
    raw: tuple[pl.Series, pl.Series] | None,
) -> ColumnDrift:
    if ref is None:
        if cur is None:
            raise InvalidInput(f"column {name!r} is in neither input")
        return _schema_row(name, cur.kind, "not in the reference data")
    if cur is None:
        return _schema_row(name, ref.kind, "missing from the current data")
    if isinstance(cur, UnsupportedProfile) and cur.reason == "mismatch":
        return _schema_row(name, ref.kind, f"type changed from {ref.dtype} to {cur.dtype}")
    if isinstance(ref, UnsupportedProfile):
        return _untested_row(name, ref.kind, note=f"type {ref.dtype} has no drift test")
    method = "exact" if raw is not None else "profile"
    row = _untested_row(
        name,
        ref.kind,
        n_reference=ref.n,
        n_current=cur.n,
        missing_reference=_share(ref.missing, ref.rows),
        missing_current=_share(cur.missing, cur.rows),
        infinite_reference=_share(_infinite(ref), ref.rows),
        infinite_current=_share(_infinite(cur), cur.rows),
        method=method,
    )
    if ref.n == 0 or cur.n == 0:
        if ref.n == 0 and cur.n == 0:
            row.note = "no values on either side (empty, null, NaN or infinite)"
        else:
            side = "reference" if ref.n == 0 else "current"
            row.test, row.drifted, row.score = "presence", True, math.inf
            row.note = f"no values in the {side} data (empty, null, NaN or infinite)"
        return row
    test = opts.tests.get(name) or default_test(
        ref.kind, ref.n, cur.n, small_sample=opts.small_sample
    )
    spec = get_test(test)
    if ref.kind not in spec.kinds:
        raise InvalidInput(
            f"column {name!r} is {ref.kind}; test {test!r} applies to "
            f"{', '.join(sorted(spec.kinds))} columns"
        )
    threshold = float(opts.thresholds.get(name, opts.thresholds.get(test, spec.threshold)))
    bound: float | None = None
    if ref.kind in NUMERIC_KINDS:
        if raw is not None:
            stat, p, bound = _numeric_exact(test, _finite(raw[0]), _finite(raw[1]), opts)
        else:
            if not (isinstance(ref, num.NumericProfile) and isinstance(cur, num.NumericProfile)):
                raise InvalidInput(f"column {name!r}: the two profiles are of different kinds")
            stat, p, bound = _numeric_profile(test, ref, cur, opts)
    else:
        if raw is not None:
            rc, cc = _label_counts(raw[0], raw[1])
        else:
            if not (
                isinstance(ref, cat.CategoricalProfile) and isinstance(cur, cat.CategoricalProfile)
            ):
                raise InvalidInput(f"column {name!r}: the two profiles are of different kinds")
            _, rc, cc = cat.aligned(ref, cur)
        stat, p = _from_counts(test, rc.astype(float), cc.astype(float), opts)
    row.test, row.statistic, row.p_value, row.threshold = test, stat, p, threshold
    row.error_bound = bound
    row.drifted = is_drifted(spec, stat, p, threshold)
    row.score = _score(spec.output, stat, p, threshold)
    return row


def _verdict(rows: list[ColumnDrift], opts: DriftOptions) -> None:
    if opts.correction != "bh":
        return
    tested = [r for r in rows if r.p_value is not None and get_test(r.test).output == "p_value"]
    if not tested:
        return
    adjusted = benjamini_hochberg([r.p_value for r in tested if r.p_value is not None])
    for r, p in zip(tested, adjusted, strict=True):
        r.p_value_adjusted = float(p)
        r.drifted = bool(p < r.threshold)
        r.score = _score("p_value", r.statistic or 0.0, float(p), r.threshold or 0.05)


def _names(ref: FrameProfile, cur: FrameProfile, columns: list[str] | None) -> list[str]:
    if columns is None:
        return list(ref.columns) + [c for c in cur.columns if c not in ref.columns]
    unknown = [c for c in columns if c not in ref.columns and c not in cur.columns]
    if unknown:
        raise InvalidInput(f"column(s) {', '.join(map(repr, unknown))} are in neither input")
    return list(columns)


def _report(
    ref: FrameProfile,
    cur: FrameProfile,
    names: list[str],
    opts: DriftOptions,
    raw: tuple[pl.DataFrame, pl.DataFrame] | None,
    method: str,
) -> DriftReport:
    rows = []
    for name in names:
        pair = None
        if raw is not None and name in raw[0].columns and name in raw[1].columns:
            pair = (raw[0].get_column(name), raw[1].get_column(name))
        rows.append(_column(name, ref.columns.get(name), cur.columns.get(name), opts, pair))
    _verdict(rows, opts)
    return DriftReport(rows, opts.drift_share, opts.correction, method, ref, cur)


def drift_from_profiles(
    reference: FrameProfile,
    current: FrameProfile,
    *,
    columns: list[str] | None = None,
    options: DriftOptions | None = None,
) -> DriftReport:
    """Drift of ``current`` from ``reference``, both profiles on the same layouts.

    Build ``current`` with ``profile_like(reference, data)`` (or merge such
    profiles). Wasserstein and KS come from the binned distribution functions
    and carry an ``error_bound``; PSI, JS, KL and chi-square on numeric
    columns use ``bins`` cells of equal reference mass made of whole buckets.
    Categorical statistics are exact while no category spilled into "other".

    Examples
    --------
    >>> from aims.core.profile import profile, profile_like
    >>> ref = profile(pl.DataFrame({"x": np.arange(5000.0)}))
    >>> cur = profile_like(ref, pl.DataFrame({"x": np.arange(5000.0) + 2500}))
    >>> r = drift_from_profiles(ref, cur).column("x")
    >>> r.test, round(r.statistic, 2), r.drifted
    ('wasserstein', 1.73, True)
    """
    opts = options or DriftOptions()
    return _report(reference, current, _names(reference, current, columns), opts, None, "profile")


# --------------------------------------------------------------------------- data in
def _columns_of(source: Any) -> list[str]:
    if isinstance(source, str | Path):
        return list(frames.schema_of(source))
    return list(frames.to_polars(source).columns)


def count_rows(source: Any) -> int:
    """Number of rows in a data file (from Parquet metadata when it can) or an in-memory frame."""
    if isinstance(source, str | Path):
        path = Path(source)
        if path.suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            try:
                return int(pq.ParquetFile(path).metadata.num_rows)
            except Exception as exc:
                raise InvalidInput(f"{path}: cannot be read as parquet: {exc}") from None
        return int(frames.collect(frames.scan(path).select(pl.len()), str(path)).item())
    return frames.to_polars(source).height


def compare(
    reference: Any,
    current: Any,
    *,
    columns: list[str] | None = None,
    kinds: Mapping[str, str] | None = None,
    method: Method = "auto",
    options: DriftOptions | None = None,
    profile_options: ProfileOptions | None = None,
    exact_max_rows: int = EXACT_MAX_ROWS,
    progress: Progress | None = None,
) -> DriftReport:
    """Drift of ``current`` from ``reference``, column by column.

    Parameters
    ----------
    reference, current
        File paths (Parquet, CSV/TSV, Arrow IPC) or Polars/pandas/PyArrow tables.
    columns
        Columns to compare (default: every column of either input).
    kinds
        Column name -> kind (``numeric``, ``datetime``, ``categorical``,
        ``boolean``), overriding the inferred kind.
    method
        ``"exact"`` (raw values), ``"profile"`` (binned profiles; files are
        streamed) or ``"auto"`` (exact when both sides have at most
        ``exact_max_rows`` rows).
    options
        Tests, thresholds and verdict (:class:`DriftOptions`).
    profile_options
        Profile layout choices (:class:`~aims.core.profile.ProfileOptions`).
    progress
        Called with the rows of each batch when files are streamed.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = pl.DataFrame({"x": rng.normal(0, 1, 5000), "c": ["a", "b"] * 2500})
    >>> cur = pl.DataFrame({"x": rng.normal(0.5, 1, 5000), "c": ["a", "b"] * 2500})
    >>> report = compare(ref, cur)
    >>> report.drifted_columns, report.share_drifted
    (['x'], 0.5)
    """
    if method not in ("auto", "exact", "profile"):
        raise InvalidInput(f"unknown method {method!r}; use auto, exact or profile")
    opts = options or DriftOptions()
    popts = profile_options or ProfileOptions()
    ref_cols, cur_cols = _columns_of(reference), _columns_of(current)
    if columns is not None:
        unknown = [c for c in columns if c not in ref_cols and c not in cur_cols]
        if unknown:
            raise InvalidInput(
                f"column(s) {', '.join(map(repr, unknown))} are in neither input; "
                f"the reference has {', '.join(ref_cols)}"
            )
    want_ref = [c for c in ref_cols if columns is None or c in columns]
    want_cur = [c for c in cur_cols if columns is None or c in columns]
    names = (
        columns if columns is not None else want_ref + [c for c in want_cur if c not in want_ref]
    )
    if method == "auto":
        exact = max(count_rows(reference), count_rows(current)) <= exact_max_rows
        method = "exact" if exact else "profile"
    ref_kinds = {k: v for k, v in (kinds or {}).items() if k in want_ref}
    if method == "exact":
        ref_df = frames.read(reference, want_ref)
        cur_df = frames.read(current, want_cur)
        ref_p = profile_frame(ref_df, kinds=ref_kinds, options=popts)
        cur_p = profile_frame_like(ref_p, cur_df)
        return _report(ref_p, cur_p, list(names), opts, (ref_df, cur_df), "exact")
    if isinstance(reference, str | Path):
        ref_p = profile(
            reference, kinds=ref_kinds, columns=want_ref, options=popts, progress=progress
        )
    else:
        ref_p = profile_frame(frames.read(reference, want_ref), kinds=ref_kinds, options=popts)
    if isinstance(current, str | Path):
        cur_p = profile_like(ref_p, current, columns=want_cur, progress=progress)
    else:
        cur_p = profile_frame_like(ref_p, frames.read(current, want_cur))
    return _report(ref_p, cur_p, list(names), opts, None, "profile")
