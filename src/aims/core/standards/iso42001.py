"""ISO/IEC 42001:2023 Annex A, as a catalogue of controls with aims' evidence rules.

Identifiers follow Annex A (A.2 to A.10). Titles and descriptions are short
summaries written for aims; read the standard itself for its requirements.
Controls about organisation-wide documents, people and suppliers have no
rules: aims cannot hold that evidence, and each says what to do instead.

Examples
--------
>>> ISO42001.control("A.6.2.4").title
'Verifying and validating the system'
>>> len(ISO42001.controls)
38
"""

from __future__ import annotations

from aims.core.standards.catalogue import Control, Standard, rule

_RISK_DOC = ("intended_use", "failure_modes", "downstream_impact", "mitigations", "residual_risk")

_A2 = "A.2 Policies for AI"
_A3 = "A.3 Internal organisation"
_A4 = "A.4 Resources for AI systems"
_A5 = "A.5 Assessing the impacts of AI systems"
_A6 = "A.6 AI system life cycle"
_A7 = "A.7 Data for AI systems"
_A8 = "A.8 Information for interested parties"
_A9 = "A.9 Use of AI systems"
_A10 = "A.10 Third parties and customers"

CONTROLS: tuple[Control, ...] = (
    Control(
        "A.2.2",
        "A documented AI policy",
        "Management sets down, in writing, how the organisation develops and uses AI.",
        outside="Write the AI policy and have management approve it; the promotion policy in "
        "aims.yaml can put parts of it into force.",
        group=_A2,
    ),
    Control(
        "A.2.3",
        "Fit with other policies",
        "The AI policy is consistent with the organisation's other policies (security, "
        "privacy, quality).",
        outside="Cross-reference the AI policy with the other policies in your document "
        "management.",
        group=_A2,
    ),
    Control(
        "A.2.4",
        "Reviewing the AI policy",
        "The AI policy is reviewed at planned intervals and when circumstances change.",
        outside="Schedule and minute reviews of the AI policy.",
        group=_A2,
    ),
    Control(
        "A.3.2",
        "Roles and responsibilities",
        "Who is responsible for each AI system, and for each step of its life, is defined "
        "and assigned.",
        rules=(rule("owners"), rule("roles"), rule("access_review")),
        group=_A3,
    ),
    Control(
        "A.3.3",
        "Raising concerns",
        "People can report concerns about AI systems, and those reports are handled.",
        outside="Provide a reporting channel (with protection for those who use it) and a "
        "process to handle the reports.",
        group=_A3,
    ),
    Control(
        "A.4.2",
        "Documenting resources",
        "The resources each AI system depends on (data, models, code, tools) are identified "
        "and documented.",
        rules=(rule("lineage", commit=True), rule("artifact_integrity")),
        group=_A4,
    ),
    Control(
        "A.4.3",
        "Data resources",
        "The data used by each AI system is documented: where it comes from, what it holds.",
        rules=(rule("lineage"), rule("data_profile")),
        group=_A4,
    ),
    Control(
        "A.4.4",
        "Tooling resources",
        "The tools used to build and run AI systems (libraries, platforms) are documented.",
        outside="Pin and record library versions in the training code's lock file; aims "
        "records each version's git commit and model format.",
        group=_A4,
    ),
    Control(
        "A.4.5",
        "Computing resources",
        "The computing and system resources AI systems need are documented.",
        outside="Document serving and training infrastructure in your platform runbooks.",
        group=_A4,
    ),
    Control(
        "A.4.6",
        "Human resources",
        "The people and skills needed across the AI life cycle are identified.",
        rules=(rule("access_review"),),
        outside="Record competences and training of the people who build, approve and run "
        "AI systems.",
        group=_A4,
    ),
    Control(
        "A.5.2",
        "An impact assessment process",
        "There is a defined way to assess the consequences an AI system may have, applied to "
        "each system.",
        rules=(rule("policy", needs=["risk_assessment"]), rule("risk_assessment")),
        group=_A5,
    ),
    Control(
        "A.5.3",
        "Recording impact assessments",
        "The results of impact assessments are documented and kept for a set period.",
        rules=(rule("risk_assessment"), rule("risk_content", fields=_RISK_DOC)),
        group=_A5,
    ),
    Control(
        "A.5.4",
        "Impact on individuals and groups",
        "The assessment covers how the system may affect people and groups of people, "
        "including unfair treatment.",
        rules=(
            rule("risk_content", fields=["downstream_impact", "failure_modes"]),
            rule("evaluation", parts=["fairness"]),
        ),
        group=_A5,
    ),
    Control(
        "A.5.5",
        "Impact on society",
        "The assessment covers wider effects of the system on society.",
        rules=(rule("risk_content", fields=["downstream_impact", "residual_risk"]),),
        outside="Where a system's reach is wide, extend the assessment beyond its direct "
        "users (environment, public services, democratic processes).",
        group=_A5,
    ),
    Control(
        "A.6.1.2",
        "Objectives for responsible development",
        "Measurable objectives for responsible development are set and applied.",
        rules=(rule("policy", needs=["gates"]),),
        group=_A6,
    ),
    Control(
        "A.6.1.3",
        "A responsible development process",
        "Design and development follow defined steps, including reviews and approvals before "
        "release.",
        rules=(rule("policy", needs=["risk_assessment", "approvals", "gates"]), rule("promotion")),
        group=_A6,
    ),
    Control(
        "A.6.2.2",
        "Requirements and specification",
        "What the system must do, and on what inputs, is specified.",
        rules=(rule("risk_content", fields=["intended_use"]), rule("input_contract")),
        group=_A6,
    ),
    Control(
        "A.6.2.3",
        "Recording design and development",
        "Design choices and how the model was built are recorded.",
        rules=(rule("lineage", commit=True),),
        group=_A6,
    ),
    Control(
        "A.6.2.4",
        "Verifying and validating the system",
        "The system is tested against its requirements before use, with recorded results.",
        rules=(
            rule("evaluation", parts=["metrics", "calibration", "slices", "robustness"]),
            rule("promotion"),
        ),
        group=_A6,
    ),
    Control(
        "A.6.2.5",
        "Deployment",
        "Release into production follows a plan, with the required approvals.",
        rules=(rule("approval"), rule("promotion"), rule("stage_history")),
        group=_A6,
    ),
    Control(
        "A.6.2.6",
        "Operation and monitoring",
        "The system is watched in operation, and problems are followed up.",
        rules=(
            rule("monitoring_policy"),
            rule("monitoring"),
            rule("incidents"),
            rule("gateway_incidents"),
        ),
        group=_A6,
    ),
    Control(
        "A.6.2.7",
        "Technical documentation",
        "Up-to-date technical documentation of each system exists for those who need it.",
        rules=(rule("documentation"),),
        group=_A6,
    ),
    Control(
        "A.6.2.8",
        "Event logs",
        "Events over the system's life are logged, and the logs can be trusted.",
        rules=(rule("audit_chain"), rule("stage_history"), rule("gateway_log")),
        group=_A6,
    ),
    Control(
        "A.7.2",
        "Data for development",
        "Data used to build and improve models is managed and linked to the models it made.",
        rules=(rule("lineage"),),
        group=_A7,
    ),
    Control(
        "A.7.3",
        "Acquiring data",
        "How data is obtained is recorded: source, and the right to use it.",
        rules=(rule("lineage"),),
        outside="Keep the licence, consent or contract that permits each use of the data.",
        group=_A7,
    ),
    Control(
        "A.7.4",
        "Data quality",
        "Data meets stated quality requirements for its use.",
        rules=(rule("data_contract"), rule("data_profile")),
        group=_A7,
    ),
    Control(
        "A.7.5",
        "Data provenance",
        "Where data came from and how it changed can be traced.",
        rules=(rule("lineage"),),
        group=_A7,
    ),
    Control(
        "A.7.6",
        "Data preparation",
        "How data was prepared (cleaned, labelled, transformed) is recorded.",
        rules=(rule("lineage", commit=True),),
        outside="Keep the preparation code in version control; aims links each model version "
        "to the commit it was trained from.",
        group=_A7,
    ),
    Control(
        "A.8.2",
        "Information for users",
        "Users get the information they need about the system: purpose, limits, performance.",
        rules=(
            rule("documentation"),
            rule("risk_content", fields=["intended_use", "out_of_scope"]),
        ),
        group=_A8,
    ),
    Control(
        "A.8.3",
        "External reporting",
        "Interested parties can report adverse effects of the system.",
        outside="Publish a contact for reports from outside and route them to the model's owners.",
        group=_A8,
    ),
    Control(
        "A.8.4",
        "Communicating incidents",
        "Incidents are communicated to those affected, as planned.",
        rules=(rule("incidents"), rule("gateway_incidents")),
        outside="Decide who is told about which incidents and keep the messages sent.",
        group=_A8,
    ),
    Control(
        "A.8.5",
        "Informing interested parties",
        "What the organisation owes interested parties about its AI systems is set and met.",
        outside="List your reporting obligations (regulators, customers) and keep what was sent.",
        group=_A8,
    ),
    Control(
        "A.9.2",
        "Responsible use process",
        "There is a defined way to decide on and oversee the use of AI systems.",
        rules=(rule("policy", needs=["approvals", "four_eyes"]), rule("approval")),
        group=_A9,
    ),
    Control(
        "A.9.3",
        "Objectives for responsible use",
        "Objectives for using AI systems responsibly are set.",
        outside="Set and review objectives for use (e.g. human review rates, complaint "
        "handling times) with the business owners.",
        group=_A9,
    ),
    Control(
        "A.9.4",
        "Intended use",
        "Each system is used only for its stated purpose, and the purpose and its limits are "
        "written down.",
        rules=(rule("risk_content", fields=["intended_use", "out_of_scope"]),),
        group=_A9,
    ),
    Control(
        "A.10.2",
        "Sharing responsibilities",
        "Responsibilities between the organisation, its partners, suppliers and customers are "
        "allocated.",
        rules=(rule("gateway_servers"), rule("gateway_agents")),
        outside="Set responsibilities for each AI system in contracts with the other parties; "
        "aims records who answers for each MCP server and each agent behind its gateway.",
        group=_A10,
    ),
    Control(
        "A.10.3",
        "Suppliers",
        "Supplied components (models, data, services) meet the organisation's approach to "
        "responsible AI.",
        rules=(rule("gateway_servers"), rule("gateway_pins")),
        outside="Assess suppliers of models, data and MCP servers; aims verifies each "
        "artifact's sha256, refuses untrusted pickles and blocks tools whose definition "
        "changed since their owner approved it.",
        group=_A10,
    ),
    Control(
        "A.10.4",
        "Customers",
        "Customers' expectations and needs are considered when providing AI systems.",
        outside="Record customer requirements and how the AI systems address them.",
        group=_A10,
    ),
)

ISO42001 = Standard(
    key="iso42001",
    title="ISO/IEC 42001 Annex A",
    edition="ISO/IEC 42001:2023, Annex A (reference controls)",
    controls=CONTROLS,
    note="Control identifiers follow Annex A; titles and descriptions are aims' own short "
    "summaries, not the standard's text.",
)

__all__ = ["CONTROLS", "ISO42001"]
