"""ONNX models, run with onnxruntime on the CPU.

Two input layouts are understood:

* **one 2-D input** (rows x features), what ``skl2onnx`` writes for a model
  trained on a matrix. Feature names come from the model's metadata key
  ``aims.feature_names`` (a JSON list, written by :func:`sklearn_to_onnx`),
  else they are positional: ``x0, x1, ...``.
* **one input per feature**, each of shape ``(rows,)`` or ``(rows, 1)``; the
  input names are the feature names.

Outputs: the label is the output named ``label``/``output_label`` (else the
first one); probabilities come from the output whose name contains ``prob``
(``probabilities``, ``output_probability``), either a tensor or skl2onnx's
ZipMap (a list of ``{class: p}`` dicts). Class labels come from the metadata
key ``aims.classes``, else from the classifier node's ``classlabels_*``
attribute (read with the ``onnx`` package when installed), else from the
ZipMap keys.

References
----------
ONNX-ML operators (``classlabels_*`` attributes):
https://onnx.ai/onnx/operators/ ; skl2onnx ZipMap option:
https://onnx.ai/sklearn-onnx/parameterized.html
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aims.errors import ConfigError, InvalidInput
from aims.flavours.array_inputs import MatrixBuffer
from aims.flavours.base import LoadedModel

__all__ = [
    "CLASSES_KEY",
    "FEATURE_NAMES_KEY",
    "FLAVOUR",
    "OnnxModel",
    "graph_classes",
    "load",
    "sklearn_to_onnx",
]

FLAVOUR = "onnx"
FEATURE_NAMES_KEY = "aims.feature_names"
CLASSES_KEY = "aims.classes"

# onnxruntime's type strings for the tensor inputs aims can feed from a table.
_NUMPY_TYPES: dict[str, type[np.generic]] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
    "tensor(string)": np.str_,
}
_LABEL_NAMES = ("label", "output_label")
_CLASS_ATTRIBUTES = ("classlabels_int64s", "classlabels_ints", "classlabels_strings")


class OnnxModel(LoadedModel):
    """An ONNX graph behind :class:`LoadedModel`.

    Parameters
    ----------
    session
        An ``onnxruntime.InferenceSession``.
    classes
        Class labels found in the graph, used when the metadata has none.
    """

    flavour = FLAVOUR

    def __init__(self, session: Any, classes: Sequence[Any] | None = None) -> None:
        self.session = session
        self.inputs = session.get_inputs()
        meta = session.get_modelmeta().custom_metadata_map
        for node in self.inputs:
            if node.type not in _NUMPY_TYPES:
                raise InvalidInput(
                    f"ONNX input {node.name!r} has type {node.type}; aims feeds tensors of "
                    f"{', '.join(sorted(_NUMPY_TYPES))} from a table"
                )
        if len(self.inputs) == 1 and len(self.inputs[0].shape) == 2:
            self.matrix = True
            width = self.inputs[0].shape[1]
            self.n_features = width if isinstance(width, int) else None
            if FEATURE_NAMES_KEY in meta:
                self.feature_names = _names_from_metadata(meta[FEATURE_NAMES_KEY], width)
            elif self.n_features is not None:
                self.feature_names = [f"x{i}" for i in range(self.n_features)]
        elif all(_is_column(node.shape) for node in self.inputs):
            self.matrix = False
            self.feature_names = [node.name for node in self.inputs]
            self.n_features = len(self.inputs)
        else:
            raise InvalidInput(
                "aims runs ONNX models with one 2-D input (rows x features) or one input per "
                f"feature; this one has {[(i.name, i.shape) for i in self.inputs]}"
            )
        # Numeric records go into a reused matrix of the input's type (the server's path).
        numeric = self.matrix and self.inputs[0].type not in ("tensor(string)", "tensor(bool)")
        self._buffer = (
            MatrixBuffer(self.n_features, _NUMPY_TYPES[self.inputs[0].type])
            if numeric and self.n_features is not None and self.feature_names is not None
            else None
        )
        outputs = session.get_outputs()
        names = [o.name for o in outputs]
        self.proba_output = next((n for n in names if "prob" in n.lower()), None)
        others = [n for n in names if n != self.proba_output] or names
        self.label_output = next((n for n in others if n.lower() in _LABEL_NAMES), others[0])
        label_type = next(o.type for o in outputs if o.name == self.label_output)
        classifier = self.proba_output is not None or label_type in (
            "tensor(int64)",
            "tensor(string)",
        )
        self.task = "classification" if classifier else "regression"
        if self.task == "classification":
            if CLASSES_KEY in meta:
                self.classes_ = list(json.loads(meta[CLASSES_KEY]))
            elif classes is not None:
                self.classes_ = list(classes)

    def _feed(self, data: Any) -> dict[str, np.ndarray]:
        frame = self.frame(data)
        if self.matrix:
            node = self.inputs[0]
            return {node.name: frame.to_numpy().astype(_NUMPY_TYPES[node.type])}
        feed = {}
        for node, column in zip(self.inputs, frame.columns, strict=True):
            values = frame[column].to_numpy().astype(_NUMPY_TYPES[node.type])
            feed[node.name] = values.reshape(-1, 1) if len(node.shape) == 2 else values
        return feed

    def predict(self, data: Any) -> np.ndarray:
        return self._labels(self.session.run([self.label_output], self._feed(data))[0])

    def predict_proba(self, data: Any) -> np.ndarray | None:
        if self.proba_output is None:
            return None
        return self._proba(self.session.run([self.proba_output], self._feed(data))[0])

    def predict_all(self, data: Any) -> tuple[np.ndarray, np.ndarray | None]:
        feed = None
        if self._buffer is not None and isinstance(data, dict):
            x = self._buffer.fill(data, self.feature_names or [])
            feed = None if x is None else {self.inputs[0].name: x}
        if feed is None:
            feed = self._feed(data)
        if self.proba_output is None:
            return self._labels(self.session.run([self.label_output], feed)[0]), None
        # One run of the graph computes both outputs.
        labels, proba = self.session.run([self.label_output, self.proba_output], feed)
        return self._labels(labels), self._proba(proba)

    @staticmethod
    def _labels(out: Any) -> np.ndarray:
        out = np.asarray(out)
        return out.ravel() if out.ndim == 2 and out.shape[1] == 1 else out

    def _proba(self, out: Any) -> np.ndarray:
        if isinstance(out, list):  # ZipMap: one {class: probability} dict per row
            keys = list(self.classes_) if self.classes_ is not None else list(out[0] if out else [])
            if self.classes_ is None:
                self.classes_ = keys
            return np.array([[row[k] for k in keys] for row in out], dtype=float).reshape(
                len(out), len(keys)
            )
        return np.asarray(out, dtype=float)

    def estimator_name(self) -> str:
        meta = self.session.get_modelmeta()
        return f"onnx:{meta.producer_name or 'unknown'}"

    def params(self) -> dict[str, Any]:
        meta = self.session.get_modelmeta()
        return {
            "producer": meta.producer_name,
            "producer_version": meta.version,
            "graph": meta.graph_name,
        }

    def describe(self) -> dict[str, Any]:
        """The common description plus the graph's input and output names, types and shapes."""
        out = super().describe()
        out["inputs"] = [_io(node) for node in self.inputs]
        out["outputs"] = [_io(node) for node in self.session.get_outputs()]
        return out


