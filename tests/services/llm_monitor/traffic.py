"""Generated LLM traffic as normalised span rows: topics from word lists, known costs and errors."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import yaml

from aims.core.genai.span import span_schema
from aims.core.text.features import hashed_ngrams, text_stats
from aims.core.text.refusal import looks_like_refusal
from aims.services import llm_apps
from aims.workspace import Workspace
from tests.core.text.topics import ACCOUNTS, ORDERS, texts
from tests.services.llm_fixtures import write_app

KEY = b"workspace-key"
T0 = datetime(2026, 3, 2, tzinfo=UTC)
HOUR = timedelta(hours=1)
OWNERS = {"monitoring": "oncall@example.org"}
TOPICS = {"orders": ORDERS, "accounts": ACCOUNTS}
REFUSAL = "I'm sorry, but I can't help with that."


@dataclass(frozen=True)
class Mix:
    """What one window of traffic looks like."""

    topic: str = "orders"
    requests: int = 120
    error_share: float = 0.0
    refusal_share: float = 0.0
    cost_per_call: float = 0.001


def register(ws: Workspace, folder: Path, name: str) -> None:
    """Register an LLM application ``name`` v1 with a monitoring owner."""
    path = write_app(folder, name, f"You are the {name} assistant.")
    llm_apps.register_app(
        ws, path, name, actor="ana@example.org", owners=OWNERS, detect_commit=False
    )


def configure(
    ws: Workspace, llm: dict[str, Any], triggers: list[dict[str, Any]] | None = None
) -> Workspace:
    """Set monitor windows to one hour and ``policy.monitoring.llm``; reopen the workspace."""
    path = ws.root / "aims.yaml"
    config = yaml.safe_load(path.read_text())
    config["policy"]["monitoring"] = {"llm": llm, "triggers": triggers or []}
    config["monitor"] = {"window": "1h", "grace": "5m"}
    path.write_text(yaml.safe_dump(config))
    ws.close()
    return Workspace.open(ws.root)


def _span(app: str, trace: str, span: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "project": "default",
        "application": app,
        "version": "1",
        "trace_id": trace,
        "span_id": span,
        "name": fields.get("operation") or "span",
        "start_time": at,
        "end_time": at + timedelta(milliseconds=fields.get("latency_ms", 0.0)),
        "status": "ok",
        "dialect": "otel-genai-1.37",
        **fields,
    }


def window(app: str, start: datetime, mix: Mix, seed: int) -> pa.Table:
    """One hour of traffic: per request an agent span, a chat span and a tool span."""
    rng = np.random.default_rng(seed)
    prompts = texts(TOPICS[mix.topic], mix.requests, seed)
    answers = texts(TOPICS[mix.topic], mix.requests, seed + 10_000)
    rows = []
    for i, (prompt, answer) in enumerate(zip(prompts, answers, strict=True)):
        at = start + timedelta(seconds=float(rng.uniform(0, 3500)))
        trace = f"{app}-{seed}-{i:05d}"
        user = f"user-{i % 7}"
        error = rng.random() < mix.error_share
        if rng.random() < mix.refusal_share:
            answer = REFUSAL
        rows.append(
            _span(
                app,
                trace,
                "a",
                at,
                operation="invoke_agent",
                agent_name="support",
                end_user=user,
                latency_ms=900.0,
            )
        )
        rows.append(
            _span(
                app,
                trace,
                "c",
                at,
                parent_span_id="a",
                operation="chat",
                provider="openai",
                request_model="gpt-4o-mini",
                latency_ms=float(rng.gamma(4.0, 100.0)),
                input_tokens=40,
                output_tokens=20,
                cost_usd=mix.cost_per_call,
                status="error" if error else "ok",
                refusal=looks_like_refusal(answer),
                input_stats=dataclasses.asdict(text_stats(prompt)),
                output_stats=dataclasses.asdict(text_stats(answer)),
                input_ngrams=hashed_ngrams(prompt, KEY).tolist(),
                output_ngrams=hashed_ngrams(answer, KEY).tolist(),
                feedback_score=1.0 if i % 2 else 0.0,
                evaluations=[
                    {
                        "name": "helpful",
                        "score_value": 0.5,
                        "score_label": None,
                        "explanation": None,
                    }
                ],
            )
        )
        rows.append(
            _span(
                app,
                trace,
                "t",
                at,
                parent_span_id="c",
                operation="execute_tool",
                tool_name="lookup_order",
                latency_ms=20.0,
                status="error" if i % 10 == 0 else "ok",
            )
        )
    return pa.Table.from_pylist(rows, schema=span_schema())


def replay(app: str, plan: list[Mix], seed: int) -> pa.Table:
    """Hourly windows from ``T0``, one per entry of ``plan``."""
    return pa.concat_tables(
        [window(app, T0 + k * HOUR, mix, seed * 1000 + k) for k, mix in enumerate(plan)]
    )
