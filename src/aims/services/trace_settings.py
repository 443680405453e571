"""The ``traces:`` section of ``aims.yaml``: content policy, application attributes, prices.

.. code-block:: yaml

    traces:
      content: off              # off (default) | redacted | full, for every project
      projects:
        support: {content: redacted}
      application_attribute: service.name
      version_attribute: service.version
      prices:                   # dollars per million tokens; added to or replacing the built-in table
        my-finetune: {input: 0.3, output: 1.2}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aims.core.genai.normalise import CONTENT_POLICIES
from aims.core.genai.pricing import PriceTable, builtin_prices
from aims.errors import ConfigError
from aims.workspace import Workspace

__all__ = ["TraceSettings", "content_evidence", "trace_settings"]

_KNOWN = {"content", "projects", "application_attribute", "version_attribute", "prices"}


@dataclass(frozen=True)
class TraceSettings:
    """Resolved ``traces:`` settings of a workspace."""

    content: str = "off"
    project_content: Mapping[str, str] = field(default_factory=dict)
    application_attribute: str = "service.name"
    version_attribute: str = "service.version"
    prices: PriceTable = field(default_factory=builtin_prices)

    def content_of(self, project: str) -> str:
        """The content policy of ``project``: its own, else the workspace's."""
        return self.project_content.get(project, self.content)


def _policy(value: Any, where: str) -> str:
    # YAML reads a bare off as false: take it for what the user wrote.
    if value is False:
        return "off"
    if value not in CONTENT_POLICIES:
        raise ConfigError(f"{where} is one of {', '.join(CONTENT_POLICIES)}, not {value!r}")
    return str(value)


def trace_settings(ws: Workspace) -> TraceSettings:
    """The ``traces:`` section of ``ws``'s ``aims.yaml`` (defaults when absent)."""
    data = ws.settings.raw.get("traces") or {}
    if not isinstance(data, Mapping):
        raise ConfigError("aims.yaml: 'traces' must be a mapping")
    unknown = set(data) - _KNOWN
    if unknown:
        raise ConfigError(
            f"aims.yaml: unknown key(s) traces.{', traces.'.join(sorted(map(str, unknown)))}; "
            f"known keys are traces.{', traces.'.join(sorted(_KNOWN))}"
        )
    projects = data.get("projects") or {}
    if not isinstance(projects, Mapping):
        raise ConfigError("aims.yaml: 'traces.projects' maps project names to {content: ...}")
    per_project = {}
    for name, entry in projects.items():
        if not isinstance(entry, Mapping) or set(entry) - {"content"}:
            raise ConfigError(
                f"aims.yaml: traces.projects.{name} is {{content: off|redacted|full}}"
            )
        if "content" in entry:
            per_project[str(name)] = _policy(entry["content"], f"traces.projects.{name}.content")
    attrs = {}
    for key in ("application_attribute", "version_attribute"):
        value = data.get(key, TraceSettings.__dataclass_fields__[key].default)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"aims.yaml: traces.{key} must be an attribute name")
        attrs[key] = value
    prices = builtin_prices()
    if data.get("prices"):
        prices = prices.with_overrides(data["prices"], where="aims.yaml: traces.prices")
    return TraceSettings(
        content=_policy(data.get("content", "off"), "traces.content"),
        project_content=per_project,
        prices=prices,
        **attrs,
    )


_POLICY_TEXT = {
    "off": "not stored",
    "redacted": "stored with personal data replaced by keyed hashes",
    "full": "stored in full",
}


def content_evidence(ws: Workspace, project: str) -> dict[str, Any]:
    """What the evidence report states about LLM trace content for ``project``.

    Message content, tool arguments and results of spans are kept as the
    project's content policy says; end-user ids are always hashed.
    """
    try:
        settings = trace_settings(ws)
    except ConfigError as exc:
        return {"project": project, "policy": None, "text": f"unknown: {exc.message}"}
    policy = settings.content_of(project)
    source = (
        f"traces.projects.{project}.content"
        if project in settings.project_content
        else "traces.content"
    )
    return {
        "project": project,
        "policy": policy,
        "setting": source,
        "text": f"{policy}: message content {_POLICY_TEXT[policy]} ({source} in aims.yaml); "
        "end-user ids always hashed",
    }