def _is_column(shape: Sequence[Any]) -> bool:
    return len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)


def _io(node: Any) -> dict[str, Any]:
    shape = [d if isinstance(d, int) else None for d in node.shape]
    return {"name": node.name, "type": node.type, "shape": shape}


def _names_from_metadata(text: str, width: Any) -> list[str]:
    try:
        names = json.loads(text)
    except json.JSONDecodeError:
        names = None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InvalidInput(
            f"the ONNX metadata {FEATURE_NAMES_KEY!r} must be a JSON list of column names, "
            f"got {text[:80]!r}"
        )
    if isinstance(width, int) and len(names) != width:
        raise InvalidInput(
            f"the ONNX metadata {FEATURE_NAMES_KEY!r} lists {len(names)} names but the input "
            f"has {width} columns; write one name per column"
        )
    return names


def graph_classes(data: bytes) -> list[Any] | None:
    """Class labels stored on the graph's classifier node, or None.

    Needs the ``onnx`` package (installed with ``aims[onnx]``); without it the
    labels come from the metadata or the ZipMap keys instead.
    """
    try:
        import onnx
    except ImportError:
        return None
    try:
        graph = onnx.load_from_string(data).graph
    except Exception:  # the session already parsed it; any failure here is not fatal
        return None
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.name not in _CLASS_ATTRIBUTES:
                continue
            if attribute.strings:
                return [s.decode("utf-8") for s in attribute.strings]
            return [int(i) for i in attribute.ints]
    return None


