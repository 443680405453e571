"""A real PostgreSQL server for the test run, on a free loopback port.

The first process that needs the server (an xdist worker, or pytest itself
without xdist) takes a lock in the temp folder every process of the run shares,
installs Debian's ``postgresql`` package if no server binaries are found, runs
``initdb`` and starts the server; the others find its address in a state file
there and reuse it. Each test that asks for ``postgres_url`` gets a new, empty
database of its own, so tests run in parallel without seeing each other.

The controlling pytest process stops the server and removes its files when the
run ends (``pytest_unconfigure``), and prints how many tests used it. A small
watchdog process stops the server as well if pytest is killed before that.

If the server cannot be installed or started, every test that needs it fails
with the reason: such tests are never skipped.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.plugins._debian import apt_install, file_lock

STATE_FILE = "postgres-server.json"
LOCK_FILE = "postgres-server.lock"
HOST = "127.0.0.1"
#: Seconds to wait for the new server to accept connections.
START_TIMEOUT_S = 30.0
#: Server settings: durability is worthless for a throw-away test server, speed is not.
SERVER_SETTINGS = {
    "listen_addresses": HOST,
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    # Two workers, each test with a small connection pool, plus leaked pools
    # awaiting garbage collection.
    "max_connections": "200",
}
#: Free bytes /dev/shm needs before the server's files go there. On a RAM-backed
#: folder CREATE DATABASE takes about 15 ms instead of about 260 ms on the test
#: machine's disk; containers often give /dev/shm only 64 MB, hence the check.
TMPFS_MIN_FREE_BYTES = 1 << 30
#: Seconds between the watchdog's checks that pytest is still alive.
WATCHDOG_POLL_S = 2.0

# Outcomes of the tests that used the server, kept by the controlling process
# (the report hook is given no config to hang them on).
_COUNTS: dict[str, int] = {}

_WATCHDOG = """
import json, os, shutil, subprocess, sys, time
owner, root, stop, poll = json.loads(sys.argv[1])
while os.path.isdir(root):
    try:
        os.kill(owner, 0)
    except ProcessLookupError:
        subprocess.run(stop, capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)
        break
    except PermissionError:
        pass
    time.sleep(poll)
"""


@dataclass(frozen=True)
class PostgresServer:
    """The running test server.

    Parameters
    ----------
    host, port
        Where it listens (loopback only, trust authentication).
    superuser
        The role every connection uses; it may create and drop databases.
    version
        The server's version, for example ``"PostgreSQL 15.18"``.

    Examples
    --------
    >>> PostgresServer("127.0.0.1", 5999, "postgres", "PostgreSQL 15.18").url("t1")
    'postgresql+psycopg://postgres@127.0.0.1:5999/t1'
    """

    host: str
    port: int
    superuser: str
    version: str

    @property
    def user(self) -> str:
        """Same as :attr:`superuser`."""
        return self.superuser

    def url(self, dbname: str = "postgres") -> str:
        """An SQLAlchemy URL (psycopg 3 driver) for database DBNAME on this server."""
        return f"postgresql+psycopg://{self.superuser}@{self.host}:{self.port}/{dbname}"

    def execute(self, sql: str) -> None:
        """Run one statement outside a transaction on the ``postgres`` database."""
        import psycopg

        with psycopg.connect(
            host=self.host, port=self.port, user=self.superuser, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(sql)  # type: ignore[arg-type]  # test-only SQL built from fixed parts


# --- finding or installing the binaries -------------------------------------------------


def _has_server_binaries(bindir: Path) -> bool:
    return all((bindir / name).is_file() for name in ("initdb", "pg_ctl", "postgres"))


def find_bindir() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``, or ``None``.

    ``PATH`` comes first (a developer's own build wins), then Debian's
    ``/usr/lib/postgresql/<major>/bin``, newest major version first.
    """
    initdb = shutil.which("initdb")
    if initdb:
        bindir = Path(os.path.realpath(initdb)).parent
        if _has_server_binaries(bindir):
            return bindir
    debian = Path("/usr/lib/postgresql")
    majors = [p for p in debian.glob("*/bin") if p.parent.name.isdigit()]
    for bindir in sorted(majors, key=lambda p: int(p.parent.name), reverse=True):
        if _has_server_binaries(bindir):
            return bindir
    return None


def ensure_binaries(lock_dir: Path) -> tuple[Path, float]:
    """The server binaries' folder and the seconds spent installing them (0 if present)."""
    bindir = find_bindir()
    if bindir is not None:
        return bindir, 0.0
    seconds = apt_install(["postgresql"], lock_dir)
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError(
            "Debian's postgresql package was installed but no initdb/pg_ctl/postgres "
            "was found on PATH or under /usr/lib/postgresql/*/bin"
        )
    return bindir, seconds


# --- starting and stopping ---------------------------------------------------------------


