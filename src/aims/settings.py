"""Workspace settings: ``aims.yaml``, overridden by ``AIMS_*`` environment variables.

Precedence, highest first: environment variable, ``aims.yaml``, default. The
settings object is read once when a workspace opens and passed explicitly.

=========================  ===========================  ==========================================
environment variable       aims.yaml key                default
=========================  ===========================  ==========================================
``AIMS_DATABASE_URL``      ``store.database_url``       ``sqlite:///<workspace>/.aims/aims.db``
``AIMS_ARTIFACT_URL``      ``store.artifact_url``       ``<workspace>/.aims/artifacts``
``AIMS_PREDICTION_LOG_URL`` ``store.prediction_log_url`` ``<workspace>/.aims/predictions``
``AIMS_TRACE_LOG_URL``     ``store.trace_log_url``      ``<workspace>/.aims/traces``
``AIMS_PROJECT``           ``project``                  ``default``
=========================  ===========================  ==========================================

A project name matches :data:`PROJECT_PATTERN`: lower-case letters, digits,
``_`` and ``-``, starting with a letter or digit, at most 63 characters. It
names a tenant in URLs, tokens, metrics labels and folder names, so nothing
else is accepted.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aims.errors import ConfigError

__all__ = [
    "CONFIG_FILE",
    "ENV_OVERRIDES",
    "KNOWN_STORE",
    "KNOWN_TOP_LEVEL",
    "PROJECT_PATTERN",
    "STATE_DIR",
    "Settings",
    "default_config",
    "load_settings",
    "project_problem",
]

CONFIG_FILE = "aims.yaml"
STATE_DIR = ".aims"

ENV_OVERRIDES: dict[str, tuple[str, ...]] = {
    "AIMS_DATABASE_URL": ("store", "database_url"),
    "AIMS_ARTIFACT_URL": ("store", "artifact_url"),
    "AIMS_PREDICTION_LOG_URL": ("store", "prediction_log_url"),
    "AIMS_TRACE_LOG_URL": ("store", "trace_log_url"),
    "AIMS_PROJECT": ("project",),
}

PROJECT_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
"""What a project name looks like (a DNS-label-like word)."""
_PROJECT_RE = re.compile(PROJECT_PATTERN)

KNOWN_TOP_LEVEL = {
    "version",
    "project",
    "store",
    "policy",
    "people",
    "server",
    "monitor",
    "audit",
    "identity",  # local | team; read by aims.services.grants.identity_mode
    "access",  # elevation, access review, refused calls; aims.services.access_settings
    "traces",  # content policy, application attributes, prices; aims.services.trace_settings
    "gateway",  # the MCP gateway's screening, high-risk tools, limits; aims.services.gateway.policy
}
KNOWN_STORE = {"database_url", "artifact_url", "prediction_log_url", "trace_log_url"}
#: Where the span store lives unless ``store.trace_log_url`` says otherwise.
DEFAULT_TRACE_LOG = ".aims/traces"


@dataclass(frozen=True)
class Settings:
    """Resolved settings of one workspace."""

    root: Path
    """The workspace folder (the one holding ``aims.yaml``)."""
    database_url: str
    """SQLAlchemy URL of the metadata store."""
    artifact_url: str
    """Folder or fsspec URL of the content-addressed artifact store."""
    prediction_log_url: str
    """Folder or fsspec URL of the prediction log."""
    project: str = "default"
    """Project (tenant) that new models belong to unless told otherwise."""
    trace_log_url: str = ""
    """Folder or fsspec URL of the span store of LLM traces ("" here: ``.aims/traces``)."""
    raw: Mapping[str, Any] = field(default_factory=dict)
    """The whole parsed ``aims.yaml`` (policy, server and monitor sections are read by their services)."""

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR


def project_problem(project: object) -> str | None:
    """Why ``project`` is not a valid project name, or None when it is.

    Examples
    --------
    >>> project_problem("fraud-detection") is None
    True
    >>> project_problem("Fraud Detection")
    "project 'Fraud Detection' is not valid: use lower-case letters, digits, '_' or '-', starting with a letter or digit, at most 63 characters (e.g. 'fraud-detection')"
    """
    if isinstance(project, str) and _PROJECT_RE.fullmatch(project):
        return None
    example = re.sub(r"[^a-z0-9_-]+", "-", str(project).lower()).strip("-_")[:63] or "default"
    return (
        f"project {project!r} is not valid: use lower-case letters, digits, '_' or '-', "
        f"starting with a letter or digit, at most 63 characters (e.g. {example!r})"
    )


def default_config(project: str = "default") -> dict[str, Any]:
    """The content of a new ``aims.yaml``."""
    return {
        "version": 1,
        "project": project,
        "store": {
            "database_url": "sqlite:///.aims/aims.db",
            "artifact_url": ".aims/artifacts",
            "prediction_log_url": ".aims/predictions",
        },
    }


def _resolve_local(value: str, root: Path) -> str:
    """Make relative local paths (and relative SQLite files) relative to the workspace."""
    if value.startswith("sqlite:///") and not value.startswith("sqlite:////"):
        rel = value[len("sqlite:///") :]
        if rel and rel != ":memory:" and not rel.startswith("/"):
            return "sqlite:///" + str((root / rel).resolve())
        return value
    if "://" in value:
        return value
    path = Path(value)
    return str(path if path.is_absolute() else (root / path).resolve())


def load_settings(root: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read ``root/aims.yaml`` and apply ``AIMS_*`` overrides."""
    env = os.environ if environ is None else environ
    path = root / CONFIG_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: missing; run 'aims init {root}' to create a workspace"
        ) from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(
            f"{path}:{where} is not valid YAML: {getattr(exc, 'problem', exc)}"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a mapping of settings, got {type(data).__name__}")
    unknown = set(data) - KNOWN_TOP_LEVEL
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) {', '.join(sorted(unknown))}; "
            f"known keys are {', '.join(sorted(KNOWN_TOP_LEVEL))}"
        )
    store = data.get("store") or {}
    if not isinstance(store, dict):
        raise ConfigError(f"{path}: 'store' must be a mapping")
    unknown = set(store) - KNOWN_STORE
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) store.{', store.'.join(sorted(unknown))}; "
            f"known keys are store.{', store.'.join(sorted(KNOWN_STORE))}"
        )
    defaults = default_config()
    values: dict[str, Any] = {
        "project": data.get("project", defaults["project"]),
        **{k: store.get(k, v) for k, v in defaults["store"].items()},
        "trace_log_url": store.get("trace_log_url", DEFAULT_TRACE_LOG),
    }
    for var, keypath in ENV_OVERRIDES.items():
        if env.get(var):
            values[keypath[-1]] = env[var]
    for key in ("project", *KNOWN_STORE):
        if not isinstance(values[key], str) or not values[key].strip():
            raise ConfigError(f"{path}: '{key}' must be a non-empty string")
    problem = project_problem(values["project"])
    if problem:
        where = "AIMS_PROJECT" if env.get("AIMS_PROJECT") else f"{path}: 'project'"
        raise ConfigError(f"{where}: {problem}")
    return Settings(
        root=root,
        database_url=_resolve_local(values["database_url"], root),
        artifact_url=_resolve_local(values["artifact_url"], root),
        prediction_log_url=_resolve_local(values["prediction_log_url"], root),
        project=values["project"],
        trace_log_url=_resolve_local(values["trace_log_url"], root),
        raw=data,
    )
