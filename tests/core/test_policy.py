from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from aims.core.evaluation import EvaluationResult, evaluate
from aims.core.policy import (
    DEFAULT_POLICY,
    DEFAULT_POLICY_YAML,
    Approval,
    Policy,
    PromotionFacts,
    check_promotion,
    effective_tier,
    load_policy,
    parse_policy,
    require_all,
    unmet,
    workspace_policy,
)
from aims.core.risk import RiskAssessment
from aims.errors import ConfigError, GateFailed

POLICY = """\
policy:
  default_tier: high
  tiers:
    minimal: {}
    limited:
      approvals: {count: 1}
    high:
      risk_assessment: {required: true, max_age_days: 180}
      approvals: {count: 2, roles: [risk_officer], four_eyes: true}
      owners: [technical, monitoring]
      gates:
        - {metric: roc_auc, min: 0.8}
        - {metric: ece, max: 0.1, task: classification}
        - {metric: "fairness.*.equalized_odds_difference", max: 0.1}
        - {metric: accuracy, no_worse_than_production: 0.01}
    unacceptable:
      prohibited: true
      stages: [staging, production]
  monitoring:
    drift: {psi: 0.2}
"""

FEATURES = ["x1", "x2", "g_b"]
TODAY = dt.date(2025, 3, 1)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(POLICY)


