"""LLM applications as registry artifacts: the YAML definition, validated and made canonical.

An LLM application is registered from a YAML file whose top-level ``kind`` is
``llm-application`` (see ``docs/llm-applications.md``)::

    kind: llm-application
    prompt:
      system: You answer questions about orders.   # or system_file: prompts/system.md
      template: "Question: {input}"                # or template_file: ...
    model: {provider: openai, name: gpt-4o-mini, parameters: {temperature: 0}}
    tools:
      - {name: lookup_order, description: ..., input_schema: {type: object}}

Files named by ``*_file`` are read relative to the YAML file and inlined, so the
stored artifact is one self-contained document: :func:`canonical_bytes` of the
spec (sorted keys, no spaces), whose SHA-256 is the version's artifact hash.
Every problem is one :class:`~aims.errors.ConfigError` naming the file, the line
and the key.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aims.core import yaml_source
from aims.errors import ConfigError, InvalidInput

__all__ = [
    "FLAVOUR",
    "KIND",
    "LlmAppSpec",
    "canonical_bytes",
    "is_llm_app_file",
    "load_spec",
    "parse_spec_bytes",
    "prompt_hashes",
    "sha256_text",
]

KIND = "llm-application"
"""The ``kind:`` that marks a YAML file as an LLM application."""
FLAVOUR = "llm-app"
"""The flavour recorded on registry versions that hold an LLM application."""
TASK = "llm"

_KIND_RE = re.compile(rb"^kind:\s*['\"]?llm-application['\"]?\s*(#.*)?$", re.MULTILINE)
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Prompt(_Strict):
    """The system prompt and the user message template, inline or in a file beside the YAML."""

    system: str | None = None
    system_file: str | None = None
    template: str | None = None
    """The user message, with ``{variable}`` placeholders filled from each case's input."""
    template_file: str | None = None

    @model_validator(mode="after")
    def _one_of_each(self) -> Prompt:
        if self.system is not None and self.system_file is not None:
            raise ValueError("give system or system_file, not both")
        if self.template is not None and self.template_file is not None:
            raise ValueError("give template or template_file, not both")
        if all(
            v is None for v in (self.system, self.system_file, self.template, self.template_file)
        ):
            raise ValueError("give a system prompt (system or system_file) or a template")
        return self


class ModelRef(_Strict):
    """The model behind the API: provider, name, and the request parameters."""

    provider: str = Field(min_length=1)
    name: str = Field(min_length=1)
    parameters: dict[str, Any] = {}
    """Sent with every request, e.g. ``temperature``, ``max_tokens``, ``top_p``."""


class Tool(_Strict):
    """One tool the application offers the model."""

    name: str
    description: str = ""
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})

    @field_validator("name")
    @classmethod
    def _tool_name(cls, value: str) -> str:
        if not _TOOL_NAME.match(value):
            raise ValueError(
                "a tool name is 1-128 letters, digits, '_', '.' or '-' (as model APIs accept)"
            )
        return value


class AgentNode(_Strict):
    """A node of the agent graph: an agent, a tool call or a router."""

    id: str = Field(min_length=1)
    kind: str = "agent"
    description: str = ""


class AgentGraph(_Strict):
    """Optional: the agents and hand-offs of a multi-step application."""

    nodes: list[AgentNode] = []
    edges: list[tuple[str, str]] = []
    """Pairs ``[from, to]`` of node ids."""

    @model_validator(mode="after")
    def _edges_join_nodes(self) -> AgentGraph:
        ids = [n.id for n in self.nodes]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"node ids must be unique; repeated: {', '.join(dupes)}")
        for a, b in self.edges:
            for end in (a, b):
                if end not in ids:
                    raise ValueError(f"edge [{a}, {b}] names node {end!r}, which is not in nodes")
        return self


