"""Evaluations of LLM application versions on cases, stored like any model's evaluation.

``aims evaluate APP@V --data cases.jsonl`` reads the cases
(:mod:`aims.core.llm_eval.cases`); their answers are either given in the cases
(the ``output`` field, from the team's own harness) or generated through an
OpenAI-compatible endpoint with the version's own prompt, model, parameters
and tools. The deterministic metrics of :mod:`aims.core.llm_eval` score them,
an optional judge model adds ``judge_score``, and the result is stored as an
evaluation of the version with its audit event, where the policy gates,
promotion rules and evidence read it exactly as they read a model's.

The production version is set beside it: with generated answers it answers the
same cases through the same endpoint; with given answers its newest evaluation
on the same cases (same questions and expectations, whatever the answers) is
used, and none is a finding the gates report.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aims.core.evaluation_result import EvaluationResult
from aims.core.llm_eval import (
    Case,
    CaseScore,
    Pricer,
    cases_digest,
    parse_cases,
    score_case,
    summarise,
)
from aims.errors import InvalidInput, NotFound
from aims.flavours.llm_app import FLAVOUR, LlmAppSpec, parse_spec_bytes
from aims.refs import parse_ref
from aims.services.evaluations import latest_evaluation, production_version, store_evaluation
from aims.services.llm_endpoint import Completion, Endpoint
from aims.services.llm_judge import Judge
from aims.services.registry import file_sha256, get_model_version
from aims.storage.schema import ModelVersion
from aims.workspace import Workspace

__all__ = ["Generation", "evaluate_app", "render_messages"]

STORED_CASES = 1000
"""Per-case results kept with the evaluation (the failed ones first)."""


@dataclass(frozen=True)
class Generation:
    """How answers are produced when the cases do not give them, and the optional judge."""

    endpoint: Endpoint | None = None
    judge_model: str | None = None
    """Score answers to cases with a rubric by this model, through ``judge_endpoint``."""
    judge_endpoint: Endpoint | None = None
    """Defaults to ``endpoint``."""
    concurrency: int = 4

    def judge(self) -> Judge | None:
        if self.judge_model is None:
            return None
        where = self.judge_endpoint or self.endpoint
        if where is None:
            raise InvalidInput(
                "--judge-model needs an endpoint to reach the judge: pass --endpoint URL"
            )
        return Judge(where, self.judge_model)


def render_messages(spec: LlmAppSpec, case: Case) -> list[dict[str, Any]]:
    """The chat messages the version sends for ``case``: its system prompt, then the
    template filled with the case's input."""
    values = case.input if isinstance(case.input, dict) else {"input": case.input}
    try:
        user = spec.template.format_map(values)
    except KeyError as exc:
        given = ", ".join(sorted(values)) or "none"
        raise InvalidInput(
            f"case {case.id} (line {case.line}): the template needs {{{exc.args[0]}}} but the "
            f"input gives {given}; make 'input' an object with every template variable"
        ) from None
    messages: list[dict[str, Any]] = []
    if spec.system:
        messages.append({"role": "system", "content": spec.system})
    messages.append({"role": "user", "content": user})
    return messages


def _tools(spec: LlmAppSpec) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {
                "name": t.name,
                "description": t.description,
                "parameters": t.input_schema,
            },
        }
        for t in spec.tools
    ]


def _generate(
    spec: LlmAppSpec, cases: list[Case], endpoint: Endpoint, concurrency: int
) -> list[Completion]:
    tools = _tools(spec)

    def one(case: Case) -> Completion:
        return endpoint.chat(
            render_messages(spec, case),
            model=spec.model.name,
            parameters=dict(spec.model.parameters),
            tools=tools,
            what=f"case {case.id}",
        )

    for case in cases:
        render_messages(spec, case)  # every template problem before the first request
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return list(pool.map(one, cases))


def _unfit(spec: LlmAppSpec, cases: list[Case]) -> str | None:
    """Why ``spec``'s template cannot be filled from some case, or ``None`` when it can."""
    try:
        for case in cases:
            render_messages(spec, case)
    except InvalidInput as exc:
        return exc.message
    return None


def _price(ws: Workspace) -> Pricer:
    """The workspace's price table (``traces.prices`` over the built-in one), as for spans."""
    from aims.services.trace_settings import trace_settings

    return trace_settings(ws).prices.cost


def _score(
    price: Pricer,
    spec: LlmAppSpec,
    cases: list[Case],
    answers: list[Completion] | None,
    judge: Judge | None,
    concurrency: int,
) -> list[CaseScore]:
    texts = [a.text for a in answers] if answers is not None else [c.output or "" for c in cases]
    verdicts: list[float | None] = [None] * len(cases)
    if judge is not None:
        judged = [i for i, c in enumerate(cases) if c.rubric]
        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            results = list(pool.map(lambda i: judge.score(cases[i], texts[i]), judged))
        for i, verdict in zip(judged, results, strict=True):
            verdicts[i] = verdict.score
    scores = []
    for i, case in enumerate(cases):
        if answers is not None:
            a = answers[i]
            measured: dict[str, Any] = {
                "input_tokens": a.input_tokens,
                "output_tokens": a.output_tokens,
                "latency_ms": a.latency_ms,
                "model": a.model or spec.model.name,
            }
        else:
            measured = {
                "input_tokens": case.input_tokens,
                "output_tokens": case.output_tokens,
                "latency_ms": case.latency_ms,
                "cost_usd": case.cost_usd,
                "model": case.model or spec.model.name,
            }
        scores.append(score_case(case, texts[i], price=price, judge_score=verdicts[i], **measured))
    return scores


