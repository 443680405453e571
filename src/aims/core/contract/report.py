"""What checking data against a contract found: one result per rule, and the report over them.

A report passes when no *blocking* rule failed; rules whose ODCS severity is
info or warning are reported as warnings and never refuse the data.
:func:`~aims.core.contract.check.check_contract` builds these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aims.core.contract.rules import Skipped
from aims.errors import ContractViolation

__all__ = ["CheckReport", "RuleResult"]


@dataclass
class RuleResult:
    """The outcome of one rule."""

    rule: str
    column: str | None
    passed: bool
    failing_rows: int | None
    observed: Any
    expected: str
    message: str
    unit: str = "rows"
    blocking: bool = True
    examples: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "rule": self.rule,
            "column": self.column,
            "passed": self.passed,
            "failing_rows": self.failing_rows,
            "observed": self.observed,
            "expected": self.expected,
            "unit": self.unit,
            "blocking": self.blocking,
            "message": self.message,
            "examples": self.examples,
        }


@dataclass
class CheckReport:
    """Every rule's outcome for one dataset; ``passed`` is False if a blocking rule failed."""

    contract: str
    table: str
    source: str
    rows: int
    rules: list[RuleResult]
    skipped: list[Skipped] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def failures(self) -> list[RuleResult]:
        """The blocking rules that failed."""
        return [r for r in self.rules if not r.passed and r.blocking]

    @property
    def warnings(self) -> list[RuleResult]:
        """Failed rules whose ODCS severity is info or warning."""
        return [r for r in self.rules if not r.passed and not r.blocking]

    def summary(self) -> str:
        """One line: how many rules failed, and which."""
        if self.passed:
            return f"{self.source}: all {len(self.rules)} rules of {self.contract!r} pass"
        names = ", ".join(
            f"{r.rule}({r.column})" if r.column else r.rule for r in self.failures[:5]
        )
        more = ", ..." if len(self.failures) > 5 else ""
        return (
            f"{self.source} breaks contract {self.contract!r}: "
            f"{len(self.failures)} of {len(self.rules)} rules fail: {names}{more}"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "contract": self.contract,
            "table": self.table,
            "source": self.source,
            "rows": self.rows,
            "passed": self.passed,
            "n_rules": len(self.rules),
            "n_failed": len(self.failures),
            "rules": [r.to_dict() for r in self.rules],
            "skipped": [s.to_dict() for s in self.skipped],
            "extra_columns": self.extra_columns,
        }

    def raise_for_failures(self) -> None:
        """Raise :class:`~aims.errors.ContractViolation` listing the failures, if any."""
        if not self.passed:
            raise ContractViolation(self.summary(), failures=[r.to_dict() for r in self.failures])
