"""Errors raised by aims.

Every error aims raises on purpose derives from :class:`AimsError`, carries a
stable ``code`` (used by the CLI, the HTTP API and the audit log) and a message
that says what was wrong and what to do about it::

    AimsError
     ├── NotFound              an object (workspace, model, version, file) does not exist
     ├── InvalidInput          a value, file or request is malformed
     │    ├── ContractViolation   data breaks its data contract
     │    └── ConfigError         aims.yaml / policy / environment settings are wrong
     ├── Conflict              the store is in a state that forbids the change
     │    └── GateFailed          promotion refused by policy (lists the unmet rules)
     ├── PermissionDenied      the actor may not do this (role, project, four-eyes)
     ├── IntegrityError        stored content does not match its hash (artifact, audit chain)
     └── StoreUnavailable      the metadata or artifact store cannot be reached

The CLI maps every ``AimsError`` to exit code 1 and one line of text.
"""

from __future__ import annotations

from typing import Literal

ErrorCode = Literal[
    "error",
    "not_found",
    "invalid_input",
    "contract_violation",
    "config_error",
    "conflict",
    "gate_failed",
    "permission_denied",
    "integrity_error",
    "store_unavailable",
]


class AimsError(Exception):
    """Base class of every error aims raises deliberately."""

    code: ErrorCode = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(AimsError):
    """Raised when a workspace, file, model, version or other object does not exist."""

    code = "not_found"


class InvalidInput(AimsError, ValueError):
    """Raised when a value, a file or a request is malformed."""

    code = "invalid_input"


class ContractViolation(InvalidInput):
    """Raised when data breaks the data contract it is checked against."""

    code = "contract_violation"

    def __init__(self, message: str, failures: list[dict] | None = None) -> None:
        super().__init__(message)
        self.failures = failures or []


class ConfigError(InvalidInput):
    """Raised when settings, policy files or environment variables are wrong."""

    code = "config_error"


class Conflict(AimsError):
    """Raised when the current state of the store forbids the requested change."""

    code = "conflict"


class GateFailed(Conflict):
    """Raised when a promotion is refused; ``rules`` lists every unmet rule."""

    code = "gate_failed"

    def __init__(self, message: str, rules: list[str] | None = None) -> None:
        super().__init__(message)
        self.rules = rules or []


class PermissionDenied(AimsError):
    """Raised when the actor lacks the role, the project or the right (four-eyes)."""

    code = "permission_denied"


class IntegrityError(AimsError):
    """Raised when stored content does not match its recorded hash."""

    code = "integrity_error"


class StoreUnavailable(AimsError):
    """Raised when the metadata store or artifact store cannot be reached."""

    code = "store_unavailable"


__all__ = [
    "AimsError",
    "ConfigError",
    "Conflict",
    "ContractViolation",
    "ErrorCode",
    "GateFailed",
    "IntegrityError",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    "StoreUnavailable",
]