def _spec_of(ws: Workspace, mv: ModelVersion) -> LlmAppSpec:
    ref = f"{mv.model.name}@{mv.version}"
    if mv.flavour != FLAVOUR:
        raise InvalidInput(f"{ref} is a {mv.flavour} model, not an LLM application")
    return parse_spec_bytes(ws.artifacts.get_bytes(mv.artifact_sha256), f"definition of {ref}")


def _check_schemas(cases: list[Case], source: str) -> None:
    from aims.core.llm_eval.checks import check_schema

    for case in cases:
        if case.schema is not None:
            check_schema(case.schema, f"{source} line {case.line}")


def evaluate_app(
    ws: Workspace,
    text: str,
    data: Path,
    *,
    actor: str,
    generation: Generation | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """Evaluate LLM application ``NAME@VERSION`` on the cases in ``data`` and store the result.

    Without an endpoint in ``generation`` every case must give its ``output``.
    Everything is checked (cases, schemas, templates, the judge's endpoint)
    before the first request; nothing is stored when any step fails.
    """
    generation = generation or Generation()
    data = Path(data)
    if not data.is_file():
        raise NotFound(f"{data}: no such cases file")
    ref = parse_ref(text)
    with ws.db.session() as s:
        mv = get_model_version(s, ref)
        spec = _spec_of(ws, mv)
        name, version = mv.model.name, mv.version
        prod = production_version(mv)
        prod_spec = _spec_of(ws, prod) if prod is not None else None
        prod_version = prod.version if prod is not None else None
        prod_id = prod.id if prod is not None else None
    try:
        cases = parse_cases(data.read_text(encoding="utf-8"), str(data))
    except UnicodeDecodeError:
        raise InvalidInput(f"{data}: not UTF-8 text; write the cases as JSON Lines") from None
    _check_schemas(cases, str(data))
    digest = cases_digest(cases)
    given = all(c.output is not None for c in cases)
    endpoint = generation.endpoint
    if not given and endpoint is None:
        missing = [c for c in cases if c.output is None]
        raise InvalidInput(
            f"{len(missing)} case(s) have no 'output' (first: {missing[0].id}, line "
            f"{missing[0].line}); give every case its output, or generate them with "
            "--endpoint URL (an OpenAI-compatible API)"
        )
    judge = generation.judge()
    notes: list[str] = []
    answers = None
    if endpoint is not None and not given:
        unfit = _unfit(prod_spec, cases) if prod_spec is not None else None
        if unfit is not None:
            # A new template may name other variables: this version is still evaluated.
            notes.append(f"production version {name}@{prod_version} not compared: {unfit}")
            prod_id = prod_spec = None
        answers = _generate(spec, cases, endpoint, generation.concurrency)
    params = {
        "outputs": "given" if answers is None else "generated",
        "llm_model": (endpoint.model if answers is not None and endpoint else None)
        or spec.model.name,
        "judge_model": generation.judge_model,
    }
    scores = _score(_price(ws), spec, cases, answers, judge, generation.concurrency)
    data_id = f"cases:{digest}"
    result = summarise(
        scores, data_id=data_id, variables=spec.variables(), params=params, notes=notes
    )
    out: dict[str, Any] = {
        "model": name,
        "version": version,
        "kind": "llm-application",
        "data": source or str(data),
        "outputs": params["outputs"],
        "evaluation": result.to_dict(),
    }
    champion = _champion(
        ws, prod_id, prod_spec, cases, answers is not None, generation, judge, data_id
    )
    if champion is not None:
        out["champion"] = {"version": prod_version, "evaluation": champion.to_dict()}
        out["comparison"] = result.compare(champion).to_dict()
    elif prod_version is not None and not notes:
        out["evaluation"]["notes"].append(
            f"production version {name}@{prod_version} has no evaluation on these cases; "
            f"evaluate it with 'aims evaluate {name}@{prod_version} --data {data}' to compare"
        )
    ordered = sorted(scores, key=lambda sc: sc.passed)
    out["cases"] = [sc.to_dict() for sc in ordered[:STORED_CASES]]
    return _store(ws, ref, out, data, actor, result)


def _champion(
    ws: Workspace,
    prod_id: int | None,
    prod_spec: LlmAppSpec | None,
    cases: list[Case],
    generated: bool,
    generation: Generation,
    judge: Judge | None,
    data_id: str,
) -> EvaluationResult | None:
    if prod_id is None or prod_spec is None:
        return None
    if generated and generation.endpoint is not None:
        answers = _generate(prod_spec, cases, generation.endpoint, generation.concurrency)
        scores = _score(_price(ws), prod_spec, cases, answers, judge, generation.concurrency)
        params = {"outputs": "generated", "llm_model": prod_spec.model.name}
        return summarise(scores, data_id=data_id, variables=prod_spec.variables(), params=params)
    with ws.db.session() as s:
        stored = latest_evaluation(s, prod_id, data_id=data_id)
    return None if stored is None else EvaluationResult.from_dict(stored["evaluation"])


def _store(
    ws: Workspace, ref: Any, out: dict[str, Any], data: Path, actor: str, result: EvaluationResult
) -> dict[str, Any]:
    digest = file_sha256(data)
    with ws.db.session() as s:
        store_evaluation(
            s,
            get_model_version(s, ref),
            out,
            data_source=out["data"] if out["data"] != str(data) else str(data.resolve()),
            data_hash=digest,
            actor=actor,
            action="model.evaluate",
            payload={
                "kind": "llm-application",
                "outputs": out["outputs"],
                "metrics": result.metrics,
                "champion_version": out.get("champion", {}).get("version"),
            },
        )
    return out
