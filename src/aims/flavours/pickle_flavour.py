"""Pickled models: loading runs arbitrary code, so only with explicit trust."""

from __future__ import annotations

import io
import pickle

from aims.errors import InvalidInput, PermissionDenied
from aims.flavours.sklearn_model import SklearnModel


def load(data: bytes, *, trust: bool = False, name: str = "model") -> SklearnModel:
    if not trust:
        raise PermissionDenied(
            f"{name}: loading a pickle runs arbitrary code; pass --trust if you trust its source "
            "(recorded in the audit log), or save the model with skops instead"
        )
    try:
        try:
            import joblib

            estimator = joblib.load(io.BytesIO(data))
        except ImportError:
            estimator = pickle.loads(data)
    except Exception as exc:
        raise InvalidInput(f"{name}: not a readable pickle ({type(exc).__name__}: {exc})") from None
    return SklearnModel(estimator, "pickle")
