"""``aims contract infer`` and ``aims contract check``."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from aims.cli import contract as cli
from aims.core.contract import load_contract, parse_contract
from aims.errors import ContractViolation, InvalidInput

runner = CliRunner()


@pytest.fixture()
def data(tmp_path):
    rng = np.random.default_rng(3)
    n = 500
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    frame = pl.DataFrame(
        {
            "id": np.arange(n),
            "amount": rng.uniform(1, 100, n),
            "kind": rng.choice(["a", "b", "c"], n),
            "email": [f"u{i}@x.org" for i in range(n)],
            "at": [now - dt.timedelta(minutes=i) for i in range(n)],
            "y": rng.integers(0, 2, n),
        }
    )
    path = tmp_path / "train.parquet"
    frame.write_parquet(path)
    return frame, path


def test_infer_prints_odcs_yaml(data):
    _, path = data
    result = runner.invoke(cli.app, ["infer", str(path)])
    assert result.exit_code == 0, result.output
    contract = parse_contract(result.stdout)
    assert contract.name == "train"
    assert contract.column("kind").strict_allowed_values() == ["a", "b", "c"]


def test_infer_writes_a_file_with_aims_properties(data, tmp_path):
    _, path = data
    out = tmp_path / "c.odcs.yaml"
    args = ["infer", str(path), "--out", str(out), "--name", "loans", "--label", "y"]
    args += ["--pii", "email=hash", "--sensitive", "kind", "--freshness", "at=2h"]
    result = runner.invoke(cli.app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"contract": str(out), "name": "loans", "columns": 6}
    contract = load_contract(out)
    assert contract.column("y").label and contract.column("kind").sensitive
    assert contract.column("email").pii == "hash"
    assert contract.freshness[0].max_age == dt.timedelta(hours=2)


def test_check_passes_on_its_own_data(data, tmp_path):
    _, path = data
    out = tmp_path / "c.yaml"
    runner.invoke(cli.app, ["infer", str(path), "--out", str(out)])
    result = runner.invoke(cli.app, ["check", str(out), str(path)])
    assert result.exit_code == 0, result.output
    assert "500 rows" in result.stdout and "passes" in result.stdout


def test_check_fails_with_exit_1_and_json_report(data, tmp_path):
    frame, path = data
    out = tmp_path / "c.yaml"
    runner.invoke(cli.app, ["infer", str(path), "--out", str(out), "--range-severity", "error"])
    bad = tmp_path / "bad.csv"
    frame.with_columns(pl.col("amount") * -1).write_csv(bad)
    result = runner.invoke(cli.app, ["check", str(out), str(bad), "--format", "json"])
    assert result.exit_code == 1
    assert isinstance(result.exception, ContractViolation)
    report = json.loads(result.stdout)
    assert report["passed"] is False
    (failure,) = [r for r in report["rules"] if not r["passed"]]
    assert (failure["rule"], failure["column"], failure["failing_rows"]) == ("range", "amount", 500)
    assert [e["row"] for e in failure["examples"]] == [0, 1, 2, 3, 4]
    table = runner.invoke(cli.app, ["check", str(out), str(bad)])
    assert table.exit_code == 1 and "FAIL" in table.stdout and "range" in table.stdout


def test_unparsable_data_is_one_clear_error(data, tmp_path):
    _, path = data
    out = tmp_path / "c.yaml"
    runner.invoke(cli.app, ["infer", str(path), "--out", str(out)])
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    result = runner.invoke(cli.app, ["check", str(out), str(broken)])
    assert result.exit_code == 1
    assert isinstance(result.exception, InvalidInput)
    assert "broken.parquet" in str(result.exception) and "\n" not in str(result.exception)


def test_bad_option_syntax(data):
    _, path = data
    result = runner.invoke(cli.app, ["infer", str(path), "--pii", "email"])
    assert isinstance(result.exception, InvalidInput)
    assert "COLUMN=VALUE" in str(result.exception)


def test_through_the_aims_entry_point(data, tmp_path, capsys):
    pytest.importorskip("aims.cli.drift")  # the entry point loads every command module
    from aims.cli.main import main

    _, path = data
    out = tmp_path / "c.yaml"
    main(["contract", "infer", str(path), "--out", str(out)])
    assert load_contract(out).name == "train"
    assert capsys.readouterr().err.count("\n") == 1  # one line, however long the path
    with pytest.raises(SystemExit) as info:
        main(["contract", "check", str(out), str(tmp_path / "absent.parquet")])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert "absent.parquet: no such file" in err and err.count("\n") == 1
