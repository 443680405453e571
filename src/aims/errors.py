"""Errors raised by aims.

Every error aims raises on purpose derives from :class:`AimsError`, carries a
stable ``code`` (used by the CLI, the HTTP API and the audit log), the HTTP
``status`` the server answers it with, and a message that says what was wrong
and what to do about it::

    AimsError                  500  error
     ├── NotFound              404  not_found            an object (workspace, model, version, file) does not exist
     ├── InvalidInput          422  invalid_input        a value, file or request is malformed
     │    ├── ContractViolation   422  contract_violation   data breaks its data contract
     │    ├── ConfigError         500  config_error         aims.yaml / policy / environment settings are wrong
     │    ├── MalformedBody       400  malformed_json       a request body is not JSON the server can read
     │    ├── PayloadTooLarge     413  payload_too_large    a request body or row count is over its limit
     │    └── MethodNotAllowed    405  method_not_allowed   the route does not take this HTTP method
     ├── Conflict              409  conflict             the store is in a state that forbids the change
     │    └── GateFailed          409  gate_failed          promotion refused by policy (lists the unmet rules)
     ├── Unauthenticated       401  unauthenticated      no credentials, or credentials that are not valid
     ├── PermissionDenied      403  permission_denied    the actor may not do this (role, project, four-eyes)
     ├── RateLimited           429  rate_limited         too many calls; retry after the time given
     ├── IntegrityError        500  integrity_error      stored content does not match its hash (artifact, audit chain)
     ├── ModelFailed           500  model_error          a served model raised while predicting
     ├── StoreUnavailable      503  store_unavailable    the metadata, artifact or log store cannot be reached
     └── InsufficientStorage   507  insufficient_storage the server's disk has no room for an upload

The class is the one place that maps an error to its HTTP answer: the server
turns any ``AimsError`` into an RFC 9457 problem whose ``type`` is
:func:`problem_type` of the code, whose ``title`` is the class's ``title`` and
whose ``status`` is the class's ``status``. The CLI maps every ``AimsError`` to
exit code 1 and one line of text.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

ErrorCode = Literal[
    "error",
    "not_found",
    "invalid_input",
    "contract_violation",
    "config_error",
    "malformed_json",
    "payload_too_large",
    "method_not_allowed",
    "conflict",
    "gate_failed",
    "unauthenticated",
    "permission_denied",
    "rate_limited",
    "integrity_error",
    "model_error",
    "store_unavailable",
    "insufficient_storage",
]

PROBLEM_TYPE_PREFIX = "urn:aims:problem:"
"""Problem types are URNs (not links nobody serves): ``urn:aims:problem:<code>``."""


def problem_type(code: str) -> str:
    """The RFC 9457 problem ``type`` of an error code.

    Examples
    --------
    >>> problem_type("contract_violation")
    'urn:aims:problem:contract_violation'
    """
    return PROBLEM_TYPE_PREFIX + code


class AimsError(Exception):
    """Base class of every error aims raises deliberately.

    ``details`` lists field-level problems (``row``, ``field``, ``rule``,
    ``message``) where there are some; ``headers`` are HTTP headers the server
    adds to its answer (``Retry-After``, ``WWW-Authenticate``).
    """

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"

    def __init__(
        self,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details: list[dict[str, Any]] = list(details or [])
        self.headers: dict[str, str] = dict(headers or {})

    def __str__(self) -> str:
        return self.message


class NotFound(AimsError):
    """Raised when a workspace, file, model, version or other object does not exist."""

    code = "not_found"
    status = 404
    title = "Not found"


class InvalidInput(AimsError, ValueError):
    """Raised when a value, a file or a request is malformed."""

    code = "invalid_input"
    status = 422
    title = "Invalid input"


class ContractViolation(InvalidInput):
    """Raised when data breaks the data contract it is checked against."""

    code = "contract_violation"
    title = "Input breaks the data contract"

    def __init__(self, message: str, failures: list[dict] | None = None) -> None:
        super().__init__(message, details=failures)
        self.failures = failures or []


class ConfigError(InvalidInput):
    """Raised when settings, policy files or environment variables are wrong."""

    code = "config_error"
    status = 500
    title = "Server configuration error"


class MalformedBody(InvalidInput):
    """Raised when a request body is not JSON the server can read (syntax, encoding, depth)."""

    code = "malformed_json"
    status = 400
    title = "Malformed request body"


class PayloadTooLarge(InvalidInput):
    """Raised when a request body or its row count is over the server's limit."""

    code = "payload_too_large"
    status = 413
    title = "Payload too large"


