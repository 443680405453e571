"""Profiles on a Dask cluster: every part profiled on a worker, merged on the client.

With no scheduler address a local cluster is started for the call (one
single-threaded worker process per core, or ``workers``) and closed after it.
Its workers also run Polars on one thread (``POLARS_MAX_THREADS=1``) and a
task decodes Parquet on its own thread (see :mod:`.tasks`), so that a worker
is one core: two workers on two cores then do not fight over four threads, and
adding a worker adds a core's throughput. On a cluster of the user's, a
worker's thread count is theirs to choose and aims follows it: one task per
worker thread, each on one thread, and Polars as the worker was started
(``POLARS_MAX_THREADS`` set to the thread count there keeps it to as many cores).
Workers need aims installed (``pip install 'aims[dask]'``) in the same version
as the client, since they run :func:`aims.services.engines.tasks.profile_tasks`.

Profiles come back in part order and merge in that order, so the result is
the same bit for bit as the local engine's on the same parts.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

from aims.core import frames
from aims.core.profile import FrameProfile, dumps, loads
from aims.core.profile.partitioned import blank
from aims.services.engines.sources import Part
from aims.services.engines.tasks import profile_tasks

T = TypeVar("T")

__all__ = [
    "CLUSTER_SETTINGS",
    "WORKER_ENVIRONMENT",
    "dask_client",
    "dask_client_meanwhile",
    "profile_on_dask",
]


@contextlib.contextmanager
def dask_client(scheduler: Any = None, workers: int | None = None) -> Iterator[Any]:
    """A Dask client: ``scheduler`` itself if it is one, a client of that address, or a local cluster.

    ``scheduler`` may also be the future of a client (:func:`dask_client_meanwhile`).
    """
    from distributed import Client, LocalCluster

    if isinstance(scheduler, Future):
        scheduler = scheduler.result()
    if isinstance(scheduler, Client):
        yield scheduler
        return
    if scheduler:
        with Client(str(scheduler), set_as_default=False) as client:
            yield client
        return
    with contextlib.ExitStack() as stack:
        with _single_threaded_workers():
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address="127.0.0.1:0",
                )
            )
            client = stack.enter_context(Client(cluster, set_as_default=False))
        yield client


@contextlib.contextmanager
def dask_client_meanwhile(
    scheduler: Any = None, workers: int | None = None
) -> Iterator[Future[Any]]:
    """:func:`dask_client` started on a thread of its own while the caller goes on.

    The block gets the future of the client, and reads the data's parts and
    the sample that fixes the layouts while a local cluster's workers start
    (or a connection to ``scheduler`` is made): a second or two that every
    command would otherwise wait for first. The client, and a local cluster,
    close when the block ends, once the start has finished.
    """
    import polars as pl
    import pyarrow

    # Both size their thread pools once, from the environment, and a local
    # cluster's start sets one-thread values in it while it spawns workers:
    # sized now, this process keeps a thread per core for the sample.
    pl.thread_pool_size()
    pyarrow.cpu_count()
    stack = contextlib.ExitStack()
    starter = ThreadPoolExecutor(1, thread_name_prefix="aims-dask-start")
    pending = starter.submit(stack.enter_context, dask_client(scheduler, workers))
    starter.shutdown(wait=False)
    try:
        yield pending
    finally:
        wait([pending])
        stack.close()


CLUSTER_SETTINGS: dict[str, Any] = {
    # Workers import the task's module (aims, Polars, PyArrow) as they start,
    # which dask_client_meanwhile overlaps with the client's own reading,
    # rather than when the first task arrives, with every worker waiting; its
    # dask_setup hook also makes them quicker to exit when the cluster closes.
    "distributed.worker.preload": ["aims.services.engines.tasks"],
    # Dask's own monitors, which a short-lived cluster of one user does not need
    # so often: together they cost 5 % of a core per worker while the cluster ran
    # (measured idle: 53 ms of CPU a second with one worker, 94 ms with two;
    # 8 and 13 ms with these). The statistical profiler samples the task's
    # stack every 10 ms for a dashboard page aims does not show.
    "distributed.worker.profile.enabled": False,
    # the event loop's "unresponsive" check, every 20 ms by default
    "distributed.admin.tick.interval": "1s",
    # CPU, memory and network figures for the dashboard, every 0.5 s by default
    "distributed.admin.system-monitor.interval": "5s",
    # the nanny's check of the worker's memory limit, every 0.1 s by default;
    # a task holds one batch, so a second between checks is safe
    "distributed.worker.memory.monitor-interval": "1s",
}
"""Dask settings of the local cluster aims starts (a cluster of the user's keeps its own)."""


WORKER_ENVIRONMENT: dict[str, int | None] = {
    # Polars on one thread, so that a worker with one thread is one core.
    "POLARS_MAX_THREADS": 1,
    # glibc's allocator: Dask sets MALLOC_TRIM_THRESHOLD_=65536 to hand freed
    # memory back at once, and any fixed threshold also stops glibc raising
    # its mmap threshold, so every array above 128 KB (a column of a batch is
    # 2 MB) is mapped and unmapped again, its pages faulted in anew each time:
    # a third of a worker's CPU went to page faults. Arrays up to 32 MB come
    # from the heap instead, and up to 128 MB of freed heap is kept for the
    # next batch; a worker's peak stays bounded by one batch (measured the same).
    "MALLOC_MMAP_THRESHOLD_": 32 * 2**20,
    "MALLOC_TRIM_THRESHOLD_": 128 * 2**20,
    # PyArrow's allocator (mimalloc) keeps the pages of freed buffers instead
    # of handing them back to the system 10 ms after they are freed, so the
    # next batch's Parquet buffers are not faulted in anew: 2-3 % off a profile
    # of 30 million rows, on 1 and on 2 workers (measured alternately, fresh
    # clusters: 2 workers 7.83-7.84 s against 8.05-8.20 s).
    "MIMALLOC_PURGE_DELAY": -1,
}
"""What aims sets in the environment of the local cluster's worker processes.

A variable already set in this process's environment wins (Dask's rule), so a
user can still choose otherwise.
"""


@contextlib.contextmanager
def _single_threaded_workers() -> Iterator[None]:
    """Start a local cluster with aims' settings and environment, leaving this process's as it was.

    The cluster gets :data:`CLUSTER_SETTINGS`, its worker processes
    :data:`WORKER_ENVIRONMENT`.

    Polars sizes its thread pool once, when first used, and glibc reads its
    variables once, at start, so these are set the way Dask sets
    ``OMP_NUM_THREADS``: in the environment the worker process is spawned
    with. Dask's nanny writes them into this process's environment to spawn
    the worker; they are put back afterwards.
    """
    import dask

    before = {name: os.environ.get(name) for name in WORKER_ENVIRONMENT}
    settings = {
        **CLUSTER_SETTINGS,
        **{f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in WORKER_ENVIRONMENT.items()},
    }
    try:
        with dask.config.set(settings), _main_not_rerun():
            yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _main_not_rerun() -> Iterator[None]:
    """Spawn worker processes that do not run this process's main script again.

    Python's ``spawn`` runs the parent's ``__main__`` file (or module) in each
    child before its work, so that functions defined there can be unpickled.
    aims' tasks live in aims' modules, so that run is only cost and risk: the
    ``aims`` console script imported the whole command line (Typer, Rich) in
    every worker, and a user's script without an ``if __name__ ==
    "__main__"`` guard would start over in each. While the cluster starts,
    ``__main__`` names no file or module; it is put back afterwards.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved: dict[str, Any] = {k: vars(main)[k] for k in ("__file__", "__spec__") if k in vars(main)}
    vars(main).pop("__file__", None)
    main.__spec__ = None
    try:
        yield
    finally:
        vars(main).pop("__spec__", None)
        vars(main).update(saved)


TASKS_PER_THREAD = 16
"""How many tasks each worker thread gets at least, when there are parts enough.

A Dask task costs about 6 ms of CPU between the client, the scheduler and the
worker (measured), against about 190 ms for a part of 250,000 rows x 27
columns; so parts are handed out several to a task when there are many. Sixteen
tasks a thread keep the last task, which one worker may still run while the
others wait, short.
"""


def parts_per_task(parts: int, threads: int) -> int:
    """How many consecutive parts a task profiles: one, or more when there are many per thread."""
    return max(1, parts // (max(threads, 1) * TASKS_PER_THREAD))


def task_groups(parts: list[T], per_task: int, threads: int) -> list[list[T]]:
    """``parts`` in consecutive groups of ``per_task``, the last ``per_task x threads`` one a task.

    Threads finish their last group of several parts up to a group apart; the
    parts left one a task fill that gap, so the last thread ends at most about
    one part after the others rather than one group. With one thread there is
    no gap, and the groups go to the end.
    """
    tail = per_task * threads if threads > 1 and per_task > 1 else 0
    head = max(len(parts) - tail, 0)
    groups = [parts[i : min(i + per_task, head)] for i in range(0, head, per_task)]
    return groups + [[part] for part in parts[head:]]


def profile_on_dask(
    plan: FrameProfile,
    parts: list[Part],
    *,
    scheduler: Any = None,
    workers: int | None = None,
    batch_rows: int = frames.DEFAULT_BATCH_ROWS,
    per_task: int | None = None,
) -> FrameProfile:
    """Profiles of ``parts`` on ``plan``, computed on Dask workers and merged in part order.

    A task profiles ``per_task`` consecutive parts (by default
    :func:`parts_per_task` of the cluster's threads; the last parts one a task,
    see :func:`task_groups`) and returns each part's profile, so the client
    merges the same profiles in the same order whatever the grouping.
    """
    with dask_client(scheduler, workers) as client:
        threads = sum(client.nthreads().values())
        if per_task is None:
            per_task = parts_per_task(len(parts), threads)
        groups = task_groups(parts, per_task, threads)
        # a key of its own (hash=False): the same plan scattered by a call just
        # ended would share the key its release is still removing
        [plan_bytes] = client.scatter([dumps(plan)], broadcast=True, hash=False)
        futures = client.map(
            profile_tasks, groups, plan=plan_bytes, batch_rows=batch_rows, pure=False
        )
        out: FrameProfile | None = None
        for future in futures:
            for result in future.result():
                part = loads(result)
                out = part if out is None else out.merge(part)
            future.release()
    return out if out is not None else blank(plan)
