"""Serving without a server: the config files `serve` writes, the archive, port checks, the CLI."""

from __future__ import annotations

import importlib.util
import json
import signal
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from affectlens import serving
from affectlens.errors import ConfigError, ModelNotFoundError
from affectlens.serving import commands


def _handler_module() -> ModuleType:
    path = Path(__file__).resolve().parent.parent / "handlers" / "affectlens_handler.py"
    spec = importlib.util.spec_from_file_location("affectlens_handler_for_serving_tests", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A stand-in model folder: the card, a tokenizer, calibration and two ONNX variants (dummy bytes)."""
    d = tmp_path / "model"
    d.mkdir()
    card = {"name": "tiny", "version": "9.9.9", "sentiment_labels": [], "emotion_labels": [], "max_length": 16,
            "files": {"int8": "model_int8.onnx", "fp16": "model_fp16.onnx"}}  # fmt: skip
    (d / "affectlens_model.json").write_text(json.dumps(card))
    (d / "model_int8.onnx").write_bytes(b"int8" * 100)
    (d / "model_fp16.onnx").write_bytes(b"fp16" * 100)
    (d / "tokenizer.json").write_text("{}")
    (d / "calibration.json").write_text("{}")
    return d


@pytest.fixture
def config(tmp_path: Path, model_dir: Path) -> serving.ServeConfig:
    archive = serving.ArchiveConfig(model_dir=model_dir, model_store=tmp_path / "store")
    return serving.ServeConfig(run_dir=tmp_path / "run", archive=archive)


# -- server configuration --------------------------------------------------------------------------
def test_properties_have_the_security_defaults(config: serving.ServeConfig) -> None:
    props = dict(
        line.split("=", 1) for line in serving.server_properties(config).splitlines() if not line.startswith("#")
    )
    assert props["inference_address"] == "http://127.0.0.1:8080"
    assert props["management_address"] == "http://127.0.0.1:8081"
    assert props["metrics_address"] == "http://127.0.0.1:8082"
    assert props["enable_model_api"] == "false"
    assert props["disable_token_authorization"] == "false"
    assert props["allowed_urls"].startswith("file://") and "http" not in props["allowed_urls"]
    assert props["max_request_size"] == str(1024 * 1024)
    assert props["metrics_mode"] == "prometheus"
    assert props["metrics_config"] == str(config.run_dir / "metrics.yaml")
    assert props["install_py_dep_per_model"] == "false"
    assert props["decode_input_request"] == "false"


def test_properties_escape_backslashes(config: serving.ServeConfig, tmp_path: Path) -> None:
    weird = serving.ServeConfig(run_dir=tmp_path / "a\\b", archive=config.archive)
    assert "a\\\\b" in serving.server_properties(weird)


def test_serve_config_is_validated(config: serving.ServeConfig) -> None:
    with pytest.raises(ConfigError, match="ports"):
        serving.ServeConfig(archive=config.archive, inference_port=9000, management_port=9000)
    with pytest.raises(ConfigError, match="log level"):
        serving.ServeConfig(archive=config.archive, log_level="chatty")
    with pytest.raises(ConfigError):
        serving.ArchiveConfig(model_name="bad name!")
    with pytest.raises(ConfigError):
        serving.ArchiveConfig(batch_size=0)


@pytest.mark.parametrize("level", serving.LOG_LEVELS)
def test_log_config_is_valid_xml_and_quiet_by_default(level: str) -> None:
    root = ET.fromstring(serving.log4j_config(level))
    loggers = {e.get("name"): e.get("level") for e in root.iter("Logger")}
    if level == "warn":
        assert loggers["ACCESS_LOG"] == "off" and loggers["MODEL_LOG"] == "warn"
        assert loggers["org.pytorch.serve"] == "warn" and loggers["TS_METRICS"] == "off"


def test_metrics_yaml_declares_the_handler_metrics_in_the_handlers_dimension_order() -> None:
    pytest.importorskip("ts")
    config = serving.metrics_config()
    assert "ts_inference_requests_total" in json.dumps(config["ts_metrics"])
    declared = {m["name"]: m["dimensions"] for kind in config["model_metrics"].values() for m in kind}
    handler = _handler_module()
    assert declared[handler.STAGE_METRIC] == ["ModelName", "Level", "Stage"]
    assert declared[handler.BATCH_METRIC] == ["ModelName", "Level"]
    assert declared["PredictionTime"]  # TorchServe's own model metrics stay


def test_write_server_files_stay_in_the_run_dir(config: serving.ServeConfig) -> None:
    pytest.importorskip("yaml")
    pytest.importorskip("ts")
    paths = serving.write_server_files(config)
    assert all(p.parent == config.run_dir for p in paths.values())
    assert (config.run_dir / "logs").is_dir() and (config.run_dir / "tmp").is_dir()
    assert config.run_dir.stat().st_mode & 0o077 == 0


def test_default_run_dir_honours_the_environment_and_is_not_the_repository(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(serving.RUN_DIR_ENV, str(tmp_path / "r"))
    assert serving.default_run_dir() == (tmp_path / "r").resolve()
    monkeypatch.delenv(serving.RUN_DIR_ENV)
    repo = Path(serving.__file__).resolve().parents[2]
    assert repo not in serving.default_run_dir().parents


# -- ports -----------------------------------------------------------------------------------------
def test_a_taken_port_is_reported_before_anything_starts() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(serving.PortInUseError, match=f"127.0.0.1:{port}"):
            serving.check_ports_free("127.0.0.1", [port])
    serving.check_ports_free("127.0.0.1", [port])  # free again


# -- the archive -----------------------------------------------------------------------------------
def test_archive_packs_the_cpu_graph_and_everything_else(config: serving.ServeConfig) -> None:
    files, card = serving.archive_files(config.archive)
    assert sorted(files) == ["calibration.json", "model_int8.onnx", "tokenizer.json"]
    assert card["files"] == {"int8": "model_int8.onnx"} and card["version"] == "9.9.9"


def test_archive_packs_the_gpu_graph_by_request(config: serving.ServeConfig, model_dir: Path) -> None:
    archive = serving.ArchiveConfig(model_dir=model_dir, model_store=config.archive.model_store, variants=("fp16",))
    files, card = serving.archive_files(archive)
    assert "model_fp16.onnx" in files and "model_int8.onnx" not in files
    assert card["files"] == {"fp16": "model_fp16.onnx"}
    with pytest.raises(serving.ArchiveError, match="fp32"):
        serving.archive_files(serving.ArchiveConfig(model_dir=model_dir, variants=("fp32",)))


def test_archive_needs_a_model_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError):
        serving.archive_files(serving.ArchiveConfig(model_dir=tmp_path))


def test_fingerprint_follows_files_and_settings(config: serving.ServeConfig, model_dir: Path) -> None:
    first = serving.archive_fingerprint(config.archive)
    assert serving.archive_fingerprint(config.archive) == first
    from dataclasses import replace

    assert serving.archive_fingerprint(replace(config.archive, batch_size=4)) != first
    (model_dir / "calibration.json").write_text('{"changed": true}')
    assert serving.archive_fingerprint(config.archive) != first


@pytest.mark.slow
def test_build_archive_writes_name_version_and_batching_into_the_mar(config: serving.ServeConfig) -> None:
    pytest.importorskip("model_archiver")
    pytest.importorskip("yaml")
    archive = serving.ArchiveConfig(model_dir=config.archive.model_dir, model_store=config.archive.model_store,
                                    batch_size=8, max_batch_delay_ms=3, workers=2, response_timeout_s=30)  # fmt: skip
    path, built = serving.ensure_archive(archive)
    assert built and path == archive.model_store / "affectlens.mar"
    with zipfile.ZipFile(path) as mar:
        names = set(mar.namelist())
        manifest = json.loads(mar.read("MAR-INF/MANIFEST.json"))
        model_config = mar.read("model-config.yaml").decode()
        packed_card = json.loads(mar.read("affectlens_model.json"))
    assert {"affectlens_handler.py", "model_int8.onnx", "tokenizer.json", "calibration.json"} <= names
    assert "model_fp16.onnx" not in names
    assert manifest["model"]["modelName"] == "affectlens" and manifest["model"]["modelVersion"] == "9.9.9"
    assert manifest["model"]["handler"] == "affectlens_handler.py"
    for line in ("minWorkers: 2", "maxWorkers: 2", "batchSize: 8", "maxBatchDelay: 3", "responseTimeout: 30"):
        assert line in model_config
    assert packed_card["files"] == {"int8": "model_int8.onnx"}
    assert serving.archive_is_current(archive)
    assert serving.ensure_archive(archive) == (path, False)  # up to date: not rebuilt
    (archive.model_dir / "tokenizer.json").write_text('{"new": 1}')
    assert not serving.archive_is_current(archive)


# -- command line ----------------------------------------------------------------------------------
def test_cli_registers_the_serving_commands() -> None:
    from affectlens.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["serve", "--inference-port", "9001", "--foreground", "--neural-only", "--threads", "2"])
    assert args.func is serving.cmd_serve and args.inference_port == 9001 and args.foreground
    assert commands.handler_overrides(args) == {"mode": "neural", "threads": 2}
    assert commands.serve_config(args).prediction_url == "http://127.0.0.1:9001/predictions/affectlens"
    assert parser.parse_args(["stop"]).func is serving.cmd_stop
    assert parser.parse_args(["token"]).func is serving.cmd_token
    args = parser.parse_args(["archive", "--batch-size", "4", "--max-batch-delay", "1", "--variants", "int8,fp16"])
    archive = commands.archive_config(args)
    assert (archive.batch_size, archive.max_batch_delay_ms, archive.variants) == (4, 1, ("int8", "fp16"))


def test_stop_and_token_without_a_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from affectlens.cli import main

    assert main(["stop", "--run-dir", str(tmp_path)]) == 0
    assert "no server was running" in capsys.readouterr().err
    assert main(["token", "--run-dir", str(tmp_path)]) == 2
    assert "not_running" in capsys.readouterr().err


def test_stale_state_of_a_dead_server_is_not_running(tmp_path: Path) -> None:
    state = serving.ServerState(pid=2**22 + 7, pgid=2**22 + 7, run_dir=str(tmp_path), model_name="affectlens",
                                host="127.0.0.1", inference_port=1, management_port=2, metrics_port=3,
                                token_auth=True, started_at=0.0)  # fmt: skip
    state.write()
    assert serving.stop_server(tmp_path, timeout_s=1) is False
    assert serving.ServerState.read(tmp_path) is None


def test_stop_kills_the_process_group_when_the_frontend_ignores_sigterm(tmp_path: Path) -> None:
    # The fake frontend's command line names TorchServe's main class, so stop_server takes it for the real one.
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, "org.pytorch.serve.ModelServer"], stdout=subprocess.PIPE,
                            text=True, start_new_session=True)  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"  # SIGTERM is ignored from here
        state = serving.ServerState(pid=proc.pid, pgid=proc.pid, run_dir=str(tmp_path), model_name="affectlens",
                                    host="127.0.0.1", inference_port=1, management_port=2, metrics_port=3,
                                    token_auth=True, started_at=0.0)  # fmt: skip
        state.write()
        (tmp_path / serving.KEY_FILE).write_text("{}")
        assert serving.stop_server(tmp_path, timeout_s=0.5, quiet=True) is True
        assert proc.wait(timeout=10) == -signal.SIGKILL  # it survived SIGTERM: the group was killed
        assert serving.ServerState.read(tmp_path) is None and not (tmp_path / serving.KEY_FILE).exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
