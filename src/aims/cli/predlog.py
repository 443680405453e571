"""``aims log query``, ``aims labels ingest`` and ``aims labels history``: the log from the command line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from aims.cli._output import Format, console, emit, print_table
from aims.cli._state import open_workspace
from aims.clock import utc
from aims.errors import InvalidInput

log_app = typer.Typer(help="Read the prediction log.", no_args_is_help=True)
labels_app = typer.Typer(help="Attach ground truth to logged predictions.", no_args_is_help=True)

FORMAT = typer.Option(Format.table, "--format", "-f", help="Output format.")
TABLE_COLUMNS = ["ts", "version", "role", "prediction_id", "prediction", "score", "key", "label"]


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """An ISO 8601 time (UTC when no zone is given), or a duration back from now (``24h``, ``7d``).

    Examples
    --------
    >>> parse_since("36h", datetime(2026, 3, 2, 12, tzinfo=UTC)).isoformat()
    '2026-03-01T00:00:00+00:00'
    """
    from aims.core.contract.model import duration, parse_duration

    try:
        stamp = datetime.fromisoformat(text.strip())
    except ValueError:
        value, unit = parse_duration(text)
        return (now or datetime.now(UTC)) - duration(value, unit)
    return utc(stamp)


@log_app.command("query")
def query(
    name: str = typer.Argument(..., help="Model name."),
    since: str | None = typer.Option(
        None, "--since", help="From this time (ISO 8601) or this long ago (24h, 7d)."
    ),
    until: str | None = typer.Option(None, "--until", help="Before this time (ISO 8601)."),
    version: int | None = typer.Option(None, "--version", "-v", help="Only this version."),
    role: str | None = typer.Option(None, "--role", help="production, canary or shadow."),
    labels: bool = typer.Option(False, "--labels", help="Join the latest label of each row."),
    limit: int = typer.Option(20, "--limit", "-n", help="Newest rows shown (0: count only)."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write every matching row to this Parquet or CSV file."
    ),
    fmt: Format = FORMAT,
) -> None:
    """Show the newest logged predictions of a model, or export them all with --out.

    The log is scanned lazily: only partitions in the time range are opened,
    and only the newest --limit rows are held in memory.
    """
    import polars as pl

    from aims.cli.remote import local_only
    from aims.storage.predlog import LabelStore, PredictionLogReader

    local_only("log query", "it reads the prediction log's files")
    if limit < 0:
        raise InvalidInput(f"--limit must be 0 or more, got {limit}")
    ws = open_workspace()
    from aims.services.registry import get_model

    with ws.db.session() as s:  # an unknown model is an error, not an empty log
        get_model(s, name)
    root = ws.settings.prediction_log_url
    filters: dict[str, Any] = {
        "version": version,
        "role": role,
        "since": parse_since(since) if since else None,
        "until": parse_since(until) if until else None,
    }
    lazy = (
        LabelStore(root).scan_labelled(name, **filters)
        if labels
        else PredictionLogReader(root).scan(name, **filters)
    )
    if out is not None:
        suffix = out.suffix.lower()
        if suffix not in (".parquet", ".csv"):
            raise InvalidInput(f"--out {out}: write a .parquet or .csv file")
        sink = lazy.sink_parquet if suffix == ".parquet" else lazy.sink_csv
        sink(out, engine="streaming")
        rows = pl.scan_parquet(out) if suffix == ".parquet" else pl.scan_csv(out)
        count = int(rows.select(pl.len()).collect().item())
        emit(
            {"model": name, "rows": count, "out": str(out)},
            fmt,
            lambda d: console.print(f"wrote {d['rows']} rows to {d['out']}"),
        )
        return
    count = int(lazy.select(pl.len()).collect(engine="streaming").item())
    newest = (
        lazy.sort("ts", descending=True).head(limit).collect(engine="streaming")
        if limit
        else pl.DataFrame()
    )
    data = {"model": name, "matched": count, "rows": newest.to_dicts()}

    def render(d: dict[str, Any]) -> None:
        shown = [c for c in TABLE_COLUMNS if c in newest.columns]
        print_table(d["rows"], shown, title=f"{name}: newest {len(d['rows'])} of {d['matched']}")

    emit(data, fmt, render)


@labels_app.command("ingest")
def ingest(
    path: Path = typer.Argument(..., help="Label file (Parquet, CSV, Arrow)."),
    model: str = typer.Option(..., "--model", "-m", help="The model whose predictions these are."),
    by: str = typer.Option(
        "prediction_id",
        "--by",
        help="Attach by prediction_id, or by key (the business key named in the input contract).",
    ),
    label: str = typer.Option("label", "--label", "-l", help="Column holding the ground truth."),
    fmt: Format = FORMAT,
) -> None:
    """Attach ground truth to logged predictions, whenever it arrives.

    Ids or keys not in the log are counted and shown, not stored. Each label
    is stored with who sent it ($AIMS_USER or the OS user) and the batch is
    audited. A label is one number, boolean or short text (at most 256
    characters). Labelling a prediction again keeps the earlier label in the
    history (aims labels history); monitoring uses the latest.
    """
    from aims.cli.remote import file_sha256, local_file, remote
    from aims.core import frames
    from aims.services.labelling import ingest_labels
    from aims.services.personal_data import pii_salt
    from aims.workspace import current_actor

    if (r := remote()) is not None:
        form = {"model": model, "by": by, "label": label, "sha256": file_sha256(local_file(path))}
        result = r.call("POST", "/v1/labels/files", files={"file": path}, data=form)
        emit(result, fmt, _ingest_renderer(model, by))
        return
    ws = open_workspace()
    frame = frames.read(path)
    result = ingest_labels(
        ws,
        model,
        frame,
        by=by,
        label=label,
        salt=pii_salt(ws),
        actor=current_actor(),
        source="cli",
    )
    emit(result, fmt, _ingest_renderer(model, by))


def _ingest_renderer(model: str, by: str):  # -> Callable[[dict], None]
    def render(d: dict[str, Any]) -> None:
        console.print(
            f"{d['matched']} of {d['received']} labels matched predictions of {model}; "
            f"{d['stored']} stored (batch {d['batch']})"
        )
        if d["unknown"]:
            examples = ", ".join(map(str, d["unknown_examples"]))
            console.print(f"{d['unknown']} {by}(s) not in the log, e.g. {examples}")

    return render


HISTORY_COLUMNS = ["labelled_at", "label", "labelled_by", "source", "batch"]


@labels_app.command("history")
def history(
    ids: list[str] = typer.Argument(..., help="Prediction ids (or business keys with --by key)."),
    model: str = typer.Option(..., "--model", "-m", help="The model whose predictions these are."),
    by: str = typer.Option(
        "prediction_id", "--by", help="Look up by prediction_id, or by key (as sent, unhashed)."
    ),
    fmt: Format = FORMAT,
) -> None:
    """Every label ever sent for these predictions, oldest first, with who sent it.

    The last row of each id is the label monitoring uses; earlier rows are the
    labels it replaced.
    """
    from aims.cli.remote import local_only
    from aims.services.labelling import label_history
    from aims.services.personal_data import pii_salt

    local_only("labels history", "the API has no route for it yet")
    ws = open_workspace()
    rows = label_history(ws, model, ids, by=by, salt=pii_salt(ws))
    data = {"model": model, "by": by, "labels": rows}

    def render(d: dict[str, Any]) -> None:
        print_table(d["labels"], [by, *HISTORY_COLUMNS], title=f"{model}: label history")

    emit(data, fmt, render)
