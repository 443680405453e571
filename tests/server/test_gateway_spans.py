"""The gateway's guardrail spans and audit payloads, against plain row-by-row references."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aims.core.audit import canonical_json
from aims.core.genai.span import span_schema
from aims.server.gateway.recorder import APPLICATION, guardrail_spans
from aims.server.gateway.wire import dumps_sorted

IDS = ("trace_id", "span_id")


def records(seed: int, n: int) -> list[tuple[str, str, dict[str, Any]]]:
    """Call records as the gateway makes them: refused before or after screening, with
    and without findings, in several projects."""
    rng = random.Random(seed)
    start = datetime(2026, 12, 5, 21, 0, tzinfo=UTC)
    out = []
    for _ in range(n):
        places = rng.choice([[], ["arguments"], ["arguments", "result"]])
        verdicts = {p: rng.choice(["allow", "warn", "redact", "deny"]) for p in places}
        findings = [
            {"place": p, "category": "override", "rule": f"r{k}", "path": "$"}
            for p in places
            for k in range(rng.choice([0, 0, 1, 2]))
        ]
        at = start + timedelta(milliseconds=rng.randrange(10**7))
        record = {
            "owner": "ana@x.org",
            "server": rng.choice(["files", "pay"]),
            "tool": rng.choice(["echo", "read_file"]),
            "project": rng.choice([None, "default", "fraud"]),
            "findings": findings,
            "at": at.isoformat(timespec="milliseconds"),
            "ms": round(rng.uniform(0, 5000), 3),
        }
        if verdicts or rng.random() < 0.5:
            record["screening"] = verdicts
        out.append((rng.choice(["bot", "helper"]), f"mcp:{record['tool']}", record))
    return out


def reference(batch: list[tuple[str, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The spans' rows, made one by one (ids left out)."""
    rows = []
    for agent, _subject, record in batch:
        end = datetime.fromisoformat(record["at"])
        for place, verdict in (record.get("screening") or {}).items():
            found = [f for f in record["findings"] if f["place"] == place]
            row = dict.fromkeys(span_schema().names)
            row.update(
                project=record["project"] or "default",
                application=APPLICATION,
                name=f"apply_guardrail aims.gateway.{place}",
                operation="apply_guardrail",
                agent_name=agent,
                tool_name=f"{record['server']}/{record['tool']}",
                mcp_method="tools/call",
                start_time=end - timedelta(milliseconds=record["ms"]),
                end_time=end,
                latency_ms=float(record["ms"]),
                status="ok",
                guardrail_name=f"aims.gateway.screening.{place}",
                guardrail_verdict=verdict,
                dialect="aims",
                attributes=json.dumps({"findings": found}) if found else None,
            )
            for name in IDS:
                del row[name]
            rows.append(row)
    return rows


@pytest.mark.parametrize(("seed", "n"), [(1, 0), (2, 1), (3, 40), (4, 500)])
def test_guardrail_spans_are_the_rows_made_one_by_one(seed: int, n: int) -> None:
    batch = records(seed, n)
    table = guardrail_spans(batch)
    assert table.schema.equals(span_schema())
    rows = table.to_pylist()
    assert [{k: v for k, v in r.items() if k not in IDS} for r in rows] == reference(batch)
    # One trace per call, one span id per place, all new.
    traces = [r["trace_id"] for r in rows]
    spans = [r["span_id"] for r in rows]
    assert all(re.fullmatch("[0-9a-f]{32}", t) for t in traces)
    assert all(re.fullmatch("[0-9a-f]{16}", s) for s in spans)
    assert len(set(spans)) == len(spans)
    per_call = [len(r.get("screening") or {}) for _a, _s, r in batch]
    assert len(set(traces)) == sum(1 for k in per_call if k)
    i = 0
    for k in per_call:
        assert len(set(traces[i : i + k])) <= 1
        i += k


def test_audit_payloads_read_as_the_standard_librarys_canonical_json() -> None:
    payload = {"count": 3, "calls": [r for _a, _s, r in records(5, 3)]}
    text = dumps_sorted(payload)
    assert json.loads(text) == payload
    assert text == canonical_json(payload)  # the calls' values write the same both ways
    # What orjson refuses is written by the standard library.
    for odd in ({"big": 1 << 70}, {1: "key that is not a string"}):
        assert dumps_sorted(odd) == canonical_json(odd)
