"""Profiles on Spark: parts or partitions profiled on the executors, merged on the driver.

Two ways in:

- :func:`profile_on_spark` (``aims profile --engine spark``) hands the *list
  of parts* (files and Parquet row groups, :mod:`.sources`) to Spark tasks,
  and each task reads its part with pyarrow and fsspec, as a Dask worker
  does. Spark's own readers never touch the data, so ``s3://`` (s3fs) and any
  other fsspec URL work without hadoop-aws and its jars, CSV and Arrow files
  as well as Parquet, and the merged profile is the local engine's, byte for
  byte (the same parts merged in the same order).
- :func:`profile_spark` takes any Spark DataFrame, so a Spark job can profile
  its training data where it lives and write the profile next to it; each
  partition is profiled by ``mapInArrow``.

Only the layout plan (bytes) travels to the executors and one profile per
part or partition comes back. Executors need aims installed
(``pip install 'aims[spark]'``, and ``aims[s3]`` to read ``s3://``).

Spark hands each partition over as Arrow record batches; string, integer,
floating-point and boolean columns reach the profile exactly as the other
engines read them from Parquet. Timestamps come as microseconds in the
session's time zone.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import polars as pl

from aims.core import frames
from aims.core.profile import FrameProfile, ProfileOptions, dumps, loads
from aims.core.profile.partitioned import blank, finish, profile_part, template
from aims.errors import InvalidInput
from aims.services.engines.sources import Part
from aims.services.engines.tasks import profile_task

__all__ = ["profile_on_spark", "profile_spark", "spark_session"]

#: Parts per Spark job: the driver holds at most this many part profiles before merging them.
PARTS_PER_JOB = 512


def spark_session(master: str | None = None, batch_rows: int = 10_000) -> Any:
    """A Spark session on ``master`` (default ``local[*]``), without the web UI."""
    from pyspark.sql import SparkSession

    master = master or "local[*]"
    builder = (
        SparkSession.builder.master(master)
        .appName("aims-profile")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(batch_rows))
    )
    if master.startswith("local"):
        # local workers must run this interpreter, which has aims, not the first python3
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        # and a local driver needs no network name (its lookup can stall for seconds)
        builder = (
            builder.config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            # a local task is one core: Polars on one thread, as on a local Dask worker
            .config("spark.executorEnv.POLARS_MAX_THREADS", "1")
        )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _part_task(plan_bytes: bytes, batch_rows: int, part: Part) -> bytes:
    """What a Spark task runs on one part: read it with pyarrow/fsspec, profile it on the plan."""
    return profile_task(part, plan_bytes, batch_rows)


def profile_on_spark(
    plan: FrameProfile,
    parts: list[Part],
    *,
    master: str | None = None,
    batch_rows: int = frames.DEFAULT_BATCH_ROWS,
) -> FrameProfile:
    """Profiles of ``parts`` on ``plan``, one Spark task per part, merged in part order.

    Each job covers up to :data:`PARTS_PER_JOB` parts, so the driver never
    holds more part profiles than that however many files a lake has.
    """
    spark = spark_session(master)
    context = spark.sparkContext
    task = functools.partial(_part_task, dumps(plan), batch_rows)
    out: FrameProfile | None = None
    for start in range(0, len(parts), PARTS_PER_JOB):
        chunk = parts[start : start + PARTS_PER_JOB]
        # one slice per part: Spark schedules parts as tasks, and collect keeps their order
        for data in context.parallelize(chunk, numSlices=len(chunk)).map(task).collect():
            part = loads(bytes(data))
            out = part if out is None else out.merge(part)
    return out if out is not None else blank(plan)


def _profile_batches(plan_bytes: bytes) -> Any:
    """The function each executor runs on its partition's record batches."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        plan = loads(plan_bytes)
        out: FrameProfile | None = None
        for batch in batches:
            part = profile_part(plan, pl.DataFrame(pl.from_arrow(batch)))
            out = part if out is None else out.merge(part)
        if out is not None:
            yield pa.RecordBatch.from_pydict({"profile": [dumps(out)]})

    return run


def profile_spark(
    dataframe: Any,
    *,
    plan: FrameProfile | None = None,
    kinds: Mapping[str, str] | None = None,
    columns: list[str] | None = None,
    options: ProfileOptions | None = None,
    sample_rows: int = frames.DEFAULT_BATCH_ROWS,
) -> FrameProfile:
    """Profile of a Spark DataFrame, one partition per task, merged on the driver.

    With no ``plan``, the first ``sample_rows`` rows fix the layouts and the
    result is a finished reference (see :mod:`aims.core.profile.partitioned`);
    with a ``plan`` (a template, or a reference to profile a window like),
    the merged profile on its layouts is returned as it is.

    Examples
    --------
    Inside a Spark job::

        from aims.services.engines.on_spark import profile_spark
        from aims.core.profile import dumps

        reference = profile_spark(spark.read.parquet("s3a://lake/train/"))
        open("train.profile", "wb").write(dumps(reference))
    """
    if columns is not None:
        dataframe = dataframe.select(*columns)
    fitted_here = plan is None
    if plan is None:
        sample = pl.DataFrame(pl.from_arrow(dataframe.limit(sample_rows).toArrow()))
        if sample.height == 0:
            raise InvalidInput("no data to profile: the Spark DataFrame has no rows")
        plan = template(sample, kinds=kinds, options=options)
    rows = dataframe.mapInArrow(_profile_batches(dumps(plan)), "profile binary").collect()
    out: FrameProfile | None = None
    for row in rows:
        part = loads(bytes(row["profile"]))
        out = part if out is None else out.merge(part)
    merged = out if out is not None else blank(plan)
    return finish(merged, options) if fitted_here else merged
