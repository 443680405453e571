"""The one table of attribute names: how each tracing dialect spells what a span row holds.

GenAI tracing conventions are still changing, and instrumentation libraries
speak different dialects of them. This module is the only place in aims that
knows attribute names: :mod:`aims.core.genai.normalise` reads spans through a
:class:`Dialect` picked by :func:`dialect_of`, and nothing else looks inside
span attributes. A new dialect, or a new version of one, is a new entry of
:data:`DIALECTS` (with a fixture in the tests proving it maps a conversation
to the same row as the others).

Entries, in the order they are tried:

``openinference``
    Arize OpenInference (Phoenix): ``openinference.span.kind``,
    ``llm.token_count.*``, flattened ``llm.input_messages.N.message.*``.
``openllmetry``
    Traceloop OpenLLMetry: ``traceloop.*``, ``llm.request.type``, flattened
    ``gen_ai.prompt.N.*`` / ``gen_ai.completion.N.*``, ``llm.usage.total_tokens``.
``otel-genai-1.37``
    The OpenTelemetry GenAI semantic conventions as of 1.37:
    ``gen_ai.provider.name``, ``gen_ai.usage.input_tokens``, messages as JSON
    in ``gen_ai.input.messages`` / ``gen_ai.output.messages``.
``otel-genai-legacy``
    The names those conventions deprecated: ``gen_ai.system``,
    ``gen_ai.usage.prompt_tokens`` / ``completion_tokens``, and messages as
    span events (``gen_ai.user.message``, ``gen_ai.choice``, ...).

A span none of them recognises is read with the current conventions (it is
usually an ordinary span of the same trace: an HTTP call, a database query).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "CURRENT",
    "DIALECTS",
    "EVALUATION_EVENT",
    "EVALUATION_FIELDS",
    "Dialect",
    "Messages",
    "dialect_of",
]


@dataclass(frozen=True)
class Messages:
    """Where a dialect keeps the messages of one side of a call (input or output).

    Exactly one way is used; they are tried in this order:

    ``json_key``
        One attribute holding a JSON list of messages ``{"role", "parts": [...]}``
        (or ``{"role", "content"}``), as the current conventions define.
    ``indexed``
        Flattened attributes ``<prefix>.<N>.<suffix>``: (prefix, role suffix,
        content suffix, finish-reason suffix or "").
    ``events``
        Span event name -> role; the text is the event attribute ``content``
        (or the ``message`` JSON of a ``gen_ai.choice`` event).
    ``value_key``
        One attribute holding the whole text (or a JSON document of it).
    """

    json_key: str = ""
    indexed: tuple[str, str, str, str] | None = None
    indexed_parts: str = ""
    """With ``indexed``: the suffix of multi-part contents, ``<N>.<parts>.<M>.<text suffix>``."""
    events: Mapping[str, str] = field(default_factory=dict)
    value_key: str = ""


@dataclass(frozen=True)
class Dialect:
    """How one dialect names the things a span row holds.

    ``fields`` maps a row column to the attribute names that may hold it,
    first present wins. ``operation_key`` names the attribute whose value
    ``operations`` translates into a row ``operation`` (a value not in the
    map is kept as it is, lower-cased).
    """

    name: str
    markers: tuple[str, ...]
    """Attribute names (or prefixes ending in ``.``) whose presence selects this dialect."""
    fields: Mapping[str, tuple[str, ...]]
    operation_keys: tuple[str, ...]
    operations: Mapping[str, str]
    inputs: Messages
    outputs: Messages
    system_key: str = ""
    """Attribute holding the system instructions apart from the input messages."""
    total_tokens_key: str = ""
    """A total of input and output tokens, used for the output count when only it and the input are sent."""
    content_keys: tuple[str, ...] = ()
    """Attributes (or prefixes ending in ``.``) holding message content or tool data, removed from
    ``attributes`` and stored only as the project's content policy allows."""

    def __post_init__(self) -> None:
        # Derived once: normalisation consults them for every span.
        index: dict[str, list[tuple[str, int]]] = {}
        for column, keys in self.fields.items():
            for rank, key in enumerate(keys):
                index.setdefault(key, []).append((column, rank))
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_exact", tuple(m for m in self.markers if not m.endswith(".")))
        object.__setattr__(self, "_prefixes", tuple(m for m in self.markers if m.endswith(".")))

    @property
    def index(self) -> Mapping[str, list[tuple[str, int]]]:
        """Attribute name -> [(row column, rank among that column's names; 0 wins)]."""
        index: Mapping[str, list[tuple[str, int]]] = self.__dict__["_index"]
        return index

    def selects(self, attributes: Mapping[str, object]) -> bool:
        """Whether ``attributes`` carry one of this dialect's markers."""
        for marker in self.__dict__["_exact"]:
            if marker in attributes:
                return True
        prefixes = self.__dict__["_prefixes"]
        return bool(prefixes) and any(k.startswith(prefixes) for k in attributes)


