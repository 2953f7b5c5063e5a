"""``affectlens monitor``: descriptors, window detection, bad input (exit 2), drift (exit 1), no drift (exit 0),
the HTML report in a real headless browser, and the embedding output of the ONNX graph it relies on."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from affectlens.cli import main
from affectlens.engine import default_model_dir
from affectlens.monitoring.descriptors import describe_texts
from affectlens.monitoring.windows import MIN_ROWS, MonitorInputError, read_window

pytest.importorskip("evidently", reason="needs the monitor extra")

CHATTY = (
    ["omg", "honestly", "lol", "ugh", "yay", "wow", "", ""],
    ["my new phone", "this game", "the concert", "my coffee", "the weekend", "that movie", "the bus"],
    ["is so good", "was awful", "is not great", "made my day", "sucks", "is fine i guess", "rocks", "broke again"],
    ["😍", "😡", "😂", "!!", "", "", "#mood", "@friend"],
)
NEWS = (
    ["Operating profit", "Net sales", "The company's revenue", "Quarterly earnings", "Pretax profit", "Order intake"],
    ["rose", "fell", "increased", "decreased", "totalled", "remained"],
    ["by 4.2 %", "to EUR 13.1 mn", "from EUR 9.8 mn", "year-on-year", "in the third quarter", "compared with 2008"],
    [".", ", the company said .", ", according to the interim report .", "."],
)


def _texts(parts: tuple[list[str], ...], n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(p for p in (rng.choice(options) for options in parts) if p) for _ in range(n)]


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _raw(path: Path, texts: list[str]) -> Path:
    return _jsonl(path, [{"id": i, "text": t} for i, t in enumerate(texts)])


# -- descriptors -----------------------------------------------------------------------------------
def test_descriptors_measure_what_they_say() -> None:
    out = describe_texts(["I do not like it 😡", "Net sales rose", "Привет мир"])
    assert list(out) == ["chars", "words", "emoji_share", "negation_cue_rate", "lexicon_coverage",
                         "ascii_letter_share"]  # fmt: skip
    assert out["words"].tolist() == [5, 3, 2]
    assert out["emoji_share"][0] == pytest.approx(1 / 6) and out["emoji_share"][1] == 0
    assert out["negation_cue_rate"][0] == pytest.approx(1 / 5) and out["negation_cue_rate"][1] == 0
    assert out["lexicon_coverage"][0] > 0 and out["lexicon_coverage"][2] == 0
    assert out["ascii_letter_share"].tolist() == [1.0, 1.0, 0.0]


def test_unknown_token_share_counts_the_networks_unknown_pieces() -> None:
    from affectlens.monitoring.descriptors import unknown_share_of
    from affectlens.neural import NeuralModel

    share = unknown_share_of(NeuralModel(default_model_dir()))(["a good day", "ᚠᚢᚦ ᚨᚱᚲ"])
    assert share[0] == 0 and share[1] > 0.5


# -- windows ---------------------------------------------------------------------------------------
def test_raw_and_scored_windows_are_told_apart(tmp_path: Path) -> None:
    texts = _texts(CHATTY, 40, 0)
    raw = read_window("reference", str(_raw(tmp_path / "raw.jsonl", texts)), "text")
    assert raw.source == "raw" and raw.texts == texts and raw.predictions == []
    scored_rows = [{"id": i, "text": t, "label": "positive", "scores": {"negative": 0.1, "neutral": 0.2,
                    "positive": 0.7}, "valence": 0.6, "emotions_predicted": ["joy"],
                    "model": {"name": "m", "version": "1"}} for i, t in enumerate(texts)]  # fmt: skip
    scored_rows.append({"line": 41, "id": 41, "error": {"code": "empty_text", "message": "x"}})
    scored = read_window("current", str(_jsonl(tmp_path / "scored.jsonl", scored_rows)), "text")
    assert scored.source == "scored" and len(scored.predictions) == 40 and scored.skipped == {"missing_field": 1}
    assert scored.predictions[0]["scores"]["positive"] == 0.7


def test_a_flat_score_csv_is_read_as_predictions(tmp_path: Path) -> None:
    src = _raw(tmp_path / "in.jsonl", _texts(CHATTY, 40, 1))
    out = tmp_path / "scored.csv"
    assert main(["score", str(src), "-o", str(out), "--keep", "text", "--lexicon-only", "--no-progress"]) == 0
    window = read_window("reference", str(out), "text")
    assert window.source == "scored" and len(window.predictions) == 40
    first = window.predictions[0]
    assert first["label"] in {"negative", "neutral", "positive"} and abs(sum(first["scores"].values()) - 1) < 1e-4
    assert first["model"]["name"] == "affectlens-lexicon"


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("", "empty"),
        ('{"id": 1, "text": "only one row"}\n', f"at least {MIN_ROWS}"),
        ('{"id": 1, "body": "wrong field"}\n', "--text-field"),
        ('{"id": 1, "label": "positive", "scores": {"positive": 1}}\n', "--keep text"),
    ],
)
def test_bad_windows_say_what_to_do(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "w.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(MonitorInputError, match=needle.replace("-", r"\-")):
        read_window("reference", str(path), "text")


# -- the command -----------------------------------------------------------------------------------
def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any] | None, str]:
    code = main(["monitor", *args])
    captured = capsys.readouterr()
    try:
        summary = json.loads(captured.out)
    except ValueError:
        summary = None
    return code, summary, captured.err


def test_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _raw(tmp_path / "good.jsonl", _texts(CHATTY, 40, 2))
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    code, _, err = _run(capsys, "--reference", str(good), "--current", str(empty), "--lexicon-only")
    assert code == 2 and "current file" in err and "empty" in err
    code, _, err = _run(capsys, "--reference", str(good), "--current", str(tmp_path / "nope.jsonl"))
    assert code == 2 and "not found" in err
    with pytest.raises(SystemExit) as exc:  # argparse: a usage error
        main(["monitor", "--reference", str(good)])
    assert exc.value.code == 2


def test_predictions_of_two_models_are_not_compared(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    texts = _texts(CHATTY, 40, 3)
    lexicon = tmp_path / "lexicon.jsonl"
    assert main(["score", str(_raw(tmp_path / "in.jsonl", texts)), "-o", str(lexicon), "--keep", "text",
                 "--lexicon-only", "--no-progress"]) == 0  # fmt: skip
    code, _, err = _run(capsys, "--reference", str(lexicon), "--current", str(_raw(tmp_path / "raw.jsonl", texts)))
    assert code == 2 and "different models" in err and "affectlens-lexicon" in err


@pytest.mark.slow
def test_tweets_vs_news_drift_and_the_report_opens_in_a_browser(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = _raw(tmp_path / "ref.jsonl", _texts(CHATTY, 150, 4))
    cur = _raw(tmp_path / "cur.jsonl", _texts(NEWS, 150, 5))
    html, summary_path = tmp_path / "report" / "drift.html", tmp_path / "summary.json"
    code, summary, err = _run(capsys, "--reference", str(ref), "--current", str(cur), "-o", str(html),
                              "--json", str(summary_path), "--embedding-sample", "150")  # fmt: skip
    assert code == 1, err
    assert summary is not None and summary == json.loads(summary_path.read_text(encoding="utf-8"))
    assert summary["drift_detected"] is True
    assert all(summary["groups"][g]["drift_detected"] for g in ("text", "prediction", "embedding"))
    for check in summary["checks"]:
        assert {"name", "method", "statistic", "threshold", "drifted"} <= set(check)
    by_name = {c["name"]: c for c in summary["checks"]}
    assert by_name["text.emoji_share"]["drifted"] and by_name["embedding.sentence"]["statistic"] > 0.9
    assert "drift detected in" in err
    _assert_drift_table_renders(html, tmp_path)


def _assert_drift_table_renders(html: Path, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("needs Chromium (apt-get install -y chromium; .ci/run installs it)")
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
           "--virtual-time-budget=15000", "--dump-dom", html.as_uri()]  # fmt: skip
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    # the page is rendered by Evidently's JavaScript: these strings exist only in the DOM it builds
    assert "affectlens drift checks:" in dom and "Drift detected" in dom
    assert "text.emoji_share" in dom and "embedding.sentence" in dom and "DRIFT" in dom


@pytest.mark.slow
def test_random_halves_of_one_source_do_not_alarm(tmp_path: Path) -> None:
    """The small version of "19 of 20 random halves exit 0": 5 splits of 600 scored rows (300 vs 300)."""
    from affectlens.engine import Engine
    from affectlens.monitoring import MonitorConfig, monitor

    engine = Engine()
    texts = _texts(CHATTY, 600, 6)
    rows = [{**r.to_dict(), "text": t} for t, r in zip(texts, engine.score_batch(texts), strict=True)]
    exits = []
    for seed in range(5):
        shuffled = random.Random(seed).sample(rows, len(rows))
        ref, cur = _jsonl(tmp_path / "ref.jsonl", shuffled[:300]), _jsonl(tmp_path / "cur.jsonl", shuffled[300:])
        summary = monitor(MonitorConfig(str(ref), str(cur), embedding_sample=300), engine=engine)
        exits.append(1 if summary["drift_detected"] else 0)
        assert summary["reference"]["source"] == "scored" and summary["groups"]["embedding"]["checks"] == 1
    assert sum(e == 0 for e in exits) >= 4, exits


# -- the embedding output --------------------------------------------------------------------------
def test_embeddings_come_from_the_same_pass_and_leave_the_logits_alone() -> None:
    from affectlens.engine import Engine

    engine = Engine()
    texts = ["I love this", "", "Net sales rose by 4 %"]
    vectors: list[Any] = []
    with_vectors = [r.to_dict() for r in engine.score_batch(texts, embeddings=vectors)]
    assert with_vectors == [r.to_dict() for r in engine.score_batch(texts)]
    assert vectors[1] is None and vectors[0].shape == (384,) and not np.allclose(vectors[0], vectors[2])
    assert engine.neural is not None
    assert np.allclose(engine.neural.embeddings(["I love this"])[0], vectors[0], atol=1e-5)


def test_a_graph_without_the_embedding_output_gets_it(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    from affectlens.export.embedding_output import upgrade_model_dir

    from affectlens.neural import EMBEDDING_OUTPUT, NeuralModel

    model_dir = tmp_path / "model"
    shutil.copytree(default_model_dir(), model_dir, ignore=shutil.ignore_patterns("hf"))
    graph = onnx.load(str(model_dir / "model_int8.onnx"))
    kept = [o for o in graph.graph.output if o.name != EMBEDDING_OUTPUT]
    del graph.graph.output[:]
    graph.graph.output.extend(kept)
    onnx.save(graph, str(model_dir / "model_int8.onnx"))
    stripped = NeuralModel(model_dir)
    assert not stripped.has_embeddings
    with pytest.raises(Exception, match="embedding_output"):
        stripped.embeddings(["x"])
    assert upgrade_model_dir(model_dir) == {"int8": True}
    assert upgrade_model_dir(model_dir) == {"int8": False}  # idempotent
    upgraded = NeuralModel(model_dir)
    shipped = NeuralModel(default_model_dir())
    assert np.allclose(upgraded.embeddings(["a fine day"]), shipped.embeddings(["a fine day"]))
    assert np.array_equal(upgraded.logits(["a fine day"]), stripped.logits(["a fine day"]))


@pytest.mark.slow
def test_every_exported_graph_has_the_embedding_output(tiny_model_dir: Path) -> None:
    from affectlens.neural import NeuralConfig, NeuralModel

    card = json.loads((tiny_model_dir / "affectlens_model.json").read_text(encoding="utf-8"))
    assert set(card["files"]) == {"fp32", "int8", "fp16"}
    texts = ["I love this", "this is terrible", "the meeting is at noon"]
    vectors = {}
    for variant, name in card["files"].items():
        model = NeuralModel(tiny_model_dir, NeuralConfig(provider="cpu", onnx_file=name))
        assert model.has_embeddings, variant
        vectors[variant] = model.embeddings(texts)
        assert vectors[variant].dtype == np.float32 and vectors[variant].shape[0] == 3
    for variant in ("int8", "fp16"):
        assert np.abs(vectors[variant] - vectors["fp32"]).max() < 0.1, variant
