"""The shape of a control catalogue: standards, their controls, and the evidence rules of each.

A catalogue is plain data. Each :class:`Control` names the evidence checks
(:class:`Rule`, by name, with parameters) that decide its status; the checks
themselves live in :mod:`aims.core.standards.checks`. A control with no rules
is one that aims cannot evidence: its ``outside`` text says what a team does
elsewhere.

Titles and descriptions are short summaries written for aims; they point to
the standard's clause and are not its text.

Examples
--------
>>> c = Control(
...     "X.1",
...     "Risk is assessed",
...     "Each model has a current risk assessment.",
...     rules=(rule("risk_assessment"),),
... )
>>> c.rules[0].name, c.applies_to
('risk_assessment', 'all')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

Scope = Literal["all", "high_risk"]
"""Which models a control is about: every model in the report's scope, or only
those in the high-risk tier (the EU AI Act's obligations for high-risk systems)."""


@dataclass(frozen=True)
class Rule:
    """One evidence check of a control: the check's name and its parameters."""

    name: str
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def describe(self) -> str:
        """``name(key=value, ...)``, as shown in reports."""
        if not self.params:
            return self.name
        args = ", ".join(f"{k}={_show(v)}" for k, v in self.params.items())
        return f"{self.name}({args})"


def _show(value: Any) -> str:
    if isinstance(value, tuple | list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def rule(name: str, **params: Any) -> Rule:
    """A :class:`Rule`; list parameters are frozen to tuples so controls stay hashable data."""
    frozen = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
    return Rule(name, MappingProxyType(frozen))


@dataclass(frozen=True)
class Control:
    """A control (or category, or article) of a standard."""

    id: str
    """The standard's own identifier, e.g. ``A.6.2.4``, ``MEASURE 2``, ``Art. 9``."""
    title: str
    """A short title, written for aims."""
    description: str
    """One or two sentences on what the control asks, written for aims."""
    rules: tuple[Rule, ...] = ()
    """Evidence checks that decide the status; empty means aims cannot evidence it."""
    outside: str = ""
    """What a team must do outside aims (the whole control when ``rules`` is empty)."""
    group: str = ""
    """The heading it is listed under (e.g. ``A.6 AI system life cycle``)."""
    applies_to: Scope = "all"


@dataclass(frozen=True)
class Standard:
    """A catalogue: the controls of one standard, in the standard's order."""

    key: str
    """The name used on the command line (``iso42001``)."""
    title: str
    edition: str
    """Which publication the identifiers follow."""
    controls: tuple[Control, ...]
    note: str = ""
    """Shown at the top of every report for this standard."""

    def control(self, control_id: str) -> Control:
        """The control with ``control_id`` (``KeyError`` naming the known ids when absent)."""
        for c in self.controls:
            if c.id == control_id:
                return c
        raise KeyError(
            f"{self.key} has no control {control_id!r}; known: "
            + ", ".join(c.id for c in self.controls)
        )

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.controls)


__all__ = ["Control", "Rule", "Scope", "Standard", "rule"]
