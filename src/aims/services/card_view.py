"""The model card's view model: what a card shows, typed, with every cell already text.

:func:`card_view` turns the facts :func:`aims.services.card.card_data` reads
from the store into a :class:`ModelCard`; the Markdown and the HTML templates
in :mod:`aims.services.card_render` both draw that one object, so the two
formats cannot say different things.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aims.services.card_llm import (
    Application,
    application_front_matter,
    application_view,
    metric_cell,
)
from aims.services.card_table import Table, cell


@dataclass(frozen=True)
class Risk:
    """The latest risk assessment, as the card states it."""

    tier: str
    version: int
    reviewer: str
    assessed_on: str
    next_review: str
    residual_risk: str
    downstream_impact: str
    mitigations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Evaluation:
    """The latest evaluation's sections; ``None`` marks a section that was not measured."""

    data_name: str
    n_rows: int
    metrics: Table
    unit: str = "rows"
    ece: float | None = None
    n_bins: int | None = None
    slices: Table | None = None
    fairness: tuple[tuple[str, Table], ...] | None = None
    robustness: Table | None = None
    importance_metric: str | None = None
    importance: Table | None = None
    shap_rows: int | None = None
    shap_output: str | None = None
    shap: Table | None = None


@dataclass(frozen=True)
class ModelCard:
    """Everything one model card shows."""

    model: str
    version: int
    stage: str
    task: str
    flavour: str
    registered_by: str
    registered_on: str
    front_matter: dict[str, Any]
    owners: Table
    training_data: Table
    features: tuple[str, ...]
    has_contract: bool
    approvals: Table
    history: Table
    generated_at: str
    intended_use: str | None = None
    out_of_scope: tuple[str, ...] = ()
    evaluation: Evaluation | None = None
    limitations: tuple[str, ...] = ()
    risk: Risk | None = None
    overrides: Table | None = None
    application: Application | None = None
    """Set for an LLM application: shown in place of the training data and features."""

    @property
    def ref(self) -> str:
        """``NAME@VERSION`` of the card's model version."""
        return f"{self.model}@{self.version}"


def front_matter(d: Mapping[str, Any]) -> dict[str, Any]:
    """The card's YAML front matter: the facts a tool reading the card needs."""
    ev = (d["evaluation"] or {}).get("evaluation") or {}
    app = d.get("application")  # absent from the card data of an older server
    return {
        "model": d["model"],
        "version": d["version"],
        "stage": d["stage"],
        "task": d["task"],
        "flavour": d["flavour"],
        "artifact_sha256": d["artifact_sha256"],
        "git_commit": d["git_commit"],
        "owners": d["owners"],
        "training_data": [x["ref"] for x in d["datasets"]],
        "risk_tier": (d["risk"] or {}).get("tier"),
        "approved_by": [a["actor"] for a in d["approvals"]],
        "policy_overrides": len(d["overrides"]),
        "metrics": {k: round(v, 6) for k, v in (ev.get("metrics") or {}).items() if v is not None},
        **(application_front_matter(app) if app else {}),
        "generated_at": d["generated_at"],
    }


def card_view(d: Mapping[str, Any]) -> ModelCard:
    """The view model of the facts read by :func:`aims.services.card.card_data`."""
    risk = d["risk"]
    stored = d["evaluation"]
    app = d.get("application")
    return ModelCard(
        model=d["model"],
        version=d["version"],
        stage=cell(d["stage"]),
        task=cell(d["task"]),
        flavour=cell(d["flavour"]),
        registered_by=cell(d["registered_by"]),
        registered_on=cell(d["registered_at"])[:10],
        front_matter=front_matter(d),
        owners=Table.of(
            [{"role": k, "owner": v} for k, v in d["owners"].items()], ["role", "owner"]
        ),
        training_data=Table.of(d["datasets"], ["ref", "rows", "sha256"]),
        features=tuple(d["features"]),
        has_contract=bool(d["has_contract"]),
        approvals=Table.of(d["approvals"], ["actor", "roles", "note", "at"]),
        history=Table.of(d["history"], ["at", "from", "to", "actor", "reason"]),
        generated_at=d["generated_at"],
        intended_use=risk["intended_use"] if risk else None,
        out_of_scope=tuple(risk.get("out_of_scope") or ()) if risk else (),
        evaluation=_evaluation(stored, llm=app is not None) if stored else None,
        limitations=tuple(_limitations(risk, stored)),
        risk=_risk(risk) if risk else None,
        overrides=_overrides(d["overrides"]) if d["overrides"] else None,
        application=application_view(app) if app else None,
    )


