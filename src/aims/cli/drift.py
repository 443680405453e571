"""``aims drift REFERENCE CURRENT``: compare two data files column by column (no workspace needed)."""

from __future__ import annotations

import contextlib
import sys
from enum import Enum
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import typer

from aims.cli._output import console, err_console, print_json, print_table
from aims.cli.profile import EngineChoice, check_engine
from aims.errors import InvalidInput

if TYPE_CHECKING:
    from aims.core.drift.result import DriftReport


class DriftFormat(str, Enum):
    """Output formats of ``aims drift``."""

    table = "table"
    json = "json"
    html = "html"


class DriftMethod(str, Enum):
    auto = "auto"
    exact = "exact"
    profile = "profile"


class CorrectionChoice(str, Enum):
    none = "none"
    bh = "bh"


BIG_FILE_ROWS = 2_000_000  # show a progress bar from this many rows on a terminal


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    out = [v.strip() for item in values for v in item.split(",") if v.strip()]
    return out or None


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in _split(values) or []:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise InvalidInput(f"--{what} expects NAME=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _thresholds(values: list[str] | None) -> dict[str, float]:
    out = {}
    for key, value in _pairs(values, "threshold").items():
        try:
            out[key] = float(value)
        except ValueError:
            raise InvalidInput(f"--threshold {key}={value}: not a number") from None
    return out


def _render_table(report: DriftReport) -> None:
    rows: list[dict[str, Any]] = []
    for c in sorted(report.columns, key=lambda r: -r.score if r.score == r.score else 0.0):
        rows.append(
            {
                "column": c.name,
                "kind": c.kind,
                "test": c.test,
                "statistic": "" if c.statistic is None else f"{c.statistic:.4g}",
                "p-value": "" if c.p_value is None else f"{c.p_value:.3g}",
                "threshold": "" if c.threshold is None else f"{c.threshold:g}",
                "drift": "DRIFT" if c.drifted else "-",
                "note": c.note or "",
            }
        )
    print_table(
        rows,
        ["column", "kind", "test", "statistic", "p-value", "threshold", "drift", "note"],
        title="Drift by column",
    )
    verdict = (
        "[red]dataset drift[/red]" if report.dataset_drift else "[green]no dataset drift[/green]"
    )
    console.print(
        f"{verdict}: {report.n_drifted} of {len(report.columns)} columns drifted "
        f"({report.share_drifted:.0%}; threshold {report.drift_share:.0%}), method {report.method}"
    )


def _progress_for(paths: list[Path]) -> tuple[Any, Any]:
    """A rich progress bar on a terminal when the inputs are large, else nothing."""
    if not err_console.is_terminal:
        return None, None
    from aims.core.drift.compare import count_rows

    try:
        total = sum(count_rows(p) for p in paths)
    except Exception:
        return None, None
    if total < BIG_FILE_ROWS:
        return None, None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    task = bar.add_task("profiling rows", total=total)
    return bar, lambda rows: bar.advance(task, rows)


def _needs_engine(reference: str, current: str, engine: EngineChoice) -> bool:
    """Whether the inputs go through the engines (profiles) rather than two local files."""
    from aims.services.engines.profile_files import is_profile_path
    from aims.services.engines.sources import is_url

    if engine is not EngineChoice.local:
        return True
    return any(is_profile_path(p) or is_url(p) or Path(p).is_dir() for p in (reference, current))


def _name(path: str) -> str:
    return PurePosixPath(path.rstrip("/")).name or path


def drift(
    reference: str = typer.Argument(
        ...,
        help="Reference data (Parquet, CSV, TSV or Arrow file, folder or fsspec URL) or a "
        "profile file.",
    ),
    current: str = typer.Argument(
        ..., help="Current data (file, folder or URL) or a profile file to compare."
    ),
    columns: list[str] | None = typer.Option(
        None, "--columns", "-c", help="Columns to compare (comma-separated or repeated)."
    ),
    fmt: DriftFormat = typer.Option(DriftFormat.table, "--format", "-f", help="Output format."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the output to this file."),
    method: DriftMethod = typer.Option(
        DriftMethod.auto,
        "--method",
        help="exact (raw values), profile (binned, streamed) or auto (exact for small "
        "inputs, profiles for large ones; see docs/drift.md).",
    ),
    test: list[str] | None = typer.Option(
        None, "--test", help="Force a test for a column: NAME=psi|ks|wasserstein|..."
    ),
    threshold: list[str] | None = typer.Option(
        None, "--threshold", help="Threshold for a column or a test: NAME=VALUE."
    ),
    kind: list[str] | None = typer.Option(
        None, "--kind", help="Force a column's kind: NAME=numeric|categorical|boolean|datetime."
    ),
    correction: CorrectionChoice = typer.Option(
        CorrectionChoice.none, "--correction", help="bh: Benjamini–Hochberg adjust p-values."
    ),
    drift_share: float = typer.Option(
        0.5, "--drift-share", help="Share of drifted columns that makes the dataset drift."
    ),
    fail_on_drift: bool = typer.Option(
        False, "--fail-on-drift", help="Exit with code 3 when the dataset drifts."
    ),
    engine: EngineChoice = typer.Option(
        EngineChoice.local,
        "--engine",
        help="Where to profile the data: local, dask or spark (profiles; see docs/scale.md).",
    ),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        help="Dask scheduler address or Spark master URL; default: a local cluster.",
    ),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Workers of the local Dask cluster (default: one per core)."
    ),
) -> None:
    """Compare CURRENT with REFERENCE column by column and judge the dataset."""
    from aims.core.drift.compare import DriftOptions, compare
    from aims.core.drift.html import render

    options = DriftOptions(
        tests=_pairs(test, "test"),
        thresholds=_thresholds(threshold),
        drift_share=drift_share,
        correction=correction.value,
    )
    if engine is EngineChoice.local and (scheduler or workers):
        check_engine("aims drift", engine, scheduler, workers)
    if _needs_engine(reference, current, engine):
        if method is DriftMethod.exact:
            raise InvalidInput(
                "--method exact needs two data files on this machine; profile files, folders, "
                "URLs and --engine dask|spark compare profiles (--method profile)"
            )
        check_engine("aims drift", engine, scheduler, workers)
        from aims.services.engines.profiling import drift_sources

        report = drift_sources(
            reference,
            current,
            engine=engine.value,
            scheduler=scheduler,
            workers=workers,
            columns=_split(columns),
            kinds=_pairs(kind, "kind"),
            options=options,
        )
    else:
        bar, progress = (None, None)
        if method is not DriftMethod.exact:
            bar, progress = _progress_for([Path(reference), Path(current)])
        with bar if bar is not None else contextlib.nullcontext():
            report = compare(
                Path(reference),
                Path(current),
                columns=_split(columns),
                kinds=_pairs(kind, "kind"),
                method=method.value,
                options=options,
                progress=progress,
            )
    if fmt is DriftFormat.html:
        title = f"Drift: {_name(current)} vs {_name(reference)}"
        page = render(report, title=title)
        if out is not None:
            out.write_text(page, encoding="utf-8")
        else:
            sys.stdout.write(page)
    elif fmt is DriftFormat.json:
        if out is not None:
            import json

            out.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
        else:
            print_json(report.to_dict())
    else:
        _render_table(report)
    if fail_on_drift and report.dataset_drift:
        raise typer.Exit(3)
