"""Resumable training: an interrupted run resumed from output_dir/resume/ ends where an uninterrupted one does."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from affectlens.errors import ConfigError

pytest.importorskip("torch")
pytest.importorskip("transformers")

import affectlens.export.train as train_module

LABEL_TENSORS = train_module.label_tensors  # the real one, whatever a test patches in

STEPS = 40  # ~3 passes over the tiny data: the interruption falls mid-pass, the resumed part crosses a pass
EVERY = 20


RUN = {"eval_every": EVERY, "max_steps": STEPS, "seed": 3}  # on top of conftest's tiny_train_config


def _weights(folder: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


class _Recorder:
    """Records each training batch's texts; raises KeyboardInterrupt on batch ``crash_at`` (1-based)."""

    def __init__(self, crash_at: int = 0) -> None:
        self.batches: list[list[str]] = []
        self.crash_at = crash_at

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def recording(rows: Any) -> Any:
            self.batches.append([r.text for r in rows])
            if len(self.batches) == self.crash_at:
                raise KeyboardInterrupt
            return LABEL_TENSORS(rows)

        monkeypatch.setattr(train_module, "label_tensors", recording)


@pytest.mark.slow
def test_resume_matches_uninterrupted_run(
    tiny_base_model: Path, tiny_train_config: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch
    from affectlens.export.train import train

    whole = _Recorder()
    whole.install(monkeypatch)
    reference = train(tiny_train_config(tmp_path / "whole", **RUN))
    assert reference["steps"] == STEPS

    interrupted = _Recorder(crash_at=EVERY + 3)  # dies 3 steps after the checkpoint at step EVERY
    interrupted.install(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_train_config(tmp_path / "split", **RUN))
    progress = json.loads((tmp_path / "split" / "resume" / "progress.json").read_text())
    assert progress["state"]["step"] == EVERY

    resumed = _Recorder()
    resumed.install(monkeypatch)
    summary = train(tiny_train_config(tmp_path / "split", **RUN, resume=True))

    assert summary["steps"] == STEPS and summary["resumed_from_step"] == EVERY
    assert interrupted.batches[:EVERY] + resumed.batches == whole.batches  # the same batches, in the same order
    assert len({tuple(b) for b in whole.batches}) > 1
    expected, got = _weights(tmp_path / "whole" / "last"), _weights(tmp_path / "split" / "last")
    assert expected.keys() == got.keys()
    for name, tensor in expected.items():
        torch.testing.assert_close(got[name], tensor, rtol=1e-5, atol=1e-6, msg=name)
    base = _weights(tiny_base_model)
    assert not torch.allclose(
        base["encoder.layer.0.attention.self.query.weight"],
        expected["bert.encoder.layer.0.attention.self.query.weight"],
    )
    assert [h["step"] for h in summary["history"]] == [h["step"] for h in reference["history"]]
    assert summary["best"]["step"] == reference["best"]["step"]
    assert summary["best"]["selection"] == pytest.approx(reference["best"]["selection"], abs=1e-6)


def test_resume_without_checkpoint_is_a_clear_error(tiny_train_config: Callable[..., Any], tmp_path: Path) -> None:
    from affectlens.export.train import train

    with pytest.raises(ConfigError, match=r"nothing to resume.*without --resume"):
        train(tiny_train_config(tmp_path / "fresh", **RUN, resume=True))


def test_resume_with_other_options_is_refused(
    tiny_train_config: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from affectlens.export.train import train

    short = {"eval_every": 2, "max_steps": 4}
    _Recorder(crash_at=3).install(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_train_config(tmp_path / "run", **{**RUN, **short}))
    monkeypatch.undo()
    with pytest.raises(ConfigError, match=r"learning_rate=0.003 \(now 0.001\)"):
        train(tiny_train_config(tmp_path / "run", **{**RUN, **short}, resume=True, learning_rate=1e-3))


def test_fp16_base_model_trains_in_float32(
    tiny_base_model: Path, tiny_train_config: Callable[..., Any], tmp_path: Path
) -> None:
    """An HF folder with 31 labels stored in fp16 (like default_model/hf) is fine-tuned in float32."""
    import torch
    import transformers
    from affectlens.export.train import load_base_model, train

    from affectlens.labels import NUM_OUTPUTS

    fp16 = tmp_path / "fp16-base"
    model = transformers.AutoModelForSequenceClassification.from_pretrained(tiny_base_model, num_labels=NUM_OUTPUTS)
    model.half().save_pretrained(fp16)
    transformers.AutoTokenizer.from_pretrained(tiny_base_model).save_pretrained(fp16)
    stored = _weights(fp16)
    assert {t.dtype for t in stored.values()} == {torch.float16}

    loaded = load_base_model(str(fp16), num_labels=NUM_OUTPUTS)
    assert {p.dtype for p in loaded.parameters()} == {torch.float32}
    torch.testing.assert_close(
        loaded.classifier.weight, stored["classifier.weight"].float(), rtol=0, atol=0
    )  # the fp16 head is kept (31 labels), not re-initialised

    summary = train(
        tiny_train_config(tmp_path / "run", **{**RUN, "max_steps": 6, "eval_every": 3}, base_model=str(fp16))
    )
    assert summary["steps"] == 6
    trained = _weights(tmp_path / "run" / "last")
    assert {t.dtype for t in trained.values()} == {torch.float32}
    assert all(torch.isfinite(t).all() for t in trained.values())
    assert not torch.equal(trained["classifier.weight"], stored["classifier.weight"].float())
