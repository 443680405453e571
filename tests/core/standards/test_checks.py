"""Evidence checks on hand-built facts, and the catalogues' integrity."""

from __future__ import annotations

import datetime as dt
import doctest
import importlib
from dataclasses import replace

import pytest

import aims.core.standards as standards
from aims.core.standards import CHECKS, STANDARDS, combine, rule, run_rule
from aims.core.standards.facts import (
    AccessFacts,
    ApprovalFacts,
    AuditFacts,
    DatasetFacts,
    EvaluationFacts,
    Facts,
    IncidentFacts,
    ModelFacts,
    MonitorFacts,
    PolicyFacts,
    TransitionFacts,
    VersionFacts,
)
from aims.core.standards.result import Level, fold

NOW = dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC)
HIGH = {
    "stages": ["production"],
    "risk_assessment": {"required": True, "max_age_days": 180},
    "approvals": {"count": 2, "roles": ["approver"], "four_eyes": True},
    "owners": ["deployment"],
    "gates": [{"metric": "accuracy", "min": 0.9}],
}
POLICY = PolicyFacts(
    valid=True,
    default_tier="high",
    tiers={
        "minimal": {"stages": ["production"]},
        "high": HIGH,
        "unacceptable": {"prohibited": True},
    },
)


def version(n: int = 1, stage: str = "production", **kw) -> VersionFacts:
    base = VersionFacts(
        version=n,
        stage=stage,
        flavour="skops",
        trusted=False,
        artifact_sha256="ab" * 32,
        git_commit="c0ffee" * 6,
        has_input_contract=True,
        created_by="ana",
        created_at=NOW - dt.timedelta(days=30),
        datasets=(DatasetFacts("d@1", "cd" * 32, "/data/d.parquet", 100, True, True, "ana"),),
        transitions=(
            TransitionFacts("registered", stage, "ops", "release", NOW - dt.timedelta(days=20)),
        ),
    )
    return replace(base, **kw)


def model(name: str = "m", *versions: VersionFacts, **kw) -> ModelFacts:
    return ModelFacts(name, "p", "ana", versions=versions or (version(),), in_scope=True, **kw)


def facts(*models: ModelFacts, **kw) -> Facts:
    kw.setdefault("policy", POLICY)
    return Facts(NOW, "/ws", "p", models=models, **kw)


def test_combine_and_fold_by_hand() -> None:
    assert combine([]) == "not_applicable"
    assert combine(["met", "met", "not_applicable"]) == "met"
    assert combine(["missing", "missing"]) == "missing"
    assert combine(["missing", "partial"]) == "partial"
    assert fold([]) == "not_applicable"
    assert fold([Level.FULL, Level.FULL]) == "met"
    assert fold([Level.NONE]) == "missing"
    assert fold([Level.FULL, Level.NONE]) == "partial"


def test_approvals_count_against_the_policy() -> None:
    one = ApprovalFacts("bo", ("approver",), "", NOW)
    own = ApprovalFacts("ana", (), "", NOW)  # the registrant: never counts
    m1 = model("a", version(approvals=(one, own)), required_approvals=2)
    m2 = model("b", version(approvals=(one, replace(one, actor="cy"))), required_approvals=2)
    out = run_rule(rule("approval"), facts(m1, m2), (m1, m2))
    assert out.status == "partial" and out.detail == "1 of 2 model(s), 1 in part"
    assert out.gaps == (
        "a@1: 1 of 2 approval(s) by someone other than its registrant (ana); "
        "ask an approver to run `aims approve a@1`",
    )


@pytest.mark.parametrize(
    ("last_end", "labelled_end", "labelled", "level"),
    [
        (NOW - dt.timedelta(days=6, hours=23), None, False, Level.FULL),
        (NOW - dt.timedelta(days=7, hours=1), None, False, Level.SOME),
        (NOW - dt.timedelta(hours=1), None, True, Level.SOME),
        (NOW - dt.timedelta(hours=1), NOW - dt.timedelta(days=2), True, Level.FULL),
        (None, None, False, Level.NONE),
    ],
)
def test_monitoring_recency(last_end, labelled_end, labelled, level) -> None:
    mon = MonitorFacts(3 if last_end else 0, last_end, labelled_end)
    m = model("m", version(monitor=mon))
    found = CHECKS["monitoring"].fn(facts(m), m, days=7, labelled=labelled)
    assert found.level is level


