"""The LLM application part of a model card: what the version is made of.

An LLM application has no features, no training table and no fitted model;
what identifies it is its system prompt (by hash), the model behind the API
with its request parameters, and its tools (each by the hash of its
definition). The card shows those in place of the model-only sections, and
its evaluation in LLM metrics over cases.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aims.services.card_table import Table, cell


@dataclass(frozen=True)
class Application:
    """What an LLM application version is made of, as its card states it."""

    prompt_sha256: str
    provider: str
    model_name: str
    parameters: Table
    tools: Table
    agent: str | None = None
    app_name: str = ""
    app_version: str = ""


def application_facts(version: Mapping[str, Any]) -> dict[str, Any] | None:
    """The facts of an LLM application version's payload (``None`` for a model)."""
    if version.get("flavour") != "llm-app":
        return None
    return {
        "prompt_sha256": version.get("prompt_sha256"),
        "model": version.get("model") or {},
        "tools": version.get("tools") or [],
        "agent": version.get("agent"),
        "app_name": version.get("app_name"),
        "app_version": version.get("app_version"),
    }


def application_view(facts: Mapping[str, Any]) -> Application:
    """The card's view of :func:`application_facts`."""
    model = facts.get("model") or {}
    agent = facts.get("agent")
    return Application(
        prompt_sha256=cell(facts.get("prompt_sha256")),
        provider=cell(model.get("provider")),
        model_name=cell(model.get("name")),
        parameters=Table.of(
            [
                {"parameter": k, "value": v}
                for k, v in sorted((model.get("parameters") or {}).items())
            ],
            ["parameter", "value"],
        ),
        tools=Table.of(facts.get("tools") or [], ["name", "description", "sha256"]),
        agent=None
        if not agent
        else f"{agent['nodes']} agent node(s), {agent['edges']} hand-off(s)",
        app_name=cell(facts.get("app_name")),
        app_version=cell(facts.get("app_version")),
    )


def application_front_matter(facts: Mapping[str, Any]) -> dict[str, Any]:
    """What the card's YAML front matter says of an LLM application."""
    model = facts.get("model") or {}
    return {
        "prompt_sha256": facts.get("prompt_sha256"),
        "llm": {
            "provider": model.get("provider"),
            "name": model.get("name"),
            "parameters": model.get("parameters") or {},
        },
        "tools": [{"name": t["name"], "sha256": t["sha256"]} for t in facts.get("tools") or []],
    }


def metric_cell(value: Any) -> str:
    """An LLM metric as text: four significant digits, so a cost of dollars per case stays visible.

    Examples
    --------
    >>> metric_cell(1.2e-05), metric_cell(0.5), metric_cell(250.0), metric_cell(None)
    ('1.2e-05', '0.5', '250', '')
    """
    if isinstance(value, float):
        return f"{value:.4g}"
    return cell(value)


__all__ = [
    "Application",
    "application_facts",
    "application_front_matter",
    "application_view",
    "metric_cell",
]
