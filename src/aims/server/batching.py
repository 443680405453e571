"""Adaptive micro-batching: concurrent predict requests for one version share a model call.

Most of what a small model costs per call is fixed (building the input
frame, the estimator's own checks), so ten one-row calls cost almost ten
times what one ten-row call does. A :class:`Batcher` gathers the records of
requests that arrive while the model is busy and answers them with one call,
then hands each request its own rows back.

It adapts to the load rather than waiting on a timer:

- a request finding its version idle goes straight to the model, alone;
- requests arriving while a call runs queue up and go together as soon as
  it ends (at most ``max_size`` rows per call);
- no request waits longer than ``max_wait`` for its call to start: when the
  model is still busy at that point, the queued requests start a call of
  their own beside it.

Where model calls run adapts too. A call costing less CPU than ``max_wait``
(a small scikit-learn or ONNX model: about a millisecond whatever the rows)
runs on the event loop itself: the requests read in one turn of the loop are
gathered, and one call answers them at the end of that turn, or of a later
one while requests keep joining (those read by the loop's next look at its
sockets): the call waits for the first turn that brings no new request, the
``max_size``-th row or ``max_wait``, whichever comes first. A request alone
(nothing joins it in its turn) is still answered at the end of that turn.
Under load this makes the calls larger, so the model's fixed cost is shared
by more requests, at the price of a few turns of the loop. Handing such a
call to a thread would cost more than the call (a queue, a wake-up, the
interpreter lock passed back and forth twice) and buys nothing on a busy
core. A dearer call runs on a small thread pool, so the event loop keeps
reading requests (and forming the next batch) while the model works; the
cost is measured on every call (CPU time of the calling thread, and time
by the clock, each a moving average per version), so a version moves
between the two as it proves cheap or dear. A version's first call runs on the pool. Everything
per request (parsing, the input contract, the routing choice, logging,
metrics, the shadow copy) happens outside, in :mod:`aims.server.predict`: a
batch only ever holds records that passed their request's checks, all for
the same loaded version. When a batched call fails, each request of the
batch is retried alone, so one bad request fails alone.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from aims.server.metrics import ServerMetrics
from aims.server.outputs import Outputs
from aims.server.routing import ServedVersion

__all__ = ["Batcher"]

SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
WAIT_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1)
COST_WEIGHT = 0.2
"""Weight of the newest call in the moving average of a version's call cost."""
WALL_FACTOR = 4.0
"""A call runs on the loop only if it also takes at most this many times ``max_wait`` by
the clock: one that waits without working (on a lock, a socket, a sleep) never does,
while a busy machine's pauses may stretch a cheap call a few times over."""


@dataclass
class _Waiting:
    records: list[dict[str, Any]]
    future: asyncio.Future[Outputs | BaseException]
    since: float


@dataclass(eq=False)
class _Lane:
    """The queue and the calls in flight of one served version."""

    waiting: list[_Waiting] = field(default_factory=list)
    running: int = 0
    timer: asyncio.TimerHandle | None = None
    cost: float | None = None
    """CPU seconds per model call, a moving average (None before the first call)."""
    wall: float = 0.0
    """Seconds per model call by the clock, a moving average."""
    turn: asyncio.Handle | None = None
    """The call at the end of this turn of the loop, when calls run on the loop."""
    seen: int = 0
    """Requests queued when ``turn`` was set: more by its time, and more may still come."""


class BatchMetrics:
    """What batching does, on ``/metrics``: batch sizes and how long requests waited."""

    def __init__(self, metrics: ServerMetrics) -> None:
        r, labels = metrics.registry, ("model", "version")
        self.size = Histogram(
            "aims_batch_rows",
            "Rows per batched model call.",
            labels,
            buckets=SIZE_BUCKETS,
            registry=r,
        )
        self.requests = Counter(
            "aims_batch_requests", "Predict requests answered by batched calls.", labels, registry=r
        )
        self.wait = Histogram(
            "aims_batch_wait_seconds",
            "Time the oldest request of a batch waited for its model call to start.",
            labels,
            buckets=WAIT_BUCKETS,
            registry=r,
        )
        self.max_wait = Gauge(
            "aims_batch_wait_max_seconds",
            "Longest time a request waited for its model call to start, since the server started.",
            labels,
            registry=r,
        )
        self.alone = Counter(
            "aims_batch_retries",
            "Requests run alone again after their batched call failed.",
            labels,
            registry=r,
        )
        self._worst: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def record(self, served: ServedVersion, rows: int, requests: int, waited: float) -> None:
        """Count one batched call of ``rows`` rows from ``requests`` requests."""
        labels = (served.model, str(served.version))
        self.size.labels(*labels).observe(rows)
        self.requests.labels(*labels).inc(requests)
        self.wait.labels(*labels).observe(waited)
        with self._lock:  # calls on several threads may end their wait together
            if waited > self._worst.get(labels, -1.0):
                self._worst[labels] = waited
                self.max_wait.labels(*labels).set(waited)


