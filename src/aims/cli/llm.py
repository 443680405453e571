"""How the CLI shows LLM application versions and their evaluations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text

from aims.cli._output import Format, console, emit, metrics_beside_production, print_table
from aims.cli._state import open_workspace
from aims.cli.remote import remote
from aims.workspace import current_actor

__all__ = ["evaluate_llm_app", "render_app", "render_llm_evaluation", "render_trace_evaluations"]


def render_app(d: dict[str, Any]) -> None:
    """One LLM application version: prompt hash, model, tools (``aims model show NAME@V``)."""
    model = d.get("model") or {}
    params = ", ".join(f"{k}={v}" for k, v in (model.get("parameters") or {}).items())
    lines = [
        f"LLM application {d['name']}@{d['version']} ({d['stage']})",
        f"model: {model.get('provider')}/{model.get('name')}" + (f" ({params})" if params else ""),
        f"prompt sha256: {d.get('prompt_sha256') or 'no system prompt'}",
        f"definition sha256: {d['artifact_sha256']}",
    ]
    if d.get("app_name") or d.get("app_version"):
        lines.append(
            f"spans carry: name {d.get('app_name') or d['name']}, "
            f"version {d.get('app_version') or d['version']}"
        )
    if d.get("datasets"):
        lines.append(f"lineage: {', '.join(d['datasets'])}")
    if d.get("owners"):
        lines.append("owners: " + ", ".join(f"{k}={v}" for k, v in d["owners"].items()))
    for line in lines:
        console.print(Text(line), highlight=False, soft_wrap=True)
    tools = d.get("tools") or []
    if tools:
        print_table(
            [{**t, "sha256": t["sha256"][:16]} for t in tools],
            ["name", "sha256", "description"],
            title=f"{len(tools)} tool(s)",
        )
    agent = d.get("agent")
    if agent:
        console.print(f"agent graph: {agent['nodes']} node(s), {agent['edges']} edge(s)")


def _num(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def render_llm_evaluation(d: dict[str, Any]) -> None:
    """The metrics of an LLM application's evaluation, beside production's when measured."""
    ev = d["evaluation"]
    champ = d.get("champion")
    rows, cols = metrics_beside_production(d, _num)  # small costs need significant digits
    title = f"{d['model']}@{d['version']} on {d['data']} ({ev['n_rows']} cases, {d['outputs']})"
    if champ:
        title += f" vs production v{champ['version']}"
    print_table(rows, cols, title=title)
    slices = ev.get("slices") or []
    if slices:
        names = ["pass_rate", "normalised_match", "token_f1", "refusal_rate"]
        print_table(
            [
                {"tag": s["value"], "n": s["n"], **{k: _num(s["metrics"].get(k)) for k in names}}
                for s in slices
            ],
            ["tag", "n", *names],
            title="by tag",
        )
    failing = [c for c in d.get("cases", []) if c.get("failed")]
    if failing:
        print_table(
            [{"case": c["id"], "failed": ", ".join(c["failed"])} for c in failing[:20]],
            ["case", "failed"],
            title=f"{len(failing)} case(s) with a failed check"
            + (" (first 20)" if len(failing) > 20 else ""),
        )
    for note in ev.get("notes") or []:
        console.print(Text(note), highlight=False, soft_wrap=True)


def evaluate_llm_app(
    ref: str,
    data: Path | None,
    endpoint: str | None,
    endpoint_model: str | None,
    api_key_env: str,
    judge_model: str | None,
    from_traces: bool,
    since: str | None,
    fmt: Format,
) -> bool:
    """Evaluate ``ref`` if it is an LLM application (``False`` when it is a model)."""
    from aims.errors import InvalidInput
    from aims.services import llm_evaluation
    from aims.services.llm_apps import is_llm_app_version

    llm_only = endpoint or endpoint_model or judge_model or from_traces or since
    if remote() is not None:
        if llm_only:
            raise InvalidInput(
                "--endpoint, --endpoint-model, --judge-model, --from-traces and --since run "
                "in a local workspace; with a server login, give the answers in the cases "
                "(their 'output' field) and the server scores them"
            )
        return False
    ws = open_workspace()
    if not is_llm_app_version(ws, ref):
        if llm_only:
            raise InvalidInput(
                f"{ref} is a predictive model; --endpoint, --endpoint-model, --judge-model, "
                "--from-traces and --since apply to LLM applications only"
            )
        return False
    if from_traces:
        from aims.cli.llm import render_trace_evaluations
        from aims.services.llm_trace_evaluations import evaluations_from_traces

        if data is not None:
            raise InvalidInput("give either --data CASES or --from-traces, not both")
        out = evaluations_from_traces(ws, ref, actor=current_actor(), since=since)
        emit(out, fmt, render_trace_evaluations)
        return True
    if data is None:
        raise InvalidInput(f"give the cases of {ref} with --data cases.jsonl (or --from-traces)")
    from aims.services.llm_endpoint import Endpoint

    where = Endpoint(endpoint, model=endpoint_model, api_key_env=api_key_env) if endpoint else None
    if endpoint_model and where is None:
        raise InvalidInput("--endpoint-model needs --endpoint URL")
    generation = llm_evaluation.Generation(endpoint=where, judge_model=judge_model)
    out = llm_evaluation.evaluate_app(ws, ref, data, actor=current_actor(), generation=generation)
    emit(out, fmt, render_llm_evaluation)
    return True


def render_trace_evaluations(d: dict[str, Any]) -> None:
    """The evaluation results taken in from a version's traces."""
    rows = [
        {
            "name": name,
            "results": e["count"],
            "mean score": _num(e.get("mean_score")),
            "labels": ", ".join(f"{k}={v}" for k, v in (e.get("labels") or {}).items()),
        }
        for name, e in d["evaluations"].items()
    ]
    title = (
        f"{d['model']}@{d['version']}: {d['results']} evaluation result(s) on {d['spans']} "
        f"span(s) from traces"
    )
    console.print(Text(title), highlight=False, soft_wrap=True)
    if rows:
        print_table(rows, ["name", "results", "mean score", "labels"])