#: Span event of an evaluation result, and its attribute names (current conventions).
EVALUATION_EVENT = "gen_ai.evaluation.result"
EVALUATION_FIELDS: Mapping[str, str] = {
    "name": "gen_ai.evaluation.name",
    "score_value": "gen_ai.evaluation.score.value",
    "score_label": "gen_ai.evaluation.score.label",
    "explanation": "gen_ai.evaluation.explanation",
}

# Names every dialect shares: they come from general OpenTelemetry conventions
# or from aims itself, and are kept out of the per-dialect lists below.
_COMMON: dict[str, tuple[str, ...]] = {
    "end_user": ("user.id", "enduser.id"),
    "error_type": ("error.type", "exception.type"),
    "mcp_method": ("mcp.method.name",),
    "feedback_score": ("aims.feedback.score", "gen_ai.feedback.score"),
    "guardrail_name": ("aims.guardrail.name", "gen_ai.guardrail.name"),
    "guardrail_verdict": ("aims.guardrail.verdict", "gen_ai.guardrail.verdict"),
}

_OTEL_OPERATIONS = {"generate_content": "chat", "completion": "text_completion"}

_CURRENT_FIELDS: dict[str, tuple[str, ...]] = {
    **_COMMON,
    "provider": ("gen_ai.provider.name", "gen_ai.system"),
    "request_model": ("gen_ai.request.model",),
    "response_model": ("gen_ai.response.model",),
    "agent_name": ("gen_ai.agent.name",),
    "agent_version": ("gen_ai.agent.version",),
    "agent_id": ("gen_ai.agent.id",),
    "tool_name": ("gen_ai.tool.name",),
    "tool_call_id": ("gen_ai.tool.call.id",),
    "conversation_id": ("gen_ai.conversation.id",),
    "input_tokens": ("gen_ai.usage.input_tokens",),
    "output_tokens": ("gen_ai.usage.output_tokens",),
    "cache_read_tokens": ("gen_ai.usage.cache_read.input_tokens",),
    "cache_creation_tokens": ("gen_ai.usage.cache_creation.input_tokens",),
    "reasoning_tokens": ("gen_ai.usage.reasoning.output_tokens",),
    "finish_reasons": ("gen_ai.response.finish_reasons",),
}

CURRENT = Dialect(
    name="otel-genai-1.37",
    markers=(
        "gen_ai.provider.name",
        "gen_ai.usage.input_tokens",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
    ),
    fields=_CURRENT_FIELDS,
    operation_keys=("gen_ai.operation.name",),
    operations=_OTEL_OPERATIONS,
    inputs=Messages(json_key="gen_ai.input.messages", value_key="gen_ai.tool.call.arguments"),
    outputs=Messages(json_key="gen_ai.output.messages", value_key="gen_ai.tool.call.result"),
    system_key="gen_ai.system_instructions",
    content_keys=(
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
        "gen_ai.tool.definitions",
    ),
)

LEGACY = Dialect(
    name="otel-genai-legacy",
    markers=("gen_ai.system", "gen_ai.usage.prompt_tokens", "gen_ai.usage.completion_tokens"),
    fields={
        **_CURRENT_FIELDS,
        "provider": ("gen_ai.system",),
        "input_tokens": ("gen_ai.usage.prompt_tokens", "gen_ai.usage.input_tokens"),
        "output_tokens": ("gen_ai.usage.completion_tokens", "gen_ai.usage.output_tokens"),
        "cache_read_tokens": ("gen_ai.usage.cache_read_input_tokens",),
        "cache_creation_tokens": ("gen_ai.usage.cache_creation_input_tokens",),
    },
    operation_keys=("gen_ai.operation.name",),
    operations=_OTEL_OPERATIONS,
    inputs=Messages(
        events={
            "gen_ai.system.message": "system",
            "gen_ai.user.message": "user",
            "gen_ai.assistant.message": "assistant",
            "gen_ai.tool.message": "tool",
            # Older still: the whole prompt as JSON in the event's gen_ai.prompt attribute.
            "gen_ai.content.prompt": "user",
        }
    ),
    outputs=Messages(
        events={"gen_ai.choice": "assistant", "gen_ai.content.completion": "assistant"}
    ),
    content_keys=("gen_ai.prompt", "gen_ai.completion"),
)

