"""`affectlens calibrate` and `affectlens evaluate` end to end on the tiny exported model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from affectlens.cli import main
from affectlens.engine import Engine, EngineConfig
from affectlens.schema import Prediction, json_schema
from affectlens.stacker_choice import STACKER_EVIDENCE_ALPHA

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def calibrated_model(tiny_model_dir: Path, tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = tmp_path_factory.mktemp("calibrated") / "model"
    shutil.copytree(tiny_model_dir, model)
    # The tiny hold-out is small: calibrate on it plus the tiny validation rows, written as hold-out lines.
    holdout = model.parent / "holdout.jsonl"
    lines = (tiny_checkpoint / "holdout.jsonl").read_text().splitlines()
    from tests.conftest import NEGATIVE, NEUTRAL, POSITIVE

    extra = [{"text": t, "sentiment": y} for y, group in ((2, POSITIVE), (0, NEGATIVE), (1, NEUTRAL)) for t in group]
    extra += [
        {"text": t, "emotions": [e]} for e, group in ((17, POSITIVE), (25, NEGATIVE), (27, NEUTRAL)) for t in group
    ]
    holdout.write_text("\n".join(lines + [json.dumps(x) for x in extra * 3]) + "\n")
    assert main(["calibrate", "--model", str(model), "--holdout", str(holdout)]) == 0
    return model


def test_calibration_file_is_readable_and_versioned(calibrated_model: Path) -> None:
    data = json.loads((calibrated_model / "calibration.json").read_text())
    assert data["format"] == 2 and data["info"]["model"]["variant"] == "int8"
    choice = data["info"]["stacker_choice"]
    assert set(choice) == {
        "alpha", "class_weight_power", "domain_weight_power", "evidence_alpha", "negation_evidence_alpha"
    }  # fmt: skip
    assert len(data["emotions"]["thresholds"]) == 28
    assert len(data["sentiment_stacker"]["coef"]) == 3
    evidence = data["sentiment_stacker"]["evidence"]  # the gated evidence columns, fitted in a second stage
    assert choice["evidence_alpha"] == evidence["alpha"] == STACKER_EVIDENCE_ALPHA
    assert [data["feature_names"][j] for j in evidence["columns"]] == [n for n in data["feature_names"] if "*" in n]
    negation = {j for j in evidence["columns"] if data["feature_names"][j].startswith("full_negation*")}
    assert {int(j) for j, a in evidence["column_alpha"].items() if a == choice["negation_evidence_alpha"]} >= negation
    assert not any(n.startswith(("emoji*", "irony*")) for n in data["feature_names"])  # legacy gates, not fitted


def test_reddit_sentiment_rows_need_the_data_dir_with_their_mapping(
    calibrated_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    holdout = calibrated_model.parent / "holdout.jsonl"
    args = ["calibrate", "--model", str(calibrated_model), "--holdout", str(holdout), "--reddit-sentiment"]
    assert main(args) == 2
    assert "--data-dir" in capsys.readouterr().err


def test_hybrid_engine_uses_the_calibration(calibrated_model: Path) -> None:
    hybrid = Engine(EngineConfig(mode="hybrid", model_dir=str(calibrated_model)))
    assert hybrid.calibration is not None
    result = hybrid.score("i love this so much", explain=True)
    assert isinstance(result, Prediction)
    jsonschema.validate(result.to_dict(), json_schema())
    raw = result.components["neural"]["scores"]
    assert result.scores != raw  # calibrated stacker output, not the raw softmax


def test_evaluate_writes_the_report(calibrated_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    code = main(
        [
            "evaluate",
            "--data-dir",
            str(tiny_data),
            "--model",
            str(calibrated_model),
            "-o",
            str(out),
            "--bootstrap",
            "50",
            "--faithfulness",
            "10",
            "--no-parser",
        ]
    )
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    te = next(r for r in report["sentiment"] if r["dataset"] == "tweeteval-sentiment")
    assert {"lexicon", "neural", "hybrid", "neural-uncalibrated", "vader-stock", "tfidf-logreg"} <= set(te["systems"])
    assert 0 <= te["systems"]["hybrid"]["ece"] <= 1
    assert "macro_recall" in te["hybrid_minus_neural"]
    tweets = next(r for r in report["sentiment"] if r["dataset"] == "tweeteval-emotion-polarity")
    assert tweets["polarity_only"] and tweets["slice_emoji"]["n"] == 2 * tweets["n"] // 3  # the tweets with emoji
    assert set(tweets["slice_emoji"]["hybrid_minus_neural"]) == {"polarity_accuracy", "macro_f1"}
    assert "polarity accuracy" in (out / "summary.md").read_text().split("tweeteval-emotion-polarity")[1]
    reddit = next(r for r in report["sentiment"] if r["dataset"] == "goemotions-sentiment")
    assert reddit["n"] > 0 and "hybrid" in reddit["systems"]
    assert report["emotions"]["systems"]["hybrid"]["macro_f1"] >= 0
    assert {"comprehensiveness_model", "sufficiency_random"} <= set(report["faithfulness"])
    assert (out / "summary.md").read_text().startswith("# affectlens evaluation report")
    assert (out / "reliability_tweeteval-sentiment.png").is_file()


def test_slices_find_emoji_negation_and_contrast() -> None:
    from affectlens.engine import Engine, EngineConfig
    from affectlens.evaluation.report import slices

    texts = ["lovely day 😊", "this is not good", "fine, but slow", "the train leaves at six"]
    masks = slices(Engine(EngineConfig(mode="lexicon")).score_batch(texts), texts)
    assert masks["emoji"].tolist() == [True, False, False, False]
    assert masks["negation_contrast_emoji"].tolist() == [True, True, True, False]


class _WordEngine:
    """Engine double for ``faithfulness``: one token per word; a text without words fails like an empty one."""

    def __init__(self) -> None:
        self.variants: list[str] = []

    def score_batch(self, texts: list[str], explain: bool = False) -> list[object]:
        from affectlens.schema import ModelInfo, ScoreError, TokenEvidence

        out: list[object] = []
        for text in texts:
            words = text.split()
            if not words:
                out.append(ScoreError("empty_text", "empty"))
                continue
            tokens, start = [], 0
            for k, word in enumerate(words):
                start = text.index(word, start)
                tokens.append(TokenEvidence(text=word, start=start, end=start + len(word), attribution=float(k)))
                start += len(word)
            p = min(0.9, 0.3 + 0.1 * len(words))
            out.append(Prediction(label="positive", scores={"negative": (1 - p) / 2, "neutral": (1 - p) / 2,
                                                            "positive": p}, valence=0.0, emotions={},
                                  emotions_predicted=(), components={}, model=ModelInfo("fake", "0"),
                                  tokens=tuple(tokens) if explain else None))  # fmt: skip
            if not explain:
                self.variants.append(text)
        return out


def test_faithfulness_pairs_each_text_with_its_own_explanation_after_a_failed_text() -> None:
    from affectlens.evaluation.report import faithfulness

    texts = ["", "alpha beta gamma delta", "   ", "one two three four five six"]
    engine = _WordEngine()
    out = faithfulness(engine, texts, fractions=(0.5,))
    assert out["texts"] == 2
    vocabularies = [set(t.split()) for t in texts if t.strip()]
    for variant in engine.variants:  # every erased / kept variant is made of one real text's own words
        assert any(set(variant.split()) <= words for words in vocabularies), variant
    assert "alpha beta" in engine.variants and "one two three" in engine.variants  # erased the most attributed
