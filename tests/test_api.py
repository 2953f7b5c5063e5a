"""The Python API: load() -> Analyzer, analyzer(text), analyzer.pipe(texts), score_frame(df)."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest

import affectlens
from affectlens.api import Analyzer, engine_config
from affectlens.errors import ConfigError, InvalidInputError
from affectlens.schema import Prediction, ScoreError


@pytest.fixture(scope="module")
def lexicon() -> Analyzer:
    return affectlens.load("lexicon")


@pytest.fixture(scope="module")
def hybrid() -> Analyzer:
    return affectlens.load()


def test_import_is_cheap_and_exposes_the_api() -> None:
    code = (
        "import sys, affectlens; "
        "heavy = [m for m in ('affectlens.engine', 'numpy', 'spacy', 'onnxruntime') if m in sys.modules]; "
        "assert not heavy, heavy; "
        "assert callable(affectlens.load) and 'affectlens.engine' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert {"load", "Analyzer", "score_frame", "Prediction", "InvalidInputError"} <= set(dir(affectlens))


def test_hybrid_labels_the_contract_examples(hybrid: Analyzer) -> None:
    assert hybrid("I love it").label == "positive"
    assert [r.label for r in hybrid.pipe(["awful", "great"])] == ["negative", "positive"]  # type: ignore[union-attr]
    prediction = hybrid("not bad at all")
    assert abs(sum(prediction.scores.values()) - 1.0) < 1e-6
    assert prediction.to_dict() == hybrid.engine.score_batch(["not bad at all"])[0].to_dict()


def test_a_bad_text_raises_a_coded_error(lexicon: Analyzer) -> None:
    with pytest.raises(InvalidInputError) as info:
        lexicon("   ")
    assert info.value.code == "empty_text"
    with pytest.raises(InvalidInputError) as info:
        lexicon(b"\xff\xfe")
    assert info.value.code == "invalid_utf8"


def test_pipe_keeps_order_and_puts_errors_in_place(lexicon: Analyzer) -> None:
    texts = ["good", "", "bad", 7, "fine"] * 9  # 45 items over batches of 4
    results = list(lexicon.pipe(texts, batch_size=4))
    assert len(results) == len(texts)
    for text, result in zip(texts, results, strict=True):
        assert isinstance(result, ScoreError) == (text in ("", 7))
    assert [r.to_dict() for r in results] == [r.to_dict() for r in lexicon.engine.score_batch(texts)]


def test_pipe_refuses_a_single_string_and_a_zero_batch(lexicon: Analyzer) -> None:
    with pytest.raises(ConfigError, match="not one text"):
        list(lexicon.pipe("good"))
    with pytest.raises(ConfigError, match="batch_size"):
        list(lexicon.pipe(["good"], batch_size=0))


def test_pipe_streams_an_endless_generator(lexicon: Analyzer) -> None:
    consumed = 0

    def endless():  # type: ignore[no-untyped-def]
        nonlocal consumed
        for k in itertools.count():
            consumed += 1
            yield f"text number {k} is good"

    first = list(itertools.islice(lexicon.pipe(endless(), batch_size=8), 10))
    assert len(first) == 10 and all(isinstance(r, Prediction) for r in first)
    assert consumed <= 16  # two batches read, not the whole stream


def test_load_builds_once_and_validates_options() -> None:
    assert affectlens.load("lexicon").engine is affectlens.load("lexicon").engine
    assert affectlens.load("lexicon", batch_size=8).engine is affectlens.load("lexicon").engine  # no second model
    assert affectlens.load("lexicon", batch_size=8).batch_size == 8
    assert affectlens.load("lexicon", nrc=False).engine is not affectlens.load("lexicon").engine
    with pytest.raises(ConfigError, match="unknown option"):
        affectlens.load("lexicon", colour="red")
    with pytest.raises(ConfigError, match="mode must be"):
        affectlens.load("vader")
    config = engine_config("neural", provider="cpu", threads=1, parser=False, max_chars=100)
    assert (config.neural.provider, config.neural.intra_op_threads, config.lexicon.use_parser, config.max_chars) == (
        "cpu",
        1,
        False,
        100,
    )


def test_score_frame_adds_columns_and_marks_bad_rows(lexicon: Analyzer) -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"id": [1, 2, 3], "review": ["great stuff", "", "awful service"]})
    out = affectlens.score_frame(frame, text_column="review", analyzer=lexicon, emotions=True)
    assert list(frame.columns) == ["id", "review"]  # the input is not modified
    assert out["affect_label"].tolist()[0::2] == ["positive", "negative"]
    assert out["affect_error"].tolist()[1] == "empty_text" and pd.isna(out["affect_label"][1])
    assert {"affect_negative", "affect_valence", "affect_emotions", "affect_emotion_joy"} <= set(out.columns)
    with pytest.raises(ConfigError, match="column 'text' not in the frame"):
        affectlens.score_frame(frame, analyzer=lexicon)


def test_explain_html_from_python(tmp_path, lexicon: Analyzer) -> None:  # type: ignore[no-untyped-def]
    path = lexicon.explain_html(["I don't like it", ""], tmp_path / "view.html")
    page = path.read_text(encoding="utf-8")
    assert "like" in page and "empty_text" in page
