"""The evidence report states how well tool-call screening does on its corpus."""

from __future__ import annotations

from aims.services.evidence import compliance_report
from aims.services.evidence_render import render_html, render_markdown
from aims.services.screening_eval import bundled_corpus, evaluate, judged_split, load_corpus


def test_the_evidence_report_states_the_measured_screening_quality(workspace) -> None:
    report = compliance_report(workspace)
    stated = report.to_dict()["screening"]
    # The same figures as aims gateway eval on the bundled corpus, for the part it judges:
    # the held-out part when there is one, else the whole corpus.
    cases = load_corpus(bundled_corpus())
    judged = judged_split(cases)
    assert stated["judged"] == judged
    figures = evaluate(cases).splits[judged]
    assert stated[judged]["recall"] == round(figures.overall.recall or 0.0, 3)
    assert stated[judged]["fpr"] == round(figures.overall.fpr or 0.0, 3)
    assert stated[judged]["meets_targets"] == figures.meets_targets
    assert stated[judged]["cases"] == (
        len(cases) if judged == "all" else sum(c.split == "heldout" for c in cases)
    )
    assert stated["policy"] == "default" and len(stated["corpus_sha256"]) == 64
    lead = "held-out recall" if judged == "heldout" else "no held-out part; recall"
    assert f"- Tool-call screening: {lead} {stated[judged]['recall']}" in render_markdown(report)
    assert "Tool-call screening" in render_html(report)
