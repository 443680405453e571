"""``aims evaluate``, ``aims gates``, ``aims approve``, ``aims risk …`` and ``aims card``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from aims.cli._output import Format, console, emit, metrics_beside_production, print_table
from aims.cli._state import open_workspace
from aims.cli.remote import file_sha256, local_file, remote, segment, version_path
from aims.workspace import current_actor

risk_app = typer.Typer(help="Record and list risk assessments.", no_args_is_help=True)
FORMAT = typer.Option(Format.table, "--format", "-f", help="Output format.")


def evaluate(
    ref: str = typer.Argument(..., help="NAME@VERSION to evaluate."),
    data: Path | None = typer.Option(
        None,
        "--data",
        help="Labelled evaluation data (Parquet, CSV); for an LLM application, cases as "
        "JSON Lines.",
    ),
    label: str | None = typer.Option(
        None, "--label", help="Label column (default: from the contract)."
    ),
    sensitive: list[str] = typer.Option(
        [], "--sensitive", help="Sensitive column for fairness (repeatable)."
    ),
    shap: bool = typer.Option(
        False,
        "--shap",
        help="Also explain the features by mean |SHAP| on a sample "
        "(needs pip install 'aims[explain]').",
    ),
    endpoint: str | None = typer.Option(
        None,
        "--endpoint",
        help="LLM application: generate the answers through this OpenAI-compatible API "
        "(base URL, e.g. https://api.openai.com/v1) with the version's prompt and model.",
    ),
    endpoint_model: str | None = typer.Option(
        None, "--endpoint-model", help="LLM application: model name to send instead."
    ),
    api_key_env: str = typer.Option(
        "OPENAI_API_KEY", "--api-key-env", help="Environment variable holding the API key."
    ),
    judge_model: str | None = typer.Option(
        None,
        "--judge-model",
        help="LLM application: score answers to cases with a rubric by this model "
        "(through --endpoint); optional.",
    ),
    from_traces: bool = typer.Option(
        False,
        "--from-traces",
        help="LLM application: take in the evaluation results its traces carry "
        "(gen_ai.evaluation.result events) as evidence.",
    ),
    since: str | None = typer.Option(
        None, "--since", help="With --from-traces: spans from this time (ISO 8601, or 24h, 7d)."
    ),
    fmt: Format = FORMAT,
) -> None:
    """Evaluate a version: metrics, calibration, slices, fairness, robustness, importance,
    and the production version side by side. The result is stored with the version.

    An LLM application is evaluated on cases (docs/llm-applications.md):
    exact and normalised match, JSON schema, regex, refusal rate, length,
    tokens, cost, latency, overlap with the reference, and optionally a
    judge model's score."""
    from aims.cli._output import working
    from aims.cli.llm import evaluate_llm_app
    from aims.services.governance import evaluate as run

    if evaluate_llm_app(
        ref, data, endpoint, endpoint_model, api_key_env, judge_model, from_traces, since, fmt
    ):
        return
    if data is None:
        from aims.errors import InvalidInput

        raise InvalidInput("give the evaluation data with --data PATH")
    r = remote()
    if r is not None:
        path = version_path(ref) + "/evaluations"
        form = {"label": label, "sensitive": sensitive, "shap": shap}
        files = {"data": local_file(data)}
        form["sha256"] = file_sha256(data)
    else:
        ws = open_workspace()
    # A boosted model takes 15-20 s: show that work is going on (on a terminal only).
    with working(
        f"evaluating {ref} on {data.name}: metrics, calibration, slices, fairness, "
        "robustness, importance, and the production version beside it"
    ):
        if r is not None:
            out = r.call("POST", path, files=files, data=form)
            # The server records the data as an upload; show it as typed here, as locally.
            out["data"] = str(data)
        else:
            out = run(
                ws,
                ref,
                data,
                actor=current_actor(),
                label=label,
                sensitive=sensitive,
                shap=shap,
            )
    if out.get("kind") == "llm-application":  # evaluated by a server on its cases
        from aims.cli.llm import render_llm_evaluation

        emit(out, fmt, render_llm_evaluation)
        return
    emit(out, fmt, _render_evaluation)


