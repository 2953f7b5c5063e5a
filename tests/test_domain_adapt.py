"""``affectlens adapt``: the split, the refusals (before anything is written), and a whole run on the tiny network
(search, early stopping, export, calibration, report, a folder that works everywhere a model folder does)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from affectlens.cli import main
from affectlens.domain.adapt import stratified_split
from tests.conftest import NEGATIVE, NEUTRAL, POSITIVE


def _labelled(path: Path, n_per_class: int, seed: int = 0, classes: tuple[str, ...] = ("negative", "neutral",
              "positive")) -> Path:  # fmt: skip
    pools = {"negative": NEGATIVE, "neutral": NEUTRAL, "positive": POSITIVE}
    rng = random.Random(seed)
    rows = [{"sentence": f"{rng.choice(pools[c])} {k}", "label": c} for c in classes for k in range(n_per_class)]
    rng.shuffle(rows)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_stratified_split_keeps_every_class_in_both_parts() -> None:
    labels = [0] * 50 + [1] * 30 + [2] * 5
    train, val = stratified_split(labels, 0.2, seed=1)
    assert sorted(train + val) == list(range(85)) and not set(train) & set(val)
    assert [sum(labels[i] == c for i in val) for c in range(3)] == [10, 6, 1]
    assert stratified_split(labels, 0.2, seed=1) == (train, val)  # seeded


@pytest.mark.parametrize(
    ("classes", "extra", "needle"),
    [
        (("positive",), [], "two classes"),  # a single class
        (("negative", "positive"), ["--labels", "bad,good"], "label"),  # a label set adapt cannot train
        (("negative", "positive"), ["--text-field", "body"], "body"),  # a missing column
    ],
)
def test_bad_input_writes_no_model_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], classes: tuple[str, ...], extra: list[str], needle: str
) -> None:
    data = _labelled(tmp_path / "train.jsonl", 30, classes=classes)
    out = tmp_path / "model"
    code = main(["adapt", str(data), "-o", str(out), "--text-field", "sentence", "--no-mlflow", *extra])
    assert code == 2 and needle in capsys.readouterr().err.lower()
    assert not out.exists() and not (tmp_path / "model.partial").exists()


def test_too_few_rows_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _labelled(tmp_path / "train.jsonl", 3)
    assert main(["adapt", str(data), "-o", str(tmp_path / "m"), "--text-field", "sentence", "--no-mlflow"]) == 2
    assert "20" in capsys.readouterr().err


def test_a_failure_midway_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import affectlens.export.adapt_train as adapt_train

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed in the middle of the search")

    monkeypatch.setattr(adapt_train, "fine_tune", broken)
    data = _labelled(tmp_path / "train.jsonl", 30)
    out = tmp_path / "model"
    with pytest.raises(RuntimeError, match="middle"):
        main(["adapt", str(data), "-o", str(out), "--text-field", "sentence", "--no-mlflow"])
    assert not out.exists() and not (tmp_path / "model.partial").exists()


def test_missing_base_weights_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _labelled(tmp_path / "train.jsonl", 30)
    code = main(["adapt", str(data), "-o", str(tmp_path / "m"), "--text-field", "sentence", "--no-mlflow",
                 "--base", str(tmp_path / "nowhere")])  # fmt: skip
    assert code == 2 and "nowhere" in capsys.readouterr().err


@pytest.mark.slow
def test_adapt_end_to_end_on_the_tiny_network(tiny_checkpoint: Path, tmp_path: Path) -> None:
    pytest.importorskip("optimum.exporters.onnx")
    data = _labelled(tmp_path / "train.jsonl", 90, seed=3)
    out = tmp_path / "adapted"
    code = main(["adapt", str(data), "-o", str(out), "--text-field", "sentence", "--no-mlflow",
                 "--base", str(tiny_checkpoint / "best"), "--learning-rates", "1e-3,3e-3", "--max-epochs", "3",
                 "--name", "tiny-adapted"])  # fmt: skip
    assert code == 0
    report = json.loads((out / "adapt_report.json").read_text(encoding="utf-8"))
    assert [r["learning_rate"] for r in report["search"]] == [1e-3, 3e-3]
    assert all(1 <= r["best_epoch"] <= r["epochs_run"] <= 3 for r in report["search"])
    chosen = max(report["search"], key=lambda r: r["best_macro_f1"])
    assert report["chosen"] == {"learning_rate": chosen["learning_rate"], "epochs": chosen["best_epoch"]}
    assert report["data"]["train_rows"] == 216 and report["data"]["validation_rows"] == 54
    assert set(report["validation"]) == {"adapted", "shipped"}
    assert report["validation"]["adapted"]["macro_f1"] > 0.8  # the tiny texts are easy once trained on
    for name in ("model_int8.onnx", "tokenizer.json", "affectlens_model.json", "calibration.json", "MODEL_CARD.md",
                 "hf/model.safetensors"):  # fmt: skip
        assert (out / name).is_file(), name
    assert json.loads((out / "affectlens_model.json").read_text())["name"] == "tiny-adapted"
    assert "| adapted |" in (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert not (tmp_path / "adapted.partial").exists()
    from affectlens import load

    prediction = load(model=out)("what a great day")
    assert prediction.model.name == "tiny-adapted" and prediction.label == "positive"
