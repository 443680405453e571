"""The evidence report states how well tool-call screening does on its corpus."""

from __future__ import annotations

from aims.services.evidence import compliance_report
from aims.services.evidence_render import render_html, render_markdown
from aims.services.screening_eval import bundled_corpus, evaluate, load_corpus


def test_the_evidence_report_states_the_measured_screening_quality(workspace) -> None:
    report = compliance_report(workspace)
    stated = report.to_dict()["screening"]
    # The same figures as aims gateway eval on the bundled corpus.
    heldout = evaluate(load_corpus(bundled_corpus())).splits["heldout"]
    assert stated["heldout"]["recall"] == round(heldout.overall.recall or 0.0, 3)
    assert stated["heldout"]["fpr"] == round(heldout.overall.fpr or 0.0, 3)
    assert stated["heldout"]["meets_targets"] == heldout.meets_targets
    assert stated["policy"] == "default" and len(stated["corpus_sha256"]) == 64
    assert f"- Tool-call screening: held-out recall {stated['heldout']['recall']}" in (
        render_markdown(report)
    )
    assert "Tool-call screening" in render_html(report)
