"""``aims contract infer`` and ``aims contract check``: data contracts in ODCS v3 YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from aims.cli._output import Format, console, emit, err_console, print_table
from aims.errors import InvalidInput

app = typer.Typer(
    help="Infer and check data contracts (Open Data Contract Standard v3).",
    no_args_is_help=True,
)

FORMAT = typer.Option(Format.table, "--format", "-f", help="Output format.")


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise InvalidInput(f"{what} takes COLUMN=VALUE, not {item!r}")
        out[key] = value
    return out


@app.command("infer")
def infer(
    path: Path = typer.Argument(..., help="Data file (Parquet, CSV, Arrow)."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write the contract here (default: print it)."
    ),
    name: str | None = typer.Option(None, "--name", "-n", help="Contract and table name."),
    margin: float = typer.Option(0.1, help="Relative widening of observed ranges and shares."),
    range_severity: str = typer.Option(
        "warn",
        "--range-severity",
        help="warn: values outside an inferred range are counted, not refused; error: refused.",
    ),
    max_categories: int = typer.Option(
        20, help="Text columns with at most this many values get an allowed-value list."
    ),
    label: str | None = typer.Option(None, "--label", help="The label (target) column."),
    sensitive: list[str] = typer.Option(
        [], "--sensitive", help="A sensitive (fairness) column; repeat for several."
    ),
    pii: list[str] = typer.Option(
        [], "--pii", help="Personal data as COLUMN=hash|drop; repeat for several."
    ),
    freshness: str | None = typer.Option(
        None, "--freshness", help="COLUMN=MAX_AGE, e.g. event_time=1d: newest row at most so old."
    ),
    fmt: Format = FORMAT,
) -> None:
    """Write a contract inferred from a dataset, for you to review and tighten."""
    from aims.core.contract import dump_contract, infer_contract, write_contract

    fresh = None
    if freshness is not None:
        (column, age), *_ = _pairs([freshness], "--freshness").items()
        fresh = (column, age)
    contract = infer_contract(
        path,
        name=name,
        margin=margin,
        range_severity=range_severity,
        max_categories=max_categories,
        label=label,
        sensitive=sensitive,
        pii=_pairs(pii, "--pii"),
        freshness=fresh,
    )
    if out is None:
        text = dump_contract(contract)
        if fmt is Format.json:
            import yaml

            from aims.cli._output import print_json

            print_json(yaml.safe_load(text))
        else:
            typer.echo(text, nl=False)
        return
    write_contract(contract, out)
    data = {"contract": str(out), "name": contract.name, "columns": len(contract.columns)}
    emit(
        data,
        fmt,
        lambda d: err_console.print(
            f"wrote contract {d['name']!r} ({d['columns']} columns) to {d['contract']}; "
            "review and tighten it before relying on it",
            highlight=False,
            soft_wrap=True,
        ),
    )


@app.command("check")
def check(
    contract: Path = typer.Argument(..., help="ODCS v3 contract (YAML)."),
    path: Path = typer.Argument(..., help="Data file (Parquet, CSV, Arrow)."),
    table: str | None = typer.Option(None, "--table", help="Schema object to check, if several."),
    max_examples: int = typer.Option(5, help="Failing rows shown per rule."),
    show_all: bool = typer.Option(False, "--all", help="List passing rules too."),
    fmt: Format = FORMAT,
) -> None:
    """Check a dataset against a contract; exit 1 if any rule fails."""
    from aims.core.contract import check_contract, load_contract

    report = check_contract(load_contract(contract), path, table=table, max_examples=max_examples)
    emit(report.to_dict(), fmt, lambda d: _render(d, show_all))
    report.raise_for_failures()


def _render(data: dict[str, Any], show_all: bool) -> None:
    rows = []
    for r in data["rules"]:
        if r["passed"] and not show_all:
            continue
        status = "pass" if r["passed"] else "FAIL" if r["blocking"] else "warn"
        examples = ", ".join(
            f"{e['row']}: (personal data)" if e.get("redacted") else f"{e['row']}: {e['value']!r}"
            for e in r["examples"]
        )
        rows.append(
            {
                "status": status,
                "rule": r["rule"],
                "column": r["column"] or "",
                "failing rows": r["failing_rows"],
                "detail": r["message"] if not r["passed"] else r["expected"],
                "examples (row: value)": examples,
            }
        )
    if rows:
        print_table(
            rows,
            ["status", "rule", "column", "failing rows", "detail", "examples (row: value)"],
            title=f"{data['source']} against {data['contract']!r}",
        )
    failed = data["n_failed"]
    verdict = "[green]passes[/green]" if data["passed"] else f"[red]{failed} failing[/red]"
    console.print(
        f"{data['rows']} rows, {data['n_rules']} rules: {verdict}"
        + (f"; {len(data['skipped'])} not run" if data["skipped"] else "")
        + (
            f"; columns not in the contract: {', '.join(data['extra_columns'])}"
            if data["extra_columns"]
            else ""
        ),
        highlight=False,
        soft_wrap=True,
    )
