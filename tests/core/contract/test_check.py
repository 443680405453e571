"""Batch validation: infer -> write -> read -> check, clean and with injected faults."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from aims.core.contract import (
    CheckReport,
    Column,
    Contract,
    QualityRule,
    Table,
    Threshold,
    check_contract,
    infer_contract,
    load_contract,
    write_contract,
)
from aims.errors import ContractViolation, InvalidInput, NotFound
from tests.core.contract.conftest import NOW, ROWS


@pytest.fixture(scope="module")
def contract_file(tmp_path_factory: pytest.TempPathFactory, frame: pl.DataFrame) -> Path:
    # Ranges refuse here, as a reviewed contract's do (inferred ones only warn).
    contract = infer_contract(
        frame,
        name="loans",
        label="defaulted",
        freshness=("event_time", "1d"),
        range_severity="error",
    )
    return write_contract(contract, tmp_path_factory.mktemp("contract") / "loans.odcs.yaml")


def run(contract_file: Path, data: pl.DataFrame, tmp_path: Path, kind: str) -> CheckReport:
    path = tmp_path / f"data.{kind}"
    if kind == "parquet":
        data.write_parquet(path, row_group_size=500)  # several row groups: indices are global
    else:
        data.write_csv(path)
    return check_contract(load_contract(contract_file), path, now=NOW)


def failed(report: CheckReport) -> dict[tuple[str, str | None], int | None]:
    return {(r.rule, r.column): r.failing_rows for r in report.failures}


def example_rows(report: CheckReport, rule: str) -> list[int]:
    (result,) = [r for r in report.failures if r.rule == rule]
    return [e["row"] for e in result.examples]


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_clean_data_passes(contract_file: Path, frame: pl.DataFrame, tmp_path: Path, kind: str):
    report = run(contract_file, frame, tmp_path, kind)
    assert report.passed, report.summary()
    assert report.rows == ROWS
    assert len(report.rules) > 20
    assert report.extra_columns == []


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_nulls_in_required_column(contract_file, frame, tmp_path, kind):
    rows = [3, 1_450, 1_999]
    bad = frame.with_columns(
        pl.when(pl.int_range(pl.len()).is_in(rows)).then(None).otherwise(pl.col("age")).alias("age")
    )
    report = run(contract_file, bad, tmp_path, kind)
    assert failed(report) == {("required", "age"): 3}
    assert example_rows(report, "required") == rows


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_out_of_range_values(contract_file, frame, tmp_path, kind):
    top = frame["income"].max()
    bad = frame.with_columns(
        pl.when(pl.int_range(pl.len()).is_in([5, 1_234]))
        .then(top * 10)
        .otherwise(pl.col("income"))
        .alias("income")
    )
    report = run(contract_file, bad, tmp_path, kind)
    assert failed(report) == {("range", "income"): 2}
    (result,) = report.failures
    assert [e["row"] for e in result.examples] == [5, 1_234]
    assert result.examples[0]["value"] == pytest.approx(top * 10)


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_unseen_categories(contract_file, frame, tmp_path, kind):
    rows = [10, 11, 12, 999]
    bad = frame.with_columns(
        pl.when(pl.int_range(pl.len()).is_in(rows))
        .then(pl.lit("Atlantis"))
        .otherwise("city")
        .alias("city")
    )
    report = run(contract_file, bad, tmp_path, kind)
    assert failed(report) == {("allowed_values", "city"): 4}
    assert example_rows(report, "allowed_values") == rows


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_dropped_column(contract_file, frame, tmp_path, kind):
    report = run(contract_file, frame.drop("income"), tmp_path, kind)
    assert failed(report) == {("column_present", "income"): ROWS}


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_renamed_column(contract_file, frame, tmp_path, kind):
    report = run(contract_file, frame.rename({"city": "town"}), tmp_path, kind)
    assert failed(report) == {("column_present", "city"): ROWS}
    assert "'town'" in report.failures[0].message and "renamed" in report.failures[0].message
    assert report.extra_columns == ["town"]


def test_type_change_in_typed_file(contract_file, frame, tmp_path):
    # A producer starts sending ages as text: every value breaks the contract.
    report = run(
        contract_file, frame.with_columns(pl.col("age").cast(pl.String)), tmp_path, "parquet"
    )
    assert failed(report) == {("type", "age"): ROWS}
    assert "String" in report.failures[0].message
    assert [s.column for s in report.skipped] == ["age"]


def test_type_change_in_csv_is_found_per_value(contract_file, frame, tmp_path):
    rows = [7, 1_800]
    bad = frame.with_columns(pl.col("age").cast(pl.String)).with_columns(
        pl.when(pl.int_range(pl.len()).is_in(rows))
        .then(pl.lit("forty"))
        .otherwise("age")
        .alias("age")
    )
    report = run(contract_file, bad, tmp_path, "csv")
    assert failed(report) == {("type", "age"): 2}
    (result,) = report.failures
    assert result.examples == [{"row": 7, "value": "forty"}, {"row": 1_800, "value": "forty"}]


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_duplicate_keys(contract_file, frame, tmp_path, kind):
    ids = frame["id"].to_list()
    ids[20], ids[1_700] = ids[0], ids[0]
    report = run(contract_file, frame.with_columns(pl.Series("id", ids)), tmp_path, kind)
    assert failed(report) == {("unique", "id"): 2}
    assert example_rows(report, "unique") == [20, 1_700]


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_too_few_rows(contract_file, frame, tmp_path, kind):
    report = run(contract_file, frame.head(ROWS // 2), tmp_path, kind)
    assert failed(report) == {("row_count", None): None}
    (result,) = report.failures
    assert result.observed == ROWS // 2
    assert result.expected == f"row count >= {int(ROWS * 0.9)}"


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_stale_timestamps(contract_file, frame, tmp_path, kind):
    bad = frame.with_columns(pl.col("event_time") - dt.timedelta(days=30))
    report = run(contract_file, bad, tmp_path, kind)
    assert failed(report) == {("freshness", "event_time"): ROWS}
    assert example_rows(report, "freshness") == [0, 1, 2, 3, 4]


def test_counts_match_an_independent_count(frame):
    # Each rule's count, recomputed with NumPy on the same data.
    income = frame["income"].to_numpy().copy()
    income[::97] = -1.0
    score = frame["score"].to_numpy()
    contract = Contract(
        "t",
        [
            Table(
                "t",
                [
                    Column("income", "number", minimum=0, maximum=150_000),
                    Column(
                        "score",
                        "number",
                        quality=[QualityRule("nullValues", Threshold("mustBe", 0))],
                    ),
                ],
            )
        ],
    )
    report = check_contract(contract, frame.with_columns(pl.Series("income", income)))
    got = {r.rule: r.failing_rows for r in report.rules}
    assert got["range"] == int(((income < 0) | (income > 150_000)).sum())
    assert got["null_values"] == int(np.isnan(score).sum())
    assert got["null_values"] > 0


def test_quality_metrics_with_tolerance_and_percent():
    df = pl.DataFrame({"k": [1, 1, 2, 3, 3, 3], "v": ["a", "", None, "N/A", "b", "c"]})
    table = Table(
        "t",
        [
            Column(
                "k",
                "integer",
                quality=[
                    QualityRule("duplicateValues", Threshold("mustBeLessThan", 10), "percent")
                ],
            ),
            Column(
                "v",
                "string",
                quality=[
                    QualityRule(
                        "missingValues",
                        Threshold("mustBeLessOrEqualTo", 3),
                        arguments={"missingValues": [None, "", "N/A"]},
                    ),
                    QualityRule(
                        "invalidValues",
                        Threshold("mustBeLessThan", 2),
                        arguments={"validValues": ["a", "b"]},
                        severity="warning",
                    ),
                ],
            ),
        ],
    )
    report = check_contract(Contract("t", [table]), df)
    by_rule = {r.rule: r for r in report.rules}
    # k repeats an earlier value on rows 1, 4 and 5: 3 of 6 rows = 50 %.
    assert by_rule["duplicate_values"].failing_rows == 3
    assert by_rule["duplicate_values"].observed == pytest.approx(50.0)
    assert [e["row"] for e in by_rule["duplicate_values"].examples] == [1, 4, 5]
    assert by_rule["missing_values"].failing_rows == 3 and by_rule["missing_values"].passed
    # "", "N/A" and "c" are not valid; as a warning it does not fail the check.
    assert by_rule["allowed_values"].failing_rows == 3
    assert not by_rule["allowed_values"].passed and not by_rule["allowed_values"].blocking
    assert [r.rule for r in report.failures] == ["duplicate_values"]
    assert [r.rule for r in report.warnings] == ["allowed_values"]


def test_composite_key_and_primary_key():
    df = pl.DataFrame({"a": [1, 1, 2, 1], "b": ["x", "y", "x", "x"], "c": [1, 2, 3, 4]})
    table = Table(
        "t",
        [Column("a", "integer", primary_key=True), Column("b", "string", primary_key=True)],
        quality=[
            QualityRule(
                "duplicateValues", Threshold("mustBe", 0), arguments={"properties": ["a", "b"]}
            )
        ],
    )
    report = check_contract(Contract("t", [table]), df)
    failures = {(r.rule, r.column): r for r in report.failures}
    assert failures[("primary_key", "a,b")].failing_rows == 1
    assert failures[("duplicate_values", "a,b")].examples == [
        {"row": 3, "value": {"a": 1, "b": "x"}}
    ]


def test_severity_and_skipped_rules_are_reported():
    table = Table(
        "t",
        [Column("x", "integer")],
        quality=[QualityRule(None, type="sql", extra={"type": "sql", "query": "SELECT 1"})],
    )
    report = check_contract(Contract("t", [table]), pl.DataFrame({"x": [1]}))
    assert report.passed
    assert [(s.rule, s.reason) for s in report.skipped] == [
        ("sql", "sql rules are not run by aims")
    ]


def test_temporal_bounds_and_timezones():
    stamps = [dt.datetime(2024, 1, 1, 23, tzinfo=dt.UTC), dt.datetime(2024, 1, 3, tzinfo=dt.UTC)]
    table = Table("t", [Column("t", "timestamp", maximum="2024-01-02T00:30:00+01:00")])
    report = check_contract(Contract("t", [table]), pl.DataFrame({"t": stamps}))
    (result,) = report.failures
    assert (result.rule, result.failing_rows) == ("range", 1)
    assert result.examples == [{"row": 1, "value": "2024-01-03T00:00:00+00:00"}]


def test_report_is_json_ready_and_raises(frame):
    contract = infer_contract(frame, range_severity="error")
    report = check_contract(contract, frame.with_columns(pl.col("income") * -1))
    data = report.to_dict()
    import json

    json.dumps(data, allow_nan=False)
    assert data["passed"] is False and data["n_failed"] == 1
    with pytest.raises(ContractViolation) as info:
        report.raise_for_failures()
    assert info.value.failures[0]["rule"] == "range"
    assert "range(income)" in str(info.value)


def test_unreadable_files_give_one_line(tmp_path, frame):
    contract = infer_contract(frame)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(InvalidInput) as info:
        check_contract(contract, broken)
    assert "broken.parquet" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(NotFound):
        check_contract(contract, tmp_path / "absent.csv")
    (tmp_path / "data.xlsx").write_bytes(b"PK")
    with pytest.raises(InvalidInput, match="unsupported file type"):
        check_contract(contract, tmp_path / "data.xlsx")


def test_pandas_and_lazy_sources(frame):
    contract = infer_contract(frame)
    assert check_contract(contract, frame.to_pandas()).passed
    assert check_contract(contract, frame.lazy()).passed


@pytest.mark.parametrize("n_allowed", [1, 3, 8, 9, 20])
def test_allowed_values_count_matches_numpy_for_small_and_large_sets(n_allowed: int) -> None:
    # Up to a few values the rule compares, beyond it looks up a hash set:
    # both must count the same rows as NumPy's isin, nulls never failing.
    rng = np.random.default_rng(n_allowed)
    words = [f"w{k}" for k in range(25)]
    strings = [None if rng.random() < 0.1 else words[rng.integers(25)] for _ in range(5000)]
    ints = rng.integers(0, 25, 5000)
    frame = pl.DataFrame({"s": strings, "i": ints})
    contract = Contract(
        "t",
        [
            Table(
                "t",
                [
                    Column("s", "string", allowed_values=words[:n_allowed]),
                    Column("i", "integer", allowed_values=list(range(n_allowed))),
                ],
            )
        ],
    )
    report = check_contract(contract, frame)
    failing = {r.column: r.failing_rows for r in report.rules if r.rule == "allowed_values"}
    present = np.array([s is not None for s in strings])
    listed = np.isin(np.array(strings, dtype=object), words[:n_allowed])
    assert failing["s"] == int((present & ~listed).sum())
    assert failing["i"] == int((~np.isin(ints, np.arange(n_allowed))).sum())


@pytest.mark.parametrize("prefix", [4, 1 << 16])
def test_examples_of_repeats_are_the_first_repeating_rows(monkeypatch, prefix: int) -> None:
    # Repeats are looked for in growing prefixes of the data; wherever they
    # sit, the examples must be the first rows that repeat an earlier key.
    import aims.core.contract.check as check_module

    monkeypatch.setattr(check_module, "_FIRST_PREFIX", prefix)
    rng = np.random.default_rng(7)
    keys = np.arange(100_000)
    late = rng.choice(np.arange(70_000, 100_000), 7, replace=False)
    keys[late] = rng.integers(0, 70_000, 7)
    frame = pl.DataFrame({"id": keys, "part": keys % 3})
    contract = Contract("t", [Table("t", [Column("id", "integer", unique=True)])])
    rule = next(r for r in check_contract(contract, frame).rules if r.rule == "unique")
    seen: set[int] = set()
    expected = []
    for row, key in enumerate(keys.tolist()):
        if key in seen:
            expected.append(row)
        seen.add(key)
    assert rule.failing_rows == 7
    assert [e["row"] for e in rule.examples] == expected[:5]
    assert [e["value"] for e in rule.examples] == [int(keys[r]) for r in expected[:5]]


def test_a_file_that_is_not_text_is_refused_in_one_line(tmp_path: Path) -> None:
    contract = Contract("t", [Table("t", [Column("a", "integer")])])
    binary = tmp_path / "data.csv"
    binary.write_bytes(bytes(range(128, 256)) * 40)
    with pytest.raises(InvalidInput, match="not UTF-8 text"):
        check_contract(contract, binary)
    nul = tmp_path / "nul.csv"
    nul.write_bytes(b"a\n1\n\x00\x00\n")
    with pytest.raises(InvalidInput, match="NUL bytes"):
        check_contract(contract, nul)
    # UTF-8 text whose multi-byte character straddles the probed prefix is fine.
    text = tmp_path / "text.csv"
    text.write_text("a,b\n" + "1," + "x" * ((1 << 16) - 7) + "é\n", encoding="utf-8")
    assert (1 << 16) - 2 <= text.read_bytes().index("é".encode()) < 1 << 16
    report = check_contract(Contract("t", [Table("t", [Column("a", "integer")])]), text)
    assert report.passed and report.rows == 1


def test_an_inferred_range_warns_instead_of_failing(frame):
    report = check_contract(infer_contract(frame), frame.with_columns(pl.col("income") * -1))
    assert report.passed
    assert [(w.rule, w.column) for w in report.warnings] == [("range", "income")]