class Batcher:
    """Gathers predict calls for the same :class:`ServedVersion` into batched model calls.

    Parameters
    ----------
    metrics
        The server's metrics; batch sizes and waits are added to its registry.
    limits
        ``limits(model) -> (max_size, max_wait_seconds)``; ``max_size`` 1
        turns batching off for that model (it then runs on the caller's thread).
    threads
        Model calls that may run at once (across all versions). The longest
        wait holds while a thread is free: a call started beside a busy one
        for its overdue requests needs one.
    """

    def __init__(
        self,
        metrics: ServerMetrics,
        limits: Callable[[str], tuple[int, float]],
        threads: int = 8,
    ) -> None:
        self.limits = limits
        self.stats = BatchMetrics(metrics)
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="aims-model")
        # Weak keys: a version rolled out of service is forgotten with its last request.
        self._lanes: weakref.WeakKeyDictionary[ServedVersion, _Lane] = weakref.WeakKeyDictionary()

    def enabled(self, model: str) -> bool:
        """Whether predict calls of ``model`` are batched."""
        return self.limits(model)[0] > 1

    async def outputs(self, served: ServedVersion, records: list[dict[str, Any]]) -> Outputs:
        """The model's outputs for ``records``, computed in a batch with concurrent requests.

        Raises what the model raised when the request's records, run alone, fail.
        """
        loop = asyncio.get_running_loop()
        lane = self._lanes.get(served)
        if lane is None:
            lane = self._lanes[served] = _Lane()
        future: asyncio.Future[Outputs | BaseException] = loop.create_future()
        lane.waiting.append(_Waiting(records, future, time.perf_counter()))
        self._pump(served, lane)
        result = await future
        if isinstance(result, BaseException):
            raise result
        return result

    def on_loop(self, served: ServedVersion) -> bool:
        """Whether calls of ``served`` run on the event loop (cheap by CPU and by the clock)."""
        lane = self._lanes.get(served)
        return lane is not None and _cheap(lane, self.limits(served.model)[1])

    def _pump(self, served: ServedVersion, lane: _Lane) -> None:
        """Start the calls the queue is ready for; set a timer for the rest."""
        size, wait = self.limits(served.model)
        if _cheap(lane, wait):
            # Cheap calls run on the loop, once the requests read in this turn have queued.
            if lane.turn is None and lane.waiting:
                lane.seen = len(lane.waiting)
                lane.turn = asyncio.get_running_loop().call_soon(self._run_here, served, lane)
            return
        while lane.waiting:
            now = time.perf_counter()
            queued = sum(len(w.records) for w in lane.waiting)
            overdue = now - lane.waiting[0].since >= wait
            if lane.running and queued < size and not overdue:
                break
            self._start(served, lane, size)
        if lane.timer is not None:
            lane.timer.cancel()
            lane.timer = None
        if lane.waiting:
            loop = asyncio.get_running_loop()
            delay = max(0.0, lane.waiting[0].since + wait - time.perf_counter())
            lane.timer = loop.call_later(delay, self._pump, served, lane)

    def _run_here(self, served: ServedVersion, lane: _Lane) -> None:
        """On the loop: answer every queued request, in calls of at most ``max_size`` rows."""
        lane.turn = None
        size, wait = self.limits(served.model)
        if len(lane.waiting) > lane.seen and _room(lane, size, wait):
            # Requests joined during this turn: the next may bring more; wait one turn.
            lane.seen = len(lane.waiting)
            lane.turn = asyncio.get_running_loop().call_soon(self._run_here, served, lane)
            return
        while lane.waiting:
            batch = _take(lane, size)
            try:
                results = self._run(served, lane, batch)
            except Exception as exc:  # a failure outside the model's call: no caller hangs
                results = [exc] * len(batch)
            for w, result in zip(batch, results, strict=True):
                if not w.future.done():  # the caller may have gone away (cancelled)
                    w.future.set_result(result)
        if lane.timer is not None:
            lane.timer.cancel()
            lane.timer = None

    def _start(self, served: ServedVersion, lane: _Lane, size: int) -> None:
        batch = _take(lane, size)
        lane.running += 1
        loop = asyncio.get_running_loop()
        call = loop.run_in_executor(self._pool, self._run, served, lane, batch)
        call.add_done_callback(lambda done: self._finished(served, lane, batch, done))

    def _run(
        self, served: ServedVersion, lane: _Lane, batch: list[_Waiting]
    ) -> list[Outputs | BaseException]:
        """One model call for the batch, or one per request if it fails; its cost is noted."""
        # The wait ends here, when the call starts, not when it was queued for a thread.
        rows = sum(len(w.records) for w in batch)
        self.stats.record(served, rows, len(batch), time.perf_counter() - batch[0].since)
        cpu, clock = time.thread_time(), time.perf_counter()
        try:
            return self._call(served, batch)
        finally:
            spent, took = time.thread_time() - cpu, time.perf_counter() - clock
            if lane.cost is None:
                lane.cost, lane.wall = spent, took
            else:
                lane.cost += COST_WEIGHT * (spent - lane.cost)
                lane.wall += COST_WEIGHT * (took - lane.wall)

    def _call(self, served: ServedVersion, batch: list[_Waiting]) -> list[Outputs | BaseException]:
        if len(batch) == 1:
            return [_attempt(served, batch[0].records)]
        records = [r for w in batch for r in w.records]
        together = _attempt(served, records)
        if isinstance(together, Outputs):
            parts: list[Outputs | BaseException] = []
            start = 0
            for w in batch:
                parts.append(_part(together, start, start + len(w.records)))
                start += len(w.records)
            return parts
        self.stats.alone.labels(served.model, str(served.version)).inc(len(batch))
        return [_attempt(served, w.records) for w in batch]

    def _finished(
        self,
        served: ServedVersion,
        lane: _Lane,
        batch: list[_Waiting],
        done: asyncio.Future[list[Outputs | BaseException]],
    ) -> None:
        lane.running -= 1
        exc = done.exception()
        results: list[Outputs | BaseException] = (
            [exc] * len(batch) if exc is not None else done.result()
        )
        for w, result in zip(batch, results, strict=True):
            if not w.future.done():  # the caller may have gone away (cancelled)
                w.future.set_result(result)
        self._pump(served, lane)

    def close(self) -> None:
        """Finish the model calls under way and stop the pool."""
        self._pool.shutdown(wait=True)


