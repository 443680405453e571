"""The Dask engine on a real local cluster: the same profile as the local engine, bit for bit."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from distributed import Client, LocalCluster

from aims.core.profile import dumps
from aims.core.profile.partitioned import finish, profile_part, template
from aims.errors import NotFound
from aims.services.engines import sources
from aims.services.engines.profiling import drift_sources, profile_sources
from tests.engines.equality import assert_same_profile, partitions, write_parts


# One cluster for the module: its tests run on one worker (make test: --dist loadfile).
@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0"
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_parts(tmp_path_factory.mktemp("lake"), partitions())


def test_dask_profile_equals_local_bit_for_bit_and_the_whole(client: Client, lake: Path) -> None:
    local = profile_sources([str(lake)], engine="local")
    on_dask = profile_sources([str(lake)], engine="dask", scheduler=client)
    assert dumps(on_dask) == dumps(local)
    # ... and the profile of all rows at once on the same plan
    parts = sources.expand([str(lake)])
    assert len(parts) == 8
    plan = template(sources.first_rows(parts, 250_000))
    whole = finish(profile_part(plan, pl.concat(partitions())))
    assert_same_profile(on_dask, whole)
    assert on_dask["colour"].frequencies()["violet"] == 3


def test_parts_handed_out_several_to_a_task_merge_to_the_same_bytes(
    client: Client, lake: Path
) -> None:
    from aims.services.engines.on_dask import parts_per_task, profile_on_dask, task_groups

    parts = sources.expand([str(lake)])
    plan = template(sources.first_rows(parts, 250_000))
    one_each = profile_on_dask(plan, parts, scheduler=client, per_task=1)
    grouped = profile_on_dask(plan, parts, scheduler=client, per_task=3)  # 2 + 6 x 1 part
    assert dumps(grouped) == dumps(one_each)
    assert grouped.rows == sum(p.height for p in partitions())
    # one part a task until there are more than 16 a worker thread
    assert [parts_per_task(n, 2) for n in (8, 32, 33, 120, 240)] == [1, 1, 1, 3, 7]
    assert parts_per_task(120, 0) == 7
    # the last parts one a task, so that two threads end about one part apart
    assert task_groups(list(range(10)), 3, 2) == [[0, 1, 2], [3], *[[i] for i in range(4, 10)]]
    assert [len(g) for g in task_groups(list(range(120)), 3, 2)] == [3] * 38 + [1] * 6
    assert task_groups(list(range(7)), 3, 1) == [[0, 1, 2], [3, 4, 5], [6]]
    assert task_groups([0, 1], 3, 2) == [[0], [1]]


def test_dask_by_scheduler_address_and_like_a_reference(client: Client, lake: Path) -> None:
    reference = profile_sources([str(lake / "part=0")])
    window = profile_sources(
        [str(lake / "part=3"), str(lake / "part=5")],
        engine="dask",
        scheduler=client.scheduler.address,
        like=reference,
    )
    local = profile_sources(
        [str(lake / "part=3"), str(lake / "part=5")], engine="local", like=reference
    )
    assert dumps(window) == dumps(local)
    assert window["x"].layout == reference["x"].layout
    assert window.rows == 900 + 600


def test_dask_drift_gives_the_local_verdict(client: Client, lake: Path, tmp_path: Path) -> None:
    shifted = [p.with_columns(pl.col("y") * 3.0) for p in partitions(seed=8)]
    moved = write_parts(tmp_path / "moved", shifted)
    local = drift_sources(str(lake), str(moved))
    on_dask = drift_sources(str(lake), str(moved), engine="dask", scheduler=client)
    assert on_dask.to_dict()["columns"] == local.to_dict()["columns"]
    assert on_dask.dataset_drift == local.dataset_drift
    assert "y" in on_dask.drifted_columns


def test_a_drift_on_a_local_cluster_starts_one_cluster_of_single_threaded_workers(
    lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    import dask
    import distributed

    from aims.services.engines.on_dask import WORKER_ENVIRONMENT

    pools: list[dict[str, int]] = []
    environments: list[dict[str, dict[str, str | None]]] = []
    profilers: list[dict[str, bool]] = []
    preloaded: list[dict[str, bool]] = []
    started: list[dict[str, bool]] = []

    def imported(module: str) -> bool:
        """Whether a worker has imported ``module``: sent by value, so it imports nothing itself."""
        import sys

        return module in sys.modules

    def readers() -> bool:
        """Whether the worker's start imported the Parquet reader (waiting for its thread)."""
        import sys
        import threading

        for thread in threading.enumerate():
            if thread.name == "aims-import-readers":
                thread.join(30)
        return "pyarrow.parquet" in sys.modules

    class Recorded(distributed.LocalCluster):  # type: ignore[misc]
        """The cluster aims starts, recording its workers' Polars thread pools and environment."""

        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            with distributed.Client(self, set_as_default=False) as c:
                # first: a function of this module, sent by reference, would import aims
                preloaded.append(c.run(imported, "aims.services.engines.tasks"))
                pools.append(c.run(pl.thread_pool_size))
                environments.append(c.run(_environment, list(WORKER_ENVIRONMENT)))
                profilers.append(c.run(dask.config.get, "distributed.worker.profile.enabled"))
                started.append(c.run(readers))

    monkeypatch.setattr(distributed, "LocalCluster", Recorded)
    for name in WORKER_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    moved = write_parts(
        tmp_path / "moved", [p.with_columns(pl.col("y") * 3.0) for p in partitions(seed=8)]
    )
    on_dask = drift_sources(str(lake), str(moved), engine="dask", workers=1)
    assert on_dask.to_dict()["columns"] == drift_sources(str(lake), str(moved)).to_dict()["columns"]
    # both sides on one cluster, whose worker is one core
    assert [list(p.values()) for p in pools] == [[1]]
    # glibc keeps freed batches for the next one rather than Dask's trim at 64 KB
    [worker_env] = environments[0].values()
    assert worker_env == {k: str(v) for k, v in WORKER_ENVIRONMENT.items()}
    assert worker_env["MALLOC_TRIM_THRESHOLD_"] != "65536"
    # and without Dask's statistical profiler sampling the task's stack every 10 ms
    assert [list(p.values()) for p in profilers] == [[False]]
    assert dask.config.get("distributed.worker.profile.enabled") is True  # only there
    # the worker imported the task's module as it started, before any task came
    assert [list(p.values()) for p in preloaded] == [[True]]
    # and, on a thread of its own, the Parquet reader a first task would otherwise import
    assert [list(p.values()) for p in started] == [[True]]
    # this process's environment is as it was
    assert not set(WORKER_ENVIRONMENT) & set(os.environ)


