"""The demo's LLM application: a support assistant with two tools, and the fake model behind it.

The model is a deterministic function of the prompt and the question, so the
demo needs no network and no API key, and gives the same answers, tokens and
costs on every run. Version 1's prompt asks for the order's facts; version 2's
"friendlier" prompt makes the model chat and, on refunds, refuse: worse on the
evaluation cases, which the gates catch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

APP = "support-assistant"
MODEL = "gpt-4o-mini"
EXPENSIVE_MODEL = "gpt-4o"
"""The model someone switches the deployment to without a new version: the cost spike."""

PROMPT_V1 = (
    "You are the support assistant of an online shop. Answer in one or two sentences with the "
    "facts of the customer's order, looked up with the tools. Never promise what the policy "
    "does not say: returns are accepted within 30 days of delivery."
)
PROMPT_V2 = (
    "You are a warm and chatty shop assistant. Make the customer feel welcome, tell them about "
    "our new collection, and keep refunds for a human colleague."
)

TOOLS = [
    {
        "name": "lookup_order",
        "description": "Find an order by its id: status, items and delivery date",
        "input_schema": {
            "type": "object",
            "properties": {"order_id": {"type": "string"}},
            "required": ["order_id"],
        },
    },
    {
        "name": "refund_policy",
        "description": "The shop's return and refund rules for a product category",
        "input_schema": {
            "type": "object",
            "properties": {"category": {"type": "string"}},
            "required": ["category"],
        },
    },
]

# (question, order, topic, the right answer)
QUESTIONS = [
    ("Where is my order {o}?", "A-1001", "status", "Order {o} was shipped and arrives on Friday."),
    ("Has order {o} left the warehouse?", "A-1002", "status", "Order {o} was shipped and arrives on Friday."),
    ("When will {o} be delivered?", "A-1003", "status", "Order {o} was shipped and arrives on Friday."),
    ("Can I return the shoes from order {o}?", "A-1004", "refund", "Yes, you can return order {o} within 30 days of delivery."),
    ("I want my money back for {o}.", "A-1005", "refund", "Yes, you can return order {o} within 30 days of delivery."),
    ("How do I send back order {o}?", "A-1006", "refund", "Yes, you can return order {o} within 30 days of delivery."),
    ("Is order {o} paid?", "A-1007", "status", "Order {o} is paid and was shipped."),
    ("What did I buy in order {o}?", "A-1008", "status", "Order {o} holds one pair of shoes."),
]  # fmt: skip


@dataclass(frozen=True)
class Answer:
    """What the fake model answers: the text, the tool it called, and the tokens used."""

    text: str
    tool: str
    input_tokens: int
    output_tokens: int


def _tokens(text: str) -> int:
    """Roughly what a tokenizer would count: four characters a token."""
    return max(1, len(text) // 4)


def answer(system: str, question: str, order: str, topic: str, expected: str) -> Answer:
    """The fake model's answer to ``question`` under the ``system`` prompt: deterministic."""
    tool = "refund_policy" if topic == "refund" else "lookup_order"
    if system == PROMPT_V1:
        text = expected.format(o=order)
    elif topic == "refund":
        text = "I'm sorry, but I can't help with refunds. A colleague will contact you."
    else:
        text = (
            f"Hello and welcome! Thanks so much for your order {order}, it is on its way. "
            "Have you seen our new summer collection?"
        )
    return Answer(text, tool, _tokens(system) + _tokens(question) + 60, _tokens(text))


def write_definition(folder: Path, version: int) -> Path:
    """The application's YAML definition for ``version`` (1: the good prompt, 2: the worse)."""
    folder.mkdir(parents=True, exist_ok=True)
    prompts = folder / "prompts"
    prompts.mkdir(exist_ok=True)
    system = prompts / f"system_v{version}.md"
    system.write_text(PROMPT_V1 if version == 1 else PROMPT_V2, encoding="utf-8")
    doc = {
        "kind": "llm-application",
        "description": "Answers customers' questions about their orders and returns.",
        "prompt": {"system_file": f"prompts/{system.name}", "template": "{input}"},
        "model": {"provider": "openai", "name": MODEL, "parameters": {"temperature": 0.0}},
        "tools": TOOLS,
    }
    path = folder / f"{APP}-v{version}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def write_cases(path: Path, version: int) -> Path:
    """The evaluation cases, with the answers version ``version`` gives (as a harness would)."""
    system = PROMPT_V1 if version == 1 else PROMPT_V2
    lines = []
    for i, (question, order, topic, expected) in enumerate(QUESTIONS, 1):
        given = answer(system, question.format(o=order), order, topic, expected)
        lines.append(
            {
                "id": f"{topic}-{i}",
                "input": question.format(o=order),
                "expected": expected.format(o=order),
                "tags": [topic],
                "output": given.text,
                "usage": {"input_tokens": given.input_tokens, "output_tokens": given.output_tokens},
                "model": MODEL,
            }
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(c) + "\n" for c in lines), encoding="utf-8")
    return path
