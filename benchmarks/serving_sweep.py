#!/usr/bin/env python
"""Batching settings swept: which ``batch_max_size`` and ``batch_max_wait_ms`` serve best.

    .venv/bin/python benchmarks/serving_sweep.py        # --sizes 8,16,32,64 --waits 0.5,1,2,5

One ``aims serve`` (all checks on, pinned to CPU 0) serves the benchmark's
model (``benchmarks/serving.py``) under one name per setting, each with its own
``server.batching`` override; the load generator (pinned to CPU 1) loads one
name at a time in alternating slices, at each ``--concurrency``. Every setting
thus sees the same server, process and background load. Reported per setting
and concurrency: throughput, p50, p99, server CPU per request and the mean rows
per model call. Results go to ``benchmarks/results/serving_sweep.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import serving  # noqa: E402  (the shared load generator and aims workspace)


def _name(size: int, wait: float) -> str:
    return f"cancer_s{size}_w{str(wait).replace('.', 'p')}"


def _workspace(folder: Path, settings: list[tuple[int, float]]) -> dict[str, Any]:
    """The benchmark's workspace, with the model served once more under each setting's name."""
    import yaml

    from aims.services import lifecycle, registry
    from aims.workspace import Workspace

    setup = serving._workspace(folder, 1)
    root = setup["root"]
    config = yaml.safe_load((root / "aims.yaml").read_text())
    config["server"]["batching"] = {
        _name(size, wait): {"max_size": size, "max_wait_ms": wait} for size, wait in settings
    }
    (root / "aims.yaml").write_text(yaml.safe_dump(config))
    ws = Workspace.open(root)
    owners = {"deployment": "d@x.org", "monitoring": "m@x.org"}
    for size, wait in settings:
        name = _name(size, wait)
        registry.register_model(
            ws, setup["model"], name, actor="bench", datasets=["cancer@1"], owners=owners
        )
        lifecycle.promote(ws, f"{name}@1", "production", actor="bench")
    ws.close()
    return setup


def _rows_per_call(url: str, token: str) -> dict[str, float]:
    import httpx

    text = httpx.get(url + "/metrics", headers={"Authorization": f"Bearer {token}"}).text
    sums: dict[str, list[float]] = {}
    for line in text.splitlines():
        if line.startswith(("aims_batch_rows_sum", "aims_batch_rows_count")):
            model = line.split('model="', 1)[1].split('"', 1)[0]
            sums.setdefault(model, [0.0, 0.0])[line.startswith("aims_batch_rows_count")] += float(
                line.rsplit(" ", 1)[1]
            )
    return {m: s / c for m, (s, c) in sums.items() if c}


def main(args: argparse.Namespace) -> None:
    import httpx

    settings = [(int(s), float(w)) for s in args.sizes.split(",") for w in args.waits.split(",")]
    results: dict[str, Any] = {"settings": {}, "load_average_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        setup = _workspace(Path(tmp), settings)
        proc, url = serving._start("aims", str(setup["root"]))
        try:
            serving._wait_ready(url, "/readyz", proc)
            token = httpx.post(url + "/v1/auth/token", json={"api_key": setup["api_key"]}).json()[
                "access_token"
            ]
            targets = [
                {
                    "name": _name(size, wait),
                    "url": url,
                    "path": f"/v1/models/{_name(size, wait)}/predict",
                    "token": token,
                    "pid": proc.pid,
                    "body": str(setup["body"]),
                }
                for size, wait in settings
            ]
            spec = Path(tmp) / "targets.json"
            spec.write_text(json.dumps(targets))
            for concurrency in [int(c) for c in args.concurrency.split(",")]:
                out = Path(tmp) / f"slices_{concurrency}.json"
                before = _rows_per_call(url, token)
                subprocess.run(
                    [
                        sys.executable,
                        # Its load generator reconnects before each slice (idle keep-alive
                        # connections are closed by the server while the other names run).
                        str(HERE / "serving_peers.py"),
                        "--load",
                        "--targets",
                        str(spec),
                        "--out",
                        str(out),
                        "--concurrency",
                        str(concurrency),
                        "--warmup",
                        str(args.warmup),
                        "--slices",
                        str(args.slices),
                        "--slice",
                        str(args.slice),
                    ],
                    check=True,
                )
                rows = _rows_per_call(url, token)
                for name, own in json.loads(out.read_text()).items():
                    figures = serving._figures(own)
                    # Cumulative means; the first concurrency's calls are a small share later.
                    figures["rows_per_call"] = rows.get(name, before.get(name, 0.0))
                    results["settings"].setdefault(name, {})[str(concurrency)] = figures
        finally:
            proc.terminate()
            proc.wait(60)
    results["load_average_after"] = os.getloadavg()
    out = HERE / "results" / "serving_sweep.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(table(results, settings))


def table(results: dict[str, Any], settings: list[tuple[int, float]]) -> str:
    """The results as a Markdown table: one row per setting, the concurrencies side by side."""
    lines = [
        "| max size | max wait ms | concurrency | requests/s | p50 ms | p99 ms "
        "| CPU ms/request | rows/call |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size, wait in settings:
        for c, f in results["settings"][_name(size, wait)].items():
            lines.append(
                f"| {size} | {wait:g} | {c} | {f['throughput_rps']:.0f} | {f['p50_ms']:.2f} | "
                f"{f['p99_ms']:.2f} | {f['server_cpu_ms_per_request']:.2f} | "
                f"{f['rows_per_call']:.1f} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="8,16,32,64")
    parser.add_argument("--waits", default="0.5,1,2,5")
    parser.add_argument("--concurrency", default="8,32")
    parser.add_argument("--slices", type=int, default=4, help="Measured slices per setting.")
    parser.add_argument("--slice", type=float, default=0.5, help="Seconds per slice.")
    parser.add_argument("--warmup", type=float, default=1.0)
    main(parser.parse_args())
