"""A real S3-compatible server for the test run: moto's server mode on a loopback port.

The first test that needs it starts ``moto``'s threaded server in a child
process of its own (one per pytest process, so xdist workers do not share
buckets), on a port the operating system picks. The child watches the
process that started it and stops when that process is gone, so a killed
pytest leaves nothing behind; the session fixture stops it (process group)
at the end of the run.

Each test that asks for ``s3_bucket`` gets a new, empty bucket and the
environment that points fsspec, s3fs and boto at the server (``AWS_*``
credentials that moto accepts and ``AWS_ENDPOINT_URL``); child processes the
test starts inherit it. Without moto installed, the fixture fails with the
reason: tests are never skipped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

HOST = "127.0.0.1"
#: Seconds to wait for the server's first line (its port).
START_TIMEOUT_S = 60.0

_SERVER = """
import os, sys, time
from moto.server import ThreadedMotoServer
owner = int(sys.argv[1])
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server._server.server_port, flush=True)
while True:
    try:
        os.kill(owner, 0)
    except ProcessLookupError:
        break
    time.sleep(1.0)
server.stop()
"""


@dataclass(frozen=True)
class S3Server:
    """The running server.

    Examples
    --------
    >>> S3Server("http://127.0.0.1:5000").env()["AWS_ENDPOINT_URL"]
    'http://127.0.0.1:5000'
    """

    endpoint: str

    def env(self) -> dict[str, str]:
        """Environment variables that send S3 clients (s3fs, boto3) to this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            # no instance metadata lookups, no config from the developer's home
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }

    def create_bucket(self, name: str) -> None:
        """Create bucket ``name``."""
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        client.create_bucket(Bucket=name)


def start_server() -> tuple[subprocess.Popen[str], S3Server]:
    """Start the server in a new process group; return the process and its address."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(os.getpid())],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    try:
        # the first line is the port; the read returns early if the child dies
        line = _read_line(proc, START_TIMEOUT_S)
    except BaseException:
        stop_server(proc)
        raise
    if not line.strip().isdigit():
        err = proc.stderr.read() if proc.stderr and proc.poll() is not None else ""
        stop_server(proc)
        raise RuntimeError(f"moto's S3 server did not start: {line.strip()} {err[-600:]}")
    return proc, S3Server(f"http://{HOST}:{int(line)}")


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    import selectors

    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise RuntimeError(f"moto's S3 server did not start within {timeout} s")
    return proc.stdout.readline()


def stop_server(proc: subprocess.Popen[str]) -> None:
    """Stop the server's process group and wait for it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """This process's S3-compatible server, started on first use."""
    try:
        proc, server = start_server()
    except Exception as exc:
        pytest.fail(
            f"no S3-compatible server for this test: {exc}\n"
            "The test setup runs moto's server mode (pip install 'moto[server]', part of the "
            "dev extra) on a loopback port.",
            pytrace=False,
        )
    yield server
    stop_server(proc)


@pytest.fixture
def s3_bucket(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> str:
    """``s3://<new bucket>``, with the environment pointing S3 clients at the test server."""
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    name = f"aims-test-{uuid.uuid4().hex[:12]}"
    s3_server.create_bucket(name)
    # s3fs caches file systems by their options; a fresh one sees the new environment
    import fsspec

    fsspec.filesystem("s3").clear_instance_cache()
    return f"s3://{name}"
