"""``affectlens compare``: identical models agree everywhere; the numbers of the comparison on known inputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from affectlens.cli import main
from affectlens.domain.compare import ModelScores, compare_scores, markdown
from affectlens.engine import default_model_dir

TEXTS = [
    ("I love this phone, it works great.", "positive"),
    ("The hotel was dirty and the staff were rude.", "negative"),
    ("The meeting starts at ten.", "neutral"),
    ("What a wonderful surprise, thank you!", "positive"),
    ("This is the worst service I have ever had.", "negative"),
    ("The report has twelve pages.", "neutral"),
]


def test_a_model_and_its_copy_agree_everywhere(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(default_model_dir(), copy, ignore=shutil.ignore_patterns("hf"))
    data = tmp_path / "gold.jsonl"
    rows = [{"sentence": f"{t} ({k})", "gold": y.upper()} for k in range(4) for t, y in TEXTS]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "report"
    argv = ["compare", str(data), "--model-a", "default", "--model-b", str(copy), "--text-field", "sentence",
            "--label-field", "gold", "-o", str(out), "--bootstrap", "200", "--neural-only", "--no-parser",
            "--threads", "1"]  # fmt: skip
    assert main(argv) == 0
    report = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    assert report["rows"] == 24 and report["agreement"] == 1.0 and report["disagreements"] == []
    assert report["mode"] == "neural" and report["models"]["b"]["path"] == str(copy)
    for d in report["difference_b_minus_a"].values():
        assert d["diff"] == d["ci95_low"] == d["ci95_high"] == 0.0
    a, b = report["models"]["a"], report["models"]["b"]
    assert a["accuracy"] == b["accuracy"] > 0.8 and a["per_class_f1"] == b["per_class_f1"]
    text = (out / "compare.md").read_text(encoding="utf-8")
    assert "| accuracy |" in text and "Agreement: 1.0000" in text and text in capsys.readouterr().out


def test_a_missing_model_folder_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "gold.jsonl"
    data.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in TEXTS * 4), encoding="utf-8")
    assert main(["compare", str(data), "--model-b", str(tmp_path / "nope"), "-o", str(tmp_path / "r")]) == 2
    assert "error [model_not_found]" in capsys.readouterr().err


def one_hot(labels: list[int], confidence: list[float]) -> np.ndarray:
    probs = np.zeros((len(labels), 3))
    for i, (k, c) in enumerate(zip(labels, confidence, strict=True)):
        probs[i] = (1 - c) / 2
        probs[i, k] = c
    return probs


def test_differences_outcomes_and_disagreements_on_known_scores() -> None:
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    a_pred = [0, 1, 2, 0, 1, 2, 1, 2, 0, 0]  # 7 right
    b_pred = [0, 1, 2, 0, 1, 2, 0, 1, 2, 1]  # 9 right
    conf_a = [0.9] * 6 + [0.6, 0.95, 0.7, 0.8]
    conf_b = [0.9] * 6 + [0.5, 0.6, 0.99, 0.4]
    a = ModelScores("A", "m 1", one_hot(a_pred, conf_a))
    b_probs = one_hot(b_pred, conf_b)
    b_probs[3] = np.nan  # B refused row 3: it leaves every number
    b = ModelScores("B", "m 2", b_probs)
    texts = [f"text {i}" for i in range(10)]
    report = compare_scores(y, a, b, texts, list(range(2, 12)), n_boot=300, top=2, seed=1)
    assert report["rows"] == 9 and report["rows_refused"] == 1
    acc = report["difference_b_minus_a"]["accuracy"]
    assert acc["diff"] == pytest.approx(8 / 9 - 6 / 9)
    assert acc["ci95_low"] <= acc["diff"] <= acc["ci95_high"]
    assert report["models"]["a"]["accuracy"] == pytest.approx(6 / 9)
    assert report["outcomes"] == {"both_right": 5, "only_a_right": 1, "only_b_right": 3, "both_wrong": 0}
    assert report["agreement"] == pytest.approx(5 / 9)
    top = report["disagreements"]
    assert [row["line"] for row in top] == [10, 9]  # max confidence 0.99 (row 8), then 0.95 (row 7)
    assert top[0] == {"line": 10, "text": "text 8", "gold": "positive", "a": {"label": "negative", "confidence": 0.7},
                      "b": {"label": "positive", "confidence": 0.99}}  # fmt: skip
    report.update({"data": {"path": "gold.jsonl"}, "mode": "hybrid"})
    md = markdown(report)
    assert "| accuracy | 0.6667 | 0.8889 | +0.2222 |" in md and "## Most confident disagreements" in md
    no_intervals = compare_scores(y, a, b, texts, list(range(10)), n_boot=0)
    assert no_intervals["difference_b_minus_a"]["macro_f1"]["ci95_low"] is None
