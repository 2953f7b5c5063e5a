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
* Form bodies (``curl -d`` without a Content-Type) are refused with 415: TorchServe splits them into fields;
  so is any other media type (``application/octet-stream`` included: binary bodies are not texts). A body
  without a Content-Type is read as JSON when it starts with ``{`` or ``[``, else as text.
* JSON nested deeper than ``MAX_JSON_DEPTH`` or with a number longer than ``MAX_NUMBER_CHARS`` characters is
  refused (400 ``invalid_json``) before it is decoded.

Errors are JSON ``{"id": ..., "error": {"code": ..., "message": ...}}`` with status 400 (the request is
wrong: ``empty_body``, ``invalid_json``, ``invalid_utf8``, ``missing_text``, ``empty_text``, ``not_a_string``,
``text_too_long``, ``too_many_texts``, ``invalid_request``), 415 (``unsupported_media_type``) or 500
(``internal_error``: logged with its traceback; the worker keeps serving). Over-size bodies never reach
the handler: TorchServe answers 413 (``max_request_size``).

Monitoring (``affectlens.serving.metrics``): after the answers are encoded, the batch's predictions and error
objects become TorchServe metrics (labels, confidence, input tokens, low-confidence predictions, errors by code)
and, when ``sample_predictions`` > 0, a share of the predictions is appended to ``sample_file``.

Request decoding and the config section live in ``affectlens.serving.requests`` (pure, re-exported here).
Nothing here imports ``ts`` at module level, so the logic runs (and is unit tested) with a mock context
and a mock engine. The engine, the engine options and the protocol constants come from the installed
``affectlens`` (the worker runs in its environment); the model files come from the archive itself
(``context.system_properties["model_dir"]``).
"""

from __future__ import annotations

import inspect
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from affectlens.config import auto_threads
from affectlens.errors import error_payload
from affectlens.serving.metrics import PredictionSampler, answered_entries, batch_stats, emit_metrics
from affectlens.serving.protocol import BATCH_METRIC, JSON_TYPE, OVERRIDES_ENV, STAGE_METRIC
from affectlens.serving.requests import HandlerConfig, ParsedRequest, RequestDecoder, RequestError, parse_json

__all__ = [
    "BATCH_METRIC", "OVERRIDES_ENV", "STAGE_METRIC", "AffectlensService", "HandlerConfig", "ParsedRequest",
    "RequestDecoder", "RequestError", "default_engine_factory", "handle", "parse_json",
]  # fmt: skip

log = logging.getLogger("affectlens.handler")

WARMUP_TEXTS = ("I do not like this at all.", "What a great day 👍", "The meeting is at noon.")


# -- requests (decoded by affectlens.serving.requests) ---------------------------------------------
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
    from affectlens.engine import Engine

    return Engine(config.engine_config(model_dir, max_chars=config.max_text_chars))


def _resolve_factory(spec: str) -> Callable[[HandlerConfig, str | None], Any]:
    import importlib

    module_name, _, attr = spec.partition(":")
    factory = getattr(importlib.import_module(module_name), attr or "create_engine")
    return factory


def _workers(context: Any) -> int:
    """The worker count of the model (``maxWorkers`` / ``minWorkers`` in the archive's model config)."""
    yaml_config = getattr(context, "model_yaml_config", None) or {}
    try:
        return max(1, int(yaml_config.get("maxWorkers") or yaml_config.get("minWorkers") or 1))
    except (TypeError, ValueError):
        return 1


class AffectlensService:
    """Holds the engine; ``handle(data, context)`` answers one TorchServe batch."""

    def __init__(self, engine: Any = None, config: HandlerConfig | None = None) -> None:
        self.engine = engine
        self.engine_reports_stages = accepts_timings(engine)
        self.config = config or HandlerConfig()
        self.decoder = RequestDecoder(self.config)
        self.sampler = PredictionSampler.from_config(self.config)
        self.initialized = engine is not None

    # TorchServe calls initialize(context) once per worker, before the first batch.
    def initialize(self, context: Any) -> None:
        _log_warnings_to_stderr()
        try:
            self.config = HandlerConfig.from_context(context)
            if self.config.threads == 0:
                self.config = replace(self.config, threads=auto_threads(_workers(context)))
            self.decoder = RequestDecoder(self.config)
            self.sampler = PredictionSampler.from_config(self.config)
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
            neural = getattr(self.engine, "neural", None)  # NeuralModel (CUDA preparation and fallback live there)
            log.warning(
                "affectlens handler ready: model %s %s, mode %s, %s on %s, %d ORT threads, loaded in %.1f s",
                getattr(info, "name", "?"), getattr(info, "version", "?"), self.config.mode,
                getattr(neural, "onnx_file", "no ONNX graph"), getattr(neural, "active_provider", "no provider"),
                self.config.threads, time.perf_counter() - start,
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
            payload, answers[i] = self._encode(context, i, status, body)
            out.append(payload)
        self._monitor(context, n, stages, answers, parsed)
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
    def _encode(context: Any, idx: int, status: int, body: Any) -> tuple[bytes, tuple[int, Any]]:
        """The JSON bytes of the answer and the answer they carry (an internal error when it did not encode)."""
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
        return payload, (status, body)

    def _monitor(self, context: Any, n: int, stages: dict[str, float], answers: list[tuple[int, Any]],
                 parsed: dict[int, ParsedRequest]) -> None:  # fmt: skip
        """Metrics of the batch (affectlens.serving.metrics) and the sample of its predictions; never raises."""
        try:
            pairs = list(answered_entries(answers, parsed))
            stats = batch_stats(pairs, self.config.low_confidence)
        except Exception:  # monitoring must never fail a request
            log.warning("could not read the batch for the affectlens metrics", exc_info=True)
            pairs, stats = [], None
        emit_metrics(context, n, stages, stats)
        self.sampler.sample(pairs)


_PHRASES = {400: "Bad Request", 413: "Payload Too Large", 415: "Unsupported Media Type", 500: "Internal Server Error"}


def _internal_error() -> tuple[int, dict[str, Any]]:
    return 500, error_payload("internal_error", "the handler failed on this request; the server log "
                              "(model_log.log in the run directory) has the traceback")  # fmt: skip


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


# -- TorchServe entry point ------------------------------------------------------------------------
_service = AffectlensService()


def handle(data: Sequence[Any] | None, context: Any) -> list[bytes] | None:
    """TorchServe's function entry point: ``handle(None, ctx)`` initializes, then one call per batch."""
    return _service.handle(data, context)
