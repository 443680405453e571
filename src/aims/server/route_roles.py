"""The role each route requires, read from its dependencies and written into the OpenAPI document.

Every secured route declares its lowest role with :func:`aims.server.auth.require`;
the OpenAPI document shows it as ``x-aims-role`` on each operation, so a client
(and the tests) can see which key a call needs without reading the code.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

__all__ = ["api_routes", "document_roles", "route_role"]


def api_routes(app: FastAPI) -> list[Any]:
    """Every route of ``app``, routes of included routers too, each with its full path."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI versions that flatten included routers themselves
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def route_role(route: Any) -> str | None:
    """The role a route requires (from its :func:`require` dependency), or None."""
    dependant = getattr(route, "dependant", None)
    stack = list(dependant.dependencies) if dependant is not None else []
    while stack:
        dep = stack.pop()
        role = getattr(dep.call, "aims_role", None)
        if role is not None:
            return role
        stack.extend(dep.dependencies)
    return None


def document_roles(app: FastAPI) -> None:
    """Add ``x-aims-role`` to each operation of the OpenAPI document."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()  # FastAPI caches it until routes change
        for route in api_routes(app):
            role = route_role(route)
            path = schema["paths"].get(route.path or "", {})
            for method in route.methods or ():
                operation = path.get(method.lower())
                if operation is not None and role is not None:
                    operation["x-aims-role"] = role
        return schema

    # FastAPI's documented way to customise the schema is replacing app.openapi.
    app.openapi = openapi  # type: ignore[method-assign]
