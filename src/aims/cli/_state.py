"""Options given before the sub-command, shared by every command."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class State:
    workspace: Path | None = None
    debug: bool = False


STATE = State()


def open_workspace():  # -> aims.workspace.Workspace
    """Open the workspace chosen by ``--workspace``, ``$AIMS_WORKSPACE`` or the current folder."""
    from aims.workspace import Workspace

    return Workspace.open(STATE.workspace)
