"""LLM application versions evaluated from Python, as ``aims evaluate APP@V`` does it.

:meth:`aims.Workspace.evaluate` hands an LLM application version here: the
same checks and the same service calls as the command, so the stored
evaluation, its audit event and the gates that read it are the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aims.errors import InvalidInput


def evaluate_app(
    ws: Any,
    actor: str,
    ref: str,
    data: Any,
    *,
    endpoint: str | None,
    endpoint_model: str | None,
    api_key_env: str,
    judge_model: str | None,
    from_traces: bool,
    since: str | None,
) -> dict[str, Any]:
    """Evaluate LLM application ``ref`` on the cases in ``data`` (a JSONL path), or from traces."""
    from aims.services import llm_evaluation
    from aims.services.llm_endpoint import Endpoint

    if from_traces:
        from aims.services.llm_trace_evaluations import evaluations_from_traces

        if data is not None:
            raise InvalidInput("give either data (the cases) or from_traces=True, not both")
        return evaluations_from_traces(ws, ref, actor=actor, since=since)
    if data is None:
        raise InvalidInput(
            f"give the cases of {ref} as the path of a JSONL file (or from_traces=True)"
        )
    if not isinstance(data, str | Path):
        # Cases are objects with nested fields (input variables, schemas, usage), not a table.
        raise InvalidInput(f"the cases of LLM application {ref} are a JSONL file: give its path")
    if endpoint_model and not endpoint:
        raise InvalidInput("endpoint_model needs endpoint (the API's base URL)")
    where = Endpoint(endpoint, model=endpoint_model, api_key_env=api_key_env) if endpoint else None
    generation = llm_evaluation.Generation(endpoint=where, judge_model=judge_model)
    return llm_evaluation.evaluate_app(ws, ref, Path(data), actor=actor, generation=generation)


__all__ = ["evaluate_app"]
