"""Default test per column kind and size; the registry is explicit data."""

from __future__ import annotations

import pytest

from aims.core.drift import TESTS, default_test
from aims.errors import InvalidInput


@pytest.mark.parametrize(
    ("kind", "n_ref", "n_cur", "expected"),
    [
        ("numeric", 1000, 10**6, "ks"),
        ("numeric", 1001, 1001, "wasserstein"),
        ("datetime", 50, 50, "ks"),
        ("categorical", 10**6, 999, "chi_square"),
        ("categorical", 5000, 5000, "jensen_shannon"),
        ("boolean", 2000, 2000, "jensen_shannon"),
    ],
)
def test_default_test(kind: str, n_ref: int, n_cur: int, expected: str) -> None:
    assert default_test(kind, n_ref, n_cur) == expected


def test_unsupported_kind() -> None:
    with pytest.raises(InvalidInput):
        default_test("unsupported", 10, 10)


def test_registry_documents_symmetry() -> None:
    assert {n for n, t in TESTS.items() if not t.symmetric} == {"wasserstein", "kl"}
    assert TESTS["ks"].output == TESTS["chi_square"].output == "p_value"
