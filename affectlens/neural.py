"""ONNX Runtime backend: ``tokenizers`` + ``onnxruntime`` only (no torch, no transformers).

A model directory holds ``model.onnx`` (or another file named in ``affectlens_model.json``),
``tokenizer.json`` and ``affectlens_model.json`` (name, version, label order, max length). One forward
pass gives the 3 sentiment logits and the 28 emotion logits.

Provider selection: on CUDA the fp16 (else fp32) graph, after the CUDA libraries of the nvidia-* pip wheels are
loaded (``prepare_cuda``); on CPU int8, else fp32, else fp16. onnxruntime-gpu falls back to CPU silently when
CUDA cannot start: that is an error when "cuda" was asked for and a warning naming the fix under "auto".
``describe()`` says what actually runs.
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
from affectlens.input_forms import input_form
from affectlens.labels import EMOTION_LABELS, NUM_OUTPUTS, NUM_OUTPUTS_WITH_IRONY, SENTIMENT_LABELS
from affectlens.lexicons.identity_terms import neutralize
from affectlens.lexicons.place_names import neutralize_places
from affectlens.network_text import as_trained, without_leading_handles

log = logging.getLogger("affectlens.neural")

MODEL_CONFIG_FILE = "affectlens_model.json"
EMBEDDING_OUTPUT = "sentence_embedding"  # optional second graph output: the pooled vector the heads read
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
    # ONNX Runtime's intra-op threads spin while they wait for work (lowest latency when the process has the cores
    # to itself); False lets them sleep, leaving the cores to other processes (a server's frontend, its clients).
    spin_wait: bool = True
    # Protected-attribute words replaced by one neutral word in the network's input (lexicons/identity_terms.py),
    # so the network cannot treat "a gay nurse" and "a straight nurse" differently (LexiconConfig.identity_neutral
    # gives the same words no valence in the lexicons).
    identity_neutral: bool = True
    # City names read as "the city" by the network (lexicons/place_names.py): a city says where, not how the writer
    # feels, and the network's reading moved with the name. Off by default: the shipped calibration was fitted on the
    # names as written (README, Behavioural suite, gives the figures with it on).
    place_neutral: bool = False
    # A text that opens with handles is read with and without them and the two logit rows averaged
    # (affectlens.network_text.without_leading_handles). Off by default: the shipped calibration was fitted on one
    # reading (README, Behavioural suite, gives the figures of a calibration fitted with it on).
    average_leading_handles: bool = False

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
    irony: bool = False  # the network has the irony head (one more output row after the emotions)
    input_form: str | None = None  # the text form the network was trained on (affectlens.input_forms)

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
            irony=bool(data.get("irony", False)),
            input_form=data.get("input_form"),
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


CUDA_FIX = (
    "install affectlens[gpu] (onnxruntime-gpu with its nvidia-* CUDA and cuDNN wheels; never together with "
    "onnxruntime), check that `nvidia-smi` works, and in Docker run with `--gpus all`"
)
# Graph preference per provider: int8 does not run on the CUDA provider; fp16 is the GPU graph.
CUDA_VARIANTS = ("fp16", "fp32")
CPU_VARIANTS = ("int8", "fp32", "fp16")
_cuda_prepared = False


def prepare_cuda(ort: Any) -> None:
    """Load the CUDA and cuDNN libraries of the nvidia-* pip wheels (``onnxruntime.preload_dlls``), once per process.

    Without it onnxruntime-gpu installed from pip finds no CUDA and silently runs on CPU. Older onnxruntime
    versions without ``preload_dlls`` rely on the system's library path. A failure is logged, not raised: the
    session that follows reports whether CUDA really works.
    """
    global _cuda_prepared
    if _cuda_prepared:
        return
    _cuda_prepared = True
    preload = getattr(ort, "preload_dlls", None)
    if preload is None:
        return
    try:
        preload()
    except Exception:
        log.warning("could not preload the CUDA libraries for onnxruntime: %s", CUDA_FIX, exc_info=True)


def _pick_variant(files: dict[str, str], order: Sequence[str]) -> str | None:
    return next((v for v in order if v in files), None)


class NeuralModel:
    """Tokenize and run the ONNX encoder; ``logits(texts)`` returns (n, 31), or (n, 32) with the irony head."""

    def __init__(self, model_dir: Path | str, config: NeuralConfig | None = None) -> None:
        self.model_dir = Path(model_dir)
        self.config = config or NeuralConfig()
        self.card = ModelCard.read(self.model_dir)
        self.max_length = self.config.max_length or self.card.max_length
        self.tokenizer = self._load_tokenizer()
        self.input_form = input_form(self.card.input_form)
        self.num_outputs = NUM_OUTPUTS_WITH_IRONY if self.card.irony else NUM_OUTPUTS
        self.providers_requested: list[str] = []
        self.session, self.variant, self.onnx_file = self._load_session()
        self.input_names = {i.name for i in self.session.get_inputs()}
        self.has_embeddings = EMBEDDING_OUTPUT in {o.name for o in self.session.get_outputs()}

    def _load_tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        path = self.model_dir / "tokenizer.json"
        if not path.is_file():
            raise ModelNotFoundError(f"{path} not found: the model folder is incomplete; re-run `affectlens export`")
        tokenizer = Tokenizer.from_file(str(path))
        tokenizer.enable_truncation(max_length=self.max_length)
        tokenizer.no_padding()
        return tokenizer

    def _choose(self, cuda: bool) -> tuple[str, str]:
        """(variant, file name) for the provider: the configured file, else the best graph the card lists."""
        if self.config.onnx_file:
            filename = self.config.onnx_file
            return next((k for k, v in self.card.files.items() if v == filename), "custom"), filename
        variant = _pick_variant(self.card.files, CUDA_VARIANTS if cuda else CPU_VARIANTS)
        if variant is None:
            raise ModelNotFoundError(
                f"{self.model_dir / MODEL_CONFIG_FILE} lists no ONNX graph for "
                f"{'CUDA (fp16 or fp32)' if cuda else 'CPU'}: it has {sorted(self.card.files) or 'none'}"
            )
        return variant, self.card.files[variant]

    def _load_session(self) -> tuple[Any, str, str]:
        ort = _import_onnxruntime()
        requested = self.config.provider
        cuda_available = PROVIDERS["cuda"] in ort.get_available_providers()
        if requested == "cuda" and not cuda_available:
            raise ConfigError(f"provider 'cuda' requested but onnxruntime has no CUDAExecutionProvider: {CUDA_FIX}")
        want_cuda = requested == "cuda" or (requested == "auto" and cuda_available)
        if want_cuda and not self.config.onnx_file and _pick_variant(self.card.files, CUDA_VARIANTS) is None:
            if requested == "cuda":
                raise ConfigError(
                    f"the model in {self.model_dir} has only {sorted(self.card.files)} graphs and int8 does not run "
                    "on the CUDA provider: build an fp16 model folder with `affectlens export HF_DIR -o DIR "
                    "--only fp16` and serve that"
                )
            log.info("the model has no fp16/fp32 graph for CUDA: running on CPU")
            want_cuda = False
        if want_cuda:
            prepare_cuda(ort)
        variant, filename = self._choose(want_cuda)
        session = self._session(ort, filename, want_cuda)
        active = session.get_providers()
        if want_cuda and active[0] != PROVIDERS["cuda"]:
            # onnxruntime-gpu silently falls back to CPU when the CUDA libraries cannot be loaded.
            if requested == "cuda":
                raise ConfigError(f"CUDA was requested but onnxruntime runs {filename} on {active[0]}: {CUDA_FIX}")
            log.warning("the CUDA provider did not start, running on %s; to use the GPU: %s", active[0], CUDA_FIX)
            cpu_variant, cpu_file = self._choose(False)
            if cpu_file != filename:  # the graph made for the GPU is not the best one on CPU
                variant, filename = cpu_variant, cpu_file
                session = self._session(ort, filename, False)
        log.info(
            "neural model %s %s: %s (%s) on %s",
            self.card.name, self.card.version, filename, variant, session.get_providers()[0],
        )  # fmt: skip
        return session, variant, filename

    def _session(self, ort: Any, filename: str, cuda: bool) -> Any:
        path = self.model_dir / filename
        if not path.is_file():
            raise ModelNotFoundError(f"{path} not found: run `make model` (or `affectlens export`) to build it")
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.config.intra_op_threads
        options.inter_op_num_threads = self.config.inter_op_threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if not self.config.spin_wait:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        self.providers_requested = [PROVIDERS["cuda"], PROVIDERS["cpu"]] if cuda else [PROVIDERS["cpu"]]
        return ort.InferenceSession(str(path), sess_options=options, providers=self.providers_requested)

    def describe(self) -> dict[str, Any]:
        """What runs: model, graph variant and file, providers requested and the one actually in use."""
        return {
            "model": self.card.name,
            "version": self.card.version,
            "variant": self.variant,
            "file": self.onnx_file,
            "provider": self.config.provider,
            "providers_requested": list(self.providers_requested),
            "providers_active": [str(p) for p in self.session.get_providers()],
            "active_provider": self.active_provider,
        }

    @property
    def active_provider(self) -> str:
        return str(self.session.get_providers()[0])

    @property
    def has_irony(self) -> bool:
        return self.card.irony

    def encode(self, texts: Sequence[str]) -> list[Any]:
        """Token ids of the texts in the network's input form (e.g. emoji as words), handles and links as the
        training data wrote them (``affectlens.network_text``), identity terms and city names neutralized
        (``NeuralConfig.identity_neutral``, ``place_neutral``)."""
        forms = [as_trained(self.input_form(t)) for t in texts]
        if self.config.identity_neutral:
            forms = [neutralize(t) for t in forms]
        if self.config.place_neutral:
            forms = [neutralize_places(t) for t in forms]
        return list(self.tokenizer.encode_batch(forms))

    def logits(self, texts: Sequence[str], timings: dict[str, float] | None = None) -> np.ndarray:
        """Logits (n, 31), or (n, 32) with the irony head, in input order; length-sorted batches (dynamic padding).

        ``timings``: when given, milliseconds are added to its ``tokenize`` and ``neural`` (padding and
        ONNX Runtime calls) entries.
        """
        return self.forward(texts, timings)[0]

    def embeddings(self, texts: Sequence[str]) -> np.ndarray:
        """Sentence embeddings (n, hidden): the pooled vector the heads read (see ``forward``)."""
        embeddings = self.forward(texts, with_embeddings=True)[1]
        assert embeddings is not None
        return embeddings

    def forward(
        self, texts: Sequence[str], timings: dict[str, float] | None = None, with_embeddings: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """``(logits, embeddings)`` of one pass; embeddings (n, hidden) only when asked (else None). A text that
        opens with handles gets the mean of its logits with and without them (``average_leading_handles``).

        Embeddings need a graph with the ``sentence_embedding`` output (every export since 0.2.0's; an older
        folder: ``python -m affectlens.export.embedding_output MODEL_DIR``).
        """
        if with_embeddings and not self.has_embeddings:
            raise ConfigError(
                f"{self.model_dir / self.onnx_file} has no {EMBEDDING_OUTPUT!r} output: add it with "
                f"`python -m affectlens.export.embedding_output {self.model_dir}` (needs the train extra)"
            )
        n = len(texts)
        if not texts:
            empty = np.zeros((0, 0), dtype=np.float32) if with_embeddings else None
            return np.zeros((0, self.num_outputs), dtype=np.float32), empty
        second = self._second_forms(texts)
        texts = list(texts) + [form for _, form in second]
        out = np.zeros((len(texts), self.num_outputs), dtype=np.float32)
        embeddings: np.ndarray | None = None
        t0 = time.perf_counter()
        encodings = self.encode(texts)
        t1 = time.perf_counter()
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), self.run_batch_size):
            idx = order[start : start + self.run_batch_size]
            logits, pooled = self._run([encodings[i] for i in idx], with_embeddings)
            out[idx] = logits
            if pooled is not None:
                if embeddings is None:
                    embeddings = np.zeros((len(texts), pooled.shape[1]), dtype=np.float32)
                embeddings[idx] = pooled
        if timings is not None:
            timings["tokenize"] = timings.get("tokenize", 0.0) + (t1 - t0) * 1000.0
            timings["neural"] = timings.get("neural", 0.0) + (time.perf_counter() - t1) * 1000.0
        if second:
            rows = [i for i, _ in second]
            out[rows] = (out[rows] + out[n:]) / 2
        return out[:n], (embeddings[:n] if embeddings is not None else None)

    def _second_forms(self, texts: Sequence[str]) -> list[tuple[int, str]]:
        """(index, form without its leading handles) of each text the network also reads that way."""
        if not self.config.average_leading_handles:
            return []
        forms = [(i, without_leading_handles(t)) for i, t in enumerate(texts)]
        return [(i, form) for i, form in forms if form is not None]

    @property
    def run_batch_size(self) -> int:
        """Texts per ONNX Runtime call: 1 for int8 graphs unless ``int8_batching`` (see NeuralConfig)."""
        if self.variant == "int8" and not self.config.int8_batching:
            return 1
        return self.config.batch_size

    def _run(self, encodings: Sequence[Any], with_embeddings: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        if not with_embeddings:
            (logits,) = self.session.run(["logits"], feeds)
            return np.asarray(logits, dtype=np.float32), None
        logits, pooled = self.session.run(["logits", EMBEDDING_OUTPUT], feeds)
        return np.asarray(logits, dtype=np.float32), np.asarray(pooled, dtype=np.float32)


def default_threads() -> int:
    return max(1, os.cpu_count() or 1)