def _render_evaluation(d: dict[str, Any]) -> None:
    ev = d["evaluation"]
    champ = d.get("champion")
    rows, cols = metrics_beside_production(d, _num)
    title = f"{d['model']}@{d['version']} on {d['data']} ({ev['n_rows']} rows)"
    if champ:
        title += f" vs production v{champ['version']}"
    print_table(rows, cols, title=title)
    worst = [s for s in ev.get("slices", []) if s.get("flagged")]
    if worst:
        print_table(
            [
                {
                    "slice": f"{s['column']}={s['value']}",
                    "n": s["n"],
                    **{k: _num(v) for k, v in list(s["metrics"].items())[:3]},
                }
                for s in worst
            ],
            ["slice", "n", *list(worst[0]["metrics"])[:3]],
            title="worst slices",
        )
    for col, fair in (ev.get("fairness") or {}).items():
        stats = fair.get("statistics") or {}
        print_table(
            [{"statistic": k, "value": _num(v)} for k, v in stats.items()],
            ["statistic", "value"],
            title=f"fairness by {col} ({len(fair.get('groups') or {})} groups)",
        )
    robustness = ev.get("robustness") or {}
    if robustness:
        names = [n for n in ("accuracy", "roc_auc", "r2", "mae") if n in ev["metrics"]][:2]
        print_table(
            [
                {
                    "scenario": scenario,
                    **{f"Δ {n}": _num((r.get("delta") or {}).get(n)) for n in names},
                    "error": r.get("error") or "",
                }
                for scenario, r in robustness.items()
            ],
            ["scenario", *[f"Δ {n}" for n in names], "error"],
            title="robustness (perturbed minus clean)",
        )
    importance = ev.get("importance") or {}
    if importance.get("features"):
        ranked = sorted(importance["features"].items(), key=lambda kv: -kv[1].get("mean", 0))
        print_table(
            [
                {"feature": f, "mean": _num(v.get("mean")), "std": _num(v.get("std"))}
                for f, v in ranked[:10]
            ],
            ["feature", "mean", "std"],
            title=f"permutation importance (drop in {importance.get('metric')}, top 10)",
        )
    explained = ev.get("shap")
    if explained:
        ranked = sorted(explained["features"].items(), key=lambda kv: -kv[1])
        print_table(
            [{"feature": f, "mean |SHAP|": _num(v)} for f, v in ranked],
            ["feature", "mean |SHAP|"],
            title=f"SHAP on {explained['rows']} rows: effect on {explained['output']}",
        )


def _num(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, float) else "" if v is None else str(v)


def gates(
    ref: str = typer.Argument(..., help="NAME@VERSION."),
    stage: str = typer.Option("production", "--stage", "-s", help="staging | production."),
    fmt: Format = FORMAT,
) -> None:
    """Show every policy rule for promoting a version, and which are unmet (exit 1 if any)."""
    from aims.services.governance import gates as run

    if (r := remote()) is not None:
        out = r.call("GET", version_path(ref) + "/gates", params={"stage": stage})
    else:
        out = run(open_workspace(), ref, stage)

    def render(d: dict[str, Any]) -> None:
        console.print(
            f"{d['model']}@{d['version']} → {d['stage']}: tier {d['tier']} ({d['tier_source']})"
        )
        print_table(
            [{**r, "ok": "✓" if r["passed"] else "✗"} for r in d["rules"]],
            ["ok", "rule", "message"],
        )

    emit(out, fmt, render)
    if not out["passed"]:
        raise typer.Exit(1)


def approve(
    ref: str = typer.Argument(..., help="NAME@VERSION to approve."),
    note: str = typer.Option("", "--note", help="What was checked (recorded)."),
    fmt: Format = FORMAT,
) -> None:
    """Approve a version as the current actor (never the person who registered it)."""
    from aims.services.governance import approve as run

    if (r := remote()) is not None:
        out = r.call("POST", version_path(ref) + "/approvals", json={"note": note})
    else:
        out = run(open_workspace(), ref, actor=current_actor(), note=note)
    emit(
        out,
        fmt,
        lambda d: console.print(
            f"{d['approved_by']} approved {d['model']}@{d['version']} ({d['approvals']} approval(s))"
        ),
    )


