"""Drift detection: per-column tests, from raw data or from profiles, and a dataset verdict.

Each test is a pure function with explicit numerical parameters:

* :func:`psi` / :func:`psi_from_counts` — population stability index
* :func:`ks_2samp` — two-sample Kolmogorov–Smirnov test
* :func:`wasserstein` / :func:`normalised_wasserstein` — Wasserstein-1 distance
* :func:`jensen_shannon` / :func:`jensen_shannon_from_counts` — Jensen–Shannon distance
* :func:`chi_square` / :func:`chi_square_from_counts` — chi-square test of homogeneity
* :func:`kl_divergence` / :func:`kl_from_counts` — Kullback–Leibler divergence

:func:`compare` runs the default (or chosen) test on every column of two
datasets; :func:`drift_from_profiles` does the same from two profiles.
"""

from __future__ import annotations

from aims.core.drift.chi_square import chi_square, chi_square_from_counts
from aims.core.drift.choice import TESTS, DriftTest, default_test
from aims.core.drift.compare import (
    EXACT_MAX_ROWS,
    DriftOptions,
    compare,
    drift_from_profiles,
)
from aims.core.drift.correction import benjamini_hochberg
from aims.core.drift.jensen_shannon import jensen_shannon, jensen_shannon_from_counts
from aims.core.drift.kl import kl_divergence, kl_from_counts
from aims.core.drift.ks import TestResult, ks_2samp
from aims.core.drift.psi import psi, psi_from_counts
from aims.core.drift.result import ColumnDrift, DriftReport
from aims.core.drift.wasserstein import normalised_wasserstein, wasserstein

__all__ = [
    "EXACT_MAX_ROWS",
    "TESTS",
    "ColumnDrift",
    "DriftOptions",
    "DriftReport",
    "DriftTest",
    "TestResult",
    "benjamini_hochberg",
    "chi_square",
    "chi_square_from_counts",
    "compare",
    "default_test",
    "drift_from_profiles",
    "jensen_shannon",
    "jensen_shannon_from_counts",
    "kl_divergence",
    "kl_from_counts",
    "ks_2samp",
    "normalised_wasserstein",
    "psi",
    "psi_from_counts",
    "wasserstein",
]
