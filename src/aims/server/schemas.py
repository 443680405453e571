"""Request and response bodies of the HTTP API, as Pydantic models for the OpenAPI document.

The predict route parses its body by hand (for speed, and to name the field
and rule of every problem); :class:`PredictRequest` documents exactly what it
accepts.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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
    routing_key: str | None = Field(
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


class PredictResponse(BaseModel):
    model: str
    version: int
    role: Literal["production", "canary"]
    request_id: str
    classes: list[Any] | None = Field(None, description="Class labels (classifiers only).")
    predictions: list[Prediction]


class ErrorDetail(BaseModel):
    row: int | None = Field(None, description="Record index, when the problem is in a record.")
    field: str | None = Field(None, description="The field (or body key) at fault.")
    rule: str = Field(
        description="missing, required, type, finite, range, length, pattern, allowed_values, "
        "json, shape, max_body_bytes, max_records"
    )
    message: str
    value: Any = None


class ErrorInfo(BaseModel):
    code: str
    message: str
    request_id: str | None = None
    details: list[ErrorDetail] = Field(default_factory=list)
    details_total: int | None = None


class ErrorResponse(BaseModel):
    error: ErrorInfo


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

    api_key: str = Field(description="The key from 'aims keys create' (aims.<key_id>.<secret>).")


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")
    project: str
    role: str


class LabelItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prediction_id: str | None = None
    key: str | None = Field(None, description="The business key named in the input contract.")
    label: Any


class LabelsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str
    by: Literal["prediction_id", "key"] = "prediction_id"
    labels: list[LabelItem] = Field(min_length=1)


class LabelsResponse(BaseModel):
    model: str
    by: str
    received: int = Field(description="Labels with both an id (or key) and a value.")
    stored: int
    matched: int = Field(description="Distinct ids (or keys) found in the log.")
    unknown: int = Field(description="Distinct ids (or keys) not in the log; not stored.")
    duplicates: int = Field(description="Earlier labels of an id repeated in the same batch.")
    skipped: int = Field(description="Labels without an id or a value.")
    unknown_examples: list[Any]


class Health(BaseModel):
    status: str
