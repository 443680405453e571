"""The monitoring policy: what each window is checked for, when a trigger fires, what it does.

It is the ``monitoring:`` key of the ``policy:`` section (``aims.core.policy``
keeps it as given; it is validated here, with errors naming the key)::

    policy:
      monitoring:
        triggers:                        # added to the defaults (same name: replaces one)
          - name: drift_sustained
            when: psi > 0.25 on >= 3 features for 2 consecutive windows
            severity: high
            actions: [webhook, retrain]
          - name: auc_floor
            when: roc_auc < 0.75 with >= 200 labels
            severity: critical
            actions: [rollback, webhook:oncall]
        webhooks:
          oncall: {url: "https://hooks.slack.com/services/...", format: slack}
        retrain: {entry_point: "mypkg.retrain:run"}   # or {command: "python retrain.py {incident} {data}"}
        tiers:
          high: {auto_rollback: true}               # rollback actions run only where allowed
        slices: [origin]                            # performance per value of these inputs
        low_confidence: 0.6

Figures a condition can read (see ``docs/monitoring.md``) are listed in
:data:`WINDOW_FIGURES`, :data:`FEATURE_FIGURES` and :data:`SLICE_FIGURES`; a
misspelt one is an error when the policy is read, not when it should fire.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aims.core import yaml_source
from aims.core.drift import DriftOptions
from aims.core.metric_catalog import METRICS
from aims.core.risk import Tier
from aims.core.triggers import Condition, parse_condition
from aims.errors import ConfigError, InvalidInput
from aims.services.monitor.llm_policy import LlmMonitoring
from aims.services.monitor.settings import parse_duration
from aims.services.monitor.trigger_figures import (
    FEATURE_FIGURES,
    SLICE_FIGURES,
    WINDOW_FIGURES,
    Kind,
    check_figures,
    kind_of,
)

Severity = Literal["low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")
Role = Literal["production", "canary", "shadow"]
ROLES: tuple[Role, ...] = ("production", "canary", "shadow")
ACTIONS = ("incident", "webhook", "retrain", "rollback")

#: Metrics computed on every labelled window (scikit-learn's validation costs a few ms each).
DEFAULT_METRICS: dict[str, tuple[str, ...]] = {
    "classification": ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc"),
    "regression": ("mae", "rmse", "r2"),
}

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WebhookSpec(_Strict):
    """Where and how to POST a notification."""

    url: str
    format: Literal["json", "slack"] = "json"
    """``json``: the incident as an object; ``slack``: ``{"text": ...}`` for incoming webhooks."""
    timeout: float = Field(default=5.0, gt=0, le=120)
    """Seconds per attempt."""
    retries: int = Field(default=3, ge=0, le=10)
    """Attempts after the first, on a network error or a 5xx/429 answer."""
    backoff: float = Field(default=1.0, ge=0, le=60)
    """Seconds before the first retry; doubled before each further one."""
    headers: dict[str, str] = {}

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"a webhook url starts with http:// or https://, got {value!r}")
        return value


class RetrainSpec(_Strict):
    """How a retrain action runs: a shell command or a Python entry point."""

    command: str | None = None
    """Shell command; ``{incident}``, ``{data}``, ``{model}``, ``{version}`` and
    ``{workspace}`` are replaced (shell-quoted)."""
    entry_point: str | None = None
    """``module:function`` called as ``function(workspace, incident_id, data_path)``;
    it returns the new model version (or None)."""
    timeout: float = Field(default=3600.0, gt=0)
    """Seconds a command may run."""

    @model_validator(mode="after")
    def _one_way(self) -> RetrainSpec:
        if (self.command is None) == (self.entry_point is None):
            raise ValueError("give exactly one of command and entry_point")
        if self.entry_point is not None and not re.match(
            r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", self.entry_point
        ):
            raise ValueError(f"entry_point is 'module:function', got {self.entry_point!r}")
        return self


class TierMonitoring(_Strict):
    """What the monitor may do on its own for models of one risk tier."""

    auto_rollback: bool = False
    """Run ``rollback`` actions (put the previous production version back)."""


class DriftSpec(_Strict):
    """Drift tests for feature drift (see ``docs/drift.md``)."""

    tests: dict[str, str] = {}
    thresholds: dict[str, float] = {}
    bins: int = Field(default=10, ge=2, le=100)
    eps: float = Field(default=1e-4, gt=0, lt=0.1)
    drift_share: float = Field(default=0.5, gt=0, le=1)
    correction: Literal["none", "bh"] = "none"

    def options(self) -> DriftOptions:
        return DriftOptions(
            tests=dict(self.tests),
            thresholds=dict(self.thresholds),
            bins=self.bins,
            eps=self.eps,
            drift_share=self.drift_share,
            correction=self.correction,
        )

    @model_validator(mode="after")
    def _known_tests(self) -> DriftSpec:
        try:
            self.options()
        except InvalidInput as exc:
            raise ValueError(exc.message) from None
        return self


class OutputRange(_Strict):
    """Bounds of a regression model's sane outputs."""

    min: float | None = None
    max: float | None = None


