"""Serving without a server: the config files `serve` writes, the archive, port checks, the CLI."""

from __future__ import annotations

import argparse
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


# -- several models (serve --also) -----------------------------------------------------------------
def _model_copy(model_dir: Path, dest: Path, **card_changes: str) -> Path:
    """A copy of the stand-in model folder with its card edited (e.g. another version)."""
    import shutil

    shutil.copytree(model_dir, dest)
    card = json.loads((dest / "affectlens_model.json").read_text())
    (dest / "affectlens_model.json").write_text(json.dumps({**card, **card_changes}))
    return dest


def _serve_args(tmp_path: Path, *extra: str) -> argparse.Namespace:
    from affectlens.cli import build_parser

    argv = ["serve", "--run-dir", str(tmp_path / "run"), "--model-store", str(tmp_path / "store"), *extra]
    return build_parser().parse_args(argv)


def test_also_parses_a_name_or_a_name_and_version(model_dir: Path) -> None:
    assert commands.parse_also(f"canary={model_dir}") == ("canary", None, model_dir.resolve())
    assert commands.parse_also(f"affectlens:1.0-rc.1={model_dir}") == ("affectlens", "1.0-rc.1", model_dir.resolve())


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        ("canary", ConfigError, "expected NAME=DIR or NAME:VERSION=DIR"),
        ("canary=", ConfigError, "expected NAME=DIR"),
        ("=DIR", ConfigError, "model name ''"),
        ("bad name=DIR", ConfigError, "model name 'bad name'"),
        ("-x=DIR", ConfigError, "model name '-x'"),
        ("canary:=DIR", ConfigError, "model version ''"),
        ("canary:1/2=DIR", ConfigError, "model version '1/2'"),
        ("canary=MISSING", ModelNotFoundError, "does not exist"),
        ("canary=EMPTY", ModelNotFoundError, "is not a model folder"),
    ],
)
def test_also_refuses_bad_syntax_and_folders_that_are_not_models(
    tmp_path: Path, model_dir: Path, value: str, error: type[Exception], match: str
) -> None:
    (tmp_path / "empty").mkdir()
    value = value.replace("DIR", str(model_dir)).replace("MISSING", str(tmp_path / "nope"))
    value = value.replace("EMPTY", str(tmp_path / "empty"))
    with pytest.raises(error, match=match):
        commands.parse_also(value)


def test_also_archives_share_the_main_settings_and_get_their_own_file(tmp_path: Path, model_dir: Path) -> None:
    copy = _model_copy(model_dir, tmp_path / "copy", version="10.0.0")
    also = ["--also", f"canary={copy}", "--also", f"affectlens:10.0.0={copy}"]
    args = _serve_args(tmp_path, "--model", str(model_dir), "--workers", "2", "--batch-size", "4",
                       "--variants", "fp16", *also)  # fmt: skip
    config = commands.serve_config(args)
    main, canary, version = config.archives
    assert (main.model_name, main.archive_path.name) == ("affectlens", "affectlens.mar")
    assert (canary.model_name, canary.version, canary.archive_path.name) == ("canary", None, "canary.mar")
    assert (version.model_name, version.version) == ("affectlens", "10.0.0")
    assert version.archive_path.name == "affectlens@10.0.0.mar"
    assert commands.build_info_path(version).name == "affectlens@10.0.0.build.json"
    for archive in (canary, version):
        assert archive.model_dir == copy.resolve() and archive.model_store == main.model_store
        assert (archive.workers, archive.batch_size, archive.variants) == (2, 4, ("fp16",))
    served = [(m.name, m.version, m.archive, m.default, m.path) for m in config.served_models()]
    assert served == [
        ("affectlens", "9.9.9", "affectlens.mar", True, "/predictions/affectlens"),
        ("canary", "10.0.0", "canary.mar", True, "/predictions/canary"),
        ("affectlens", "10.0.0", "affectlens@10.0.0.mar", False, "/predictions/affectlens/10.0.0"),
    ]
    # automatic threads are shared among the workers of all the models, not given to each model in full
    assert config.handler_overrides["threads"] == commands.auto_threads(6)
    assert "threads" not in commands.serve_config(_serve_args(tmp_path)).handler_overrides
    explicit = _serve_args(tmp_path, "--threads", "3", "--also", f"canary={copy}")
    assert commands.serve_config(explicit).handler_overrides["threads"] == 3


