"""LLM application files and cases shared by the LLM application tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

QUESTIONS = [
    ("capital-fr", "What is the capital of France?", "Paris"),
    ("capital-de", "What is the capital of Germany?", "Berlin"),
    ("capital-it", "What is the capital of Italy?", "Rome"),
    ("capital-es", "What is the capital of Spain?", "Madrid"),
    ("capital-pt", "What is the capital of Portugal?", "Lisbon"),
]


def write_app(folder: Path, name: str, system: str, *, model: str = "gpt-4o-mini") -> Path:
    """An LLM application file with ``system`` as its prompt and one tool."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(
        "kind: llm-application\n"
        "name: geo-agent\n"
        "prompt:\n"
        f"  system: {json.dumps(system)}\n"
        '  template: "Question: {input}"\n'
        "model:\n"
        "  provider: openai\n"
        f"  name: {model}\n"
        "  parameters: {temperature: 0, max_tokens: 64}\n"
        "tools:\n"
        "  - name: lookup_city\n"
        "    description: Facts about a city\n"
        "    input_schema: {type: object, properties: {city: {type: string}}}\n"
    )
    return path


def write_cases(path: Path, answers: dict[str, str], **extra: Any) -> Path:
    """The capital questions with ``answers`` as given outputs (usage and latency included)."""
    lines = []
    for case_id, question, expected in QUESTIONS:
        case: dict[str, Any] = {
            "id": case_id,
            "input": question,
            "expected": expected,
            "reference": f"The capital is {expected}.",
            "tags": ["geo"],
            **extra,
        }
        if case_id in answers:
            case["output"] = answers[case_id]
            case["usage"] = {"input_tokens": 40, "output_tokens": 10}
            case["latency_ms"] = 250
        lines.append(json.dumps(case))
    path.write_text("\n".join(lines) + "\n")
    return path


GOOD = {c: e for c, _, e in QUESTIONS}
"""Every answer right."""
WORSE = {**GOOD, "capital-de": "I'm sorry, but I can't help with that.", "capital-it": "Milan"}
"""Two answers wrong, one of them a refusal."""
