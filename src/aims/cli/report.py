"""``aims report compliance``: the evidence report for ISO/IEC 42001, the NIST AI RMF or the EU AI Act."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from aims.cli._output import Format, console, emit, print_table

report_app = typer.Typer(help="Reports generated from the store.", no_args_is_help=True)

STATUS_MARK = {
    "met": "✓ met",
    "partial": "~ partial",
    "missing": "✗ missing",
    "not_applicable": "-",
    "outside": "✓ kept outside aims",
    "excluded": "- excluded",
}


@report_app.command("compliance")
def compliance(
    standard: str = typer.Option(
        "iso42001", "--standard", "-s", help="iso42001 | nist-ai-rmf | eu-ai-act."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write the full report to FILE (.html, .md or .json)."
    ),
    all_models: bool = typer.Option(
        False,
        "--all-models",
        help="Judge every registered model, not only those in production or canary.",
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Exit 1 when any control is partial or missing (for CI)."
    ),
    project: str | None = typer.Option(
        None, "--project", "-p", help="Only this project's models and keys (default: all)."
    ),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    resume_chain: bool = typer.Option(
        False,
        "--resume-chain",
        help="Walk only the audit events after the newest walk of the hash chain recorded in "
        "the store (the report says so), instead of the whole chain.",
    ),
) -> None:
    """Each control's status (met / partial / missing / not applicable) with its evidence,
    computed from the store, and what to do in aims to close each gap.

    The audit log's hash chain is walked whole (a progress bar on a terminal)
    and the walk is recorded, so the dashboard's next report walks only newer
    events."""
    from aims.cli._state import open_workspace
    from aims.cli.remote import remote
    from aims.services.evidence import compliance_report
    from aims.services.evidence_render import write_report

    if (r := remote()) is not None:
        _remote_compliance(r, standard, out, all_models, strict, project, fmt)
        return
    ws = open_workspace()
    try:
        with _chain_walk(ws, resume_chain) as chain:
            report = compliance_report(
                ws,
                standard,
                scope="all" if all_models else "deployed",
                project=project,
                chain=chain,
            )
    finally:
        ws.close()
    if out is not None:
        written = write_report(report, out)
        emit(
            {"written": str(written), "summary": report.summary},
            fmt,
            lambda d: console.print(f"wrote {d['written']}: {_summary(d['summary'])}"),
        )
    else:
        emit(report.to_dict(), fmt, _render)
    summary = report.summary
    if strict and (summary["partial"] or summary["missing"]):
        raise typer.Exit(1)


@contextmanager
def _chain_walk(ws: Any, resume: bool) -> Iterator[Any]:
    """The report's walk of the chain, with a progress bar of the events walked on a terminal."""
    from aims.cli._output import err_console
    from aims.services.audit import head_of
    from aims.services.evidence_chain import StoredChainCheck

    if not err_console.is_terminal:
        yield StoredChainCheck(ws.db, full=not resume)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    head, _ = head_of(ws.db)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("verifying the audit chain", total=head[0] if head else 0)
        yield StoredChainCheck(ws.db, full=not resume, progress=lambda n: bar.advance(task, n))


def _remote_compliance(
    r: Any,
    standard: str,
    out: Path | None,
    all_models: bool,
    strict: bool,
    project: str | None,
    fmt: Format,
) -> None:
    """The report computed by the server, printed or written as locally."""
    import json

    from aims.errors import InvalidInput

    params: dict[str, Any] = {"standard": standard, "all_models": all_models, "project": project}
    if out is not None:
        kinds = {".html": "html", ".md": "markdown", ".json": "json"}
        kind = kinds.get(out.suffix.lower())
        if kind is None:
            raise InvalidInput(
                f"{out}: cannot tell the format from the suffix {out.suffix or '(none)'!r}; "
                "use .html, .md or .json"
            )
    report = r.call("GET", "/v1/reports/compliance", params={**params, "format": "json"})
    summary = report["summary"]
    if out is None:
        emit(report, fmt, _render)
    else:
        if kind == "json":
            text = json.dumps(report, indent=2, default=str, ensure_ascii=False) + "\n"
        else:
            text = r.call("GET", "/v1/reports/compliance", params={**params, "format": kind})
            text = text["text"]
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        emit(
            {"written": str(out), "summary": summary},
            fmt,
            lambda d: console.print(f"wrote {d['written']}: {_summary(d['summary'])}"),
        )
    if strict and (summary["partial"] or summary["missing"]):
        raise typer.Exit(1)


def _summary(s: dict[str, int]) -> str:
    return (
        f"{s['met']} met, {s['partial']} partial, {s['missing']} missing, "
        f"{s['not_applicable']} not applicable, {s.get('outside', 0)} kept outside aims, "
        f"{s.get('excluded', 0)} excluded (of {s['total']})"
    )


def _render(d: dict[str, Any]) -> None:
    print_table(
        [
            {
                "control": c["id"],
                "title": c["title"],
                "status": STATUS_MARK[c["status"]],
                "gaps": len(c["gaps"]) or "",
            }
            for c in d["controls"]
        ],
        ["control", "title", "status", "gaps"],
        title=f"{d['standard']['title']}: {_summary(d['summary'])}",
    )
    console.print("The evidence and what to do about each gap: --out report.html (or .md, .json)")
