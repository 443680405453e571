#!/usr/bin/env python
"""Dashboard benchmark: every page at a real team's size, server time and time to a chart.

One command reproduces the figures in ``docs/benchmarks.md`` (## Dashboard)::

    .venv/bin/python benchmarks/dashboard.py

It builds (once; ``--rebuild`` to start again) the workspace of
``benchmarks/dashboard_workspace.py`` in ``benchmarks/data/dashboard/``: 500
models, one of them with 300 features and 200 monitor windows, and 1,000,000
audit events in a valid hash chain. Then it starts ``aims serve`` on it in its
own process, signs in with a viewer key of every project, and measures:

* **server time per page**: the time from sending the request to the last byte
  of the answer, over loopback, ``--loads`` times per page (default 50) after
  one warm-up load, as median and 95th percentile, and the server process's
  CPU time per load (from ``/proc``: on a shared machine wall time includes
  waiting for a core, CPU time does not);
* **first load**: the warm-up itself (caches empty: the drift cache files, the
  audit chain's first check, the evidence report);
* **browser time to a rendered chart**: headless Chromium (Debian's, through
  Playwright) from navigation start to the heatmap of 300 features × 200
  windows painted, and to the inventory table shown, ``--browser-loads`` times.

``--quick`` runs on a smaller workspace (60 models, 300 features, 40 windows,
20,000 events) to check the script still runs. Results go to
``benchmarks/results/dashboard.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from benchmarks.dashboard_workspace import WIDE, build  # noqa: E402

RESULTS = HERE / "results"
FULL = {"models": 500, "features": 300, "windows": 200, "events": 1_000_000}
QUICK = {"models": 60, "features": 300, "windows": 40, "events": 20_000}


def pages(built: dict[str, Any]) -> dict[str, str]:
    """The pages measured: name -> path."""
    wide = WIDE
    other = built["other"]
    return {
        "inventory": "/ui/",
        "inventory, search": "/ui/?q=fraud",
        "inventory, filtered and sorted": "/ui/?health=red&tier=high&sort=incidents&order=desc",
        "inventory, last page": "/ui/?page=10",
        "model": f"/ui/models/{wide}",
        "monitoring (300 features × 200 windows)": f"/ui/models/{wide}/monitoring",
        "monitoring, sorted by importance": f"/ui/models/{wide}/monitoring?sort=importance",
        "feature": f"/ui/models/{wide}/features/f001",
        "audit log": "/ui/audit",
        "audit log, by actor": "/ui/audit?actor=monitor",
        "audit log, by action prefix": "/ui/audit?action=model.*",
        "audit log, by model": f"/ui/audit?model={other}",
        "audit log, time range": "/ui/audit?since=2026-06-01&until=2026-06-30",
        "audit log, oldest page": "/ui/audit?after=0",
        "incidents": "/ui/incidents",
        "incidents, open critical": "/ui/incidents?status=active&severity=critical",
        "compliance (iso42001)": "/ui/compliance",
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    port = free_port()
    aims = Path(sys.executable).parent / "aims"
    proc = subprocess.Popen(
        [str(aims), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("aims serve did not answer /readyz within a minute")


def viewer_key(root: Path) -> str:
    from aims.services import keys
    from aims.workspace import Workspace

    ws = Workspace.open(root)
    try:
        _, key = keys.create_key(ws, project="*", role="viewer", actor="bench@example.org")
    finally:
        ws.close()
    return key


def signed_in(url: str, key: str) -> Any:
    import re

    import httpx

    client = httpx.Client(base_url=url, timeout=600)
    form = client.get("/ui/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    if csrf is None:
        raise SystemExit("the login page has no CSRF token")
    r = client.post("/ui/login", data={"api_key": key, "csrf": csrf.group(1)})
    if r.status_code != 303:
        raise SystemExit(f"sign-in refused: {r.status_code}")
    return client


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, every thread) the process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_server(
    client: Any, paths: dict[str, str], loads: int, compliance_wait: float, pid: int
) -> dict[str, Any]:
    import httpx

    out: dict[str, Any] = {}
    for name, path in paths.items():
        t0 = time.perf_counter()
        try:
            first = client.get(path)
        except httpx.HTTPError as exc:
            out[name] = {"path": path, "error": f"{type(exc).__name__}: {exc}"}
            print(f"  {name:45s} failed: {out[name]['error']}", flush=True)
            continue
        cold = time.perf_counter() - t0
        if first.status_code != 200:
            raise SystemExit(f"{path}: {first.status_code} {first.text[:300]}")
        building = False
        if name.startswith("compliance"):
            # The report is built in the background: wait for it (a while), then
            # measure the page people get, with the report or saying it is building.
            deadline = time.monotonic() + compliance_wait
            while 'id="building"' in client.get(path).text and time.monotonic() < deadline:
                time.sleep(2)
            building = 'id="building"' in client.get(path).text
        times = []
        refused = 0
        # The server's own CPU time over the loads: on a shared machine, wall time
        # includes waiting for a core, CPU time does not.
        cpu0 = cpu_seconds(pid)
        for _ in range(loads):
            t0 = time.perf_counter()
            r = client.get(path)
            times.append(time.perf_counter() - t0)
            refused += r.status_code != 200  # e.g. the store locked by a long report
        cpu = (cpu_seconds(pid) - cpu0) / loads
        times.sort()
        out[name] = {
            "path": path,
            "first_ms": round(cold * 1000, 1),
            "median_ms": round(statistics.median(times) * 1000, 1),
            "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)] * 1000, 1),
            "server_cpu_ms": round(cpu * 1000, 1),
            "bytes": len(r.content),
            **({"report_still_building": True} if building else {}),
            **({"not_200": refused} if refused else {}),
        }
        print(
            f"  {name:45s} median {out[name]['median_ms']:7.1f} ms  p95 {out[name]['p95_ms']:7.1f} ms"
            f"  cpu {out[name]['server_cpu_ms']:6.1f} ms  first {out[name]['first_ms']:8.1f} ms",
            flush=True,
        )
    return out


def measure_browser(url: str, key: str, loads: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    out: dict[str, Any] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/ui/login")
        page.fill("input[name=api_key]", key)
        page.click("input[type=submit]")
        page.wait_for_url(f"{url}/ui/")
        now = "performance.now()"
        # The heatmap notes the time of the frame that drew it; the others are timed when
        # the test for them first passes.
        painted = "document.querySelector('#heatmap').dataset.paintedAt"
        targets = {
            "monitoring: heatmap painted": (
                f"{url}/ui/models/{WIDE}/monitoring",
                painted,
                f"+{painted}",
            ),
            "monitoring: whole page loaded": (
                f"{url}/ui/models/{WIDE}/monitoring",
                "document.readyState === 'complete' && "
                "document.querySelector('#top-drifted canvas')",
                now,
            ),
            "inventory: table shown": (
                f"{url}/ui/",
                "document.querySelector('#inventory tr[data-model]')",
                now,
            ),
            "feature: history chart drawn": (
                f"{url}/ui/models/{WIDE}/features/f001",
                "document.querySelector('#feature-score canvas')",
                now,
            ),
        }
        for name, (target, ready, when) in targets.items():
            times = []
            for _ in range(loads + 1):
                page.goto(target)
                page.wait_for_function(f"!!({ready})", timeout=60_000)
                times.append(page.evaluate(when) / 1000)
            times = sorted(times[1:])
            out[name] = {
                "median_ms": round(statistics.median(times) * 1000, 1),
                "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)] * 1000, 1),
            }
            print(
                f"  {name:45s} median {out[name]['median_ms']:7.1f} ms  p95 {out[name]['p95_ms']:7.1f} ms",
                flush=True,
            )
        out["console_errors"] = errors
        browser.close()
    return out


SCREENSHOTS = ROOT / "docs" / "screenshots"


def screenshots(url: str, key: str) -> list[Path]:
    """The inventory and the heatmap at this size, for the README."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    out = [SCREENSHOTS / "inventory-at-size.png", SCREENSHOTS / "heatmap-at-size.png"]
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
        page.goto(f"{url}/ui/login")
        page.fill("input[name=api_key]", key)
        page.click("input[type=submit]")
        page.wait_for_url(f"{url}/ui/")
        page.screenshot(path=str(out[0]))
        page.goto(f"{url}/ui/models/{WIDE}/monitoring")
        page.wait_for_function("document.querySelector('#heatmap').dataset.painted", timeout=60_000)
        top = page.locator("h1").bounding_box()
        bottom = page.locator("#top-drifted").bounding_box()
        assert top is not None and bottom is not None
        height = bottom["y"] + bottom["height"] - top["y"] + 16
        page.set_viewport_size({"width": 1280, "height": int(top["y"] + height + 20)})
        page.screenshot(
            path=str(out[1]), clip={"x": 0, "y": 0, "width": 1280, "height": top["y"] + height}
        )
        browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="a small workspace, to check the script runs"
    )
    parser.add_argument("--rebuild", action="store_true", help="build the workspace again")
    parser.add_argument("--loads", type=int, default=50, help="loads per page (default 50)")
    parser.add_argument(
        "--browser-loads", type=int, default=20, help="browser loads per chart (default 20)"
    )
    parser.add_argument("--no-browser", action="store_true", help="server times only")
    parser.add_argument(
        "--screenshots",
        action="store_true",
        help="only save the README's screenshots of the inventory and the heatmap at this size",
    )
    parser.add_argument(
        "--compliance-wait",
        type=float,
        default=0,
        help="seconds to wait for the evidence report to be built before measuring its page "
        "(default 0: measure the page while the report is built behind it)",
    )
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    folder = HERE / "data" / ("dashboard-quick" if args.quick else "dashboard")
    root = folder / "ws"
    if args.rebuild and folder.exists():
        shutil.rmtree(folder)
    if not root.exists():
        folder.mkdir(parents=True, exist_ok=True)
        print(f"building the workspace in {root}: {sizes}", flush=True)
        t0 = time.perf_counter()
        built = build(root, **sizes)
        print(f"  built in {time.perf_counter() - t0:.0f} s", flush=True)
        names = built.models
    else:
        from aims.workspace import Workspace

        ws = Workspace.open(root)
        from aims.services.registry import list_models

        names = [m["name"] for m in list_models(ws)]
        ws.close()
    key = viewer_key(root)
    proc, url = serve(root)
    try:
        if args.screenshots:
            for path in screenshots(url, key):
                print(f"wrote {path}")
            return
        client = signed_in(url, key)
        other = next(n for n in names if n != WIDE)
        print("server time per page (loopback, one server process):", flush=True)
        paths = pages({"other": other})
        # The evidence page starts building its report behind it: measured last,
        # so that build does not share the machine with the other measurements.
        last = {k: paths.pop(k) for k in [k for k in paths if k.startswith("compliance")]}
        load_before = os.getloadavg()
        server = measure_server(client, paths, args.loads, args.compliance_wait, proc.pid)
        browser = {} if args.no_browser else measure_browser(url, key, args.browser_loads)
        server |= measure_server(client, last, args.loads, args.compliance_wait, proc.pid)
        load_after = os.getloadavg()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    result = {
        "sizes": sizes,
        "loads": args.loads,
        "browser_loads": args.browser_loads,
        "server": server,
        "browser": browser,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1m": [round(load_before[0], 1), round(load_after[0], 1)],
        },
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / ("dashboard-quick.json" if args.quick else "dashboard.json")
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
