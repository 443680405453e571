"""The rule runner: only the rules whose triggers a text holds run, in the rule set's order."""

from __future__ import annotations

import re

from aims.core.screening.rules import Rule, run_rules


def rule(name: str, pattern: str, *triggers: str) -> Rule:
    return Rule(name, "override", re.compile(pattern, re.I), tuple(triggers), False, False, None)


RULES = (
    rule("first", r"\bignore\b", "ignore"),
    rule("second", r"\bsecret\b", "secret"),
    rule("third", r"\bignore all\b", "all", "ignore"),
)


def names(text: str, rules: tuple[Rule, ...] = RULES, present: set[str] | None = None) -> list:
    return [(r.name, s, e) for r, s, e in run_rules(text, text.lower(), rules, present=present)]


def test_matches_come_rule_by_rule_in_the_sets_order() -> None:
    text = "A secret: ignore all that."
    assert names(text) == [("first", 10, 16), ("second", 2, 8), ("third", 10, 20)]
    # The same rules in another order (another set) run in that order.
    assert [n for n, _, _ in names(text, RULES[::-1])] == ["third", "second", "first"]


def test_a_rule_runs_only_when_one_of_its_triggers_is_present() -> None:
    text = "ignore all"
    assert [n for n, _, _ in names(text, present={"all"})] == ["third"]
    assert names(text, present=set()) == []
    assert [n for n, _, _ in names(text)] == ["first", "third"]


def test_a_new_rule_set_is_indexed_on_its_own() -> None:
    # Sets made on the fly (equal contents, new tuples) each get their own index.
    for k in range(100):
        rules = (rule(f"r{k}", rf"\bword{k}\b", f"word{k}"),)
        assert names(f"a word{k} here", rules) == [(f"r{k}", 2, 2 + len(f"word{k}"))]