class LlmAppSpec(_Strict):
    """An LLM application definition, as written in its YAML file."""

    kind: Literal["llm-application"]
    name: str | None = None
    """The name the application's spans carry (``gen_ai.agent.name`` or ``service.name``)
    when it differs from the registered name."""
    version: str | None = None
    """The application's own version label (``gen_ai.agent.version``), if it sets one."""
    description: str = ""
    prompt: Prompt
    model: ModelRef
    tools: list[Tool] = []
    agent: AgentGraph | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        # 'version: 1.2' reads as a float in YAML; the label is text.
        return (
            str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        )

    @field_validator("tools")
    @classmethod
    def _unique_tools(cls, value: list[Tool]) -> list[Tool]:
        names = [t.name for t in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"tool names must be unique; repeated: {', '.join(dupes)}")
        return value

    @property
    def system(self) -> str:
        """The system prompt (empty when there is none)."""
        return self.prompt.system or ""

    @property
    def template(self) -> str:
        """The user message template (``{input}`` when none is given)."""
        return self.prompt.template if self.prompt.template is not None else "{input}"

    def variables(self) -> list[str]:
        """The placeholders of the template, in order of first use."""
        out: list[str] = []
        for _, field, _, _ in string.Formatter().parse(self.template):
            if field is not None and field not in out:
                out.append(field)
        return out

    def describe(self) -> dict[str, Any]:
        """What the registry keeps in the version's ``info`` (JSON-safe)."""
        return {
            "task": TASK,
            "kind": KIND,
            "app_name": self.name,
            "app_version": self.version,
            "prompt_sha256": sha256_text(self.system) if self.system else None,
            "template_sha256": sha256_text(self.template),
            "prompt_hashes": prompt_hashes(self.system) if self.system else [],
            "variables": self.variables(),
            "model": {
                "provider": self.model.provider,
                "name": self.model.name,
                "parameters": dict(self.model.parameters),
            },
            "tools": [
                {
                    "name": t.name,
                    "description": t.description,
                    "sha256": hashlib.sha256(_canonical(t.model_dump())).hexdigest(),
                }
                for t in self.tools
            ],
            "agent": None
            if self.agent is None
            else {"nodes": len(self.agent.nodes), "edges": len(self.agent.edges)},
        }


def sha256_text(text: str) -> str:
    """SHA-256 of ``text`` as UTF-8, in hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def prompt_hashes(system: str) -> list[str]:
    """The hashes a span's system instructions may carry for this prompt.

    The text exactly as written, and without surrounding white space: a YAML
    block scalar ends in a newline that the application's own copy may lack.
    """
    return sorted({sha256_text(system), sha256_text(system.strip())})


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def canonical_bytes(spec: LlmAppSpec) -> bytes:
    """The stored form of ``spec``: canonical JSON (sorted keys, no spaces), files inlined."""
    return _canonical(spec.model_dump(mode="json", exclude_none=True))


def is_llm_app_file(path: str | Path) -> bool:
    """Whether ``path`` is a YAML file declaring ``kind: llm-application`` at its top level."""
    path = Path(path)
    if path.suffix.lower() not in (".yaml", ".yml") or not path.is_file():
        return False
    with path.open("rb") as f:
        head = f.read(65536)
    return _KIND_RE.search(head) is not None


def load_spec(path: str | Path) -> LlmAppSpec:
    """Read and validate an LLM application file; ``*_file`` entries are read and inlined.

    Raises
    ------
    NotFound
        The file does not exist.
    InvalidInput
        The YAML does not parse, breaks the format, or names a prompt file that
        cannot be read; the message gives the line and key. (A definition is input
        to the registry, not configuration of aims: an upload of a bad one is a 422.)
    """
    try:
        return _load_spec(Path(path))
    except ConfigError as exc:
        raise InvalidInput(exc.message) from None


def _load_spec(path: Path) -> LlmAppSpec:
    text, source = yaml_source.read_text(path, "LLM application")
    doc = yaml_source.parse(text, source)
    if not isinstance(doc.data, dict):
        raise ConfigError(
            f"{source}: an LLM application file is a mapping starting with "
            "'kind: llm-application'; see docs/llm-applications.md"
        )
    spec: LlmAppSpec = yaml_source.validate(LlmAppSpec, doc)
    prompt = spec.prompt
    inlined: dict[str, Any] = {}
    for key in ("system", "template"):
        name = getattr(prompt, f"{key}_file")
        if name is None:
            continue
        file = (path.parent / name) if not Path(name).is_absolute() else Path(name)
        line = yaml_source.line_of(doc.node, ["prompt", f"{key}_file"])
        if not file.is_file():
            raise ConfigError(
                f"{source} line {line}: prompt.{key}_file: {name!r} is not a file "
                f"(looked for {file}); give a path relative to the YAML file"
            )
        try:
            inlined[key] = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ConfigError(
                f"{source} line {line}: prompt.{key}_file: {name!r} is not UTF-8 text"
            ) from None
        inlined[f"{key}_file"] = None
    if inlined:
        spec = spec.model_copy(update={"prompt": prompt.model_copy(update=inlined)})
    _check_template(spec, doc, source)
    return spec


def _check_template(spec: LlmAppSpec, doc: yaml_source.Document, source: str) -> None:
    try:
        spec.variables()
    except ValueError as exc:
        line = yaml_source.line_of(doc.node, ["prompt", "template"])
        raise ConfigError(
            f"{source} line {line}: prompt.template: {exc}; write placeholders as "
            "{name} and a literal brace as {{ or }}"
        ) from None


def parse_spec_bytes(data: bytes, name: str = "stored LLM application") -> LlmAppSpec:
    """The spec from its stored canonical JSON (see :func:`canonical_bytes`)."""
    try:
        return LlmAppSpec.model_validate(json.loads(data))
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"{name} does not parse as an LLM application: {exc}") from None
