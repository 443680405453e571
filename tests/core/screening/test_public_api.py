"""The public surface of aims.core.screening: sorted, importable, and every rule named."""

from __future__ import annotations

import aims.core.screening as screening
from aims.core.screening.exfiltration import EXFILTRATION_URLS, SECRETS
from aims.core.screening.instructions import OVERRIDE, POISONING


def test_all_is_sorted_and_every_name_imports() -> None:
    assert screening.__all__ == sorted(screening.__all__, key=lambda n: (not n.isupper(), n))
    for name in screening.__all__:
        assert getattr(screening, name) is not None


def test_rule_names_are_unique_and_every_pattern_has_triggers() -> None:
    rules = [*OVERRIDE, *POISONING, *SECRETS, *EXFILTRATION_URLS]
    names = [r.name for r in rules]
    assert len(names) == len(set(names))
    assert set(names) <= screening.RULE_NAMES
    assert all(r.triggers for r in rules)
