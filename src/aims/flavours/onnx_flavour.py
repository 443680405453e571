"""ONNX models run with onnxruntime on the CPU."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from aims.errors import ConfigError, InvalidInput
from aims.flavours.base import LoadedModel

FEATURE_NAMES_KEY = "aims.feature_names"
CLASSES_KEY = "aims.classes"


class OnnxModel(LoadedModel):
    """An ONNX graph with one 2-D float input (the feature matrix)."""

    flavour = "onnx"

    def __init__(self, session: Any) -> None:
        self.session = session
        inputs = session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 2:
            raise InvalidInput(
                "aims serves ONNX models with a single 2-D input (rows x features); "
                f"this one has {[(i.name, i.shape) for i in inputs]}"
            )
        self.input_name = inputs[0].name
        meta = session.get_modelmeta().custom_metadata_map
        width = inputs[0].shape[1]
        if FEATURE_NAMES_KEY in meta:
            self.feature_names = list(json.loads(meta[FEATURE_NAMES_KEY]))
        elif isinstance(width, int):
            self.feature_names = [f"x{i}" for i in range(width)]
        outputs = [o.name for o in session.get_outputs()]
        self.label_output = outputs[0]
        self.proba_output = next(
            (o for o in outputs if "prob" in o.lower()), outputs[1] if len(outputs) > 1 else None
        )
        if CLASSES_KEY in meta:
            self.classes_ = list(json.loads(meta[CLASSES_KEY]))
        self.task = "classification" if self.proba_output is not None else "regression"

    def _x(self, data: Any) -> np.ndarray:
        return self.frame(data).to_numpy().astype(np.float32)

    def predict(self, data: Any) -> np.ndarray:
        out = self.session.run([self.label_output], {self.input_name: self._x(data)})[0]
        return np.asarray(out).reshape(len(out), -1)[:, 0] if np.ndim(out) > 1 else np.asarray(out)

    def predict_proba(self, data: Any) -> np.ndarray | None:
        if self.proba_output is None:
            return None
        out = self.session.run([self.proba_output], {self.input_name: self._x(data)})[0]
        if isinstance(out, list):  # a ZipMap output: a list of {class: p} dicts
            keys = list(out[0]) if out else []
            if self.classes_ is None:
                self.classes_ = keys
            return np.array([[row[k] for k in keys] for row in out], dtype=float)
        return np.asarray(out, dtype=float)

    def estimator_name(self) -> str:
        meta = self.session.get_modelmeta()
        return f"onnx:{meta.producer_name or 'unknown'}"

    def params(self) -> dict[str, Any]:
        meta = self.session.get_modelmeta()
        return {"producer": meta.producer_name, "graph": meta.graph_name, "input": self.input_name}


def load(data: bytes, *, name: str = "model") -> OnnxModel:
    try:
        import onnxruntime as ort
    except ImportError:
        raise ConfigError("ONNX models need onnxruntime: pip install 'aims[onnx]'") from None
    try:
        session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(f"{name}: not a readable ONNX model ({first})") from None
    return OnnxModel(session)


def sklearn_to_onnx(model: Any, feature_names: list[str], path: str) -> None:
    """Convert a scikit-learn model to ONNX with aims' metadata (feature names, classes)."""
    try:
        from skl2onnx import to_onnx
        from skl2onnx.common.data_types import FloatTensorType
    except ImportError:
        raise ConfigError("converting to ONNX needs skl2onnx: pip install 'aims[onnx]'") from None
    options = {id(model): {"zipmap": False}} if hasattr(model, "classes_") else None
    onx = to_onnx(
        model,
        initial_types=[("input", FloatTensorType([None, len(feature_names)]))],
        options=options,
        target_opset=None,
    )
    entry = onx.metadata_props.add()
    entry.key, entry.value = FEATURE_NAMES_KEY, json.dumps(feature_names)
    if hasattr(model, "classes_"):
        entry = onx.metadata_props.add()
        entry.key = CLASSES_KEY
        entry.value = json.dumps([c.item() if hasattr(c, "item") else c for c in model.classes_])
    with open(path, "wb") as f:
        f.write(onx.SerializeToString())
