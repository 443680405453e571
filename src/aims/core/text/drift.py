"""Text drift as a classifier's skill: can hashed n-grams tell current text from reference text?

:func:`text_drift` trains a naive Bayes classifier on the n-gram sets of two
samples (:class:`~aims.core.text.sample.TextSample`), reference against
current, scores every text on folds it was not trained on (cross-fitting),
and reports the area under the ROC curve (AUC) of those held-out scores.
When the two streams are alike no classifier can separate them and the AUC is
near 0.5; a change of topic, language or template pushes it towards 1.

The alarm threshold (:func:`null_threshold`) is a closed-form bound on the
AUC under "no drift": the Mann–Whitney statistic of two samples of sizes
``m`` and ``n`` drawn from one distribution has mean 1/2 and variance
``(m + n + 1) / (12 m n)``, and is close to normal from a few dozen texts per
side. The threshold is ``1/2 + z`` standard deviations with ``z = 4`` by
default (a one-sided false-alarm chance of about 3e-5 per window under the
normal approximation), so a stable stream monitored every hour alarms less
than once in three years. Held-out scores from different folds are not quite
independent; :func:`permutation_threshold` measures the null by shuffling
which text is "current", and the tests check that the closed form stays
above it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from aims.core.text.sample import TextSample
from aims.errors import InvalidInput

__all__ = [
    "DEFAULT_Z",
    "MIN_TEXTS",
    "TextDrift",
    "auc",
    "classifier_scores",
    "null_threshold",
    "permutation_threshold",
    "text_drift",
]

DEFAULT_Z = 4.0
"""Standard deviations above 1/2 at which the AUC counts as drift."""
MIN_TEXTS = 30
"""Texts each side needs before a drift verdict is given."""
_FOLDS = 5
_SMOOTHING = 0.5


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for binary ``labels`` (ties count one half).

    The Mann–Whitney form: the share of (positive, negative) pairs in which the
    positive scores higher. Equal to ``sklearn.metrics.roc_auc_score``.

    Examples
    --------
    >>> auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]))
    0.75
    """
    # Imported on use, so that a process never calling this skips its ~100 MB.
    from scipy.stats import rankdata

    labels = np.asarray(labels).astype(bool)
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise InvalidInput("AUC needs texts of both sides (reference and current)")
    ranks = rankdata(scores)
    u = float(ranks[labels].sum()) - n_pos * (n_pos + 1) / 2.0
    return u / (n_pos * n_neg)


def null_threshold(n_reference: int, n_current: int, *, z: float = DEFAULT_Z) -> float:
    """The AUC above which two samples of these sizes count as drifted (closed form).

    Examples
    --------
    >>> round(null_threshold(500, 500), 3)
    0.573
    """
    if n_reference < 1 or n_current < 1:
        raise InvalidInput("a drift threshold needs at least one text each side")
    sd = math.sqrt((n_reference + n_current + 1) / (12.0 * n_reference * n_current))
    return min(1.0, 0.5 + z * sd)


