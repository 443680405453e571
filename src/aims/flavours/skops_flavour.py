"""scikit-learn models stored with skops: loaded without running arbitrary code.

A skops file describes every object it holds by type; loading it rebuilds
those objects without unpickling. skops trusts a built-in list of types and
reports the others with :func:`skops.io.get_untrusted_types`. aims accepts, in
addition, *classes* defined inside scikit-learn itself (such as
``sklearn.tree._tree.Tree``, which every tree ensemble holds): they are
rebuilt from their state, not called. Any other reported type (a function, a
class from another package) is refused unless the user passes ``--trust``,
and the message lists those types so they can be checked first.

References
----------
skops documentation, "Secure persistence with skops":
https://skops.readthedocs.io/en/stable/persistence.html
"""

from __future__ import annotations

import importlib
import zipfile

from aims.errors import InvalidInput, PermissionDenied
from aims.flavours.sklearn_model import SklearnModel

FLAVOUR = "skops"


def is_sklearn_class(type_name: str) -> bool:
    """Whether ``type_name`` (``module.Name``) names a class defined in scikit-learn.

    Only modules under ``sklearn.`` are imported to find out, so an untrusted
    file cannot make aims import anything else.

    Examples
    --------
    >>> is_sklearn_class("sklearn.tree._tree.Tree")
    True
    >>> is_sklearn_class("sklearn.utils.validation.check_array")  # a function
    False
    >>> is_sklearn_class("builtins.eval")
    False
    """
    module_name, _, attr = type_name.rpartition(".")
    if not module_name.startswith("sklearn.") or not attr.isidentifier():
        return False
    try:
        obj = getattr(importlib.import_module(module_name), attr, None)
    except ImportError:
        return False
    return isinstance(obj, type) and obj.__module__.startswith("sklearn.")


def untrusted_types(data: bytes, name: str = "model") -> list[str]:
    """The types in a skops file that aims does not accept without ``--trust``.

    Raises
    ------
    InvalidInput
        ``data`` is not a skops file.
    """
    return [t for t in _reported_types(data, name) if not is_sklearn_class(t)]


def _reported_types(data: bytes, name: str) -> list[str]:
    """Every type skops itself does not trust by default."""
    from skops.io import get_untrusted_types

    try:
        return get_untrusted_types(data=data)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise _unreadable(name, exc) from None


def load(data: bytes, *, trust: bool = False, name: str = "model") -> SklearnModel:
    """Load a skops model from its bytes.

    Parameters
    ----------
    data
        The file's bytes (already verified when they come from the artifact store).
    trust
        Accept types outside skops' and aims' trusted sets.
    name
        The file or artifact, for messages.

    Raises
    ------
    InvalidInput
        The bytes are not a skops file, or the file holds no model.
    PermissionDenied
        The file uses types that need ``--trust``; the message lists them.
    """
    from skops.io import loads

    reported = _reported_types(data, name)
    unknown = [t for t in reported if not is_sklearn_class(t)]
    if unknown and not trust:
        raise PermissionDenied(
            f"{name}: the skops file holds types aims does not trust ({', '.join(unknown)}); "
            "check that they are what you expect, then pass --trust to load it"
        )
    try:
        # Everything the file reports is passed as trusted here: either it passed
        # the check above or the user chose to trust the file.
        estimator = loads(data, trusted=reported)
    except Exception as exc:  # skops raises many kinds on a damaged archive
        raise _unreadable(name, exc) from None
    return SklearnModel(estimator, FLAVOUR, name)


def _unreadable(name: str, exc: BaseException) -> InvalidInput:
    detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return InvalidInput(
        f"{name}: not a readable skops model ({type(exc).__name__}"
        f"{': ' + detail if detail else ''}); save a fitted estimator with "
        "skops.io.dump(model, 'model.skops')"
    )
