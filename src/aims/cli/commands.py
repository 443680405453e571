"""The list of command modules that make up ``aims``."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach every command group and command to ``app``."""
    from aims.cli import contract, drift

    app.command("drift")(drift.drift)
    app.add_typer(contract.app, name="contract")
