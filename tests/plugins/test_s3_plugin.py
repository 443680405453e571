"""The S3-compatible test server: real objects over HTTP, a bucket per test, stopped with its owner."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import fsspec

from tests.plugins.s3 import S3Server, start_server, stop_server


def test_each_test_gets_a_new_bucket_that_s3fs_reads_and_writes(s3_bucket: str) -> None:
    fs = fsspec.filesystem("s3")
    assert fs.ls(s3_bucket) == []
    with fsspec.open(f"{s3_bucket}/a/b.txt", "wb") as fh:
        fh.write(b"hello")
    assert fs.cat(f"{s3_bucket}/a/b.txt") == b"hello"
    assert os.environ["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")


def test_the_server_stops_when_its_owner_dies(tmp_path) -> None:
    # An owner process that starts a server, prints its address and is then killed.
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from tests.plugins.s3 import start_server;"
        "proc, server = start_server(); print(proc.pid, server.endpoint, flush=True);"
        "import time; time.sleep(120)"
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    owner = subprocess.Popen(
        [sys.executable, "-c", script, root], stdout=subprocess.PIPE, text=True
    )
    assert owner.stdout is not None
    pid, endpoint = owner.stdout.readline().split()
    S3Server(endpoint).create_bucket("alive")
    owner.send_signal(signal.SIGKILL)
    owner.wait(30)
    owner.stdout.close()
    # the server's process notices within its one-second poll and exits
    deadline = time.monotonic() + 30
    while _alive(int(pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(int(pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its new parent) counts as gone
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().split(")")[-1].split()[0] != "Z"


def test_stop_server_ends_its_process_group() -> None:
    proc, server = start_server()
    server.create_bucket("one")
    stop_server(proc)
    assert proc.returncode == -signal.SIGKILL
