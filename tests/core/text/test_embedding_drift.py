"""Embedding drift: the cross-fitted ridge classifier, its AUC and threshold, and the samples."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.metrics import roc_auc_score

from aims.core.text import embedding_drift as ed
from aims.core.text.embedding_sample import EmbeddingSample
from aims.core.text.encoder import SentenceEncoder
from aims.errors import InvalidInput

from .topics import ACCOUNTS, ORDERS, texts


def _unit(rng: np.random.Generator, n: int, shift: float = 0.0, dim: int = 32) -> np.ndarray:
    x = rng.normal(size=(n, dim))
    x[:, 0] += shift
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_held_out_scores_are_scikit_learn_ridge_fits_and_the_auc_is_roc_auc() -> None:
    rng = np.random.default_rng(3)
    x, labels = ed._labelled(_unit(rng, 60), _unit(rng, 50, shift=0.5))
    ours = ed.classifier_scores(x, labels)
    fold = np.arange(len(x)) % 5
    for f in range(5):
        model = Ridge(alpha=ed.RIDGE).fit(x[fold != f], labels[fold != f].astype(float))
        theirs = model.predict(x[fold == f]) - labels[fold != f].mean()
        assert np.allclose(ours[fold == f], theirs, atol=1e-9)
    verdict = ed.embedding_drift(x[~labels], x[labels])
    assert verdict is not None
    assert verdict.auc == pytest.approx(roc_auc_score(labels, ours), abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_same_distribution_does_not_drift_and_a_shift_does(seed: int) -> None:
    rng = np.random.default_rng(seed)
    reference = _unit(rng, 150)
    same = ed.embedding_drift(reference, _unit(rng, 150))
    shifted = ed.embedding_drift(reference, _unit(rng, 150, shift=2.0))
    assert same is not None and shifted is not None
    assert not same.drifted and same.score < 1
    assert shifted.drifted and shifted.auc > 0.8 and shifted.score > 1.5


def test_threshold_is_above_the_permutation_null_and_the_closed_form() -> None:
    rng = np.random.default_rng(7)
    reference, current = _unit(rng, 120, dim=64), _unit(rng, 100, dim=64)
    verdict = ed.embedding_drift(reference, current)
    assert verdict is not None
    empirical = ed.permutation_threshold(reference, current, rounds=200, quantile=0.99, seed=5)
    assert empirical < verdict.threshold
    assert verdict.threshold >= ed.null_threshold(120, 100)


def test_too_few_texts_give_no_verdict_and_shapes_are_checked() -> None:
    rng = np.random.default_rng(0)
    assert ed.embedding_drift(_unit(rng, 100), _unit(rng, 10)) is None
    with pytest.raises(InvalidInput, match="one dimension"):
        ed.embedding_drift(_unit(rng, 40, dim=8), _unit(rng, 40, dim=16))


def test_a_topic_shift_in_real_embeddings_is_found() -> None:
    encoder = SentenceEncoder(max_tokens=32)
    reference = encoder.encode(texts(ORDERS, 40, 1))
    same = ed.embedding_drift(reference, encoder.encode(texts(ORDERS, 40, 2)))
    shifted = ed.embedding_drift(reference, encoder.encode(texts(ACCOUNTS, 40, 3)))
    assert same is not None and shifted is not None
    assert not same.drifted
    assert shifted.drifted and shifted.auc > 0.95


def test_samples_keep_the_smallest_priorities_merge_exactly_and_round_trip() -> None:
    rng = np.random.default_rng(1)
    prio = rng.permutation(np.arange(1, 41, dtype=np.uint64) * 7919)
    vectors = _unit(rng, 40, dim=8).astype(np.float32)
    whole = EmbeddingSample.of(prio, vectors, capacity=10)
    merged = EmbeddingSample.of(prio[:25], vectors[:25], capacity=10).merge(
        EmbeddingSample.of(prio[25:], vectors[25:], capacity=10)
    )
    assert merged.priorities.tolist() == whole.priorities.tolist() == sorted(prio.tolist())[:10]
    assert np.array_equal(merged.vectors, whole.vectors) and merged.seen == whole.seen == 40
    back = EmbeddingSample.from_bytes(whole.to_bytes())
    assert back.priorities.tolist() == whole.priorities.tolist() and back.seen == 40
    assert np.abs(back.vectors - whole.vectors).max() < 1e-3  # stored as float16
    assert len(EmbeddingSample(5).merge(whole)) == 5
    with pytest.raises(InvalidInput, match="dimensions"):
        whole.merge(EmbeddingSample.of(prio[:3], np.ones((3, 4), np.float32), capacity=3))
    with pytest.raises(InvalidInput, match="truncated"):
        EmbeddingSample.from_bytes(whole.to_bytes()[:-8] + whole.to_bytes()[-8:-4])
