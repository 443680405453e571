#!/usr/bin/env python
"""Profiles and drift past one machine: the local engine, Dask with 1 and 2 workers, Spark, whylogs.

    python benchmarks/scale.py            # 30 million rows x 27 columns per side
    python benchmarks/scale.py --quick    # 2 million rows, for a first look
    python benchmarks/scale.py --engines dask1,dask2   # re-run some engines only
    python benchmarks/scale.py --engines dask1-running,dask2-running
    python benchmarks/scale.py --engines dask1-calls,dask2-calls
    python benchmarks/scale.py --rounds 5   # 1 and 2 workers, alternately, 5 times

Data: two folders of Parquet files (reference and current, 1 million rows per
file, 27 columns) made with the shared drift generator's distributions
(/work/shared/bench/gen.py, else benchmarks/gen_drift_data.py), written file
by file so no process ever holds a whole side.

aims' modules are compiled to bytecode first, as an install from a wheel
does, and before each command its input files are read once, untimed, so
that every command finds them in the page cache (see ``warm``). Each measurement is one real command in a fresh process (``aims profile``,
``aims drift``), timed from outside: wall time, CPU time of the process and
every process it waited for (Dask workers), and the load average before and
after, since a shared machine's other work shows in wall times. The process
tree is also sampled every quarter second: each process's resident set and
CPU time by role (the command itself, Dask worker processes, the Spark JVM
and Spark's Python workers), so the peak memory *per worker* is known and
the JVM, which the command never waits for, is counted.

The ``-running`` rows time the same commands against a Dask cluster that is
already running (``--scheduler ADDRESS``), as a team with Dask has one: the
benchmark starts a local cluster with exactly the settings and worker
environment aims gives its own (``aims.services.engines.on_dask.dask_client``),
outside the timing, and closes it after both commands. Its worker processes are
not the command's children, so they are sampled by process id, their CPU
seconds counted from the command's start; its scheduler runs in the
benchmark's own process and is not counted.

The ``-calls`` rows time the engine alone: against such a running cluster, one
fresh process imports aims, connects its client (untimed), then times
``profile_sources`` of the reference and ``drift_sources`` of both sides, the
calls the two commands make, each twice. What separates them from the
``-running`` rows is what every command pays once whatever the workers: the
interpreter's start, imports and exit. whylogs runs in its own
virtualenv (benchmarks/venv-whylogs, created on first use) on the same files,
merging one profile per file.

Results go to benchmarks/results/scale_<rows>.json (a run of some engines
replaces their rows and keeps the others) and a Markdown table is printed
for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path, PurePath
from typing import Any

HERE = Path(__file__).resolve().parent
ROWS_PER_FILE = 1_000_000
GENERATORS = [Path("/work/shared/bench/gen.py"), HERE / "gen_drift_data.py"]
AIMS = [sys.executable, "-m", "aims"]


def _generator() -> Any:
    for path in GENERATORS:
        if path.exists():
            spec = importlib.util.spec_from_file_location("drift_gen", path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            if hasattr(module, "make_frame"):
                return module
    raise SystemExit("no drift data generator with make_frame() found")


def compile_aims() -> None:
    """Write the bytecode of aims' modules, as installing aims from a wheel does.

    An editable install compiles a module when it is first imported, and not at
    all where ``PYTHONDONTWRITEBYTECODE`` is set; every command (and every Dask
    worker it starts) would then compile aims' modules anew, about 0.06 s that
    a user's installed aims does not pay.
    """
    import compileall

    import aims

    compileall.compile_dir(Path(aims.__file__).parent, quiet=1)


def make_data(rows: int, folder: Path) -> tuple[Path, Path]:
    """Reference and current folders of ``rows`` rows each, one file per million rows."""
    import numpy as np
    import pyarrow.parquet as pq

    gen = _generator()
    sides = {"reference": folder / f"ref_{rows}", "current": folder / f"cur_{rows}"}
    for k, (side, path) in enumerate(sides.items()):
        path.mkdir(parents=True, exist_ok=True)
        files = (rows + ROWS_PER_FILE - 1) // ROWS_PER_FILE
        for i in range(files):
            target = path / f"part-{i:04d}.parquet"
            if target.exists():
                continue
            n = min(ROWS_PER_FILE, rows - i * ROWS_PER_FILE)
            rng = np.random.default_rng([42, k, i])
            table = gen.make_frame(n, rng, side == "current")
            tmp = target.with_suffix(".tmp")
            pq.write_table(table, tmp, row_group_size=250_000)
            tmp.rename(target)
        print(f"{side}: {files} files in {path}", file=sys.stderr)
    return sides["reference"], sides["current"]


def _role(cmdline: list[str], root: bool) -> str:
    text = " ".join(cmdline)
    if root:
        return "command"
    if "resource_tracker" in text:
        return "other"
    if "spawn_main" in text or "multiprocessing-fork" in text:
        return "dask worker"
    if "pyspark.daemon" in text or "pyspark.worker" in text:
        return "spark python worker"
    if cmdline and PurePath(cmdline[0]).name == "java":
        return "spark jvm"
    if "spark-submit" in text or "spark-class" in text:
        return "spark launcher"
    return "other"


class TreeSampler:
    """Samples a process and its descendants: peak RSS and last CPU time of each, by role.

    ``workers`` are processes outside the tree (a running cluster's workers),
    sampled as Dask workers with their CPU time counted from the start.
    """

    def __init__(self, pid: int, every_s: float = 0.25, workers: tuple[int, ...] = ()) -> None:
        self.pid, self.every_s = pid, every_s
        self.seen: dict[int, dict[str, Any]] = {}
        self.workers = _worker_processes(workers)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._stop.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                return
            for proc in procs:
                try:
                    with proc.oneshot():
                        rss = proc.memory_info().rss
                        times = proc.cpu_times()
                        # asked every time: a launcher script becomes the JVM by exec
                        role = _role(proc.cmdline(), proc.pid == self.pid)
                except psutil.Error:
                    continue
                self._record(proc.pid, role, rss, times.user + times.system)
            self._sample_workers()
            self._stop.wait(self.every_s)

    def _record(self, pid: int, role: str, rss: int, cpu: float) -> None:
        rec = self.seen.setdefault(pid, {"peak_rss": 0, "cpu": 0.0})
        rec["role"] = role
        rec["peak_rss"] = max(rec["peak_rss"], rss)
        rec["cpu"] = cpu

    def _sample_workers(self) -> None:
        import psutil

        for proc, cpu_before in self.workers:
            try:
                with proc.oneshot():
                    rss = proc.memory_info().rss
                    times = proc.cpu_times()
            except psutil.Error:
                continue
            self._record(proc.pid, "dask worker", rss, times.user + times.system - cpu_before)

    def stop(self) -> dict[str, Any]:
        """Per role: processes seen, peak RSS of the largest one (MB), CPU seconds summed."""
        self._stop.set()
        self._thread.join()
        self._sample_workers()  # their CPU up to the command's end
        roles: dict[str, Any] = {}
        for rec in self.seen.values():
            r = roles.setdefault(rec["role"], {"processes": 0, "peak_rss_mb": 0, "cpu_s": 0.0})
            r["processes"] += 1
            r["peak_rss_mb"] = max(r["peak_rss_mb"], round(rec["peak_rss"] / 2**20))
            r["cpu_s"] = round(r["cpu_s"] + rec["cpu"], 2)
        return roles


def _worker_processes(pids: tuple[int, ...]) -> list[tuple[Any, float]]:
    """Each of ``pids`` as a psutil process, with the CPU seconds it has used so far."""
    import psutil

    out = []
    for pid in pids:
        proc = psutil.Process(pid)
        times = proc.cpu_times()
        out.append((proc, times.user + times.system))
    return out


def measure(
    cmd: list[str], env: dict[str, str] | None = None, workers: tuple[int, ...] = ()
) -> dict[str, Any]:
    """Run ``cmd``; wall and CPU seconds, peak RSS, load before and after, and per role.

    ``cpu_s`` comes from ``wait4``: the command's own and that of every process it
    waited for (Dask worker processes; not the Spark JVM, which the command leaves
    to exit on its own). ``roles`` comes from sampling the process tree
    (:class:`TreeSampler`): each role's largest resident set and its CPU seconds
    up to the last sample; ``peak_rss_mb`` is the largest of those. ``wait4``'s
    own maximum resident set is not used: Linux carries a forked child's
    resident set at the fork (this script's, hundreds of MB) across ``exec``, so
    it reported this script's size for every small command. ``workers`` are the
    process ids of a running cluster's workers, sampled with the tree.
    """
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env={**os.environ, **(env or {})})
        sampler = TreeSampler(proc.pid, workers=workers)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        roles = sampler.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        errors = err.read().strip()
        out.seek(0)
        output = out.read()
    result: dict[str, Any] = {
        "cmd": " ".join(str(c) for c in cmd[3:]),
        "ok": proc.returncode == 0,
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": max((r["peak_rss_mb"] for r in roles.values()), default=0),
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "stdout_tail": output.strip().splitlines()[-1:] if output.strip() else [],
        "roles": roles,
        "verdicts": _verdicts(output),
    }
    if proc.returncode != 0:
        result["error"] = errors.splitlines()[-1:] if errors else ["(no message)"]
    return result


ENGINES: dict[str, tuple[str, list[str]]] = {
    "local": ("local (1 process)", ["--engine", "local"]),
    "dask1": ("dask, 1 worker", ["--engine", "dask", "--workers", "1"]),
    "dask2": ("dask, 2 workers", ["--engine", "dask", "--workers", "2"]),
    "spark": ("spark local[2]", ["--engine", "spark", "--scheduler", "local[2]"]),
}
"""The engines ``--engines`` chooses from (whylogs is ``whylogs``, and :data:`RUNNING`)."""

RUNNING: dict[str, tuple[str, int]] = {
    "dask1-running": ("dask, 1 worker, cluster already running", 1),
    "dask2-running": ("dask, 2 workers, cluster already running", 2),
}
"""Dask against a cluster started before the timing: name and workers."""

CALLS: dict[str, tuple[str, int]] = {
    "dask1-calls": ("dask, 1 worker, engine calls on a running cluster", 1),
    "dask2-calls": ("dask, 2 workers, engine calls on a running cluster", 2),
}
"""The engine's calls timed inside one process on a running cluster: name and workers."""

ROW_ORDER = [name for name, _ in ENGINES.values()] + [name for name, _ in RUNNING.values()]

CALL_WORKER = r"""
import json, sys, time
from distributed import Client
from aims.services.engines.profiling import drift_sources, profile_sources
address, ref, cur = sys.argv[1:4]
with Client(address, set_as_default=False) as client:
    out = {"profile_s": [], "drift_s": []}
    for _ in range(2):
        t0 = time.perf_counter()
        profile_sources([ref], engine="dask", scheduler=client)
        t1 = time.perf_counter()
        report = drift_sources(ref, cur, engine="dask", scheduler=client)
        t2 = time.perf_counter()
        out["profile_s"].append(round(t1 - t0, 3))
        out["drift_s"].append(round(t2 - t1, 3))
    out["drifted"] = sorted(report.drifted_columns)
print(json.dumps(out))
"""


def _verdicts(output: str) -> dict[str, Any] | None:
    """Per-column verdicts of a drift command's JSON output (aims or the whylogs worker)."""
    try:
        doc = json.loads(output)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    if "whylogs" in doc:
        return doc["whylogs"]
    if "columns" not in doc:
        return None
    return {
        "dataset_drift": doc.get("dataset_drift"),
        "drifted": sorted(c["name"] for c in doc["columns"] if c.get("drifted")),
        "columns": len(doc["columns"]),
    }


def run_aims(ref: Path, cur: Path, out: Path, chosen: list[str]) -> list[dict[str, Any]]:
    rows = []
    for key in chosen:
        if key in RUNNING:
            rows.append(_on_running_cluster(ref, cur, out, *RUNNING[key]))
        else:
            name, flags = ENGINES[key]
            rows.append(_profile_and_drift(name, ref, cur, out, flags))
        print(json.dumps(rows[-1]), file=sys.stderr)
    return rows


def warm(*folders: Path) -> None:
    """Read every file of ``folders`` once, untimed, so that a command finds them in the page cache.

    This machine's kernel pages out memory left cold for a while (DAMON's
    ``pageout`` scheme, /sys/kernel/mm/damon), the page cache of the data
    included: a command run after a pause read part of its 5.5 GB from disk
    again (a one-worker profile took 24-25 s instead of 15), and which
    command came first decided the ratio between two.
    """
    for folder in folders:
        for path in sorted(folder.rglob("*.parquet")):
            with path.open("rb", buffering=0) as fh:
                while fh.read(16 * 2**20):
                    pass


def _profile_and_drift(
    name: str, ref: Path, cur: Path, out: Path, flags: list[str], workers: tuple[int, ...] = ()
) -> dict[str, Any]:
    warm(ref)
    prof = measure(
        [*AIMS, "profile", str(ref), "--out", str(out / "ref.profile"), *flags], workers=workers
    )
    warm(ref, cur)
    drift = measure(
        [*AIMS, "drift", str(ref), str(cur), "--format", "json", *flags], workers=workers
    )
    return {"engine": name, "profile": prof, "drift": drift}


def _on_running_cluster(ref: Path, cur: Path, out: Path, name: str, n: int) -> dict[str, Any]:
    """Both commands against a local cluster with aims' settings, started and closed untimed."""
    from aims.services.engines.on_dask import dask_client

    started = time.perf_counter()
    with dask_client(workers=n) as client:
        up_s = time.perf_counter() - started
        pids = tuple(client.run(os.getpid).values())
        address = client.scheduler.address
        flags = ["--engine", "dask", "--scheduler", address]
        row = _profile_and_drift(name, ref, cur, out, flags, workers=pids)
    return {**row, "cluster_start_s": round(up_s, 2)}


def rounds_on_running_clusters(ref: Path, cur: Path, out: Path, rounds: int) -> dict[str, Any]:
    """Both commands on a 1-worker and a 2-worker cluster, both running, ``rounds`` times.

    A single pair of runs differs from the next by as much as the 1.8x target's
    margin on a shared machine; so each round runs ``aims profile`` and ``aims
    drift`` on both clusters back to back (which one goes first alternates by
    round), and the ratio of 2 workers against 1 is taken per round, where both
    saw the same moment's machine. Round 1 is the first call a fresh cluster
    gets.
    """
    from aims.services.engines.on_dask import dask_client

    walls: dict[str, dict[int, list[float]]] = {"profile": {1: [], 2: []}, "drift": {1: [], 2: []}}
    with dask_client(workers=1) as one, dask_client(workers=2) as two:
        clusters = {
            n: (c.scheduler.address, tuple(c.run(os.getpid).values()))
            for n, c in ((1, one), (2, two))
        }
        for k in range(rounds):
            for n in (1, 2) if k % 2 == 0 else (2, 1):
                address, pids = clusters[n]
                flags = ["--engine", "dask", "--scheduler", address]
                row = _profile_and_drift(f"{n} worker(s)", ref, cur, out, flags, workers=pids)
                for kind in walls:
                    if not row[kind]["ok"]:
                        raise SystemExit(f"{kind} on {n} worker(s) failed: {row[kind]}")
                    walls[kind][n].append(row[kind]["wall_s"])
            print(json.dumps({"round": k + 1, **walls}), file=sys.stderr)
    ratios = {
        kind: [round(a / b, 3) for a, b in zip(w[1], w[2], strict=True)]
        for kind, w in walls.items()
    }
    return {"rounds": rounds, "wall_s": walls, "ratios": ratios}


def rounds_table(data: dict[str, Any]) -> str:
    """Each round's wall seconds on 1 and 2 workers, their ratio, and the median ratio."""
    r = data.get("rounds")
    if not r:
        return ""
    w, q = r["wall_s"], r["ratios"]
    lines = [
        "| round | profile, 1 worker s | 2 workers s | 2 against 1 | "
        "drift, 1 worker s | 2 workers s | 2 against 1 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for k in range(r["rounds"]):
        lines.append(
            f"| {k + 1} | {w['profile']['1'][k]} | {w['profile']['2'][k]} | "
            f"{q['profile'][k]:.2f}x | {w['drift']['1'][k]} | {w['drift']['2'][k]} | "
            f"{q['drift'][k]:.2f}x |"
        )
    med = {kind: statistics.median(v) for kind, v in q.items()}
    lines.append(
        f"| median | | | **{med['profile']:.2f}x** (min {min(q['profile']):.2f}) | | | "
        f"**{med['drift']:.2f}x** (min {min(q['drift']):.2f}) |"
    )
    return "\n".join(lines)


def _calls_on_running_cluster(ref: Path, cur: Path, name: str, n: int) -> dict[str, Any]:
    """The engine's calls, each twice, in one process against a running cluster of ``n`` workers."""
    from aims.services.engines.on_dask import dask_client

    with dask_client(workers=n) as client:
        pids = tuple(client.run(os.getpid).values())
        warm(ref, cur)
        m = measure(
            [sys.executable, "-c", CALL_WORKER, client.scheduler.address, str(ref), str(cur)],
            workers=pids,
        )
    timed = json.loads(m["stdout_tail"][0]) if m["ok"] and m["stdout_tail"] else {}
    return {"engine": name, "calls": m, **timed}


# the pins benchmarks/drift.py uses for the same peer
WHYLOGS_PINS = ["whylogs[viz]==1.6.4", "numpy<2", "pyarrow<22", "pandas<3"]
WHYLOGS_WORKER = r"""
import glob, json, sys, time
import pyarrow.parquet as pq
import whylogs as why
from whylogs.viz.drift.column_drift_algorithms import calculate_drift_scores
def view(folder):
    merged = None
    for path in sorted(glob.glob(folder + "/*.parquet")):
        v = why.log(pandas=pq.read_table(path).to_pandas()).view()
        merged = v if merged is None else merged.merge(v)
    return merged
t0 = time.perf_counter(); ref = view(sys.argv[1]); t1 = time.perf_counter()
cur = view(sys.argv[2]); scores = calculate_drift_scores(target_view=cur, reference_view=ref, with_thresholds=True)
category = {c: (s or {}).get("drift_category") for c, s in scores.items()}
print(json.dumps({"whylogs": {
    "profile_reference_s": t1 - t0, "total_s": time.perf_counter() - t0,
    "drifted": sorted(c for c, v in category.items() if v == "DRIFT"),
    "possible": sorted(c for c, v in category.items() if v == "POSSIBLE_DRIFT"),
    "no_verdict": sorted(c for c, v in category.items() if v is None),
    "columns": len(category)}}))
"""


def run_whylogs(ref: Path, cur: Path) -> dict[str, Any]:
    venv = HERE / "venv-whylogs"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *WHYLOGS_PINS],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            return {"ok": False, "error": done.stderr.strip().splitlines()[-1:]}
    warm(ref, cur)
    result = measure(
        [str(python), "-c", WHYLOGS_WORKER, str(ref), str(cur)],
        env={"WHYLOGS_NO_ANALYTICS": "True", "PYTHONWARNINGS": "ignore"},
    )
    return result


def _cpu(m: dict[str, Any]) -> float:
    """CPU seconds of every process: wait4's, or the sampled sum where more (the Spark JVM)."""
    sampled = sum(r["cpu_s"] for r in m.get("roles", {}).values())
    return round(max(m["cpu_s"], sampled), 1)


def _peak(runs: list[dict[str, Any]], *roles: str) -> str:
    """The largest resident set (MB) of a process of ``roles`` in any of ``runs``."""
    found = [m.get("roles", {}).get(r, {}).get("peak_rss_mb") or 0 for m in runs for r in roles]
    return str(max(found)) if any(found) else "-"


def table(data: dict[str, Any]) -> str:
    rows = data["rows"]
    lines = [
        "| engine | profile wall s | profile CPU s | drift wall s | drift CPU s | "
        "drift rows/s | drift rows per CPU s | peak RSS MB: command / per worker / JVM | "
        "drifted columns | load avg (before/after drift) |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for r in data["aims"]:
        p, d = r["profile"], r["drift"]
        rate = f"{2 * rows / d['wall_s']:,.0f}" if d["ok"] else "failed"
        per_cpu = f"{2 * rows / _cpu(d):,.0f}" if d["ok"] else "-"
        peaks = " / ".join(
            _peak([p, d], *roles)
            for roles in (("command",), ("dask worker", "spark python worker"), ("spark jvm",))
        )
        verdicts = d.get("verdicts") or {}
        drifted = len(verdicts.get("drifted", [])) if verdicts else "-"
        lines.append(
            f"| {r['engine']} | {p['wall_s']} | {_cpu(p)} | {d['wall_s']} | {_cpu(d)} | "
            f"{rate} | {per_cpu} | {peaks} | {drifted} | "
            f"{d['load_before']} / {d['load_after']} |"
        )
    w = data.get("whylogs")
    if w:
        ok = w.get("ok")
        rate = f"{2 * rows / w['wall_s']:,.0f}" if ok else "failed"
        per_cpu = f"{2 * rows / _cpu(w):,.0f}" if ok and "roles" in w else "-"
        verdicts = w.get("verdicts") or {}
        drifted = (
            f"{len(verdicts['drifted'])} (+{len(verdicts.get('possible', []))} possible)"
            if verdicts
            else "-"
        )
        lines.append(
            f"| whylogs (1 process) | - | - | {w.get('wall_s', '-')} | "
            f"{_cpu(w) if ok and 'roles' in w else w.get('cpu_s', '-')} | {rate} | {per_cpu} | "
            f"{w.get('peak_rss_mb', '-')} / - / - | {drifted} | "
            f"{w.get('load_before', '-')} / {w.get('load_after', '-')} |"
        )
    return "\n".join(lines)


def dask_split(data: dict[str, Any]) -> str:
    """CPU seconds of the command and of the Dask workers, and what they imply on 2 idle cores.

    On a shared machine wall times follow the load, CPU seconds much less. A
    worker is one core (one thread, see docs/scale.md), so on an idle machine
    with a core per worker its wall time is about its CPU time divided by the
    workers, and the command's own CPU (start, sample, scheduler, merge,
    verdict) is counted as if it ran alone, which it mostly does: wall with n
    workers ~ command + workers / n. "cores busy" is the workers' CPU seconds
    over the command's wall time: at most 1 per worker when nothing else runs.
    """
    rows = {r["engine"]: r for r in data["aims"]}
    lines = []
    pairs = [
        ("", ENGINES["dask1"][0], ENGINES["dask2"][0]),
        (", cluster already running", RUNNING["dask1-running"][0], RUNNING["dask2-running"][0]),
    ]
    for label, name1, name2 in pairs:
        one, two = rows.get(name1), rows.get(name2)
        for kind in ("profile", "drift"):
            est: dict[int, float] = {}
            wall: dict[int, float] = {}
            for n, r in ((1, one), (2, two)):
                if not r or not r[kind].get("ok") or "roles" not in r[kind]:
                    continue
                roles = r[kind]["roles"]
                command = roles.get("command", {}).get("cpu_s", 0.0)
                workers = roles.get("dask worker", {}).get("cpu_s", 0.0)
                est[n] = command + workers / n
                wall[n] = r[kind]["wall_s"]
                busy = workers / r[kind]["wall_s"] / n if r[kind]["wall_s"] else 0.0
                lines.append(
                    f"dask {n} worker(s){label}, {kind}: command {command:.2f} CPU s, workers "
                    f"{workers:.2f} CPU s, cores busy per worker {busy:.2f}"
                )
            if len(est) == 2:
                lines.append(
                    f"{kind}{label}: 2 workers against 1, wall {wall[1] / wall[2]:.2f}x; "
                    f"on 2 idle cores, estimated from CPU s: {est[1] / est[2]:.2f}x"
                )
    return "\n".join(lines)


def calls_table(data: dict[str, Any]) -> str:
    """The engine's calls on a running cluster: each run's seconds, and 2 workers against 1."""
    calls = {r["engine"]: r for r in data.get("calls", [])}
    if not calls:
        return ""
    lines = [
        "| engine | profile s (two calls) | drift s (two calls) | drifted columns |",
        "|---|---|---|---|",
    ]
    for name, _ in CALLS.values():
        r = calls.get(name)
        if r and r.get("profile_s"):
            lines.append(
                f"| {name} | {' / '.join(map(str, r['profile_s']))} | "
                f"{' / '.join(map(str, r['drift_s']))} | {len(r.get('drifted', []))} |"
            )
    one, two = (calls.get(name) for name, _ in CALLS.values())
    if one and two and one.get("profile_s") and two.get("profile_s"):
        for kind in ("profile_s", "drift_s"):
            lines.append(
                f"{kind[:-2]}, 2 workers against 1 (best of two calls each): "
                f"{min(one[kind]) / min(two[kind]):.2f}x"
            )
    return "\n".join(lines)


def compare_verdicts(data: dict[str, Any]) -> str:
    """Columns on which aims (each engine) and whylogs give different drift verdicts."""
    w = (data.get("whylogs") or {}).get("verdicts")
    if not w:
        return "whylogs gave no verdicts"
    theirs = set(w["drifted"])
    lines = []
    for r in data["aims"]:
        ours = set((r["drift"].get("verdicts") or {}).get("drifted", []))
        lines.append(
            f"{r['engine']}: {len(ours)} drifted; whylogs {len(theirs)} "
            f"(+{len(w.get('possible', []))} possible); aims only {sorted(ours - theirs)}, "
            f"whylogs only {sorted(theirs - ours)}"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=30_000_000, help="rows per side")
    ap.add_argument("--quick", action="store_true", help="2 million rows per side")
    ap.add_argument("--data", type=Path, default=HERE / "data" / "scale")
    every = [*ENGINES, *RUNNING, *CALLS, "whylogs"]
    ap.add_argument(
        "--engines",
        default=",".join(every),
        help=f"comma-separated subset of {', '.join(every)} (default: all); "
        "the results file keeps the rows of engines not run",
    )
    ap.add_argument(
        "--rounds",
        type=int,
        default=0,
        help="instead of the engines: both commands on a running 1-worker and 2-worker "
        "cluster, alternately, this many rounds; each round's 2-against-1 ratio and the median",
    )
    ap.add_argument("--no-whylogs", action="store_true", help="skip the whylogs run")
    ap.add_argument("--only-whylogs", action="store_true", help="rerun whylogs alone")
    args = ap.parse_args()
    chosen = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(chosen) - set(every)
    if unknown:
        ap.error(f"unknown engine(s) {sorted(unknown)}; choose from {every}")
    if args.no_whylogs:
        chosen = [e for e in chosen if e != "whylogs"]
    if args.only_whylogs:
        chosen = ["whylogs"]
    rows = 2_000_000 if args.quick else args.rows
    ref, cur = make_data(rows, args.data)
    compile_aims()
    out = args.data / "profiles"
    out.mkdir(parents=True, exist_ok=True)
    results = HERE / "results"
    saved = results / f"scale_{rows}.json"
    previous = json.loads(saved.read_text()) if saved.exists() else {}
    data: dict[str, Any] = {
        "rows": rows,
        "columns": 27,
        "cores": os.cpu_count(),
        "machine": platform.platform(),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    if args.rounds:
        # JSON keys are strings: the walls are stored under "1" and "2"
        found = json.loads(json.dumps(rounds_on_running_clusters(ref, cur, out, args.rounds)))
        previous["rounds"] = {**found, "when": data["when"]}
        results.mkdir(exist_ok=True)
        saved.write_text(json.dumps(previous, indent=2) + "\n")
        print(rounds_table(previous))
        return
    measured = run_aims(ref, cur, out, [e for e in chosen if e in ENGINES or e in RUNNING])
    # rows of engines not run this time are kept, each with the time it was measured
    kept = {r["engine"]: r for r in previous.get("aims", [])}
    for r in measured:
        kept[r["engine"]] = {**r, "when": data["when"]}
    data["aims"] = [kept[n] for n in ROW_ORDER if n in kept]
    calls = {r["engine"]: r for r in previous.get("calls", [])}
    for key in (e for e in chosen if e in CALLS):
        row = _calls_on_running_cluster(ref, cur, *CALLS[key])
        print(json.dumps(row), file=sys.stderr)
        calls[row["engine"]] = {**row, "when": data["when"]}
    data["calls"] = [calls[n] for n, _ in CALLS.values() if n in calls]
    if "whylogs" in chosen:
        data["whylogs"] = {**run_whylogs(ref, cur), "when": data["when"]}
    elif "whylogs" in previous:
        data["whylogs"] = previous["whylogs"]
    if "rounds" in previous:
        data["rounds"] = previous["rounds"]
    results.mkdir(exist_ok=True)
    saved.write_text(json.dumps(data, indent=2) + "\n")
    print(table(data))
    print(dask_split(data))
    print(calls_table(data))
    print(rounds_table(data))
    print(compare_verdicts(data))


if __name__ == "__main__":
    main()
