"""Installing Debian packages for the test setup, one installation at a time.

The PostgreSQL and Chromium plugins both call :func:`apt_install` when their
program is missing. Two xdist workers may need two packages at the same moment,
and dpkg allows one installer at a time, so installations within a run queue on
a lock file in the run's shared temp folder; apt's own lock timeout covers any
other installer on the machine.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: Seconds one apt-get call may take: Chromium is about 100 MB to fetch and unpack.
APT_TIMEOUT_S = 1200
#: Seconds apt-get waits for another installer's dpkg lock before giving up.
DPKG_LOCK_WAIT_S = 600


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on PATH (created if missing) for the ``with`` block.

    Parameters
    ----------
    path
        The lock file. Every process that locks the same path waits its turn.

    Examples
    --------
    >>> import tempfile
    >>> with file_lock(Path(tempfile.mkdtemp()) / "x.lock"):
    ...     pass
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _privilege_prefix(packages: str) -> list[str]:
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo"):
        # -n: fail at once instead of waiting for a password nobody will type.
        return ["sudo", "-n"]
    raise RuntimeError(
        f"missing Debian packages ({packages}) and this user cannot install them "
        "(not root, no sudo); "
        f"install with: apt-get install -y --no-install-recommends {packages}"
    )


def _apt(args: list[str], prefix: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = [*prefix, "apt-get", "-q", "-o", f"DPkg::Lock::Timeout={DPKG_LOCK_WAIT_S}", *args]
    try:
        return subprocess.run(
            cmd, capture_output=True, text=True, env=env, timeout=APT_TIMEOUT_S, check=False
        )
    except FileNotFoundError as exc:
        raise RuntimeError(f"cannot run {cmd[0]}: this is not a Debian-like system") from exc
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{' '.join(cmd)} took more than {APT_TIMEOUT_S} s") from exc


def _tail(run: subprocess.CompletedProcess[str], chars: int = 600) -> str:
    return (run.stderr.strip() or run.stdout.strip())[-chars:]


def apt_install(packages: list[str], lock_dir: Path) -> float:
    """Install Debian packages with ``apt-get``, without recommended extras.

    The package index is refreshed only when the first attempt fails (a fresh
    image has no index; a machine that has one saves the download).

    Parameters
    ----------
    packages
        Debian package names, for example ``["postgresql"]`` or ``["chromium"]``.
    lock_dir
        A folder shared by every process of the test run; installations wait
        for each other on ``lock_dir / "apt.lock"``.

    Returns
    -------
    float
        Seconds spent installing, including the wait for the lock.

    Raises
    ------
    RuntimeError
        When the packages cannot be installed; the message carries apt's own reason.
    """
    started = time.perf_counter()
    names = " ".join(packages)
    prefix = _privilege_prefix(names)
    install = ["install", "-y", "--no-install-recommends", *packages]
    with file_lock(lock_dir / "apt.lock"):
        run = _apt(install, prefix)
        if run.returncode != 0:
            update = _apt(["update"], prefix)
            if update.returncode != 0:
                raise RuntimeError(f"apt-get update failed: {_tail(update)}")
            run = _apt(install, prefix)
        if run.returncode != 0:
            raise RuntimeError(f"apt-get install {names} failed: {_tail(run)}")
    return time.perf_counter() - started