def _cheap(lane: _Lane, wait: float) -> bool:
    return lane.cost is not None and lane.cost <= wait and lane.wall <= WALL_FACTOR * wait


def _room(lane: _Lane, size: int, wait: float) -> bool:
    """Whether the queue has room for more rows and its oldest request time to wait for them."""
    if time.perf_counter() - lane.waiting[0].since >= wait:
        return False
    return sum(len(w.records) for w in lane.waiting) < size


def _take(lane: _Lane, size: int) -> list[_Waiting]:
    """The oldest queued requests, as many as fit in ``size`` rows (at least one)."""
    batch = [lane.waiting.pop(0)]
    rows = len(batch[0].records)
    while lane.waiting and rows + len(lane.waiting[0].records) <= size:
        rows += len(lane.waiting[0].records)
        batch.append(lane.waiting.pop(0))
    return batch


def _attempt(served: ServedVersion, records: list[dict[str, Any]]) -> Outputs | BaseException:
    try:
        return Outputs(served, records)
    except Exception as exc:  # handed to the request, which reports it as it would alone
        return exc


def _part(out: Outputs, start: int, stop: int) -> Outputs:
    """Rows ``start:stop`` of a batch's outputs, as the request's own :class:`Outputs`."""
    part = Outputs.__new__(Outputs)
    part.predictions = out.predictions[start:stop]
    part.proba = None if out.proba is None else out.proba[start:stop]
    part.scores = None if out.scores is None else out.scores[start:stop]
    return part
