"""scikit-learn models stored with skops: loaded without running arbitrary code.

A skops file describes every object it holds by type; loading it rebuilds
those objects without unpickling. skops trusts a built-in list of types and
reports the others with :func:`skops.io.get_untrusted_types`. aims accepts, in
addition, *classes* defined inside scikit-learn itself (such as
``sklearn.tree._tree.Tree``, which every tree ensemble holds): they are
rebuilt from their state, not called. Any other reported type (a function, a
class from another package) is refused unless the user passes ``--trust``,
and the message lists those types so they can be checked first.

Nothing a file names is imported before it is trusted. skops lists the types
from the archive's ``schema.json`` without importing them, and aims decides
that a name is a scikit-learn class only from modules already loaded (skops
loads every module of scikit-learn's public estimators when it starts): a
file naming ``sklearn.anything.Else`` cannot make aims import that module.

An archive is checked before anything reads it: the sizes its directory
declares may add up to at most ``AIMS_SKOPS_MAX_BYTES`` (default 1 GiB) and,
above 16 MiB, at most ``AIMS_SKOPS_MAX_RATIO`` (default 100) times the
compressed size; the members are then decompressed once, in chunks, counting
the bytes actually produced against the same limit. A zip bomb is refused in
constant memory, with a message naming the limit and the variable to raise.

References
----------
skops documentation, "Secure persistence with skops":
https://skops.readthedocs.io/en/stable/persistence.html
"""

from __future__ import annotations

import io
import os
import sys
import zipfile
import zlib

from aims.errors import InvalidInput, PermissionDenied
from aims.flavours.sklearn_model import SklearnModel

FLAVOUR = "skops"
MAX_BYTES_ENV = "AIMS_SKOPS_MAX_BYTES"
DEFAULT_MAX_BYTES = 1 << 30
MAX_RATIO_ENV = "AIMS_SKOPS_MAX_RATIO"
DEFAULT_MAX_RATIO = 100.0
RATIO_FLOOR = 16 << 20
"""Archives that unpack to less than this are not held to the ratio (small schemas compress well)."""
_CHUNK = 1 << 20


def is_sklearn_class(type_name: str) -> bool:
    """Whether ``type_name`` (``module.Name``) names a class defined in scikit-learn.

    Nothing is imported to find out: only modules already loaded count
    (skops loads scikit-learn's estimator modules when it is imported), so an
    untrusted file cannot make aims run the import-time code of any module.

    Examples
    --------
    >>> is_sklearn_class("sklearn.tree._tree.Tree")
    True
    >>> is_sklearn_class("sklearn.utils.validation.check_array")  # a function
    False
    >>> is_sklearn_class("builtins.eval")
    False
    >>> is_sklearn_class("sklearn.experimental.enable_iterative_imputer.X")  # never imported
    False
    """
    import skops.io  # noqa: F401 - loads the modules of scikit-learn's estimators

    module_name, _, attr = type_name.rpartition(".")
    if not module_name.startswith("sklearn.") or not attr.isidentifier():
        return False
    module = sys.modules.get(module_name)
    if module is None:
        return False
    obj = getattr(module, attr, None)
    return isinstance(obj, type) and obj.__module__.startswith("sklearn.")


def _limit(env: str, default: float) -> float:
    text = os.environ.get(env, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise InvalidInput(f"{env}={text!r} is not a positive number; unset it or give e.g. 2e9")
    return value


def check_archive(data: bytes, name: str = "model") -> None:
    """Refuse an archive that would unpack past the size limits, reading it in constant memory.

    Raises
    ------
    InvalidInput
        ``data`` is not a zip archive, or unpacks to more than
        ``AIMS_SKOPS_MAX_BYTES`` bytes or (above :data:`RATIO_FLOOR`) more than
        ``AIMS_SKOPS_MAX_RATIO`` times its compressed size.
    """
    limit = _limit(MAX_BYTES_ENV, DEFAULT_MAX_BYTES)
    max_ratio = _limit(MAX_RATIO_ENV, DEFAULT_MAX_RATIO)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _unreadable(name, exc) from None
    declared = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if declared > limit:
        raise _too_large(name, f"would unpack to {declared:,} bytes", limit)
    if declared > RATIO_FLOOR and declared / packed > max_ratio:
        raise InvalidInput(
            f"{name}: the skops archive would unpack to {declared:,} bytes from {packed:,} "
            f"({declared / packed:,.0f} times its size; the limit is {max_ratio:g}, "
            f"{MAX_RATIO_ENV}); this is how a zip bomb looks. If the model is genuine, "
            f"raise {MAX_RATIO_ENV}"
        )
    # The directory may lie: count what decompression really produces.
    produced = 0
    try:
        for info in infos:
            with archive.open(info) as member:
                while block := member.read(_CHUNK):
                    produced += len(block)
                    if produced > limit:
                        raise _too_large(name, "unpacks past the limit", limit)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        NotImplementedError,
        RuntimeError,
        EOFError,
        OSError,
        zlib.error,
    ) as exc:
        raise _unreadable(name, exc) from None


def _too_large(name: str, what: str, limit: float) -> InvalidInput:
    return InvalidInput(
        f"{name}: the skops archive {what}, over the limit of {int(limit):,} bytes "
        f"({MAX_BYTES_ENV}); if the model really is that large, raise {MAX_BYTES_ENV}"
    )


def untrusted_types(data: bytes, name: str = "model") -> list[str]:
    """The types in a skops file that aims does not accept without ``--trust``.

    Raises
    ------
    InvalidInput
        ``data`` is not a skops file.
    """
    return [t for t in _reported_types(data, name) if not is_sklearn_class(t)]


def _reported_types(data: bytes, name: str) -> list[str]:
    """Every type skops itself does not trust by default (read from ``schema.json``, not imported)."""
    from skops.io import get_untrusted_types

    check_archive(data, name)
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
