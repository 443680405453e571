"""The processes ``deploy/compose.yaml`` starts, run natively on the suite's PostgreSQL and S3.

No Docker engine runs here. What the aims containers would run is run
instead, unchanged but for addresses: the image's entrypoint script
(``deploy/compose/entrypoint.sh``) with each service's ``command``, in the
environment the compose file gives the aims services. The rewrites are the
container paths (``/workspace``, ``/keys``, ``/token``) to temporary folders,
the service names (``postgres``, ``minio``, ``aims:8000``) to the suite's
PostgreSQL database, moto's S3 server and a free loopback port, and the
bucket ``aims`` to a new bucket. Each rewrite must find its text, so a change
to the compose file or the script that these tests no longer cover fails here.

Not covered: the images themselves (building the Dockerfile, MinIO's ``mc``
bucket creation, Prometheus and Grafana), which need a container engine.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fsspec
import httpx
import pytest

from tests.deploy.compose import entrypoint, load, mounts
from tests.plugins.postgres import PostgresServer
from tests.plugins.s3 import S3Server
from tests.server.conftest import free_port

#: Seconds a process has to come up (the server imports the app and creates the schema).
START_S = 120.0


@dataclass
class Deployment:
    """The rewritten entrypoint, the environment, the folders standing for volumes, the server."""

    script: Path
    env: dict[str, str]
    workspace: Path
    keys: Path
    token: Path
    url: str
    bucket: str
    compose: dict[str, Any]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, name: str) -> tuple[subprocess.Popen[bytes], Path]:
        """Run compose service ``name``'s command through the entrypoint; its output file."""
        [command] = entrypoint(self.compose, name)[1]
        out = self.script.parent / f"{name}.out"
        with out.open("wb") as sink:
            proc = subprocess.Popen(
                ["sh", str(self.script), command],
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, stopped whole
            )
        self.processes.append(proc)
        return proc, out

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)


