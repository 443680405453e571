"""``/metrics`` of a server run as several worker processes (``aims serve --workers N``).

Every worker counts what it answers in its own registry, and a scrape reaches
whichever worker accepted the connection. So that a scrape never shows one
worker's share as the whole, every series a worker owns carries a ``worker``
label (``0`` to ``N - 1``), and each worker writes a snapshot of its series to
a folder the supervisor creates (and removes at exit) every
:data:`SNAPSHOT_SECONDS`.
A scrape answers the scraping worker's own series as they are now, plus every
other worker's latest snapshot, at most that old. Sum over
``worker`` for the server's totals (``sum without (worker) (...)``).

A restarted worker starts its counters at zero under the same label, which
Prometheus treats as a counter reset (``rate`` and ``increase`` handle it).

Series computed from the store (the monitor's ``aims_monitor_*`` gauges) are
the same in every worker: they are answered once, by the scraping worker,
without a ``worker`` label.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric
from prometheus_client.samples import Sample

__all__ = ["SNAPSHOT_SECONDS", "STORE_VIEWS", "WorkerMetrics"]

log = logging.getLogger("aims.server")

SNAPSHOT_SECONDS = 1.0
"""Seconds between snapshots: a scrape is at most this late for the other workers.
Each costs a collection of the registry and a small file write (a few
milliseconds), so a worker at rest spends well under 1 % of a core on them."""

STORE_VIEWS = ("aims_monitor_",)
"""Name prefixes of families read from the store: identical in every worker."""

WORKER_LABEL = "worker"


def _labelled(family: Metric, worker: str) -> Metric:
    out = Metric(family.name, family.documentation, family.type, family.unit)
    out.samples = [
        Sample(s.name, {**s.labels, WORKER_LABEL: worker}, s.value, s.timestamp, s.exemplar)
        for s in family.samples
    ]
    return out


def _to_json(families: list[Metric]) -> str:
    return json.dumps(
        [
            [
                f.name,
                f.documentation,
                f.type,
                f.unit,
                [[s.name, s.labels, s.value] for s in f.samples],
            ]
            for f in families
        ]
    )


def _from_json(text: str) -> list[Metric]:
    families = []
    for name, documentation, kind, unit, samples in json.loads(text):
        family = Metric(name, documentation, kind, unit)
        family.samples = [Sample(n, labels, value) for n, labels, value in samples]
        families.append(family)
    return families


class WorkerMetrics:
    """One worker's view of every worker's series; a collector for ``generate_latest``.

    Parameters
    ----------
    registry
        The worker's own registry (:attr:`aims.server.metrics.ServerMetrics.registry`).
    worker
        This worker's number.
    folder
        Where every worker of the server writes its snapshot.
    interval
        Seconds between snapshots.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        worker: int,
        folder: str | Path,
        interval: float = SNAPSHOT_SECONDS,
    ) -> None:
        self.registry = registry
        self.worker = str(worker)
        self.folder = Path(folder)
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def path(self) -> Path:
        """This worker's snapshot file."""
        return self.folder / f"worker-{self.worker}.json"

    def own(self) -> tuple[list[Metric], list[Metric]]:
        """This worker's families now: (its own, labelled with the worker; the store's views)."""
        mine, views = [], []
        for family in self.registry.collect():
            if family.name.startswith(STORE_VIEWS):
                views.append(family)
            else:
                mine.append(_labelled(family, self.worker))
        return mine, views

    def snapshot(self) -> None:
        """Write this worker's series for the others to answer (atomically replaced)."""
        mine, _ = self.own()
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(_to_json(mine))
        os.replace(tmp, self.path)

    def others(self) -> Iterator[Metric]:
        """The families of every other worker's latest snapshot."""
        for path in sorted(self.folder.glob("worker-*.json")):
            if path.name == self.path.name:
                continue
            try:
                yield from _from_json(path.read_text())
            except (OSError, ValueError) as exc:  # replaced or removed while read: skip it once
                log.debug("metrics snapshot %s not read: %s", path.name, exc)

    def collect(self) -> Iterator[Metric]:
        """Every worker's series, one family per name, then the store's views."""
        mine, views = self.own()
        merged = {f.name: f for f in mine}
        for family in self.others():
            into = merged.get(family.name)
            if into is None:
                merged[family.name] = family
            else:
                into.samples.extend(family.samples)
        yield from merged.values()
        yield from views

    def start(self) -> None:
        """Write a snapshot now, then every ``interval`` seconds in a daemon thread."""
        self.snapshot()
        self._thread = threading.Thread(target=self._run, name="aims-worker-metrics", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.snapshot()
            except OSError as exc:  # the folder is gone: the supervisor is stopping
                log.debug("metrics snapshot not written: %s", exc)

    def stop(self) -> None:
        """Stop the snapshots, writing a last one."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with contextlib.suppress(OSError):  # the supervisor removed the folder first
            self.snapshot()
