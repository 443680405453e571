"""How well screening does on a labelled corpus: precision, recall and false positives.

The corpus is JSON Lines, one case per line::

    {"id": "ovr-res-00", "split": "dev", "label": "attack", "category": "override",
     "where": "result", "vector": "indirect", "technique": "plain", "text": "..."}

``label`` is ``attack`` or ``benign``; ``category`` is the attack's family (for a
benign case, the family it could be mistaken for, or ``none``); ``where`` is
``description``, ``arguments`` or ``result``; a case holds either ``text`` (a
string, screened with :func:`~aims.core.screening.screen`) or ``value`` (any
JSON, screened with :func:`~aims.core.screening.screen_json`). ``split`` is
``dev`` (rules may be tuned on it) or ``heldout`` (never looked at while
tuning); ``vector`` and ``technique`` are optional and only break the figures
down. The corpus shipped with aims is ``aims/data/screening/corpus.jsonl``.

A case counts as *flagged* when its verdict is anything but ``allow``: a
warning on a benign text is a false positive too.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from aims.core.screening import CATEGORIES, LOCATIONS, ScreeningPolicy, screen, screen_json
from aims.errors import InvalidInput, NotFound

LABELS = ("attack", "benign")
SPLITS = ("dev", "heldout")
TARGET_RECALL = 0.9
TARGET_FPR = 0.02
_REQUIRED = ("id", "split", "label", "category", "where")
_KNOWN = (*_REQUIRED, "vector", "technique", "text", "value")


@dataclass(frozen=True)
class Case:
    """One labelled case of the corpus."""

    id: str
    split: str
    label: str
    category: str
    where: str
    text: str | None = None
    value: Any = None
    vector: str = ""
    technique: str = "plain"


def bundled_corpus() -> Path:
    """The path of the corpus shipped with aims."""
    return Path(str(resources.files("aims") / "data" / "screening" / "corpus.jsonl"))


def _case(raw: Any, where: str) -> Case:
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where}: a case must be a JSON object, got {type(raw).__name__}")
    missing = [k for k in _REQUIRED if not isinstance(raw.get(k), str) or not raw.get(k)]
    if missing:
        raise InvalidInput(f"{where}: missing or empty field(s) {', '.join(missing)} (strings)")
    unknown = sorted(set(raw) - set(_KNOWN))
    if unknown:
        raise InvalidInput(
            f"{where}: unknown field(s) {', '.join(unknown)}; fields: {', '.join(_KNOWN)}"
        )
    checks = (
        ("label", LABELS),
        ("split", SPLITS),
        ("where", LOCATIONS),
        ("category", (*CATEGORIES, "none")),
    )
    for key, allowed in checks:
        if raw[key] not in allowed:
            raise InvalidInput(
                f"{where}: {key} is {raw[key]!r}; it must be one of {', '.join(allowed)}"
            )
    if raw["label"] == "attack" and raw["category"] == "none":
        raise InvalidInput(f"{where}: an attack needs a category ({', '.join(CATEGORIES)})")
    if ("text" in raw) == ("value" in raw):
        raise InvalidInput(f"{where}: give exactly one of text (a string) or value (any JSON)")
    if "text" in raw and not isinstance(raw["text"], str):
        raise InvalidInput(f"{where}: text must be a string; use value for other JSON")
    return Case(
        id=raw["id"],
        split=raw["split"],
        label=raw["label"],
        category=raw["category"],
        where=raw["where"],
        text=raw.get("text"),
        value=raw.get("value"),
        vector=str(raw.get("vector") or ""),
        technique=str(raw.get("technique") or "plain"),
    )


def load_corpus(path: Path | None = None) -> list[Case]:
    """Read and check a corpus file (default: the bundled one).

    Raises :class:`InvalidInput` naming the file, the line and what is wrong
    with it; blank lines are skipped.
    """
    path = path or bundled_corpus()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise NotFound(f"no corpus file at {path}") from None
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path} is not UTF-8 text ({exc.reason}); save it as UTF-8") from None
    cases: list[Case] = []
    seen: set[str] = set()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path} line {n}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"{where} is not JSON ({exc.msg} at column {exc.colno}); "
                "each line must be one JSON object"
            ) from None
        case = _case(raw, where)
        if case.id in seen:
            raise InvalidInput(f"{where}: id {case.id!r} is used twice; ids must be unique")
        seen.add(case.id)
        cases.append(case)
    if not cases:
        raise InvalidInput(f"{path} holds no cases; write one JSON object per line")
    return cases


@dataclass
class Counts:
    """Confusion counts of one group of cases (attacks are the positives)."""

    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0

    @property
    def precision(self) -> float | None:
        """Flagged cases that are attacks (``None`` when nothing was flagged)."""
        flagged = self.tp + self.fp
        return self.tp / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        """Attacks flagged (``None`` without attacks)."""
        attacks = self.tp + self.fn
        return self.tp / attacks if attacks else None

    @property
    def fpr(self) -> float | None:
        """Benign cases flagged (``None`` without benign cases)."""
        benign = self.fp + self.tn
        return self.fp / benign if benign else None

    def add(self, attack: bool, flagged: bool) -> None:
        """Count one case."""
        if attack:
            self.tp, self.fn = self.tp + flagged, self.fn + (not flagged)
        else:
            self.fp, self.tn = self.fp + flagged, self.tn + (not flagged)

    def to_dict(self) -> dict[str, Any]:
        """Counts and rates, rates rounded to 3 places."""

        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 3)

        return {
            "tp": self.tp,
            "fn": self.fn,
            "fp": self.fp,
            "tn": self.tn,
            "precision": r(self.precision),
            "recall": r(self.recall),
            "fpr": r(self.fpr),
        }


@dataclass
class SplitResult:
    """The figures of one split (or of the whole corpus)."""

    overall: Counts = field(default_factory=Counts)
    by_category: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    by_where: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    by_technique: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    by_part: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    missed: list[str] = field(default_factory=list)
    false_positives: list[str] = field(default_factory=list)

    @property
    def meets_targets(self) -> bool:
        """Recall at least :data:`TARGET_RECALL` and FPR at most :data:`TARGET_FPR`."""
        recall, fpr = self.overall.recall, self.overall.fpr
        return (recall is None or recall >= TARGET_RECALL) and (fpr is None or fpr <= TARGET_FPR)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "overall": self.overall.to_dict(),
            "meets_targets": self.meets_targets,
            "by_category": {k: v.to_dict() for k, v in sorted(self.by_category.items())},
            "by_where": {k: v.to_dict() for k, v in sorted(self.by_where.items())},
            "by_technique": {k: v.to_dict() for k, v in sorted(self.by_technique.items())},
            "by_part": {k: v.to_dict() for k, v in sorted(self.by_part.items())},
            "missed": self.missed,
            "false_positives": self.false_positives,
        }


@dataclass
class EvalReport:
    """Figures per split and for the whole corpus, and what screening cost."""

    corpus: str
    n_cases: int
    splits: dict[str, SplitResult]
    seconds: float
    categories_found: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "corpus": self.corpus,
            "n_cases": self.n_cases,
            "targets": {"recall": TARGET_RECALL, "fpr": TARGET_FPR},
            "splits": {k: v.to_dict() for k, v in self.splits.items()},
            "ms_per_case": round(1000 * self.seconds / max(self.n_cases, 1), 3),
        }


def part_of(case_id: str) -> str:
    """The part a case belongs to: its id up to the first ``-`` (cases written together
    share it), or ``other`` for an id without one.

    >>> part_of("h33-a-017"), part_of("a1")
    ('h33', 'other')
    """
    head, dash, _ = case_id.partition("-")
    return head if dash and head else "other"


def flagged(case: Case, policy: ScreeningPolicy | None = None) -> bool:
    """Whether screening gives ``case`` any verdict but ``allow``."""
    where: Any = case.where
    result = (
        screen(case.text, where, policy)
        if case.text is not None
        else screen_json(case.value, where, policy)
    )
    return result.verdict != "allow"


def evaluate(
    cases: Sequence[Case],
    policy: ScreeningPolicy | None = None,
    *,
    corpus: str = "",
    splits: Iterable[str] = (*SPLITS, "all"),
) -> EvalReport:
    """Screen every case and count hits, misses and false alarms per split, category,
    location, technique and part (:func:`part_of`). A benign case counts under the
    category it resembles."""
    wanted = list(splits)
    results = {s: SplitResult() for s in wanted}
    start = time.perf_counter()
    for case in cases:
        hit = flagged(case, policy)
        attack = case.label == "attack"
        for name in (case.split, "all"):
            if name not in results:
                continue
            res = results[name]
            res.overall.add(attack, hit)
            res.by_category[case.category].add(attack, hit)
            res.by_where[case.where].add(attack, hit)
            res.by_technique[case.technique].add(attack, hit)
            res.by_part[part_of(case.id)].add(attack, hit)
            if attack and not hit:
                res.missed.append(case.id)
            elif hit and not attack:
                res.false_positives.append(case.id)
    seconds = time.perf_counter() - start
    return EvalReport(corpus, len(cases), results, seconds)


def judged_split(cases: Sequence[Case]) -> str:
    """The split whose figures are judged against the targets: ``heldout`` when the
    corpus has one, else ``all`` (every case has then been tuned on, and says so)."""
    return "heldout" if any(c.split == "heldout" for c in cases) else "all"


@lru_cache(maxsize=1)
def screening_evidence() -> dict[str, Any]:
    """What the evidence report states about screening quality: the bundled corpus's
    figures under the default policy (measured once per process; neither changes while
    it runs). ``judged`` names the part held against the targets: the held-out part
    when the corpus has one, else the whole corpus."""
    path = bundled_corpus()
    cases = load_corpus(path)
    report = evaluate(cases, corpus=str(path))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    parts = {}
    for name in (*SPLITS, "all"):
        res = report.splits[name]
        o = res.overall
        parts[name] = {
            "cases": o.tp + o.fn + o.fp + o.tn,
            "recall": o.to_dict()["recall"],
            "fpr": o.to_dict()["fpr"],
            "precision": o.to_dict()["precision"],
            "meets_targets": res.meets_targets,
        }
    judged = judged_split(cases)
    held, dev = parts[judged], parts["dev"]
    targets = (
        f"(targets: recall >= {TARGET_RECALL}, rate <= {TARGET_FPR}: "
        f"{'met' if held['meets_targets'] else 'not met'})"
    )
    if judged == "heldout":
        text = (
            f"held-out recall {held['recall']}, false-positive rate {held['fpr']} on "
            f"{held['cases']} cases {targets}; development part recall "
            f"{dev['recall']}, rate {dev['fpr']} on {dev['cases']} cases"
        )
    else:
        text = (
            f"no held-out part; recall {held['recall']}, false-positive rate {held['fpr']} "
            f"on all {held['cases']} cases, every one tuned on, so no estimate for new text "
            f"{targets}"
        )
    text += f"; default policy, corpus sha256 {digest[:12]} (aims gateway eval)"
    return {"corpus_sha256": digest, "policy": "default", "judged": judged, **parts, "text": text}


def load_policy(path: Path) -> ScreeningPolicy:
    """A screening policy from a YAML file: the screening mapping itself, or a whole
    ``aims.yaml`` whose ``gateway.screening`` section is read.

    A missing file raises :class:`NotFound`; bad YAML or a bad policy raises
    :class:`~aims.errors.ConfigError` naming the file and what to fix.
    """
    from aims.core.yaml_source import parse, read_text

    text, source = read_text(Path(path), "screening policy")
    data = parse(text, source).data
    if data is None:
        data = {}
    if isinstance(data, dict) and isinstance(data.get("gateway"), dict):
        return ScreeningPolicy.from_mapping(
            data["gateway"].get("screening"), source=f"{source}: gateway.screening"
        )
    return ScreeningPolicy.from_mapping(data, source=source)
