"""The evidence report's MCP gateway section, in Markdown and HTML.

Both read the report's JSON (``d["gateway"]``, from
:meth:`aims.core.standards.gateway_facts.GatewayFacts.to_dict`), so the three
formats show the same thing: the upstream servers and their owners, the pins
of their tools, the agents and their allow-lists, the incidents about servers
and agents, and the calls of the period.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jinja2
from markupsafe import Markup

__all__ = ["gateway_html", "gateway_markdown"]

_NONE = (
    "No MCP server is registered with the gateway (`aims gateway server add`): "
    "its rules are not applicable."
)


def _cell(text: Any) -> str:
    return str("" if text is None else text).replace("|", "\\|").replace("\n", " ")


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())) or "none"


def _about(i: dict[str, Any]) -> str:
    return ("MCP server " if i["subject_kind"] == "mcp_server" else f"{i['subject_kind']} ") + i[
        "subject"
    ]


def _owner(owner: str | None, problem: str | None) -> str:
    """An owner with what is wrong with it, in short (``ana (disabled)``)."""
    if not problem:
        return owner or "none"
    short = problem.replace(f"its owner {owner} is ", "").replace("it has ", "")
    return f"{owner or 'none'} ({short})"


def _calls_text(c: dict[str, Any]) -> str:
    if not c["events"]:
        return f"No call through the gateway in {c['span']}."
    text = (
        f"{c['calls']:,} call(s) in {c['span']}, recorded in {c['events']:,} "
        f"audit event(s) #{c['first_seq']} to #{c['last_seq']} "
        f"(`aims audit log --action gateway.calls`). Verdicts: {_counts(c['verdicts'])}."
    )
    if c["refusals"]:
        text += f" Refused, by reason: {_counts(c['refusals'])}."
    if c["screening"]:
        text += f" Screening verdicts, by place: {_counts(c['screening'])}."
    return text


def gateway_markdown(d: dict[str, Any]) -> str:
    """The gateway section of the Markdown report."""
    g = d.get("gateway")
    if g is None:
        return ""
    out = ["\n## MCP gateway\n\n"]
    if not g["set_up"] and not g["incidents"]:
        return "".join([*out, f"_{_NONE}_\n"])
    if g["servers"]:
        out.append("| server | project | owner | transport | tools approved · new · changed |\n")
        out.append("|---|---|---|---|---|\n")
    for s in g["servers"]:
        t = s["tools"]
        owner = _owner(s["owner"], s["owner_problem"])
        out.append(
            f"| {s['name']} | {s['project']} | {_cell(owner)} | {s['transport']} | "
            f"{t['approved']} · {t['new']} · {t['changed']} |\n"
        )
    if g["pins"]:
        out.append("\n**Tool pins** (`aims gateway pins list`)\n\n")
        out.append("| tool | status | approved by | approved | sha256 | allowed to | incident |\n")
        out.append("|---|---|---|---|---|---|---|\n")
    for p in g["pins"]:
        out.append(
            f"| {p['server']}/{_cell(p['tool'])} | {p['status']} | {p['approved_by'] or '-'} | "
            f"{(p['approved_at'] or '-')[:10]} | `{(p['sha256'] or p['seen_sha256'])[:12]}` | "
            f"{', '.join(p['allowed_to']) or '-'} | "
            f"{'#' + str(p['incident']) if p['incident'] is not None else '-'} |\n"
        )
    if g["agents"]:
        out.append("\n**Agents** (`aims gateway allowed`)\n\n")
        out.append(
            "| agent | enabled | owner | active keys | allow-list |\n|---|---|---|---|---|\n"
        )
    for a in g["agents"]:
        owner = _owner(a["owner"], a["owner_problem"])
        out.append(
            f"| {a['name']} | {'yes' if a['enabled'] else 'no'} | {_cell(owner)} | "
            f"{a['active_keys']} | {_cell(', '.join(a['allowed']) or 'none')} |\n"
        )
    out.append("\n**Incidents about servers and agents** (`aims incidents list`)\n\n")
    if not g["incidents"]:
        out.append("_None open, none resolved in the look-back._\n")
    for i in g["incidents"]:
        state = (
            f"open {i['age_days']} day(s)" + (" (PAST ITS DEADLINE)" if i["overdue"] else "")
            if i["resolved_at"] is None
            else f"resolved {i['resolved_at'][:10]}"
        )
        out.append(
            f"- #{i['id']} {i['severity']} about {_about(i)}, owner {i['owner'] or 'none'}, "
            f"opened {i['opened_at'][:10]}, {state}: {i['summary']}\n"
        )
    out.append(f"\n**Calls.** {_calls_text(g['calls'])}\n")
    return "".join(out)


_HTML = """<h2 id="gateway">MCP gateway</h2>
{% if not g.set_up and not g.incidents %}<p class="muted">{{ none_text }}</p>{% else %}
{% if g.servers %}<table><tr><th>Server</th><th>Project</th><th>Owner</th><th>Transport</th>
<th>Tools approved · new · changed</th></tr>
{% for s in g.servers %}<tr><td>{{ s.name }}</td><td>{{ s.project }}</td>
<td>{{ owner(s.owner, s.owner_problem) }}</td>
<td>{{ s.transport }}</td><td>{{ s.tools.approved }} · {{ s.tools.new }} · {{ s.tools.changed }}</td></tr>
{% endfor %}</table>{% endif %}
{% if g.pins %}<h3>Tool pins</h3><table><tr><th>Tool</th><th>Status</th><th>Approved by</th>
<th>Approved</th><th>sha256</th><th>Allowed to</th><th>Incident</th></tr>
{% for p in g.pins %}<tr><td>{{ p.server }}/{{ p.tool }}</td>
<td><span class="st {{ 'met' if p.status == 'approved' else ('missing' if p.allowed_to else 'partial') }}">{{ p.status }}</span></td>
<td>{{ p.approved_by or "-" }}</td><td>{{ (p.approved_at or "-")[:10] }}</td>
<td><code>{{ (p.sha256 or p.seen_sha256)[:12] }}</code></td><td>{{ p.allowed_to | join(", ") or "-" }}</td>
<td>{% if p.incident is not none %}#{{ p.incident }}{% else %}-{% endif %}</td></tr>
{% endfor %}</table>{% endif %}
{% if g.agents %}<h3>Agents</h3><table><tr><th>Agent</th><th>Enabled</th><th>Owner</th>
<th>Active keys</th><th>Allow-list</th></tr>
{% for a in g.agents %}<tr><td>{{ a.name }}</td><td>{{ "yes" if a.enabled else "no" }}</td>
<td>{{ owner(a.owner, a.owner_problem) }}</td>
<td>{{ a.active_keys }}</td><td>{{ a.allowed | join(", ") or "none" }}</td></tr>
{% endfor %}</table>{% endif %}
<h3>Incidents about servers and agents</h3>
{% if not g.incidents %}<p class="muted">None open, none resolved in the look-back.</p>{% else %}
<table><tr><th>Incident</th><th>About</th><th>Severity</th><th>Owner</th><th>Opened</th><th>State</th></tr>
{% for i in g.incidents %}<tr><td>#{{ i.id }}: {{ i.summary }}</td><td>{{ about(i) }}</td><td>{{ i.severity }}</td>
<td>{{ i.owner or "none" }}</td><td>{{ i.opened_at[:10] }}</td>
<td>{% if i.resolved_at is none %}open {{ i.age_days }} day(s){% if i.overdue %} <span class="st missing">past its deadline</span>{% endif %}{% else %}resolved {{ i.resolved_at[:10] }}{% endif %}</td></tr>
{% endfor %}</table>{% endif %}
<h3>Calls</h3><p>{{ calls_text }}{% if g.calls.last_seq is not none and event_href %}
· <a href="{{ event_href(g.calls.last_seq) }}">event #{{ g.calls.last_seq }}</a>{% endif %}</p>
{% endif %}
"""

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True)


def gateway_html(d: dict[str, Any], event_href: Callable[[int], str] | None = None) -> Markup:
    """The gateway section of the HTML report (escaped, ready to place in the page)."""
    g = d.get("gateway")
    if g is None:
        return Markup("")
    return Markup(
        _ENV.from_string(_HTML).render(
            g=g,
            none_text=_NONE.replace("`", ""),
            about=_about,
            owner=_owner,
            calls_text=_calls_text(g["calls"]).replace("`", ""),
            event_href=event_href,
        )
    )
