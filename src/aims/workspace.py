"""A workspace: a folder with ``aims.yaml`` and ``.aims/`` (database, artifacts, logs).

``Workspace.open`` finds the folder (explicit path, ``$AIMS_WORKSPACE``, or the
current folder and its parents), reads the settings, connects the metadata
store and applies any pending migrations.
"""

from __future__ import annotations

import getpass
import os
from functools import cached_property
from pathlib import Path

import yaml

from aims.errors import Conflict, InvalidInput, NotFound
from aims.settings import (
    CONFIG_FILE,
    STATE_DIR,
    Settings,
    default_config,
    load_settings,
    project_problem,
)
from aims.storage.private import DIR_MODE, private_dir, tighten

__all__ = ["Workspace", "current_actor", "find_root", "init_workspace"]


def current_actor() -> str:
    """Who is acting: ``$AIMS_USER``, else the operating-system user."""
    user = os.environ.get("AIMS_USER", "").strip()
    if user:
        return user
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "unknown"


def find_root(start: Path | None = None) -> Path:
    """The workspace folder: explicit ``start``, ``$AIMS_WORKSPACE``, or search upwards."""
    if start is not None:
        root = Path(start).expanduser().resolve()
        if not (root / CONFIG_FILE).is_file():
            raise NotFound(
                f"{root}: not an aims workspace (no {CONFIG_FILE}); run 'aims init {root}' first"
            )
        return root
    env = os.environ.get("AIMS_WORKSPACE")
    if env:
        return find_root(Path(env))
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise NotFound(
        f"no aims workspace in {here} or its parents; run 'aims init' here, "
        "or pass --workspace DIR / set AIMS_WORKSPACE"
    )


def init_workspace(
    folder: Path, project: str = "default", *, config_text: str | None = None
) -> Path:
    """Create ``aims.yaml`` and ``.aims/`` in ``folder``; refuse to overwrite a workspace.

    ``config_text`` is the ``aims.yaml`` to write (``aims init`` passes its
    commented starter); without it, the plain defaults are written.
    """
    problem = project_problem(project)
    if problem:
        raise InvalidInput(problem)
    root = Path(folder).expanduser().resolve()
    config = root / CONFIG_FILE
    if config.exists():
        raise Conflict(f"{root}: already an aims workspace ({CONFIG_FILE} exists); nothing changed")
    root.mkdir(parents=True, exist_ok=True)
    # The state folder holds the database, artifacts, log and secrets: owner only.
    private_dir(root / STATE_DIR)
    text = yaml.safe_dump(default_config(project), sort_keys=False)
    from aims.core.policy import DEFAULT_POLICY_YAML

    text += "\n" + DEFAULT_POLICY_YAML
    config.write_text(config_text if config_text is not None else text, encoding="utf-8")
    (root / STATE_DIR / ".gitignore").write_text("*\n", encoding="utf-8")
    return root


class Workspace:
    """An open workspace: its settings and lazily connected stores."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @classmethod
    def open(cls, path: Path | None = None) -> Workspace:
        """Find and open a workspace, migrating its metadata store if needed."""
        root = find_root(path)
        ws = cls(load_settings(root))
        # Workspaces made before the state folder was private are tightened here.
        tighten(ws.settings.state_dir, DIR_MODE)
        ws.db  # noqa: B018 - connect and migrate now, so errors surface at open
        return ws

    @property
    def root(self) -> Path:
        return self.settings.root

    @cached_property
    def db(self):  # -> aims.storage.db.Database
        from aims.storage.db import Database

        db = Database.connect(self.settings.database_url)
        db.state_dir = self.settings.state_dir
        return db

    @cached_property
    def artifacts(self):  # -> aims.storage.artifacts.ArtifactStore
        from aims.storage.artifacts import ArtifactStore

        return ArtifactStore(self.settings.artifact_url)

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.dispose()
