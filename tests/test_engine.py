"""Engine.score_batch with the shipped default model: contract, bad items, batch == single, explanations."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from affectlens.cli import main
from affectlens.engine import TIMING_STAGES, VADER_THRESHOLD, Engine, EngineConfig, lexicon_sentiment_scores
from affectlens.errors import ConfigError
from affectlens.labels import EMOTION_LABELS
from affectlens.schema import Prediction, ScoreError, json_schema

TEXTS = [
    "I don't think this phone is worth the money at all.",
    "Best concert of my life 🔥🔥 thank you!!",
    "The meeting has been moved to Thursday at 10am.",
    "not bad, not bad at all",
    "Shares fell 8% after the company cut its forecast.",
]


@pytest.fixture(scope="module")
def engines() -> dict[str, Engine]:
    return {mode: Engine(EngineConfig(mode=mode)) for mode in ("hybrid", "neural", "lexicon")}


@pytest.mark.parametrize("mode", ["hybrid", "neural", "lexicon"])
def test_outputs_follow_the_json_schema(engines: dict[str, Engine], mode: str) -> None:
    results = engines[mode].score_batch(TEXTS, ids=[f"t{i}" for i in range(len(TEXTS))], explain=True)
    schema = json_schema()
    for i, result in enumerate(results):
        assert isinstance(result, Prediction)
        payload = json.loads(json.dumps(result.to_dict()))
        jsonschema.validate(payload, schema)
        assert payload["id"] == f"t{i}"
        assert sum(payload["scores"].values()) == pytest.approx(1.0, abs=1e-5)
        assert payload["label"] == max(payload["scores"], key=payload["scores"].get)
        assert set(payload["emotions"]) <= set(EMOTION_LABELS)
        for token in payload["tokens"]:
            assert TEXTS[i][token["start"] : token["end"]] == token["text"]
            assert token["attribution"] is not None


def test_bad_items_get_their_own_errors(engines: dict[str, Engine]) -> None:
    items: list[object] = ["fine text", "", b"\xff\xfe", 17, "  ", "also fine 👍", "x" * 200_000]
    results = engines["hybrid"].score_batch(items, ids=[str(i) for i in range(len(items))])
    kinds = [type(r).__name__ for r in results]
    assert kinds == ["Prediction", "ScoreError", "ScoreError", "ScoreError", "ScoreError", "Prediction", "Prediction"]
    codes = [r.code for r in results if isinstance(r, ScoreError)]
    assert codes == ["empty_text", "invalid_utf8", "not_a_string", "empty_text"]
    assert results[1].to_dict() == {"id": "1", "error": {"code": "empty_text", "message": results[1].message}}
    long_result = results[-1]
    assert isinstance(long_result, Prediction) and long_result.warnings[0].startswith("truncated")
    for r in results:
        jsonschema.validate(r.to_dict(), json_schema())


@pytest.mark.parametrize("mode", ["hybrid", "neural", "lexicon"])
def test_batch_equals_single(engines: dict[str, Engine], mode: str) -> None:
    engine = engines[mode]
    batch = engine.score_batch(TEXTS)
    for text, together in zip(TEXTS, batch, strict=True):
        alone = engine.score(text)
        assert isinstance(alone, Prediction) and isinstance(together, Prediction)
        assert alone.label == together.label
        assert alone.emotions_predicted == together.emotions_predicted
        # int8 graphs run one text per call (NeuralConfig.int8_batching=False): equal up to float rounding
        # of the numpy stacker.
        assert alone.scores == pytest.approx(together.scores, abs=1e-9)
        assert alone.emotions == pytest.approx(together.emotions, abs=1e-9)


@pytest.mark.parametrize("explain", [False, True])
@pytest.mark.parametrize("mode", ["hybrid", "neural", "lexicon"])
def test_timings_report_the_stages_and_change_nothing(engines: dict[str, Engine], mode: str, explain: bool) -> None:
    engine = engines[mode]
    items: list[object] = [*TEXTS, "", 17]
    plain = engine.score_batch(items, explain=explain)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    timed = engine.score_batch(items, explain=explain, timings=timings)
    wall_ms = (time.perf_counter() - start) * 1000.0
    assert [r.to_dict() for r in timed] == [r.to_dict() for r in plain]
    expected = set(TIMING_STAGES) if mode != "lexicon" else {"lexicon", "ensemble"}
    assert set(timings) == expected
    assert all(ms >= 0 for ms in timings.values())
    assert sum(timings.values()) <= wall_ms + 1e-6  # the stages split the call's wall time
    if mode != "lexicon":
        assert timings["tokenize"] > 0 and timings["neural"] > 0
    if mode != "neural" or explain:  # neural mode runs the lexicon only for explanations
        assert timings["lexicon"] > 0
    else:
        assert timings["lexicon"] == 0
    before = dict(timings)
    engine.score_batch(TEXTS[:1], timings=timings)  # adds to what the dict holds
    assert set(timings) == expected and all(timings[s] >= before[s] for s in expected)


def test_neural_logits_timings_change_nothing(engines: dict[str, Engine]) -> None:
    neural = engines["neural"].neural
    assert neural is not None
    timings: dict[str, float] = {}
    np.testing.assert_array_equal(neural.logits(TEXTS, timings=timings), neural.logits(TEXTS))
    assert set(timings) == {"tokenize", "neural"} and min(timings.values()) > 0


def test_empty_batch_and_mismatched_ids(engines: dict[str, Engine]) -> None:
    assert engines["hybrid"].score_batch([]) == []
    with pytest.raises(ConfigError):
        engines["hybrid"].score_batch(["a", "b"], ids=["1"])
    with pytest.raises(ConfigError):
        EngineConfig(mode="ensemble")


def test_lexicon_mode_follows_vader_convention_and_explains(engines: dict[str, Engine]) -> None:
    result = engines["lexicon"].score("I love this wonderful place")
    assert isinstance(result, Prediction) and result.label == "positive" and result.valence > VADER_THRESHOLD
    explained = engines["lexicon"].score("I love this place", explain=True)
    assert isinstance(explained, Prediction) and explained.tokens
    top = max(explained.tokens, key=lambda t: t.attribution or 0.0)
    assert top.text == "love"
    assert "joy" in engines["lexicon"].score("what a joyful happy day").emotions_predicted  # type: ignore[union-attr]


@settings(max_examples=200)
@given(st.floats(-1, 1))
def test_lexicon_score_mapping_agrees_with_the_label_rule(c: float) -> None:
    scores = lexicon_sentiment_scores(np.array([c]))[0]
    assert scores.sum() == pytest.approx(1.0) and (scores >= 0).all()
    expected = 2 if c > VADER_THRESHOLD else 0 if c < -VADER_THRESHOLD else 1
    if abs(abs(c) - VADER_THRESHOLD) > 1e-9:
        assert scores.argmax() == expected


def test_cli_analyze_prints_one_json_line_per_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "good stuff", "awful stuff", "--lexicon-only"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [json.loads(line)["label"] for line in lines] == ["positive", "negative"]
    assert main(["analyze", "fine", " ", "--lexicon-only"]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert json.loads(lines[1])["error"]["code"] == "empty_text"


def _model_copy(tmp_path: Path, skip: tuple[str, ...] = (), card_changes: dict[str, object] | None = None) -> Path:
    """The shipped model folder as links in ``tmp_path`` (without ``skip``), its card edited by ``card_changes``."""
    from affectlens.engine import default_model_dir

    source, target = default_model_dir(), tmp_path / "model"
    target.mkdir()
    for path in source.iterdir():
        if path.is_file() and path.name not in skip:
            (target / path.name).symlink_to(path)
    if card_changes:
        card = json.loads((source / "affectlens_model.json").read_text(encoding="utf-8"))
        card.update(card_changes)
        (target / "affectlens_model.json").unlink()
        (target / "affectlens_model.json").write_text(json.dumps(card), encoding="utf-8")
    return target


def test_a_model_card_with_another_label_order_is_refused(tmp_path: Path) -> None:
    from affectlens.errors import ModelNotFoundError
    from affectlens.labels import SENTIMENT_LABELS

    model = _model_copy(tmp_path, card_changes={"sentiment_labels": list(SENTIMENT_LABELS)[::-1]})
    with pytest.raises(ModelNotFoundError, match="label order"):
        Engine(EngineConfig(mode="neural", model_dir=str(model)))


def test_an_engine_without_calibration_uses_the_raw_network_probabilities(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from affectlens.engine import SENTIMENT_SLICE
    from affectlens.ensemble import softmax

    engine = Engine(EngineConfig(mode="neural", model_dir=str(_model_copy(tmp_path, skip=("calibration.json",)))))
    assert engine.calibration is None and "no calibration.json" in caplog.text
    result = engine.score(TEXTS[0])
    assert isinstance(result, Prediction)
    raw = softmax(engine.neural.logits([TEXTS[0]])[:, SENTIMENT_SLICE])[0]  # type: ignore[union-attr]
    np.testing.assert_allclose([result.scores[label] for label in result.scores], raw, atol=1e-5)
    hybrid = Engine(EngineConfig(mode="hybrid", model_dir=str(tmp_path / "model"))).score(TEXTS[0])
    assert isinstance(hybrid, Prediction) and sum(hybrid.scores.values()) == pytest.approx(1.0, abs=1e-5)


def test_explanations_attribute_at_most_explain_max_tokens_tokens() -> None:
    engine = Engine(EngineConfig(mode="lexicon", explain_max_tokens=3))
    result = engine.score("one two three four five six seven eight", explain=True)
    assert isinstance(result, Prediction) and result.tokens is not None and len(result.tokens) == 8
    assert [t.attribution is not None for t in result.tokens] == [True] * 3 + [False] * 5