def _server_account() -> tuple[list[str], str]:
    """The command prefix that runs a program as the server's owner, and that owner's name.

    PostgreSQL refuses to run as root, so under root the server belongs to the
    ``postgres`` system user (created by Debian's package, or here if missing).
    """
    if os.geteuid() != 0:
        return [], pwd.getpwuid(os.geteuid()).pw_name
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        _run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"]
        )
    return ["runuser", "-u", "postgres", "--"], "postgres"


def _run(cmd: list[str], timeout: float = 120.0) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(f"{' '.join(cmd)}: {exc}") from exc
    if out.returncode != 0:
        reason = (out.stderr.strip() or out.stdout.strip())[-600:]
        raise RuntimeError(f"{' '.join(cmd)} exited with {out.returncode}: {reason}")
    return out.stdout


def _free_port() -> int:
    # The port could be taken between here and the server's bind; pg_ctl then
    # fails with a clear "could not bind" in the log, which is reported.
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _files_parent(other_user: bool) -> str | None:
    """Where the server's folder goes: RAM-backed /dev/shm when roomy, else the temp folder.

    The folder must be reachable by the server's owner, so it is never inside
    pytest's own temp tree (private to the user running pytest).
    """
    shm = "/dev/shm"
    try:
        stat = os.statvfs(shm)
    except OSError:
        stat = None
    if (
        stat is not None
        and stat.f_bavail * stat.f_frsize >= TMPFS_MIN_FREE_BYTES
        and os.access(shm, os.W_OK | os.X_OK)
    ):
        return shm
    # A root user's TMPDIR may be private to root; /tmp is open to every user.
    return "/tmp" if other_user else None


def _wait_until_ready(host: str, port: int, user: str, deadline: float) -> str:
    import psycopg

    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(
                host=host, port=port, user=user, dbname="postgres", connect_timeout=2
            ) as conn:
                row = conn.execute("SHOW server_version").fetchone()
                return f"PostgreSQL {str(row[0]).split()[0]}" if row else "PostgreSQL"
        except psycopg.OperationalError as exc:
            last = exc
            time.sleep(0.1)
    raise RuntimeError(f"the server did not accept connections within {START_TIMEOUT_S} s: {last}")


def _spawn_watchdog(owner_pid: int, root: Path, stop_cmd: list[str]) -> None:
    # A new session, so Ctrl-C in the terminal does not take the watchdog down
    # with pytest; posix_spawn keeps no Popen object whose finaliser would warn.
    devnull = os.devnull
    os.posix_spawn(
        sys.executable,
        [
            sys.executable,
            "-c",
            _WATCHDOG,
            json.dumps([owner_pid, str(root), stop_cmd, WATCHDOG_POLL_S]),
        ],
        os.environ,
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, devnull, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
        setsid=True,
    )


