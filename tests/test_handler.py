"""Unit tests of the TorchServe handler with a mock context and a mock engine (no TorchServe, no model)."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from affectlens.config import EngineOptions, auto_threads
from affectlens.errors import ConfigError
from affectlens.normalize import NormalizedText, normalize_text
from affectlens.schema import ModelInfo, Prediction, ScoreError, json_schema
from affectlens.serving import protocol

HANDLER_PATH = Path(__file__).resolve().parent.parent / "handlers" / "affectlens_handler.py"


def _load_handler() -> ModuleType:
    spec = importlib.util.spec_from_file_location("affectlens_handler_under_test", HANDLER_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


H = _load_handler()


# -- doubles ---------------------------------------------------------------------------------------
FAKE_STAGE_MS = {"tokenize": 1.0, "lexicon": 2.0, "neural": 3.0, "ensemble": 4.0}  # one FakeEngine call's timings


class FakeEngine:
    """Engine double: the contract of ``Engine.score_batch`` (bad items become ScoreError in place)."""

    model_info = ModelInfo("fake-model", "1.2.3")

    def __init__(self, fail_on: str | None = None, always_fail: bool = False) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail_on = fail_on
        self.always_fail = always_fail

    def score_batch(
        self,
        texts: Sequence[object],
        *,
        ids: Sequence[Any] | None = None,
        explain: bool = False,
        timings: dict[str, float] | None = None,
    ) -> list[Any]:
        self.calls.append({"texts": list(texts), "ids": list(ids or []), "explain": explain})
        if self.always_fail or (self.fail_on is not None and self.fail_on in texts):
            raise RuntimeError("engine exploded")
        if timings is not None:
            for stage, ms in FAKE_STAGE_MS.items():
                timings[stage] = timings.get(stage, 0.0) + ms
        out: list[Any] = []
        for text, id_ in zip(texts, ids or [None] * len(texts), strict=True):
            norm = normalize_text(text)
            if not isinstance(norm, NormalizedText):
                out.append(ScoreError(norm.code, norm.message, id_))
                continue
            positive = "love" in norm.text
            scores = {"negative": 0.1, "neutral": 0.2, "positive": 0.7} if positive else {
                "negative": 0.6, "neutral": 0.3, "positive": 0.1}  # fmt: skip
            tokens = None
            if explain:
                from affectlens.schema import TokenEvidence

                tokens = tuple(TokenEvidence(text=w, start=0, end=len(w)) for w in norm.text.split())
            out.append(Prediction(
                label="positive" if positive else "negative", scores=scores, valence=scores["positive"] - 0.1,
                emotions={"joy": 0.5, "neutral": 0.1}, emotions_predicted=("joy",),
                components={"neural": None, "lexicon": None}, model=self.model_info, id=id_, tokens=tokens,
            ))  # fmt: skip
        return out


class Metrics:
    def __init__(self, fail: bool = False) -> None:
        self.records: list[dict[str, Any]] = []
        self.fail = fail

    def add_metric(self, **kwargs: Any) -> None:
        if self.fail:
            raise ValueError("metrics backend down")
        self.records.append(kwargs)


class Context:
    """The parts of ts.context.Context the handler uses."""

    def __init__(self, headers: list[dict[str, Any]] | None = None, yaml_config: dict[str, Any] | None = None,
                 model_dir: str | None = None, metrics: Metrics | None = None) -> None:  # fmt: skip
        self.model_name = "affectlens"
        self.system_properties = {"model_dir": model_dir, "gpu_id": None, "batch_size": 16}
        self.model_yaml_config = yaml_config or {}
        self.metrics = metrics if metrics is not None else Metrics()
        self.headers = headers or []
        self.status: dict[int, tuple[int, str]] = {}
        self.content_type: dict[int, str] = {}

    def get_all_request_header(self, idx: int) -> dict[str, Any]:
        return self.headers[idx] if idx < len(self.headers) else {}

    def set_response_status(self, code: int = 200, phrase: str = "", idx: int = 0) -> None:
        self.status[idx] = (code, phrase)

    def set_response_content_type(self, idx: int, value: str) -> None:
        self.content_type[idx] = value


def req(body: Any, content_type: str | None = "application/json") -> tuple[dict[str, Any], dict[str, Any]]:
    """One TorchServe request row (raw bytes, as with decode_input_request=false) and its headers."""
    if isinstance(body, dict | list) and content_type == "application/json":
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    headers: dict[str, Any] = {"body": {"content-type": content_type or ""}}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return {"body": bytearray(body)}, headers


def run(service: Any, *requests: tuple[dict[str, Any], dict[str, Any]], ctx: Context | None = None
        ) -> tuple[list[tuple[int, Any]], Context]:  # fmt: skip
    ctx = ctx or Context()
    ctx.headers = [h for _, h in requests]
    out = service.handle([r for r, _ in requests], ctx)
    assert isinstance(out, list) and len(out) == len(requests)
    answers = []
    for i, payload in enumerate(out):
        assert isinstance(payload, bytes)
        assert ctx.content_type[i] == "application/json"
        answers.append((ctx.status.get(i, (200, ""))[0], json.loads(payload.decode("utf-8"))))
    return answers, ctx


def check_schema(entry: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(entry, json_schema())


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def service(engine: FakeEngine) -> Any:
    return H.AffectlensService(
        engine=engine, config=H.HandlerConfig(max_text_chars=100, max_texts=5, max_explain_texts=2)
    )


# -- happy paths -----------------------------------------------------------------------------------
def test_single_text_gives_one_prediction_object_with_model_and_id(service: Any) -> None:
    [(status, body)], _ = run(service, req({"text": "I love it", "id": "r1"}))
    assert status == 200
    assert body["id"] == "r1" and body["label"] == "positive"
    assert body["model"] == {"name": "fake-model", "version": "1.2.3"}
    assert "tokens" not in body
    check_schema(body)


def test_texts_list_gives_a_list_and_bad_items_get_inline_errors(service: Any) -> None:
    [(status, body)], _ = run(service, req({"texts": ["I love it", "", "meh", "x" * 101], "ids": ["a", "b", 3, "d"]}))
    assert status == 200 and isinstance(body, list) and len(body) == 4
    assert body[0]["id"] == "a" and body[0]["label"] == "positive"
    assert body[1] == {"id": "b", "error": {"code": "empty_text", "message": body[1]["error"]["message"]}}
    assert body[2]["id"] == 3 and body[2]["label"] == "negative"
    assert body[3]["id"] == "d" and body[3]["error"]["code"] == "text_too_long"
    for entry in body:
        check_schema(entry)


def test_whole_server_side_batch_is_scored_with_one_engine_call(service: Any, engine: FakeEngine) -> None:
    answers, _ = run(
        service, req({"text": "I love it"}), req({"texts": ["bad day", "love"]}), req("hello", "text/plain")
    )
    assert len(engine.calls) == 1
    assert engine.calls[0]["texts"] == ["I love it", "bad day", "love", "hello"]
    assert [a[0] for a in answers] == [200, 200, 200]
    assert answers[0][1]["label"] == "positive"
    assert [e["label"] for e in answers[1][1]] == ["negative", "positive"]
    assert answers[2][1]["label"] == "negative"


def test_explain_requests_are_scored_together_and_get_tokens(service: Any, engine: FakeEngine) -> None:
    answers, _ = run(service, req({"text": "I love it", "explain": True}), req({"text": "plain"}),
                     req({"texts": ["a b", "c"], "explain": True}))  # fmt: skip
    assert sorted((c["explain"], len(c["texts"])) for c in engine.calls) == [(False, 1), (True, 3)]
    assert [t["text"] for t in answers[0][1]["tokens"]] == ["I", "love", "it"]
    assert "tokens" not in answers[1][1]
    assert all("tokens" in e for e in answers[2][1])
    check_schema(answers[0][1])


@pytest.mark.parametrize("content_type", ["text/plain", "text/plain; charset=utf-8", None])
def test_text_plain_body_is_one_text(service: Any, content_type: str | None) -> None:
    [(status, body)], _ = run(service, req("I love plain text", content_type))
    assert status == 200 and body["label"] == "positive"


def test_json_with_charset_and_missing_content_type_are_understood(service: Any) -> None:
    [(s1, b1), (s2, b2)], _ = run(service, req(json.dumps({"text": "love"}), "application/json; charset=utf-8"),
                                  req(json.dumps({"text": "love"}), None))  # fmt: skip
    assert (s1, s2) == (200, 200) and b1["label"] == b2["label"] == "positive"


def test_body_already_decoded_by_torchserve_is_accepted(service: Any) -> None:
    """With decode_input_request=true TorchServe hands over a dict (JSON) or a str (text/*)."""
    ctx = Context(headers=[{"Content-Type": "application/json"}, {"Content-Type": "text/plain"}])
    out = service.handle([{"body": {"text": "love"}}, {"body": "love it"}], ctx)
    assert [json.loads(o)["label"] for o in out] == ["positive", "positive"]


# -- bad input -------------------------------------------------------------------------------------
BAD_REQUESTS = [
    ("empty body", req(b"", "application/json"), 400, "empty_body"),
    ("no body at all", ({}, {}), 400, "empty_body"),
    ("invalid JSON", req(b'{"text": "x"', "application/json"), 400, "invalid_json"),
    ("JSON list", req([1, 2]), 400, "invalid_request"),
    ("missing text", req({"txt": "x"}), 400, "missing_text"),
    ("null text", req({"text": None}), 400, "missing_text"),
    ("empty text", req({"text": "   "}), 400, "empty_text"),
    ("text not a string", req({"text": 42}), 400, "not_a_string"),
    ("non-UTF-8 JSON body", req(b'{"text": "caf\xe9"}', "application/json"), 400, "invalid_utf8"),
    ("non-UTF-8 text body", req(b"\xff\xfe bad", "text/plain"), 400, "invalid_utf8"),
    ("over-long text", req({"text": "x" * 101}), 400, "text_too_long"),
    ("over-long plain text", req("y" * 101, "text/plain"), 400, "text_too_long"),
    ("text and texts", req({"text": "a", "texts": ["b"]}), 400, "invalid_request"),
    ("texts not a list", req({"texts": "abc"}), 400, "invalid_request"),
    ("empty texts", req({"texts": []}), 400, "invalid_request"),
    ("too many texts", req({"texts": ["a"] * 6}), 400, "too_many_texts"),
    ("too many explained texts", req({"texts": ["a"] * 3, "explain": True}), 400, "too_many_texts"),
    ("explain not a bool", req({"text": "a", "explain": "yes"}), 400, "invalid_request"),
    ("id not a string", req({"text": "a", "id": [1]}), 400, "invalid_request"),
    ("id a bool", req({"text": "a", "id": True}), 400, "invalid_request"),
    ("ids of wrong length", req({"texts": ["a", "b"], "ids": ["1"]}), 400, "invalid_request"),
    ("form body", ({}, {"Content-Type": "application/x-www-form-urlencoded"}), 415, "unsupported_media_type"),
    ("multipart body", ({"text": bytearray(b"hi")}, {"Content-Type": "multipart/form-data; boundary=x"}), 415,
     "unsupported_media_type"),
    ("xml body", req(b"<text>hi</text>", "application/xml"), 415, "unsupported_media_type"),
    ("binary body", req(b"\x89PNG\r\n\x1a\n\x00\x00", "application/octet-stream"), 415, "unsupported_media_type"),
    ("text sent as octet-stream", req(b"I love it", "application/octet-stream"), 415, "unsupported_media_type"),
    ("image body", req(b"\xff\xd8\xff\xe0", "image/jpeg"), 415, "unsupported_media_type"),
    ("50,000 nested lists", req(b"[" * 50_000 + b"]" * 50_000, "application/json"), 400, "invalid_json"),
    ("nested lists, no Content-Type", req(b"[" * 50_000 + b"]" * 50_000, None), 400, "invalid_json"),
    ("nested past the limit", req(b'{"text": "a", "x": ' + b"[" * 32 + b"]" * 32 + b"}", "application/json"), 400,
     "invalid_json"),
    ("5000-digit integer", req(b'{"text": "a", "id": ' + b"9" * 5000 + b"}", "application/json"), 400, "invalid_json"),
    ("5000-digit float", req(b'{"text": "a", "x": 0.' + b"1" * 5000 + b"}", "application/json"), 400, "invalid_json"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "request_", "status", "code"), BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
def test_bad_requests_get_a_json_error_that_says_what_is_wrong(
    service: Any, name: str, request_: Any, status: int, code: str
) -> None:
    [(got_status, body)], ctx = run(service, request_)
    assert (got_status, body["error"]["code"]) == (status, code), body
    assert len(body["error"]["message"]) > 10
    assert ctx.status[0][1]  # a reason phrase
    check_schema(body)


def test_unsupported_media_type_names_the_accepted_types(service: Any) -> None:
    [(status, body)], _ = run(service, req(b"\x00\x01", "application/octet-stream"))
    assert status == 415 and all(t in body["error"]["message"] for t in protocol.ACCEPTED_MEDIA_TYPES)


def test_json_limits_say_why_and_keep_ordinary_json(service: Any) -> None:
    deep = "[" * protocol.MAX_JSON_DEPTH + "]" * protocol.MAX_JSON_DEPTH
    assert H.parse_json(deep) == H.parse_json(deep)  # exactly at the limit: decoded
    with pytest.raises(H.RequestError, match="nested deeper than"):
        H.parse_json("[" + deep + "]")
    with pytest.raises(H.RequestError, match="number has 5001 characters"):
        H.parse_json("1" * 5001)
    assert H.parse_json('{"text": "a", "id": 12, "x": [1.5, {"y": null}]}') == {
        "text": "a",
        "id": 12,
        "x": [1.5, {"y": None}],
    }
    [(status, _)], _ = run(service, req({"text": "I love it", "id": 7, "extra": {"a": [1, 2.5]}}))
    assert status == 200


def test_the_server_keeps_answering_after_hostile_bodies(service: Any) -> None:
    hostile = [req(b"[" * 50_000, "application/json"), req(b"1" * 100_000, "application/json"),
               req(b"\x00" * 64, "application/octet-stream")]  # fmt: skip
    answers, _ = run(service, *hostile, req({"text": "love"}))
    assert [a[0] for a in answers] == [400, 400, 415, 200]


def test_error_echoes_the_id_when_known(service: Any) -> None:
    [(status, body)], _ = run(service, req({"text": "", "id": "x-1"}))
    assert status == 400 and body["id"] == "x-1" and body["error"]["code"] == "empty_text"


def test_one_bad_request_in_a_batch_gets_its_own_error_the_others_are_answered(
    service: Any, engine: FakeEngine
) -> None:
    answers, _ = run(service, req({"text": "love"}), req(b"{oops", "application/json"), req({"text": ""}),
                     req({"text": "bad"}))  # fmt: skip
    assert [a[0] for a in answers] == [200, 400, 400, 200]
    assert answers[1][1]["error"]["code"] == "invalid_json"
    assert answers[2][1]["error"]["code"] == "empty_text"
    assert len(engine.calls) == 1


# -- failures --------------------------------------------------------------------------------------
def test_engine_failure_is_isolated_to_the_request_that_caused_it(caplog: pytest.LogCaptureFixture) -> None:
    engine = FakeEngine(fail_on="boom")
    service = H.AffectlensService(engine=engine)
    answers, _ = run(service, req({"text": "love"}), req({"text": "boom"}), req({"texts": ["bad", "worse"]}))
    assert [a[0] for a in answers] == [200, 500, 200]
    assert answers[1][1]["error"]["code"] == "internal_error"
    assert "engine exploded" in caplog.text  # logged with its traceback
    assert len(engine.calls) == 4  # the batch, then each request alone


def test_engine_that_always_fails_answers_500_json_and_keeps_the_handler_alive() -> None:
    service = H.AffectlensService(engine=FakeEngine(always_fail=True))
    answers, _ = run(service, req({"text": "a"}), req({"text": "b"}))
    assert [(s, b["error"]["code"]) for s, b in answers] == [(500, "internal_error")] * 2
    service.engine = FakeEngine()
    [(status, _)], _ = run(service, req({"text": "a"}))
    assert status == 200


def test_decoder_crash_is_a_500_for_that_request_only(service: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    original = service.decoder.decode

    def decode(row: Any, content_type: str | None) -> Any:
        if row.get("body") == bytearray(b"crash"):
            raise KeyError("unexpected")
        return original(row, content_type)

    monkeypatch.setattr(service.decoder, "decode", decode)
    answers, _ = run(service, req("crash", "text/plain"), req({"text": "love"}))
    assert [a[0] for a in answers] == [500, 200]


def test_a_nan_in_the_answer_is_a_500_not_invalid_json(caplog: pytest.LogCaptureFixture) -> None:
    class NaN(FakeEngine):
        def score_batch(self, texts: Sequence[object], **kw: Any) -> list[Any]:
            out = super().score_batch(texts, **kw)
            return [replace(p, valence=float("nan")) if "nan" in str(t) else p for p, t in zip(out, texts, strict=True)]

    answers, _ = run(H.AffectlensService(engine=NaN()), req({"text": "nan here"}), req({"text": "love"}))
    assert answers[0] == (500, answers[0][1]) and answers[0][1]["error"]["code"] == "internal_error"
    assert answers[1][0] == 200  # the other request of the batch is answered
    assert "could not encode the answer to request 0" in caplog.text


def test_engine_returning_the_wrong_number_of_results_is_a_500() -> None:
    class Short(FakeEngine):
        def score_batch(self, texts: Sequence[object], **kw: Any) -> list[Any]:
            return super().score_batch(texts, **kw)[:-1]

    answers, _ = run(H.AffectlensService(engine=Short()), req({"text": "a"}))
    assert answers[0][0] == 500


# -- metrics ---------------------------------------------------------------------------------------
def _stage_values(ctx: Context) -> dict[str, float]:
    return {
        dim.value: r["value"]
        for r in ctx.metrics.records
        if r["name"] == H.STAGE_METRIC
        for dim in r["dimensions"]
        if dim.name == "Stage"
    }


def test_stage_timings_and_batch_size_are_emitted(service: Any) -> None:
    _, ctx = run(service, req({"text": "love"}), req({"text": ""}), req({"texts": ["a", "b"]}))
    records = ctx.metrics.records
    assert _stage_values(ctx) == FAKE_STAGE_MS  # the engine's own timings, one score_batch call
    for r in records:
        names = [d.name for d in r["dimensions"]]
        assert names[:2] == ["ModelName", "Level"]  # the order the metrics YAML declares
        assert r["value"] >= 0
    [batch] = [r for r in records if r["name"] == H.BATCH_METRIC]
    assert batch["value"] == 3


def test_metrics_failure_never_fails_a_request(engine: FakeEngine) -> None:
    service = H.AffectlensService(engine=engine)
    answers, _ = run(service, req({"text": "love"}), ctx=Context(metrics=Metrics(fail=True)))
    assert answers[0][0] == 200


def test_stage_timings_add_up_over_the_plain_and_the_explain_call(service: Any) -> None:
    _, ctx = run(service, req({"text": "love"}), req({"text": "why", "explain": True}))
    assert _stage_values(ctx) == {stage: 2 * ms for stage, ms in FAKE_STAGE_MS.items()}


def test_failed_score_batch_calls_add_no_timings() -> None:
    engine = FakeEngine(fail_on="boom")
    _, ctx = run(H.AffectlensService(engine=engine), req({"text": "love"}), req({"text": "boom"}))
    assert len(engine.calls) == 3  # the batch (failed), then each request alone (one failed)
    assert _stage_values(ctx) == FAKE_STAGE_MS


def test_an_engine_without_timings_is_timed_as_a_whole_under_ensemble() -> None:
    class Untimed(FakeEngine):
        def score_batch(self, texts: Sequence[object], **kw: Any) -> list[Any]:
            assert "timings" not in kw
            return super().score_batch(texts, **kw)

    answers, ctx = run(H.AffectlensService(engine=Untimed()), req({"text": "love"}))
    assert answers[0][0] == 200 and answers[0][1]["label"] == "positive"
    stages = _stage_values(ctx)
    assert set(stages) == {"ensemble"} and stages["ensemble"] >= 0


def test_the_real_lexicon_engine_reports_its_stages() -> None:
    from affectlens.engine import Engine, EngineConfig

    service = H.AffectlensService(engine=Engine(EngineConfig(mode="lexicon")))
    answers, ctx = run(service, req({"text": "I love it"}), req({"texts": ["not good", ""], "explain": True}))
    assert [a[0] for a in answers] == [200, 200]
    stages = _stage_values(ctx)
    assert set(stages) == {"lexicon", "ensemble"}  # no model: no tokenize / neural
    assert stages["lexicon"] > 0 and stages["ensemble"] >= 0


# -- prediction metrics ----------------------------------------------------------------------------
DECLARED = {m["name"]: (kind, m["dimensions"]) for kind, ms in protocol.HANDLER_METRICS.items() for m in ms}


def _kind(metric_type: Any) -> str:
    return str(getattr(metric_type, "value", metric_type))  # ts MetricTypes or the stand-in string


def _records(ctx: Context, name: str) -> list[dict[str, Any]]:
    return [r for r in ctx.metrics.records if r["name"] == name]


def _by_dim(ctx: Context, name: str, dim: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for r in _records(ctx, name):
        [value] = [d.value for d in r["dimensions"] if d.name == dim]
        out[value] = out.get(value, 0) + r["value"]
    return out


def test_every_metric_is_emitted_as_declared_in_the_metrics_yaml(service: Any, engine: FakeEngine) -> None:
    _, ctx = run(service, req({"text": "I love it"}), req({"texts": ["bad", ""]}), req(b"{x", "application/json"))
    assert ctx.metrics.records
    for r in ctx.metrics.records:
        kind, dims = DECLARED[r["name"]]
        assert [d.name for d in r["dimensions"]] == dims, r["name"]  # TorchServe zips values with these names
        assert _kind(r["metric_type"]) == kind, r["name"]
        assert r["value"] >= 0 and not isinstance(r["value"], bool)


def test_predictions_are_counted_by_label_with_confidence_and_input_tokens(service: Any) -> None:
    _, ctx = run(service, req({"text": "I love it"}), req({"texts": ["bad day", "love", "", "so so bad"]}),
                 req("so very bad today", "text/plain"))  # fmt: skip
    assert _by_dim(ctx, protocol.PREDICTIONS_METRIC, "Label") == {"positive": 2, "negative": 3}
    assert sorted(r["value"] for r in _records(ctx, protocol.CONFIDENCE_METRIC)) == [0.6, 0.6, 0.6, 0.7, 0.7]
    assert [r["value"] for r in _records(ctx, protocol.INPUT_TOKENS_METRIC)] == [3, 2, 1, 3, 4]  # str.split() tokens
    assert [r["value"] for r in _records(ctx, protocol.LOW_CONFIDENCE_METRIC)] == [0]  # none under 0.5


def test_low_confidence_predictions_are_counted_under_the_configured_threshold(engine: FakeEngine) -> None:
    assert H.HandlerConfig().low_confidence == protocol.LOW_CONFIDENCE_THRESHOLD == 0.5
    service = H.AffectlensService(engine=engine, config=H.HandlerConfig(low_confidence=0.65))
    _, ctx = run(service, req({"texts": ["love", "bad", "worse", ""]}))
    [low] = _records(ctx, protocol.LOW_CONFIDENCE_METRIC)
    assert low["value"] == 2  # the two negatives (0.6); the positive is 0.7, the empty text an error


def test_errors_are_counted_by_code_inline_ones_included(service: Any) -> None:
    _, ctx = run(service, req({"texts": ["I love it", "", "x" * 101, 42]}), req(b"{oops", "application/json"),
                 req(b"\x00\x01", "application/octet-stream"), req({"text": "  "}), req({"text": "fine"}))  # fmt: skip
    assert _by_dim(ctx, protocol.ERRORS_METRIC, "Code") == {
        "empty_text": 2, "text_too_long": 1, "not_a_string": 1, "invalid_json": 1, "unsupported_media_type": 1,
    }  # fmt: skip
    assert _by_dim(ctx, protocol.PREDICTIONS_METRIC, "Label") == {"positive": 1, "negative": 1}


def test_internal_errors_are_counted_and_a_nan_answer_is_not_a_prediction() -> None:
    class NaN(FakeEngine):
        def score_batch(self, texts: Sequence[object], **kw: Any) -> list[Any]:
            out = super().score_batch(texts, **kw)
            return [replace(p, valence=float("nan")) if "nan" in str(t) else p for p, t in zip(out, texts, strict=True)]

    engine = NaN(fail_on="boom")
    _, ctx = run(H.AffectlensService(engine=engine), req({"text": "boom"}), req({"text": "nan"}),
                 req({"texts": ["love", "boom"]}), req({"text": "love"}))  # fmt: skip
    assert _by_dim(ctx, protocol.ERRORS_METRIC, "Code") == {"internal_error": 3}
    assert _by_dim(ctx, protocol.PREDICTIONS_METRIC, "Label") == {"positive": 1}


def test_the_stage_timings_are_also_emitted_in_seconds(service: Any) -> None:
    _, ctx = run(service, req({"text": "love"}))
    assert _by_dim(ctx, protocol.STAGE_SECONDS_METRIC, "Stage") == {k: v / 1000 for k, v in FAKE_STAGE_MS.items()}


def test_a_failing_metrics_backend_never_fails_the_batch_nor_the_sample(engine: FakeEngine, tmp_path: Path) -> None:
    config = H.HandlerConfig(sample_predictions=1.0, sample_file=str(tmp_path / "s.jsonl"))
    service = H.AffectlensService(engine=engine, config=config)
    answers, _ = run(service, req({"texts": ["love", ""]}), ctx=Context(metrics=Metrics(fail=True)))
    assert answers[0][0] == 200 and len((tmp_path / "s.jsonl").read_text().splitlines()) == 1


# -- sampled predictions ---------------------------------------------------------------------------
def _sampling(engine: FakeEngine, path: Path, rate: float = 1.0, **kw: Any) -> Any:
    config = H.HandlerConfig(sample_predictions=rate, sample_file=str(path), **kw)
    return H.AffectlensService(engine=engine, config=config)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_sampling_is_off_by_default_and_rate_0_writes_nothing(engine: FakeEngine, tmp_path: Path) -> None:
    assert H.HandlerConfig().sample_predictions == 0
    run(H.AffectlensService(engine=engine), req({"texts": ["love", "bad"]}))
    service = H.AffectlensService(engine=engine, config=H.HandlerConfig(sample_file=str(tmp_path / "s.jsonl")))
    run(service, req({"texts": ["love", "bad"]}))
    assert not (tmp_path / "s.jsonl").exists()


def test_rate_1_writes_every_prediction_as_an_affectlens_score_row(engine: FakeEngine, tmp_path: Path) -> None:
    from affectlens.batch.formatting import Formatter
    from affectlens.batch.types import Record

    path = tmp_path / "sub" / "samples.jsonl"  # the folder is made on the first append
    answers, _ = run(_sampling(engine, path), req({"texts": ["I love it", "", "bad day"], "ids": ["a", "b", 3]}),
                     req("plain text", "text/plain"), req(b"{oops", "application/json"))  # fmt: skip
    rows = _lines(path)
    assert [(r.get("id"), r["text"]) for r in rows] == [("a", "I love it"), (3, "bad day"), (None, "plain text")]
    assert "id" not in rows[2]  # no id given: none written (the schema has no null id)
    scored = [answers[0][1][0], answers[0][1][2], answers[1][1]]
    formatter = Formatter("jsonl", keep=("text",))  # `affectlens score --keep text` writes the same rows
    for row, payload in zip(rows, scored, strict=True):
        expected = formatter.output_object(Record(1, payload.get("id"), row["text"], (row["text"],)), payload)
        if expected["id"] is None:
            del expected["id"]
        assert row == expected and list(row) == list(expected)  # same keys, same order
        check_schema(row)
    assert path.stat().st_mode & 0o077 == 0  # texts may be private: owner only


def test_sampled_rows_can_leave_the_text_out(engine: FakeEngine, tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    run(_sampling(engine, path, sample_text=False), req({"text": "love", "id": "x"}))
    [row] = _lines(path)
    assert "text" not in row and row["id"] == "x" and row["label"] == "positive"


def test_a_seeded_sampler_is_reproducible_and_takes_about_its_share(engine: FakeEngine, tmp_path: Path) -> None:
    texts = [f"love {i}" if i % 3 else f"bad {i}" for i in range(200)]
    runs = []
    for name in ("a", "b"):
        service = _sampling(engine, tmp_path / f"{name}.jsonl", rate=0.25, sample_seed=7, max_texts=256)
        for k in range(0, 200, 50):
            run(service, req({"texts": texts[k : k + 50]}))
        runs.append([r["text"] for r in _lines(tmp_path / f"{name}.jsonl")])
    assert runs[0] == runs[1] and 25 <= len(runs[0]) <= 75


def test_a_failing_sample_file_never_fails_the_request(
    engine: FakeEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    service = _sampling(engine, tmp_path / "a-file" / "samples.jsonl")
    for _ in range(3):
        answers, ctx = run(service, req({"text": "love"}), req({"texts": ["bad", "worse"]}))
        assert [a[0] for a in answers] == [200, 200]
    assert caplog.text.count("could not append sampled predictions") == 1  # logged once, not per batch
    assert service.sampler.failures == 3
    assert _by_dim(ctx, protocol.PREDICTIONS_METRIC, "Label") == {"positive": 1, "negative": 2}  # metrics still flow


def test_a_torn_last_line_is_closed_before_the_next_append(engine: FakeEngine, tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(b'{"id": 1, "label": "posi')  # a worker died while writing
    service = _sampling(engine, path)
    run(service, req({"text": "love"}))
    run(service, req({"text": "bad"}))
    lines = path.read_text().splitlines()
    assert lines[0] == '{"id": 1, "label": "posi'
    assert [json.loads(line)["label"] for line in lines[1:]] == ["positive", "negative"]


def test_sampling_options_are_validated() -> None:
    with pytest.raises(ConfigError, match="sample_file"):
        H.HandlerConfig(sample_predictions=0.1)
    for bad in (1.5, -0.1, "0.1", True, float("nan")):
        with pytest.raises(ConfigError, match="sample_predictions"):
            H.HandlerConfig(sample_predictions=bad, sample_file="/tmp/x.jsonl")
    for bad in (0, 1.01, "high"):
        with pytest.raises(ConfigError, match="low_confidence"):
            H.HandlerConfig(low_confidence=bad)
    with pytest.raises(ConfigError, match="sample_seed"):
        H.HandlerConfig(sample_seed="7")
    with pytest.raises(ConfigError, match="sample_text"):
        H.HandlerConfig(sample_text="yes")
    ctx = Context(yaml_config={"handler": {"low_confidence": 0.6}})
    config = H.HandlerConfig.from_context(ctx, environ={H.OVERRIDES_ENV: json.dumps(
        {"sample_predictions": 0.5, "sample_file": "/tmp/s.jsonl", "sample_seed": 3})})  # fmt: skip
    assert (config.low_confidence, config.sample_predictions, config.sample_seed) == (0.6, 0.5, 3)


# -- configuration and initialization --------------------------------------------------------------
def test_handler_config_rejects_unknown_keys_and_bad_values() -> None:
    with pytest.raises(ConfigError, match="unknown handler config keys"):
        H.HandlerConfig.from_mapping({"max_txt": 3})
    with pytest.raises(ConfigError, match="max_texts"):
        H.HandlerConfig.from_mapping({"max_texts": 0})
    with pytest.raises(ConfigError, match="mode"):
        H.HandlerConfig.from_mapping({"mode": "magic"})
    with pytest.raises(ConfigError, match="use_nrc"):
        H.HandlerConfig.from_mapping({"use_nrc": "no"})
    with pytest.raises(ConfigError, match="threads"):
        H.HandlerConfig.from_mapping({"threads": -1})


def test_handler_config_reads_the_archive_section_and_serve_overrides() -> None:
    ctx = Context(yaml_config={"batchSize": 16, "handler": {"mode": "neural", "max_texts": 9}})
    config = H.HandlerConfig.from_context(ctx, environ={H.OVERRIDES_ENV: json.dumps({"mode": "lexicon", "threads": 2})})
    assert (config.mode, config.max_texts, config.threads) == ("lexicon", 9, 2)


def test_initialize_builds_the_engine_from_the_archive_model_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory_module = ModuleType("fake_engine_factory_for_tests")
    seen: dict[str, Any] = {}

    def create_engine(config: Any, model_dir: str | None) -> FakeEngine:
        seen.update(config=config, model_dir=model_dir)
        return FakeEngine()

    factory_module.create_engine = create_engine  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, factory_module.__name__, factory_module)
    monkeypatch.delenv(H.OVERRIDES_ENV, raising=False)
    ctx = Context(model_dir=str(tmp_path), yaml_config={"maxWorkers": 2, "handler": {
        "engine_factory": "fake_engine_factory_for_tests:create_engine", "max_texts": 4}})  # fmt: skip
    service = H.AffectlensService()
    assert service.handle(None, ctx) is None  # TorchServe's initialization call
    assert seen["model_dir"] == str(tmp_path)
    assert seen["config"].max_texts == 4 and seen["config"].threads == auto_threads(workers=2)
    answers, _ = run(service, req({"text": "love"}))
    assert answers[0][0] == 200


def test_initialize_failure_is_logged_and_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(H.OVERRIDES_ENV, raising=False)
    ctx = Context(yaml_config={"handler": {"engine_factory": "no_such_module_here:create"}})
    with pytest.raises(ModuleNotFoundError):
        H.AffectlensService().initialize(ctx)
    assert "failed to initialize" in caplog.text


@pytest.mark.parametrize(("workers", "cores", "threads"), [(1, 2, 2), (2, 2, 1), (3, 2, 1), (1, 16, 8), (4, 16, 4)])
def test_auto_threads_give_one_worker_every_core_and_share_them_among_several(
    workers: int, cores: int, threads: int
) -> None:
    assert auto_threads(workers, cores=cores) == threads


def test_handler_config_is_the_engine_options_plus_the_limits() -> None:
    config = H.HandlerConfig.from_mapping({"mode": "neural", "threads": 3, "use_nrc": False, "max_text_chars": 900})
    engine = config.engine_config("/models/x", max_chars=config.max_text_chars)
    assert isinstance(config, EngineOptions)  # one declaration of the engine options
    assert (engine.mode, engine.model_dir, engine.max_chars) == ("neural", "/models/x", 900)
    assert (engine.neural.intra_op_threads, engine.lexicon.use_nrc, engine.lexicon.use_parser) == (3, False, True)
    assert engine.neural.spin_wait is False  # in the worker, threads sleep between runs (bench_serving.py)
    assert EngineOptions().engine_config(None).neural.spin_wait is True  # in-process they spin
    assert H.HandlerConfig.from_mapping({"spin_wait": True}).engine_config(None).neural.spin_wait is True
    with pytest.raises(ConfigError, match="spin_wait"):
        H.HandlerConfig.from_mapping({"spin_wait": "no"})
