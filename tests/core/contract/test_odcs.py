"""Reading and writing ODCS v3 YAML, and the errors a bad contract gets."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from aims.core.contract import (
    dump_contract,
    infer_contract,
    label_column,
    load_contract,
    parse_contract,
    pii_columns,
    sensitive_columns,
    write_contract,
)
from aims.errors import ConfigError, NotFound

FULL = textwrap.dedent(
    """\
    apiVersion: v3.1.0
    kind: DataContract
    id: 0b6f6a1e-loans
    name: loans
    version: 2.1.0
    status: active
    domain: credit
    team:
      name: risk-data
      members:
        - username: ana
          role: owner
    description:
      purpose: Loan applications used to train the default model.
    servers:
      - server: prod
        type: s3
        location: s3://bucket/loans/
    schema:
      - name: applications
        physicalType: table
        quality:
          - metric: rowCount
            mustBeBetween: [1000, 50000]
          - metric: duplicateValues
            mustBe: 0
            arguments:
              properties: [branch, application_no]
          - type: sql
            query: SELECT COUNT(*) FROM applications WHERE amount < 0
            mustBe: 0
        properties:
          - name: branch
            logicalType: string
            required: true
            primaryKey: true
            primaryKeyPosition: 1
          - name: application_no
            logicalType: integer
            required: true
            primaryKey: true
            primaryKeyPosition: 2
          - name: amount
            logicalType: number
            physicalType: DOUBLE
            logicalTypeOptions:
              minimum: 0
              exclusiveMaximum: 1000000
            quality:
              - metric: nullValues
                mustBeLessThan: 1
                unit: percent
          - name: purpose
            logicalType: string
            quality:
              - metric: invalidValues
                arguments:
                  validValues: [car, home, study]
                mustBe: 0
          - name: email
            logicalType: string
            classification: restricted
            logicalTypeOptions:
              pattern: '^[^@]+@[^@]+$'
              maxLength: 254
            customProperties:
              - property: aimsPii
                value: hash
              - property: owner-note
                value: reviewed
          - name: gender
            logicalType: string
            customProperties:
              - property: aimsSensitive
                value: true
          - name: applied_at
            logicalType: timestamp
            logicalTypeOptions:
              minimum: '2020-01-01T00:00:00Z'
          - name: defaulted
            logicalType: boolean
            required: true
            customProperties:
              - property: aimsLabel
                value: true
    slaProperties:
      - property: latency
        value: 2
        unit: d
        element: applications.applied_at
      - property: retention
        value: 3
        unit: y
    """
)


def test_reads_every_supported_field():
    c = parse_contract(FULL)
    assert (c.id, c.name, c.version, c.status) == ("0b6f6a1e-loans", "loans", "2.1.0", "active")
    table = c.table()
    assert table.name == "applications"
    assert [(q.metric, q.threshold.describe()) for q in table.quality if q.metric] == [
        ("rowCount", "between 1000 and 50000"),
        ("duplicateValues", "= 0"),
    ]
    assert table.quality[2].type == "sql"
    amount = table.column("amount")
    assert (amount.minimum, amount.exclusive_maximum, amount.physical_type) == (
        0,
        1_000_000,
        "DOUBLE",
    )
    assert amount.quality[0].unit == "percent"
    assert table.column("purpose").strict_allowed_values() == ["car", "home", "study"]
    email = table.column("email")
    assert email.strict_patterns() == ["^[^@]+@[^@]+$"] and email.max_length == 254
    assert email.extra["classification"] == "restricted"
    assert table.column("applied_at").minimum == "2020-01-01T00:00:00Z"
    assert [c.name for c in table.columns if c.primary_key] == ["branch", "application_no"]
    (fresh,) = c.freshness
    assert (fresh.table, fresh.column, fresh.max_age) == (
        "applications",
        "applied_at",
        dt.timedelta(days=2),
    )
    assert c.sla_extra == [{"property": "retention", "value": 3, "unit": "y"}]
    assert label_column(c) == "defaulted"
    assert sensitive_columns(c) == ["gender"]
    assert pii_columns(c) == {"email": "hash"}


def test_round_trip_keeps_everything():
    first = parse_contract(FULL)
    text = dump_contract(first)
    second = parse_contract(text)
    assert second.tables == first.tables
    assert second.freshness == first.freshness
    assert second.extra == first.extra  # team, servers, domain survive
    assert second.sla_extra == first.sla_extra
    assert dump_contract(second) == text


def test_v32_enum_is_read_and_kept():
    text = FULL.replace("v3.1.0", "v3.2.0").replace(
        "logicalType: boolean\n", "logicalType: boolean\n        enum: [{value: true}]\n"
    )
    c = parse_contract(text)
    assert c.column("defaulted").allowed_values == [True]
    assert "enum:" in dump_contract(c)


def test_written_contract_is_read_by_the_official_model(tmp_path, frame):
    odcs = pytest.importorskip("open_data_contract_standard.model")
    contract = infer_contract(frame, name="loans", label="defaulted", pii={"email": "drop"})
    path = write_contract(contract, tmp_path / "loans.odcs.yaml")
    official = odcs.OpenDataContractStandard.from_file(str(path))
    assert official.apiVersion == "v3.1.0" and official.kind == "DataContract"
    (obj,) = official.schema_
    props = {p.name: p for p in obj.properties}
    assert list(props) == frame.columns
    assert props["age"].logicalType == "integer" and props["age"].required is True
    assert props["age"].logicalTypeOptions["minimum"] == contract.column("age").minimum
    city_rule = props["city"].quality[0]
    assert city_rule.metric == "invalidValues" and city_rule.mustBe == 0
    assert sorted(city_rule.arguments["validValues"]) == sorted(set(frame["city"]))
    assert [(p.property, p.value) for p in props["email"].customProperties] == [("aimsPii", "drop")]
    assert obj.quality[0].metric == "rowCount"


def test_inferred_contract_round_trips(frame):
    contract = infer_contract(frame, label="defaulted", freshness=("event_time", "6h"))
    again = parse_contract(dump_contract(contract))
    assert again.tables == contract.tables
    assert again.freshness == contract.freshness


def expect_error(text: str, *fragments: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_contract(textwrap.dedent(text), source="c.yaml")
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    assert "\n" not in message
    return message


HEAD = """\
apiVersion: v3.1.0
kind: DataContract
id: x
version: 1.0.0
schema:
  - name: t
    properties:
