"""The MCP gateway on ``aims serve``: one MCP endpoint (``/gateway/mcp``) in front of many.

- :mod:`~aims.server.gateway.endpoint`: the endpoint and :func:`mount_gateway`;
- :mod:`~aims.server.gateway.proxy`: the checks every call passes;
- :mod:`~aims.server.gateway.catalog`: servers, tools, pins and allow-lists held in memory;
- :mod:`~aims.server.gateway.screen`: screening of descriptions, arguments and results;
- :mod:`~aims.server.gateway.upstream`: the client of an upstream MCP server;
- :mod:`~aims.server.gateway.recorder`: the audit events and ``/metrics`` counters.

The records and rules it applies live in :mod:`aims.services.gateway`.
"""
