"""The crosswalk: each ISO/IEC 42001 Annex A control and its counterparts elsewhere.

Evidence is recorded once, against one control. Annex A is the hub: evidence
recorded against an Annex A control (a document kept outside aims, a finding
of an internal audit) also counts for that control's counterparts in the NIST
AI RMF and the EU AI Act, so nobody enters it three times. Evidence recorded
against a NIST or EU identifier counts for that control alone: a category or
an article is broader than any one Annex A control, and spreading it back
would claim more than it shows.

The pairings are aims' own reading of the three texts (which subject each
control is about), not an official mapping.

Examples
--------
>>> counterparts("A.2.2")
('GOVERN 1', 'Art. 17')
>>> sorted(sources("Art. 73"))
['A.8.3', 'A.8.4', 'Art. 73']
>>> sources("GOVERN 3")
('A.4.6', 'GOVERN 3')
"""

from __future__ import annotations

from types import MappingProxyType

_NIST_EU: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "A.2.2": (("GOVERN 1",), ("Art. 17",)),
    "A.2.3": (("GOVERN 1",), ("Art. 17",)),
    "A.2.4": (("GOVERN 1",), ("Art. 17",)),
    "A.3.2": (("GOVERN 2", "GOVERN 2.1"), ("Art. 17",)),
    "A.3.3": (("GOVERN 4", "GOVERN 5"), ()),
    "A.4.2": (("MAP 4",), ("Art. 11",)),
    "A.4.3": (("MAP 4",), ("Art. 10",)),
    "A.4.4": (("GOVERN 6",), ("Art. 11",)),
    "A.4.5": ((), ("Art. 11",)),
    "A.4.6": (("GOVERN 3",), ()),
    "A.5.2": (("MAP 1", "MAP 5"), ("Art. 9",)),
    "A.5.3": (("MAP 5",), ("Art. 9",)),
    "A.5.4": (("MAP 5", "MEASURE 2.11"), ("Art. 9",)),
    "A.5.5": (("MAP 5",), ("Art. 9",)),
    "A.6.1.2": (("MEASURE 1",), ("Art. 17",)),
    "A.6.1.3": (("GOVERN 4.3",), ("Art. 17",)),
    "A.6.2.2": (("MAP 1.1",), ("Art. 13",)),
    "A.6.2.3": (("MAP 2",), ("Art. 11",)),
    "A.6.2.4": (("MEASURE 2", "MEASURE 2.5"), ("Art. 15",)),
    "A.6.2.5": (("MANAGE 1",), ("Art. 14",)),
    "A.6.2.6": (("MEASURE 2.4", "MANAGE 4.1"), ("Art. 72",)),
    "A.6.2.7": (("MAP 2",), ("Art. 11",)),
    "A.6.2.8": (("GOVERN 1.6",), ("Art. 12",)),
    "A.7.2": (("MAP 4",), ("Art. 10",)),
    "A.7.3": (("MAP 4",), ("Art. 10",)),
    "A.7.4": (("MAP 4",), ("Art. 10",)),
    "A.7.5": (("MAP 4",), ("Art. 10",)),
    "A.7.6": (("MAP 4",), ("Art. 10",)),
    "A.8.2": (("MAP 1.1",), ("Art. 13",)),
    "A.8.3": (("GOVERN 5", "MANAGE 4"), ("Art. 73",)),
    "A.8.4": (("MANAGE 4.3",), ("Art. 73",)),
    "A.8.5": (("GOVERN 5",), ("Art. 13",)),
    "A.9.2": (("MANAGE 1",), ("Art. 14", "Art. 26")),
    "A.9.3": (("MANAGE 2",), ()),
    "A.9.4": (("MAP 1.1",), ("Art. 13",)),
    "A.10.2": (("GOVERN 6", "GOVERN 6.1", "MANAGE 3"), ()),
    "A.10.3": (("GOVERN 6", "GOVERN 6.1", "MANAGE 3", "MANAGE 3.1"), ("Art. 17",)),
    "A.10.4": (("GOVERN 5",), ()),
}

CROSSWALK: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {iso: nist + eu for iso, (nist, eu) in _NIST_EU.items()}
)
"""Each Annex A control and the NIST AI RMF and EU AI Act controls it evidences."""


def counterparts(control_id: str) -> tuple[str, ...]:
    """The NIST and EU controls that evidence recorded against ``control_id`` also counts for."""
    return CROSSWALK.get(control_id, ())


def sources(control_id: str) -> tuple[str, ...]:
    """The controls whose recorded evidence counts for ``control_id``: itself and, for a NIST
    or EU control, every Annex A control that maps to it (sorted)."""
    found = {control_id}
    found.update(iso for iso, targets in CROSSWALK.items() if control_id in targets)
    return tuple(sorted(found))


def related(control_id: str) -> tuple[str, ...]:
    """Every control in other catalogues paired with ``control_id``, in either direction."""
    if control_id in CROSSWALK:
        return CROSSWALK[control_id]
    return tuple(iso for iso, targets in CROSSWALK.items() if control_id in targets)


__all__ = ["CROSSWALK", "counterparts", "related", "sources"]
