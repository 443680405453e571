"""How the model checks judge an LLM application version: on what applies to it.

An LLM application (registry flavour ``llm-app``) is a prompt, a model behind
an API and tools; it has no feature table, no predicted probabilities and no
fitted artifact served by aims. The checks of
:mod:`aims.core.standards.technical_checks` ask tabular models for
calibration, feature importance, a training-data profile and contracts; for
an LLM application version they ask instead for what it does have:

* **evaluation**: its evaluation on cases with the LLM metrics; fairness is
  judged on the slices by tag (groups of cases the application must treat
  alike, the worst of which the gates can bound), and the gates of its tier
  on LLM metrics are cited; calibration, perturbation robustness and
  feature importance are *not applicable to an LLM application*;
* **lineage**: its stored definition (prompt, model, tools, all by hash),
  plus any data given at registration;
* **data profile**: the text profiles of its prompts and responses that its
  monitor windows keep (the drift reference), and the project's content
  policy for trace messages;
* **data contract** and **input contract**: not applicable unless data was
  linked (aims does not serve it, so there is no request table to check).

Each function returns ``None`` when the version is judged as any model's.
"""

from __future__ import annotations

from collections.abc import Sequence

from aims.core.standards._common import last_seq, vref
from aims.core.standards.facts import Facts, ModelFacts, VersionFacts
from aims.core.standards.result import Evidence, Finding, Level

__all__ = [
    "LLM_FLAVOUR",
    "NOT_APPLICABLE",
    "data_contract",
    "data_profile",
    "evaluation_parts",
    "input_contract",
    "is_llm",
    "lineage",
    "llm_gates",
]

LLM_FLAVOUR = "llm-app"
NOT_APPLICABLE = "not applicable to an LLM application"

#: Evaluation parts a tabular model has and an LLM application cannot, and why.
TABULAR_ONLY = {
    "calibration": "its answers carry no predicted probabilities",
    "robustness": "feature perturbation needs a feature table; its cases measure varied inputs",
    "importance": "it has no features to rank",
}


def is_llm(v: VersionFacts) -> bool:
    """Whether ``v`` is an LLM application version."""
    return v.flavour == LLM_FLAVOUR


def evaluation_parts(parts: Sequence[str]) -> tuple[list[str], list[str]]:
    """The parts to ask of an LLM application's evaluation, and the tabular-only ones left out.

    Fairness becomes the slices by tag: the groups of cases the application
    must serve alike, each with its own figures and the worst one named.

    Examples
    --------
    >>> evaluation_parts(["metrics", "calibration", "fairness", "slices"])
    (['metrics', 'slices'], ['calibration'])
    """
    wanted: list[str] = []
    skipped: list[str] = []
    for p in parts:
        if p in TABULAR_ONLY:
            skipped.append(p)
            continue
        p = "slices" if p == "fairness" else p
        if p not in wanted:
            wanted.append(p)
    return wanted, skipped


def skipped_text(ref: str, skipped: Sequence[str]) -> str:
    """Why each tabular-only part is not asked of ``ref``."""
    return f"{ref}: {NOT_APPLICABLE}: " + "; ".join(f"{p} ({TABULAR_ONLY[p]})" for p in skipped)


def llm_gates(facts: Facts, model: ModelFacts) -> list[str]:
    """The gates of the model's tier that apply to LLM applications, as text."""
    tier = facts.policy.tiers.get(model.tier) or {}
    out = []
    for g in tier.get("gates") or ():
        if not isinstance(g, dict) or g.get("task") not in ("llm", None):
            continue
        metric = g.get("metric")
        if g.get("min") is not None:
            out.append(f"{metric} >= {g['min']}")
        if g.get("max") is not None:
            out.append(f"{metric} <= {g['max']}")
        if g.get("no_worse_than_production") is not None:
            out.append(f"{metric} no worse than production (-{g['no_worse_than_production']})")
    return out


def lineage(model: ModelFacts, v: VersionFacts, commit: bool) -> Finding | None:
    """An LLM application's lineage is its stored definition; linked data is judged as usual."""
    if not is_llm(v) or v.datasets:
        return None
    ref = vref(model, v)
    text = (
        f"{ref} is defined by its stored definition (sha256 {v.artifact_sha256[:12]}: system "
        "prompt, model and parameters, tools, each by hash); an LLM application needs no "
        "training data"
    )
    if v.git_commit:
        text += f"; definition at git commit {v.git_commit[:12]}"
    evidence = [
        Evidence(
            text,
            model.name,
            last_seq(model.events_of(v.version, "model.register")),
            f"aims model describe {ref}",
        )
    ]
    if commit and not v.git_commit:
        return Finding(
            Level.SOME,
            evidence,
            [
                f"{ref}: no git commit of the application's definition; register the next "
                "version from a git checkout or with `--git-commit SHA`"
            ],
        )
    return Finding(Level.FULL, evidence)


def data_contract(model: ModelFacts, v: VersionFacts) -> Finding | None:
    """No training table, no data contract to ask for (unless data was linked)."""
    if not is_llm(v) or v.datasets:
        return None
    ref = vref(model, v)
    why = f"{ref}: data contract {NOT_APPLICABLE} without linked data (its inputs are text)"
    return Finding(None, [Evidence(why, model.name, None, f"aims model describe {ref}")])


def input_contract(model: ModelFacts, v: VersionFacts) -> Finding | None:
    """aims does not serve an LLM application: there are no request records to check."""
    if not is_llm(v):
        return None
    ref = vref(model, v)
    why = (
        f"{ref}: input contract {NOT_APPLICABLE} (aims does not serve it; its requests "
        "are watched through its traces)"
    )
    return Finding(None, [Evidence(why, model.name, None, f"aims model describe {ref}")])


def data_profile(facts: Facts, model: ModelFacts, v: VersionFacts) -> Finding | None:
    """Without linked data, the profile of an LLM application is that of its prompts and
    responses, which its monitor windows keep, under the project's content policy."""
    if not is_llm(v) or v.datasets:
        return None
    ref = vref(model, v)
    evidence = []
    if content := facts.trace_content.get(model.project):
        evidence.append(
            Evidence(
                f"trace message content of project {model.project}: {content}",
                model.name,
                None,
                "aims report compliance",
            )
        )
    m = v.monitor
    if m.n_windows:
        evidence.insert(
            0,
            Evidence(
                f"{ref}: prompts and responses profiled in {m.n_windows:,} monitor window(s) "
                "(text statistics and hashed n-gram samples, the reference for text drift)",
                model.name,
                None,
                f"aims monitor windows {model.name} --role llm",
            ),
        )
        return Finding(Level.FULL, evidence)
    return Finding(
        Level.NONE,
        evidence,
        [
            f"{ref}: no profile of its prompts and responses yet; send its OpenTelemetry "
            "traces to the server's /v1/traces and run `aims monitor run` on a schedule "
            "(each window keeps a text profile)"
        ],
    )
