"""The written parts of the screening corpus: the held-out parts studied and moved into
development, and the parts written as training text.

Each held-out part, once measured and studied, keeps its ids in
``aims/data/screening/<name>-heldout-ids.txt``; a training part is named by the prefix of
its ids (``d17-…``). The trainer (:mod:`aims.services.screening_train`) leaves each of
:data:`LEFT_OUT` out of a whole training in turn, the preview of new text.
"""

from __future__ import annotations

from importlib import resources

STUDIED_PARTS = (
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
    "twentieth",
    "twenty-first",
    "twenty-second",
    "twenty-third",
    "twenty-fourth",
    "twenty-fifth",
    "twenty-sixth",
    "twenty-seventh",
    "twenty-eighth",
    "twenty-ninth",
    "thirtieth",
    "thirty-first",
    "thirty-second",
)
"""The held-out parts measured, studied and moved into the development part, in the order
they were written; each one's ids are listed in ``<name>-heldout-ids.txt``."""
TRAINING_PARTS = (
    "d6",
    "d7",
    "d8",
    "d9",
    "d10",
    "d11",
    "d12",
    "d13",
    "d14",
    "d15",
    "d16",
    "d17",
    "d18",
    "d19",
    "d20",
    "d21",
    "d22",
    "d23",
    "d24",
    "d25",
    "d26",
    "d27",
    "d28",
)
"""Parts written as training text (ids ``<name>-…``), each by a writer who had seen no rule,
no case and no documentation of the screening, each in a setting of its own (office mail,
software development, the open web, back-office data, languages other than English, tool
servers, the public sector, money, a person's own assistant, agent systems' plumbing,
short texts, industry and logistics, security operations, media and games, research and
data work, browsing agents, everyday business in many languages, legal and compliance
work, HR and recruiting, customer support, education, cloud operations, and traffic in
which half the attacks use blunt, well-known wording)."""


def _ids(name: str) -> frozenset[str]:
    path = resources.files("aims") / "data" / "screening" / name
    return frozenset(path.read_text(encoding="utf-8").split())


def author(case_id: str, parts: dict[str, frozenset[str]]) -> str:
    """The written part of the corpus ``case_id`` comes from (``parts``: :func:`studied_ids`)."""
    for name, ids in parts.items():
        if case_id in ids:
            return name
    prefix = case_id.split("-")[0]
    return prefix if prefix in ("d3", "d4", *TRAINING_PARTS) else "original"


def studied_ids() -> dict[str, frozenset[str]]:
    """The ids of each studied held-out part, by its name."""
    return {n: _ids(f"{n}-heldout-ids.txt") for n in STUDIED_PARTS}


LEFT_OUT = (*STUDIED_PARTS[2:], *TRAINING_PARTS)
"""The parts written by someone who had seen no rule and no case: each is left out of a
whole training (threshold included) and measured, the preview of new text."""
