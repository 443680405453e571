"""Text drift: the classifier AUC, its closed-form null threshold, and the profiles."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from aims.core.drift import drift_from_profiles
from aims.core.profile import merge
from aims.core.text.drift import auc, null_threshold, permutation_threshold, text_drift
from aims.core.text.features import STATS_FIELDS, hashed_ngrams, stats_matrix
from aims.core.text.profile import Vocabulary, stats_profile
from aims.core.text.sample import TextSample, priorities
from aims.errors import InvalidInput

from .topics import ACCOUNTS, ORDERS, texts

KEY = b"k"


def _sample(batch: list[str], tag: str, capacity: int = 400) -> TextSample:
    docs = [hashed_ngrams(t, KEY) for t in batch]
    offsets = np.concatenate([[0], np.cumsum([d.size for d in docs])])
    prio = priorities([f"{tag}/{i}" for i in range(len(batch))])
    return TextSample.of(prio, offsets, np.concatenate(docs), capacity=capacity)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_matches_scikit_learn_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = np.round(rng.normal(size=300), 1)  # many ties
    labels = rng.integers(0, 2, 300)
    assert auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


def test_auc_needs_both_sides() -> None:
    with pytest.raises(InvalidInput, match="both sides"):
        auc(np.array([0.1, 0.2]), np.array([1, 1]))


def test_same_topic_does_not_drift_and_new_topic_does() -> None:
    reference = _sample(texts(ORDERS, 600, 10), "ref")
    same = text_drift(reference, _sample(texts(ORDERS, 300, 11), "same"))
    shifted = text_drift(reference, _sample(texts(ACCOUNTS, 300, 12), "new"))
    assert same is not None and shifted is not None
    assert not same.drifted and same.auc < same.threshold
    assert shifted.drifted and shifted.auc > 0.95 and shifted.score > 1


def test_closed_form_threshold_is_above_the_permutation_null() -> None:
    reference = _sample(texts(ORDERS, 300, 20), "ref")
    current = _sample(texts(ORDERS, 200, 21), "cur")
    empirical = permutation_threshold(reference, current, rounds=60, quantile=0.99)
    assert empirical < null_threshold(len(reference), len(current))


def test_too_few_texts_give_no_verdict() -> None:
    reference = _sample(texts(ORDERS, 100, 1), "ref")
    assert text_drift(reference, _sample(texts(ORDERS, 5, 2), "cur")) is None


def test_threshold_shrinks_with_sample_size() -> None:
    assert null_threshold(100, 100) > null_threshold(1000, 1000) > 0.5
    with pytest.raises(InvalidInput):
        null_threshold(0, 10)


def _stats(batch: list[str]) -> dict[str, np.ndarray]:
    m = stats_matrix(batch)
    return {name: m[:, i] for i, name in enumerate(STATS_FIELDS)}


def test_stats_profiles_merge_exactly_and_feed_the_drift_tests() -> None:
    a, b = texts(ORDERS, 200, 1), texts(ORDERS, 200, 2)
    merged = merge(stats_profile(_stats(a)), stats_profile(_stats(b)))
    whole = stats_profile(_stats(a + b))
    assert merged.rows == whole.rows == 400
    assert np.array_equal(merged["chars"].counts, whole["chars"].counts)
    long_texts = [t + " " + t + " 2024-01-01 #42" for t in texts(ORDERS, 200, 3)]
    report = drift_from_profiles(whole, stats_profile(_stats(long_texts)))
    assert report.column("chars").drifted
    assert not drift_from_profiles(whole, stats_profile(_stats(b))).column("chars").drifted


def test_stats_profile_refuses_missing_columns() -> None:
    with pytest.raises(InvalidInput, match="lack"):
        stats_profile({"chars": np.zeros(2)})


def test_vocabulary_oov_share_and_round_trip() -> None:
    vocab = Vocabulary()
    for t in texts(ORDERS, 300, 5):
        vocab.add(hashed_ngrams(t, KEY))
    same = np.concatenate([hashed_ngrams(t, KEY) for t in texts(ORDERS, 50, 6)])
    other = np.concatenate([hashed_ngrams(t, KEY) for t in texts(ACCOUNTS, 50, 6)])
    assert vocab.oov_share(same) < 0.3 < vocab.oov_share(other)
    back = Vocabulary.from_bytes(vocab.to_bytes())
    assert len(back) == len(vocab) > 0
    assert len(vocab.to_bytes()) < 40_000
    assert vocab.oov_share(np.zeros(0, dtype=np.uint32)) is None
    assert len(vocab.merge(Vocabulary())) == len(vocab)


def test_a_stable_stream_does_not_alarm_over_many_windows() -> None:
    reference = _sample(texts(ORDERS, 400, 100), "ref")
    verdicts = [
        text_drift(reference, _sample(texts(ORDERS, 80, 200 + w), f"w{w}")) for w in range(30)
    ]
    assert all(v is not None and not v.drifted for v in verdicts)
    # The null AUCs centre on 1/2 (cross-fitting leans slightly low).
    mean_auc = float(np.mean([v.auc for v in verdicts if v is not None]))
    assert 0.4 < mean_auc < 0.55
