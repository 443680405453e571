"""Model checks on the technical evidence: evaluation, data, artifacts, monitoring, incidents.

Same contract as :mod:`aims.core.standards.governance_checks`: a pure
``check(facts, model, **params) -> Finding`` over the model's serving versions.

Examples
--------
>>> import datetime as dt
>>> from aims.core.standards.facts import Facts, ModelFacts, MonitorFacts, VersionFacts
>>> now = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
>>> v = VersionFacts(1, "production", "skops", False, "ab" * 32, None, True, "ana", now,
...                  monitor=MonitorFacts(24, now - dt.timedelta(days=9)))
>>> m = ModelFacts("churn", "p", "ana", versions=(v,), in_scope=True)
>>> monitoring(Facts(now, "/ws", "p", models=(m,)), m, days=7).level.name
'SOME'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from aims.core.standards import llm_checks as llm
from aims.core.standards._common import day, last_seq, per_version, vref
from aims.core.standards.facts import Facts, ModelFacts, VersionFacts
from aims.core.standards.result import Evidence, Finding, Level

__all__ = [
    "EVALUATION_PARTS",
    "artifact_integrity",
    "data_contract",
    "data_profile",
    "evaluation",
    "incidents",
    "input_contract",
    "lineage",
    "monitoring",
]

EVALUATION_PARTS = (
    "metrics",
    "calibration",
    "slices",
    "fairness",
    "robustness",
    "importance",
    "champion",
)
_PART_HINT = {
    "fairness": "pass --sensitive COL for each protected attribute in the data",
    "champion": "evaluate while the earlier version is in production, to compare on the same data",
    "calibration": "calibration needs a classifier with predicted probabilities",
}


def evaluation(facts: Facts, model: ModelFacts, parts: Sequence[str] = ("metrics",)) -> Finding:
    """Each serving version has a stored evaluation holding each of ``parts``
    (:data:`EVALUATION_PARTS`); a first release is not asked for a champion comparison."""
    unknown = set(parts) - set(EVALUATION_PARTS)
    if unknown:
        raise ValueError(f"unknown evaluation part(s) {sorted(unknown)}; use {EVALUATION_PARTS}")

    def one(v: VersionFacts) -> Finding:
        ev = v.evaluation
        ref = vref(model, v)
        is_llm = llm.is_llm(v)
        fix = f"`aims evaluate {ref} --data {'cases.jsonl' if is_llm else 'FILE'}`"
        # An LLM application is asked what applies to it (see llm_checks).
        wanted, skipped = llm.evaluation_parts(parts) if is_llm else (list(parts), [])
        noted = [Evidence(llm.skipped_text(ref, skipped), model.name)] if skipped else []
        if not wanted:
            return Finding(None, noted)
        if ev is None:
            return Finding(Level.NONE, noted, [f"{ref}: not evaluated; run {fix}"])
        if "champion" in wanted and _first_release(model, v):
            wanted.remove("champion")  # nothing was in production to compare with
        lacking = [p for p in wanted if p not in ev.parts]
        shown = ", ".join(
            f"{k} {val:.4g}" for k, val in list(ev.metrics.items())[:4] if val is not None
        )
        held = [p for p in EVALUATION_PARTS if p in ev.parts and p != "metrics"]
        unit = "cases" if is_llm else "rows"
        evidence = [
            Evidence(
                f"{ref} evaluated on {ev.data}"
                + (f" ({ev.n_rows:,} {unit})" if ev.n_rows is not None else "")
                + f" by {ev.created_by} on {day(ev.at)}: {shown}"
                + (f"; also {', '.join(held)}" if held else ""),
                model.name,
                last_seq(model.events_of(v.version, "model.evaluate")),
                f"aims card {ref}",
            ),
            *noted,
        ]
        gates = llm.llm_gates(facts, model) if is_llm else []
        if gates:
            evidence.append(
                Evidence(
                    f"{ref}: gated before production on {', '.join(gates)} (tier {model.tier})",
                    model.name,
                    None,
                    f"aims gates {ref}",
                )
            )
        if not lacking:
            return Finding(Level.FULL, evidence)
        hint_of = {**_PART_HINT, **(_LLM_HINT if is_llm else {})}
        hints = "; ".join(hint_of[p] for p in lacking if p in hint_of)
        return Finding(
            Level.SOME,
            evidence,
            [
                f"{ref}: the evaluation has no {', '.join(lacking)}; run {fix}"
                + (f" ({hints})" if hints else "")
            ],
        )

    return per_version(model, one)


_LLM_HINT = {
    "slices": "tag the cases (`tags`) by the groups the application must serve alike: each tag "
    "is a slice with its own figures, which is how fairness is measured for an LLM application",
}


def _first_release(model: ModelFacts, v: VersionFacts) -> bool:
    """No other version went to production before ``v`` was evaluated."""
    when = v.evaluation.at if v.evaluation else None
    for other in model.versions:
        if other.version == v.version:
            continue
        for t in other.transitions:
            if t.to_stage == "production" and (when is None or t.at <= when):
                return False
    return True


def lineage(facts: Facts, model: ModelFacts, commit: bool = False) -> Finding:
    """Each serving version links its training data by content hash (and, with
    ``commit``, the git commit of the training code)."""

    def one(v: VersionFacts) -> Finding:
        ref = vref(model, v)
        if (judged := llm.lineage(model, v, commit)) is not None:
            return judged
        if not v.datasets:
            return Finding(
                Level.NONE,
                gaps=[
                    f"{ref}: no training data is linked; register the model with "
                    "`--dataset NAME@VERSION`"
                ],
            )
        text = f"{ref} trained on " + ", ".join(
            f"{d.ref} (sha256 {d.content_hash[:12]}, {d.row_count:,} rows, from {d.source})"
            for d in v.datasets
        )
        if v.git_commit:
            text += f"; code at git commit {v.git_commit[:12]}"
        evidence = [
            Evidence(
                text,
                model.name,
                last_seq(model.events_of(v.version, "model.register")),
                f"aims lineage {ref}",
            )
        ]
        if commit and not v.git_commit:
            return Finding(
                Level.SOME,
                evidence,
                [
                    f"{ref}: no git commit of the training code; register the next version "
                    "from a git checkout or with `--git-commit SHA`"
                ],
            )
        return Finding(Level.FULL, evidence)

    return per_version(model, one)


def data_contract(facts: Facts, model: ModelFacts) -> Finding:
    """The training data passed an explicit data contract at registration; an input
    contract alone (often inferred) is partial evidence."""

    def one(v: VersionFacts) -> Finding:
        ref = vref(model, v)
        if (judged := llm.data_contract(model, v)) is not None:
            return judged
        checked = [d.ref for d in v.datasets if d.has_contract]
        unchecked = [d.ref for d in v.datasets if not d.has_contract]
        evidence = []
        if checked:
            evidence.append(
                Evidence(
                    f"{', '.join(checked)} passed a data contract at registration",
                    model.name,
                    None,
                    f"aims lineage {ref}",
                )
            )
        if v.has_input_contract:
            evidence.append(
                Evidence(
                    f"{ref} holds an input contract", model.name, None, f"aims model show {ref}"
                )
            )
        if not unchecked and v.datasets:
            return Finding(Level.FULL, evidence)
        gap = (
            f"{ref}: training data {', '.join(unchecked)} was registered without a data contract; "
            "write one (`aims contract infer DATA`, then review it) and register the data with "
            "`aims dataset register DATA --name NAME --contract CONTRACT.yaml`"
        )
        return Finding(Level.SOME if evidence else Level.NONE, evidence, [gap])

    return per_version(model, one)


def data_profile(facts: Facts, model: ModelFacts) -> Finding:
    """A statistical reference profile of the training data is stored."""

    def one(v: VersionFacts) -> Finding:
        ref = vref(model, v)
        if (judged := llm.data_profile(facts, model, v)) is not None:
            return judged
        have = [d.ref for d in v.datasets if d.has_profile]
        lacking = [d.ref for d in v.datasets if not d.has_profile]
        evidence = (
            [
                Evidence(
                    f"statistical reference profile stored for {', '.join(have)}",
                    model.name,
                    None,
                    f"aims lineage {ref}",
                )
            ]
            if have
            else []
        )
        if have and not lacking:
            return Finding(Level.FULL, evidence)
        return Finding(
            Level.SOME if have else Level.NONE,
            evidence,
            [
                f"{ref}: no profile of {', '.join(lacking) or 'its training data'}; register the data "
                "again with `aims dataset register` (profiles are computed at registration)"
            ],
        )

    return per_version(model, one)


def input_contract(facts: Facts, model: ModelFacts) -> Finding:
    """Each serving version holds an input contract, checked on the requests it serves."""

    def one(v: VersionFacts) -> Finding:
        ref = vref(model, v)
        if (judged := llm.input_contract(model, v)) is not None:
            return judged
        if v.has_input_contract:
            return Finding(
                Level.FULL,
                [
                    Evidence(
                        f"{ref} holds an input contract, checked on every request it serves",
                        model.name,
                        None,
                        f"aims model show {ref}",
                    )
                ],
            )
        return Finding(
            Level.NONE,
            gaps=[f"{ref}: no input contract; register the next version with `--contract FILE`"],
        )

    return per_version(model, one)


def artifact_integrity(facts: Facts, model: ModelFacts) -> Finding:
    """Each serving version is stored by sha256 in a format that cannot run code; a
    pickle loaded on trust is partial evidence."""

    def one(v: VersionFacts) -> Finding:
        ref = vref(model, v)
        ev = Evidence(
            f"{ref} stored as {v.flavour} under sha256 {v.artifact_sha256[:12]}, "
            "checked before every load",
            model.name,
            last_seq(model.events_of(v.version, "model.register")),
            f"aims model show {ref}",
        )
        if v.trusted:
            return Finding(
                Level.SOME,
                [ev],
                [
                    f"{ref} is a pickle loaded on trust (it can run arbitrary code); export it as "
                    "skops or ONNX and register that as the next version"
                ],
            )
        return Finding(Level.FULL, [ev])

    return per_version(model, one)


def monitoring(facts: Facts, model: ModelFacts, days: int = 7, labelled: bool = False) -> Finding:
    """Each serving version has a monitor window ending within the last ``days`` days
    (with ``labelled``, one with labelled outcomes too); older windows are partial evidence."""
    since = facts.now - dt.timedelta(days=days)

    def one(v: VersionFacts) -> Finding:
        ref = vref(model, v)
        m = v.monitor
        if m.n_windows == 0 or m.last_end is None:
            how = (
                "send its OpenTelemetry traces to the server's /v1/traces and run "
                "`aims monitor run` on a schedule"
                if llm.is_llm(v)
                else "run `aims monitor run` on a schedule"
            )
            return Finding(Level.NONE, gaps=[f"{ref}: never monitored; {how}"])
        text = f"{ref}: {m.n_windows:,} monitor window(s), the newest ending {m.last_end:%Y-%m-%d %H:%M}"
        if m.last_labelled_end is not None:
            text += f"; outcomes labelled up to {m.last_labelled_end:%Y-%m-%d %H:%M}"
        evidence = [
            Evidence(text, model.name, None, f"aims monitor windows {model.name} -v {v.version}")
        ]
        if m.last_end < since:
            return Finding(
                Level.SOME,
                evidence,
                [
                    f"{ref}: no monitor window in the last {days} days; run `aims monitor run` on a schedule"
                ],
            )
        if llm.is_llm(v) and labelled:
            # Its windows measure quality without labels: errors, refusals, guardrail
            # verdicts and feedback scores, as the spans carry them.
            evidence.append(
                Evidence(
                    f"{ref}: labelled outcomes {llm.NOT_APPLICABLE}; its windows measure "
                    "error and refusal rates, guardrail verdicts and feedback scores",
                    model.name,
                )
            )
        elif labelled and (m.last_labelled_end is None or m.last_labelled_end < since):
            return Finding(
                Level.SOME,
                evidence,
                [
                    f"{ref}: no labelled outcomes in the last {days} days, so performance in "
                    "production is not measured; feed outcomes with `aims labels ingest PATH`"
                ],
            )
        return Finding(Level.FULL, evidence)

    return per_version(model, one)


def incidents(facts: Facts, model: ModelFacts) -> Finding:
    """Every incident of the model has an owner, an acknowledgement and, once resolved,
    a resolution note; a model without incidents has nothing to judge."""
    if not model.incidents:
        return Finding(None)
    evidence, gaps = [], []
    handled = 0
    events = {
        e.payload.get("incident"): e.seq
        for e in model.events
        if e.action in ("incident.open", "incident.ack", "incident.resolve")
    }
    for inc in model.incidents:
        problems = inc.problems
        handled += not problems
        state = f"resolved: {inc.resolution}" if inc.resolved_at else inc.status
        evidence.append(
            Evidence(
                f"incident #{inc.id} ({inc.kind}, {inc.severity}) opened {day(inc.opened_at)}: "
                f"{inc.summary}; owner {inc.owner or '-'}, "
                + (
                    f"acknowledged by {inc.acked_by} on {day(inc.acked_at)}, "
                    if inc.acked_at
                    else ""
                )
                + state,
                model.name,
                events.get(inc.id),
                f"aims incidents show {inc.id}",
            )
        )
        if problems:
            steps = []
            if "no owner" in problems:
                steps.append(
                    f"name a monitoring owner (`aims model owners {model.name} monitoring=EMAIL`)"
                )
            if inc.acked_at is None:
                steps.append(f"acknowledge it (`aims incidents ack {inc.id}`)")
            if inc.resolved_at is None or "resolved without a resolution note" in problems:
                steps.append(
                    f"once fixed, `aims incidents resolve {inc.id} --note 'root cause; action'`"
                )
            gaps.append(
                f"{model.name}: incident #{inc.id} has {', '.join(problems)}; " + ", ".join(steps)
            )
    level = Level.FULL if not gaps else Level.SOME if handled else Level.NONE
    return Finding(level, evidence, gaps)
