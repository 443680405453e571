"""The guard on production's door: a new version must accept what the old one did.

Callers of a model keep sending what its production version accepted. Before
a promotion or a rollback puts another version there, its input contract is
compared with the outgoing version's (:mod:`aims.core.contract.compat`); any
rule that would refuse traffic accepted today stops the change, unless the
person forces it with a reason, which the audit event keeps with the
difference.
"""

from __future__ import annotations

from typing import Any

from aims.errors import Conflict, InvalidInput
from aims.storage.schema import ModelVersion

__all__ = ["ContractNarrowed", "check_force_reason", "narrowed", "refuse"]


class ContractNarrowed(Conflict):
    """The incoming version's input contract refuses requests the outgoing one accepts."""


def narrowed(outgoing: ModelVersion | None, incoming: ModelVersion) -> list[dict[str, Any]]:
    """What ``incoming``'s input contract refuses that ``outgoing``'s accepts (JSON-ready)."""
    from aims.core.contract import parse_contract
    from aims.core.contract.compat import narrowings

    if outgoing is None or outgoing.id == incoming.id:
        return []
    old = (
        parse_contract(outgoing.input_contract, source=f"input contract of v{outgoing.version}")
        if outgoing.input_contract
        else None
    )
    new = (
        parse_contract(incoming.input_contract, source=f"input contract of v{incoming.version}")
        if incoming.input_contract
        else None
    )
    return [n.to_dict() for n in narrowings(old, new)]


def check_force_reason(force_reason: str | None) -> None:
    """A forced change needs a reason that says why breaking callers is acceptable."""
    if force_reason is not None and not force_reason.strip():
        raise InvalidInput("--force needs a reason: --force --reason 'why callers may break'")


def refuse(what: str, outgoing: int, incoming: int, diff: list[dict[str, Any]]) -> None:
    """Raise :class:`ContractNarrowed` naming every difference and the way to force it."""
    lines = "\n".join(f"  - {d['field']}: {d['rule']} {d['before']} -> {d['after']}" for d in diff)
    raise ContractNarrowed(
        f"{what} refused, nothing changed: v{incoming}'s input contract would refuse requests "
        f"v{outgoing} accepts:\n{lines}\nfix the contract (aims model register ... --contract "
        "FILE), or run again with --force --reason 'why' (audited)"
    )
