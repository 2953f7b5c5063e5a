"""Requests to the TorchServe handler, without TorchServe: its config section and the body decoder.

``HandlerConfig`` is the ``handler:`` section of the archive's model config: the engine options plus the
request limits. ``RequestDecoder`` turns one request body (with its Content-Type) into the texts to score, or a
``RequestError`` that becomes a JSON error with its HTTP status. Standard library only (the handler imports it
in the TorchServe worker).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from affectlens.config import EngineOptions
from affectlens.errors import ConfigError, error_payload
from affectlens.serving.protocol import (
    ACCEPTED_MEDIA_TYPES,
    JSON_TYPE,
    LOW_CONFIDENCE_THRESHOLD,
    MAX_JSON_DEPTH,
    MAX_NUMBER_CHARS,
    OVERRIDES_ENV,
    TEXT_TYPE,
)


# -- configuration ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class HandlerConfig(EngineOptions):
    """The ``handler:`` section of the archive's model config (plus ``AFFECTLENS_HANDLER_OVERRIDES``): the
    engine options (``EngineOptions``; ``threads`` 0 = ``auto_threads`` for the worker count), the limits, the
    low-confidence threshold of the metrics and the sample of live predictions (``affectlens serve
    --sample-predictions RATE --sample-file PATH``; see ``affectlens.serving.metrics.PredictionSampler``)."""

    # In the worker, ONNX Runtime shares the cores with TorchServe's frontend and the clients: threads that spin
    # while idle take the cores from them (bench/bench_serving.py, 2 cores: single-request overhead +10.1 -> +7.3
    # ms, 8 clients 58% -> 81% of in-process). ``spin_wait: true`` in the handler config turns spinning back on.
    spin_wait: bool = False
    max_text_chars: int = 5000  # longer texts are refused (400 text_too_long), never silently cut
    max_texts: int = 256  # texts per request
    max_explain_texts: int = 16  # texts per request with "explain": true (explanations are costly)
    max_id_chars: int = 256
    warmup: bool = True  # score a few texts before the worker reports READY
    engine_factory: str | None = None  # "module:callable(config, model_dir)"; None = affectlens Engine
    low_confidence: float = LOW_CONFIDENCE_THRESHOLD  # predictions below it count in affectlens_low_confidence_total
    sample_predictions: float = 0.0  # share of predictions appended to sample_file (0 = off)
    sample_file: str | None = None  # JSONL, one `affectlens score` output row per sampled prediction
    sample_text: bool = True  # store the text with each sampled prediction (under "text")
    sample_seed: int | None = None  # seed of the sampler's generator (None: fresh per worker process)

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("max_text_chars", "max_texts", "max_explain_texts", "max_id_chars"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"handler config {name} must be an integer of at least 1, not {value!r}")
        for name in ("warmup", "sample_text"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"handler config {name} must be true or false, not {getattr(self, name)!r}")
        if not _is_number(self.low_confidence) or not 0.0 < self.low_confidence <= 1.0:
            raise ConfigError(f"handler config low_confidence must be a number in (0, 1], not {self.low_confidence!r}")
        if not _is_number(self.sample_predictions) or not 0.0 <= self.sample_predictions <= 1.0:
            raise ConfigError(f"handler config sample_predictions must be a share in [0, 1] (0 = off), not "
                              f"{self.sample_predictions!r}")  # fmt: skip
        if self.sample_predictions > 0 and not (isinstance(self.sample_file, str) and self.sample_file):
            raise ConfigError("handler config sample_predictions > 0 needs sample_file (a JSONL path)")
        if self.sample_seed is not None and (
            isinstance(self.sample_seed, bool) or not isinstance(self.sample_seed, int)
        ):
            raise ConfigError(f"handler config sample_seed must be an integer or null, not {self.sample_seed!r}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> HandlerConfig:
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown handler config keys {unknown}; known: {sorted(known)}")
        return cls(**data)

    @classmethod
    def from_context(cls, context: Any, environ: Mapping[str, str] | None = None) -> HandlerConfig:
        yaml_config = getattr(context, "model_yaml_config", None) or {}
        data = dict(yaml_config.get("handler") or {})
        raw = (os.environ if environ is None else environ).get(OVERRIDES_ENV)
        if raw:
            overrides = json.loads(raw)
            if not isinstance(overrides, dict):
                raise ConfigError(f"{OVERRIDES_ENV} must be a JSON object")
            data.update(overrides)
        return cls.from_mapping(data)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# -- requests --------------------------------------------------------------------------------------
class RequestError(Exception):
    """A request that cannot be answered with predictions; becomes a JSON error with ``status``."""

    def __init__(self, status: int, code: str, message: str, id: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.id = status, code, message, id

    def to_dict(self) -> dict[str, Any]:
        return error_payload(self.code, self.message, self.id)


@dataclass
class ParsedRequest:
    """One request's texts. ``single``: the answer is one object (``text``), else a list (``texts``)."""

    texts: list[Any]
    ids: list[Any]
    explain: bool
    single: bool
    # index in ``texts`` -> error entry decided by the handler before scoring (e.g. text_too_long)
    rejected: dict[int, dict[str, Any]] = field(default_factory=dict)


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _is_json(media: str) -> bool:
    return media == JSON_TYPE or media.endswith("+json")


def _nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether lists / objects nest more than ``limit`` levels (the top-level value is level 1)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _bounded_number(kind: type) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        if len(text) > MAX_NUMBER_CHARS:
            raise _JSONLimitError(f"a number has {len(text)} characters; the limit is {MAX_NUMBER_CHARS}")
        return kind(text)

    return parse


class _JSONLimitError(ValueError):
    pass


_PARSE_INT, _PARSE_FLOAT = _bounded_number(int), _bounded_number(float)


def parse_json(body: str) -> Any:
    """``json.loads`` with limits: deep nesting and huge numbers are a 400 ``invalid_json`` with the reason."""
    too_deep = RequestError(400, "invalid_json", f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels; send "
                            '{"text": "..."} or {"texts": [...]}')  # fmt: skip
    try:
        payload = json.loads(body, parse_int=_PARSE_INT, parse_float=_PARSE_FLOAT)
    except json.JSONDecodeError as exc:
        raise RequestError(400, "invalid_json", f"the body is not valid JSON: {exc.msg} at line {exc.lineno} "
                           f"column {exc.colno}") from None  # fmt: skip
    except _JSONLimitError as exc:
        raise RequestError(400, "invalid_json", f"the JSON is refused: {exc}") from None
    except RecursionError:  # deeper than the interpreter's recursion limit: the decoder gave up
        raise too_deep from None
    if _nested_deeper_than(payload, MAX_JSON_DEPTH):
        raise too_deep
    return payload


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
        if media in _FORM_TYPES:
            # TorchServe splits form bodies into fields (curl -d sends a form unless told otherwise)
            raise RequestError(415, "unsupported_media_type", f"form bodies ({media}) are not supported; send JSON "
                               "with -H 'Content-Type: application/json' (or text/plain)")  # fmt: skip
        if media and not _is_json(media) and not media.startswith("text/"):
            raise RequestError(415, "unsupported_media_type", f"Content-Type {content_type!r} is not supported; "
                               f"send one of {', '.join(ACCEPTED_MEDIA_TYPES)}")  # fmt: skip
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
        if not media:  # no Content-Type: JSON if it looks like JSON, else one text
            media = JSON_TYPE if body.lstrip().startswith(("{", "[")) else TEXT_TYPE
        if _is_json(media):
            return self._from_json(parse_json(body))
        return self._parsed([body], [None], explain=False, single=True)

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
