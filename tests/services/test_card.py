"""The model card: Markdown and HTML rendered from one view model, values escaped in HTML."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from aims.services import governance, registry
from aims.services.card import card_data, render_html, render_markdown, write_card
from aims.workspace import Workspace, init_workspace
from tests.services.test_governance import risk_yaml

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def carded(tmp_path_factory: pytest.TempPathFactory, cancer_files) -> Workspace:
    """A model with an owner named like markup, a risk assessment and an evaluation.

    Built once for the module: the tests only read the card (written cards go to
    each test's own folder), so none changes what another sees."""
    tmp_path = tmp_path_factory.mktemp("card")
    ws = Workspace.open(init_workspace(tmp_path / "ws"))
    registry.register_dataset(ws, cancer_files["data"], "cancer", actor="ana@x.org")
    registry.register_model(
        ws,
        cancer_files["model"],
        "cancer",
        actor="ana@x.org",
        datasets=["cancer@1"],
        owners={"monitoring": HOSTILE, "business": "a|b@x.org"},
    )
    governance.assess_risk(
        ws,
        "cancer",
        risk_yaml(tmp_path, next_review=dt.date.today() + dt.timedelta(days=90)),
        actor="risk@x.org",
    )
    governance.evaluate(ws, "cancer@1", cancer_files["data"], actor="ana@x.org", label="target")
    yield ws
    ws.close()


def test_markdown_front_matter_parses_as_yaml_with_the_card_facts(carded) -> None:
    card = render_markdown(card_data(carded, "cancer@1"))
    head, sep, body = card.removeprefix("---\n").partition("---\n")
    assert card.startswith("---\n") and sep
    facts = yaml.safe_load(head)
    assert {
        "model",
        "version",
        "stage",
        "task",
        "owners",
        "training_data",
        "risk_tier",
        "approved_by",
        "metrics",
        "generated_at",
    } <= set(facts)
    assert facts["model"] == "cancer" and facts["version"] == 1
    assert facts["owners"]["monitoring"] == HOSTILE
    assert facts["training_data"] == ["cancer@1"] and facts["metrics"]["accuracy"] > 0.9
    assert body.lstrip().startswith("# Model card: cancer v1")
    # a | inside a value is escaped, so the owners table keeps two columns
    assert "| business | a\\|b@x.org |" in body


def test_html_escapes_values_and_shows_no_markdown(carded) -> None:
    page = render_html(card_data(carded, "cancer@1"))
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "**" not in page and "\n| " not in page and "_none_" not in page
    assert "<h2>Owners</h2>" in page and "<strong>high</strong>" in page
    # the reliability diagram is inline, under the calibration heading
    assert re.search(r"<h3>Calibration</h3>.*?<svg", page, re.S)


def test_both_formats_list_the_same_metrics(carded) -> None:
    data = card_data(carded, "cancer@1")
    metrics = data["evaluation"]["evaluation"]["metrics"]
    page, card = render_html(data), render_markdown(data)
    for name, value in metrics.items():
        assert f"<td>{name}</td><td>{value:.4f}</td>" in page
        assert f"| {name} | {value:.4f} |" in card


def test_written_card_links_its_reliability_diagram(carded, tmp_path) -> None:
    card, svg = write_card(carded, "cancer@1", tmp_path / "out" / "card.md")
    assert f"![reliability diagram]({svg.name})" in card.read_text()
    assert svg.read_text().startswith("<svg")
    (page,) = write_card(carded, "cancer@1", tmp_path / "out" / "card.html")
    assert page.read_text().startswith("<!doctype html>")


def test_an_llm_application_card_shows_its_prompt_model_tools_and_llm_metrics(
    workspace, tmp_path: Path
) -> None:
    from aims.services import llm_apps, llm_evaluation
    from tests.services.llm_fixtures import GOOD, write_app, write_cases

    llm_apps.register_app(
        workspace,
        write_app(tmp_path / "apps", "v1", "Give the capital only."),
        "geo",
        actor="ana@x.org",
        owners={"development": "ana@x.org"},
    )
    llm_evaluation.evaluate_app(
        workspace, "geo@1", write_cases(tmp_path / "cases.jsonl", GOOD), actor="ana@x.org"
    )
    d = card_data(workspace, "geo@1")
    tool = d["application"]["tools"][0]
    md = render_markdown(d)
    head, _, body = md.removeprefix("---\n").partition("---\n")
    facts = yaml.safe_load(head)
    assert facts["prompt_sha256"] == d["application"]["prompt_sha256"]
    assert len(facts["prompt_sha256"]) == 64
    assert facts["llm"] == {
        "provider": "openai",
        "name": "gpt-4o-mini",
        "parameters": {"temperature": 0, "max_tokens": 64},
    }
    assert facts["tools"] == [{"name": "lookup_city", "sha256": tool["sha256"]}]
    assert f"System prompt SHA-256: `{facts['prompt_sha256']}`" in body
    assert "| max_tokens | 64 |" in body and "| temperature | 0 |" in body
    assert f"| lookup_city | Facts about a city | {tool['sha256']} |" in body
    assert "(5 cases)" in body and "| cost_usd | 1.2e-05 |" in body
    # The model-only sections give way: no features, no fairness hint, no empty importance.
    for absent in ("## Training data", "Input features", "Fairness", "Feature importance"):
        assert absent not in body
    html = render_html(d)
    assert "<h2>LLM application</h2>" in html and tool["sha256"] in html
    assert "Input features" not in html and "Fairness" not in html and "1.2e-05" in html


def test_a_model_card_keeps_its_training_data_and_fairness_sections(carded) -> None:
    d = card_data(carded, "cancer@1")
    body = render_markdown(d)
    assert d["application"] is None
    assert "## Training data" in body and "### Fairness" in body and "LLM application" not in body
    assert "prompt_sha256" not in body
