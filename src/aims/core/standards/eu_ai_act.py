"""The EU AI Act's obligations for high-risk AI systems that aims can evidence.

Articles 9 to 15 (requirements for high-risk systems), 17 (quality management),
26 (obligations of deployers), 72 (post-market monitoring) and 73 (serious
incidents) of Regulation (EU)
2024/1689. They apply to models in the ``high`` risk tier (and to models without
a risk assessment whose policy default tier is high); with no such model in
scope the articles are reported as not applicable. Titles and descriptions are
short summaries written for aims, not the Regulation's text.

Examples
--------
>>> EU_AI_ACT.ids
('Art. 9', 'Art. 10', 'Art. 11', 'Art. 12', 'Art. 13', 'Art. 14', 'Art. 15', 'Art. 17', 'Art. 26', 'Art. 72', 'Art. 73')
"""

from __future__ import annotations

from aims.core.standards.catalogue import Control, Standard, rule

_REQ = "Chapter III, Section 2: requirements for high-risk AI systems"
_PROVIDER = "Chapter III, Section 3: obligations of providers"
_DEPLOYER = "Chapter III, Section 3: obligations of deployers"
_POST = "Chapter IX: post-market monitoring and incident reporting"

CONTROLS: tuple[Control, ...] = (
    Control(
        "Art. 9",
        "Risk management system",
        "A risk management process runs through the system's whole life: known and foreseeable "
        "risks are identified, estimated and reduced, and the remaining risk is judged "
        "acceptable.",
        rules=(
            rule("risk_assessment"),
            rule("risk_content", fields=["failure_modes", "mitigations", "residual_risk"]),
        ),
        group=_REQ,
        applies_to="high_risk",
    ),
    Control(
        "Art. 10",
        "Data and data governance",
        "Training, validation and test data are governed: origin, preparation, quality and "
        "relevance are known and checked.",
        rules=(rule("lineage"), rule("data_contract"), rule("data_profile")),
        outside="Examine the data for possible biases and record how gaps are handled.",
        group=_REQ,
        applies_to="high_risk",
    ),
    Control(
        "Art. 11",
        "Technical documentation",
        "Technical documentation showing the system meets the requirements exists before it is "
        "placed on the market and is kept up to date.",
        rules=(rule("documentation"), rule("lineage", commit=True)),
        outside="Add the system-level parts (architecture, hardware, instructions) that a model "
        "card does not hold.",
        group=_REQ,
        applies_to="high_risk",
    ),
    Control(
        "Art. 12",
        "Record-keeping",
        "The system logs events automatically over its lifetime, so its working can be traced.",
        rules=(
            rule("audit_chain"),
            rule("stage_history"),
            rule("monitoring"),
            rule("gateway_log"),
        ),
        group=_REQ,
        applies_to="high_risk",
    ),
    Control(
        "Art. 13",
        "Transparency to deployers",
        "Deployers receive instructions for use: purpose, accuracy and its limits, known risks.",
        rules=(
            rule("documentation"),
            rule("risk_content", fields=["intended_use", "out_of_scope"]),
            rule("evaluation", parts=["metrics", "calibration"]),
        ),
        group=_REQ,
        applies_to="high_risk",
    ),
    Control(
        "Art. 14",
        "Human oversight",
        "People can oversee the system while it is used, and can stop or override it.",
        rules=(
            rule("approval"),
            rule("owners", roles=["deployment", "monitoring"]),
            rule("fallback"),
        ),
        outside="Train the people who oversee the system and define when they must intervene.",
        group=_REQ,
        applies_to="high_risk",
    ),
    Control(
        "Art. 15",
        "Accuracy, robustness and cybersecurity",
        "The system reaches a declared level of accuracy, resists errors and faults, and is "
        "protected against attacks.",
        rules=(
            rule("evaluation", parts=["metrics", "robustness"]),
            rule("input_contract"),
            rule("artifact_integrity"),
            rule("api_keys"),
            rule("gateway_pins"),
            rule("gateway_agents"),
            rule("gateway_incidents"),
        ),
        group=_REQ,
        applies_to="high_risk",
    ),
    Control(
        "Art. 17",
        "Quality management system",
        "The provider runs a documented quality management system covering design, testing, "
        "data, risk, monitoring and record-keeping.",
        rules=(
            rule("policy", needs=["risk_assessment", "approvals", "gates"]),
            rule("promotion"),
            rule("audit_chain"),
        ),
        outside="Write the quality management system down (procedures, responsibilities, "
        "resources) and review it.",
        group=_PROVIDER,
        applies_to="high_risk",
    ),
    Control(
        "Art. 26",
        "Obligations of deployers",
        "Deployers use the system as instructed, give its oversight to people who answer for "
        "it, monitor it, keep its logs and report serious incidents; agents acting for them "
        "stay within what they are allowed.",
        rules=(
            rule("owners", roles=["deployment", "monitoring"]),
            rule("monitoring"),
            rule("gateway_agents"),
            rule("gateway_log"),
            rule("gateway_incidents"),
        ),
        outside="Keep the provider's instructions for use and follow them; inform the people "
        "affected that a high-risk system is used.",
        group=_DEPLOYER,
        applies_to="high_risk",
    ),
    Control(
        "Art. 72",
        "Post-market monitoring",
        "Data on the system's performance in use is collected and analysed under a "
        "post-market monitoring plan.",
        rules=(rule("monitoring_policy"), rule("monitoring", labelled=True)),
        outside="Write the post-market monitoring plan into the technical documentation.",
        group=_POST,
        applies_to="high_risk",
    ),
    Control(
        "Art. 73",
        "Serious incident reporting",
        "Serious incidents are found, investigated and reported to the authorities in time.",
        rules=(rule("incidents"), rule("monitoring")),
        outside="Report serious incidents to the market surveillance authority within the "
        "legal deadlines, and keep the reports.",
        group=_POST,
        applies_to="high_risk",
    ),
)

EU_AI_ACT = Standard(
    key="eu-ai-act",
    title="EU AI Act: high-risk AI systems",
    edition="Regulation (EU) 2024/1689, Articles 9-15, 17, 26, 72 and 73",
    controls=CONTROLS,
    note="Article numbers follow Regulation (EU) 2024/1689; titles and descriptions are aims' "
    "own short summaries, not the Regulation's text. The articles apply to high-risk systems.",
)

__all__ = ["CONTROLS", "EU_AI_ACT"]