def _incident(i: int, **kw) -> IncidentFacts:
    base = IncidentFacts(i, "drift", "high", "open", "mon", "drift", NOW, NOW, "mon", None, None)
    return replace(base, **kw)


def test_incidents_need_owner_ack_and_resolution_note() -> None:
    quiet = model("quiet")
    out = run_rule(rule("incidents"), facts(quiet), (quiet,))
    assert out.status == "not_applicable" and "no incident" in out.detail
    handled = model("h", incidents=(_incident(1), _incident(2, resolved_at=NOW, resolution="ok")))
    sloppy = model("s", incidents=(_incident(3, resolved_at=NOW, resolution=""),))
    orphan = model("o", incidents=(_incident(4, owner=None, acked_at=None),))
    levels = {m.name: CHECKS["incidents"].fn(facts(m), m).level for m in (handled, sloppy, orphan)}
    assert levels == {"h": Level.FULL, "s": Level.NONE, "o": Level.NONE}
    mixed = model("x", incidents=(_incident(5), _incident(6, owner=None)))
    found = CHECKS["incidents"].fn(facts(mixed), mixed)
    assert found.level is Level.SOME and found.gaps[0].startswith("x: incident #6 has no owner")


def _evaluation(*parts: str, at: dt.datetime = NOW) -> EvaluationFacts:
    return EvaluationFacts(at, "ana", "hold.parquet", 50, {"accuracy": 0.9}, frozenset(parts))


def test_champion_comparison_is_not_asked_of_a_first_release() -> None:
    first = model("m", version(evaluation=_evaluation("metrics")))
    assert CHECKS["evaluation"].fn(facts(first), first, parts=("champion",)).level is Level.FULL
    # v1 went to production before v2 was evaluated, so v2 should have been compared with it.
    v1 = version(1, "archived")
    v1 = replace(
        v1,
        transitions=(
            TransitionFacts("registered", "production", "ops", "r", NOW - dt.timedelta(days=9)),
        ),
    )
    v2 = version(2, evaluation=_evaluation("metrics"))
    later = model("m", v1, v2)
    found = CHECKS["evaluation"].fn(facts(later), later, parts=("metrics", "champion"))
    assert found.level is Level.SOME and "no champion" in found.gaps[0]


def test_policy_partial_when_a_tier_in_use_lacks_a_rule() -> None:
    high = model("h", tier="high")
    low = model("l", tier="minimal")
    found = CHECKS["policy"].fn(facts(high, low), (high, low), needs=("gates", "approvals"))
    assert found.level is Level.SOME
    assert found.gaps == [
        "policy tier minimal does not require gates, approvals; add "
        "policy.tiers.minimal.gates, policy.tiers.minimal.approvals to aims.yaml (docs/policy.md)"
    ]
    broken = facts(high, policy=PolicyFacts(valid=False, error="line 3: bad key"))
    assert CHECKS["policy"].fn(broken, (high,)).level is Level.NONE


def test_roles_api_keys_audit_and_artifacts() -> None:
    m = model()
    people = AccessFacts(people={"cy": ("reviewer",)})
    assert CHECKS["roles"].fn(facts(m, access=people), (m,)).level is Level.SOME  # no approver
    assert CHECKS["roles"].fn(facts(m), (m,)).level is Level.NONE
    keys = AccessFacts(n_active_keys=2, n_keys=3, roles=("reader",), projects=("p",))
    assert CHECKS["api_keys"].fn(facts(m, access=keys), (m,)).level is Level.FULL
    broken = AuditFacts(ok=False, n_events=9, head_seq=9, problem="event 4 edited", problem_seq=4)
    found = CHECKS["audit_chain"].fn(facts(m, audit=broken), (m,))
    assert found.level is Level.NONE and found.evidence[0].event == 4
    pickled = model("p", version(trusted=True, flavour="pickle"))
    assert CHECKS["artifact_integrity"].fn(facts(pickled), pickled).level is Level.SOME


