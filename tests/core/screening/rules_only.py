"""The rules alone, as the screening tests of single rules read them."""

from __future__ import annotations

from aims.core.screening import ScreeningPolicy
from aims.core.screening.screener import screen

RULES = ScreeningPolicy(learned_signal=False)
"""The default policy without the learned signal: what the rules find, and nothing else."""


def rules(text: str, where: str = "result") -> set[str]:
    """The names of the rules that flag ``text`` at ``where``."""
    return {f.rule for f in screen(text, where, RULES).findings}  # type: ignore[arg-type]
