"""``aims gateway``: the MCP gateway between agents and the organisation's MCP servers.

The group gathers the gateway's commands (other modules attach theirs to
``gateway_app``); ``aims gateway eval`` measures the
screening of tool descriptions, arguments and results on a labelled corpus.
See docs/screening.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from aims.cli._output import Format, console, emit, err_console, print_table

gateway_app = typer.Typer(
    help="The MCP gateway between agents and MCP servers, and its screening of tool calls.",
    no_args_is_help=True,
)

_SUMMARY = ["split", "cases", "tp", "fn", "fp", "tn", "precision", "recall", "fpr", "targets"]
_BY_CATEGORY = ["split", "category", "attacks", "caught", "recall", "benign", "false_alarms", "fpr"]
_BY_PART = ["split", "part", "attacks", "caught", "recall", "benign", "false_alarms", "fpr"]


def _group_row(split: str, key: str, name: str, c: dict[str, Any]) -> dict[str, Any]:
    return {
        "split": split,
        key: name,
        "attacks": c["tp"] + c["fn"],
        "caught": c["tp"],
        "recall": c["recall"],
        "benign": c["fp"] + c["tn"],
        "false_alarms": c["fp"],
        "fpr": c["fpr"],
    }


def _render_eval(data: dict[str, Any]) -> None:
    rows, by_category, by_part = [], [], []
    for split, res in data["splits"].items():
        o = res["overall"]
        rows.append(
            {
                "split": split,
                "cases": o["tp"] + o["fn"] + o["fp"] + o["tn"],
                **{k: o[k] for k in ("tp", "fn", "fp", "tn", "precision", "recall", "fpr")},
                "targets": "met" if res["meets_targets"] else "MISSED",
            }
        )
        for category, c in res["by_category"].items():
            by_category.append(_group_row(split, "category", category, c))
        # The parts of the held-out split, each written apart: how much new text varies.
        if split == "heldout" and len(res["by_part"]) > 1:
            by_part += [_group_row(split, "part", p, c) for p, c in res["by_part"].items()]
    t = data["targets"]
    print_table(rows, _SUMMARY, title=f"Screening on {data['corpus']}")
    print_table(
        by_category, _BY_CATEGORY, title="By category (benign cases: the one they resemble)"
    )
    if by_part:
        print_table(by_part, _BY_PART, title="Held-out part by part (id prefix)")
    for split, res in data["splits"].items():
        if split == "all":
            continue
        for what, ids in (("missed", res["missed"]), ("false alarms", res["false_positives"])):
            if ids:
                console.print(f"{split} {what}: {', '.join(ids)}", highlight=False, soft_wrap=True)
    console.print(
        f"targets: recall >= {t['recall']}, false-positive rate <= {t['fpr']}; "
        f"{data['ms_per_case']} ms per case",
        highlight=False,
    )


@gateway_app.command("eval")
def eval_(
    corpus: Path | None = typer.Option(
        None,
        "--corpus",
        help="A JSON Lines corpus (default: the one shipped with aims; docs/screening.md "
        "describes the format).",
    ),
    policy: Path | None = typer.Option(
        None,
        "--policy",
        help="A YAML screening policy, or an aims.yaml whose gateway.screening section is "
        "used (default: the built-in policy).",
    ),
    check: bool = typer.Option(
        False,
        "--check",
        help="Exit with 1 when the held-out part (or the whole corpus, without one) misses "
        "a target.",
    ),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
) -> None:
    """Measure the screening of tool calls on a labelled corpus.

    Precision, recall per category and the false-positive rate on benign cases,
    with confusion counts, for the development part, the held-out part and both.
    """
    from aims.services.screening_eval import evaluate, load_corpus, load_policy

    rules = load_policy(policy) if policy is not None else None
    cases = load_corpus(corpus)
    splits = [s for s in ("dev", "heldout") if any(c.split == s for c in cases)]
    report = evaluate(
        cases, rules, corpus=str(corpus or "the bundled corpus"), splits=[*splits, "all"]
    )
    data = report.to_dict()
    emit(data, fmt, _render_eval)
    judged = "heldout" if "heldout" in splits else "all"
    if check and not report.splits[judged].meets_targets:
        err_console.print(f"the {judged} part misses a target", highlight=False)
        raise typer.Exit(1)


# The inventory, allow-lists, pins and waiting calls: aims gateway server|allow|pins|calls.
from aims.cli.gateway_admin import register as _register_admin  # noqa: E402

_register_admin(gateway_app)
