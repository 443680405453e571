"""Request and response bodies of the HTTP API, as Pydantic models for the OpenAPI document.

The predict route parses its body by hand (for speed, and to name the field
and rule of every problem); :class:`PredictRequest` documents exactly what it
accepts.

Every text a body carries is :data:`Text` (or :func:`text`): valid Unicode
(a lone UTF-16 surrogate such as ``"\\udc00"`` is valid JSON but cannot be
stored, hashed or logged) and bounded in length, so a refusal names the
field (422) instead of failing deeper down.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema

INT64 = (-(2**63), 2**63 - 1)
"""Integers the stores hold: larger ones are refused, not rounded."""
MAX_TEXT = 10_000
"""Characters of a label or key (the bound of :data:`Text`)."""


def _valid_unicode(value: str) -> str:
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                "the text holds a lone UTF-16 surrogate (such as \\udc00) and cannot be "
                "stored; send valid Unicode text"
            ) from None
    return value


# Text field types: valid Unicode, at most so many characters. They are spelled out (not
# built by a function) so that type checkers see them as types.
_UNICODE = AfterValidator(_valid_unicode)
Text = Annotated[str, Field(max_length=MAX_TEXT), _UNICODE]
"""A label, business key or other free text."""
Name = Annotated[str, Field(max_length=200), _UNICODE]
"""A model name (the registry bounds names far below this)."""
Identifier = Annotated[str, Field(max_length=128), _UNICODE]
"""A prediction id, request id or similar token."""
ApiKeyText = Annotated[str, Field(max_length=512), _UNICODE]
"""An API key as sent to the token endpoint."""


def _label(value: Any) -> Any:
    """One label value, checked in one place so a refusal is one error naming the label."""
    if value is None or isinstance(value, bool | str):
        if isinstance(value, str):
            if len(value) > MAX_TEXT:
                raise ValueError(f"a label is at most {MAX_TEXT} characters")
            _valid_unicode(value)
        return value
    if isinstance(value, int):
        if not INT64[0] <= value <= INT64[1]:
            raise ValueError("an integer label must fit in 64 bits")
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("a numeric label must be finite (not NaN or Infinity)")
        return value
    raise ValueError(
        f"a label is a class (text, integer or boolean) or a number, not a {type(value).__name__}"
    )


LabelValue = Annotated[
    Any,
    PlainValidator(_label),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "maxLength": MAX_TEXT},
                {"type": "integer", "minimum": INT64[0], "maximum": INT64[1]},
                {"type": "number"},
                {"type": "boolean"},
                {"type": "null"},
            ]
        }
    ),
]
"""A label: a class (text, integer or boolean) or a finite number; never a list or an object."""


class PredictRequest(BaseModel):
    """Records (a list of objects) or columns (an object of equal-length lists), not both."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"records": [{"age": 42, "income": 51000.0}], "routing_key": "customer-17"},
                {"columns": {"age": [42, 35], "income": [51000.0, 38000.0]}},
            ]
        },
    )

    records: list[dict[str, Any]] | None = Field(
        None, description="One object per row, keyed by input field."
    )
    columns: dict[str, list[Any]] | None = Field(
        None, description="One list per input field; all lists have the same length."
    )
    routing_key: Text | None = Field(
        None,
        description="Sticks the caller to one version while a canary runs (same key, same "
        "version). The X-Routing-Key header does the same.",
    )


class Prediction(BaseModel):
    prediction_id: str = Field(description="Id to attach a label to later (POST /v1/labels).")
    prediction: Any = Field(description="Predicted class or value.")
    probabilities: list[float] | None = Field(
        None, description="Class probabilities in the order of `classes` (classifiers only)."
    )
    row: int | None = Field(
        None, description="The row's index in the request (only with errors=per_row)."
    )


class PredictResponse(BaseModel):
    model: str
    version: int
    role: Literal["production", "canary"]
    request_id: str
    classes: list[Any] | None = Field(None, description="Class labels (classifiers only).")
    predictions: list[Prediction]
    rejected: list[ErrorDetail] | None = Field(
        None,
        description="With errors=per_row: every field of the rows that were not predicted "
        "(their index, field, rule and reason), empty when every row was valid.",
    )


class ErrorDetail(BaseModel):
    row: int | None = Field(None, description="Record index, when the problem is in a record.")
    field: str | None = Field(None, description="The field (or body key) at fault.")
    rule: str = Field(
        description="missing, required, type, finite, range, length, pattern, allowed_values, "
        "json, encoding, storable, shape, max_body_bytes, max_records, or a schema error type"
    )
    message: str
    value: Any = Field(
        None, description="The value at fault; never given for personal-data fields."
    )


class ProblemDetails(BaseModel):
    """An RFC 9457 problem (``application/problem+json``), the body of every error answer."""

    type: str = Field(description="urn:aims:problem:<code>; see docs/serving.md for the list.")
    title: str = Field(description="Short summary of the problem type.")
    status: int = Field(description="The HTTP status.")
    detail: str = Field(description="What was wrong in this request, and how to fix it.")
    instance: str | None = Field(None, description="The path of the request.")
    code: str = Field(description="The last part of `type`, for clients that switch on a word.")
    request_id: str | None = None
    errors: list[ErrorDetail] = Field(
        default_factory=list, description="Field-level problems (at most 100)."
    )
    errors_total: int | None = Field(None, description="How many there were, past 100.")


ErrorResponse = ProblemDetails
"""The former name of :class:`ProblemDetails`."""


class ContractField(BaseModel):
    name: str
    type: str | None
    required: bool
    minimum: Any = None
    maximum: Any = None
    allowed_values: list[Any] | None = None
    pii: str | None = None


class ServedVersionInfo(BaseModel):
    version: int
    role: Literal["production", "canary", "shadow"]
    traffic: float | None = Field(None, description="Canary share of requests, in percent.")
    flavour: str
    task: str
    features: list[str]
    classes: list[Any] | None
    artifact_sha256: str
    loaded_at: str
    input_contract: list[ContractField]


class ModelInfo(BaseModel):
    name: str
    project: str
    versions: list[ServedVersionInfo]


class ModelList(BaseModel):
    models: list[ModelInfo]


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key: ApiKeyText = Field(
        description="The key from 'aims keys create' (aims.<key_id>.<secret>)."
    )


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")
    project: str
    role: str


class LabelItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prediction_id: Identifier | None = None
    key: Text | None = Field(None, description="The business key named in the input contract.")
    label: LabelValue = Field(
        description="The true class or value; null labels are counted as skipped."
    )


class LabelsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: Name
    by: Literal["prediction_id", "key"] = "prediction_id"
    labels: list[LabelItem] = Field(min_length=1)


class LabelsResponse(BaseModel):
    model: str
    by: str
    batch: str = Field(description="The batch id, stored with each label and in the audit log.")
    received: int = Field(description="Labels with both an id (or key) and a value.")
    accepted: int = Field(description="Distinct ids (or keys) labelled by this batch.")
    duplicates: int = Field(description="Earlier labels of an id repeated in the same batch.")
    skipped: int = Field(description="Labels without an id or a value.")
    # Whether an id or key is in the log is shown only to callers who may read
    # the model's log (scientist role or higher); null for others.
    stored: int | None = Field(None, description="Labels stored (null below the scientist role).")
    matched: int | None = Field(
        None, description="Distinct ids (or keys) found in the log (null below the scientist role)."
    )
    unknown: int | None = Field(
        None, description="Distinct ids (or keys) not in the log (null below the scientist role)."
    )
    unknown_examples: list[Any] | None = None


class Health(BaseModel):
    status: str
