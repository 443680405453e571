"""The starter ``aims.yaml`` that ``aims init`` writes, and the next steps it prints.

The file is written as commented text rather than dumped from a dict, so a
newcomer reads, next to each setting, what it does and what to change. The
policy presets differ only in ``default_tier`` (the tier of a model that has no
risk assessment yet); the tiers themselves are the default policy's, so a risk
assessment puts a model under the same rules in every workspace.
"""

from __future__ import annotations

import textwrap
from enum import Enum
from typing import Literal, cast

from aims.errors import InvalidInput

__all__ = [
    "PRESET_NEEDS",
    "PRESET_TIER",
    "PolicyPreset",
    "Preset",
    "check_preset",
    "next_steps",
    "starter_config",
]

Preset = Literal["minimal", "standard", "strict"]

PRESET_TIER: dict[str, str] = {"minimal": "minimal", "standard": "limited", "strict": "high"}
"""The default tier each ``aims init --policy`` preset selects."""

PRESET_NEEDS: dict[str, str] = {
    "minimal": (
        "one approval by someone other than the author, and development, deployment and "
        "monitoring owners"
    ),
    "standard": (
        "a risk assessment, one approval by someone other than the author, development, "
        "deployment, monitoring and business owners, and no loss of accuracy against "
        "production"
    ),
    "strict": (
        "a risk assessment, two approvals by people holding the approver role (never the "
        "author), four owners, and gates on accuracy, calibration and fairness"
    ),
}
"""What promotion to production needs under each preset, in one sentence (every tier
asks for deployment and monitoring owners before production)."""

_HEADER = """\
# aims workspace settings. Every key below can be changed; see docs/policy.md and
# docs/security.md. AIMS_* environment variables override the store settings
# (AIMS_DATABASE_URL, AIMS_ARTIFACT_URL, AIMS_PREDICTION_LOG_URL, AIMS_PROJECT).
version: 1

# The project (tenant) new models and datasets belong to; API keys are per project.
project: {project}

# Who acts. local: one person, the actor is $AIMS_USER or your OS user. team:
# governance writes go through the server as the signed-in principal (switch
# with 'aims team enable'; see docs/security.md). AIMS_IDENTITY overrides it.
identity: local

# Where aims keeps its state. The defaults are local to this folder (.aims/);
# point database_url at PostgreSQL and artifact_url at S3 for a team.
store:
  database_url: sqlite:///.aims/aims.db
  artifact_url: .aims/artifacts
  prediction_log_url: .aims/predictions

# Who holds which role. The actor of a command is $AIMS_USER (else your login
# name), so on one machine you act as another person with, for example:
#   AIMS_USER=raj@example.org aims approve delay@1
# Approvals record the roles the approver held at that moment: give the role
# before the approval, or the approval will not count for that role.
# Roles: approver (counts for approvals.roles), admin (may override a refused
# promotion with --reason), operator. Replace these examples with your team.
people:
  ana@example.org: []            # a data scientist: registers models (cannot approve her own)
  raj@example.org: [approver]    # approves model versions
  kim@example.org: [approver]    # a second approver (the strict policy asks for two)
  lee@example.org: [admin]       # may override a refused promotion, with a reason

"""

_POLICY_INTRO = (
    "What a model version needs before promotion (docs/policy.md). The rules depend on "
    "the model's risk tier (EU AI Act classes): its latest 'aims risk assess' sets it, "
    "else default_tier applies. This workspace was made with 'aims init --policy {preset}': "
    "a model without a risk assessment needs {needs}. Presets: minimal (default_tier: "
    "minimal), standard (limited), strict (high)."
)


class PolicyPreset(str, Enum):
    """The presets of ``aims init --policy``."""

    minimal = "minimal"
    standard = "standard"
    strict = "strict"


def check_preset(preset: str) -> Preset:
    """Return ``preset`` if it names a policy preset, else raise :class:`InvalidInput`."""
    if preset not in PRESET_TIER:
        raise InvalidInput(
            f"--policy {preset!r} is not a policy preset; use one of "
            + ", ".join(PRESET_TIER)
            + " (strict suits a real workspace, minimal suits learning)"
        )
    return cast(Preset, preset)  # checked against the presets above


def starter_config(project: str = "default", preset: str = "strict") -> str:
    """The text of a new ``aims.yaml``: commented settings, example people and the policy.

    Examples
    --------
    >>> import yaml
    >>> data = yaml.safe_load(starter_config("credit", "minimal"))
    >>> data["project"], data["policy"]["default_tier"]
    ('credit', 'minimal')
    """
    from aims.core.policy import DEFAULT_POLICY_YAML

    preset = check_preset(preset)
    policy = DEFAULT_POLICY_YAML.replace(
        "  default_tier: high\n",
        f"  default_tier: {PRESET_TIER[preset]}"
        "              # tier of a model with no risk assessment yet\n",
        1,
    )
    if policy == DEFAULT_POLICY_YAML:  # the default policy's text changed: keep the two in step
        raise RuntimeError("the default policy no longer has a 'default_tier: high' line")
    # The default policy's own header comment is replaced by the longer one here.
    body = "".join(line for line in policy.splitlines(True) if not line.startswith("#"))
    intro = textwrap.fill(
        _POLICY_INTRO.format(preset=preset, needs=PRESET_NEEDS[preset]),
        width=86,
        initial_indent="# ",
        subsequent_indent="# ",
    )
    return _HEADER.format(project=_scalar(project)) + intro + "\n" + body


def _scalar(text: str) -> str:
    """``text`` as a YAML scalar: bare when it is a plain name, else quoted."""
    import json
    import re

    return text if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", text) else json.dumps(text)


def next_steps(root: str, preset: str) -> list[str]:
    """What to do after ``aims init``, as lines to print."""
    return [
        f"policy: {preset} (a model without a risk assessment needs {PRESET_NEEDS[preset]})",
        "next steps:",
        f"  cd {root} and edit aims.yaml: list your people and their roles under people:",
        "  aims contract infer train.parquet --label LABEL --out data.odcs.yaml",
        "  aims dataset register train.parquet --name NAME --contract data.odcs.yaml",
        "  aims model register model.skops --name MODEL --dataset NAME@1 "
        "--owner development=YOU@example.org --owner deployment=OPS@example.org "
        "--owner monitoring=ONCALL@example.org",
        "  aims evaluate MODEL@1 --data holdout.parquet --label LABEL",
        "  aims gates MODEL@1          # what promotion still needs, rule by rule",
        "  AIMS_USER=raj@example.org aims approve MODEL@1   # approve as another person",
        "  aims promote MODEL@1 --stage production",
        "the policy, tiers and roles: docs/policy.md",
    ]
