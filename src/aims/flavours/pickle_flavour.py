"""Pickled models (``.pkl``, ``.pickle``, ``.joblib``): loading runs arbitrary code.

Unpickling executes whatever the file says, so a pickle is loaded only when
the caller passes ``trust=True`` (the CLI's ``--trust``, which the registry
records in the audit log). Files written by ``joblib.dump`` and by
``pickle.dump`` are both read, through joblib when it is installed.

References
----------
Python documentation, ``pickle`` module, the warning at the top:
https://docs.python.org/3/library/pickle.html
"""

from __future__ import annotations

import io
import pickle

from aims.errors import InvalidInput, PermissionDenied
from aims.flavours.sklearn_model import SklearnModel

__all__ = ["FLAVOUR", "load", "looks_like_pickle"]

FLAVOUR = "pickle"

# Every pickle since protocol 2 starts with the PROTO opcode; joblib's
# compressed files start with a zlib/gzip/bz2/xz/lz4 header instead.
_PICKLE_MAGIC = b"\x80"
_COMPRESSED_MAGIC = (b"\x78", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x04\x22\x4d\x18", b"ZF")


def looks_like_pickle(data: bytes) -> bool:
    """Whether ``data`` starts like a pickle or a compressed joblib file.

    Examples
    --------
    >>> looks_like_pickle(pickle.dumps([1, 2]))
    True
    >>> looks_like_pickle(b"a,b\\n1,2\\n")
    False
    """
    return data.startswith(_PICKLE_MAGIC) or data.startswith(_COMPRESSED_MAGIC)


def load(data: bytes, *, trust: bool = False, name: str = "model") -> SklearnModel:
    """Load a pickled model, only when ``trust`` is true.

    Raises
    ------
    PermissionDenied
        ``trust`` is false (checked before a single byte is unpickled).
    InvalidInput
        The bytes are not a pickle, or the pickle holds no model.
    """
    if not trust:
        raise PermissionDenied(
            f"{name}: loading a pickle runs arbitrary code from the file; pass --trust only "
            "if you trust its source (this is recorded in the audit log), or save the model "
            "with skops.io.dump(model, 'model.skops') instead"
        )
    try:
        try:
            import joblib
        except ImportError:
            estimator = pickle.loads(data)
        else:
            estimator = joblib.load(io.BytesIO(data))
    except Exception as exc:  # unpickling can raise anything the file's code raises
        if not looks_like_pickle(data):
            hint = "the file does not start like a pickle or a joblib file"
        else:
            detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            hint = f"{type(exc).__name__}{': ' + detail if detail else ''}; it may need a package that is not installed"
        raise InvalidInput(f"{name}: not a readable pickle model ({hint})") from None
    return SklearnModel(estimator, FLAVOUR, name)