def test_also_refuses_a_name_twice_without_a_version_and_a_name_version_twice(tmp_path: Path, model_dir: Path) -> None:
    copy = _model_copy(model_dir, tmp_path / "copy", version="10.0.0")
    with pytest.raises(ConfigError, match=r"already served.*--also affectlens:10\.0\.0="):
        commands.serve_config(_serve_args(tmp_path, "--model", str(model_dir), "--also", f"affectlens={copy}"))
    with pytest.raises(ConfigError, match="already served"):
        commands.serve_config(_serve_args(tmp_path, "--also", f"b={copy}", "--also", f"b={model_dir}"))
    with pytest.raises(ConfigError, match=r"'affectlens' version 9\.9\.9 is served twice"):
        commands.serve_config(_serve_args(tmp_path, "--model", str(model_dir), "--also", f"affectlens:9.9.9={copy}"))
    with pytest.raises(ConfigError, match=r"'b' version 10\.0\.0 is served twice"):
        commands.serve_config(_serve_args(tmp_path, "--also", f"b={copy}", "--also", f"b:10.0.0={model_dir}"))
    # a version of a name given as --also (not the main one) is fine
    config = commands.serve_config(_serve_args(tmp_path, "--also", f"b={copy}", "--also", f"b:2={model_dir}"))
    assert [m.path for m in config.served_models()][1:] == ["/predictions/b", "/predictions/b/2"]


def test_serve_config_checks_the_archives_it_is_given(tmp_path: Path, model_dir: Path) -> None:
    main = serving.ArchiveConfig(model_dir=model_dir, model_store=tmp_path / "store")
    elsewhere = serving.ArchiveConfig(model_dir=model_dir, model_store=tmp_path / "other", model_name="b")
    with pytest.raises(ConfigError, match="one model store"):
        serving.ServeConfig(run_dir=tmp_path / "run", archive=main, also=(elsewhere,))
    same_file = serving.ArchiveConfig(model_dir=model_dir, model_store=tmp_path / "store", version="2")
    with pytest.raises(ConfigError, match=r"both be archived as affectlens\.mar"):
        serving.ServeConfig(run_dir=tmp_path / "run", archive=main, also=(same_file,))
    with pytest.raises(ConfigError, match="model version"):
        serving.ArchiveConfig(version="1..2")
    with pytest.raises(ConfigError, match="archive name"):
        serving.ArchiveConfig(archive_name="a/b")
    with pytest.raises(ModelNotFoundError):  # the versions come from the cards: a folder without one is refused
        missing = serving.ArchiveConfig(model_dir=tmp_path, model_store=tmp_path / "store", model_name="c")
        serving.ServeConfig(run_dir=tmp_path / "run", archive=main, also=(missing,))


