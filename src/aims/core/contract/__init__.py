"""Data contracts (ODCS v3): read, write, infer, check batches, check records, data health.

A contract says what a dataset must look like: columns and their logical
types, which are required or unique, ranges, allowed values, patterns,
lengths, and quality rules on null share, duplicates, row count and
freshness. aims reads and writes it as Open Data Contract Standard v3 YAML
and keeps its own facts (label, sensitive and personal-data columns) in ODCS
``customProperties``.

Typical use::

    contract = infer_contract("train.parquet", name="loans", label="default")
    write_contract(contract, "loans.odcs.yaml")          # review, tighten, commit
    report = check_contract(load_contract("loans.odcs.yaml"), "new_batch.parquet")
    report.raise_for_failures()                          # ContractViolation if broken
    errors = validate_records(contract, [{"amount": 120.0, ...}])   # per request
    health = data_health(contract, window, expected_rows=10_000)    # per window
"""

from aims.core.contract.check import CheckReport, RuleResult, check_contract
from aims.core.contract.health import HealthProfile, HealthReport, SchemaChange, data_health
from aims.core.contract.infer import infer_contract
from aims.core.contract.model import (
    Column,
    Contract,
    Freshness,
    QualityRule,
    Table,
    Threshold,
    label_column,
    pii_columns,
    sensitive_columns,
)
from aims.core.contract.odcs import dump_contract, load_contract, parse_contract, write_contract
from aims.core.contract.records import RecordError, RecordValidator, validate_records

__all__ = [
    "CheckReport",
    "Column",
    "Contract",
    "Freshness",
    "HealthProfile",
    "HealthReport",
    "QualityRule",
    "RecordError",
    "RecordValidator",
    "RuleResult",
    "SchemaChange",
    "Table",
    "Threshold",
    "check_contract",
    "data_health",
    "dump_contract",
    "infer_contract",
    "label_column",
    "load_contract",
    "parse_contract",
    "pii_columns",
    "sensitive_columns",
    "validate_records",
    "write_contract",
]
