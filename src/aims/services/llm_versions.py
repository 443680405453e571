"""Which registered LLM application version a span belongs to.

:func:`version_index` reads a project's LLM application versions in one query;
:meth:`VersionIndex.match` then links spans to them with no I/O. Trace ingest
calls it for every project it takes spans for, so this module stays clear of
the registry's statistics (Polars, the profiles): a server that takes in traces
does not load them for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from aims.storage.schema import Model, ModelVersion
from aims.workspace import Workspace

__all__ = ["LLM_APP_FLAVOUR", "VersionIndex", "version_index"]

#: The flavour of an LLM application version (:data:`aims.flavours.llm_app.FLAVOUR`),
#: written out here because importing the flavours package loads the model stack.
LLM_APP_FLAVOUR = "llm-app"

_STAGE_PREFERENCE = {"production": 0, "canary": 1, "shadow": 2, "staging": 3}


@dataclass(frozen=True)
class _Entry:
    name: str
    version: int
    stage: str
    app_name: str | None
    app_version: str | None
    prompt_hashes: tuple[str, ...]


@dataclass
class VersionIndex:
    """Registered LLM application versions of one project, for matching spans to versions.

    Built by :func:`version_index` in one query; :meth:`match` does no I/O.
    """

    entries: list[_Entry] = field(default_factory=list)
    _by_name: dict[str, list[_Entry]] = field(default_factory=dict, repr=False)
    _by_prompt: dict[str, list[_Entry]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for e in self.entries:
            for key in {e.name, e.app_name} - {None}:
                self._by_name.setdefault(str(key), []).append(e)
            for h in e.prompt_hashes:
                self._by_prompt.setdefault(h, []).append(e)

    def __len__(self) -> int:
        return len(self.entries)

    def match(
        self, *, application: str | None, version: str | None, prompt_sha256: str | None
    ) -> tuple[str, str] | None:
        """The ``(registered name, version)`` a span belongs to, or ``None``.

        In order: the application's name (registered name, or the ``name`` its
        definition declares) with its version (the registry's number, ``v3``, or
        the ``version`` label of the definition); then the system prompt's
        SHA-256 among that application's versions; then the prompt's SHA-256
        among all applications of the project. When several versions share a
        prompt, the one in production (then canary, shadow, staging) wins, else
        the newest.
        """
        named = self._by_name.get(application, []) if application else []
        if named and version:
            label = str(version).strip()
            number = label[1:] if label[:1] in ("v", "V") else label
            for e in sorted(named, key=lambda e: -e.version):
                if e.app_version == label or (number.isdigit() and int(number) == e.version):
                    return e.name, str(e.version)
        if prompt_sha256:
            found = self._by_prompt.get(prompt_sha256.lower(), [])
            if named:
                names = {e.name for e in named}
                own = [e for e in found if e.name in names]
                found = own or found
            if found:
                best = min(found, key=lambda e: (_STAGE_PREFERENCE.get(e.stage, 9), -e.version))
                return best.name, str(best.version)
        return None


def version_index(ws: Workspace, project: str) -> VersionIndex:
    """Every LLM application version registered in ``project``, ready to match spans."""
    with ws.db.session() as s:
        rows = s.execute(
            select(Model.name, ModelVersion.version, ModelVersion.stage, ModelVersion.info)
            .join(Model, Model.id == ModelVersion.model_id)
            .where(Model.project == project, ModelVersion.flavour == LLM_APP_FLAVOUR)
        ).all()
    entries = [
        _Entry(
            name=name,
            version=int(version),
            stage=stage,
            app_name=(info or {}).get("app_name"),
            app_version=(info or {}).get("app_version"),
            prompt_hashes=tuple((info or {}).get("prompt_hashes") or ()),
        )
        for name, version, stage, info in rows
    ]
    return VersionIndex(entries)
