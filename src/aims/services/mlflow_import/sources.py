"""Which reader a ``--tracking-uri`` calls for."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from aims.errors import InvalidInput, NotFound
from aims.services.mlflow_import.records import MlflowSource

__all__ = ["open_source"]

_DATABASES = ("sqlite", "postgresql", "mysql", "mssql")


def _bad(uri: str) -> InvalidInput:
    return InvalidInput(
        f"--tracking-uri {uri!r} is not a place aims imports from; give a tracking server "
        "(http://HOST:PORT), an MLflow database (sqlite:///path/mlflow.db) or an mlruns folder"
    )


def open_source(uri: str, *, artifacts_root: Path | None = None) -> MlflowSource:
    """The reader for ``uri``: a server, a database, or an ``mlruns`` folder.

    ``artifacts_root`` is where a server kept its clients' artifacts
    (``mlflow server --artifacts-destination``), for versions whose files are
    at ``mlflow-artifacts:`` locations and are read from disk.

    Raises
    ------
    InvalidInput
        ``uri`` names no place aims reads (the message lists the three forms).
    NotFound
        The database file or folder does not exist.
    """
    from aims.services.mlflow_import.mlflow_db import DatabaseSource
    from aims.services.mlflow_import.mlruns import MlrunsSource
    from aims.services.mlflow_import.rest import RestSource

    uri = (uri or "").strip()
    if not uri:
        raise _bad(uri)
    if artifacts_root is not None and not artifacts_root.is_dir():
        raise NotFound(f"--artifacts {artifacts_root}: no such folder")
    parsed = urlparse(uri)
    scheme = parsed.scheme.split("+")[0].lower()
    if scheme in ("http", "https"):
        if not parsed.hostname:
            raise _bad(uri)
        return RestSource(uri, artifacts_root=artifacts_root)
    if scheme in _DATABASES:
        return DatabaseSource(uri, artifacts_root=artifacts_root)
    if scheme == "file" or (scheme == "" and uri):
        path = Path(unquote(parsed.path) if scheme == "file" else uri)
        if path.is_dir():
            return MlrunsSource(path, artifacts_root=artifacts_root)
        if path.is_file():
            return DatabaseSource(f"sqlite:///{path.resolve()}", artifacts_root=artifacts_root)
        raise NotFound(
            f"--tracking-uri {uri}: no such file or folder; give an mlruns folder, an "
            "mlflow.db file or a server's http:// URL"
        )
    raise _bad(uri)
