"""The Spark engine on a real local Spark (``local[2]``), one session for the module.

``profile_spark`` profiles a DataFrame's partitions with ``mapInArrow``; the
engine of ``aims profile --engine spark`` hands parts (row groups, files) to
Spark tasks that read them with pyarrow and fsspec, so it reads ``s3://`` on
the suite's S3-compatible server (moto) without hadoop-aws.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from aims.core.profile.partitioned import finish, profile_part, template
from aims.errors import NotFound
from aims.services.engines import sources
from aims.services.engines.on_spark import profile_spark, spark_session
from aims.services.engines.profile_files import read_profile
from aims.services.engines.profiling import profile_sources
from tests.engines.equality import assert_same_profile, partitions, write_parts
from tests.plugins._debian import apt_install
from tests.plugins.s3 import S3Server

pytestmark = [
    # PySpark warns that it has not been certified with the pandas the suite has; unused here
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
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
def spark(tmp_path_factory: pytest.TempPathFactory, s3_server: S3Server) -> Iterator[Any]:
    ensure_java(tmp_path_factory.getbasetemp())
    # Spark's Python workers take the environment the JVM started with: the S3 server's
    with pytest.MonkeyPatch.context() as env:
        for key, value in s3_server.env().items():
            env.setenv(key, value)
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


def test_aims_profile_of_s3_on_spark_writes_the_local_file(
    spark: Any, lake: Path, s3_bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import fsspec

    from aims.cli.main import main

    fsspec.filesystem("s3").put(str(lake), f"{s3_bucket}/lake", recursive=True)
    # a CSV file beside the Parquet ones: Spark's tasks read every format aims reads
    extra = tmp_path / "extra.csv"
    partitions(seed=3)[0].head(40).write_csv(extra)
    fsspec.filesystem("s3").put(str(extra), f"{s3_bucket}/extra/extra.csv")
    local, on_spark = tmp_path / "local.profile", tmp_path / "spark.profile"
    main(["profile", str(lake), str(extra), "--out", str(local)])
    remote = [f"{s3_bucket}/lake/", f"{s3_bucket}/extra/extra.csv"]
    main(
        ["profile", *remote, "--out", str(on_spark), "--engine", "spark", "--scheduler", "local[2]"]
    )
    assert "spark" in capsys.readouterr().out
    # the same parts merged in the same order: the same file, byte for byte
    assert on_spark.read_bytes() == local.read_bytes()
    profile = read_profile(str(on_spark))
    assert profile.rows == sum(p.height for p in partitions()) + 40


def test_a_missing_s3_folder_on_spark_is_named(spark: Any, s3_bucket: str) -> None:
    with pytest.raises(NotFound, match="no such file or folder"):
        profile_sources([f"{s3_bucket}/nothing-here/"], engine="spark", scheduler="local[2]")


def test_local_spark_tasks_run_polars_on_one_thread(spark: Any) -> None:
    pools = spark.sparkContext.parallelize([0, 1], 2).map(lambda _: pl.thread_pool_size())
    assert pools.collect() == [1, 1]
