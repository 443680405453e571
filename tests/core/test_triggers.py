from __future__ import annotations

import pytest

from aims.core.triggers import SliceFacts, WindowFacts, parse_condition
from aims.errors import InvalidInput


def window(**values: float | None) -> WindowFacts:
    return WindowFacts(values=values, rows=1000, n_labelled=0)


@pytest.mark.parametrize(
    "text",
    [
        "psi > 0.25 on >= 3 features for 2 consecutive windows",
        "roc_auc < 0.75 with >= 200 labels",
        "volume_change > 0.4",
        "nan_share > 0",
        "accuracy < 0.7 on any slice with >= 50 labels",
        "drift_score >= 1 on >= 30% of features and prediction_psi > 0.1",
        "psi > 0.2 on all features with >= 100 rows",
    ],
)
def test_canonical_text_round_trips(text: str) -> None:
    parsed = parse_condition(text)
    assert parsed.text() == text
    assert parse_condition(parsed.text()) == parsed


def test_shorthands_and_units() -> None:
    c = parse_condition("VOLUME_CHANGE >= 40% FOR 3 Consecutive Windows")
    assert c.clauses[0].name == "VOLUME_CHANGE"
    assert c.clauses[0].threshold == pytest.approx(0.4)
    assert c.consecutive == 3
    assert parse_condition("psi > 1 on 2 features").text() == "psi > 1 on >= 2 features"
    assert parse_condition("x < -1e-3").clauses[0].threshold == -0.001
    assert parse_condition("psi > 1 on every feature").text() == "psi > 1 on all features"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "non-empty"),
        ("psi >", "expected a number, found nothing at its end"),
        ("psi 0.2", "expected a comparison"),
        ("psi > 0.2 on 2.5 features", "whole number"),
        ("psi > 0.2 on 120% of features", "between 0% and 100%"),
        ("psi > 0.2 for 0 consecutive windows", "at least 1"),
        ("psi > 0.2 for 2 windows", "expected consecutive"),
        ("psi > 0.2 with < 3 labels", "'with' takes '>= N labels'"),
        ("psi > 0.2 banana", "unexpected 'banana'"),
        ("$x > 1", "unexpected text '$x' at position 1"),
        ("psi > 0.2 on 3 columns", "expected feature or features or slice or slices"),
    ],
)
def test_errors_say_what_and_where(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("$", r"\$").replace("(", r"\(")):
        parse_condition(text)


def test_window_clause_compares_and_unknown_values_never_fire() -> None:
    c = parse_condition("nan_share > 0")
    assert c.holds(window(nan_share=0.01)) is True
    assert c.holds(window(nan_share=0.0)) is False
    assert c.holds(window()) is None  # not measured: unknown, not false
    assert c.holds(window(nan_share=float("nan"))) is None
    assert c.check([window()]).fired is False


def test_feature_quantifiers_count_and_share() -> None:
    facts = WindowFacts(
        features={
            "a": {"psi": 0.4},
            "b": {"psi": 0.3},
            "c": {"psi": 0.1},
            "d": {"psi": None},  # not tested (e.g. all null): left out of the total
        },
        rows=500,
    )
    assert parse_condition("psi > 0.25 on >= 2 features").holds(facts) is True
    assert parse_condition("psi > 0.25 on >= 3 features").holds(facts) is False
    assert parse_condition("psi > 0.25 on any feature").holds(facts) is True
    assert parse_condition("psi > 0.25 on all features").holds(facts) is False
    # 2 of the 3 tested features = 66.7 %
    assert parse_condition("psi > 0.25 on >= 60% of features").holds(facts) is True
    assert parse_condition("psi > 0.25 on >= 70% of features").holds(facts) is False
    outcome = parse_condition("psi > 0.25 on >= 2 features").evaluate(facts)
    assert outcome.observed["psi:features"] == {"a": 0.4, "b": 0.3}
    assert outcome.observed["psi:features:total"] == 3
    assert parse_condition("psi > 0.25 on any feature").holds(WindowFacts()) is None


def test_labels_and_rows_qualifiers() -> None:
    c = parse_condition("roc_auc < 0.75 with >= 200 labels")
    low = WindowFacts(values={"roc_auc": 0.6}, n_labelled=199)
    enough = WindowFacts(values={"roc_auc": 0.6}, n_labelled=200)
    assert c.holds(low) is None and c.holds(enough) is True
    rows = parse_condition("psi > 0.1 on any feature with >= 100 rows")
    feats = {"a": {"psi": 0.5}}
    assert rows.holds(WindowFacts(features=feats, rows=99)) is None
    assert rows.holds(WindowFacts(features=feats, rows=100)) is True


def test_slices_need_their_own_labels() -> None:
    c = parse_condition("accuracy < 0.7 on any slice with >= 50 labels")
    facts = WindowFacts(
        slices=[
            SliceFacts("region=north", 40, {"accuracy": 0.2}),  # too few labels: ignored
            SliceFacts("region=south", 80, {"accuracy": 0.9}),
        ],
        n_labelled=120,
    )
    assert c.holds(facts) is False
    facts = WindowFacts(slices=[SliceFacts("region=west", 60, {"accuracy": 0.5})])
    assert c.holds(facts) is True
    assert c.evaluate(facts).observed["accuracy:slices"] == {"region=west": 0.5}


def test_and_needs_every_clause() -> None:
    c = parse_condition("share_drifted > 0.5 and prediction_psi > 0.1")
    assert c.holds(window(share_drifted=0.6, prediction_psi=0.2)) is True
    assert c.holds(window(share_drifted=0.6, prediction_psi=0.05)) is False
    assert c.holds(window(share_drifted=0.6)) is None
    assert c.holds(window(share_drifted=0.1)) is False  # false beats unknown
    assert c.names == {"share_drifted", "prediction_psi"}


def test_consecutive_windows_need_an_unbroken_run() -> None:
    c = parse_condition("volume_change > 0.4 for 3 consecutive windows")
    hot, cold = window(volume_change=0.5), window(volume_change=0.1)
    assert c.check([hot, hot, hot]).fired is True
    assert c.check([cold, hot, hot, hot]).fired is True  # only the last three count
    assert c.check([hot, cold, hot]).fired is False
    assert c.check([hot, None, hot]).fired is False  # a gap breaks the run
    assert c.check([hot, hot]).fired is False  # not enough history yet
    firing = c.check([hot, hot, hot])
    assert firing.observed == {"volume_change": 0.5} and len(firing.outcomes) == 3
