"""TorchServe adapter for affectlens: decode the request batch -> ``Engine.score_batch`` -> encode.

TorchServe hands the worker a *batch* of HTTP requests (``batchSize`` / ``maxBatchDelay`` in the archive's
model config). This module turns each request into texts, scores all texts of the batch with one
``Engine.score_batch`` call (two when the batch mixes ``explain`` and plain requests), and answers every
request on its own: its own status code, ``Content-Type: application/json`` and a JSON body.

Requests (``POST /predictions/<model>``):

* ``Content-Type: application/json``: ``{"text": "...", "id": ..., "explain": true}`` -> one Prediction
  object; ``{"texts": ["...", ...], "ids": [...], "explain": true}`` -> a JSON list, one entry per text
  (a bad text gets an inline ``{"error": ...}`` entry; the others are answered).
* ``Content-Type: text/plain``: the body is one text -> one Prediction object (TorchServe does not pass query
  parameters to handlers: use JSON for ``id`` and ``explain``).
* Form bodies (``curl -d`` without a Content-Type) are refused with 415: TorchServe splits them into fields.

Errors are JSON ``{"id": ..., "error": {"code": ..., "message": ...}}`` with status 400 (the request is
wrong: ``empty_body``, ``invalid_json``, ``invalid_utf8``, ``missing_text``, ``empty_text``, ``not_a_string``,
``text_too_long``, ``too_many_texts``, ``invalid_request``), 415 (``unsupported_media_type``) or 500
(``internal_error``: logged with its traceback; the worker keeps serving). Over-size bodies never reach
the handler: TorchServe answers 413 (``max_request_size``).

Nothing here imports ``ts`` at module level, so the logic runs (and is unit tested) with a mock context
and a mock engine. The engine comes from ``affectlens``; the model files come from the archive itself
(``context.system_properties["model_dir"]``).
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

log = logging.getLogger("affectlens.handler")

JSON_TYPE = "application/json"
OVERRIDES_ENV = "AFFECTLENS_HANDLER_OVERRIDES"  # JSON object set by `affectlens serve` (engine options)
WARMUP_TEXTS = ("I do not like this at all.", "What a great day 👍", "The meeting is at noon.")
STAGES = ("tokenize", "lexicon", "neural", "ensemble")  # = affectlens.engine.TIMING_STAGES
STAGE_METRIC = "affectlens_stage_latency_ms"
BATCH_METRIC = "affectlens_batch_requests"


# -- configuration ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class HandlerConfig:
    """The ``handler:`` section of the archive's model config (plus ``AFFECTLENS_HANDLER_OVERRIDES``)."""

    mode: str = "hybrid"  # hybrid | neural | lexicon
    provider: str = "auto"  # auto | cpu | cuda
    threads: int = 0  # ONNX Runtime intra-op threads per worker; 0 = (cores - 1) / workers, at most 8
    use_nrc: bool = True
    use_parser: bool = True
    max_text_chars: int = 5000  # longer texts are refused (400 text_too_long), never silently cut
    max_texts: int = 256  # texts per request
    max_explain_texts: int = 16  # texts per request with "explain": true (explanations are costly)
    max_id_chars: int = 256
    warmup: bool = True  # score a few texts before the worker reports READY
    engine_factory: str | None = None  # "module:callable(config, model_dir)"; None = affectlens Engine

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type in ("int",) and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ValueError(f"handler config {f.name} must be a non-negative integer, not {value!r}")
            if f.type in ("bool",) and not isinstance(value, bool):
                raise ValueError(f"handler config {f.name} must be true or false, not {value!r}")
        for name in ("max_text_chars", "max_texts", "max_explain_texts", "max_id_chars"):
            if getattr(self, name) < 1:
                raise ValueError(f"handler config {name} must be at least 1")
        if self.mode not in ("hybrid", "neural", "lexicon"):
            raise ValueError(f"handler config mode must be hybrid, neural or lexicon, not {self.mode!r}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> HandlerConfig:
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown handler config keys {unknown}; known: {sorted(known)}")
        return cls(**data)

    @classmethod
    def from_context(cls, context: Any, environ: Mapping[str, str] | None = None) -> HandlerConfig:
        yaml_config = getattr(context, "model_yaml_config", None) or {}
        data = dict(yaml_config.get("handler") or {})
        raw = (os.environ if environ is None else environ).get(OVERRIDES_ENV)
        if raw:
            overrides = json.loads(raw)
            if not isinstance(overrides, dict):
                raise ValueError(f"{OVERRIDES_ENV} must be a JSON object")
            data.update(overrides)
        return cls.from_mapping(data)


# -- requests --------------------------------------------------------------------------------------
class RequestError(Exception):
    """A request that cannot be answered with predictions; becomes a JSON error with ``status``."""

    def __init__(self, status: int, code: str, message: str, id: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.id = status, code, message, id

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {} if self.id is None else {"id": self.id}
        out["error"] = {"code": self.code, "message": self.message}
        return out


@dataclass
class ParsedRequest:
    """One request's texts. ``single``: the answer is one object (``text``), else a list (``texts``)."""

    texts: list[Any]
    ids: list[Any]
    explain: bool
    single: bool
    # index in ``texts`` -> error entry decided by the handler before scoring (e.g. text_too_long)
    rejected: dict[int, dict[str, Any]] = field(default_factory=dict)


def _header(context: Any, idx: int, name: str) -> str | None:
    """A request header (case-insensitive), or the content type TorchServe recorded for the body."""
    try:
        headers = context.get_all_request_header(idx) or {}
    except (AttributeError, IndexError, KeyError, TypeError):
        return None
    lname = name.lower()
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == lname and isinstance(value, str):
            return value
    if lname == "content-type":
        for part in ("body", "data"):
            value = headers.get(part)
            if isinstance(value, dict) and isinstance(value.get("content-type"), str):
                return str(value["content-type"])
    return None


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


class RequestDecoder:
    """Turns one TorchServe request (a dict of parameters) into a ``ParsedRequest`` or a ``RequestError``."""

    def __init__(self, config: HandlerConfig) -> None:
        self.config = config

    def decode(self, row: Any, content_type: str | None) -> ParsedRequest:
        if not isinstance(row, Mapping):
            raise RequestError(400, "invalid_request", "the request carries no body")
        body = row.get("body")
        if body is None:
            body = row.get("data")
        media = _media_type(content_type)
        if media in ("application/x-www-form-urlencoded", "multipart/form-data"):
            # TorchServe splits form bodies into fields (curl -d sends a form unless told otherwise)
            raise RequestError(415, "unsupported_media_type", f"form bodies ({media}) are not supported; send JSON "
                               "with -H 'Content-Type: application/json' (or text/plain)")  # fmt: skip
        if body is None or (isinstance(body, bytes | bytearray | str) and len(body) == 0):
            raise RequestError(400, "empty_body", 'the request body is empty; send {"text": "..."} as JSON')
        if isinstance(body, Mapping | list):  # TorchServe decoded the JSON already (decode_input_request=true)
            return self._from_json(body)
        if isinstance(body, bytes | bytearray):
            try:
                body = bytes(body).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise RequestError(400, "invalid_utf8", f"the body is not valid UTF-8 (byte {exc.start}); "
                                   "send UTF-8 encoded text") from None  # fmt: skip
        if not isinstance(body, str):
            raise RequestError(400, "invalid_request", f"unexpected body of type {type(body).__name__}")
        if media in ("", "application/octet-stream"):
            media = JSON_TYPE if body.lstrip().startswith(("{", "[")) else "text/plain"
        if media == JSON_TYPE or media.endswith("+json"):
            try:
                payload = json.loads(body)
            except json.JSONDecodeError as exc:
                raise RequestError(400, "invalid_json", f"the body is not valid JSON: {exc.msg} at line {exc.lineno} "
                                   f"column {exc.colno}") from None  # fmt: skip
            return self._from_json(payload)
        if media.startswith("text/"):
            return self._parsed([body], [None], explain=False, single=True)
        raise RequestError(415, "unsupported_media_type", f"Content-Type {content_type!r} is not supported; "
                           "send application/json or text/plain")  # fmt: skip

    def _check_id(self, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise RequestError(400, "invalid_request", '"id" must be a string or an integer')
        if isinstance(value, str) and len(value) > self.config.max_id_chars:
            raise RequestError(400, "invalid_request", f'"id" is longer than {self.config.max_id_chars} characters')
        return value

    def _from_json(self, payload: Any) -> ParsedRequest:
        if not isinstance(payload, Mapping):
            raise RequestError(400, "invalid_request", 'expected a JSON object like {"text": "..."} or '
                               '{"texts": ["...", ...]}, got a JSON ' + type(payload).__name__)  # fmt: skip
        id_ = None
        if "id" in payload:
            id_ = self._check_id(payload["id"])
        explain = False
        if "explain" in payload:
            if not isinstance(payload["explain"], bool):
                raise RequestError(400, "invalid_request", '"explain" must be true or false', id_)
            explain = payload["explain"]
        has_text, has_texts = payload.get("text") is not None, payload.get("texts") is not None
        if has_text and has_texts:
            raise RequestError(400, "invalid_request", 'send either "text" or "texts", not both', id_)
        if has_text:
            return self._parsed([payload["text"]], [id_], explain, single=True)
        if not has_texts:
            raise RequestError(400, "missing_text", 'the JSON object has no "text" (a string) or "texts" '
                               "(a list of strings)", id_)  # fmt: skip
        texts = payload["texts"]
        if not isinstance(texts, list) or not texts:
            raise RequestError(400, "invalid_request", '"texts" must be a non-empty list of strings', id_)
        if len(texts) > self.config.max_texts:
            raise RequestError(400, "too_many_texts", f'"texts" has {len(texts)} items; the limit is '
                               f"{self.config.max_texts} per request", id_)  # fmt: skip
        if explain and len(texts) > self.config.max_explain_texts:
            raise RequestError(400, "too_many_texts", f"explanations are limited to {self.config.max_explain_texts} "
                               f"texts per request; got {len(texts)}", id_)  # fmt: skip
        ids = payload.get("ids")
        if ids is None:
            ids = [None] * len(texts)
        elif not isinstance(ids, list) or len(ids) != len(texts):
            raise RequestError(400, "invalid_request", '"ids" must be a list as long as "texts"', id_)
        ids = [self._check_id(i) for i in ids]
        return self._parsed(texts, ids, explain, single=False)

    def _parsed(self, texts: list[Any], ids: list[Any], explain: bool, single: bool) -> ParsedRequest:
        rejected: dict[int, dict[str, Any]] = {}
        limit = self.config.max_text_chars
        for k, text in enumerate(texts):
            if isinstance(text, str) and len(text) > limit:
                error = RequestError(400, "text_too_long", f"the text has {len(text)} characters; the limit is "
                                     f"{limit}: split it into smaller texts", ids[k])  # fmt: skip
                if single:
                    raise error
                rejected[k] = error.to_dict()
        return ParsedRequest(texts, ids, explain, single, rejected)


# -- stage timings ---------------------------------------------------------------------------------
def score_batch_timed(
    engine: Any, texts: list[Any], ids: list[Any], explain: bool, timings: dict[str, float], reports_stages: bool
) -> list[Any]:
    """``engine.score_batch``, adding its milliseconds per stage to ``timings`` when the call succeeds.

    The affectlens Engine reports the stages itself (``score_batch(..., timings=...)``: tokenize, lexicon,
    neural, ensemble = the rest; ``reports_stages``, see ``accepts_timings``). Another engine (a custom
    ``engine_factory``) is timed as a whole, under ``ensemble``.
    """
    spent: dict[str, float] = {}
    if reports_stages:
        results = list(engine.score_batch(texts, ids=ids, explain=explain, timings=spent))
    else:
        start = time.perf_counter()
        results = list(engine.score_batch(texts, ids=ids, explain=explain))
        spent["ensemble"] = (time.perf_counter() - start) * 1000.0
    if len(results) != len(texts):
        raise RuntimeError(f"score_batch returned {len(results)} results for {len(texts)} texts")
    for stage, ms in spent.items():
        timings[stage] = timings.get(stage, 0.0) + ms
    return results


def accepts_timings(engine: Any) -> bool:
    """Whether ``engine.score_batch`` takes ``timings`` (checked once per engine, not per batch)."""
    try:
        return "timings" in inspect.signature(engine.score_batch).parameters
    except (AttributeError, TypeError, ValueError):
        return False


# -- the service -----------------------------------------------------------------------------------
def default_engine_factory(config: HandlerConfig, model_dir: str | None) -> Any:
    """Build the affectlens Engine for the model files extracted from the archive."""
    from affectlens.lexicons import LexiconConfig

    from affectlens.engine import Engine, EngineConfig
    from affectlens.neural import NeuralConfig

    if config.provider != "cpu":
        _preload_cuda_libraries()
    return Engine(
        EngineConfig(
            mode=config.mode,
            model_dir=model_dir,
            max_chars=config.max_text_chars,
            lexicon=LexiconConfig(use_nrc=config.use_nrc, use_parser=config.use_parser),
            neural=NeuralConfig(provider=config.provider, intra_op_threads=config.threads),
        )
    )


def _preload_cuda_libraries() -> None:
    """onnxruntime-gpu installed with its pip CUDA/cuDNN wheels (the GPU image) finds them only after
    ``preload_dlls()``; a CPU onnxruntime has no CUDA provider and is left alone."""
    try:
        import onnxruntime as ort

        if "CUDAExecutionProvider" in ort.get_available_providers() and hasattr(ort, "preload_dlls"):
            ort.preload_dlls()
    except Exception:  # the engine reports (or falls back from) a CUDA provider that does not work
        log.warning("could not preload the CUDA libraries for onnxruntime", exc_info=True)


def _resolve_factory(spec: str) -> Callable[[HandlerConfig, str | None], Any]:
    import importlib

    module_name, _, attr = spec.partition(":")
    factory = getattr(importlib.import_module(module_name), attr or "create_engine")
    return factory


def _auto_threads(context: Any) -> int:
    """ONNX Runtime threads per worker when not configured: the cores but one (the frontend and the HTTP
    clients need CPU too) shared among the workers, at most 8 (a MiniLM batch scales no further)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    workers = 1
    yaml_config = getattr(context, "model_yaml_config", None) or {}
    try:
        workers = max(1, int(yaml_config.get("maxWorkers") or yaml_config.get("minWorkers") or 1))
    except (TypeError, ValueError):
        workers = 1
    return max(1, min(8, (cores - 1) // workers))


class AffectlensService:
    """Holds the engine; ``handle(data, context)`` answers one TorchServe batch."""

    def __init__(self, engine: Any = None, config: HandlerConfig | None = None) -> None:
        self.engine = engine
        self.engine_reports_stages = accepts_timings(engine)
        self.config = config or HandlerConfig()
        self.decoder = RequestDecoder(self.config)
        self.initialized = engine is not None

    # TorchServe calls initialize(context) once per worker, before the first batch.
    def initialize(self, context: Any) -> None:
        _log_warnings_to_stderr()
        try:
            self.config = HandlerConfig.from_context(context)
            if self.config.threads == 0:
                self.config = _replace(self.config, threads=_auto_threads(context))
            self.decoder = RequestDecoder(self.config)
            model_dir = (getattr(context, "system_properties", None) or {}).get("model_dir")
            factory = (
                _resolve_factory(self.config.engine_factory) if self.config.engine_factory else default_engine_factory
            )
            start = time.perf_counter()
            self.engine = factory(self.config, model_dir)
            self.engine_reports_stages = accepts_timings(self.engine)
            if self.config.warmup:
                # lazy parts (the spaCy parser loads on the first negation cue) load now, so READY means ready
                self.engine.score_batch(list(WARMUP_TEXTS), ids=[None] * len(WARMUP_TEXTS), explain=False)
            info = getattr(self.engine, "model_info", None)
            log.warning(
                "affectlens handler ready: model %s %s, mode %s, %d ORT threads, loaded in %.1f s",
                getattr(info, "name", "?"), getattr(info, "version", "?"), self.config.mode, self.config.threads,
                time.perf_counter() - start,
            )  # fmt: skip
        except Exception:
            # TorchServe logs this and restarts the worker; say why in the model log first.
            log.exception("affectlens handler failed to initialize (model_dir=%s)",
                          (getattr(context, "system_properties", None) or {}).get("model_dir"))  # fmt: skip
            raise
        self.initialized = True

    def handle(self, data: Sequence[Any] | None, context: Any) -> list[bytes] | None:
        if not self.initialized:
            self.initialize(context)
        if data is None:  # TorchServe's function entry point calls handle(None, ctx) to initialize
            return None
        n = len(data)
        answers: list[tuple[int, Any]] = [(500, None)] * n
        parsed: dict[int, ParsedRequest] = {}
        for i, row in enumerate(data):
            try:
                parsed[i] = self.decoder.decode(row, _header(context, i, "content-type"))
            except RequestError as exc:
                answers[i] = (exc.status, exc.to_dict())
            except Exception:  # never let one request take the batch (or the worker) down
                log.exception("failed to decode request %d of the batch", i)
                answers[i] = _internal_error()
        stages: dict[str, float] = {}
        for explain in (False, True):
            group = {i: p for i, p in parsed.items() if p.explain is explain}
            if group:
                for i, answer in self._score_group(group, explain, stages).items():
                    answers[i] = answer
        out = []
        for i, (status, body) in enumerate(answers):
            out.append(self._encode(context, i, status, body))
        self._emit_metrics(context, n, stages)
        return out

    # -- internals ---------------------------------------------------------------------------------
    def _score_group(
        self, group: dict[int, ParsedRequest], explain: bool, stages: dict[str, float]
    ) -> dict[int, tuple[int, Any]]:
        """Score all texts of the group in one ``score_batch`` call; on failure retry request by request."""
        try:
            results = self._score(group, explain, stages)
        except Exception:
            log.exception("score_batch failed for a batch of %d requests; retrying them one by one", len(group))
            results = {}
            for i, request in group.items():
                try:
                    results.update(self._score({i: request}, explain, stages))
                except Exception:
                    log.exception("score_batch failed for request %d", i)
        answers: dict[int, tuple[int, Any]] = {}
        for i, request in group.items():
            if i not in results:
                answers[i] = _internal_error()
                continue
            entries = results[i]
            if request.single:
                entry = entries[0]
                answers[i] = (400 if "error" in entry else 200, entry)
            else:
                answers[i] = (200, entries)
        return answers

    def _score(
        self, group: dict[int, ParsedRequest], explain: bool, stages: dict[str, float]
    ) -> dict[int, list[dict[str, Any]]]:
        texts: list[Any] = []
        ids: list[Any] = []
        owners: list[tuple[int, int]] = []
        for i, request in group.items():
            for k, (text, id_) in enumerate(zip(request.texts, request.ids, strict=True)):
                if k not in request.rejected:
                    texts.append(text)
                    ids.append(id_)
                    owners.append((i, k))
        scored = (
            score_batch_timed(self.engine, texts, ids, explain, stages, self.engine_reports_stages) if texts else []
        )
        results: dict[int, list[dict[str, Any]]] = {
            i: [request.rejected.get(k, {}) for k in range(len(request.texts))] for i, request in group.items()
        }
        for (i, k), result in zip(owners, scored, strict=True):
            results[i][k] = result.to_dict()
        return results

    @staticmethod
    def _encode(context: Any, idx: int, status: int, body: Any) -> bytes:
        try:
            payload = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
        except (TypeError, ValueError):
            log.exception("could not encode the answer to request %d as JSON", idx)
            status, body = _internal_error()
            payload = json.dumps(body).encode("utf-8")
        try:
            context.set_response_content_type(idx, JSON_TYPE)
            if status != 200:
                context.set_response_status(status, _PHRASES.get(status, "Error"), idx=idx)
        except Exception:  # a context without per-request processors (should not happen in TorchServe)
            log.exception("could not set the response status of request %d", idx)
        return payload

    def _emit_metrics(self, context: Any, n: int, stages: dict[str, float]) -> None:
        """Custom metrics (declared in the metrics YAML that `affectlens serve` writes; dimension order matters)."""
        metrics = getattr(context, "metrics", None)
        if metrics is None:
            return
        try:
            try:
                from ts.metrics.dimension import Dimension
                from ts.metrics.metric_type_enum import MetricTypes

                histogram = MetricTypes.HISTOGRAM
            except ImportError:  # outside TorchServe (unit tests with a mock context)
                Dimension, histogram = _Dim, "histogram"
            base = [
                Dimension("ModelName", str(getattr(context, "model_name", "affectlens"))),
                Dimension("Level", "Model"),
            ]
            add = metrics.add_metric
            for stage in STAGES:
                if stage in stages:
                    add(name=STAGE_METRIC, value=round(stages[stage], 3), unit="ms",
                        dimensions=[*base, Dimension("Stage", stage)], metric_type=histogram)  # fmt: skip
            add(name=BATCH_METRIC, value=n, unit="count", dimensions=list(base), metric_type=histogram)
        except Exception:  # metrics must never fail a request
            log.warning("could not emit affectlens metrics", exc_info=True)


@dataclass(frozen=True)
class _Dim:
    name: str
    value: str


_PHRASES = {400: "Bad Request", 413: "Payload Too Large", 415: "Unsupported Media Type", 500: "Internal Server Error"}


def _internal_error() -> tuple[int, dict[str, Any]]:
    return 500, {"error": {"code": "internal_error", "message": "the handler failed on this request; the "
                           "server log (model_log.log in the run directory) has the traceback"}}  # fmt: skip


def _log_warnings_to_stderr() -> None:
    """TorchServe logs a worker's stdout at INFO and its stderr at WARN: send our warnings to stderr so they
    stay visible when the server logs quietly (the worker's root logger writes everything to stdout)."""
    if not sys.argv or not sys.argv[0].endswith("model_service_worker.py"):
        return  # not inside a TorchServe worker: leave logging alone
    logger = logging.getLogger("affectlens")
    if not any(getattr(h, "_affectlens_stderr", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(logging.WARNING)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler._affectlens_stderr = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
        logger.setLevel(logging.INFO)
        info = logging.StreamHandler(sys.stdout)
        info.addFilter(lambda record: record.levelno < logging.WARNING)
        logger.addHandler(info)


def _replace(config: HandlerConfig, **changes: Any) -> HandlerConfig:
    from dataclasses import replace

    return replace(config, **changes)


# -- TorchServe entry point ------------------------------------------------------------------------
_service = AffectlensService()


def handle(data: Sequence[Any] | None, context: Any) -> list[bytes] | None:
    """TorchServe's function entry point: ``handle(None, ctx)`` initializes, then one call per batch."""
    return _service.handle(data, context)
