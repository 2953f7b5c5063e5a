"""ONNX Runtime backend: ``tokenizers`` + ``onnxruntime`` only (no torch, no transformers).

A model directory holds ``model.onnx`` (or another file named in ``affectlens_model.json``),
``tokenizer.json`` and ``affectlens_model.json`` (name, version, label order, max length). One forward
pass gives the 3 sentiment logits and the 28 emotion logits.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from affectlens.errors import ConfigError, MissingDependencyError, ModelNotFoundError
from affectlens.labels import EMOTION_LABELS, NUM_OUTPUTS, SENTIMENT_LABELS

log = logging.getLogger("affectlens.neural")

MODEL_CONFIG_FILE = "affectlens_model.json"
PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}


@dataclass(frozen=True)
class NeuralConfig:
    """How to run the ONNX model. ``provider``: "auto" (CUDA if it really works, else CPU), "cpu" or "cuda"."""

    provider: str = "auto"
    onnx_file: str | None = None  # None: the variant the model directory names for the provider
    intra_op_threads: int = 0  # 0 = onnxruntime default (all cores)
    inter_op_threads: int = 1
    batch_size: int = 32
    max_length: int | None = None  # None: the model's own max_length
    # Dynamic int8 quantization scales activations per run, so a text's scores would depend on the texts
    # batched with it (by up to ~0.02 in probability). By default int8 graphs therefore run one text per call:
    # results never depend on batch composition. True trades that guarantee for batched throughput.
    int8_batching: bool = False

    def __post_init__(self) -> None:
        if self.provider not in {"auto", "cpu", "cuda"}:
            raise ConfigError(f"provider must be auto, cpu or cuda, not {self.provider!r}")
        if self.batch_size < 1 or self.intra_op_threads < 0 or self.inter_op_threads < 0:
            raise ConfigError("batch_size must be >= 1 and thread counts >= 0")


@dataclass(frozen=True)
class ModelCard:
    """The contents of ``affectlens_model.json``."""

    name: str
    version: str
    sentiment_labels: tuple[str, ...]
    emotion_labels: tuple[str, ...]
    max_length: int
    files: dict[str, str]  # variant ("int8", "fp32", "fp16") -> ONNX file name

    @classmethod
    def read(cls, model_dir: Path) -> ModelCard:
        path = model_dir / MODEL_CONFIG_FILE
        if not path.is_file():
            raise ModelNotFoundError(
                f"{path} not found: point --model at a folder made by `affectlens export` "
                "(it holds the ONNX model, tokenizer.json and affectlens_model.json)"
            )
        data = json.loads(path.read_text(encoding="utf-8"))
        card = cls(
            name=data["name"],
            version=data["version"],
            sentiment_labels=tuple(data["sentiment_labels"]),
            emotion_labels=tuple(data["emotion_labels"]),
            max_length=int(data["max_length"]),
            files=dict(data["files"]),
        )
        if card.sentiment_labels != SENTIMENT_LABELS or card.emotion_labels != EMOTION_LABELS:
            raise ModelNotFoundError(f"{path}: label order differs from this affectlens version's labels")
        return card


def _import_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise MissingDependencyError.for_extra("onnxruntime", "cpu") from exc
    return onnxruntime


class NeuralModel:
    """Tokenize and run the ONNX encoder; ``logits(texts)`` returns an array of shape (n, 31)."""

    def __init__(self, model_dir: Path | str, config: NeuralConfig | None = None) -> None:
        self.model_dir = Path(model_dir)
        self.config = config or NeuralConfig()
        self.card = ModelCard.read(self.model_dir)
        self.max_length = self.config.max_length or self.card.max_length
        self.tokenizer = self._load_tokenizer()
        self.session, self.variant = self._load_session()
        self.input_names = {i.name for i in self.session.get_inputs()}

    def _load_tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        path = self.model_dir / "tokenizer.json"
        if not path.is_file():
            raise ModelNotFoundError(f"{path} not found: the model folder is incomplete; re-run `affectlens export`")
        tokenizer = Tokenizer.from_file(str(path))
        tokenizer.enable_truncation(max_length=self.max_length)
        tokenizer.no_padding()
        return tokenizer

    def _load_session(self) -> tuple[Any, str]:
        ort = _import_onnxruntime()
        available = ort.get_available_providers()
        want_cuda = self.config.provider == "cuda" or (
            self.config.provider == "auto" and PROVIDERS["cuda"] in available
        )
        if self.config.provider == "cuda" and PROVIDERS["cuda"] not in available:
            raise ConfigError(
                "provider 'cuda' requested but onnxruntime has no CUDAExecutionProvider: "
                "install affectlens[gpu] (onnxruntime-gpu, never together with onnxruntime) on a CUDA machine"
            )
        variant = (
            "fp16" if want_cuda and "fp16" in self.card.files else ("int8" if "int8" in self.card.files else "fp32")
        )
        if self.config.onnx_file:
            filename = self.config.onnx_file
            variant = next((k for k, v in self.card.files.items() if v == filename), "custom")
        else:
            filename = self.card.files[variant]
        path = self.model_dir / filename
        if not path.is_file():
            raise ModelNotFoundError(f"{path} not found: run `make model` (or `affectlens export`) to build it")
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.config.intra_op_threads
        options.inter_op_num_threads = self.config.inter_op_threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        providers = [PROVIDERS["cuda"], PROVIDERS["cpu"]] if want_cuda else [PROVIDERS["cpu"]]
        session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
        active = session.get_providers()
        if want_cuda and active[0] != PROVIDERS["cuda"]:
            # onnxruntime-gpu silently falls back to CPU when CUDA libraries are missing.
            if self.config.provider == "cuda":
                raise ConfigError(f"CUDA was requested but onnxruntime runs on {active}: check the CUDA/cuDNN install")
            log.warning("CUDA provider unavailable at run time; running %s on %s", filename, active[0])
        log.info("neural model %s %s (%s) on %s", self.card.name, self.card.version, filename, active[0])
        return session, variant

    @property
    def active_provider(self) -> str:
        return str(self.session.get_providers()[0])

    def encode(self, texts: Sequence[str]) -> list[Any]:
        return list(self.tokenizer.encode_batch(list(texts)))

    def logits(self, texts: Sequence[str], timings: dict[str, float] | None = None) -> np.ndarray:
        """Logits (n, 31) in input order. Texts are sorted by length into batches (dynamic padding).

        ``timings``: when given, milliseconds are added to its ``tokenize`` and ``neural`` (padding and
        ONNX Runtime calls) entries.
        """
        out = np.zeros((len(texts), NUM_OUTPUTS), dtype=np.float32)
        if not texts:
            return out
        t0 = time.perf_counter()
        encodings = self.encode(texts)
        t1 = time.perf_counter()
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), self.run_batch_size):
            idx = order[start : start + self.run_batch_size]
            out[idx] = self._run([encodings[i] for i in idx])
        if timings is not None:
            timings["tokenize"] = timings.get("tokenize", 0.0) + (t1 - t0) * 1000.0
            timings["neural"] = timings.get("neural", 0.0) + (time.perf_counter() - t1) * 1000.0
        return out

    @property
    def run_batch_size(self) -> int:
        """Texts per ONNX Runtime call: 1 for int8 graphs unless ``int8_batching`` (see NeuralConfig)."""
        if self.variant == "int8" and not self.config.int8_batching:
            return 1
        return self.config.batch_size

    def _run(self, encodings: Sequence[Any]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        (logits,) = self.session.run(["logits"], feeds)
        return np.asarray(logits, dtype=np.float32)


def default_threads() -> int:
    return max(1, os.cpu_count() or 1)
