"""``aims import mlflow``: bring an MLflow registry's models, runs and lineage into aims."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from aims.cli._output import Format, console, emit
from aims.cli._state import open_workspace
from aims.errors import InvalidInput
from aims.workspace import current_actor

import_app = typer.Typer(help="Import models from other registries (MLflow).", no_args_is_help=True)
FORMAT = typer.Option(Format.table, "--format", "-f", help="Output format.")


def parse_since(text: str | None) -> datetime | None:
    """``--since``: an ISO date or date-time, UTC unless it says otherwise.

    Examples
    --------
    >>> parse_since("2026-03-01").isoformat()
    '2026-03-01T00:00:00+00:00'
    """
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"--since {text!r} does not parse; give a date or date-time, e.g. 2026-03-01 "
            "or 2026-03-01T12:00:00+01:00"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _render(data: dict[str, Any]) -> None:
    for item in data["imported"]:
        sets = ", ".join(item["datasets"]) or "no training dataset"
        console.print(
            f"imported {item['model']}@{item['version']} ({item['flavour']}"
            f"{', trusted pickle' if item['trusted'] else ''}) from run {item['run_id']}, "
            f"trained on {sets}"
        )
    for req in data["promotion_requests"]:
        console.print(
            f"promotion request {req['id']}: {req['model']}@{req['version']} to "
            f"{req['stage']} ({req['source']}); decide it with "
            f"'aims promotion-requests decide {req['id']} --approve|--refuse'"
        )
    for tag in data["written_back"]:
        console.print(
            f"tagged MLflow {tag['model']} version {tag['version']}: {tag['key']}={tag['value']}"
        )
    for item in data["skipped"]:
        console.print(f"skipped {item['ref']}: {item['reason']}")
    if not data["imported"] and not data["promotion_requests"]:
        console.print(
            f"nothing new in {data['source']}"
            + (
                f" ({len(data['unchanged'])} version(s) already imported)"
                if data["unchanged"]
                else ""
            )
        )


def mlflow(
    tracking_uri: str = typer.Option(
        ...,
        "--tracking-uri",
        "-u",
        help="A tracking server (http://HOST:PORT), an MLflow database "
        "(sqlite:///path/mlflow.db) or an mlruns folder.",
    ),
    model: str | None = typer.Option(
        None, "--model", "-m", help="Import only this registered model."
    ),
    since: str | None = typer.Option(
        None, "--since", help="Only versions MLflow created on or after DATE (ISO 8601)."
    ),
    artifacts: Path | None = typer.Option(
        None,
        "--artifacts",
        help="Folder holding a server's artifacts (its --artifacts-destination), to read "
        "mlflow-artifacts: files from disk when importing a database or mlruns folder.",
    ),
    trust: bool = typer.Option(
        False,
        "--trust",
        help="Allow pickled scikit-learn models (loading them runs code from the file; "
        "recorded on each version and in the audit log).",
    ),
    write_back: bool = typer.Option(
        False,
        "--write-back",
        help="Then tag each imported MLflow version with aims' decisions (aims.stage, "
        "aims.gates); a tracking server only.",
    ),
    watch: float | None = typer.Option(
        None,
        "--watch",
        help="Keep importing every SECONDS seconds (Ctrl-C stops).",
        min=1.0,
    ),
    rounds: int = typer.Option(
        0, "--rounds", help="With --watch: stop after N imports (0: never).", min=0
    ),
    fmt: Format = FORMAT,
) -> None:
    """Import registered models from MLflow: versions, their runs (parameters, metrics, tags, training datasets as lineage) and model files (skops, ONNX; pickles with --trust).

    MLflow aliases (champion, challenger) and stages (Production, Staging) arrive as promotion requests, decided with 'aims promotion-requests decide' through the usual gates: nothing reaches a stage by import alone. Re-running imports only what is new; any error leaves the store as it was.
    """
    from aims.services.mlflow_import import import_mlflow, open_source

    when = parse_since(since)
    ws = open_workspace()
    done = 0
    while True:
        source = open_source(tracking_uri, artifacts_root=artifacts)
        try:
            data = import_mlflow(
                ws,
                source,
                actor=current_actor(),
                model=model,
                since=when,
                trust=trust,
                write_back=write_back,
            )
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()
        emit(data, fmt, _render)
        done += 1
        if watch is None or (rounds and done >= rounds):
            return
        time.sleep(watch)


import_app.command("mlflow")(mlflow)
