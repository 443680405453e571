"""Training the learned screening signal on the development part of the corpus.

``python -m aims.services.screening_train`` reads the bundled corpus, keeps
only its ``dev`` cases (the held-out part is never read into a model or a
figure), and writes ``aims/data/screening/classifier.npz``:

* a binary logistic regression (scikit-learn) over the hashed features of
  :mod:`aims.core.screening.hashing` plus the location, trained on every
  development case;
* the threshold: 5-fold cross-validation on the development cases (variants
  of one sentence kept in one fold) gives each case an out-of-fold
  probability, and the threshold is the lowest at which the model flags at
  most :data:`MODEL_BUDGET` of the benign cases besides those the rules flag;
* one logistic regression per attack family (against the other families),
  trained on the development attacks, which names the family of a finding;
* the figures: out-of-fold recall and false-positive rate of the rules, the
  model and both, per author group, and the same pipeline trained without each
  part written by an outside author and measured on it (the honest preview of
  new text).

Training is deterministic: the same corpus gives the same weights.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import re
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.multiclass import OneVsRestClassifier

from aims.core.screening import CATEGORIES, LOCATIONS, ScreeningPolicy, classifier, hashing
from aims.core.screening.screener import learned_input
from aims.services.screening_eval import Case, flagged, load_corpus
from aims.services.screening_parts import (
    LEFT_OUT,
    STUDIED_PARTS,
    TRAINING_PARTS,
    author,
    studied_ids,
)

C = 128.0
"""Inverse regularisation strength of the binary model (with the eleventh part in, 128
caught 4 more attacks of the parts left out than 64, and 256 2 more, false alarms equal)."""
FAMILY_C = 4.0
"""Inverse regularisation strength of the family model."""
FOLDS = 5
SEED = 0
EMBEDDED_SHARE = 0.25
"""The share of short attacks in results that training also sees inside ordinary text
(none did worse on the parts left out, half and all no better and with more false alarms)."""
MODEL_BUDGET = 0.005
"""The share of the benign examples the model may flag, out of fold, besides those the
rules flag. The model has a budget of its own because the rules' false alarms on text
they were not written for vary by part (0.6 % to 6 % on the training parts left out):
a budget for rules and model together (1.5 %) left the model nothing once those parts
joined, and the recall on the parts left out fell from 0.73 to 0.61."""
_RULES_ONLY = ScreeningPolicy(learned_signal=False)
_D = 1 << hashing.BITS


@dataclass(frozen=True)
class Example:
    """One development case, as the model and the figures see it."""

    id: str
    attack: bool
    category: str
    where: str
    text: str
    """What the learned signal reads (:func:`~aims.core.screening.screener.learned_input`)."""
    rules: bool
    """Whether the rules flag the case."""
    author: str
    """Which written part of the corpus it comes from."""
    fold_group: str
    """Variants of one sentence share this, and so a fold."""


def examples(cases: Sequence[Case]) -> list[Example]:
    """The development cases of ``cases`` as examples (every other case is dropped first)."""
    dev = [c for c in cases if c.split == "dev"]
    parts = studied_ids()
    out = []
    for c in dev:
        text = (
            learned_input(c.text) if c.text is not None else learned_input(c.value, json_value=True)
        )
        m = re.match(r"obf-(\d+)-", c.id)
        out.append(
            Example(
                id=c.id,
                attack=c.label == "attack",
                category=c.category,
                where=c.where,
                text=text,
                rules=flagged(c, _RULES_ONLY),
                author=author(c.id, parts),
                fold_group=f"obf-{m.group(1)}" if m else text,
            )
        )
    return out


@lru_cache(maxsize=8192)
def _vector(text: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~aims.core.screening.hashing.vector`, made once per text for all the fits."""
    return hashing.vector(text)


def _matrix(rows: Sequence[Example], *, bits: int = hashing.BITS) -> sparse.csr_matrix:
    """Hashed features (folded to ``2**bits`` buckets), then one column per location."""
    size = 1 << bits
    data, cols, indptr = [], [], [0]
    for e in rows:
        b, v = _vector(e.text)
        data += [v, np.ones(1)]
        cols += [b & (size - 1), np.array([size + LOCATIONS.index(e.where)])]
        indptr.append(indptr[-1] + len(b) + 1)
    return sparse.csr_matrix(
        (np.concatenate(data), np.concatenate(cols), np.array(indptr)),
        shape=(len(rows), size + len(LOCATIONS)),
    )


