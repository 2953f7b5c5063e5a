"""The Dockerfile's steps, checked outside Docker (there is no Docker engine here)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = (REPO / "Dockerfile").read_text()


def test_dockerfile_copies_only_what_exists_and_runs_the_docker_scripts() -> None:
    for src in re.findall(r"^COPY (?!--from)(\S+)", DOCKERFILE, flags=re.M):
        assert (REPO / src).exists(), src
    for script in ("docker/install.sh", "docker/archive.sh", "docker/entrypoint.sh"):
        assert script in DOCKERFILE
        assert os.access(REPO / script, os.X_OK), f"{script} is not executable"
    assert "docker/healthcheck.py" in DOCKERFILE


def test_dockerfile_is_multi_stage_cpu_by_default_non_root_and_health_checked() -> None:
    assert len(re.findall(r"^FROM ", DOCKERFILE, flags=re.M)) == 2
    assert re.search(r"^ARG ACCELERATOR=cpu$", DOCKERFILE, flags=re.M)
    users = re.findall(r"^USER (\S+)", DOCKERFILE, flags=re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*healthcheck\.py", DOCKERFILE, flags=re.M)
    assert "COPY --from=build" in DOCKERFILE


def test_no_secrets_in_the_image() -> None:
    for line in DOCKERFILE.splitlines():
        if line.startswith(("ENV", "ARG")):
            assert not re.search(r"TOKEN|SECRET|PASSWORD|KEY", line, flags=re.I), line
    ignored = (REPO / ".dockerignore").read_text()
    assert "key_file.json" in ignored and ".venv" in ignored and "model_store" in ignored


@pytest.mark.parametrize("script", ["install.sh", "archive.sh", "entrypoint.sh"])
def test_scripts_parse(script: str) -> None:
    subprocess.run(["sh", "-n", str(REPO / "docker" / script)], check=True)


def test_install_and_archive_refuse_an_unknown_accelerator() -> None:
    for script in ("install.sh", "archive.sh"):
        proc = subprocess.run(["sh", str(REPO / "docker" / script), "tpu"], capture_output=True, text=True,
                              cwd=REPO, check=False)  # fmt: skip
        assert proc.returncode == 2 and "cpu or gpu" in proc.stderr


def _run_archive(accelerator: str, store: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run(["sh", str(REPO / "docker" / "archive.sh"), accelerator, str(store)], capture_output=True,
                          text=True, cwd=REPO, env=env, check=False)  # fmt: skip


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

    if "fp16" in serving.read_model_card(serving.default_model_dir()).get("files", {}):
        pytest.skip("the default model has an fp16 graph")
    proc = _run_archive("gpu", tmp_path)
    assert proc.returncode != 0 and "fp16" in proc.stderr
