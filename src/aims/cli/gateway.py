"""``aims gateway``: the MCP gateway between agents and the organisation's MCP servers.

The group gathers the gateway's commands (other modules attach theirs to
``gateway_app``); ``aims gateway eval`` measures the
screening of tool descriptions, arguments and results on a labelled corpus.
See docs/screening.md.
"""

from __future__ import annotations

import typer

gateway_app = typer.Typer(
    help="The MCP gateway between agents and MCP servers, and its screening of tool calls.",
    no_args_is_help=True,
)

# The inventory, allow-lists, pins and waiting calls: aims gateway server|allow|pins|calls.
from aims.cli.gateway_admin import register as _register_admin  # noqa: E402

_register_admin(gateway_app)