def embedded(rows: Sequence[Example]) -> list[Example]:
    """Attacks set inside ordinary text: for about :data:`EMBEDDED_SHARE` of the short
    attacks found in tool results, a copy placed at a line break in the middle of a
    longer benign result of ``rows`` (deterministic).

    Attacks reach an agent inside pages, files and mail, not on their own; trained on
    these, the model learns the attack's words against ordinary surroundings rather
    than the shape of a short text. Only training sees them: every figure and the
    threshold are measured on the cases as written.
    """
    rng = random.Random(SEED)
    hosts = [e.text for e in rows if not e.attack and e.where == "result" and len(e.text) > 200]
    out = []
    for e in rows:
        if not (e.attack and e.where == "result" and len(e.text) < 400 and hosts):
            continue
        if rng.random() >= EMBEDDED_SHARE:
            continue
        host = rng.choice(hosts)
        mid = host.rfind("\n", 0, len(host) // 2) + 1 or len(host) // 2
        text = f"{host[:mid]}{e.text}\n{host[mid:]}"
        out.append(dataclasses.replace(e, id=f"{e.id}+embedded", text=text))
    return out


def _binary(rows: Sequence[Example]) -> tuple[np.ndarray, np.ndarray]:
    """Weights (float16, as shipped) and the intercept per location."""
    rows = [*rows, *embedded(rows)]
    y = np.array([e.attack for e in rows])
    # The dual liblinear solver suits far more features than cases, and is deterministic.
    lr = LogisticRegression(C=C, solver="liblinear", dual=True, max_iter=5000, random_state=SEED)
    lr.fit(_matrix(rows), y)
    coef = lr.coef_[0]
    bias = (lr.intercept_[0] + coef[_D:]).astype(np.float32)
    return coef[:_D].astype(np.float16), bias


def _binary_model(rows: Sequence[Example], threshold: float) -> classifier.Model:
    """A model without families (for the figures, which need only the attack probability)."""
    weights, bias = _binary(rows)
    none = np.zeros((1, 1), dtype=np.float32)
    return classifier.Model(weights.astype(np.float32), bias, none, none[0], threshold, {})


def _families(rows: Sequence[Example]) -> tuple[np.ndarray, np.ndarray]:
    """The family model's weights (rows in the order of CATEGORIES) and intercepts.

    Obfuscated attacks are left out: the model reads the text after normalisation has
    undone the hiding, so what it sees of them is a plain order whose family is its
    content's, and the obfuscation rules report the hiding itself.
    """
    attacks = [e for e in rows if e.attack and e.category != "obfuscation"]
    y = np.array([e.category for e in attacks])
    # One family against the rest, each by the dual solver (as the binary model).
    lr = OneVsRestClassifier(
        LogisticRegression(
            C=FAMILY_C, solver="liblinear", dual=True, max_iter=5000, random_state=SEED
        )
    )
    lr.fit(_matrix(attacks, bits=classifier.FAMILY_BITS), y)
    size = 1 << classifier.FAMILY_BITS
    weights = np.zeros((len(CATEGORIES), size), dtype=np.float16)
    bias = np.full(len(CATEGORIES), -1e4, dtype=np.float32)  # a family never seen is never named
    for k, name in enumerate(lr.classes_):
        i = CATEGORIES.index(name)
        weights[i] = lr.estimators_[k].coef_[0, :size]
        bias[i] = lr.estimators_[k].intercept_[0]
    return weights, bias


def _model(rows: Sequence[Example], threshold: float, meta: dict[str, Any]) -> classifier.Model:
    weights, bias = _binary(rows)
    fw, fb = _families(rows)
    return classifier.Model(
        weights=weights.astype(np.float32),
        bias=bias,
        family_weights=fw.astype(np.float32),
        family_bias=fb,
        threshold=threshold,
        meta=meta,
    )


def _scores(model: classifier.Model, rows: Sequence[Example]) -> np.ndarray:
    """Each example's probability as screening computes it (strongest window)."""
    return np.array([model.strongest(e.text, e.where)[0] for e in rows])  # type: ignore[arg-type]


def out_of_fold(rows: Sequence[Example]) -> np.ndarray:
    """Each example's probability from the model trained on the other folds."""
    y = np.array([e.attack for e in rows])
    groups = [e.fold_group for e in rows]
    folds = StratifiedGroupKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    p = np.zeros(len(rows))
    for train, test in folds.split(np.zeros(len(rows)), y, groups):
        fold = _binary_model([rows[i] for i in train], 1.0)
        p[test] = _scores(fold, [rows[i] for i in test])
    return p


def threshold(rows: Sequence[Example], p: np.ndarray) -> float:
    """The lowest probability at which the model flags at most :data:`MODEL_BUDGET` of the
    benign examples (out of fold) besides those the rules flag."""
    benign = [i for i, e in enumerate(rows) if not e.attack]
    allowed = int(MODEL_BUDGET * len(benign))
    free = np.sort([p[i] for i in benign if not rows[i].rules])[::-1]
    if allowed >= len(free):
        return 0.5
    # Just above the first benign score the budget cannot take.
    return float(np.nextafter(free[allowed], 1.0))


def _rates(rows: Sequence[Example], hits: Sequence[bool]) -> dict[str, Any]:
    attacks = [h for e, h in zip(rows, hits, strict=True) if e.attack]
    benign = [h for e, h in zip(rows, hits, strict=True) if not e.attack]
    return {
        "recall": round(sum(attacks) / len(attacks), 3) if attacks else None,
        "fpr": round(sum(benign) / len(benign), 3) if benign else None,
        "attacks": len(attacks),
        "benign": len(benign),
    }


def figures(rows: Sequence[Example], p: np.ndarray, t: float) -> dict[str, Any]:
    """Recall and false-positive rate of rules, model and both, overall and per author."""
    out: dict[str, Any] = {}
    for name in ("all", *sorted({e.author for e in rows})):
        idx = [i for i, e in enumerate(rows) if name in ("all", e.author)]
        sub = [rows[i] for i in idx]
        model = [bool(p[i] >= t) for i in idx]
        out[name] = {
            "rules": _rates(sub, [e.rules for e in sub]),
            "model": _rates(sub, model),
            "combined": _rates(sub, [e.rules or m for e, m in zip(sub, model, strict=True)]),
        }
    return out


_AUTHORS = {
    "all": "all development cases",
    "original": "the first cases",
    "first": "first held-out part",
    "second": "second held-out part",
    "d3": "`d3` cases",
    "third": "third held-out part",
    "d4": "`d4` cases",
    **{n: f"{n} held-out part" for n in STUDIED_PARTS[3:]},
    **{n: f"`{n}` training part" for n in TRAINING_PARTS},
}


def figures_table(meta: dict[str, Any]) -> str:
    """The model's figures as the Markdown table docs/screening.md shows (a test checks it
    is there, so the docs state what the shipped model measured)."""

    def cell(r: dict[str, Any]) -> str:
        return f"{r['recall']:.3f} / {r['fpr']:.3f}"

    lines = [
        "| cases | attacks | benign | rules | learned signal | both |",
        "|---|---|---|---|---|---|",
    ]
    groups = meta["out_of_fold"]
    order = [k for k in _AUTHORS if k in groups] + sorted(set(groups) - set(_AUTHORS))
    rows = [(f"{_AUTHORS.get(k, k)}, out of fold", groups[k]) for k in order]
    for part in LEFT_OUT:
        name = f"`{part}` training part" if part in TRAINING_PARTS else f"{part} part"
        rows.append((f"{name}, left out of training", meta["left_out"][part]))
    for name, f in rows:
        lines.append(
            f"| {name} | {f['rules']['attacks']} | {f['rules']['benign']} | {cell(f['rules'])} "
            f"| {cell(f['model'])} | {cell(f['combined'])} |"
        )
    return "\n".join(lines)


def preview(rows: Sequence[Example], part: str) -> tuple[dict[str, Any], float]:
    """The preview of new text: the whole pipeline (threshold included) trained without
    one written part, and its figures on that part."""
    rest = [e for e in rows if e.author != part]
    held = [e for e in rows if e.author == part]
    t = threshold(rest, out_of_fold(rest))
    model = _binary_model(rest, t)
    return figures(held, _scores(model, held), t)["all"], round(t, 4)


def train(cases: Sequence[Case], *, previews: Sequence[str] = LEFT_OUT) -> classifier.Model:
    """The model and its figures, from the development cases of ``cases`` only.

    ``previews`` names the parts left out in turn for the figures of new text (each costs
    a whole training); the weights and the threshold do not depend on them.
    """
    rows = examples(cases)
    p = out_of_fold(rows)
    t = threshold(rows, p)
    left_out, thresholds = {}, {}
    if previews:
        # Each preview is a whole training: one process per core.
        with ProcessPoolExecutor(min(len(previews), os.cpu_count() or 1)) as pool:
            done = pool.map(preview, repeat(rows), previews)
            for part, (f, t_part) in zip(previews, done, strict=True):
                left_out[part], thresholds[part] = f, t_part
    meta = {
        "bits": hashing.BITS,
        "window": hashing.WINDOW,
        "char_ngrams": list(hashing.CHAR_NGRAMS),
        "family_bits": classifier.FAMILY_BITS,
        "c": C,
        "family_c": FAMILY_C,
        "folds": FOLDS,
        "model_budget": MODEL_BUDGET,
        "embedded_share": EMBEDDED_SHARE,
        "cases": len(rows),
        "out_of_fold": figures(rows, p, t),
        "left_out": left_out,
        "left_out_thresholds": thresholds,
    }
    return _model(rows, t, meta)


def save(model: classifier.Model, path: Path) -> None:
    """Write ``model`` as the screening loads it (float16 weights, compressed)."""
    np.savez_compressed(
        path,
        weights=model.weights.astype(np.float16),
        bias=model.bias.astype(np.float32),
        family_weights=model.family_weights.astype(np.float16),
        family_bias=model.family_bias.astype(np.float32),
        threshold=np.float64(model.threshold),
        meta=np.array(json.dumps(model.meta, sort_keys=True)),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Train on the bundled corpus's development cases and write the model."""
    parser = argparse.ArgumentParser(
        prog="python -m aims.services.screening_train",
        description="Train the learned screening signal on the corpus's dev cases.",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(classifier.model_path()),
        help="where to write the model (default: the one shipped with aims)",
    )
    parser.add_argument(
        "--no-previews",
        action="store_true",
        help="skip the figures of each part left out of training (several times faster; "
        "the weights and the threshold are the same)",
    )
    args = parser.parse_args(argv)
    model = train(load_corpus(), previews=() if args.no_previews else LEFT_OUT)
    save(model, args.output)
    print(f"threshold {model.threshold:.4f}; recall / false-positive rate:")
    if not args.no_previews:
        print(figures_table(model.meta))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
