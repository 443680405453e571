"""Which drift test each column gets, and the thresholds that make a verdict.

The registry below is explicit data: every test aims knows, the column kinds
it applies to, what its number means and its default threshold.

Default test per column (``n`` = non-missing values on the smaller side):

============ ============== ============================= =====================
kind         n <= 1000      n > 1000                      flagged when
============ ============== ============================= =====================
numeric      ``ks``         ``wasserstein`` (normalised)  p < 0.05 / W1/sd >= 0.1
datetime     ``ks``         ``wasserstein`` (normalised)  as numeric
categorical  ``chi_square`` ``jensen_shannon``            p < 0.05 / JS >= 0.1
boolean      ``chi_square`` ``jensen_shannon``            as categorical
============ ============== ============================= =====================

Why: with few rows a distance is mostly sampling noise (the Wasserstein
distance of two samples of the same distribution shrinks like
``1/sqrt(n)``), so a significance test is the fair judge and keeps false
alarms near its level. With many rows every p-value test flags differences
too small to matter (at a million rows KS rejects a 0.5 % shift), and a
profile's binning error alone would look significant; a distance measures the
size of the change and does not grow with ``n``. The thresholds 0.1 put the
smallest drift worth acting on at a tenth of a standard deviation for
numeric data, and for categorical data at JS distance 0.1, which a binary
column reaches when its share moves by about 14 points (50 % to 64 %).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aims.errors import InvalidInput

__all__ = ["SMALL_SAMPLE", "TESTS", "DriftTest", "Output", "default_test", "get_test", "is_drifted"]

SMALL_SAMPLE = 1000
"""Up to this many values (smaller side) a p-value test is the default."""

Output = Literal["distance", "p_value"]


@dataclass(frozen=True)
class DriftTest:
    """One drift test: what it applies to and how its number becomes a verdict.

    ``output == "distance"``: drifted when ``statistic >= threshold``.
    ``output == "p_value"``: drifted when ``p_value < threshold``.
    """

    name: str
    title: str
    kinds: frozenset[str]
    output: Output
    threshold: float
    symmetric: bool


_NUM = frozenset({"numeric", "datetime"})
_ALL = frozenset({"numeric", "datetime", "categorical", "boolean"})

TESTS: dict[str, DriftTest] = {
    "wasserstein": DriftTest(
        "wasserstein", "Wasserstein distance / reference sd", _NUM, "distance", 0.1, False
    ),
    "ks": DriftTest("ks", "Kolmogorov–Smirnov test", _NUM, "p_value", 0.05, True),
    "psi": DriftTest("psi", "population stability index", _ALL, "distance", 0.1, True),
    "jensen_shannon": DriftTest(
        "jensen_shannon", "Jensen–Shannon distance", _ALL, "distance", 0.1, True
    ),
    "chi_square": DriftTest("chi_square", "chi-square test", _ALL, "p_value", 0.05, True),
    "kl": DriftTest("kl", "Kullback–Leibler divergence", _ALL, "distance", 0.1, False),
}


def get_test(name: str) -> DriftTest:
    """The registered test called ``name``."""
    try:
        return TESTS[name]
    except KeyError:
        raise InvalidInput(
            f"unknown drift test {name!r}; use one of {', '.join(sorted(TESTS))}"
        ) from None


def default_test(
    kind: str, n_reference: int, n_current: int, *, small_sample: int = SMALL_SAMPLE
) -> str:
    """The default test for a column of ``kind`` with these numbers of values.

    Examples
    --------
    >>> default_test("numeric", 500, 100_000)
    'ks'
    >>> default_test("categorical", 5000, 5000)
    'jensen_shannon'
    """
    small = min(n_reference, n_current) <= small_sample
    if kind in _NUM:
        return "ks" if small else "wasserstein"
    if kind in ("categorical", "boolean"):
        return "chi_square" if small else "jensen_shannon"
    raise InvalidInput(f"no drift test for columns of kind {kind!r}")


def is_drifted(test: DriftTest, statistic: float, p_value: float | None, threshold: float) -> bool:
    """Apply ``threshold`` the way ``test`` reads it."""
    if test.output == "p_value":
        return p_value is not None and p_value < threshold
    return statistic >= threshold
