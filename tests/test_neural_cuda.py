"""The CUDA path of NeuralModel against a fake onnxruntime (no GPU here), and bench/gpu_check.sh's skip."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from affectlens import neural
from affectlens.errors import ConfigError, ModelNotFoundError
from affectlens.labels import EMOTION_LABELS, NUM_OUTPUTS, SENTIMENT_LABELS
from affectlens.neural import NeuralConfig, NeuralModel

REPO = Path(__file__).resolve().parent.parent
CUDA, CPU = "CUDAExecutionProvider", "CPUExecutionProvider"


class FakeOrt(types.ModuleType):
    """Just enough of onnxruntime: providers, preload_dlls, sessions that fall back to CPU on demand."""

    def __init__(self, available: list[str], cuda_starts: bool = True, preload_fails: bool = False) -> None:
        super().__init__("onnxruntime")
        self.available, self.cuda_starts, self.preload_fails = available, cuda_starts, preload_fails
        self.preloads = 0
        self.sessions: list[FakeSession] = []
        self.SessionOptions = types.SimpleNamespace
        self.GraphOptimizationLevel = types.SimpleNamespace(ORT_ENABLE_ALL=99)
        self.preload_dlls = self._preload

    def _preload(self) -> None:
        self.preloads += 1
        if self.preload_fails:
            raise OSError("libcudnn.so.9: cannot open shared object file")

    def get_available_providers(self) -> list[str]:
        return list(self.available)

    def InferenceSession(self, path: str, sess_options: Any, providers: list[str]) -> FakeSession:
        session = FakeSession(path, providers, self.cuda_starts)
        self.sessions.append(session)
        return session


class FakeSession:
    def __init__(self, path: str, providers: list[str], cuda_starts: bool) -> None:
        self.path, self.requested = path, providers
        self.active = [p for p in providers if p != CUDA or cuda_starts]

    def get_providers(self) -> list[str]:
        return list(self.active)

    def get_inputs(self) -> list[Any]:
        return [types.SimpleNamespace(name=n) for n in ("input_ids", "attention_mask")]

    def get_outputs(self) -> list[Any]:
        return [types.SimpleNamespace(name="logits")]

    def run(self, names: list[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return [np.zeros((feeds["input_ids"].shape[0], NUM_OUTPUTS), dtype=np.float32)]


def make_model_dir(root: Path, files: dict[str, str]) -> Path:
    """A model folder with a tiny word-level tokenizer, a model card and empty ONNX files (the fake reads none)."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    tokenizer = Tokenizer(models.WordLevel({"[UNK]": 0, "good": 1, "bad": 2}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    root.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(root / "tokenizer.json"))
    card = {"name": "fake", "version": "0.0.1", "sentiment_labels": list(SENTIMENT_LABELS),
            "emotion_labels": list(EMOTION_LABELS), "max_length": 16, "files": files}  # fmt: skip
    (root / neural.MODEL_CONFIG_FILE).write_text(json.dumps(card), encoding="utf-8")
    for name in files.values():
        (root / name).write_bytes(b"")
    return root


