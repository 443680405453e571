"""The public surface of aims.core.contract is explicit, sorted and importable."""

from __future__ import annotations

import aims.core.contract as contract


def test_all_is_sorted_and_complete():
    public = {name for name in vars(contract) if not name.startswith("_")}
    modules = {
        "check",
        "health",
        "infer",
        "model",
        "odcs",
        "records",
        "renames",
        "report",
        "rules",
        "severity",
        "compat",
    }
    assert contract.__all__ == sorted(contract.__all__)
    assert set(contract.__all__) == public - modules
    for name in contract.__all__:
        assert getattr(contract, name) is not None
