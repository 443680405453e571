"""A real PostgreSQL server for the test run, on a free loopback port.

The first xdist worker to arrive installs PostgreSQL from Debian's packages if
it is missing, runs ``initdb`` and starts the server under a file lock in the
temp folder all workers share; the others reuse it. Each test that asks for
``postgres_url`` gets a fresh database of its own. The controller stops the
server at the end and prints how many PostgreSQL tests ran. If the server
cannot be provided, the tests that need it fail with the reason (they are
never skipped).
"""

from __future__ import annotations

import fcntl
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

STATE_FILE = "postgres.json"
RESULTS_DIR = "postgres-results"


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _bin_dir() -> Path | None:
    for pattern in ("/usr/lib/postgresql/*/bin",):
        found = sorted(glob.glob(pattern), key=lambda p: int(p.split("/")[-2]), reverse=True)
        for d in found:
            if (Path(d) / "initdb").exists():
                return Path(d)
    initdb = shutil.which("initdb")
    return Path(os.path.realpath(initdb)).parent if initdb else None


def _install() -> Path:
    bindir = _bin_dir()
    if bindir is not None:
        return bindir
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (
        [*sudo, "apt-get", "update", "-q"],
        [*sudo, "apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"],
    ):
        run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        if run.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {run.stderr.strip()[-500:]}")
    bindir = _bin_dir()
    if bindir is None:
        raise RuntimeError("postgresql was installed but initdb was not found")
    return bindir


def _run(cmd: list[str]) -> None:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {(out.stderr or out.stdout).strip()[-400:]}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_user() -> tuple[list[str], str]:
    """Command prefix to run the server as a non-root user (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return [], pwd.getpwuid(os.geteuid()).pw_name
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
    return ["runuser", "-u", "postgres", "--"], "postgres"


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    version: str
    data_dir: str

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"


def _start(base: Path) -> dict:
    t0 = time.perf_counter()
    bindir = _install()
    installed_s = time.perf_counter() - t0
    prefix, user = _as_user()
    # Outside pytest's private (0700) temp tree, which the server's user cannot enter.
    root = Path(tempfile.mkdtemp(prefix="aims-test-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, user)
        shutil.chown(sock, user)
    subprocess.run(
        [
            *prefix,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            user,
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    port = _free_port()
    opts = (
        f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    subprocess.run(
        [
            *prefix,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            opts,
            "-l",
            str(root / "log"),
            "-w",
            "-t",
            "60",
            "start",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    version = subprocess.run(
        [str(bindir / "postgres"), "--version"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "host": "127.0.0.1",
        "port": port,
        "user": user,
        "version": version,
        "data_dir": str(data),
        "root": str(root),
        "bindir": str(bindir),
        "prefix": prefix,
        "install_seconds": round(installed_s, 1),
        "start_seconds": round(time.perf_counter() - t0 - installed_s, 1),
    }


def _shared_dir(config: pytest.Config) -> Path:
    # Shared by the controller and every xdist worker of this run.
    factory = config._tmp_path_factory  # type: ignore[attr-defined]
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest) -> PostgresServer:
    shared = _shared_dir(request.config)
    state = shared / STATE_FILE
    with _locked(shared / "postgres.lock"):
        if not state.exists():
            try:
                info = _start(shared)
            except Exception as exc:  # report the reason in every test that needs it
                info = {"error": f"{type(exc).__name__}: {exc}"}
            state.write_text(json.dumps(info))
        info = json.loads(state.read_text())
    if "error" in info:
        pytest.fail(f"no PostgreSQL server for the tests: {info['error']}", pytrace=False)
    return PostgresServer(
        info["host"], info["port"], info["user"], info["version"], info["data_dir"]
    )


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of a new, empty database on the test server."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(
        host=postgres_server.host,
        port=postgres_server.port,
        user=postgres_server.user,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return postgres_server.url(name)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "postgres_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # Runs on the controller for every worker's reports (and on a plain run).
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    if report.when == "call" and "postgres" in report.keywords:
        _COUNTS[report.outcome] = _COUNTS.get(report.outcome, 0) + 1
    elif report.when == "setup" and report.failed and "postgres" in report.keywords:
        _COUNTS["error"] = _COUNTS.get("error", 0) + 1


_COUNTS: dict[str, int] = {}


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    state = _shared_dir(config) / STATE_FILE
    info = json.loads(state.read_text()) if state.exists() else {}
    ran = sum(_COUNTS.values())
    where = (
        f"{info['version']} on {info['host']}:{info['port']}, started in {info['start_seconds']} s"
        if "port" in info
        else info.get("error", "server not started")
    )
    detail = ", ".join(f"{n} {k}" for k, n in sorted(_COUNTS.items())) or "none"
    terminalreporter.write_line(
        f"PostgreSQL: {ran} tests ran against a real server ({where}): {detail}"
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER") or not hasattr(config, "_tmp_path_factory"):
        return
    state = _shared_dir(config) / STATE_FILE
    if not state.exists():
        return
    info = json.loads(state.read_text())
    if "port" in info:
        subprocess.run(
            [
                *info["prefix"],
                f"{info['bindir']}/pg_ctl",
                "-D",
                info["data_dir"],
                "-m",
                "fast",
                "-w",
                "stop",
            ],
            capture_output=True,
            text=True,
        )
        shutil.rmtree(info["root"], ignore_errors=True)
    state.unlink(missing_ok=True)