def test_torchserve_is_started_with_every_archive(
    tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from affectlens.serving import process

    copy = _model_copy(model_dir, tmp_path / "copy", version="10.0.0")
    config = commands.serve_config(
        _serve_args(
            tmp_path, "--model", str(model_dir), "--also", f"canary={copy}", "--also", f"affectlens:10.0.0={copy}"
        )
    )
    seen: dict[str, object] = {}
    monkeypatch.setattr(process.subprocess, "Popen", lambda cmd, **kwargs: seen.update(cmd=cmd, env=kwargs["env"]))
    (tmp_path / "run").mkdir()
    paths = {"config": tmp_path / "run" / "config.properties", "log_config": tmp_path / "run" / "log4j2.xml"}
    process._launch(config, paths, foreground=False)
    cmd = seen["cmd"]
    assert isinstance(cmd, list)
    models = cmd[cmd.index("--models") + 1 :]
    assert models == ["affectlens=affectlens.mar", "canary=canary.mar", "affectlens=affectlens@10.0.0.mar"]
    assert cmd[cmd.index("--model-store") + 1] == str((tmp_path / "store").resolve())
    env = seen["env"]
    assert isinstance(env, dict) and json.loads(env[serving.OVERRIDES_ENV])["threads"] >= 1


def _state(tmp_path: Path, models: list[serving.ServedModel]) -> serving.ServerState:
    from dataclasses import asdict

    return serving.ServerState(pid=1, pgid=1, run_dir=str(tmp_path), model_name="affectlens", host="0.0.0.0",
                               inference_port=8080, management_port=8081, metrics_port=8082, token_auth=False,
                               started_at=0.0, ready_seconds=1.5, models=[asdict(m) for m in models])  # fmt: skip


TWO_VERSIONS_AND_A_NAME = [
    serving.ServedModel("affectlens", "0.2.0", "affectlens.mar", "/m/a"),
    serving.ServedModel("canary", "0.3.0", "canary.mar", "/m/b"),
    serving.ServedModel("affectlens", "0.3.0", "affectlens@0.3.0.mar", "/m/b", default=False),
]


def test_state_records_every_model_and_reads_an_old_file(tmp_path: Path) -> None:
    state = _state(tmp_path, TWO_VERSIONS_AND_A_NAME)
    state.write()
    read = serving.ServerState.read(tmp_path)
    assert read is not None and read.served_models == TWO_VERSIONS_AND_A_NAME
    assert read.prediction_url == "http://127.0.0.1:8080/predictions/affectlens"  # the main one, as before
    assert read.prediction_urls == ["http://127.0.0.1:8080/predictions/affectlens",
                                    "http://127.0.0.1:8080/predictions/canary",
                                    "http://127.0.0.1:8080/predictions/affectlens/0.3.0"]  # fmt: skip
    data = json.loads((tmp_path / "server.json").read_text())
    del data["models"]  # written before `--also` existed
    (tmp_path / "server.json").write_text(json.dumps(data))
    old = serving.ServerState.read(tmp_path)
    assert old is not None and old.prediction_urls == ["http://127.0.0.1:8080/predictions/affectlens"]


def test_serve_prints_each_prediction_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    commands._print_started(_state(tmp_path, TWO_VERSIONS_AND_A_NAME), foreground=False)
    out, err = capsys.readouterr()
    assert out.splitlines() == _state(tmp_path, TWO_VERSIONS_AND_A_NAME).prediction_urls
    assert "3 models READY after 1.5 s" in err
    assert "affectlens 0.3.0  http://127.0.0.1:8080/predictions/affectlens/0.3.0  (/m/b)" in err
    commands._print_started(_state(tmp_path, TWO_VERSIONS_AND_A_NAME[:1]), foreground=True)
    out, err = capsys.readouterr()
    assert out == "http://127.0.0.1:8080/predictions/affectlens\n"
    assert "model 'affectlens' READY" in err and "models:" not in err


def test_wait_until_ready_waits_for_every_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from affectlens.serving import process

    ready: set[tuple[str, str | None]] = {("affectlens", "0.2.0"), ("canary", "0.3.0")}
    asked: list[tuple[str | None, str | None]] = []

    def statuses(state: object, token: object, name: str | None = None, version: str | None = None) -> list[str]:
        asked.append((name, version))
        return ["READY"] if (name, version) in ready else ["UNLOADING"]

    monkeypatch.setattr(process, "is_torchserve", lambda pid: True)
    monkeypatch.setattr(process, "worker_statuses", statuses)
    state = _state(tmp_path, TWO_VERSIONS_AND_A_NAME)
    with pytest.raises(serving.ServerStartError, match=r"models were not READY.*affectlens/0\.3\.0: workers"):
        process.wait_until_ready(state, timeout_s=0.05, poll_s=0.01)
    assert ("affectlens", "0.3.0") in asked
    ready.add(("affectlens", "0.3.0"))
    assert process.wait_until_ready(state, timeout_s=5, poll_s=0.01) < 5


def test_a_model_torchserve_could_not_load_stops_the_wait(tmp_path: Path) -> None:
    from affectlens.serving import process

    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "ts_log.log").write_text("WARN main org.pytorch.serve.ModelServer - Failed to load model: "
                                                  "canary.mar\n")  # fmt: skip
    with pytest.raises(serving.ServerStartError, match="could not load a model archive"):
        process.check_logs_for_failure(tmp_path)