SCRIPT = """
import sys
from pathlib import Path

with open(sys.argv[2], "a") as marks:  # each run of this file adds a line
    marks.write("ran\\n")

from aims.services.engines.profiling import profile_sources

if __name__ == "__main__":
    prof = profile_sources([sys.argv[1]], engine="dask", workers=2)
    print(prof.rows, Path(__file__).name, __spec__)
"""


def test_the_workers_of_a_local_cluster_do_not_run_the_main_script_again(
    lake: Path, tmp_path: Path
) -> None:
    """Python's spawn would run a script in each worker before its work (the ``aims``
    console script imported the whole command line there); aims' tasks need none of it."""
    import subprocess
    import sys

    script, marks = tmp_path / "pipeline_step.py", tmp_path / "marks.txt"
    script.write_text(SCRIPT)
    out = subprocess.run(
        [sys.executable, str(script), str(lake), str(marks)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    rows = sum(p.height for p in partitions())
    # the profile is made, and the script's __main__ is as it was afterwards
    assert out.stdout.split() == [str(rows), "pipeline_step.py", "None"]
    assert marks.read_text() == "ran\n"  # by this process only, not by the two workers


def test_bad_input_on_a_local_cluster_is_refused_and_the_cluster_closed(tmp_path: Path) -> None:
    """The cluster starts while the paths are read; a missing one still gets its message."""
    import psutil

    with pytest.raises(NotFound, match="no such file or folder"):
        profile_sources([str(tmp_path / "missing")], engine="dask", workers=1)
    workers = [p for p in psutil.Process().children() if "spawn_main" in " ".join(p.cmdline())]
    assert workers == []


def _environment(names: list[str]) -> dict[str, str | None]:
    """The values of ``names`` in the environment of the process it runs in (a worker)."""
    import os

    return {name: os.environ.get(name) for name in names}


def test_a_cluster_task_decodes_parquet_on_its_own_thread(
    lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task is one core: Arrow's thread pool is not asked to decode, the local engine's is.

    Nor does a task start threads to profile the columns of a batch, as the
    local engine does on a machine of several cores.
    """
    import os

    import pyarrow.parquet as pq

    from aims.core.profile import loads
    from aims.services.engines.tasks import part_profile, profile_task

    asked: list[bool] = []
    iter_batches = pq.ParquetFile.iter_batches

    def recorded(self: pq.ParquetFile, *args: object, **kwargs: object) -> object:
        asked.append(bool(kwargs.get("use_threads", True)))
        return iter_batches(self, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", recorded)
    [part, *_] = sources.expand([str(lake)])
    plan = template(sources.first_rows([part], 250_000))
    with _threads_started() as by_task:
        on_worker = loads(profile_task(part, dumps(plan)))
    assert asked[-1] is False
    assert not [name for name in by_task if name.startswith("ThreadPoolExecutor")]
    with _threads_started() as by_local:
        local = part_profile(plan, part)
    assert asked[-1] is True
    pooled = [name for name in by_local if name.startswith("ThreadPoolExecutor")]
    assert bool(pooled) is ((os.cpu_count() or 1) > 1)
    assert dumps(on_worker) == dumps(local)


@contextlib.contextmanager
def _threads_started() -> Iterator[list[str]]:
    """The names of the Python threads started in the block (each reports itself as it starts)."""
    import sys
    import threading

    names: list[str] = []

    def started(*_: object) -> None:
        names.append(threading.current_thread().name)
        sys.setprofile(None)  # once per thread is enough

    threading.setprofile(started)
    try:
        yield names
    finally:
        threading.setprofile(None)