def rewrite(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        assert old in text, f"{old!r} is no longer in the compose file's script; update this test"
        text = text.replace(old, new)
    return text


def wait_for(
    what: str, check: Any, proc: subprocess.Popen[bytes], output: Path, deadline_s: float = START_S
) -> Any:
    """Poll ``check()`` until it returns something true, while ``proc`` lives."""
    deadline = time.monotonic() + deadline_s
    while True:
        found = check()
        if found:
            return found
        if proc.poll() is not None:
            pytest.fail(f"{what}: the process exited ({proc.returncode}):\n{output.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {deadline_s} s:\n{output.read_text()}")
        time.sleep(0.1)


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def deployment(
    postgres_server: PostgresServer, s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    compose = load({})
    base = tmp_path_factory.mktemp("compose")
    volumes = {name: base / name for name in ("workspace", "keys", "token", "home")}
    for folder in volumes.values():
        folder.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    database = f"compose_{uuid.uuid4().hex[:12]}"
    postgres_server.execute(f'CREATE DATABASE "{database}"')
    bucket = f"aims-compose-{uuid.uuid4().hex[:12]}"
    s3_server.create_bucket(bucket)

    script_path, _ = entrypoint(compose, "aims")
    script = base / "aims-entrypoint"
    script.write_text(
        rewrite(
            script_path.read_text(),
            {
                "--host 0.0.0.0 --port 8000": f"--host 127.0.0.1 --port {port}",
                "http://aims:8000": url,
                "/keys/": f"{volumes['keys']}/",
                "/token/": f"{volumes['token']}/",
            },
        )
    )
    given = compose["services"]["aims"]["environment"]
    assert mounts(compose["services"]["aims"])[given["AIMS_WORKSPACE"]] == "workspace"
    env = {
        **given,
        "AIMS_WORKSPACE": str(volumes["workspace"]),
        "AIMS_DATABASE_URL": postgres_server.url(database),
        "AWS_ENDPOINT_URL": s3_server.endpoint,
    }
    for name in ("AIMS_ARTIFACT_URL", "AIMS_PREDICTION_LOG_URL", "AIMS_TRACE_LOG_URL"):
        env[name] = rewrite(given[name], {"s3://aims/": f"s3://{bucket}/"})
    env.update(
        # the image's PATH has aims and python; here the suite's virtualenv has them
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        HOME=str(volumes["home"]),
        LANG="C.UTF-8",
        # nothing from this machine's AWS configuration
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    dep = Deployment(
        script,
        env,
        volumes["workspace"],
        volumes["keys"],
        volumes["token"],
        url,
        bucket,
        compose,
    )
    try:
        proc, out = dep.start("aims")
        wait_for("aims serve /readyz", lambda: ready(url), proc, out)
        yield dep
    finally:
        for proc in dep.processes:
            dep.stop(proc)
        postgres_server.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def token_for(dep: Deployment, key_file: str) -> str:
    key = (dep.keys / key_file).read_text().strip()
    answer = httpx.post(f"{dep.url}/v1/auth/token", json={"api_key": key}, timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


@pytest.mark.slow
def test_the_server_starts_ready_with_its_keys_and_keeps_everything_on_postgres_and_s3(
    deployment: Deployment, tmp_path: Path
) -> None:
    dep = deployment
    # the compose healthcheck, as Docker runs it in the container
    health = dep.compose["services"]["aims"]["healthcheck"]["test"]
    assert health[0] == "CMD"
    port = dep.url.rsplit(":", 1)[1]
    checked = subprocess.run(
        [part.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for part in health[1:]],
        env=dep.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
    for key in ("admin.key", "metrics.key"):
        assert stat.S_IMODE((dep.keys / key).stat().st_mode) == 0o600, key
    assert (dep.workspace / "aims.yaml").is_file()

    admin = {"Authorization": f"Bearer {token_for(dep, 'admin.key')}"}
    data = tmp_path / "rows.csv"
    data.write_text("x,colour\n1.5,red\n2.5,blue\n4.0,red\n")
    with data.open("rb") as fh:
        answer = httpx.post(
            f"{dep.url}/v1/datasets",
            data={"name": "compose-check"},
            files={"file": ("rows.csv", fh)},
            headers=admin,
            timeout=60,
        )
    assert answer.status_code == 201, answer.text
    assert answer.json()["row_count"] == 3
    # the artifact went to the S3 bucket and the metadata to PostgreSQL, nothing local
    s3 = fsspec.filesystem(
        "s3",
        endpoint_url=dep.env["AWS_ENDPOINT_URL"],
        key="k",
        secret="s",
        skip_instance_cache=True,
    )
    assert s3.find(f"{dep.bucket}/artifacts")
    assert not (dep.workspace / ".aims" / "aims.db").exists()
    listed = httpx.get(f"{dep.url}/v1/datasets", headers=admin, timeout=30).json()
    assert [d["name"] for d in listed] == ["compose-check"]


@pytest.mark.slow
def test_the_monitor_service_runs_its_passes_on_the_same_stores(deployment: Deployment) -> None:
    dep = deployment
    proc, out = dep.start("monitor")
    try:
        text = wait_for(
            "the monitor's first pass",
            lambda: "window result(s) computed" in out.read_text() and out.read_text(),
            proc,
            out,
        )
        assert proc.poll() is None, text  # it keeps running, one pass every interval
        assert "monitoring; press Ctrl-C to stop" in text
        assert "error" not in text.lower(), text
        assert not (dep.workspace / ".aims" / "aims.db").exists()
    finally:
        dep.stop(proc)


@pytest.mark.slow
def test_prometheus_can_scrape_metrics_with_the_token_the_token_service_writes(
    deployment: Deployment,
) -> None:
    dep = deployment
    proc, out = dep.start("metrics-token")
    token_file = dep.token / "aims-token"
    try:
        wait_for("the metrics token", token_file.exists, proc, out)
        assert proc.poll() is None  # it stays, to refresh the token
    finally:
        dep.stop(proc)
    # what Prometheus sends: the file's content as a bearer token, to metrics_path
    token = token_file.read_text().strip()
    scraped = httpx.get(
        f"{dep.url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert scraped.status_code == 200, scraped.text
    assert "aims_" in scraped.text
    assert httpx.get(f"{dep.url}/metrics", timeout=30).status_code == 401