class TriggerSpec(_Strict):
    """One trigger: a condition over window results and what to do when it holds."""

    name: str
    when: str
    """The condition (see :mod:`aims.core.triggers`)."""
    severity: Severity = "medium"
    kind: Kind | None = None
    """Incident kind; by default read from the figures the condition uses."""
    roles: list[Role] = list(ROLES)
    task: Literal["classification", "regression", "llm"] | None = None
    """Only for models of this task (``llm``: windows of LLM application versions)."""
    actions: list[str] = []
    """``incident`` (always), ``webhook`` (every webhook), ``webhook:NAME``, ``retrain``, ``rollback``."""
    enabled: bool = True

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                f"a trigger name is lower-case letters, digits, '_', '.' or '-', got {value!r}"
            )
        return value

    @field_validator("when")
    @classmethod
    def _condition(cls, value: str) -> str:
        try:
            check_figures(parse_condition(value))
        except InvalidInput as exc:
            raise ValueError(exc.message) from None
        return value

    @field_validator("actions")
    @classmethod
    def _actions(cls, value: list[str]) -> list[str]:
        for action in value:
            base = action.split(":", 1)[0]
            if base not in ACTIONS or (":" in action and base != "webhook"):
                raise ValueError(
                    f"unknown action {action!r}; use incident, webhook, webhook:NAME, retrain "
                    "or rollback"
                )
        return value

    @property
    def condition(self) -> Condition:
        return parse_condition(self.when)

    @property
    def incident_kind(self) -> Kind:
        return self.kind or kind_of(self.condition)


class MonitoringPolicy(_Strict):
    """The validated ``policy.monitoring`` section."""

    default_triggers: bool = True
    """Keep the built-in triggers (:data:`DEFAULT_TRIGGERS`) beside the ones given here."""
    triggers: list[TriggerSpec] = []
    webhooks: dict[str, WebhookSpec] = {}
    retrain: RetrainSpec | None = None
    tiers: dict[Tier, TierMonitoring] = {}
    drift: DriftSpec = DriftSpec()
    low_confidence: float = Field(default=0.6, gt=0, le=1)
    """A prediction whose top probability is below this is low-confidence."""
    slices: list[str] = []
    """Input columns whose values slice the performance of each window."""
    metrics: list[str] = []
    """Metrics computed on labelled windows besides :data:`DEFAULT_METRICS` and those triggers read."""
    min_slice_labels: int = Field(default=30, ge=1)
    max_slices: int = Field(default=20, ge=1, le=1000)
    """Values per slice column kept (the most frequent)."""
    max_null_increase: float = Field(default=0.05, ge=0, le=1)
    """A column's null share this far above the training data's is a jump."""
    volume_baseline: timedelta = timedelta(days=7)
    """Volume is compared with the same window this long before."""
    output_range: OutputRange | None = None
    """Sane regression outputs; default: the training label's range widened by half of it."""
    reference_rows: int = Field(default=50_000, ge=100, le=5_000_000)
    """Training rows the model predicts once to get the reference outputs."""
    llm: LlmMonitoring = LlmMonitoring()
    """Windows of LLM application versions (see ``docs/llm-monitoring.md``)."""

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, value: list[str]) -> list[str]:
        unknown = [m for m in value if m not in METRICS]
        if unknown:
            raise ValueError(
                f"unknown metric(s) {', '.join(unknown)}; known: {', '.join(sorted(METRICS))}"
            )
        return value

    @field_validator("volume_baseline", mode="before")
    @classmethod
    def _baseline(cls, value: Any) -> timedelta:
        try:
            return parse_duration(value)
        except InvalidInput as exc:
            raise ValueError(exc.message) from None

    @field_validator("tiers", mode="before")
    @classmethod
    def _empty_tier(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: ({} if v is None else v) for k, v in value.items()}
        return value

    def active_triggers(self) -> list[TriggerSpec]:
        """The triggers in force: the defaults (unless switched off), then these by name."""
        out = {t.name: t for t in (DEFAULT_TRIGGERS if self.default_triggers else [])}
        for t in self.triggers:
            out[t.name] = t
        return [t for t in out.values() if t.enabled]

    def metrics_for(self, task: str) -> set[str]:
        """Metrics to compute for ``task``: the defaults, the policy's, and those triggers read."""
        wanted = set(DEFAULT_METRICS.get(task, ())) | set(self.metrics)
        for trigger in self.active_triggers():
            for name in trigger.condition.names:
                base = name.removesuffix("_drop").removesuffix("_vs_production")
                if base in METRICS:
                    wanted.add(base)
        return {m for m in wanted if METRICS[m].task == task}

    def auto_rollback(self, tier: Tier | str) -> bool:
        # A tier without monitoring settings (or an unknown one) never rolls back by itself.
        spec = next((s for t, s in self.tiers.items() if t == tier), None)
        return bool(spec and spec.auto_rollback)