class MethodNotAllowed(InvalidInput):
    """Raised when a route is called with an HTTP method it does not take."""

    code = "method_not_allowed"
    status = 405
    title = "Method not allowed"


class Conflict(AimsError):
    """Raised when the current state of the store forbids the requested change."""

    code = "conflict"
    status = 409
    title = "Conflict"


class GateFailed(Conflict):
    """Raised when a promotion is refused; ``rules`` lists every unmet rule."""

    code = "gate_failed"
    title = "Promotion refused by policy"

    def __init__(self, message: str, rules: list[str] | None = None) -> None:
        super().__init__(message)
        self.rules = rules or []


class Unauthenticated(AimsError):
    """Raised when a call carries no credentials, or credentials that are not valid."""

    code = "unauthenticated"
    status = 401
    title = "Not authenticated"


class PermissionDenied(AimsError):
    """Raised when the actor lacks the role, the project or the right (four-eyes)."""

    code = "permission_denied"
    status = 403
    title = "Permission denied"


class RateLimited(AimsError):
    """Raised when a caller makes too many calls; ``Retry-After`` says when to try again."""

    code = "rate_limited"
    status = 429
    title = "Too many requests"


class IntegrityError(AimsError):
    """Raised when stored content does not match its recorded hash."""

    code = "integrity_error"
    status = 500
    title = "Stored content does not match its hash"


class ModelFailed(AimsError):
    """Raised when a served model raises while predicting (its input passed the contract)."""

    code = "model_error"
    status = 500
    title = "The model failed"


class StoreUnavailable(AimsError):
    """Raised when the metadata store, artifact store or prediction log cannot be reached."""

    code = "store_unavailable"
    status = 503
    title = "Store unavailable"


class InsufficientStorage(AimsError):
    """Raised when the server's disk has too little free space to take an upload."""

    code = "insufficient_storage"
    status = 507
    title = "Insufficient storage"


def error_classes() -> list[type[AimsError]]:
    """Every class of the tree, the root first (subclasses defined elsewhere included)."""
    out: list[type[AimsError]] = []
    stack: list[type[AimsError]] = [AimsError]
    while stack:
        cls = stack.pop(0)
        if cls not in out:
            out.append(cls)
            stack.extend(cls.__subclasses__())
    return out


def class_of_code(code: str) -> type[AimsError]:
    """The class of the tree whose ``code`` is ``code`` (``AimsError`` when none is).

    Examples
    --------
    >>> class_of_code("not_found").__name__, class_of_code("no such code").__name__
    ('NotFound', 'AimsError')
    """
    for cls in error_classes():
        if cls.__dict__.get("code") == code:
            return cls
    return AimsError


__all__ = [
    "PROBLEM_TYPE_PREFIX",
    "AimsError",
    "ConfigError",
    "Conflict",
    "ContractViolation",
    "ErrorCode",
    "GateFailed",
    "InsufficientStorage",
    "IntegrityError",
    "InvalidInput",
    "MalformedBody",
    "MethodNotAllowed",
    "ModelFailed",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "RateLimited",
    "StoreUnavailable",
    "Unauthenticated",
    "class_of_code",
    "error_classes",
    "problem_type",
]
