"""scikit-learn models stored with skops: loaded without running arbitrary code."""

from __future__ import annotations

from aims.errors import InvalidInput, PermissionDenied
from aims.flavours.sklearn_model import SklearnModel

# Types skops does not trust by default but which ship with scikit-learn and
# NumPy and carry no code of their own.
SAFE_EXTRA_PREFIXES = ("sklearn.", "numpy.", "scipy.sparse.")


def load(data: bytes, *, trust: bool = False, name: str = "model") -> SklearnModel:
    import zipfile

    from skops.io import get_untrusted_types, loads

    try:
        untrusted = get_untrusted_types(data=data)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        raise InvalidInput(
            f"{name}: not a readable skops model ({type(exc).__name__}: {exc})"
        ) from None
    unknown = [t for t in untrusted if not t.startswith(SAFE_EXTRA_PREFIXES)]
    if unknown and not trust:
        raise PermissionDenied(
            f"{name}: the skops file uses types outside scikit-learn/NumPy "
            f"({', '.join(unknown)}); check them, then pass --trust to load it"
        )
    try:
        estimator = loads(data, trusted=untrusted)
    except Exception as exc:  # skops raises many kinds on a corrupt archive
        raise InvalidInput(
            f"{name}: not a readable skops model ({type(exc).__name__}: {exc})"
        ) from None
    return SklearnModel(estimator, "skops")
