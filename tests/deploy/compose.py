"""Reading ``deploy/compose.yaml`` as Docker Compose would, without Docker.

Compose substitutes ``${VAR:-default}``, ``${VAR}`` and ``$VAR`` from the
shell's environment (``$$`` is a literal ``$``), resolves YAML anchors (the
shared ``x-aims-env``) and runs a service's ``command`` as the arguments of
its image's ``ENTRYPOINT``. The tests here read the file through these
helpers so that what they check is what a ``docker compose up`` would run.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}"
    r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(value: Any, environ: Mapping[str, str] | None = None) -> Any:
    """``value`` with Compose's variable substitution applied (recursively).

    Examples
    --------
    >>> interpolate("a:${X:-dflt}@$$HOME", {})
    'a:dflt@$HOME'
    >>> interpolate(["${X:-d}"], {"X": "set"})
    ['set']
    """
    environ = environ or {}
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            if match["escaped"]:
                return "$"
            name = match["braced"] or match["plain"]
            given = environ.get(name, "")
            if match["default"] is not None and not given:
                return match["default"]
            return given

        return _VARIABLE.sub(sub, value)
    if isinstance(value, list):
        return [interpolate(v, environ) for v in value]
    if isinstance(value, dict):
        return {k: interpolate(v, environ) for k, v in value.items()}
    return value


def load(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The compose file, anchors resolved and variables substituted from ``environ``."""
    return interpolate(yaml.safe_load(COMPOSE.read_text()), environ)


def mounts(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's mounts: container path -> source (``./x`` is relative to deploy/)."""
    out: dict[str, str] = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        out[target] = source
    return out


def published(service: Mapping[str, Any]) -> dict[int, tuple[str, int]]:
    """A service's published ports: container port -> (host address, host port)."""
    out: dict[int, tuple[str, int]] = {}
    for port in service.get("ports", []):
        host, host_port, container = port.split("#")[0].strip().split(":")
        out[int(container)] = (host, int(host_port))
    return out


def build_of(compose: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """The ``build`` section that makes service ``name``'s image (its own, or the service's
    that builds the same ``image`` tag)."""
    service = compose["services"][name]
    if "build" in service:
        return service["build"]
    [build] = [
        s["build"]
        for s in compose["services"].values()
        if "build" in s and s.get("image") == service.get("image")
    ]
    return build


def dockerfile(build: Mapping[str, Any]) -> tuple[Path, list[tuple[str, str]]]:
    """The build context and the instructions of a Dockerfile, continuation lines joined."""
    context = (DEPLOY / build["context"]).resolve()
    text = (context / build["dockerfile"]).read_text().replace("\\\n", " ")
    steps = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            steps.append((keyword.upper(), rest.strip()))
    return context, steps


def entrypoint(compose: Mapping[str, Any], name: str) -> tuple[Path, list[str]]:
    """The script service ``name`` runs (its image's ENTRYPOINT, as copied from this
    repository) and its arguments (the service's ``command``)."""
    service = compose["services"][name]
    context, steps = dockerfile(build_of(compose, name))
    [entry] = [yaml.safe_load(rest) for keyword, rest in steps if keyword == "ENTRYPOINT"]
    copies = {
        shlex.split(rest)[-1]: shlex.split(rest)[0] for keyword, rest in steps if keyword == "COPY"
    }
    installed = {Path(dest).name: source for dest, source in copies.items()}
    return context / installed[entry[0]], list(service.get("command", []))
