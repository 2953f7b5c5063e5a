"""The Dockerfile's steps, checked outside Docker (there is no Docker engine here)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = (REPO / "Dockerfile").read_text()


SCRIPTS = ("install.sh", "model.sh", "archive.sh", "entrypoint.sh")


def _stages() -> dict[str, str]:
    """Stage name -> its lines (the text after its FROM line up to the next FROM)."""
    parts = re.split(r"^FROM \S+ AS (\S+)$", DOCKERFILE, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_dockerfile_copies_only_what_exists_and_runs_the_docker_scripts() -> None:
    for src in re.findall(r"^COPY (?!--from)(\S+)", DOCKERFILE, flags=re.M):
        assert (REPO / src).exists(), src
    for script in (f"docker/{name}" for name in SCRIPTS):
        assert script in DOCKERFILE
        assert os.access(REPO / script, os.X_OK), f"{script} is not executable"
    assert "docker/healthcheck.py" in DOCKERFILE


def test_dockerfile_is_multi_stage_cpu_by_default_non_root_and_health_checked() -> None:
    assert list(_stages()) == ["source", "model-cpu", "model-gpu", "model", "build", "runtime"]
    assert re.search(r"^ARG ACCELERATOR=cpu$", DOCKERFILE.split("\nFROM ", 1)[0], flags=re.M)  # global: used in FROM
    assert re.search(r"^FROM model-\$\{ACCELERATOR\} AS model$", DOCKERFILE, flags=re.M)
    users = re.findall(r"^USER (\S+)", DOCKERFILE, flags=re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*healthcheck\.py", DOCKERFILE, flags=re.M)
    assert "COPY --from=build" in DOCKERFILE


def test_gpu_image_builds_fp16_in_its_own_stage_and_the_runtime_has_no_training_stack() -> None:
    stages = _stages()
    assert "docker/install.sh export" in stages["model-gpu"] and "docker/model.sh gpu" in stages["model-gpu"]
    assert "install.sh export" not in stages["build"] + stages["runtime"]
    # the serving environment (build stage) takes only the model folder from the model stage, not its venv
    assert re.findall(r"^COPY --from=model (\S+)", stages["build"], flags=re.M) == ["/app/models"]
    assert re.findall(r"^COPY --from=(\S+)", stages["runtime"], flags=re.M) == ["build", "build"]
    assert re.search(r"^ARG ACCELERATOR$", stages["runtime"], flags=re.M)
    assert "AFFECTLENS_ACCELERATOR=${ACCELERATOR}" in stages["runtime"]  # the entry point serves that model
    assert "ACCELERATOR=gpu" in DOCKERFILE.split("\nARG ", 1)[0]  # the header says how to build it


def test_no_secrets_in_the_image() -> None:
    for line in DOCKERFILE.splitlines():
        if line.startswith(("ENV", "ARG")):
            assert not re.search(r"TOKEN|SECRET|PASSWORD|KEY", line, flags=re.I), line
    ignored = (REPO / ".dockerignore").read_text()
    assert "key_file.json" in ignored and ".venv" in ignored and "model_store" in ignored


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_parse(script: str) -> None:
    subprocess.run(["sh", "-n", str(REPO / "docker" / script)], check=True)


def test_install_and_archive_refuse_an_unknown_accelerator() -> None:
    for script in ("install.sh", "model.sh", "archive.sh"):
        proc = subprocess.run(["sh", str(REPO / "docker" / script), "tpu"], capture_output=True, text=True,
                              cwd=REPO, check=False)  # fmt: skip
        assert proc.returncode == 2 and "cpu or gpu" in proc.stderr


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}


def _run(script: str, *args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(REPO / "docker" / script), *map(str, args)], capture_output=True, text=True,
                          cwd=REPO, env=env or _env(), check=False)  # fmt: skip


def _run_archive(accelerator: str, store: Path, model: Path | None = None) -> subprocess.CompletedProcess[str]:
    return _run("archive.sh", accelerator, store, *([model] if model else []))


def test_model_step_for_cpu_builds_nothing(tmp_path: Path) -> None:
    proc = _run("model.sh", "cpu", tmp_path / "out")
    assert proc.returncode == 0 and "nothing to build" in proc.stdout
    assert not (tmp_path / "out").exists()


def test_model_step_for_gpu_needs_the_hf_weights(tmp_path: Path) -> None:
    proc = _run("model.sh", "gpu", tmp_path / "out", tmp_path / "no-weights")
    assert proc.returncode == 1 and "Hugging Face weights" in proc.stderr


@pytest.mark.parametrize(("accelerator", "expected"), [
    ("cpu", "--variants int8"),
    ("gpu", f"--variants fp16 --model {REPO}/models/fp16"),
])  # fmt: skip
def test_entrypoint_serves_the_model_the_archive_step_built(tmp_path: Path, accelerator: str, expected: str) -> None:
    """The entry point asks `affectlens serve` for the archive docker/archive.sh built (else it would rebuild)."""
    fake = tmp_path / "affectlens"
    fake.write_text('#!/bin/sh\necho "$@"\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}", "AFFECTLENS_ACCELERATOR": accelerator}
    proc = _run("entrypoint.sh", "--workers", "2", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"serve --foreground --host 0.0.0.0 --provider auto {expected} --workers 2"


@pytest.mark.slow
def test_archive_step_builds_the_cpu_archive(tmp_path: Path) -> None:
    pytest.importorskip("model_archiver")
    proc = _run_archive("cpu", tmp_path)
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(tmp_path / "affectlens.mar") as mar:
        names = set(mar.namelist())
    assert "model_int8.onnx" in names and "affectlens_handler.py" in names


def test_archive_step_for_gpu_needs_an_fp16_graph(tmp_path: Path) -> None:
    from affectlens import serving

    shipped = serving.default_model_dir()
    if "fp16" in serving.read_model_card(shipped).get("files", {}):
        pytest.skip("the default model has an fp16 graph")
    proc = _run_archive("gpu", tmp_path, shipped)
    assert proc.returncode != 0 and "fp16" in proc.stderr


# -- the GPU build's steps on CPU: fp16 export from Hugging Face weights, then the archive --------------
SHIPPED_HF = REPO / "affectlens" / "default_model" / "hf"


@pytest.fixture(scope="module", params=["tiny", "shipped"])
def fp16_folder(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """docker/model.sh gpu on CPU: from tiny fp16 weights built here, and from the shipped weights."""
    pytest.importorskip("optimum.exporters.onnx")
    root = tmp_path_factory.mktemp(f"gpu-{request.param}")
    if request.param == "shipped":
        if not (SHIPPED_HF / "config.json").is_file():
            pytest.skip(f"no Hugging Face weights in {SHIPPED_HF}")
        hf = SHIPPED_HF
    else:
        hf = _tiny_hf_weights(request.getfixturevalue("tiny_base_model"), root / "hf")
    proc = _run("model.sh", "gpu", root / "model", hf)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root / "model"


def _tiny_hf_weights(base: Path, out: Path) -> Path:
    """The shipped layout in miniature: a 31-output BertForSequenceClassification saved in fp16, and its tokenizer."""
    import transformers

    from affectlens.labels import NUM_OUTPUTS

    model = transformers.BertForSequenceClassification.from_pretrained(str(base), num_labels=NUM_OUTPUTS)
    model.half().save_pretrained(out)
    transformers.AutoTokenizer.from_pretrained(str(base)).save_pretrained(out)
    return out


@pytest.mark.slow
def test_gpu_model_step_writes_an_fp16_folder_that_runs_on_cpu(fp16_folder: Path) -> None:
    import onnx

    from affectlens.labels import NUM_OUTPUTS
    from affectlens.neural import NeuralConfig, NeuralModel

    card = json.loads((fp16_folder / "affectlens_model.json").read_text())
    assert card["files"] == {"fp16": "model_fp16.onnx"}
    assert not list(fp16_folder.glob("model_int8*")) and not list(fp16_folder.glob("model_fp32*"))
    shipped = REPO / "affectlens" / "default_model" / "calibration.json"
    assert (fp16_folder / "calibration.json").read_bytes() == shipped.read_bytes()
    graph = onnx.load(str(fp16_folder / "model_fp16.onnx")).graph
    big = [t for t in graph.initializer if len(t.dims) == 2]  # the weight matrices
    assert big and all(t.data_type == onnx.TensorProto.FLOAT16 for t in big)
    assert graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT  # float32 logits out
    model = NeuralModel(fp16_folder, NeuralConfig(provider="cpu"))
    assert (model.variant, model.active_provider) == ("fp16", "CPUExecutionProvider")
    logits = model.logits(["I love it", "this is awful", "ok"])
    assert logits.shape == (3, model.num_outputs) and np.isfinite(logits).all()
    assert model.num_outputs == NUM_OUTPUTS + int(card.get("irony", False))


@pytest.mark.slow
def test_gpu_archive_step_packs_the_fp16_folder(fp16_folder: Path, tmp_path: Path) -> None:
    pytest.importorskip("model_archiver")
    proc = _run_archive("gpu", tmp_path, fp16_folder)
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(tmp_path / "affectlens.mar") as mar:
        names = set(mar.namelist())
        card = json.loads(mar.read("affectlens_model.json"))
    assert {"model_fp16.onnx", "tokenizer.json", "calibration.json", "affectlens_handler.py"} <= names
    assert "model_int8.onnx" not in names and card["files"] == {"fp16": "model_fp16.onnx"}


@pytest.mark.slow
def test_gpu_check_dry_run_on_cpu(fp16_folder: Path, tmp_path: Path) -> None:
    """bench/gpu_check.py's parity and speed parts with --provider cpu (on the shipped weights only)."""
    if not fp16_folder.parent.name.startswith("gpu-shipped"):
        pytest.skip("the parity gate is meant for the trained weights, not random tiny ones")
    out = tmp_path / "figures.json"
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "gpu_check.py"), "--model", str(fp16_folder), "--provider", "cpu",
         "--n", "40", "--latency-calls", "10", "--batches", "1", "--out", str(out)],
        capture_output=True, text=True, cwd=REPO, env=_env(), timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    figures = json.loads(out.read_text())
    assert figures["fp16_model"]["variant"] == "fp16" and figures["parity"]["sentiment_argmax_agreement"] >= 0.995
    assert figures["speed"]["fp16_cpu"]["batch1_p50_ms"] > 0 and figures["passed"]["parity"] is True
