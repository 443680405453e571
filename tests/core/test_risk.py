from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from aims.core.risk import RiskAssessment, load_risk
from aims.errors import ConfigError, NotFound

VALID = """\
model: credit-default
intended_use: Rank credit applications for manual review; never decides alone.
out_of_scope: [employment screening]
risk_tier: high
tier_rationale: Access to credit (EU AI Act Annex III 5(b)).
failure_modes:
  - name: misses defaulters in a new region
    likelihood: possible
    impact: major
    mitigation: weekly drift review
  - name: unequal error rates by sex
    likelihood: unlikely
    impact: severe
data_dependencies:
  - credit@3
  - name: bureau-feed
    description: nightly bureau scores
downstream_impact: Bad loans approved; reviewers overloaded.
mitigations: [human review of every decline, monthly fairness report]
residual_risk: medium
reviewer: risk@example.com
assessed_on: 2025-01-10
next_review: 2025-07-10
"""


def test_a_valid_assessment_loads():
    ra = load_risk(VALID)
    assert ra.risk_tier == "high"
    assert ra.model == "credit-default"
    assert ra.assessed_on == dt.date(2025, 1, 10)
    assert [d.name for d in ra.data_dependencies] == ["credit@3", "bureau-feed"]
    assert ra.data_dependencies[1].description == "nightly bureau scores"
    # possible (3) x major (4) and unlikely (2) x severe (5)
    assert [f.score for f in ra.failure_modes] == [12, 10]
    assert ra.max_score == 12


def test_overdue_only_after_the_review_date():
    ra = load_risk(VALID)
    assert not ra.is_overdue(dt.date(2025, 7, 10))
    assert ra.is_overdue(dt.date(2025, 7, 11))
    assert ra.age_days(dt.date(2025, 2, 9)) == 30


def test_round_trip_through_json():
    ra = load_risk(VALID)
    again = RiskAssessment.from_dict(json.loads(json.dumps(ra.to_dict())))
    assert again == ra


def test_load_from_a_file(tmp_path: Path):
    path = tmp_path / "risk.yaml"
    path.write_text(VALID, encoding="utf-8")
    assert load_risk(path) == load_risk(str(path)) == load_risk(VALID)


def test_a_missing_file_is_not_found(tmp_path: Path):
    with pytest.raises(NotFound, match="no such risk assessment file"):
        load_risk(str(tmp_path / "absent.yaml"))


def _error(text: str, **kwargs) -> str:
    with pytest.raises(ConfigError) as info:
        load_risk(text, **kwargs)
    return str(info.value)


def test_errors_name_the_field_and_the_line():
    text = VALID.replace("likelihood: possible", "likelihood: sometimes")
    msg = _error(text)
    assert "line 8: failure_modes[0].likelihood:" in msg
    assert "'sometimes'" in msg and "almost_certain" in msg


def test_unknown_keys_are_errors_listing_the_allowed_ones():
    text = VALID.replace("    impact: severe\n", "    impact: severe\n    owner: bob\n")
    msg = _error(text)
    assert "line 14: failure_modes[1].owner: unknown key 'owner'" in msg
    assert "allowed keys: name, description, likelihood, impact, mitigation" in msg


def test_every_problem_is_reported_at_once():
    text = VALID.replace("risk_tier: high", "risk_tier: severe").replace(
        "residual_risk: medium", "residual_risk: tiny"
    )
    msg = _error(text)
    assert "line 4: risk_tier:" in msg
    assert "line 20: residual_risk:" in msg


def test_missing_keys_are_listed_together():
    msg = _error("intended_use: something\n")
    assert "line 1: (top level): missing required keys risk_tier, failure_modes" in msg
    assert "next_review" in msg


def test_review_date_must_follow_the_assessment():
    msg = _error(VALID.replace("next_review: 2025-07-10", "next_review: 2024-07-10"))
    assert "line 23: next_review: 2024-07-10 is not after assessed_on (2025-01-10)" in msg


def test_invalid_dates_and_empty_text_are_refused():
    assert "line 22: assessed_on:" in _error(VALID.replace("2025-01-10", "2025-13-40"))
    assert "line 2: intended_use:" in _error(
        VALID.replace("intended_use: Rank", "intended_use: ''\n# Rank")
    )


def test_invalid_yaml_names_the_line():
    msg = _error("intended_use: x\nrisk_tier: [high\n")
    assert "not valid YAML" in msg and "line 3" in msg


def test_a_list_is_not_an_assessment():
    assert "is a YAML mapping" in _error("- a\n- b\n")


def test_the_model_named_in_the_file_must_match():
    msg = _error(VALID, model="fraud")
    assert "line 1: model: the assessment is about 'credit-default', not 'fraud'" in msg
    assert load_risk(VALID, model="credit-default").model == "credit-default"


def test_every_tier_is_accepted():
    for tier in ("minimal", "limited", "high", "unacceptable"):
        assert load_risk(VALID.replace("risk_tier: high", f"risk_tier: {tier}")).risk_tier == tier
