"""The Spark engine on a real local Spark (``local[2]``): mapInArrow per partition, merged on the driver."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from aims.core.profile.partitioned import finish, profile_part, template
from aims.services.engines import sources
from aims.services.engines.on_spark import profile_spark, spark_session
from aims.services.engines.profiling import profile_sources
from tests.engines.equality import assert_same_profile, partitions, write_parts
from tests.plugins._debian import apt_install

pytestmark = [
    # PySpark warns that it has not been certified with the pandas the suite has; unused here
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    # one Spark session for the module: every test on the same xdist worker
    pytest.mark.xdist_group("spark"),
]


def ensure_java(lock_dir: Path) -> None:
    """Install a Java runtime with apt when none is on this machine, as PostgreSQL is installed."""
    if os.environ.get("JAVA_HOME") or shutil.which("java"):
        return
    try:
        apt_install(["default-jre-headless"], lock_dir)
    except RuntimeError as exc:
        pytest.fail(f"Spark needs a Java runtime, and installing one failed: {exc}", pytrace=False)


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    ensure_java(tmp_path_factory.getbasetemp())
    session = spark_session("local[2]")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_parts(tmp_path_factory.mktemp("lake"), partitions())


def test_spark_partitions_merged_equal_the_whole(spark: Any, lake: Path) -> None:
    parts = sources.expand([str(lake)])
    plan = template(sources.first_rows(parts, 250_000))
    frame = spark.read.parquet(*[p.url for p in parts]).repartition(8)
    assert frame.rdd.getNumPartitions() == 8
    on_spark = finish(profile_spark(frame, plan=plan))
    whole = finish(profile_part(plan, pl.concat(partitions())))
    assert_same_profile(on_spark, whole)
    assert on_spark["colour"].frequencies()["violet"] == 3
    assert on_spark["x"].nans == whole["x"].nans > 0


def test_spark_engine_equals_local_engine(spark: Any, lake: Path) -> None:
    local = profile_sources([str(lake)], engine="local")
    on_spark = profile_sources([str(lake)], engine="spark", scheduler="local[2]")
    assert_same_profile(on_spark, local)


def test_profile_spark_fits_its_own_plan(spark: Any) -> None:
    frame = spark.createDataFrame(pl.concat(partitions()).to_arrow()).repartition(3)
    reference = profile_spark(frame, sample_rows=500)
    assert reference.rows == sum(p.height for p in partitions())
    assert reference["colour"].extra == {}  # a finished reference: categories closed
    assert "violet" in reference["colour"].layout.categories
