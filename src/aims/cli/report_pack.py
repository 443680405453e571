"""``aims report pack`` and ``aims report verify-pack``: the sealed evidence pack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from aims.cli._output import Format, console, emit, err_console


def pack(
    out: Path = typer.Option(..., "--out", "-o", help="The pack to write (NAME.zip)."),
    standard: str = typer.Option(
        "iso42001", "--standard", "-s", help="iso42001 | nist-ai-rmf | eu-ai-act."
    ),
    all_models: bool = typer.Option(
        False, "--all-models", help="Judge every registered model, not only deployed ones."
    ),
    project: str | None = typer.Option(
        None, "--project", "-p", help="The project (default: the workspace's project)."
    ),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
) -> None:
    """Write a signed evidence pack: the report (HTML, JSON, Markdown), model cards, the
    statement of applicability, evidence kept outside aims, audits and reviews, artifact
    hashes and an audit checkpoint, with a manifest of SHA-256 hashes signed with the
    workspace's checkpoint key. Check it with 'aims report verify-pack'."""
    from aims.cli._state import open_workspace
    from aims.cli.remote import remote
    from aims.services.evidence_pack import build_pack, check_out, pack_summary

    if (r := remote()) is not None:
        # The server builds and signs the pack with its workspace's key; it is written
        # here and summed up from its own manifest, as the local command sums it up.
        check_out(out)
        query = {"standard": standard, "all_models": all_models, "project": project}
        d = pack_summary(r.download("GET", "/v1/reports/pack", out, params=query))
    else:
        ws = open_workspace()
        try:
            d = build_pack(
                ws,
                out,
                standard=standard,
                project=project,
                scope="all" if all_models else "deployed",
            )
        finally:
            ws.close()
    emit(
        d,
        fmt,
        lambda d: console.print(
            f"wrote {d['written']}: {d['files']} files, signed with key {d['public_key']} "
            f"(checkpoint at event #{d['checkpoint_events']})"
        ),
    )


def verify_pack(
    path: Path = typer.Argument(..., help="The pack (zip) to check."),
    key: str | None = typer.Option(
        None,
        "--key",
        help="The workspace's public key, obtained separately (aims audit checkpoint prints "
        "it); without it the key inside the pack is used, which proves the pack is whole "
        "but not who made it.",
    ),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
) -> None:
    """Check an evidence pack offline, without a workspace: the manifest's signature and
    every file's hash. Exit 1 naming each changed, missing or added file."""
    from aims.services.evidence_pack import verify_pack as check

    d = check(path, trusted_key=key)
    emit(d, fmt, _render)
    if not d["ok"]:
        raise typer.Exit(1)


def _render(d: dict[str, Any]) -> None:
    if d["ok"]:
        trust = "the trusted key" if d["key_trusted"] else f"key {d['public_key']} (in the pack)"
        cp = d.get("checkpoint") or {}
        console.print(
            f"{d['pack']}: intact. {d['files']} files match the manifest, signed with {trust}; "
            f"audit checkpoint at event #{cp.get('events', '?')}"
        )
        return
    for p in d["problems"]:
        err_console.print(f"{p['file']}: {p['message']}", markup=False, highlight=False)


def register(report_app: typer.Typer) -> None:
    """Add ``pack`` and ``verify-pack`` to ``aims report`` (once, however often it is called)."""
    if any(c.callback is pack for c in report_app.registered_commands):
        return
    report_app.command("pack")(pack)
    report_app.command("verify-pack")(verify_pack)
