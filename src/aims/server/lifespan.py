"""Parts of the server that live as long as it does, beside the core ones.

The trace writer and the MCP session manager, for example, start after the
server's own state is ready and stop before the prediction log is flushed.
Each part registers one async context manager factory with
:func:`add_lifespan_hook`; :func:`run_hooks` enters them in order and leaves
them in reverse, so a part may rely on the ones registered before it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

LifespanHook = Callable[[Any], AbstractAsyncContextManager[Any]]
"""Called with the FastAPI app once ``app.state.aims`` exists."""


def add_lifespan_hook(app: Any, hook: LifespanHook) -> None:
    """Run ``hook(app)`` as a context around the server's life (entered at start-up)."""
    if not hasattr(app.state, "lifespan_hooks"):
        app.state.lifespan_hooks = []
    app.state.lifespan_hooks.append(hook)


@asynccontextmanager
async def run_hooks(app: Any) -> AsyncIterator[None]:
    """Enter every registered hook; leave them in reverse order, even on error."""
    hooks: list[LifespanHook] = getattr(app.state, "lifespan_hooks", [])
    async with AsyncExitStack() as stack:
        for hook in hooks:
            await stack.enter_async_context(hook(app))
        yield
