"""Refusal recognition."""

from __future__ import annotations

import pytest

from aims.core.text.refusal import looks_like_refusal


@pytest.mark.parametrize(
    "text",
    [
        "I can't help with that request.",
        "I\u2019m sorry, but I can\u2019t assist with creating malware.",
        "I cannot provide medical diagnoses.",
        "I'm unable to help with this.",
        "I must decline to answer.",
        "As an AI language model, I cannot browse the internet.",
        "I'M SORRY, BUT I CANNOT DO THAT.",
        "I won't be able to help with that.",
    ],
)
def test_refusals_are_recognised(text: str) -> None:
    assert looks_like_refusal(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Sure, here is a summary of the report.",
        "The function can't be called twice; use a lock.",
        "You cannot return items after 30 days.",
        "Here is the full answer. " * 40 + "I can't help with that.",
    ],
)
def test_ordinary_answers_are_not_refusals(text: str) -> None:
    assert not looks_like_refusal(text)
