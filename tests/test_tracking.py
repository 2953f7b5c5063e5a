"""MLflow tracking: the environment is honoured (checked against a real ``mlflow server``), else a local store."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from affectlens.errors import MissingDependencyError

pytest.importorskip("mlflow")

from affectlens import tracking

# --- without a server -------------------------------------------------------------------------------------


def test_helpers_do_nothing_when_tracking_is_not_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model").mkdir()
    assert not tracking.tracking_configured()
    assert tracking.log_model_folder(tmp_path / "model") is None
    assert tracking.log_report(tmp_path / "missing-is-fine-when-untracked") is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no mlruns/ or mlflow.db appeared


def test_defaults_are_a_local_store_and_the_affectlens_experiment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    assert tracking.resolve_tracking_uri(tmp_path) == (tmp_path / "mlruns").resolve().as_uri()
    assert tracking.experiment_name() == "affectlens"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:1")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "mine")
    assert tracking.resolve_tracking_uri(tmp_path) == "http://127.0.0.1:1"
    assert tracking.experiment_name() == "mine"
    assert tracking.metric_key("goemotions.macro_f1@0.5") == "goemotions.macro_f1_at_0.5"


def test_local_store_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow.tracking import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "a.txt").write_text("a")
    with tracking.start_run(tmp_path, "local", params={"lr": 0.1}) as run:
        run.log_metrics({"x@1": 2.0}, step=3)
        run.log_artifacts(tmp_path / "files", "stuff")
    client = MlflowClient(tracking_uri=(tmp_path / "mlruns").resolve().as_uri())
    got = client.get_run(run.run_id)
    assert client.get_experiment(got.info.experiment_id).name == "affectlens"
    assert got.info.status == "FINISHED"
    assert got.data.params == {"lr": "0.1"} and got.data.metrics == {"x_at_1": 2.0}
    assert [f.path for f in client.list_artifacts(run.run_id, "stuff")] == ["stuff/a.txt"]


def test_failed_body_marks_the_run_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow.tracking import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with pytest.raises(RuntimeError, match="boom"), tracking.start_run(tmp_path, "broken") as run:
        raise RuntimeError("boom")
    client = MlflowClient(tracking_uri=(tmp_path / "mlruns").resolve().as_uri())
    assert client.get_run(run.run_id).info.status == "FAILED"


def test_missing_mlflow_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)
    with pytest.raises(MissingDependencyError, match=r"affectlens\[train\]"), tracking.start_run(tmp_path, "x"):
        pass


# --- against a real server --------------------------------------------------------------------------------


def _server_command() -> list[str]:
    """`mlflow server` from this interpreter if it has the full mlflow, else from a cached venv of its own."""
    import mlflow

    if all(importlib.util.find_spec(m) for m in ("flask", "sqlalchemy", "alembic")):
        return [sys.executable, "-m", "mlflow", "server"]
    version = mlflow.__version__
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    venv = Path(os.environ.get("AFFECTLENS_MLFLOW_SERVER_VENV", cache / "affectlens" / f"mlflow-server-{version}"))
    exe = venv / "bin" / "mlflow"
    if not exe.is_file():
        # The client here is mlflow-skinny (the `train` extra); the server needs the full package. It lives in a
        # venv of its own so that it cannot change this environment's pins.
        try:
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
            subprocess.run(
                [str(venv / "bin" / "pip"), "install", "-q", f"mlflow=={version}"],
                check=True,
                capture_output=True,
                timeout=900,
            )
        except (subprocess.SubprocessError, OSError) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            pytest.skip(
                f"cannot install the full mlflow=={version} for `mlflow server` in {venv} "
                f"({exc}; {detail.decode(errors='replace')[-300:]}); install it (`pip install mlflow=={version}`) "
                "or point AFFECTLENS_MLFLOW_SERVER_VENV at a venv that has it"
            )
    return [str(exe), "server"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    command = [
        *_server_command(),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{root / 'db.sqlite'}",
        "--artifacts-destination",
        str(root / "artifacts"),
    ]
    log_file = open(root / "server.log", "wb")  # noqa: SIM115 - closed in teardown
    proc = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, cwd=root, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # a readiness wait, not a timing assertion
        while not _healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = (root / "server.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"mlflow server did not come up (exit code {proc.poll()}):\n{tail}")
            time.sleep(0.5)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log_file.close()


def _artifact_files(client: Any, run_id: str, path: str | None = None) -> set[str]:
    files: set[str] = set()
    for item in client.list_artifacts(run_id, path):
        files |= _artifact_files(client, run_id, item.path) if item.is_dir else {item.path}
    return files


@pytest.mark.slow
def test_training_export_and_report_are_logged_to_the_server(
    mlflow_server: str,
    tiny_base_model: Path,
    tiny_train_config: Callable[..., Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("torch")
    import affectlens.export.train as train_module
    from mlflow.tracking import MlflowClient

    experiment = f"affectlens-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", experiment)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    out = tmp_path / "run"
    run_options = {"eval_every": 5, "max_steps": 10, "seed": 5, "mlflow": True}

    # Interrupted after the checkpoint at step 5, then resumed: one run on the server, not two.
    real, calls = train_module.label_tensors, []

    def crash_on_step_7(rows: Any) -> Any:
        calls.append(1)
        if len(calls) == 7:
            raise KeyboardInterrupt
        return real(rows)

    monkeypatch.setattr(train_module, "label_tensors", crash_on_step_7)
    with pytest.raises(KeyboardInterrupt):
        train_module.train(tiny_train_config(out, **run_options))
    monkeypatch.setattr(train_module, "label_tensors", real)
    client = MlflowClient(tracking_uri=mlflow_server)
    first_id = json.loads((out / "resume" / "progress.json").read_text())["state"]["mlflow_run_id"]
    assert client.get_run(first_id).info.status == "KILLED"
    summary = train_module.train(tiny_train_config(out, **run_options, resume=True))
    assert not (out / "mlruns").exists()  # the environment's server, not a local store

    found = client.get_experiment_by_name(experiment)
    assert found is not None
    runs = client.search_runs([found.experiment_id])
    assert [r.info.run_id for r in runs] == [summary["mlflow_run_id"]] == [first_id]
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert run.data.params["learning_rate"] == "0.003" and run.data.params["batch_size"] == "8"
    assert run.data.params["base_model"] == str(tiny_base_model) and "resume" not in run.data.params
    assert "goemotions.macro_f1_at_0.5" in run.data.metrics
    history = client.get_metric_history(run.info.run_id, "selection")
    assert sorted(m.step for m in history) == [5, 10]
    assert _artifact_files(client, run.info.run_id) == {"training_summary.json"}
    state = json.loads((out / "best" / "training_state.json").read_text())
    assert state["mlflow_run_id"] == run.info.run_id

    # What `affectlens export` / `affectlens evaluate` will call: a model folder and a report folder.
    model_dir = out / "best"
    export_id = tracking.log_model_folder(model_dir)
    assert export_id is not None and export_id != run.info.run_id
    exported = client.get_run(export_id)
    assert exported.info.experiment_id == found.experiment_id and exported.info.status == "FINISHED"
    expected = {f"model/{p.name}" for p in model_dir.iterdir()}
    assert {"model/config.json", "model/model.safetensors"} <= expected == _artifact_files(client, export_id)

    report = tmp_path / "report"
    (report / "plots").mkdir(parents=True)
    (report / "report.json").write_text("{}")
    (report / "plots" / "reliability.png").write_bytes(b"\x89PNG")
    assert tracking.log_report(report, run_id=run.info.run_id, metrics={"test.macro_f1@0.5": 0.5}) == run.info.run_id
    assert {"report/report.json", "report/plots/reliability.png"} <= _artifact_files(client, run.info.run_id)
    assert client.get_run(run.info.run_id).data.metrics["test.macro_f1_at_0.5"] == 0.5