OPENLLMETRY = Dialect(
    name="openllmetry",
    markers=("traceloop.", "llm.request.type", "llm.usage.total_tokens", "gen_ai.prompt.0."),
    fields={
        **_COMMON,
        "provider": ("gen_ai.system", "gen_ai.provider.name"),
        "request_model": ("gen_ai.request.model",),
        "response_model": ("gen_ai.response.model",),
        "agent_name": ("gen_ai.agent.name", "traceloop.agent.name"),
        "agent_version": ("gen_ai.agent.version",),
        "agent_id": ("gen_ai.agent.id",),
        "tool_name": ("gen_ai.tool.name",),
        "tool_call_id": ("gen_ai.tool.call.id",),
        "conversation_id": (
            "gen_ai.conversation.id",
            "traceloop.association.properties.session_id",
            "traceloop.association.properties.conversation_id",
        ),
        "end_user": (*_COMMON["end_user"], "traceloop.association.properties.user_id"),
        "input_tokens": ("gen_ai.usage.prompt_tokens", "gen_ai.usage.input_tokens"),
        "output_tokens": ("gen_ai.usage.completion_tokens", "gen_ai.usage.output_tokens"),
        "cache_read_tokens": ("gen_ai.usage.cache_read_input_tokens",),
        "cache_creation_tokens": ("gen_ai.usage.cache_creation_input_tokens",),
        "reasoning_tokens": ("gen_ai.usage.reasoning_tokens",),
        "finish_reasons": ("gen_ai.response.finish_reasons",),
    },
    operation_keys=("gen_ai.operation.name", "llm.request.type", "traceloop.span.kind"),
    operations={
        "completion": "text_completion",
        "embedding": "embeddings",
        "agent": "invoke_agent",
        "tool": "execute_tool",
    },
    inputs=Messages(
        indexed=("gen_ai.prompt", "role", "content", ""), value_key="traceloop.entity.input"
    ),
    outputs=Messages(
        indexed=("gen_ai.completion", "role", "content", "finish_reason"),
        value_key="traceloop.entity.output",
    ),
    total_tokens_key="llm.usage.total_tokens",
    content_keys=(
        "gen_ai.prompt.",
        "gen_ai.completion.",
        "traceloop.entity.input",
        "traceloop.entity.output",
    ),
)

OPENINFERENCE = Dialect(
    name="openinference",
    markers=("openinference.span.kind", "llm.token_count.", "llm.input_messages."),
    fields={
        **_COMMON,
        "provider": ("llm.provider", "llm.system"),
        "request_model": ("llm.model_name",),
        "response_model": ("llm.model_name",),
        "agent_name": ("agent.name", "graph.node.name"),
        "tool_name": ("tool.name",),
        "tool_call_id": ("tool_call.id", "message.tool_call_id"),
        "conversation_id": ("session.id",),
        "input_tokens": ("llm.token_count.prompt",),
        "output_tokens": ("llm.token_count.completion",),
        "cache_read_tokens": ("llm.token_count.prompt_details.cache_read",),
        "cache_creation_tokens": ("llm.token_count.prompt_details.cache_write",),
        "reasoning_tokens": ("llm.token_count.completion_details.reasoning",),
    },
    operation_keys=("gen_ai.operation.name", "openinference.span.kind"),
    operations={
        "llm": "chat",
        "embedding": "embeddings",
        "tool": "execute_tool",
        "agent": "invoke_agent",
        "guardrail": "apply_guardrail",
        "retriever": "retrieval",
        "reranker": "rerank",
        "evaluator": "evaluate",
    },
    inputs=Messages(
        indexed=("llm.input_messages", "message.role", "message.content", ""),
        indexed_parts="message.contents.{m}.message_content.text",
        value_key="input.value",
    ),
    outputs=Messages(
        indexed=("llm.output_messages", "message.role", "message.content", ""),
        indexed_parts="message.contents.{m}.message_content.text",
        value_key="output.value",
    ),
    total_tokens_key="llm.token_count.total",
    content_keys=(
        "llm.input_messages.",
        "llm.output_messages.",
        "input.value",
        "output.value",
        "llm.prompt_template.variables",
        "tool.parameters",
    ),
)

#: Every dialect, in the order :func:`dialect_of` tries them.
DIALECTS: tuple[Dialect, ...] = (OPENINFERENCE, OPENLLMETRY, CURRENT, LEGACY)


def dialect_of(attributes: Mapping[str, object], event_names: frozenset[str]) -> Dialect:
    """The dialect a span with ``attributes`` (and events named ``event_names``) speaks.

    Current-convention markers win over deprecated ones, since a library
    moving between them often sends both.

    Examples
    --------
    >>> dialect_of({"gen_ai.provider.name": "openai"}, frozenset()).name
    'otel-genai-1.37'
    >>> dialect_of({"gen_ai.system": "openai"}, frozenset()).name
    'otel-genai-legacy'
    >>> dialect_of({"openinference.span.kind": "LLM"}, frozenset()).name
    'openinference'
    """
    for dialect in DIALECTS:
        if dialect.selects(attributes):
            return dialect
    if event_names & set(LEGACY.inputs.events):
        return LEGACY
    return CURRENT