@risk_app.command("assess")
def risk_assess(
    name: str = typer.Argument(..., help="Model name."),
    file: Path = typer.Option(..., "--file", help="Risk assessment YAML (see docs/policy.md)."),
    fmt: Format = FORMAT,
) -> None:
    """Record a new version of a model's risk assessment."""
    from aims.services.governance import assess_risk

    if (r := remote()) is not None:
        out = r.call("POST", f"/v1/models/{segment(name)}/risk", json=_risk_document(file, name))
    else:
        out = assess_risk(open_workspace(), name, file, actor=current_actor())
    emit(
        out,
        fmt,
        lambda d: console.print(
            f"risk assessment v{d['version']} of {d['model']}: tier {d['tier']}, "
            f"next review {d['next_review']}"
        ),
    )


def _risk_document(file: Path, name: str) -> dict[str, Any]:
    """The risk assessment of ``file`` as JSON, refused here as locally when it is not valid."""
    import json

    from aims.core import yaml_source
    from aims.core.risk import load_risk

    load_risk(file, model=name)
    text, source = yaml_source.read_text(file, "risk assessment")
    doc: dict[str, Any] = json.loads(json.dumps(yaml_source.parse(text, source).data, default=str))
    return doc


@risk_app.command("list")
def risk_list(fmt: Format = FORMAT) -> None:
    """The latest risk assessment of every model; overdue reviews are marked (exit 1 if any)."""
    from aims.services.governance import list_risks

    r = remote()
    rows = r.call("GET", "/v1/risk") if r is not None else list_risks(open_workspace())
    emit(
        rows,
        fmt,
        lambda r: print_table(
            [
                {
                    **x,
                    "overdue": "OVERDUE"
                    if x["overdue"]
                    else ("" if x["overdue"] is False else "no assessment"),
                }
                for x in r
            ],
            ["model", "version", "tier", "reviewer", "next_review", "overdue"],
        ),
    )
    if any(x["overdue"] for x in rows):
        raise typer.Exit(1)


@risk_app.command("show")
def risk_show(name: str = typer.Argument(..., help="Model name."), fmt: Format = FORMAT) -> None:
    """The model's risk assessment in force."""
    from aims.errors import NotFound
    from aims.services.governance import show_risk

    if (r := remote()) is not None:
        out = r.call("GET", f"/v1/models/{segment(name)}/risk")
    else:
        out = show_risk(open_workspace(), name)
    if out is None:
        raise NotFound(f"model {name!r} has no risk assessment; record one with 'aims risk assess'")
    emit(out, fmt, lambda d: console.print_json(data=d, default=str))


def card(
    ref: str = typer.Argument(..., help="NAME@VERSION."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write to FILE (.md with a reliability .svg beside it, or .html)."
    ),
    fmt: Format = FORMAT,
) -> None:
    """The model card, generated from the store (Markdown with YAML front matter, or HTML)."""
    from aims.services.card import card_data, render_markdown, write_card

    if (r := remote()) is not None:
        _remote_card(r, ref, out, fmt)
        return
    ws = open_workspace()
    if out is not None:
        files = write_card(ws, ref, out)
        emit(
            {"written": [str(f) for f in files]},
            fmt,
            lambda d: console.print("wrote " + ", ".join(d["written"])),
        )
        return
    data = card_data(ws, ref)
    if fmt is Format.json:
        emit(data, fmt, lambda d: None)
    else:
        import sys

        sys.stdout.write(render_markdown(data))


def _remote_card(r: Any, ref: str, out: Path | None, fmt: Format) -> None:
    """The card of the server's store, written or printed as locally."""
    import sys

    from aims.services.card import render_markdown, write_card_data

    # The card's data, rendered here as locally (with its reliability diagram beside it).
    data = r.call("GET", version_path(ref) + "/card", params={"format": "json"})
    if out is None:
        if fmt is Format.json:
            emit(data, fmt, lambda d: None)
        else:
            sys.stdout.write(render_markdown(data))
        return
    written = write_card_data(data, out)
    emit(
        {"written": [str(f) for f in written]},
        fmt,
        lambda d: console.print("wrote " + ", ".join(d["written"])),
    )
