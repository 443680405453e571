"""Calling an OpenAI-compatible chat completions endpoint the user configures.

Used to generate the answers of an evaluation's cases from a version's own
prompt, model and parameters, and to ask a judge model to score answers on a
rubric. Only the standard library is used: one ``POST {base_url}/chat/completions``
per call. The API key is read from an environment variable at call time and is
never stored or logged.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from aims.errors import ConfigError, InvalidInput

__all__ = ["Completion", "Endpoint"]

_MAX_BODY = 8 << 20
"""Bytes read from one answer (a larger one is refused)."""


@dataclass(frozen=True)
class Completion:
    """One answer, with what the endpoint reported about it."""

    text: str
    input_tokens: int | None
    output_tokens: int | None
    latency_ms: float
    model: str | None
    tool_calls: int = 0


@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach an OpenAI-compatible endpoint.

    ``base_url`` ends before ``/chat/completions`` (``https://api.openai.com/v1``,
    ``http://127.0.0.1:11434/v1``); ``model`` overrides the version's model name;
    ``api_key_env`` names the environment variable holding the key (none needed
    when the variable is unset and the endpoint takes no key).
    """

    base_url: str
    model: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    timeout: float = 60.0

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise InvalidInput(
                f"endpoint {self.base_url!r} is not an http(s) URL; give the base URL of an "
                "OpenAI-compatible API, e.g. https://api.openai.com/v1"
            )

    def chat(
        self,
        messages: list[dict[str, Any]],
        *,
        model: str,
        parameters: dict[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
        what: str = "request",
    ) -> Completion:
        """One chat completion; ``what`` names the call in errors (e.g. the case id)."""
        body: dict[str, Any] = {**(parameters or {}), "model": self.model or model}
        body["messages"] = messages
        if tools:
            body["tools"] = tools
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        url = self.base_url.rstrip("/") + "/chat/completions"
        request = urllib.request.Request(
            url, data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read(_MAX_BODY + 1)
        except urllib.error.HTTPError as exc:
            detail = exc.read(500).decode("utf-8", "replace").strip()
            hint = f"; is {self.api_key_env} set to a valid key?" if exc.code in (401, 403) else ""
            raise ConfigError(
                f"{what}: {url} answered HTTP {exc.code}: {detail[:300]}{hint}"
            ) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ConfigError(
                f"{what}: cannot reach {url} ({reason}); check --endpoint and that the server runs"
            ) from None
        latency_ms = (time.perf_counter() - started) * 1000.0
        if len(raw) > _MAX_BODY:
            raise InvalidInput(f"{what}: the answer of {url} is over {_MAX_BODY} bytes")
        return _completion(raw, latency_ms, url, what)


def _completion(raw: bytes, latency_ms: float, url: str, what: str) -> Completion:
    try:
        doc = json.loads(raw)
        message = doc["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise InvalidInput(
            f"{what}: {url} did not answer like an OpenAI-compatible chat completion "
            f"(no choices[0].message): {raw[:200]!r}"
        ) from None
    content = message.get("content")
    if isinstance(content, list):  # content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    tool_calls = message.get("tool_calls") or []
    if not content and tool_calls:
        # The answer is a tool call: what the application would run is what is judged.
        content = json.dumps(
            [c.get("function", {}) for c in tool_calls if isinstance(c, dict)], sort_keys=True
        )
    usage = doc.get("usage") or {}
    return Completion(
        text=str(content or ""),
        input_tokens=_int(usage.get("prompt_tokens", usage.get("input_tokens"))),
        output_tokens=_int(usage.get("completion_tokens", usage.get("output_tokens"))),
        latency_ms=latency_ms,
        model=doc.get("model"),
        tool_calls=len(tool_calls),
    )


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
