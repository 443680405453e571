"""What the dashboard draws: bars from stored profiles, checked against the raw values."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter

import numpy as np
import polars as pl
import pytest
from sqlalchemy import select

from aims.core.drift import bars as drift_bars
from aims.core.drift.bars import distribution
from aims.core.profile import NumericLayout, profile_frame, profile_frame_like
from aims.services import dashboard
from aims.services.monitor import run_once
from aims.storage.predlog import PredictionLogReader
from aims.storage.schema import MonitorWindow
from tests.services.monitor.conftest import (
    FEATURES,
    HOUR,
    T0,
    Synthetic,
    Traffic,
    make_synthetic,
    serve,
)

# A bar's share may differ from the exact one by the mass of the profile bucket
# split at each of its two edges (1024 core bins over the reference's range).
BUCKET_TOLERANCE = 0.01


def _profiles(ref: pl.DataFrame, cur: pl.DataFrame):  # type: ignore[no-untyped-def]
    reference = profile_frame(ref)
    return reference, profile_frame_like(reference, cur)


def _pooled_quantiles(a: np.ndarray, b: np.ndarray, levels: list[float]) -> np.ndarray:
    """Quantiles of the mixture that gives ``a`` and ``b`` equal weight."""
    values = np.concatenate([a, b])
    weights = np.concatenate([np.full(a.size, 0.5 / a.size), np.full(b.size, 0.5 / b.size)])
    order = np.argsort(values)
    cdf = np.cumsum(weights[order])
    return values[order][np.searchsorted(cdf, levels)]


def _is_nice(step: float) -> bool:
    mantissa = step / 10 ** math.floor(math.log10(step))
    return any(math.isclose(mantissa, m) for m in (1, 2, 5))


def test_numeric_bars_span_the_central_mass_and_fold_the_tails() -> None:
    rng = np.random.default_rng(3)
    ref_x = rng.normal(10.0, 4.0, 20_000)
    # a drifted, long-tailed window, with a few outliers far past the reference's range
    cur_x = np.concatenate([rng.exponential(15.0, 1_972), np.full(8, 5_000.0), [np.nan] * 20])
    ref, cur = _profiles(pl.DataFrame({"x": ref_x}), pl.DataFrame({"x": cur_x}))
    bars = distribution(ref["x"], cur["x"], mass=0.99, max_bars=30)
    assert bars is not None and bars["kind"] == "numeric"

    edges = np.asarray(bars["edges"])
    steps = np.diff(edges)
    assert np.allclose(steps, steps[0]) and _is_nice(steps[0])
    assert len(bars["labels"]) == edges.size - 1 <= 32
    finite_cur = cur_x[np.isfinite(cur_x)]
    lo, hi = _pooled_quantiles(ref_x, finite_cur, [0.005, 0.995])
    assert edges[0] <= lo + BUCKET_TOLERANCE * (hi - lo) and edges[-1] >= hi - steps[0]
    assert edges[0] > lo - 2 * steps[0] and edges[-1] < hi + 2 * steps[0]

    for key, raw in (("reference", ref_x), ("current", cur_x)):
        shares = np.asarray(bars[key])
        rows = raw.size
        finite = raw[np.isfinite(raw)]
        exact = np.histogram(np.clip(finite, edges[0], edges[-1]), bins=edges)[0] / rows
        assert np.abs(shares - exact).max() <= BUCKET_TOLERANCE
        beyond = ((finite < edges[0]) | (finite > edges[-1])).sum() / rows
        assert bars["folded"][key] == pytest.approx(beyond, abs=BUCKET_TOLERANCE)
        # nothing hidden: the bars and the missing share make up every row
        missing = 1 - finite.size / rows
        assert bars["missing"][key] == pytest.approx(missing)
        assert shares.sum() + missing == pytest.approx(1.0, abs=1e-12)
    assert bars["folded"]["current"] >= 8 / cur_x.size
    assert bars["labels"][-1].startswith("≥")

    ticks = bars["ticks"]
    assert 2 <= len(ticks) <= drift_bars.MAX_TICKS
    for position, label in ticks:
        assert edges[0] <= position <= edges[-1]
        assert float(label) == pytest.approx(position)


def test_integer_bars_are_centred_on_the_values() -> None:
    rng = np.random.default_rng(4)
    ref_h = rng.integers(0, 24, 5_000)
    cur_h = rng.integers(6, 20, 800)
    ref, cur = _profiles(pl.DataFrame({"hour": ref_h}), pl.DataFrame({"hour": cur_h}))
    bars = distribution(ref["hour"], cur["hour"])
    assert bars is not None
    values = [int(label) for label in bars["labels"]]
    assert values == list(range(values[0], values[-1] + 1))
    for key, raw in (("reference", ref_h), ("current", cur_h)):
        counts = Counter(raw.tolist())
        exact = [counts[v] / raw.size for v in values]
        assert bars[key] == pytest.approx(exact, abs=1e-9)
    assert [position for position, _ in bars["ticks"]] == [
        float(label) for _, label in bars["ticks"]
    ]


def test_categorical_bars_keep_the_most_common_and_pool_the_rest() -> None:
    rng = np.random.default_rng(5)
    names = np.array([f"c{i:02d}" for i in range(25)])
    weights = 1.0 / np.arange(1, 26)
    ref_c = rng.choice(names, 10_000, p=weights / weights.sum())
    cur_c = [None] * 50 + rng.choice(names, 950, p=weights[::-1] / weights.sum()).tolist()
    ref, cur = _profiles(
        pl.DataFrame({"c": ref_c}), pl.DataFrame({"c": pl.Series(cur_c, dtype=pl.String)})
    )
    bars = distribution(ref["c"], cur["c"], top=5)
    assert bars is not None and bars["kind"] == "categorical"

    ref_counts, cur_counts = Counter(ref_c.tolist()), Counter(v for v in cur_c if v is not None)
    n_ref, n_cur = sum(ref_counts.values()), sum(cur_counts.values())
    pooled = {
        v: ref_counts[v] / n_ref / 2 + cur_counts[v] / n_cur / 2
        for v in set(ref_counts) | set(cur_counts)
    }
    top = sorted(pooled, key=lambda v: (-pooled[v], v))[:5]
    assert bars["labels"] == [*top, drift_bars.OTHER]
    for key, counts, rows in (
        ("reference", ref_counts, ref_c.size),
        ("current", cur_counts, len(cur_c)),
    ):
        rest = sum(c for v, c in counts.items() if v not in top)
        assert bars[key] == pytest.approx([counts[v] / rows for v in top] + [rest / rows])
    assert bars["missing"] == {"reference": 0.0, "current": pytest.approx(50 / 1_000)}


def test_one_side_alone_and_a_single_value() -> None:
    ref, cur = _profiles(pl.DataFrame({"x": [7.0] * 100}), pl.DataFrame({"x": [7.0] * 10}))
    alone = distribution(None, cur["x"])
    assert alone is not None and alone["reference"] is None
    both = distribution(ref["x"], cur["x"])
    assert both is not None
    for bars, key in ((alone, "current"), (both, "reference"), (both, "current")):
        held = [i for i, share in enumerate(bars[key]) if share > 0]
        assert len(held) == 1 and bars[key][held[0]] == pytest.approx(1.0)
        assert bars["edges"][held[0]] <= 7.0 <= bars["edges"][held[0] + 1]
    assert distribution(None, None) is None


def test_a_reference_on_other_bins_is_not_drawn() -> None:
    data = pl.DataFrame({"x": np.linspace(0, 1, 500)})
    ref = profile_frame(data)
    other = profile_frame(data * 100)
    assert other["x"].layout != ref["x"].layout  # type: ignore[union-attr]
    bars = distribution(other["x"], profile_frame_like(ref, data)["x"])
    assert bars is not None and bars["reference"] is None
    assert sum(bars["current"]) == pytest.approx(1.0)


def test_layouts_with_few_bins_still_give_nice_edges() -> None:
    from aims.core.profile.numeric import profile_values

    layout = NumericLayout(-3.0, 3.0, bins=8)
    values = np.random.default_rng(6).normal(size=2_000)
    prof = profile_values(values, layout)
    bars = distribution(prof, prof, max_bars=12)
    assert bars is not None
    assert _is_nice(bars["edges"][1] - bars["edges"][0])
    assert sum(bars["reference"]) == pytest.approx(1.0)


# --------------------------------------------------------------------------- from the store
@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Synthetic:
    return make_synthetic(tmp_path_factory.mktemp("synthetic"))


@pytest.fixture
def monitored(workspace, synthetic: Synthetic):  # type: ignore[no-untyped-def]
    """``syn`` in production with four monitored windows, the last two drifted."""
    ws = serve(workspace, synthetic)
    traffic = Traffic(ws, synthetic.model, seed=31)
    for w in range(4):
        traffic.window(T0 + w * HOUR, 400, shift={"x0": 1.5} if w >= 2 else None)
    traffic.close()
    run_once(ws, now=T0 + 5 * HOUR)
    return ws


def _latest_log(ws) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    start = T0 + 3 * HOUR
    reader = PredictionLogReader(ws.settings.prediction_log_url)
    return reader.scan("syn", since=start, until=start + HOUR).collect()


def test_outputs_are_the_latest_window_against_the_models_own_predictions(
    monitored, synthetic: Synthetic
) -> None:
    out = dashboard.output_distributions(monitored, "syn")
    assert out["version"] == 1 and out["reference"] == "model" and out["note"] is None
    assert dt.datetime.fromisoformat(out["window_start"]) == T0 + 3 * HOUR
    assert list(out["columns"]) == ["prediction", "score", "confidence", "entropy"]

    train = pl.read_parquet(synthetic.data).select(FEATURES).to_pandas()
    proba = synthetic.model.predict_proba(train)
    log = _latest_log(monitored)
    # the class shares, exactly
    prediction = out["columns"]["prediction"]
    for key, predicted in (
        ("reference", proba.argmax(axis=1).astype(str)),
        ("current", log["prediction"].cast(pl.Int64).cast(pl.String).to_numpy()),
    ):
        counts = Counter(predicted.tolist())
        assert dict(zip(prediction["labels"], prediction[key], strict=True)) == pytest.approx(
            {c: counts[c] / predicted.size for c in prediction["labels"]}
        )
    # the scores, to the profile's resolution
    score = out["columns"]["score"]
    edges = np.asarray(score["edges"])
    for key, raw in (("reference", proba[:, 1]), ("current", log["score"].to_numpy())):
        exact = np.histogram(np.clip(raw, edges[0], edges[-1]), bins=edges)[0] / raw.size
        assert np.abs(np.asarray(score[key]) - exact).max() <= BUCKET_TOLERANCE

    with monitored.db.session() as s:
        latest = s.scalar(
            select(MonitorWindow)
            .where(MonitorWindow.role == "production")
            .order_by(MonitorWindow.window_start.desc())
            .limit(1)
        )
        tested = latest.results["prediction"]["columns"]
    assert [t["column"] for t in out["tests"]] == list(tested)
    for row in out["tests"]:
        entry = tested[row["column"]]
        assert (row["test"], row["score"], row["drifted"]) == (
            entry["test"],
            entry["score"],
            entry["drifted"],
        )


def test_what_a_view_keeps_of_the_newest_window_follows_a_newer_one(
    monitored, synthetic: Synthetic
) -> None:
    from aims.services import monitoring_view

    first = monitoring_view.monitoring_page(monitored, "syn")
    assert dt.datetime.fromisoformat(first["outputs"]["window_start"]) == T0 + 3 * HOUR
    assert "features" not in first["latest"] and first["latest"]["rows"] == 400
    traffic = Traffic(monitored, synthetic.model, seed=32)
    traffic.window(T0 + 5 * HOUR, 250)
    traffic.close()
    run_once(monitored, now=T0 + 7 * HOUR)
    second = monitoring_view.monitoring_page(monitored, "syn")
    assert dt.datetime.fromisoformat(second["outputs"]["window_start"]) == T0 + 5 * HOUR
    assert second["latest"]["rows"] == 250


def test_without_the_cached_reference_only_the_window_is_drawn(monitored) -> None:
    for path in (monitored.settings.state_dir / "monitor" / "reference").iterdir():
        path.unlink()
    out = dashboard.output_distributions(monitored, "syn")
    assert out["note"] and "not cached" in out["note"]
    assert all(c["reference"] is None and c["current"] for c in out["columns"].values())


def test_feature_bars_are_the_latest_window_against_the_training_data(
    monitored, synthetic: Synthetic
) -> None:
    bars = dashboard.feature_distribution(monitored, "syn", "x0")
    edges = np.asarray(bars["edges"])
    train = pl.read_parquet(synthetic.data)["x0"].to_numpy()
    window = _latest_log(monitored)["x0"].to_numpy()
    for key, raw in (("reference", train), ("current", window)):
        exact = np.histogram(np.clip(raw, edges[0], edges[-1]), bins=edges)[0] / raw.size
        assert np.abs(np.asarray(bars[key]) - exact).max() <= BUCKET_TOLERANCE
    # the drifted window (x0 moved by 1.5 sd) sits to the right of the training data
    centres = (edges[:-1] + edges[1:]) / 2
    assert np.dot(centres, bars["current"]) > np.dot(centres, bars["reference"]) + 1.0
    region = dashboard.feature_distribution(monitored, "syn", "region")
    assert region["kind"] == "categorical" and set(region["labels"]) == {"north", "south", "west"}
    assert dashboard.feature_distribution(monitored, "syn", "no_such_feature")["kind"] is None


def test_incidents_carry_their_opening_time_in_utc(monitored) -> None:
    page = dashboard.monitoring(monitored, "syn")
    assert page["incidents"]
    for incident in page["incidents"]:
        opened = dt.datetime.fromisoformat(incident["opened_at"])
        assert opened.utcoffset() == dt.timedelta(0)
        assert opened.timestamp() == pytest.approx(incident["t"], abs=1)


def test_docstring_examples() -> None:
    import doctest

    result = doctest.testmod(drift_bars, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
