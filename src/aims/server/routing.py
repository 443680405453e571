"""Which version serves a request: production, a canary by stable hash, and a shadow copy.

A :class:`RoutingTable` is an immutable snapshot of what is served. The
deployment watcher builds a new one when the store changes and swaps it in
with one assignment; a request reads the table once when it starts, so it
finishes on the versions it began with.

Canary routing hashes the request's routing key into one of
:data:`BUCKETS` buckets; buckets below ``traffic × BUCKETS / 100`` go to the
canary. The same key therefore always lands on the same version, and raising
the canary's share only moves keys from production to the canary, never back.
A request without a key is assigned at random with the same probability.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

BUCKETS = 10_000
"""Resolution of the canary share: 0.01 percentage points."""

ROLES = ("production", "canary", "shadow")


def bucket(model: str, key: str) -> int:
    """The stable bucket in ``[0, BUCKETS)`` of routing ``key`` for ``model``.

    The model name is part of the hash so that the canaries of two models do
    not pick the same callers.

    Examples
    --------
    >>> bucket("churn", "customer-42") == bucket("churn", "customer-42")
    True
    >>> 0 <= bucket("churn", "customer-42") < BUCKETS
    True
    """
    digest = hashlib.blake2b(f"{model}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


@dataclass(frozen=True, eq=False)
class ServedVersion:
    """One loaded model version with everything a request needs, computed once."""

    model: str
    project: str
    version: int
    version_id: int
    artifact_sha256: str
    flavour: str
    task: str
    features: tuple[str, ...]
    """The columns the model reads, in order."""
    classes: tuple[Any, ...] | None
    loaded: Any
    """The :class:`~aims.flavours.LoadedModel`."""
    validator: Any
    """A :class:`~aims.core.contract.RecordValidator` (or None: no contract, no features)."""
    logged_columns: tuple[str, ...]
    """Input columns written to the prediction log (the contract's, less the label)."""
    pii: Mapping[str, str]
    """Personal-data columns and their handling (``hash`` or ``drop``)."""
    key_column: str | None
    """The contract's business key (its primary-key column), logged as ``key``."""
    contract_summary: list[dict[str, Any]]
    loaded_at: datetime


@dataclass(frozen=True)
class ModelRoutes:
    """The versions that serve one model."""

    name: str
    project: str
    production: ServedVersion | None
    canary: ServedVersion | None = None
    traffic: float = 0.0
    """Share of requests (percent) sent to the canary."""
    shadow: ServedVersion | None = None
    _threshold: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        share = self.traffic if self.canary is not None else 0.0
        object.__setattr__(self, "_threshold", round(share * BUCKETS / 100))

    def choose(self, key: str | None) -> tuple[ServedVersion, str] | None:
        """The version and role that answer a request with routing ``key``; None if nothing."""
        if self.production is None:
            return None
        if self._threshold and self.canary is not None:
            b = bucket(self.name, key) if key is not None else random.randrange(BUCKETS)
            if b < self._threshold:
                return self.canary, "canary"
        return self.production, "production"

    def served(self) -> Iterator[tuple[ServedVersion, str]]:
        """Every served version with its role."""
        for version, role in (
            (self.production, "production"),
            (self.canary, "canary"),
            (self.shadow, "shadow"),
        ):
            if version is not None:
                yield version, role

    def describe(self) -> dict[str, Any]:
        """What ``GET /v1/models/{name}`` returns."""
        return {
            "name": self.name,
            "project": self.project,
            "versions": [
                {
                    "version": v.version,
                    "role": role,
                    "traffic": self.traffic if role == "canary" else None,
                    "flavour": v.flavour,
                    "task": v.task,
                    "features": list(v.features),
                    "classes": list(v.classes) if v.classes is not None else None,
                    "artifact_sha256": v.artifact_sha256,
                    "loaded_at": v.loaded_at.isoformat(),
                    "input_contract": v.contract_summary,
                }
                for v, role in self.served()
            ],
        }


@dataclass(frozen=True)
class RoutingTable:
    """An immutable snapshot of every served model, keyed by name."""

    models: Mapping[str, ModelRoutes] = field(default_factory=dict)
    fingerprint: tuple[Any, ...] = ()
    """What the store looked like when the table was built (see the deployment watcher)."""

    def get(self, name: str) -> ModelRoutes | None:
        return self.models.get(name)

    def loaded(self) -> dict[tuple[int, str], ServedVersion]:
        """Loaded versions by (version row id, artifact sha256), to reuse across rebuilds."""
        return {
            (v.version_id, v.artifact_sha256): v
            for routes in self.models.values()
            for v, _ in routes.served()
        }
