"""Batch validation: every rule of a contract over a whole dataset in one pass.

All failing-row counts are aggregates of a single Polars query run on the
streaming engine, so a Parquet or CSV file larger than memory is read once in
bounded memory. Only when some rule fails does a second, early-stopping query
fetch up to ``max_examples`` failing rows per rule, with their row numbers in
the whole dataset (0-based, in file order).

CSV files are first read with the contract's types by Polars' CSV reader.
If a value does not parse, the file is read again as text and each value is
parsed on its own, so a malformed value is reported on its row by the
``type`` rule instead of stopping the check.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal, TypedDict

import polars as pl

from aims.clock import now_utc, utc
from aims.core import frames
from aims.core.contract import _types
from aims.core.contract.model import Contract, Table
from aims.core.contract.report import CheckReport, RuleResult
from aims.core.contract.rules import Rule, compile_rules
from aims.errors import InvalidInput

__all__ = ["DEFAULT_MAX_EXAMPLES", "CheckReport", "RuleResult", "check_contract"]

DEFAULT_MAX_EXAMPLES = 5
_ROW = "__aims_row"
_KEYED = ("unique", "primary_key", "duplicate_values")

# The engines the checks run on: in memory for a DataFrame, streaming for files.
Engine = Literal["in-memory", "streaming"]


class _Identity(TypedDict):
    """The fields of a :class:`RuleResult` that come from its rule."""

    rule: str
    column: str | None
    expected: str
    blocking: bool


def check_contract(
    contract: Contract,
    source: Any,
    *,
    table: str | None = None,
    now: dt.datetime | None = None,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
) -> CheckReport:
    """Evaluate every rule of ``contract`` on ``source``.

    Parameters
    ----------
    contract
        The contract (see :func:`~aims.core.contract.odcs.load_contract`).
    source
        A Parquet/CSV/Arrow file path, or a Polars (lazy), pandas or PyArrow table.
    table
        Which schema object of the contract to check; needed only when it has several.
    now
        The time freshness is measured against; default: the current time (UTC).
        A naive value is taken to be UTC.
    max_examples
        How many failing rows to report per rule.

    Examples
    --------
    >>> import polars as pl
    >>> from aims.core.contract.model import Column, Table
    >>> c = Contract("t", [Table("t", [Column("x", "integer", required=True, minimum=0)])])
    >>> report = check_contract(c, pl.DataFrame({"x": [3, None, -1]}))
    >>> [(r.rule, r.failing_rows, [e["row"] for e in r.examples]) for r in report.failures]
    [('required', 1, [1]), ('range', 1, [2])]
    """
    if max_examples < 0:
        raise InvalidInput(f"max_examples must be >= 0, not {max_examples}")
    target = contract.table(table)
    now = utc(now) if now is not None else now_utc()
    plans = _plans(source, target)
    for attempt, (lazy, text, what) in enumerate(plans):
        # Data already in memory is fastest on the in-memory engine; files are streamed.
        engine: Engine = "in-memory" if isinstance(source, pl.DataFrame) else "streaming"
        try:
            return _run(
                contract, target, lazy, text=text, what=what, now=now, k=max_examples, engine=engine
            )
        except _Unparsed:
            # A CSV value did not parse as its declared type: read again as text,
            # which reports such values on their rows instead of failing.
            if attempt == len(plans) - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _run(
    contract: Contract,
    target: Table,
    lazy: pl.LazyFrame,
    *,
    text: bool,
    what: str,
    now: dt.datetime,
    k: int,
    engine: Engine,
) -> CheckReport:
    schema = _schema(lazy, what)
    compiled = compile_rules(target, contract.freshness_of(target.name), schema, text=text, now=now)
    exprs: list[pl.Expr] = [pl.len().alias("__n")]
    keyed: list[pl.Expr] = []
    for i, rule in enumerate(compiled.rules):
        if rule.count is not None:
            # Counting repeated keys needs a hash table of every key. In the
            # streaming engine that sink holds back the whole pass: a separate
            # pass over only the key columns is faster and halves peak memory
            # (1M rows x 25 columns: 0.30 s and 150 MB against 0.36 s and 300 MB).
            apart = engine == "streaming" and rule.rule in _KEYED
            (keyed if apart else exprs).append(rule.count.alias(f"c{i}"))
        if rule.newest is not None:
            exprs.append(rule.newest.alias(f"n{i}"))
    totals = _collect(lazy.select(exprs), what, engine).row(0, named=True)
    if keyed:
        totals.update(_collect(lazy.select(keyed), what, engine).row(0, named=True))
    rows = int(totals["__n"])
    results = [
        _evaluate(rule, totals.get(f"c{i}"), totals.get(f"n{i}"), rows)
        for i, rule in enumerate(compiled.rules)
    ]
    wanted = [
        i
        for i, (rule, result) in enumerate(zip(compiled.rules, results, strict=True))
        if not result.passed and rule.mask is not None and result.failing_rows
    ]
    if wanted and k > 0:
        personal = {c.name for c in target.columns if c.pii is not None}
        _fill_examples(lazy, compiled.rules, results, wanted, k, what, rows, personal)
    return CheckReport(
        contract=contract.name,
        table=target.name,
        source=what,
        rows=rows,
        rules=results,
        skipped=compiled.skipped,
        extra_columns=compiled.extra_columns,
    )


class _Unparsed(InvalidInput):
    """The data could not be read or parsed."""


_CSV_TYPES: dict[str, pl.DataType] = {
    "integer": pl.Int64(),
    "number": pl.Float64(),
    "boolean": pl.Boolean(),
    "date": pl.Date(),
    "timestamp": pl.Datetime("us", "UTC"),
    "time": pl.Time(),
}


def _plans(source: Any, table: Table) -> list[tuple[pl.LazyFrame, bool, str]]:
    """Ways to read ``source``, to try in order: (frame, values are text, name)."""
    if isinstance(source, str | Path):
        path = Path(source)
        lazy = frames.scan(path)  # existence, file type
        if frames.SUFFIXES.get(path.suffix.lower()) not in ("csv", "tsv"):
            return [(lazy, False, str(path))]
        sep = "\t" if path.suffix.lower() == ".tsv" else ","
        _require_text(path)
        # First with the contract's types, parsed natively by the CSV reader (fast);
        # if a value does not parse, everything as text, parsed value by value.
        declared = {
            c.name: _CSV_TYPES[c.logical_type]
            for c in table.columns
            if c.logical_type in _CSV_TYPES
        }
        try:
            header = pl.scan_csv(path, separator=sep, infer_schema=False).collect_schema()
            typed = pl.scan_csv(
                path,
                separator=sep,
                infer_schema=False,
                schema_overrides={k: v for k, v in declared.items() if k in header},
            )
            text = pl.scan_csv(path, separator=sep, infer_schema=False)
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise InvalidInput(f"{path}: cannot be read as CSV: {_first_line(exc)}") from None
        return [(typed, False, str(path)), (text, True, str(path))]
    if isinstance(source, pl.LazyFrame):
        return [(source, False, "data")]
    return [(frames.to_polars(source).lazy(), False, "data")]


def _require_text(path: Path, probe: int = 1 << 16) -> None:
    """Refuse a file whose start is not UTF-8 text: read as CSV, it would pass for odd columns."""
    try:
        with path.open("rb") as f:
            head = f.read(probe)
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot be read: {exc.strerror or exc}") from None
    if b"\x00" in head:
        raise InvalidInput(f"{path}: holds NUL bytes, so it is not a CSV file")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if len(head) == probe and exc.start >= probe - 3:
            return  # a multi-byte character cut by the end of the probe
        raise InvalidInput(
            f"{path}: not UTF-8 text (byte {exc.start}); is it really a CSV file? "
            "Save it as UTF-8 CSV, or give a Parquet file"
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _schema(lazy: pl.LazyFrame, what: str) -> dict[str, pl.DataType]:
    try:
        return dict(lazy.collect_schema())
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _Unparsed(f"{what}: cannot be parsed: {_first_line(exc)}") from None


def _collect(lazy: pl.LazyFrame, what: str, engine: Engine = "streaming") -> pl.DataFrame:
    try:
        return lazy.collect(engine=engine)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _Unparsed(f"{what}: cannot be parsed: {_first_line(exc)}") from None


def _evaluate(rule: Rule, count: Any, newest: Any, rows: int) -> RuleResult:
    base: _Identity = {
        "rule": rule.rule,
        "column": rule.column,
        "expected": rule.expected,
        "blocking": rule.blocking,
    }
    if rule.kind == "constant":
        return RuleResult(**base, passed=True, failing_rows=0, observed=0, message="ok")
    if rule.kind == "column":
        message = f"column {rule.column!r} is missing from the data{rule.note}"
        return RuleResult(**base, passed=False, failing_rows=rows, observed=None, message=message)
    if rule.kind == "row_count":
        passed = rule.threshold.holds(rows)
        message = "ok" if passed else f"{rows} rows; expected {rule.threshold.describe()}"
        return RuleResult(**base, passed=passed, failing_rows=None, observed=rows, message=message)
    failing = int(count or 0)
    if rule.kind == "freshness":
        cutoff = rule.detail["cutoff"]
        passed = newest is not None and newest >= cutoff
        shown = _types.python_value(newest)
        if newest is None:
            message = "no timestamp in the data"
        elif passed:
            message = "ok"
        else:
            message = f"the newest value {shown} is older than allowed ({rule.expected})"
        return RuleResult(
            **base,
            passed=passed,
            failing_rows=0 if passed else failing,
            observed=shown,
            message=message,
        )
    metric: float = failing
    if rule.unit == "percent":
        metric = round(100.0 * failing / rows, 6) if rows else 0.0
    passed = rule.threshold.holds(metric)
    message = "ok" if passed else _describe_failure(rule, failing, metric, rows)
    return RuleResult(
        **base,
        passed=passed,
        failing_rows=failing,
        observed=metric,
        unit=rule.unit,
        message=message,
    )


_WHAT_FAILS = {
    "type": "values are not of the contract's type",
    "required": "rows have no value",
    "finite": "values are inf or -inf",
    "range": "values are out of range",
    "length": "values have a length out of range",
    "pattern": "values do not match the pattern",
    "allowed_values": "values are not allowed",
    "unique": "rows repeat a value of an earlier row",
    "primary_key": "rows repeat the key of an earlier row",
    "null_values": "values are null",
    "missing_values": "values are missing",
    "duplicate_values": "rows repeat a value of an earlier row",
}


def _describe_failure(rule: Rule, failing: int, metric: float, rows: int) -> str:
    what = _WHAT_FAILS.get(rule.rule, "rows fail")
    text = f"{failing} of {rows} {what}"
    if rule.unit == "percent":
        text += f" ({metric:g}%)"
    if rule.threshold.operator != "mustBe" or rule.threshold.value != 0:
        text += f"; allowed: {rule.threshold.describe()} {rule.unit}"
    else:
        text += f"; expected: {rule.expected}"
    return text + rule.note


def _fill_examples(
    lazy: pl.LazyFrame,
    rules: list[Rule],
    results: list[RuleResult],
    wanted: list[int],
    k: int,
    what: str,
    rows: int,
    personal: set[str],
) -> None:
    # One small query per failing rule: each stops as soon as it has k rows, and
    # reads only the columns its rule needs.
    indexed = lazy.with_row_index(_ROW)
    for i in wanted:
        rule = rules[i]
        if rule.mask is None:
            continue
        value = rule.value if rule.value is not None else pl.col(rule.column or "")
        if rule.rule in _KEYED:
            found = _first_repeats(indexed, rule.mask, value, k, what, rows)
        else:
            query = indexed.filter(rule.mask).select(pl.col(_ROW), value.alias("value")).head(k)
            # The streaming engine stops early, even for data in memory.
            found = _collect(query, what, "streaming")
        if personal & set((rule.column or "").split(",")):
            # Personal data is hashed or dropped before any logging, and reports
            # end up in logs and the audit trail: show where, never what.
            results[i].examples = [
                {"row": int(r), "value": None, "redacted": "personal data"} for r in found[_ROW]
            ]
            continue
        results[i].examples = [
            {"row": int(r), "value": _types.python_value(v)}
            for r, v in zip(found[_ROW], found["value"], strict=True)
        ]


_FIRST_PREFIX = 1 << 16


def _first_repeats(
    indexed: pl.LazyFrame, mask: pl.Expr, value: pl.Expr, k: int, what: str, rows: int
) -> pl.DataFrame:
    """The first ``k`` rows that repeat an earlier row's key.

    Whether a row repeats an earlier one depends only on the rows before it,
    so the rule's mask over the first n rows is the mask of the whole data
    cut to n rows. Looking in growing prefixes finds the first repeats
    without hashing every key, which no engine stops early for (1M keys:
    65 ms for the whole column).
    """
    n = _FIRST_PREFIX
    while True:
        query = indexed.head(n).filter(mask).select(pl.col(_ROW), value.alias("value")).head(k)
        found = _collect(query, what, "in-memory")
        if found.height >= k or n >= rows:
            return found
        n *= 8