def load(data: bytes, *, name: str = "model") -> OnnxModel:
    """Load an ONNX model from its bytes into a CPU ``InferenceSession``.

    Raises
    ------
    ConfigError
        onnxruntime is not installed.
    InvalidInput
        The bytes are not an ONNX model, or its inputs cannot be fed from a table.
    """
    try:
        import onnxruntime as ort
    except ImportError:
        raise ConfigError("ONNX models need onnxruntime: pip install 'aims[onnx]'") from None
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: warnings are not for the user of aims
    try:
        session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise InvalidInput(
            f"{name}: not a readable ONNX model ({detail or type(exc).__name__}); export it "
            "with skl2onnx, torch.onnx or tf2onnx"
        ) from None
    meta = session.get_modelmeta().custom_metadata_map
    classes = None if CLASSES_KEY in meta else graph_classes(data)
    try:
        return OnnxModel(session, classes)
    except InvalidInput as exc:
        raise InvalidInput(f"{name}: {exc}") from None


def sklearn_to_onnx(
    model: Any,
    feature_names: Sequence[str],
    path: str | Path,
    *,
    dtype: str = "float32",
    target_opset: int | None = None,
) -> Path:
    """Convert a fitted scikit-learn model to ONNX, with aims' metadata.

    Parameters
    ----------
    model
        A fitted estimator or pipeline taking ``len(feature_names)`` numeric columns.
    feature_names
        The training columns in order; stored under ``aims.feature_names``.
    path
        Where to write the ``.onnx`` file.
    dtype
        ``"float32"`` (what most runtimes expect) or ``"float64"`` (exact for
        linear models on large-valued features).
    target_opset
        The ONNX opset; skl2onnx's newest supported when None.

    Classifiers are converted without ZipMap, so probabilities are a plain
    ``(rows, classes)`` tensor, and their classes are stored under ``aims.classes``.

    Raises
    ------
    ConfigError
        skl2onnx is not installed.
    InvalidInput
        The model cannot be converted (the message is skl2onnx's).
    """
    try:
        from skl2onnx import to_onnx
        from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
    except ImportError:
        raise ConfigError("converting to ONNX needs skl2onnx: pip install 'aims[onnx]'") from None
    kinds = {"float32": FloatTensorType, "float64": DoubleTensorType}
    if dtype not in kinds:
        raise InvalidInput(f"dtype must be 'float32' or 'float64', not {dtype!r}")
    names = [str(n) for n in feature_names]
    classes = getattr(model, "classes_", None)
    options = {id(model): {"zipmap": False}} if classes is not None else None
    try:
        onx = to_onnx(
            model,
            initial_types=[("input", kinds[dtype]([None, len(names)]))],
            options=options,
            target_opset=target_opset,
        )
    except Exception as exc:  # skl2onnx raises many kinds for unsupported models
        raise InvalidInput(
            f"{type(model).__name__} cannot be converted to ONNX: {exc}; save it with skops"
        ) from None
    metadata = {FEATURE_NAMES_KEY: json.dumps(names)}
    if classes is not None:
        metadata[CLASSES_KEY] = json.dumps(np.asarray(classes).tolist())
    for key, value in metadata.items():
        entry = onx.metadata_props.add()
        entry.key, entry.value = key, value
    target = Path(path)
    target.write_bytes(onx.SerializeToString())
    return target