"""


def test_unknown_field_names_the_field_and_line():
    expect_error(
        HEAD + "      - name: a\n        requried: true\n",
        "c.yaml, line 9",
        "schema[0].properties[0].requried",
        "did you mean 'required'",
    )


def test_bad_logical_type():
    expect_error(
        HEAD + "      - name: a\n        logicalType: int\n",
        "line 9",
        "schema[0].properties[0].logicalType",
        "'int' is not allowed",
    )


def test_wrong_value_type():
    expect_error(
        HEAD + "      - name: a\n        required: yes please\n", "line 9", "must be a boolean"
    )


def test_yaml_syntax_error_has_a_line():
    expect_error(HEAD + "      - name: [a\n", "c.yaml, line", "not valid YAML")


def test_duplicate_key():
    expect_error(HEAD + "      - name: a\n        name: b\n", "line 9", "appears twice")


def test_missing_required_top_level_fields():
    expect_error("kind: DataContract\nschema: []\n", "the required field 'apiVersion' is missing")


def test_odcs_v2_is_refused_with_advice():
    expect_error("apiVersion: v2.2.2\nkind: DataContract\n", "line 1", "convert the contract to v3")


def test_quality_rule_needs_exactly_one_operator():
    expect_error(
        HEAD
        + "      - name: a\n        quality:\n          - metric: nullValues\n"
        + "            mustBe: 0\n            mustBeLessThan: 2\n",
        "line 10",
        "exactly one operator",
    )


def test_unknown_metric():
    expect_error(
        HEAD
        + "      - name: a\n        quality:\n          - metric: nullCount\n            mustBe: 0\n",
        "line 10",
        "'nullCount' is not an ODCS library metric",
    )


def test_bad_pattern_and_bounds():
    message = expect_error(
        HEAD
        + "      - name: a\n        logicalType: string\n        logicalTypeOptions:\n"
        + "          pattern: '([a-z'\n"
        + "      - name: b\n        logicalType: integer\n        logicalTypeOptions:\n"
        + "          minimum: 10\n          maximum: 2\n",
        "line 11",
        "the pattern does not compile",
    )
    assert "line 14" in message and "lower bound 10 is above the upper bound 2" in message


def test_options_must_fit_the_logical_type():
    expect_error(
        HEAD + "      - name: a\n        logicalType: integer\n        logicalTypeOptions:\n"
        "          maxLength: 3\n",
        "line 11",
        "logicalTypeOptions.maxLength: unknown field",
    )


def test_freshness_element_must_exist():
    expect_error(
        HEAD
        + "      - name: a\n        logicalType: timestamp\nslaProperties:\n"
        + "  - property: latency\n    value: 1\n    unit: d\n    element: t.b\n",
        "line 14",
        "there is no property 'b'",
    )


def test_aims_custom_property_values():
    expect_error(
        HEAD + "      - name: a\n        customProperties:\n"
        "          - property: aimsPii\n            value: encrypt\n",
        "line 11",
        "aimsPii is 'hash' or 'drop'",
    )


def test_top_level_must_be_a_mapping():
    expect_error("- just\n- a list\n", "line 1", "an ODCS contract is a YAML mapping")


def test_load_contract_file_errors(tmp_path):
    with pytest.raises(NotFound):
        load_contract(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text(HEAD + "      - name: a\n        logicalType: int\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml, line 9"):
        load_contract(bad)
