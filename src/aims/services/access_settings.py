"""Settings of access control: the ``access:`` section of ``aims.yaml``.

Every key is optional::

    access:
      elevation_required: [promote, rollback]  # acts that need an approved elevation
      elevation_max: 8h        # longest elevation one may request
      key_rotation: 90d        # keys older than this are flagged by 'aims access review'
      unused_grant: 90d        # grants not used for this long are flagged
      refused_burst: 20        # refused calls of one caller within refused_window open
      refused_window: 5m       #   a security incident (once per burst)

``elevation_required`` lists acts (``promote``: to production; ``rollback``)
for which no standing grant suffices: the actor must hold an approved, unlapsed
elevation to ``operator`` or higher on the model's project.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aims.errors import ConfigError, InvalidInput

__all__ = ["ELEVATED_ACTS", "AccessSettings", "access_settings", "seconds_of"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def seconds_of(value: Any) -> float:
    """Seconds of a duration written ``90s``, ``30m``, ``8h``, ``90d`` or ``1w`` (or a number).

    Examples
    --------
    >>> seconds_of("30m"), seconds_of("1.5h"), seconds_of(20)
    (1800.0, 5400.0, 20.0)
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _DURATION.match(str(value))
    if match is None:
        raise InvalidInput(f"{value!r} is not a duration; write e.g. 90s, 30m, 8h or 90d")
    return float(match.group(1)) * _UNITS[match.group(2)]


ELEVATED_ACTS = ("promote", "rollback")
"""Acts that ``access.elevation_required`` may name."""


@dataclass(frozen=True)
class AccessSettings:
    """Resolved ``access:`` settings (see the module docstring)."""

    elevation_required: tuple[str, ...] = ()
    elevation_max_seconds: float = 8 * 3600.0
    key_rotation_days: float = 90.0
    unused_grant_days: float = 90.0
    refused_burst: int = 20
    refused_window_seconds: float = 300.0


_DURATIONS = {
    "elevation_max": ("elevation_max_seconds", 1.0),
    "key_rotation": ("key_rotation_days", 86400.0),
    "unused_grant": ("unused_grant_days", 86400.0),
    "refused_window": ("refused_window_seconds", 1.0),
}


def access_settings(ws: Any) -> AccessSettings:
    """The ``access:`` settings of ``ws``; ``ConfigError`` naming the key when one is wrong."""
    where = f"{ws.root}/aims.yaml: access"
    section = ws.settings.raw.get("access") or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{where} must be a mapping of settings")
    known = {"elevation_required", "refused_burst", *_DURATIONS}
    unknown = sorted(set(section) - known)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known keys are {', '.join(sorted(known))}"
        )
    values: dict[str, Any] = {}
    acts = section.get("elevation_required", [])
    if not isinstance(acts, list) or any(a not in ELEVATED_ACTS for a in acts):
        raise ConfigError(
            f"{where}.elevation_required must be a list of {', '.join(ELEVATED_ACTS)}, got {acts!r}"
        )
    values["elevation_required"] = tuple(acts)
    for key, (field, unit) in _DURATIONS.items():
        if key not in section:
            continue
        try:
            seconds = seconds_of(section[key])
        except InvalidInput as exc:
            raise ConfigError(f"{where}.{key}: {exc.message}") from None
        if seconds <= 0:
            raise ConfigError(f"{where}.{key} must be longer than zero, got {section[key]!r}")
        values[field] = seconds / unit
    if "refused_burst" in section:
        burst = section["refused_burst"]
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise ConfigError(f"{where}.refused_burst must be a positive integer, got {burst!r}")
        values["refused_burst"] = burst
    return AccessSettings(**values)