@pytest.fixture
def fake_ort(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Install a FakeOrt as ``onnxruntime`` (CUDA available and working); tests adjust its attributes."""
    fake = FakeOrt([CUDA, CPU])
    monkeypatch.setitem(sys.modules, "onnxruntime", fake)
    monkeypatch.setattr(neural, "_cuda_prepared", False)  # once per process: a fresh process per test
    return fake


BOTH = {"int8": "model_int8.onnx", "fp16": "model_fp16.onnx"}


def test_cuda_preloads_once_and_runs_the_fp16_graph(fake_ort: FakeOrt, tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    model_dir = make_model_dir(tmp_path / "m", BOTH)
    with caplog.at_level(logging.INFO, logger="affectlens.neural"):
        first = NeuralModel(model_dir, NeuralConfig(provider="cuda"))
        NeuralModel(model_dir, NeuralConfig(provider="cuda"))
    assert fake_ort.preloads == 1  # prepared once per process, before the first CUDA session
    assert first.variant == "fp16" and Path(fake_ort.sessions[0].path).name == "model_fp16.onnx"
    assert fake_ort.sessions[0].requested == [CUDA, CPU]
    assert first.describe() == {
        "model": "fake", "version": "0.0.1", "variant": "fp16", "file": "model_fp16.onnx", "provider": "cuda",
        "providers_requested": [CUDA, CPU], "providers_active": [CUDA, CPU], "active_provider": CUDA,
    }  # fmt: skip
    assert "model_fp16.onnx (fp16) on CUDAExecutionProvider" in caplog.text
    assert first.logits(["good", "bad bad"]).shape == (2, NUM_OUTPUTS)
    assert first.run_batch_size == first.config.batch_size  # fp16 batches (only int8 runs one text per call)


def test_auto_picks_cuda_and_fp16_when_cuda_is_there(fake_ort: FakeOrt, tmp_path: Path) -> None:
    model = NeuralModel(make_model_dir(tmp_path / "m", BOTH))
    assert (model.variant, model.active_provider, fake_ort.preloads) == ("fp16", CUDA, 1)


def test_cuda_requested_but_fallen_back_to_cpu_is_an_error_naming_the_fix(fake_ort: FakeOrt, tmp_path: Path) -> None:
    fake_ort.cuda_starts = False  # onnxruntime-gpu without loadable CUDA libraries: silent CPU fallback
    with pytest.raises(ConfigError) as info:
        NeuralModel(make_model_dir(tmp_path / "m", BOTH), NeuralConfig(provider="cuda"))
    assert "CPUExecutionProvider" in info.value.message and "affectlens[gpu]" in info.value.message
    assert "--gpus all" in info.value.message


def test_auto_falls_back_to_cpu_with_a_warning_and_the_cpu_graph(fake_ort: FakeOrt, tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    fake_ort.cuda_starts = False
    with caplog.at_level(logging.WARNING, logger="affectlens.neural"):
        model = NeuralModel(make_model_dir(tmp_path / "m", BOTH))
    assert "CUDA provider did not start" in caplog.text and "nvidia-smi" in caplog.text
    assert (model.variant, model.onnx_file, model.active_provider) == ("int8", "model_int8.onnx", CPU)
    assert model.describe()["providers_requested"] == [CPU]  # the session that runs: CPU, int8


def test_cpu_never_preloads_and_prefers_int8(fake_ort: FakeOrt, tmp_path: Path) -> None:
    model = NeuralModel(make_model_dir(tmp_path / "m", BOTH), NeuralConfig(provider="cpu"))
    assert (model.variant, fake_ort.preloads, fake_ort.sessions[0].requested) == ("int8", 0, [CPU])


def test_cpu_onnxruntime_under_auto_runs_on_cpu_without_preload(fake_ort: FakeOrt, tmp_path: Path) -> None:
    fake_ort.available = [CPU]
    model = NeuralModel(make_model_dir(tmp_path / "m", BOTH))
    assert (model.variant, model.active_provider, fake_ort.preloads) == ("int8", CPU, 0)


def test_fp16_only_folder_runs_on_cpu(fake_ort: FakeOrt, tmp_path: Path) -> None:
    """The folder `affectlens export --only fp16` writes (no int8, no fp32) also loads on CPU."""
    model = NeuralModel(make_model_dir(tmp_path / "m", {"fp16": "model_fp16.onnx"}), NeuralConfig(provider="cpu"))
    assert (model.variant, model.onnx_file) == ("fp16", "model_fp16.onnx")


def test_cuda_with_an_int8_only_model_says_how_to_build_fp16(fake_ort: FakeOrt, tmp_path: Path) -> None:
    model_dir = make_model_dir(tmp_path / "m", {"int8": "model_int8.onnx"})
    with pytest.raises(ConfigError, match="--only fp16"):
        NeuralModel(model_dir, NeuralConfig(provider="cuda"))
    auto = NeuralModel(model_dir)  # auto: int8 stays on CPU rather than failing
    assert (auto.variant, auto.active_provider, fake_ort.sessions[-1].requested) == ("int8", CPU, [CPU])


def test_cuda_requested_without_a_cuda_build_of_onnxruntime(fake_ort: FakeOrt, tmp_path: Path) -> None:
    fake_ort.available = [CPU]
    with pytest.raises(ConfigError, match=r"affectlens\[gpu\]"):
        NeuralModel(make_model_dir(tmp_path / "m", BOTH), NeuralConfig(provider="cuda"))


def test_a_failing_preload_is_logged_and_the_session_decides(fake_ort: FakeOrt, tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    fake_ort.preload_fails = True
    with caplog.at_level(logging.WARNING, logger="affectlens.neural"):
        model = NeuralModel(make_model_dir(tmp_path / "m", BOTH), NeuralConfig(provider="cuda"))
    assert "could not preload the CUDA libraries" in caplog.text and model.active_provider == CUDA


def test_onnxruntime_without_preload_dlls_is_fine(fake_ort: FakeOrt, tmp_path: Path) -> None:
    del fake_ort.preload_dlls  # onnxruntime-gpu < 1.21
    model = NeuralModel(make_model_dir(tmp_path / "m", BOTH), NeuralConfig(provider="cuda"))
    assert model.active_provider == CUDA


def test_a_missing_graph_file_is_reported(fake_ort: FakeOrt, tmp_path: Path) -> None:
    model_dir = make_model_dir(tmp_path / "m", BOTH)
    (model_dir / "model_fp16.onnx").unlink()
    with pytest.raises(ModelNotFoundError, match=r"model_fp16\.onnx"):
        NeuralModel(model_dir, NeuralConfig(provider="cuda"))


def test_handler_leaves_cuda_preparation_to_neural_model() -> None:
    source = (REPO / "handlers" / "affectlens_handler.py").read_text(encoding="utf-8")
    assert "preload_dlls" not in source and "import onnxruntime" not in source


# -- bench/gpu_check.sh on a machine without an NVIDIA GPU ------------------------------------------
def _run_gpu_check(path: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": path, "HOME": str(tmp_path), "GPU_CHECK_WORKDIR": str(tmp_path / "work")}
    return subprocess.run(["sh", str(REPO / "bench" / "gpu_check.sh")], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=60, check=False)  # fmt: skip


def test_gpu_check_skips_cleanly_when_nvidia_smi_fails(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed because it could not communicate with the driver' >&2\n"
                    "exit 9\n")  # fmt: skip
    fake.chmod(0o755)
    proc = _run_gpu_check(f"{bin_dir}:{os.environ['PATH']}", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "skipped: no NVIDIA GPU" in proc.stdout
    assert not (tmp_path / "work").exists()  # nothing installed, nothing built


def test_gpu_check_skips_cleanly_without_nvidia_smi(tmp_path: Path) -> None:
    path = "/usr/bin:/bin"
    if shutil.which("nvidia-smi", path=path):
        pytest.skip("this machine has nvidia-smi in /usr/bin")
    proc = _run_gpu_check(path, tmp_path)
    assert proc.returncode == 0 and "skipped: no NVIDIA GPU" in proc.stdout


def test_gpu_check_builtin_texts_are_varied() -> None:
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import gpu_check
    finally:
        sys.path.remove(str(REPO / "bench"))
    texts, source = gpu_check.validation_texts(1000, REPO / "no-such-data")
    assert source == "built-in sentences" and len(texts) == len(set(texts)) == 300
