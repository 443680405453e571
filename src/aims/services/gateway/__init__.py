"""The MCP gateway's records and rules: what sits between agents and the organisation's MCP servers.

- :mod:`~aims.services.gateway.inventory`: upstream servers, their owners and
  where the gateway's own credential for each lives;
- :mod:`~aims.services.gateway.allowlist` and :mod:`~aims.services.gateway.constraints`:
  which agent may call which tool, within which argument bounds;
- :mod:`~aims.services.gateway.pins`: the approved hash of each tool's definition,
  and the rug-pull incident when it changes;
- :mod:`~aims.services.gateway.calls`: calls to high-risk tools waiting for a person;
- :mod:`~aims.services.gateway.policy`: the ``gateway:`` section of ``aims.yaml``.

The proxy that applies them to live traffic is :mod:`aims.server.gateway`.
"""
