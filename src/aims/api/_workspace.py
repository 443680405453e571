"""``aims.Workspace``: the lifecycle from Python, over the services the CLI uses.

Every method calls the same service function as the matching command, so the
checks, the errors (:class:`aims.errors.AimsError` subclasses) and the audit
events are the same; only the inputs differ: tables and fitted estimators in
memory instead of files. Those are written into the workspace (``.aims/frames``
for tables, a skops file for models) before registration, so the store keeps
what it always keeps: a file with a hash.

Results are the plain dicts that ``--format json`` prints for the same command.
In a workspace in team mode (``identity: team``) the methods that write
governance records are refused with the command's own message
(:class:`aims.errors.PermissionDenied`): acts go through the server there.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from aims.errors import InvalidInput

FRAMES_DIR = "frames"
"""Folder under ``.aims/`` that holds the tables registered or evaluated from memory."""


class Workspace:
    """An aims workspace opened from Python.

    Parameters
    ----------
    path
        The workspace folder (default: ``$AIMS_WORKSPACE``, else the current
        folder or a parent), as for ``aims --workspace``.
    actor
        Who acts (recorded in the audit log); default ``$AIMS_USER``, else the
        operating-system user, as for the CLI.

    Examples
    --------
    >>> import aims, tempfile
    >>> ws = aims.Workspace.init(tempfile.mkdtemp(), policy="minimal")
    >>> ws.models()
    []
    >>> ws.close()
    """

    def __init__(self, path: str | Path | None = None, *, actor: str | None = None) -> None:
        from aims.workspace import Workspace as _Store

        self._ws = _Store.open(Path(path) if path is not None else None)
        self._actor = actor

    @classmethod
    def init(
        cls,
        path: str | Path,
        *,
        project: str = "default",
        policy: str = "strict",
        actor: str | None = None,
    ) -> Workspace:
        """Create a workspace in ``path`` (as ``aims init --policy``) and open it.

        ``policy`` is ``minimal``, ``standard`` or ``strict``; see docs/policy.md.
        """
        from aims.starter import check_preset, starter_config
        from aims.workspace import init_workspace

        preset = check_preset(policy)
        root = init_workspace(Path(path), project, config_text=starter_config(project, preset))
        return cls(root, actor=actor)

    # -- the basics --------------------------------------------------------------

    @property
    def root(self) -> Path:
        """The workspace folder."""
        return self._ws.root

    @property
    def actor(self) -> str:
        """Who acts: the ``actor`` given when opening, else ``$AIMS_USER`` or the OS user."""
        from aims.workspace import current_actor

        return self._actor or current_actor()

    def act_as(self, actor: str) -> Workspace:
        """The same workspace with another actor (e.g. a second person who approves)."""
        other = object.__new__(Workspace)
        other._ws = self._ws
        other._actor = actor
        return other

    def close(self) -> None:
        """Release the connection to the metadata store."""
        self._ws.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<aims.Workspace {str(self.root)!r} actor={self.actor!r}>"

    def _refuse_in_team_mode(self, command: str) -> None:
        """Refuse a governance write in a team-mode workspace, as ``aims COMMAND`` is refused:
        there, governance acts go through the server under the actor's own key."""
        from aims.errors import PermissionDenied
        from aims.services.team_mode import store_write_refusal

        refusal = store_write_refusal(self._ws, command)
        if refusal is not None:
            raise PermissionDenied(refusal)

    # -- registry ----------------------------------------------------------------

    def register_dataset(
        self, data: Any, name: str, *, contract: str | Path | None = None
    ) -> dict[str, Any]:
        """Register a table (pandas, Polars, PyArrow) or a data file as a version of ``name``.

        The same content registered again gives the existing version (``created``
        is then false). With ``contract`` (an ODCS file), data that breaks it is
        refused with :class:`aims.errors.ContractViolation`.
        """
        from aims.services.registry import register_dataset

        self._refuse_in_team_mode("dataset register")
        path = data if isinstance(data, str | Path) else self._frame_file(data, name)
        payload, created = register_dataset(
            self._ws,
            Path(path),
            name,
            actor=self.actor,
            contract_path=Path(contract) if contract is not None else None,
        )
        return {**payload, "created": created}

    def register_model(
        self,
        model: Any,
        name: str,
        *,
        dataset: str | Sequence[str] = (),
        owners: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None,
        contract: str | Path | None = None,
    ) -> dict[str, Any]:
        """Register a fitted scikit-learn estimator (saved with skops), a model file, or an
        LLM application's YAML file, as ``aims model register``.

        Parameters
        ----------
        model
            A fitted estimator or pipeline, the path of a ``.skops`` / ``.onnx`` file, or
            the path of a ``.yaml`` / ``.yml`` file, which is read as an LLM application
            (``kind: llm-application``; its errors name their line).
        dataset
            The training data as ``NAME@VERSION`` (one or several): lineage is required
            for a model; for an LLM application it is optional (the data the prompt was
            tuned on, if any).
        owners
            Owner by role: ``development``, ``deployment``, ``monitoring``, ``business``.
        """
        from aims.services.registry import parse_owners, register_model

        self._refuse_in_team_mode("model register")
        datasets = [dataset] if isinstance(dataset, str) else list(dataset)
        owner_map = parse_owners([f"{k}={v}" for k, v in (owners or {}).items()])
        if isinstance(model, str | Path) and Path(model).suffix.lower() in (".yaml", ".yml"):
            from aims.services.llm_apps import register_app

            if contract is not None:
                raise InvalidInput(
                    f"{model}: an LLM application has no input contract (it is not served by "
                    "aims); leave out contract="
                )
            return register_app(
                self._ws,
                Path(model),
                name,
                actor=self.actor,
                datasets=datasets,
                owners=owner_map,
                params=params,
                metrics=dict(metrics or {}),
                tags=dict(tags or {}),
            )
        kwargs: dict[str, Any] = {
            "actor": self.actor,
            "datasets": datasets,
            "owners": owner_map,
            "params": params,
            "metrics": dict(metrics or {}),
            "tags": dict(tags or {}),
            "contract_path": Path(contract) if contract is not None else None,
        }
        if isinstance(model, str | Path):
            return register_model(self._ws, Path(model), name, **kwargs)
        with tempfile.TemporaryDirectory(prefix="aims-model-") as tmp:
            artifact = Path(tmp) / f"{name}.skops"
            _dump_skops(model, artifact)
            return register_model(self._ws, artifact, name, **kwargs)

    def datasets(self) -> list[dict[str, Any]]:
        """Every dataset version (as ``aims dataset list --format json``)."""
        from aims.services.registry import list_datasets

        return list_datasets(self._ws)

    def models(self) -> list[dict[str, Any]]:
        """Every model with its production version and owners (as ``aims model list``)."""
        from aims.services.registry import list_models

        return list_models(self._ws)

    def model(self, ref: str) -> dict[str, Any]:
        """A model (``NAME``: every version) or one version (``NAME@VERSION``)."""
        from aims.services import registry

        return (
            registry.show_version(self._ws, ref) if "@" in ref else registry.describe(self._ws, ref)
        )

    def set_owners(self, name: str, owners: Mapping[str, str]) -> dict[str, str]:
        """Set owners of model ``name`` by role (as ``aims model owners``)."""
        from aims.services.registry import parse_owners, set_owners

        self._refuse_in_team_mode("model owners")
        return set_owners(
            self._ws,
            name,
            parse_owners([f"{k}={v}" for k, v in owners.items()]),
            actor=self.actor,
        )

    # -- governance --------------------------------------------------------------

    def evaluate(
        self,
        ref: str,
        data: Any = None,
        *,
        label: str | None = None,
        sensitive: Iterable[str] = (),
        shap: bool = False,
        endpoint: str | None = None,
        endpoint_model: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        judge_model: str | None = None,
        from_traces: bool = False,
        since: str | None = None,
    ) -> dict[str, Any]:
        """Evaluate ``NAME@VERSION`` on labelled data (a table or a file), as ``aims evaluate``.

        The production version, if any, is evaluated beside it; the result is
        stored and feeds the policy's gates.

        For an LLM application version, ``data`` is a JSONL file of cases; the
        answers are given in the cases or asked of the OpenAI-compatible
        ``endpoint`` (``endpoint_model``, ``api_key_env`` and ``judge_model`` as
        the command's options); ``from_traces=True`` (with ``since``) instead
        takes in the evaluation results found on the version's spans.
        """
        from aims.services.governance import evaluate
        from aims.services.llm_apps import is_llm_app_version

        self._refuse_in_team_mode("evaluate")
        if is_llm_app_version(self._ws, ref):
            from aims.api._llm_apps import evaluate_app

            return evaluate_app(
                self._ws,
                self.actor,
                ref,
                data,
                endpoint=endpoint,
                endpoint_model=endpoint_model,
                api_key_env=api_key_env,
                judge_model=judge_model,
                from_traces=from_traces,
                since=since,
            )
        if endpoint or endpoint_model or judge_model or from_traces or since:
            raise InvalidInput(
                f"{ref} is a predictive model; endpoint, endpoint_model, judge_model, "
                "from_traces and since apply to LLM applications only"
            )
        if data is None:
            raise InvalidInput(f"give the evaluation data of {ref} (a table or a file path)")
        path = data if isinstance(data, str | Path) else self._frame_file(data, "evaluation")
        return evaluate(
            self._ws,
            ref,
            Path(path),
            actor=self.actor,
            label=label,
            sensitive=list(sensitive),
            shap=shap,
        )

    def assess_risk(self, name: str, file: str | Path) -> dict[str, Any]:
        """Record a risk assessment of model ``name`` from a YAML file (``aims risk assess``)."""
        from aims.services.governance import assess_risk

        self._refuse_in_team_mode("risk assess")
        return assess_risk(self._ws, name, Path(file), actor=self.actor)

    def approve(self, ref: str, *, note: str = "") -> dict[str, Any]:
        """Approve ``NAME@VERSION`` as :attr:`actor` (never the person who registered it)."""
        from aims.services.governance import approve

        self._refuse_in_team_mode("approve")
        return approve(self._ws, ref, actor=self.actor, note=note)

    def gates(self, ref: str, *, stage: str = "production") -> dict[str, Any]:
        """Every rule the policy applies to promoting ``NAME@VERSION`` to ``stage``."""
        from aims.services.governance import gates

        return gates(self._ws, ref, stage)

    # -- lifecycle ---------------------------------------------------------------

    def promote(
        self,
        ref: str,
        *,
        stage: str = "production",
        canary: float | None = None,
        shadow: bool = False,
        reason: str = "",
    ) -> dict[str, Any]:
        """Promote ``NAME@VERSION`` through the policy's checks (``aims promote``).

        Raises :class:`aims.errors.GateFailed` listing every unmet rule.
        """
        from aims.services.lifecycle import promote

        self._refuse_in_team_mode("promote")
        if canary is not None and shadow:
            raise InvalidInput("choose one of canary=PCT and shadow=True")
        if stage not in ("staging", "production"):
            raise InvalidInput(f"stage {stage!r}: use staging or production")
        target = "canary" if canary is not None else "shadow" if shadow else stage
        return promote(self._ws, ref, target, actor=self.actor, reason=reason, traffic=canary)

    def rollback(self, name: str, *, reason: str = "") -> dict[str, Any]:
        """Put the previous production version of ``name`` back (``aims rollback``)."""
        from aims.services.lifecycle import rollback

        self._refuse_in_team_mode("rollback")
        return rollback(self._ws, name, actor=self.actor, reason=reason)

    def history(self, name: str) -> list[dict[str, Any]]:
        """Who moved which version of ``name`` where, when and why."""
        from aims.services.lifecycle import history

        return history(self._ws, name)

    # -- helpers -----------------------------------------------------------------

    def _frame_file(self, data: Any, stem: str) -> Path:
        """Write a table to ``.aims/frames/<stem>-<hash>.parquet`` and return the path.

        The name holds the content's hash, so the same table gives the same file
        (and the registry recognises a version it already has).
        """
        from aims.core.frames import to_polars

        frame = to_polars(data)
        folder = self._ws.settings.state_dir / FRAMES_DIR
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=folder, suffix=".parquet.tmp")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            frame.write_parquet(tmp)
            digest = hashlib.sha256(tmp.read_bytes()).hexdigest()[:16]
            final = folder / f"{stem}-{digest}.parquet"
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        return final


def _dump_skops(model: Any, path: Path) -> None:
    """Save a fitted estimator with skops; refuse objects that are not estimators."""
    if not hasattr(model, "predict"):
        raise InvalidInput(
            f"cannot register a {type(model).__name__} as a model: give a fitted scikit-learn "
            "estimator or pipeline, or the path of a .skops or .onnx file"
        )
    from skops.io import dump

    dump(model, path)
