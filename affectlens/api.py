"""The Python API: ``affectlens.load() -> Analyzer``; ``analyzer(text)``, ``analyzer.pipe(texts)``, ``score_frame``.

An ``Analyzer`` is a thin shell over ``Engine.score_batch`` (the one scoring path, DESIGN §2): a single text is a
batch of one, ``pipe`` cuts any iterable into batches and yields results in input order, so its numbers are
exactly the CLI's and the server's. Building an analyzer loads the model (the expensive part); ``load`` keeps
the analyzers it built, so calling it again with the same arguments is free.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from affectlens.engine import MODES, Engine, EngineConfig
from affectlens.errors import ConfigError, InvalidInputError
from affectlens.labels import EMOTION_LABELS, SENTIMENT_LABELS
from affectlens.lexicons import LexiconConfig
from affectlens.neural import NeuralConfig
from affectlens.schema import ModelInfo, Prediction, Result, ScoreError

DEFAULT_BATCH_SIZE = 32

# load(**options): name -> the (part, field) pairs it sets: EngineConfig ("engine"), LexiconConfig, NeuralConfig.
OPTIONS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "provider": (("neural", "provider"),),
    "threads": (("neural", "intra_op_threads"),),
    "onnx_file": (("neural", "onnx_file"),),
    "nrc": (("lexicon", "use_nrc"),),
    "parser": (("lexicon", "use_parser"),),
    "emoji": (("lexicon", "use_emoji"),),
    "max_chars": (("engine", "max_chars"),),
    "explain_max_tokens": (("engine", "explain_max_tokens"),),
    "identity_neutral": (("neural", "identity_neutral"), ("lexicon", "identity_neutral")),  # one switch for both
}


def engine_config(mode: str = "hybrid", model: str | Path | None = None, **options: Any) -> EngineConfig:
    """The ``EngineConfig`` that ``load(mode, model, **options)`` builds (options: see ``OPTIONS``)."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ConfigError(f"unknown option(s) {', '.join(unknown)}: load() accepts {', '.join(sorted(OPTIONS))}")
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    parts: dict[str, dict[str, Any]] = {"engine": {}, "lexicon": {}, "neural": {}}
    for name, value in options.items():
        for section, field_name in OPTIONS[name]:
            parts[section][field_name] = value
    return EngineConfig(
        mode=mode,
        model_dir=None if model is None else str(model),
        lexicon=LexiconConfig(**parts["lexicon"]),
        neural=NeuralConfig(**parts["neural"]),
        **parts["engine"],
    )


class Analyzer:
    """Scores texts with one loaded model; build once (``load``), reuse."""

    def __init__(self, engine: Engine, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, not {batch_size}")
        self.engine = engine
        self.batch_size = batch_size

    @property
    def mode(self) -> str:
        return self.engine.mode

    @property
    def model(self) -> ModelInfo:
        return self.engine.model_info

    def __repr__(self) -> str:
        return f"Analyzer(mode={self.mode!r}, model={self.model.name!r} {self.model.version})"

    def __call__(self, text: str | bytes, *, explain: bool = False) -> Prediction:
        """One text -> ``Prediction``; a text that cannot be scored raises ``InvalidInputError`` (``.code``)."""
        result = self.engine.score_batch([text], explain=explain)[0]
        if isinstance(result, ScoreError):
            raise InvalidInputError(result.message, code=result.code)
        return result

    def pipe(
        self, texts: Iterable[object], batch_size: int | None = None, *, explain: bool = False
    ) -> Iterator[Result]:
        """Results in input order, bad items as ``ScoreError`` in place; streams (one batch in memory at a time)."""
        size = self.batch_size if batch_size is None else batch_size
        if size < 1:
            raise ConfigError(f"batch_size must be >= 1, not {size}")
        if isinstance(texts, str | bytes):
            raise ConfigError("pipe() takes an iterable of texts, not one text: use analyzer(text), or pipe([text])")
        iterator = iter(texts)
        while batch := list(itertools.islice(iterator, size)):
            yield from self.engine.score_batch(batch, explain=explain)

    def explain_html(self, texts: str | Sequence[str], path: str | Path) -> Path:
        """Score ``texts`` with explanations and write the self-contained HTML view to ``path``."""
        from affectlens.explain_html import write_html

        items = [texts] if isinstance(texts, str) else list(texts)
        results = list(self.pipe(items, explain=True))
        return write_html(list(zip(items, results, strict=True)), Path(path))


_ENGINES: dict[tuple[Any, ...], Engine] = {}
_ENGINES_LOCK = threading.Lock()


def load(mode: str = "hybrid", model: str | Path | None = None, **options: Any) -> Analyzer:
    """An ``Analyzer`` for ``mode`` (hybrid, neural, lexicon) and a model folder (None: the shipped model).

    ``options``: provider ("auto", "cpu", "cuda"), threads, onnx_file, nrc, parser, emoji (bools: which lexicon
    parts run), identity_neutral (bool, default True: protected-attribute words neutral for the network and the
    lexicons), max_chars, explain_max_tokens, batch_size (texts per engine call in ``pipe``). The engine (the
    loaded model) is built once per set of engine options and shared by every analyzer that asks for it.
    """
    batch_size = int(options.pop("batch_size", DEFAULT_BATCH_SIZE))
    config = engine_config(mode, model, **options)  # validates before anything is loaded
    model_key = None if model is None else str(Path(model).resolve())
    key = (mode, model_key, tuple(sorted(options.items())))
    with _ENGINES_LOCK:
        if key not in _ENGINES:
            _ENGINES[key] = Engine(config)
        engine = _ENGINES[key]
    return Analyzer(engine, batch_size=batch_size)


def score_frame(
    frame: Any,
    text_column: str = "text",
    *,
    analyzer: Analyzer | None = None,
    prefix: str = "affect_",
    emotions: bool = False,
    batch_size: int | None = None,
) -> Any:
    """A copy of a pandas DataFrame with prediction columns added (pandas is the caller's, not a dependency).

    Columns: ``{prefix}label``, ``{prefix}negative|neutral|positive`` (calibrated), ``{prefix}valence``,
    ``{prefix}emotions`` (predicted emotions, comma-separated), ``{prefix}error`` (the error code of a row that
    could not be scored, else None), and with ``emotions=True`` one ``{prefix}emotion_<name>`` column each.
    """
    if not hasattr(frame, "columns") or not hasattr(frame, "assign"):
        raise ConfigError(f"score_frame needs a pandas DataFrame, not {type(frame).__name__}")
    if text_column not in frame.columns:
        raise ConfigError(
            f"column {text_column!r} not in the frame (columns: {', '.join(map(str, frame.columns))}); "
            "pass text_column="
        )
    analyzer = analyzer or load()
    columns: dict[str, list[Any]] = {}

    def add(name: str, value: Any) -> None:
        columns.setdefault(prefix + name, []).append(value)

    for result in analyzer.pipe(frame[text_column].tolist(), batch_size):
        prediction = result if isinstance(result, Prediction) else None
        add("label", prediction and prediction.label)
        for name in SENTIMENT_LABELS:
            add(name, prediction and prediction.scores[name])
        add("valence", prediction and prediction.valence)
        add("emotions", prediction and ",".join(prediction.emotions_predicted))
        add("error", result.code if isinstance(result, ScoreError) else None)
        for name in EMOTION_LABELS if emotions else ():
            add(f"emotion_{name}", prediction and prediction.emotions[name])
    return frame.assign(**columns)
