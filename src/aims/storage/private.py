"""Files and folders of the store that only their owner may read: 0600 and 0700, whatever the umask.

The metadata database, the artifact objects and the prediction log hold
personal data and governance evidence; on a shared machine the usual umask
(022) would leave them readable by every user. The modes are set with
``chmod`` after creation, because the mode given to ``mkdir`` or ``open`` is
masked by the process's umask.

Examples
--------
>>> import stat, tempfile
>>> folder = private_dir(Path(tempfile.mkdtemp()) / "a" / "b")
>>> oct(stat.S_IMODE(folder.stat().st_mode)), oct(stat.S_IMODE(folder.parent.stat().st_mode))
('0o700', '0o700')
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700

__all__ = ["DIR_MODE", "FILE_MODE", "private_dir", "private_file", "tighten"]


def private_dir(path: Path) -> Path:
    """``path`` as a folder; every folder created on the way gets mode 0700.

    Folders that already exist keep their mode: they may be the user's own
    (a home folder, a mount point) and are not aims' to change.
    """
    path = Path(path)
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another process
            folder.mkdir()
            os.chmod(folder, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """``path`` created empty with mode 0600 when missing; an existing file is tightened."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        tighten(path, FILE_MODE)
        return path
    os.close(fd)
    os.chmod(path, FILE_MODE)
    return path


def tighten(path: Path, mode: int) -> None:
    """Remove group and other permissions beyond ``mode`` from a path this user owns.

    A path owned by someone else, or on a filesystem without modes, is left
    as it is: refusing to open it would be worse than a looser mode.
    """
    with contextlib.suppress(OSError):
        current = path.stat()
        if current.st_uid == os.getuid() and stat.S_IMODE(current.st_mode) & ~mode:
            os.chmod(path, stat.S_IMODE(current.st_mode) & mode)