def _evaluation(stored: Mapping[str, Any], *, llm: bool = False) -> Evaluation:
    ev = stored["evaluation"]
    champ = (stored.get("champion") or {}).get("evaluation")
    rows = []
    for k, v in ev["metrics"].items():
        row = {"metric": k, "value": v}
        if champ:
            row["production"] = champ["metrics"].get(k)
        rows.append(row)
    metrics = Table.of(rows, ["metric", "value"] + (["production"] if champ else []))
    if llm:  # costs per case are fractions of a cent: four decimals would show 0.0000
        metrics = Table(
            metrics.columns,
            tuple(
                (r["metric"], *(metric_cell(r.get(c)) for c in metrics.columns[1:])) for r in rows
            ),
        )
    cal = ev.get("calibration")
    slices = None
    if ev.get("slices"):
        flagged = [s for s in ev["slices"] if s.get("flagged")] or ev["slices"][:5]
        slices = Table.of(
            [
                {"slice": f"{s['column']}={s['value']}", "n": s["n"], **s["metrics"]}
                for s in flagged
            ],
            ["slice", "n", *list(flagged[0]["metrics"])[:4]],
        )
    fairness = None
    if ev.get("fairness"):
        fairness = tuple(
            (
                col,
                Table.of(
                    [
                        {"statistic": k, "value": v}
                        for k, v in fair.get("statistics", fair).items()
                        if isinstance(v, int | float)
                    ],
                    ["statistic", "value"],
                ),
            )
            for col, fair in ev["fairness"].items()
        )
    robustness = None
    if ev.get("robustness"):
        first = next(iter(ev["robustness"].values())).get("delta") or {}
        robustness = Table.of(
            [{"perturbation": k, **(r.get("delta") or {})} for k, r in ev["robustness"].items()],
            ["perturbation", *list(first)[:4]],
        )
    # An LLM evaluation stores an empty importance: no section rather than an empty one.
    importance = ev.get("importance") if (ev.get("importance") or {}).get("features") else None
    shap = ev.get("shap") or None
    return Evaluation(
        data_name=Path(stored["data"]).name,
        n_rows=ev["n_rows"],
        metrics=metrics,
        unit="cases" if llm else "rows",
        ece=cal["ece"] if cal else None,
        n_bins=cal["n_bins"] if cal else None,
        slices=slices,
        fairness=fairness,
        robustness=robustness,
        importance_metric=importance.get("metric") if importance else None,
        importance=Table.of(
            [
                {"feature": k, **v}
                for k, v in sorted(
                    importance.get("features", {}).items(), key=lambda kv: -kv[1].get("mean", 0)
                )[:10]
            ],
            ["feature", "mean", "std"],
        )
        if importance
        else None,
        shap_rows=shap["rows"] if shap else None,
        shap_output=shap["output"] if shap else None,
        shap=Table.of(
            [
                {"feature": k, "mean |SHAP|": v}
                for k, v in sorted(shap["features"].items(), key=lambda kv: -kv[1])[:10]
            ],
            ["feature", "mean |SHAP|"],
        )
        if shap
        else None,
    )


def _limitations(risk: Mapping[str, Any] | None, stored: Mapping[str, Any] | None) -> list[str]:
    out = []
    if risk:
        out += [
            f"{fm['name']}: {fm.get('description', '')} "
            f"(likelihood {fm['likelihood']}, impact {fm['impact']})"
            for fm in risk.get("failure_modes", [])
        ]
    if stored:
        ev = stored["evaluation"]
        out += [
            f"weak slice {s['column']}={s['value']} (n={s['n']})"
            for s in ev.get("slices", [])
            if s.get("flagged")
        ]
        out += ev.get("notes", [])
    return out


def _risk(risk: Mapping[str, Any]) -> Risk:
    return Risk(
        tier=cell(risk["risk_tier"]),
        version=risk["version"],
        reviewer=cell(risk["reviewer"]),
        assessed_on=cell(risk["assessed_on"]),
        next_review=cell(risk["next_review"]),
        residual_risk=cell(risk["residual_risk"]),
        downstream_impact=cell(risk["downstream_impact"]),
        mitigations=tuple(risk.get("mitigations") or ()),
    )


def _overrides(overrides: Sequence[Mapping[str, Any]]) -> Table:
    return Table.of(
        [
            {
                "at": o["at"],
                "actor": o["actor"],
                "reason": o.get("override", {}).get("reason"),
                "unmet": ", ".join(u["rule"] for u in o.get("override", {}).get("unmet", [])),
            }
            for o in overrides
        ],
        ["at", "actor", "reason", "unmet"],
    )


__all__ = ["Evaluation", "ModelCard", "Risk", "Table", "card_view", "cell", "front_matter"]
