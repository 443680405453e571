"""The NIST AI RMF 1.0 core (GOVERN, MAP, MEASURE, MANAGE) as a catalogue for aims.

Every category of the four functions is listed, plus the subcategories for
which aims holds specific evidence (inventory, roles, production monitoring,
fairness, incident tracking...). Titles and descriptions are short summaries
written for aims, not the framework's text.

Examples
--------
>>> [c.id for c in NIST_AI_RMF.controls if c.id.startswith("MANAGE")][:3]
['MANAGE 1', 'MANAGE 2', 'MANAGE 2.4']
"""

from __future__ import annotations

from aims.core.standards.catalogue import Control, Standard, rule

_GOVERN = "GOVERN: a culture of risk management"
_MAP = "MAP: context and risks identified"
_MEASURE = "MEASURE: risks analysed and tracked"
_MANAGE = "MANAGE: risks prioritised and acted on"

CONTROLS: tuple[Control, ...] = (
    Control(
        "GOVERN 1",
        "Policies and processes in place",
        "Policies, processes and practices for mapping, measuring and managing AI risk exist, "
        "are transparent and are applied.",
        rules=(
            rule("policy", needs=["risk_assessment", "approvals", "gates"]),
            rule("audit_chain"),
        ),
        outside="Keep the written AI risk policy that the promotion policy implements.",
        group=_GOVERN,
    ),
    Control(
        "GOVERN 1.6",
        "An inventory of AI systems",
        "AI systems are inventoried, with resources allocated according to risk.",
        rules=(rule("inventory"),),
        group=_GOVERN,
    ),
    Control(
        "GOVERN 2",
        "Accountability",
        "Teams and people are assigned responsibility for AI risk, with the authority and "
        "training to act.",
        rules=(rule("owners"), rule("roles"), rule("access_review")),
        outside="Train the people who hold these roles and record it.",
        group=_GOVERN,
    ),
    Control(
        "GOVERN 2.1",
        "Documented roles",
        "Roles, responsibilities and lines of communication for AI risk are written down.",
        rules=(rule("owners"),),
        group=_GOVERN,
    ),
    Control(
        "GOVERN 3",
        "Diverse teams",
        "Diverse perspectives, equity, inclusion and accessibility inform AI risk decisions.",
        outside="Involve people with varied backgrounds and expertise in risk reviews; record "
        "who took part.",
        group=_GOVERN,
    ),
    Control(
        "GOVERN 4",
        "A risk-aware culture",
        "Teams consider and communicate AI risk throughout their work.",
        rules=(rule("risk_assessment"), rule("incidents")),
        outside="Foster critical review of AI systems (red teams, post-incident reviews).",
        group=_GOVERN,
    ),
    Control(
        "GOVERN 4.3",
        "Testing and incident practices",
        "Testing, finding incidents and sharing what was learned are part of normal work.",
        rules=(rule("evaluation", parts=["metrics", "slices"]), rule("incidents")),
        group=_GOVERN,
    ),
    Control(
        "GOVERN 5",
        "Engaging with affected parties",
        "Feedback from people outside the team, including those affected, is sought and used.",
        outside="Collect and act on feedback from users and affected communities.",
        group=_GOVERN,
    ),
    Control(
        "GOVERN 6",
        "Third-party software and data",
        "Risks from third-party software, data and supply chains are addressed by policy.",
        rules=(rule("artifact_integrity"), rule("gateway_servers"), rule("gateway_pins")),
        outside="Assess suppliers of models and data, and their terms of use.",
        group=_GOVERN,
    ),
    Control(
        "GOVERN 6.1",
        "Third-party entities under policy",
        "Policies and procedures address the risks of third-party entities, including the "
        "services and tools that AI systems and agents call.",
        rules=(rule("gateway_servers"), rule("gateway_pins"), rule("gateway_agents")),
        outside="Assess the suppliers of the MCP servers and tools agents use, and their terms.",
        group=_GOVERN,
    ),
    Control(
        "MAP 1",
        "Context established",
        "The purpose, setting, users and limits of each AI system are understood and recorded.",
        rules=(rule("risk_content", fields=["intended_use", "out_of_scope", "data_dependencies"]),),
        group=_MAP,
    ),
    Control(
        "MAP 1.1",
        "Intended purpose",
        "The intended purpose, beneficial uses and setting of the system are documented.",
        rules=(rule("risk_content", fields=["intended_use"]),),
        group=_MAP,
    ),
    Control(
        "MAP 2",
        "System categorised",
        "The system's task, methods and risk category are defined.",
        rules=(rule("risk_assessment"),),
        group=_MAP,
    ),
    Control(
        "MAP 3",
        "Capabilities, benefits and costs",
        "What the system can do, and its benefits and costs compared with a baseline, are "
        "understood.",
        rules=(
            rule("risk_content", fields=["intended_use"]),
            rule("evaluation", parts=["metrics", "champion"]),
        ),
        group=_MAP,
    ),
    Control(
        "MAP 4",
        "Risks of every component",
        "Risks and benefits are mapped for all parts of the system, including third-party data "
        "and software.",
        rules=(
            rule("risk_content", fields=["failure_modes", "data_dependencies"]),
            rule("lineage"),
        ),
        group=_MAP,
    ),
    Control(
        "MAP 5",
        "Impacts characterised",
        "Likely impacts on people, organisations and society are characterised, with their "
        "likelihood and size.",
        rules=(rule("risk_content", fields=["failure_modes", "downstream_impact"]),),
        group=_MAP,
    ),
    Control(
        "MEASURE 1",
        "Methods and metrics chosen",
        "Suitable methods and metrics for the mapped risks are chosen and applied.",
        rules=(rule("policy", needs=["gates"]), rule("evaluation")),
        group=_MEASURE,
    ),
    Control(
        "MEASURE 2",
        "Trustworthiness evaluated",
        "The system is evaluated for validity, reliability, robustness, explainability and "
        "fairness.",
        rules=(
            rule(
                "evaluation",
                parts=["metrics", "calibration", "slices", "fairness", "robustness", "importance"],
            ),
        ),
        group=_MEASURE,
    ),
    Control(
        "MEASURE 2.4",
        "Monitored in production",
        "The system's behaviour is monitored while in production.",
        rules=(rule("monitoring"),),
        group=_MEASURE,
    ),
    Control(
        "MEASURE 2.5",
        "Valid and reliable",
        "The deployed system is shown to be valid and reliable, with the limits of that "
        "evidence stated.",
        rules=(rule("evaluation", parts=["metrics", "calibration", "slices"]),),
        group=_MEASURE,
    ),
    Control(
        "MEASURE 2.7",
        "Security and resilience",
        "Security and resilience are evaluated and documented.",
        rules=(
            rule("artifact_integrity"),
            rule("input_contract"),
            rule("api_keys"),
            rule("gateway_pins"),
            rule("gateway_agents"),
        ),
        group=_MEASURE,
    ),
    Control(
        "MEASURE 2.9",
        "Explained and interpreted",
        "The model is explained, and its outputs are interpreted in context.",
        rules=(rule("evaluation", parts=["importance"]),),
        group=_MEASURE,
    ),
    Control(
        "MEASURE 2.11",
        "Fairness and bias",
        "Fairness and bias are evaluated and the results documented.",
        rules=(rule("evaluation", parts=["fairness"]),),
        group=_MEASURE,
    ),
    Control(
        "MEASURE 3",
        "Risks tracked over time",
        "Mechanisms track known and emerging risks over the system's life.",
        rules=(rule("monitoring"), rule("risk_assessment")),
        group=_MEASURE,
    ),
    Control(
        "MEASURE 4",
        "Measurement checked by feedback",
        "Feedback on whether measurements work is gathered and assessed.",
        rules=(rule("monitoring", labelled=True),),
        outside="Ask users and domain experts whether the measured figures match what they see.",
        group=_MEASURE,
    ),
    Control(
        "MANAGE 1",
        "Risks prioritised and treated",
        "Risks found by mapping and measuring are prioritised, and a response is decided.",
        rules=(rule("risk_content", fields=["mitigations", "residual_risk"]), rule("approval")),
        group=_MANAGE,
    ),
    Control(
        "MANAGE 2",
        "Benefits maximised, harms reduced",
        "Strategies to get the benefits and limit the harms are planned and carried out.",
        rules=(rule("promotion"), rule("fallback")),
        group=_MANAGE,
    ),
    Control(
        "MANAGE 2.4",
        "Switching a system off or back",
        "There are ways to supersede, disengage or deactivate a system that misbehaves.",
        rules=(rule("fallback"),),
        group=_MANAGE,
    ),
    Control(
        "MANAGE 3",
        "Third-party risks managed",
        "Risks from third-party models, data and services are monitored and managed.",
        rules=(rule("artifact_integrity"), rule("lineage"), rule("gateway_pins")),
        outside="Review suppliers' models and data on a schedule.",
        group=_MANAGE,
    ),
    Control(
        "MANAGE 3.1",
        "Third-party resources monitored",
        "Risks from third-party resources are monitored, and their controls applied and "
        "documented.",
        rules=(rule("gateway_pins"), rule("gateway_incidents"), rule("gateway_log")),
        outside="Review the suppliers of MCP servers and tools on a schedule.",
        group=_MANAGE,
    ),
    Control(
        "MANAGE 4",
        "Response, recovery and communication",
        "Treatments, incident response and recovery plans are documented and monitored.",
        rules=(rule("monitoring"), rule("incidents"), rule("fallback")),
        group=_MANAGE,
    ),
    Control(
        "MANAGE 4.1",
        "Post-deployment monitoring plans",
        "Plans for monitoring after deployment are in place and carried out.",
        rules=(rule("monitoring_policy"), rule("monitoring")),
        group=_MANAGE,
    ),
    Control(
        "MANAGE 4.3",
        "Incidents tracked and communicated",
        "Incidents and errors are tracked, responded to and communicated.",
        rules=(rule("incidents"), rule("gateway_incidents")),
        outside="Tell the people affected, as your incident plan says.",
        group=_MANAGE,
    ),
)

NIST_AI_RMF = Standard(
    key="nist-ai-rmf",
    title="NIST AI Risk Management Framework core",
    edition="NIST AI 100-1, AI RMF 1.0 (January 2023): functions, categories, selected "
    "subcategories",
    controls=CONTROLS,
    note="Category and subcategory numbers follow the AI RMF core; titles and descriptions "
    "are aims' own short summaries.",
)

__all__ = ["CONTROLS", "NIST_AI_RMF"]
