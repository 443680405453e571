"""aims as an MCP server: ``/mcp`` on ``aims serve``, an OAuth 2.1 resource server.

- :mod:`~aims.server.mcp.oauth`: the tokens (audience-bound, scoped, at most
  15 minutes) and :func:`~aims.server.mcp.oauth.require_token`, the check of
  every MCP request (also used by the MCP gateway);
- :mod:`~aims.server.mcp.metadata`: the protected resource metadata (RFC 9728),
  the authorization server metadata (RFC 8414) and the token endpoint;
- :mod:`~aims.server.mcp.transport`: the streamable HTTP endpoint, built with
  the ``mcp`` SDK (the ``mcp`` extra), whose tools are those of
  :mod:`aims.services.mcp_tools`.

Nothing here imports the SDK at import time, so the token checks work
without the extra.
"""
