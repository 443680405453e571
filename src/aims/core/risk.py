"""The risk assessment of a model: what it is for, how it can fail, and who reviewed it.

A risk assessment is a YAML document (see ``docs/policy.md``) recorded with
``aims risk assess NAME --file RISK.yaml``. Each recording is a new version; the
latest one sets the model's risk tier, which selects the rules of the policy.
The tiers follow the EU AI Act's classes: ``minimal``, ``limited``, ``high``
and ``unacceptable``.

Example
-------
>>> ra = load_risk('''
... intended_use: Rank loan applications for manual review.
... risk_tier: high
... failure_modes:
...   - name: misses defaulters in a new region
...     likelihood: possible
...     impact: major
... data_dependencies: [loans@3]
... downstream_impact: Bad loans are approved; losses rise.
... mitigations: [monthly drift review]
... residual_risk: medium
... reviewer: risk@example.com
... assessed_on: 2025-01-10
... next_review: 2025-07-10
... ''')
>>> ra.risk_tier, ra.failure_modes[0].score
('high', 12)
>>> import datetime
>>> ra.is_overdue(datetime.date(2025, 8, 1))
True
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from aims.core import yaml_source
from aims.errors import ConfigError

Tier = Literal["minimal", "limited", "high", "unacceptable"]
TIERS: tuple[Tier, ...] = ("minimal", "limited", "high", "unacceptable")
"""Risk tiers, least to most severe (after the EU AI Act's risk classes)."""

Likelihood = Literal["rare", "unlikely", "possible", "likely", "almost_certain"]
LIKELIHOODS: tuple[Likelihood, ...] = ("rare", "unlikely", "possible", "likely", "almost_certain")
Impact = Literal["negligible", "minor", "moderate", "major", "severe"]
IMPACTS: tuple[Impact, ...] = ("negligible", "minor", "moderate", "major", "severe")
Level = Literal["low", "medium", "high"]

NonEmpty = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class FailureMode(_Strict):
    """One way the model can fail, rated on 5-point likelihood and impact scales."""

    name: NonEmpty
    description: str = ""
    likelihood: Likelihood
    impact: Impact
    mitigation: str = ""

    @property
    def score(self) -> int:
        """Likelihood rank times impact rank, 1 (rare, negligible) to 25 (almost certain, severe).

        References
        ----------
        The 5x5 likelihood-impact matrix of ISO 31000:2018-based risk practice.
        """
        return (LIKELIHOODS.index(self.likelihood) + 1) * (IMPACTS.index(self.impact) + 1)


class DataDependency(_Strict):
    """A data source the model needs (a registered ``NAME@VERSION`` or a description)."""

    name: NonEmpty
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        # A bare string in the YAML list is shorthand for {name: ...}.
        return {"name": value} if isinstance(value, str) else value


class RiskAssessment(_Strict):
    """A recorded risk assessment; field meanings are documented in ``docs/policy.md``."""

    model: str | None = None
    """The model it is about; when given it must match the model it is recorded for."""
    intended_use: NonEmpty
    out_of_scope: list[str] = []
    risk_tier: Tier
    tier_rationale: str = ""
    failure_modes: list[FailureMode] = Field(min_length=1)
    data_dependencies: list[DataDependency] = Field(min_length=1)
    downstream_impact: NonEmpty
    """What happens downstream when the model's performance degrades."""
    mitigations: list[str] = []
    residual_risk: Level
    residual_risk_rationale: str = ""
    reviewer: NonEmpty
    assessed_on: dt.date
    next_review: dt.date

    @field_validator("assessed_on", "next_review", mode="before")
    @classmethod
    def _date_only(cls, value: Any) -> Any:
        # YAML reads 2025-01-10T09:00 as a datetime; only the day matters here.
        return value.date() if isinstance(value, dt.datetime) else value

    @field_validator("next_review")
    @classmethod
    def _review_after_assessment(cls, value: dt.date, info: ValidationInfo) -> dt.date:
        assessed = info.data.get("assessed_on")
        if assessed is not None and value <= assessed:
            raise ValueError(
                f"{value} is not after assessed_on ({assessed}); set the date of the next review"
            )
        return value

    def is_overdue(self, today: dt.date) -> bool:
        """Whether the next review date has passed."""
        return today > self.next_review

    def age_days(self, today: dt.date) -> int:
        """Days since the assessment was made."""
        return (today - self.assessed_on).days

    @property
    def max_score(self) -> int:
        """The highest failure-mode score (likelihood rank times impact rank)."""
        return max(f.score for f in self.failure_modes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (dates as ISO text); :meth:`from_dict` reads it back."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RiskAssessment:
        return cls.model_validate(data)


def load_risk(source: str | Path | dict[str, Any], *, model: str | None = None) -> RiskAssessment:
    """Read and validate a risk assessment.

    Parameters
    ----------
    source
        A path to a YAML file, the YAML text, or an already parsed mapping.
    model
        The model it is recorded for; a ``model:`` key naming another model is
        an error.

    Raises
    ------
    ConfigError
        Naming the file, line and key of every problem found.
    """
    if isinstance(source, dict):
        doc = yaml_source.Document(source, None, "<risk assessment>")
    else:
        text, name = yaml_source.read_text(source, "risk assessment")
        doc = yaml_source.parse(text, name)
    if not isinstance(doc.data, dict):
        raise ConfigError(
            f"{doc.source}: a risk assessment is a YAML mapping of keys "
            f"(intended_use, risk_tier, ...), got {type(doc.data).__name__}"
        )
    risk: RiskAssessment = yaml_source.validate(RiskAssessment, doc)
    if model is not None and risk.model is not None and risk.model != model:
        line = yaml_source.line_of(doc.node, ["model"])
        where = f"{doc.source} line {line}" if line else doc.source
        raise ConfigError(
            f"{where}: model: the assessment is about {risk.model!r}, not {model!r}; "
            "fix the key or record it for the right model"
        )
    return risk


__all__ = [
    "IMPACTS",
    "LIKELIHOODS",
    "TIERS",
    "DataDependency",
    "FailureMode",
    "Impact",
    "Level",
    "Likelihood",
    "RiskAssessment",
    "Tier",
    "load_risk",
]
