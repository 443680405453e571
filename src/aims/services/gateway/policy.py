"""The gateway's policy: the ``gateway:`` section of ``aims.yaml``.

Every key is optional::

    gateway:
      screening:              # verdicts per finding category and place, URL lists
        verdicts: {override: {arguments: deny}}   # (see docs/screening.md)
        blocked_domains: [collector.example]
      high_risk: [payments/*, files/delete_file]  # SERVER/TOOL patterns that wait for a person
      approval_timeout: 2m    # how long such a call waits before it is refused
      untrusted: [web/*, mail/read_inbox]   # tools whose results carry outside text ...
      after_untrusted: [mail/send, files/share]   # ... after which these calls wait for a
      untrusted_window: 10m   #   person, for this long after the agent read such a result
      agent_rate: 20          # calls per second of one agent (sustained) ...
      agent_burst: 40         #   ... and at once after a quiet spell
      tool_rate: 50           # calls per second of one tool, all agents together ...
      tool_burst: 100
      list_rate: 1            # tool listings per second of one agent that read the upstream
      list_burst: 10          #   lists again (beyond them, the gateway's view is served)
      upstream_timeout: 30s   # longest wait for an upstream server's answer
      tools_refresh: 30s      # how often the upstream tool lists are read again
      max_request_bytes: 1048576  # largest request an agent may send (larger: 413)

The ``screening`` section is the screening policy of
:class:`aims.core.screening.ScreeningPolicy`: each finding gets a verdict by
its category and place (a tool's ``description``, a call's ``arguments``, a
tool's ``result``): ``allow``, ``warn`` (forward, count and audit),
``redact`` (forward with the finding cut out) or ``deny`` (refuse).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

from aims.core.screening import ScreeningPolicy
from aims.errors import ConfigError, InvalidInput
from aims.services.access_settings import seconds_of

__all__ = ["GatewayPolicy", "gateway_policy"]


@dataclass(frozen=True)
class GatewayPolicy:
    """Resolved ``gateway:`` settings (see the module docstring)."""

    screening: ScreeningPolicy = field(default_factory=ScreeningPolicy)
    high_risk: tuple[str, ...] = ()
    approval_timeout_seconds: float = 120.0
    untrusted: tuple[str, ...] = ()
    after_untrusted: tuple[str, ...] = ()
    untrusted_window_seconds: float = 600.0
    agent_rate: float = 20.0
    agent_burst: float = 40.0
    tool_rate: float = 50.0
    tool_burst: float = 100.0
    list_rate: float = 1.0
    list_burst: float = 10.0
    upstream_timeout_seconds: float = 30.0
    tools_refresh_seconds: float = 30.0
    max_request_bytes: int = 1 << 20

    def is_high_risk(self, server: str, tool: str) -> bool:
        """Whether calls of ``server``'s ``tool`` wait for a person's approval.

        >>> GatewayPolicy(high_risk=("pay/*",)).is_high_risk("pay", "send")
        True
        """
        return _matches(self.high_risk, server, tool)

    def is_untrusted(self, server: str, tool: str) -> bool:
        """Whether results of ``server``'s ``tool`` carry outside text (``untrusted``)."""
        return _matches(self.untrusted, server, tool)

    def waits_after_untrusted(self, server: str, tool: str) -> bool:
        """Whether calls of ``server``'s ``tool`` wait for a person when the agent has read
        an untrusted result within ``untrusted_window`` (``after_untrusted``).

        >>> p = GatewayPolicy(untrusted=("web/*",), after_untrusted=("mail/send",))
        >>> p.waits_after_untrusted("mail", "send"), p.waits_after_untrusted("mail", "read")
        (True, False)
        """
        return _matches(self.after_untrusted, server, tool)


def _matches(patterns: tuple[str, ...], server: str, tool: str) -> bool:
    name = f"{server}/{tool}"
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


_DURATIONS = {
    "approval_timeout": "approval_timeout_seconds",
    "untrusted_window": "untrusted_window_seconds",
    "upstream_timeout": "upstream_timeout_seconds",
    "tools_refresh": "tools_refresh_seconds",
}
_PATTERNS = {"high_risk": "payments/*", "untrusted": "web/*", "after_untrusted": "mail/send"}
_RATES = ("agent_rate", "agent_burst", "tool_rate", "tool_burst", "list_rate", "list_burst")
MIN_REQUEST_BYTES = 4096
"""The smallest ``max_request_bytes``: below it an ordinary tools/list or initialize is refused."""


def gateway_policy(raw: Any, where: str = "aims.yaml: gateway") -> GatewayPolicy:
    """The policy of the ``gateway:`` mapping ``raw``; ``ConfigError`` naming the bad key."""
    section = raw or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{where} must be a mapping of settings")
    known = {"screening", *_PATTERNS, "max_request_bytes", *_DURATIONS, *_RATES}
    unknown = sorted(set(section) - known)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known keys are {', '.join(sorted(known))}"
        )
    values: dict[str, Any] = {
        "screening": ScreeningPolicy.from_mapping(
            section.get("screening"), source=f"{where}.screening"
        )
    }
    for key, example in _PATTERNS.items():
        patterns = section.get(key, [])
        if not isinstance(patterns, list) or not all(
            isinstance(p, str) and "/" in p for p in patterns
        ):
            raise ConfigError(
                f"{where}.{key} must be a list of SERVER/TOOL patterns (e.g. {example}), "
                f"got {patterns!r}"
            )
        values[key] = tuple(patterns)
    if values["after_untrusted"] and not values["untrusted"]:
        raise ConfigError(
            f"{where}.after_untrusted needs {where}.untrusted: name the tools whose results "
            "carry outside text (e.g. web/*), after which these calls wait for a person"
        )
    for key, name in _DURATIONS.items():
        if key in section:
            try:
                seconds = seconds_of(section[key])
            except InvalidInput as exc:
                raise ConfigError(f"{where}.{key}: {exc.message}") from None
            if seconds <= 0:
                raise ConfigError(f"{where}.{key} must be longer than zero, got {section[key]!r}")
            values[name] = seconds
    for key in _RATES:
        if key in section:
            value = section[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigError(f"{where}.{key} must be a number above zero, got {value!r}")
            values[key] = float(value)
    if "max_request_bytes" in section:
        size = section["max_request_bytes"]
        if isinstance(size, bool) or not isinstance(size, int) or size < MIN_REQUEST_BYTES:
            raise ConfigError(
                f"{where}.max_request_bytes must be a whole number of bytes, at least "
                f"{MIN_REQUEST_BYTES}, got {size!r}"
            )
        values["max_request_bytes"] = size
    for burst in ("agent_burst", "tool_burst", "list_burst"):
        if values.get(burst, 1.0) < 1:
            raise ConfigError(f"{where}.{burst} must be at least 1, got {values[burst]!r}")
    return GatewayPolicy(**values)