def _csr(docs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.fromiter((d.size for d in docs), dtype=np.int64, count=len(docs))
    ids = np.concatenate(docs) if docs else np.zeros(0, dtype=np.uint32)
    return lengths, ids


def classifier_scores(
    lengths: np.ndarray, ids: np.ndarray, labels: np.ndarray, *, folds: int = _FOLDS
) -> np.ndarray:
    """Held-out naive Bayes scores of texts given as n-gram id sets.

    ``lengths[i]`` ids of ``ids`` belong to text ``i`` (in order); ``labels``
    says which texts are current (1) and which reference (0). Text ``i`` is
    scored by the model trained on the texts of the other folds (fold =
    ``i % folds``), as the sum of its n-grams' smoothed log presence ratios.
    """
    n_docs = lengths.size
    labels = np.asarray(labels).astype(bool)
    vocab, entry_term = np.unique(ids, return_inverse=True)
    entry_doc = np.repeat(np.arange(n_docs), lengths)
    entry_label = labels[entry_doc]
    fold_of_doc = np.arange(n_docs) % folds
    entry_fold = fold_of_doc[entry_doc]
    v = vocab.size
    total = [np.bincount(entry_term[entry_label == side], minlength=v) for side in (False, True)]
    scores = np.zeros(n_docs, dtype=np.float64)
    for f in range(folds):
        held = entry_fold == f
        docs_in = fold_of_doc != f
        n_side = [int((docs_in & (labels == side)).sum()) for side in (False, True)]
        if min(n_side) == 0:
            continue
        counts = [
            total[i] - np.bincount(entry_term[held & (entry_label == side)], minlength=v)
            for i, side in enumerate((False, True))
        ]
        # Bernoulli naive Bayes, presence terms only: log P(term | current) - log P(term | reference).
        weight = np.log((counts[1] + _SMOOTHING) / (n_side[1] + 2 * _SMOOTHING)) - np.log(
            (counts[0] + _SMOOTHING) / (n_side[0] + 2 * _SMOOTHING)
        )
        scores += np.bincount(entry_doc[held], weights=weight[entry_term[held]], minlength=n_docs)
    return scores


@dataclass(frozen=True)
class TextDrift:
    """The verdict of :func:`text_drift`.

    ``score`` is ``(auc - 1/2) / (threshold - 1/2)``, floored at 0: 1 or more
    means drift, like the drift scores of tabular features.
    """

    auc: float
    threshold: float
    score: float
    drifted: bool
    n_reference: int
    n_current: int

    def to_dict(self) -> dict[str, float | int | bool]:
        """JSON-ready form."""
        return {
            "auc": self.auc,
            "threshold": self.threshold,
            "score": self.score,
            "drifted": self.drifted,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
        }


def _labelled(
    reference: TextSample, current: TextSample
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ref_docs, cur_docs = reference.documents(), current.documents()
    # Interleave by position so each fold holds both sides in proportion.
    lengths, ids = _csr(ref_docs + cur_docs)
    labels = np.concatenate([np.zeros(len(ref_docs), bool), np.ones(len(cur_docs), bool)])
    order = np.argsort(
        np.concatenate(
            [
                np.arange(len(ref_docs)) / max(len(ref_docs), 1),
                np.arange(len(cur_docs)) / max(len(cur_docs), 1),
            ]
        ),
        kind="stable",
    )
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    new_lengths = lengths[order]
    gather = np.repeat(starts[order], new_lengths) + (
        np.arange(int(new_lengths.sum()))
        - np.repeat(np.cumsum(new_lengths) - new_lengths, new_lengths)
    )
    return new_lengths, ids[gather], labels[order]


def text_drift(
    reference: TextSample, current: TextSample, *, z: float = DEFAULT_Z, min_texts: int = MIN_TEXTS
) -> TextDrift | None:
    """How well hashed n-grams tell ``current`` texts from ``reference`` ones.

    Returns ``None`` when either side has fewer than ``min_texts`` texts (no
    verdict rather than a noisy one). Deterministic: the samples fix the
    folds.
    """
    n_ref, n_cur = len(reference), len(current)
    if n_ref < min_texts or n_cur < min_texts:
        return None
    lengths, ids, labels = _labelled(reference, current)
    value = auc(classifier_scores(lengths, ids, labels), labels)
    threshold = null_threshold(n_ref, n_cur, z=z)
    score = max(0.0, (value - 0.5) / (threshold - 0.5)) if threshold > 0.5 else 0.0
    return TextDrift(value, threshold, score, value >= threshold, n_ref, n_cur)


def permutation_threshold(
    reference: TextSample,
    current: TextSample,
    *,
    rounds: int = 200,
    quantile: float = 0.99,
    seed: int = 0,
) -> float:
    """The ``quantile`` of the held-out AUC when "current" is assigned at random.

    The empirical null of :func:`text_drift` on these very texts: a check of
    :func:`null_threshold`, too slow (``rounds`` classifier fits) for every
    window.
    """
    lengths, ids, labels = _labelled(reference, current)
    rng = np.random.default_rng(seed)
    values = [
        auc(classifier_scores(lengths, ids, shuffled), shuffled)
        for shuffled in (rng.permutation(labels) for _ in range(rounds))
    ]
    return float(np.quantile(values, quantile))