def test_no_model_in_scope_is_missing_with_a_way_out() -> None:
    out = run_rule(rule("risk_assessment"), facts(), ())
    assert out.status == "missing"
    assert "aims promote NAME@VERSION --stage production" in out.gaps[0]


def test_every_catalogue_rule_runs() -> None:
    """Each rule names a registered check with parameters it accepts, and runs on real facts."""
    rich = model(
        "m",
        version(
            approvals=(ApprovalFacts("bo", ("approver",), "ok", NOW),),
            evaluation=_evaluation("metrics", "fairness"),
            monitor=MonitorFacts(1, NOW, NOW),
        ),
        owners={"deployment": "ops"},
        incidents=(_incident(1),),
    )
    f = facts(rich)
    for std in STANDARDS.values():
        for control in std.controls:
            for r in control.rules:
                assert r.name in CHECKS, (std.key, control.id, r.name)
                CHECKS[r.name].params(r.params)  # TypeError on an unknown parameter
                out = run_rule(r, f, (rich,))
                assert out.status in ("met", "partial", "missing", "not_applicable")


def test_catalogues_cover_what_the_report_promises() -> None:
    iso = STANDARDS["iso42001"]
    assert len(iso.controls) == 38
    assert {c.group.split()[0] for c in iso.controls} == {f"A.{n}" for n in range(2, 11)}
    nist = {c.id for c in STANDARDS["nist-ai-rmf"].controls}
    expected = (
        [f"GOVERN {i}" for i in range(1, 7)]
        + [f"MAP {i}" for i in range(1, 6)]
        + [f"MEASURE {i}" for i in range(1, 5)]
        + [f"MANAGE {i}" for i in range(1, 5)]
    )
    assert set(expected) <= nist
    eu = STANDARDS["eu-ai-act"]
    assert {c.applies_to for c in eu.controls} == {"high_risk"}
    for std in STANDARDS.values():
        assert len(set(std.ids)) == len(std.ids), std.key
        for c in std.controls:
            assert c.title and c.description and c.group
            assert c.rules or c.outside, f"{c.id} has neither rules nor advice"


def test_docs_list_every_control_and_rule() -> None:
    from pathlib import Path

    text = (Path(__file__).parents[3] / "docs" / "compliance.md").read_text()
    for std in STANDARDS.values():
        for c in std.controls:
            assert f"| {c.id} | {c.title} |" in text, c.id
    for name in CHECKS:
        assert f"| `{name}" in text, name


def test_unknown_standard_names_the_known_ones() -> None:
    from aims.errors import InvalidInput

    with pytest.raises(InvalidInput, match="iso42001, nist-ai-rmf, eu-ai-act"):
        standards.get_standard("soc2")
    with pytest.raises(ValueError, match="unknown evidence check 'psychic'"):
        run_rule(rule("psychic"), facts(), ())


def test_public_surface_is_sorted() -> None:
    # isort order, as ruff keeps it: CONSTANTS, then Classes, then functions.
    def kind(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert standards.__all__ == sorted(standards.__all__, key=kind)
    for name in standards.__all__:
        assert getattr(standards, name) is not None


@pytest.mark.parametrize(
    "name",
    [
        "aims.core.standards",
        "aims.core.standards.catalogue",
        "aims.core.standards.checks",
        "aims.core.standards.facts",
        "aims.core.standards.result",
        "aims.core.standards.governance_checks",
        "aims.core.standards.technical_checks",
        "aims.core.standards.workspace_checks",
        "aims.core.standards.iso42001",
        "aims.core.standards.nist_ai_rmf",
        "aims.core.standards.eu_ai_act",
        "aims.core.standards.impact",
        "aims.core.standards.report",
    ],
)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