def start_server(lock_dir: Path, owner_pid: int) -> dict[str, Any]:
    """Install if needed, initialise and start a server; return its state as plain data.

    Parameters
    ----------
    lock_dir
        The folder shared by every process of the run (for the apt lock).
    owner_pid
        The process whose death means the run is over (the xdist controller).
    """
    bindir, install_s = ensure_binaries(lock_dir)
    started = time.perf_counter()
    prefix, user = _server_account()
    root = Path(tempfile.mkdtemp(prefix="aims-test-pg-", dir=_files_parent(bool(prefix))))
    data, sockdir = root / "data", root / "sock"
    sockdir.mkdir()
    if prefix:
        for path in (root, sockdir):
            shutil.chown(path, user)
    stop_cmd = [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
    try:
        _run(
            [
                *prefix,
                str(bindir / "initdb"),
                *("-D", str(data), "-U", user),
                *("--auth=trust", "--no-sync", "--encoding=UTF8", "--locale=C"),
            ]
        )
        port = _free_port()
        options = " ".join(
            [f"-p {port}", f"-k {sockdir}"] + [f"-c {k}={v}" for k, v in SERVER_SETTINGS.items()]
        )
        log = root / "server.log"
        try:
            _run(
                [
                    *prefix,
                    str(bindir / "pg_ctl"),
                    *("-D", str(data), "-o", options, "-l", str(log)),
                    *("-w", "-t", str(int(START_TIMEOUT_S)), "start"),
                ],
                timeout=START_TIMEOUT_S + 10,
            )
        except RuntimeError as exc:
            tail = log.read_text(errors="replace")[-600:] if log.exists() else ""
            raise RuntimeError(f"{exc}\nserver log:\n{tail}") from exc
        _spawn_watchdog(owner_pid, root, stop_cmd)
        version = _wait_until_ready(HOST, port, user, time.monotonic() + START_TIMEOUT_S)
    except BaseException:
        subprocess.run(stop_cmd, capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)
        raise
    return {
        "host": HOST,
        "port": port,
        "superuser": user,
        "version": version,
        "root": str(root),
        "stop": stop_cmd,
        "install_seconds": round(install_s, 2),
        "start_seconds": round(time.perf_counter() - started, 2),
    }


def stop_server(state: dict[str, Any]) -> None:
    """Stop the server described by STATE (as returned by :func:`start_server`) and remove its files."""
    if "stop" in state:
        subprocess.run(state["stop"], capture_output=True, check=False, timeout=60)
    if "root" in state:
        shutil.rmtree(state["root"], ignore_errors=True)


# --- pytest wiring -----------------------------------------------------------------------


def _is_xdist_worker() -> bool:
    return "PYTEST_XDIST_WORKER" in os.environ


def _shared_dir(config: pytest.Config) -> Path:
    """The temp folder shared by the controller and every xdist worker of this run."""
    base: Path = config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    # Each worker's base temp is <controller's base temp>/popen-gwN.
    return base.parent if _is_xdist_worker() else base


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "postgres: runs against the real PostgreSQL server started by the test setup"
    )
    _COUNTS.clear()


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest) -> PostgresServer:
    """The run's PostgreSQL server, started by the first process that needs it."""
    shared = _shared_dir(request.config)
    state_file = shared / STATE_FILE
    with file_lock(shared / LOCK_FILE):
        if not state_file.exists():
            owner = os.getppid() if _is_xdist_worker() else os.getpid()
            try:
                state = start_server(shared, owner)
            except Exception as exc:
                # Recorded once, so every worker reports this reason instead of
                # retrying a long installation that already failed.
                state = {"error": f"{exc}"}
            state_file.write_text(json.dumps(state))
        state = json.loads(state_file.read_text())
    if "error" in state:
        pytest.fail(
            f"no PostgreSQL server for this test: {state['error']}\n"
            "The test setup installs Debian's postgresql package and starts a server on a "
            "loopback port; fix the cause above (see docs/testing.md).",
            pytrace=False,
        )
    return PostgresServer(state["host"], state["port"], state["superuser"], state["version"])


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """The SQLAlchemy URL of a new, empty database that only this test uses."""
    # Tests reaching this fixture through request.getfixturevalue are not seen at
    # collection time; marking here still counts them in the summary.
    request.node.add_marker(pytest.mark.postgres)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"test_{worker}_{uuid.uuid4().hex[:12]}"
    postgres_server.execute(f'CREATE DATABASE "{name}"')
    yield postgres_server.url(name)
    # FORCE closes connections a test left open; the files would otherwise pile up
    # (about 8 MB per database) until the run ends.
    postgres_server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Marked here so that ``-m postgres`` / ``-m "not postgres"`` select them.
    # A test that reaches the server through request.getfixturevalue is found
    # by its parametrization: the convention is a parameter value "postgres"
    # (as in the store fixtures parametrized over ["sqlite", "postgres"]).
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params.values() if callspec is not None else ()
        by_param = any(isinstance(v, str) and v == "postgres" for v in params)
        if by_param or "postgres_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # On the controller this sees every worker's reports; on a worker, its own.
    if _is_xdist_worker() or "postgres" not in report.keywords:
        return
    if report.when == "call":
        _COUNTS[report.outcome] = _COUNTS.get(report.outcome, 0) + 1
    elif report.when == "setup" and not report.passed:
        outcome = "error" if report.failed else "skipped"
        _COUNTS[outcome] = _COUNTS.get(outcome, 0) + 1


def summary_line(counts: dict[str, int], state: dict[str, Any]) -> str:
    """The terminal summary's PostgreSQL line.

    Examples
    --------
    >>> summary_line({"passed": 3, "failed": 1}, {"version": "PostgreSQL 15.18",
    ...     "host": "127.0.0.1", "port": 5999, "start_seconds": 1.2, "install_seconds": 0.0})
    'PostgreSQL: 4 tests ran against a real server (PostgreSQL 15.18 on 127.0.0.1:5999, started in 1.2 s): 3 passed, 1 failed'
    """
    ran = counts.get("passed", 0) + counts.get("failed", 0)
    detail = ", ".join(
        f"{counts[k]} {k}" for k in ("passed", "failed", "skipped", "error") if counts.get(k)
    )
    if "error" in state:
        return (
            f"PostgreSQL: {ran} tests ran; {counts.get('error', 0)} failed because "
            f"the server could not be started: {state['error']}"
        )
    if "port" not in state:
        return "PostgreSQL: 0 tests ran against a real server (no selected test needed one)"
    where = f"{state['version']} on {state['host']}:{state['port']}"
    timing = f"started in {state['start_seconds']} s"
    if state.get("install_seconds"):
        timing = f"installed in {state['install_seconds']} s, {timing}"
    return (
        f"PostgreSQL: {ran} tests ran against a real server ({where}, {timing}): {detail or 'none'}"
    )


def _read_state(config: pytest.Config) -> dict[str, Any]:
    if not hasattr(config, "_tmp_path_factory"):
        return {}
    path = _shared_dir(config) / STATE_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if _is_xdist_worker() or config.option.collectonly:
        return
    state = _read_state(config)
    counts = _COUNTS
    bad = "error" in state or counts.get("failed") or counts.get("error")
    terminalreporter.write_line(summary_line(counts, state), red=bool(bad), green=not bad)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _is_xdist_worker():
        return
    state = _read_state(config)
    stop_server(state)
    if state:
        (_shared_dir(config) / STATE_FILE).unlink(missing_ok=True)
