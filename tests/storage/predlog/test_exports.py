from __future__ import annotations

import aims.storage.predlog as predlog


def test_public_names_are_unique_and_importable() -> None:
    assert len(set(predlog.__all__)) == len(predlog.__all__)
    assert all(getattr(predlog, name, None) is not None for name in predlog.__all__)
    # Names come from their modules on first use: every one is listed, and only those.
    assert set(predlog._WHERE) == set(predlog.__all__)


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        predlog.PredictionLogWritter  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "PredictionLogWritter" in str(exc)
    else:
        raise AssertionError("a misspelt name was found")


def test_fixed_columns_are_the_fixed_schema_in_order() -> None:
    from aims.storage.predlog.schema import (
        FIXED_COLUMNS,
        FIXED_SCHEMA,
        PARTITION_COLUMNS,
        PARTITION_SCHEMA,
    )

    assert tuple(FIXED_SCHEMA) == FIXED_COLUMNS
    assert tuple(PARTITION_SCHEMA) == PARTITION_COLUMNS
    assert str(FIXED_SCHEMA["ts"]) == "Datetime(time_unit='us', time_zone='UTC')"
