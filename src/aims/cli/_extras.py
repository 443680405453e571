"""Optional extras a command needs, checked before it starts work.

A command that needs an extra checks for it first, so that without it the user
reads which extra to install instead of a traceback about a missing module
halfway through (after a workspace was created, say).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import import_module

from aims.errors import ConfigError


def missing_modules(modules: Sequence[str]) -> list[str]:
    """The modules of ``modules`` that cannot be imported, in order."""
    missing = []
    for name in modules:
        try:
            import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def require_extras(command: str, extras: Mapping[str, Sequence[str]]) -> None:
    """Raise :class:`ConfigError` naming the extras to install if a module of one is missing.

    ``extras`` maps an extra of the ``aims`` package to the modules it
    provides that ``command`` imports.
    """
    lacking: dict[str, list[str]] = {}
    for extra, modules in extras.items():
        missing = missing_modules(modules)
        if missing:
            lacking[extra] = missing
    if not lacking:
        return
    names = " and ".join(
        [", ".join(list(lacking)[:-1]), list(lacking)[-1]] if len(lacking) > 1 else lacking
    )
    modules = ", ".join(m for missing in lacking.values() for m in missing)
    raise ConfigError(
        f"'{command}' needs the {names} extra{'s' if len(lacking) > 1 else ''} "
        f"(missing: {modules}); install {'them' if len(lacking) > 1 else 'it'} with "
        f"pip install 'aims[{','.join(lacking)}]'"
    )