@pytest.fixture(scope="module")
def people() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Generated credit-like data: two groups, the same rule for both."""
    rng = np.random.default_rng(7)
    n = 2_000
    x1, x2, g = rng.normal(size=n), rng.normal(size=n), rng.integers(0, 2, n)
    y = (x1 + 0.5 * x2 + rng.normal(0, 0.5, n) > 0).astype(int)
    frame = pl.DataFrame(
        {"x1": x1, "x2": x2, "g_b": g.astype(float), "group": np.where(g == 1, "b", "a"), "y": y}
    )
    return frame[:1000], frame[1000:]


def _evaluate(model, test: pl.DataFrame, features=FEATURES) -> EvaluationResult:
    return evaluate(
        model,
        test,
        label="y",
        features=features,
        sensitive=["group"],
        robustness=False,
        importance=False,
        data_id="people-v1",
    )


@pytest.fixture(scope="module")
def fair(people) -> EvaluationResult:
    train, test = people
    return _evaluate(LogisticRegression().fit(train.select(FEATURES), train["y"]), test)


@pytest.fixture(scope="module")
def unfair(people) -> EvaluationResult:
    # Trained on data where group b's labels are flipped; judged on the true labels.
    train, test = people
    y = train["y"].to_numpy()
    flipped = np.where(train["g_b"].to_numpy() == 1, 1 - y, y)
    tree = DecisionTreeClassifier(max_depth=4, random_state=0).fit(train.select(FEATURES), flipped)
    return _evaluate(tree, test)


@pytest.fixture(scope="module")
def weaker(people) -> EvaluationResult:
    train, test = people
    return _evaluate(LogisticRegression().fit(train.select(["x2"]), train["y"]), test, ["x2"])


def _risk(tier: str = "high", assessed: str = "2025-01-10", review: str = "2025-07-10"):
    return RiskAssessment.model_validate(
        {
            "intended_use": "credit pre-screening",
            "risk_tier": tier,
            "failure_modes": [{"name": "bias", "likelihood": "possible", "impact": "major"}],
            "data_dependencies": ["people@1"],
            "downstream_impact": "unfair declines",
            "residual_risk": "medium",
            "reviewer": "risk@example.com",
            "assessed_on": assessed,
            "next_review": review,
        }
    )


def _facts(evaluation: EvaluationResult | None, **changes) -> PromotionFacts:
    base = PromotionFacts(
        model="credit",
        version=2,
        target_stage="production",
        today=TODAY,
        registered_by="alice",
        risk=_risk(),
        owners={"technical": "alice@example.com", "monitoring": "ops@example.com"},
        approvals=(Approval("bob", ("risk_officer",)), Approval("carol")),
        evaluation=evaluation,
    )
    return dataclasses.replace(base, **changes)


def _with_gates(*gates: dict) -> Policy:
    data = yaml.safe_load(POLICY)["policy"]
    data["tiers"]["high"]["gates"] = list(gates)
    return parse_policy(data)


def _failed(results) -> set[str]:
    return {r.rule for r in unmet(results)}


def test_a_compliant_version_meets_every_rule(policy, fair):
    results = check_promotion(policy, _facts(fair))
    assert unmet(results) == []
    assert {r.rule for r in results} == {
        "risk_assessment.required",
        "risk_assessment.overdue",
        "risk_assessment.max_age",
        "owners.technical",
        "owners.monitoring",
        "approvals.four_eyes",
        "approvals.count",
        "approvals.role.risk_officer",
        "gate:roc_auc>=0.8",
        "gate:ece<=0.1",
        "gate:fairness.group.equalized_odds_difference<=0.1",
        "gate:accuracy>=production-0.01",
    }


def test_missing_risk_assessment_is_refused_under_the_default_tier(policy, fair):
    facts = _facts(fair, risk=None)
    assert effective_tier(policy, facts) == ("high", "policy default_tier (no risk assessment yet)")
    results = check_promotion(policy, facts)
    assert _failed(results) == {"risk_assessment.required"}
    (rule,) = unmet(results)
    assert "aims risk assess credit --file RISK.yaml" in rule.message


def test_overdue_review_is_refused(policy, fair):
    risk = _risk(assessed="2025-02-01", review="2025-04-01")
    results = check_promotion(policy, _facts(fair, risk=risk, today=dt.date(2025, 4, 2)))
    assert _failed(results) == {"risk_assessment.overdue"}
    assert "review was due on 2025-04-01" in unmet(results)[0].message


def test_stale_assessment_is_refused(policy, fair):
    facts = _facts(fair, risk=_risk(assessed="2024-06-01", review="2025-06-01"))
    results = check_promotion(policy, facts)
    assert _failed(results) == {"risk_assessment.max_age"}
    assert unmet(results)[0].value == 273


def test_too_few_approvals_are_refused(policy, fair):
    results = check_promotion(policy, _facts(fair, approvals=(Approval("bob", ("risk_officer",)),)))
    assert _failed(results) == {"approvals.count"}
    assert "1 of 2 approvals" in unmet(results)[0].message


def test_self_approval_is_refused_and_does_not_count(policy, fair):
    approvals = (Approval("alice", ("risk_officer",)), Approval("bob", ("risk_officer",)))
    results = check_promotion(policy, _facts(fair, approvals=approvals))
    assert _failed(results) == {"approvals.four_eyes", "approvals.count"}
    four_eyes = next(r for r in results if r.rule == "approvals.four_eyes")
    assert "alice registered credit@2 and approved it" in four_eyes.message


def test_approval_from_a_required_role_is_needed(policy, fair):
    results = check_promotion(policy, _facts(fair, approvals=(Approval("bob"), Approval("carol"))))
    assert _failed(results) == {"approvals.role.risk_officer"}


def test_missing_owner_is_refused(policy, fair):
    results = check_promotion(policy, _facts(fair, owners={"technical": "alice@example.com"}))
    assert _failed(results) == {"owners.monitoring"}
    assert "aims model owners credit monitoring=EMAIL" in unmet(results)[0].message


def test_unfair_model_fails_the_fairness_gate(policy, unfair, fair):
    assert unfair.metric("fairness.group.equalized_odds_difference") > 0.3
    results = check_promotion(policy, _facts(unfair))
    assert "gate:fairness.group.equalized_odds_difference<=0.1" in _failed(results)
    assert fair.metric("fairness.group.equalized_odds_difference") < 0.1


def test_miscalibrated_model_fails_the_calibration_gate(policy):
    data = load_breast_cancer(as_frame=True)
    frame = pl.from_pandas(data.frame).rename(lambda c: c.replace(" ", "_"))
    features = [c for c in frame.columns if c != "target"]
    train, test = frame[::2], frame[1::2]

    def run(c: float) -> EvaluationResult:
        # Strong regularisation squeezes probabilities towards the base rate: the
        # ranking stays good (high ROC AUC) while the probabilities lie.
        model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=3000))
        model.fit(train.select(features), train["target"])
        return evaluate(
            model, test, label="target", robustness=False, importance=False, slice_columns=[]
        )

    calibrated, squeezed = run(1.0), run(1e-3)
    only_calibration = _with_gates({"metric": "ece", "max": 0.1})
    assert squeezed.metrics["roc_auc"] > 0.95
    assert squeezed.metrics["ece"] > 0.2
    assert _failed(check_promotion(only_calibration, _facts(squeezed))) == {"gate:ece<=0.1"}
    assert _failed(check_promotion(only_calibration, _facts(calibrated))) == set()


def test_challenger_worse_than_production_is_refused(policy, fair, weaker):
    facts = _facts(weaker, production_version=1, champion_evaluation=fair)
    results = check_promotion(policy, facts)
    assert "gate:accuracy>=production-0.01" in _failed(results)
    rule = next(r for r in results if r.rule == "gate:accuracy>=production-0.01")
    assert rule.threshold == pytest.approx(fair.metrics["accuracy"] - 0.01)
    assert "credit@1" in rule.message
    # The same version as champion and challenger is no worse than itself.
    same = check_promotion(policy, _facts(fair, production_version=1, champion_evaluation=fair))
    assert unmet(same) == []


def test_a_comparison_with_an_earlier_production_version_is_stale(policy, fair, weaker):
    # Evaluated beside v1; v4 went to production since: the figures of v1 say
    # nothing about v4, whichever way they point.
    for challenger, champion in ((fair, weaker), (weaker, fair)):
        facts = _facts(
            challenger, production_version=4, champion_evaluation=champion, champion_version=1
        )
        rule = next(
            r for r in check_promotion(policy, facts) if r.rule == "gate:accuracy>=production-0.01"
        )
        assert not rule.passed
        assert "credit@1" in rule.message and "credit@4" in rule.message
        assert "aims evaluate credit@2" in rule.message
    current = _facts(fair, production_version=4, champion_evaluation=weaker, champion_version=4)
    assert unmet(check_promotion(policy, current)) == []


def test_lower_is_better_metrics_compare_upwards(fair, weaker):
    policy = _with_gates({"metric": "log_loss", "no_worse_than_production": 0.01})
    results = check_promotion(
        policy, _facts(weaker, production_version=1, champion_evaluation=fair)
    )
    assert _failed(results) == {"gate:log_loss<=production+0.01"}


def test_production_without_an_evaluation_on_the_same_data_is_refused(policy, fair):
    rule = "gate:accuracy>=production-0.01"
    no_champion = check_promotion(policy, _facts(fair, production_version=1))
    assert _failed(no_champion) == {rule}
    other_data = dataclasses.replace(fair, data_id="people-v2")
    elsewhere = check_promotion(
        policy, _facts(fair, production_version=1, champion_evaluation=other_data)
    )
    assert _failed(elsewhere) == {rule}
    assert "other data" in unmet(elsewhere)[0].message


def test_every_unmet_rule_is_listed_at_once(policy, unfair):
    facts = _facts(
        unfair,
        today=dt.date(2025, 7, 11),
        owners={},
        approvals=(Approval("alice"),),
    )
    failed = _failed(check_promotion(policy, facts))
    assert failed >= {
        "risk_assessment.overdue",
        "risk_assessment.max_age",
        "owners.technical",
        "owners.monitoring",
        "approvals.four_eyes",
        "approvals.count",
        "approvals.role.risk_officer",
        "gate:fairness.group.equalized_odds_difference<=0.1",
    }


def test_require_all_raises_gate_failed_naming_each_rule(policy, fair):
    results = check_promotion(policy, _facts(fair, risk=None, owners={}))
    with pytest.raises(GateFailed) as info:
        require_all(results, "promotion of credit@2 to production")
    assert info.value.rules == ["risk_assessment.required", "owners.technical", "owners.monitoring"]
    assert "3 rule(s) unmet" in str(info.value)
    assert "[owners.monitoring]" in str(info.value)
    require_all(check_promotion(policy, _facts(fair)), "promotion")  # nothing unmet: no error


def test_unacceptable_tier_is_prohibited(policy, fair):
    facts = _facts(fair, risk=_risk("unacceptable"), target_stage="staging")
    results = check_promotion(policy, facts)
    assert _failed(results) == {"tier.prohibited"}


def test_stages_outside_the_tier_are_not_checked(policy, fair):
    assert check_promotion(policy, _facts(fair, target_stage="staging", risk=None)) == []


def test_lower_tiers_ask_for_less(policy, fair):
    results = check_promotion(policy, _facts(fair, risk=_risk("limited"), approvals=()))
    assert [r.rule for r in results] == [
        "risk_assessment.overdue",
        "approvals.four_eyes",
        "approvals.count",
    ]
    assert _failed(results) == {"approvals.count"}


def test_gates_fail_without_an_evaluation(policy):
    results = check_promotion(policy, _facts(None))
    failed = unmet(results)
    assert {r.rule for r in failed} == {
        "gate:roc_auc>=0.8",
        "gate:ece<=0.1",
        "gate:fairness.*.equalized_odds_difference<=0.1",
        "gate:accuracy>=production-0.01",
    }
    assert all("aims evaluate credit@2 --data PATH" in r.message for r in failed)


def test_gates_for_another_task_are_skipped_and_missing_fairness_fails():
    data = load_diabetes(as_frame=True)
    frame = pl.from_pandas(data.frame)
    features = [c for c in frame.columns if c != "target"]
    model = Ridge().fit(frame.select(features), frame["target"])
    ev = evaluate(model, frame, label="target", robustness=False, importance=False)
    text = POLICY.replace("{metric: roc_auc, min: 0.8}", "{metric: r2, min: 0.3}").replace(
        "no_worse_than_production: 0.01}", "no_worse_than_production: 0.01, task: classification}"
    )
    results = check_promotion(load_policy(text), _facts(ev))
    rules = {r.rule: r for r in results if r.rule.startswith("gate:")}
    assert set(rules) == {"gate:r2>=0.3", "gate:fairness.*.equalized_odds_difference<=0.1"}
    assert rules["gate:r2>=0.3"].passed
    fairness = rules["gate:fairness.*.equalized_odds_difference<=0.1"]
    assert not fairness.passed and "--sensitive COLUMN" in fairness.message
    optional = load_policy(text.replace("max: 0.1}", "max: 0.1, required: false}", 1))
    results = check_promotion(optional, _facts(ev))
    assert unmet(results) == []


# --- parsing ------------------------------------------------------------------------


def test_default_policy_parses_and_is_a_policy_section():
    assert yaml.safe_load(DEFAULT_POLICY_YAML).keys() == {"policy"}
    p = parse_policy(DEFAULT_POLICY)
    assert p.default_tier == "high"
    assert p.tiers["unacceptable"].prohibited
    assert p.tiers["high"].risk_assessment.required
    assert p.monitoring == {}


def test_monitoring_section_is_kept_as_given(policy):
    assert policy.monitoring == {"drift": {"psi": 0.2}}


def _parse_error(data: dict) -> str:
    with pytest.raises(ConfigError) as info:
        parse_policy(data)
    return str(info.value)


def test_errors_name_the_key_path():
    data = yaml.safe_load(POLICY)["policy"]
    data["tiers"]["high"]["gates"][2]["max"] = "low"
    msg = _parse_error(data)
    assert msg.startswith(
        "aims.yaml: policy.tiers.high.gates[2].max: input should be a valid number"
    )


def test_unknown_keys_are_errors():
    data = yaml.safe_load(POLICY)["policy"]
    data["tiers"]["high"]["aprovals"] = {"count": 3}
    data["tiers"]["bogus"] = {}
    msg = _parse_error(data)
    assert "policy.tiers.high.aprovals: unknown key 'aprovals'; allowed keys: stages" in msg
    assert (
        "policy.tiers.bogus: input should be 'minimal', 'limited', 'high' or 'unacceptable'" in msg
    )


def test_every_tier_needs_an_entry():
    data = yaml.safe_load(POLICY)["policy"]
    del data["tiers"]["limited"]
    assert "rules for tier(s) limited are missing" in _parse_error(data)


@pytest.mark.parametrize(
    ("gate", "message"),
    [
        ({"metric": "rocauc", "min": 0.8}, "unknown metric"),
        ({"metric": "roc_auc"}, "a gate needs min, max or no_worse_than_production"),
        ({"metric": "roc_auc", "min": 0.9, "max": 0.8}, "no value can pass"),
        ({"metric": "importance.x1", "no_worse_than_production": 0.1}, "add higher_is_better"),
        ({"metric": "accuracy", "no_worse_than_production": -0.1}, "greater than or equal to 0"),
        (
            {"metric": "accuracy", "min": 0.1, "task": "ranking"},
            "'classification', 'regression' or 'llm'",
        ),
    ],
)
def test_bad_gates_are_refused(gate, message):
    with pytest.raises(ConfigError) as info:
        _with_gates(gate)
    msg = str(info.value)
    assert "policy.tiers.high.gates[0]" in msg and message in msg


def test_policy_files_report_lines(tmp_path: Path):
    text = POLICY.replace("approvals: {count: 2,", "approvals: {count: -2,")
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"{path} line 9: policy.tiers.high.approvals.count"):
        load_policy(path)


def test_workspace_policy_reads_inline_referenced_and_default(tmp_path: Path):
    config = tmp_path / "aims.yaml"
    config.write_text("version: 1\nproject: default\n", encoding="utf-8")
    assert workspace_policy(config) == parse_policy(DEFAULT_POLICY)
    config.write_text("version: 1\n" + POLICY, encoding="utf-8")
    assert workspace_policy(config).monitoring == {"drift": {"psi": 0.2}}
    (tmp_path / "rules.yaml").write_text(POLICY.replace("psi: 0.2", "psi: 0.3"), encoding="utf-8")
    config.write_text("version: 1\npolicy: rules.yaml\n", encoding="utf-8")
    assert workspace_policy(config).monitoring == {"drift": {"psi": 0.3}}
    config.write_text("version: 1\n" + POLICY.replace("default_tier: high", "default_tier: top"))
    with pytest.raises(ConfigError, match=r"aims.yaml line 3: policy.default_tier"):
        workspace_policy(config)


def test_an_empty_tier_means_no_rules():
    p = parse_policy(yaml.safe_load(POLICY.replace("minimal: {}", "minimal:"))["policy"])
    assert p.tiers["minimal"].gates == [] and p.tiers["minimal"].approvals.count == 0


def test_before_any_evaluation_only_the_gates_of_the_models_task_are_listed():
    policy = _with_gates(
        {"metric": "accuracy", "min": 0.8, "task": "classification"},
        {"metric": "r2", "min": 0.5, "task": "regression"},
        {"metric": "shap.x1", "min": 0.01},
    )
    gate_rules = {
        task: {r.rule for r in check_promotion(policy, _facts(None, task=task))}
        - {r.rule for r in check_promotion(_with_gates(), _facts(None))}
        for task in ("classification", "regression", None)
    }
    assert gate_rules["classification"] == {"gate:accuracy>=0.8", "gate:shap.x1>=0.01"}
    assert gate_rules["regression"] == {"gate:r2>=0.5", "gate:shap.x1>=0.01"}
    # An unknown task (an older registration) lists every gate, as before.
    assert gate_rules[None] == {"gate:accuracy>=0.8", "gate:r2>=0.5", "gate:shap.x1>=0.01"}
    unevaluated = check_promotion(policy, _facts(None, task="regression"))
    assert all(not r.passed for r in unevaluated if r.rule.startswith("gate:"))


def test_the_version_in_production_is_never_compared_with_itself(policy, fair, weaker):
    rule = "gate:accuracy>=production-0.01"
    # Evaluated beside v1, then promoted: shown as it stood against v1, not as stale.
    promoted = _facts(fair, production_version=2, champion_evaluation=weaker, champion_version=1)
    result = next(r for r in check_promotion(policy, promoted) if r.rule == rule)
    assert result.passed and "credit@1" in result.message and "credit@2" not in result.message
    # A comparison that failed then still shows as failed: it is not whitewashed.
    worse = _facts(weaker, production_version=2, champion_evaluation=fair, champion_version=1)
    assert rule in _failed(check_promotion(policy, worse))
    # The first version ever in production had nothing to be compared with.
    for first in (
        _facts(fair, production_version=2),
        _facts(fair, production_version=2, champion_evaluation=fair, champion_version=2),
    ):
        result = next(r for r in check_promotion(policy, first) if r.rule == rule)
        assert result.passed and "this version is in production" in result.message