def _default(name: str, when: str, severity: Severity, **extra: Any) -> TriggerSpec:
    return TriggerSpec(name=name, when=when, severity=severity, **extra)


#: The triggers every model gets unless ``default_triggers: false``.
DEFAULT_TRIGGERS: tuple[TriggerSpec, ...] = (
    _default("feature_drift", "psi > 0.25 on >= 20% of features with >= 200 rows", "high"),
    _default("prediction_drift", "prediction_psi > 0.25 with >= 200 rows", "medium"),
    _default("output_sanity", "invalid_output_share > 0", "high"),
    _default("data_health", "health_issues > 0", "high"),
    _default("volume", "volume_change >= 0.4", "medium"),
    _default(
        "accuracy_drop",
        "accuracy_drop > 0.1 with >= 200 labels",
        "high",
        task="classification",
    ),
    _default("r2_drop", "r2_drop > 0.1 with >= 200 labels", "high", task="regression"),
    _default(
        "challenger_worse",
        "accuracy_vs_production < -0.05 with >= 200 labels",
        "medium",
        roles=["canary", "shadow"],
        task="classification",
    ),
    # LLM application versions (docs/llm-monitoring.md).
    _default("llm_cost_spike", "cost_ratio >= 2 with >= 20 rows", "high", task="llm"),
    _default("llm_error_rate", "error_rate_rise >= 0.05 with >= 50 rows", "high", task="llm"),
    _default("llm_refusal_jump", "refusal_rate_rise >= 0.1 with >= 50 rows", "medium", task="llm"),
    _default("llm_text_drift", "text_drift_score >= 1", "medium", task="llm"),
)


def parse_monitoring(data: Any, source: str = "aims.yaml") -> MonitoringPolicy:
    """Validate a ``policy.monitoring`` mapping; errors name the key path.

    Examples
    --------
    >>> p = parse_monitoring({"triggers": [{"name": "nan", "when": "nan_share > 0"}]})
    >>> [t.name for t in p.active_triggers()][-1]
    'nan'
    >>> parse_monitoring({"triggers": [{"name": "x", "when": "psy > 1"}]})
    Traceback (most recent call last):
    ...
    aims.errors.ConfigError: aims.yaml: policy.monitoring.triggers[0].when: unknown window figure 'psy'; did you mean psi?
    """
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: policy.monitoring must be a mapping")
    doc = yaml_source.Document(dict(data), None, source)
    policy: MonitoringPolicy = yaml_source.validate(
        MonitoringPolicy, doc, prefix="policy.monitoring"
    )
    for i, trigger in enumerate(policy.triggers):
        for j, action in enumerate(trigger.actions):
            where = f"{source}: policy.monitoring.triggers[{i}].actions[{j}]"
            base, _, target = action.partition(":")
            if base == "webhook" and not policy.webhooks:
                raise ConfigError(
                    f"{where}: {action!r} needs a webhook under policy.monitoring.webhooks"
                )
            if target and target not in policy.webhooks:
                known = ", ".join(sorted(policy.webhooks))
                raise ConfigError(f"{where}: no webhook named {target!r}; defined: {known}")
            if base == "retrain" and policy.retrain is None:
                raise ConfigError(
                    f"{where}: 'retrain' needs policy.monitoring.retrain "
                    "(a command or an entry_point)"
                )
    return policy


def monitoring_policy(ws: Any) -> MonitoringPolicy:
    """The monitoring policy of workspace ``ws`` (the governance policy's ``monitoring``)."""
    from aims.services.governance import policy_of

    return parse_monitoring(policy_of(ws).monitoring, str(ws.root / "aims.yaml"))


__all__ = [
    "DEFAULT_METRICS",
    "DEFAULT_TRIGGERS",
    "FEATURE_FIGURES",
    "ROLES",
    "SEVERITIES",
    "SLICE_FIGURES",
    "WINDOW_FIGURES",
    "DriftSpec",
    "Kind",
    "MonitoringPolicy",
    "OutputRange",
    "RetrainSpec",
    "Severity",
    "TierMonitoring",
    "TriggerSpec",
    "WebhookSpec",
    "check_figures",
    "kind_of",
    "monitoring_policy",
    "parse_monitoring",
]
