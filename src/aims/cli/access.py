"""``aims access review``: every principal, its grants and keys, and what a reviewer must act on.

See :mod:`aims.services.access_review` for the findings and docs/security.md
("Access review") for how to use it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import typer

from aims.cli._output import Format, console, emit, print_table
from aims.cli._state import open_workspace

access_app = typer.Typer(
    help="Review who may act on what: grants, keys, owners, and findings.", no_args_is_help=True
)


def _when(value: Any) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return f"{value:%Y-%m-%d}" if value else "never"


def _render(d: dict[str, Any]) -> None:
    rows = []
    for p in d["principals"]:
        grants = ", ".join(f"{g['role']}@{g['project']}" for g in p["grants"]) or "-"
        lifts = ", ".join(f"{e['role']}@{proj}" for proj, e in p["elevations"].items())
        rows.append(
            {
                "name": p["name"],
                "kind": p["kind"],
                "owner": p["owner"] or "",
                "status": p["status"],
                "grants": grants + (f" (elevated: {lifts})" if lifts else ""),
                "keys": sum(k["status"] == "active" for k in p["keys"]),
                "last used": _when(p["last_used"]),
            }
        )
    title = f"access review of project {d['project']}" if d["project"] else "access review"
    print_table(rows, ["name", "kind", "owner", "status", "grants", "keys", "last used"], title)
    if not d["findings"]:
        console.print("no findings")
        return
    console.print(f"{len(d['findings'])} finding(s):")
    for f in d["findings"]:
        console.print(f"  - {f['rule']}: {f['message']}", highlight=False, soft_wrap=True)


@access_app.command("review")
def review(
    project: str | None = typer.Option(
        None, "--project", "-p", help="Only principals with a grant or key on this project."
    ),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
) -> None:
    """List every principal with kind, owner, grants, keys (age, last use, expiry) and the
    findings: unused grants, keys past the rotation age, services and agents without an
    owner or with a disabled one, standing admin grants. Exits 0 even with findings."""
    from aims.cli.remote import remote

    if (r := remote()) is not None:
        params = {"project": project} if project else None
        data = r.call("GET", "/v1/access/review", params=params)
    else:
        from aims.services.access_review import access_review

        data = access_review(open_workspace(), project=project)
    emit(data, fmt, _render)
