"""Serve affectlens with TorchServe: build the model archive, write the server config, start, wait, stop.

``affectlens archive`` packs the model folder (ONNX graph, tokenizer, calibration, model card) and the handler
(``handlers/affectlens_handler.py``) into ``model_store/affectlens.mar`` with ``torch-model-archiver``; the
archive's model config carries the batch size, batch delay, workers and response timeout.

``affectlens serve`` builds the archive when it is missing or out of date, writes ``config.properties``,
``log4j2.xml`` and ``metrics.yaml`` into the run directory (never the repository), starts TorchServe there
(so its key file, logs, extracted models and pid file live there too) and waits until the model's worker is
READY on the management API. ``/ping`` is not enough: it says Healthy before the model has loaded.
``torchserve --start`` exits 0 even when a port is taken, so ports are checked before the start and the
log is watched while waiting. ``affectlens stop`` stops it; ``affectlens token`` prints the inference token.

Security defaults: every address on 127.0.0.1, token authorization on (key file in the run directory), the
model registration API off, ``allowed_urls`` limited to the model store, request and response sizes limited.

This module needs the ``serve`` extra (torchserve, torch-model-archiver, PyYAML) only when a command runs;
importing it is cheap.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from affectlens.errors import AffectlensError, ConfigError, MissingDependencyError, ModelNotFoundError

log = logging.getLogger("affectlens.serving")

DEFAULT_MODEL_NAME = "affectlens"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_INFERENCE_PORT, DEFAULT_MANAGEMENT_PORT, DEFAULT_METRICS_PORT = 8080, 8081, 8082
RUN_DIR_ENV = "AFFECTLENS_RUN_DIR"
STATE_FILE = "server.json"
KEY_FILE = "key_file.json"  # written by TorchServe into its working directory (the run directory)
PID_FILE = ".model_server.pid"  # written by the torchserve launcher into $TMPDIR (the run directory's tmp/)
HANDLER_FILE = "affectlens_handler.py"
MODEL_CARD = "affectlens_model.json"
OVERRIDES_ENV = "AFFECTLENS_HANDLER_OVERRIDES"  # read by the handler (engine options chosen at serve time)
LOG_LEVELS = ("error", "warn", "info", "debug")
# Handler-side metrics (emitted by handlers/affectlens_handler.py; dimension order must match the handler).
HANDLER_METRICS = {
    "histogram": [
        {"name": "affectlens_stage_latency_ms", "unit": "ms", "dimensions": ["ModelName", "Level", "Stage"]},
        {"name": "affectlens_batch_requests", "unit": "count", "dimensions": ["ModelName", "Level"]},
    ],
}


# -- errors ----------------------------------------------------------------------------------------
class ServeError(AffectlensError):
    code = "serve"


class PortInUseError(ServeError):
    code = "port_in_use"


class AlreadyRunningError(ServeError):
    code = "already_running"


class NotRunningError(ServeError):
    code = "not_running"


class ServerStartError(ServeError):
    code = "server_start"


class ArchiveError(ServeError):
    code = "archive"


# -- locations -------------------------------------------------------------------------------------
def default_run_dir() -> Path:
    """``$AFFECTLENS_RUN_DIR``, else ``$XDG_CACHE_HOME/affectlens/run`` (``~/.cache/affectlens/run``)."""
    if os.environ.get(RUN_DIR_ENV):
        return Path(os.environ[RUN_DIR_ENV]).expanduser().resolve()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return (Path(cache) / "affectlens" / "run").resolve()


def _source_root() -> Path | None:
    """The source checkout this package runs from (editable install), if any."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() and (root / "handlers").is_dir() else None


def default_model_store() -> Path:
    """``model_store/`` of the source checkout; ``<run dir>/model_store`` for an installed package."""
    root = _source_root()
    return root / "model_store" if root is not None else default_run_dir() / "model_store"


def default_model_dir() -> Path:
    """The model shipped with the package (same folder as ``affectlens.engine.default_model_dir()``)."""
    return Path(__file__).resolve().parent / "default_model"


def handler_path() -> Path:
    candidates = []
    root = _source_root()
    if root is not None:
        candidates.append(root / "handlers" / HANDLER_FILE)
    candidates.append(Path(__file__).resolve().parent / "handlers" / HANDLER_FILE)  # installed wheel
    for path in candidates:
        if path.is_file():
            return path
    looked = ", ".join(map(str, candidates))
    raise ServeError(f"the TorchServe handler {HANDLER_FILE} was not found (looked in {looked}); "
                     "reinstall affectlens with the serve extra, or run `make install` in a checkout")  # fmt: skip


def _require_serve_extra(java: bool = True) -> None:
    import importlib.util

    for module, name in (("ts", "torchserve"), ("model_archiver", "torch-model-archiver"), ("yaml", "PyYAML")):
        if importlib.util.find_spec(module) is None:
            raise MissingDependencyError.for_extra(name, "serve")
    if java and shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise ServeError(
            "java was not found: TorchServe needs a Java 11+ runtime (apt-get install openjdk-17-jre-headless)"
        )


# -- the model archive -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ArchiveConfig:
    """What goes into the model archive. ``variants``: ONNX graphs to pack (model card keys, e.g. int8, fp16)."""

    model_dir: Path = field(default_factory=default_model_dir)
    model_store: Path = field(default_factory=default_model_store)
    model_name: str = DEFAULT_MODEL_NAME
    version: str | None = None  # None: the model card's version
    variants: tuple[str, ...] = ()  # () = int8 if the model has it, else fp32 (CPU serving)
    batch_size: int = 16
    max_batch_delay_ms: int = 1  # a lone request waits this long for company: keep it small
    workers: int = 1
    response_timeout_s: int = 60
    handler: Mapping[str, Any] = field(default_factory=dict)  # the handler section (mode, limits, threads)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]*", self.model_name):
            raise ConfigError(f"model name {self.model_name!r}: use letters, digits, '_', '-' and '.'")
        for name in ("batch_size", "workers", "response_timeout_s"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name.replace('_', '-')} must be at least 1")
        if self.max_batch_delay_ms < 1:  # TorchServe treats 0 as "use the default" (100 ms)
            raise ConfigError("max-batch-delay must be at least 1 millisecond")

    @property
    def archive_path(self) -> Path:
        return Path(self.model_store) / f"{self.model_name}.mar"

    def model_config(self) -> dict[str, Any]:
        """The archive's model config YAML (TorchServe reads the camelCase keys; the handler its section)."""
        return {
            "minWorkers": self.workers,
            "maxWorkers": self.workers,
            "batchSize": self.batch_size,
            "maxBatchDelay": self.max_batch_delay_ms,
            "responseTimeout": self.response_timeout_s,
            "handler": dict(self.handler),
        }


def read_model_card(model_dir: Path) -> dict[str, Any]:
    path = Path(model_dir) / MODEL_CARD
    if not path.is_file():
        raise ModelNotFoundError(f"{path} not found: point --model at a folder made by `affectlens export`")
    return dict(json.loads(path.read_text(encoding="utf-8")))


def _archive_files(config: ArchiveConfig) -> tuple[dict[str, Path], dict[str, Any]]:
    """Files to pack (name -> path) and the model card rewritten to list only the packed ONNX variants."""
    model_dir = Path(config.model_dir)
    card = read_model_card(model_dir)
    files: dict[str, str] = dict(card.get("files") or {})
    variants = config.variants or (("int8",) if "int8" in files else ("fp32",) if "fp32" in files else tuple(files)[:1])
    missing = [v for v in variants if v not in files]
    if missing:
        raise ArchiveError(
            f"the model in {model_dir} has no {', '.join(missing)} graph (it has {', '.join(files) or 'none'})"
        )
    keep = {v: files[v] for v in variants}
    onnx_names = set(files.values()) | {p.name for p in model_dir.glob("*.onnx")}
    picked: dict[str, Path] = {}
    for path in sorted(model_dir.iterdir()):
        if not path.is_file() or path.name.startswith(".") or path.name == MODEL_CARD:
            continue
        if path.name in onnx_names and path.name not in keep.values():
            continue  # an ONNX variant this archive does not serve
        picked[path.name] = path
    for name in keep.values():
        if name not in picked:
            raise ModelNotFoundError(f"{model_dir / name} not found: re-run `affectlens export`")
    if "tokenizer.json" not in picked and config.handler.get("mode") != "lexicon":
        raise ModelNotFoundError(f"{model_dir / 'tokenizer.json'} not found: the model folder is incomplete")
    return picked, {**card, "files": keep}


def archive_fingerprint(config: ArchiveConfig) -> str:
    """Changes when the model files, the handler, the archive settings or the TorchServe version change."""
    digest = hashlib.sha256()
    files, card = _archive_files(config)
    settings = {"config": config.model_config(), "name": config.model_name, "version": config.version, "card": card}
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    for name, path in sorted(files.items()):  # contents, not mtimes: survives copies (e.g. between image stages)
        digest.update(name.encode())
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    digest.update(handler_path().read_bytes())
    with contextlib.suppress(ImportError):
        from ts.version import __version__ as ts_version

        digest.update(ts_version.encode())
    return digest.hexdigest()


def _build_info_path(config: ArchiveConfig) -> Path:
    return Path(config.model_store) / f"{config.model_name}.build.json"


def archive_is_current(config: ArchiveConfig) -> bool:
    info = _build_info_path(config)
    if not config.archive_path.is_file() or not info.is_file():
        return False
    try:
        return bool(json.loads(info.read_text())["fingerprint"] == archive_fingerprint(config))
    except (OSError, ValueError, KeyError):
        return False


def build_archive(config: ArchiveConfig) -> Path:
    """Build ``<model_store>/<name>.mar`` with torch-model-archiver; returns its path."""
    _require_serve_extra(java=False)
    import yaml

    files, card = _archive_files(config)
    version = config.version or str(card.get("version") or "0.0.0")
    store = Path(config.model_store)
    store.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=".affectlens-archive-", dir=store) as tmp:
        staging = Path(tmp) / "files"
        staging.mkdir()
        for name, path in files.items():
            try:
                os.link(path, staging / name)
            except OSError:
                shutil.copy2(path, staging / name)
        (staging / MODEL_CARD).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
        model_config = Path(tmp) / "model-config.yaml"
        model_config.write_text(yaml.safe_dump(config.model_config(), sort_keys=False), encoding="utf-8")
        out = Path(tmp) / "out"
        out.mkdir()
        extra = ",".join(str(staging / name) for name in sorted(os.listdir(staging)))
        cmd = [
            sys.executable, "-m", "model_archiver.model_packaging",
            "--model-name", config.model_name, "--version", version,
            "--handler", str(handler_path()), "--extra-files", extra,
            "--config-file", str(model_config), "--export-path", str(out), "--force",
        ]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        built = out / f"{config.model_name}.mar"
        if proc.returncode != 0 or not built.is_file():
            raise ArchiveError(
                f"torch-model-archiver failed ({proc.returncode}): {(proc.stderr or proc.stdout)[-2000:]}"
            )
        os.replace(built, config.archive_path)  # atomic: a running server never sees half a file
    info = {
        "fingerprint": archive_fingerprint(config),
        "model_name": config.model_name,
        "model_version": version,
        "model_dir": str(config.model_dir),
        "files": sorted([*files, MODEL_CARD]),
        "model_config": config.model_config(),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    _build_info_path(config).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    log.info("built %s (%s %s) in %.1f s", config.archive_path, config.model_name, version, time.perf_counter() - start)
    return config.archive_path


def ensure_archive(config: ArchiveConfig, force: bool = False) -> tuple[Path, bool]:
    """Build the archive unless an up-to-date one is there. Returns (path, built)."""
    if not force and archive_is_current(config):
        return config.archive_path, False
    return build_archive(config), True


# -- the server ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ServeConfig:
    run_dir: Path = field(default_factory=default_run_dir)
    archive: ArchiveConfig = field(default_factory=ArchiveConfig)
    host: str = DEFAULT_HOST
    inference_port: int = DEFAULT_INFERENCE_PORT
    management_port: int = DEFAULT_MANAGEMENT_PORT
    metrics_port: int = DEFAULT_METRICS_PORT
    token_auth: bool = True
    token_expiration_min: int = 24 * 60  # TorchServe's default (60) would lock clients out after an hour
    max_request_size: int = 1024 * 1024  # bytes; larger bodies get 413 from TorchServe
    max_response_size: int = 16 * 1024 * 1024
    job_queue_size: int = 512
    log_level: str = "warn"
    system_metrics: bool = False  # TorchServe's host CPU/memory/disk metrics (a collector process per minute)
    ready_timeout_s: float = 300.0
    handler_overrides: Mapping[str, Any] = field(default_factory=dict)  # engine options (mode, threads, ...)
    # TorchServe always opens its gRPC APIs (affectlens does not use them). They listen on ``host`` too, on
    # these ports, or on free ports picked at start when None (so two servers on one machine never clash).
    grpc_ports: tuple[int, int] | None = None
    jvm_options: str = "-Xmx512m -XX:+UseSerialGC"

    def __post_init__(self) -> None:
        ports = (self.inference_port, self.management_port, self.metrics_port)
        if any(not 0 < p < 65536 for p in ports) or len(set(ports)) != 3:
            raise ConfigError(f"ports must be three different numbers in 1..65535, got {ports}")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(f"log level must be one of {', '.join(LOG_LEVELS)}")
        if self.max_request_size < 1024 or self.token_expiration_min < 1:
            raise ConfigError("max-request-size must be >= 1024 bytes and token expiration >= 1 minute")

    @property
    def model_name(self) -> str:
        return self.archive.model_name

    def url(self, port: int) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}"

    @property
    def prediction_url(self) -> str:
        return f"{self.url(self.inference_port)}/predictions/{self.model_name}"


def _escape_property(value: str) -> str:
    """Java .properties values treat backslashes as escapes."""
    return value.replace("\\", "\\\\")


def server_properties(config: ServeConfig) -> str:
    store = Path(config.archive.model_store).resolve()
    run_dir = Path(config.run_dir)
    allowed = f"file://{re.escape(str(store))}/.*"  # nothing remote; registration is off anyway
    props = {
        "inference_address": config.url(config.inference_port),
        "management_address": config.url(config.management_port),
        "metrics_address": config.url(config.metrics_port),
        "grpc_inference_address": config.host,
        "grpc_management_address": config.host,
        "grpc_inference_port": str((config.grpc_ports or (7070, 7071))[0]),
        "grpc_management_port": str((config.grpc_ports or (7070, 7071))[1]),
        "model_store": str(store),
        "enable_model_api": "false",
        "disable_token_authorization": "false" if config.token_auth else "true",
        "token_expiration_min": str(config.token_expiration_min),
        "allowed_urls": allowed,
        "max_request_size": str(config.max_request_size),
        "max_response_size": str(config.max_response_size),
        "metrics_mode": "prometheus",
        "metrics_config": str(run_dir / "metrics.yaml"),
        "model_metrics_auto_detect": "false",
        "disable_system_metrics": "false" if config.system_metrics else "true",
        "job_queue_size": str(config.job_queue_size),
        "default_workers_per_model": str(config.archive.workers),
        "default_response_timeout": str(config.archive.response_timeout_s),
        "install_py_dep_per_model": "false",
        "decode_input_request": "false",  # the handler decodes (and reports bad JSON / UTF-8 itself)
        "enable_envvars_config": "false",
        "async_logging": "true",
        "vmargs": config.jvm_options,
    }
    lines = ["# written by `affectlens serve`; edits are overwritten at the next start"]
    lines += [f"{key}={_escape_property(value)}" for key, value in props.items()]
    return "\n".join(lines) + "\n"


def log4j_config(level: str) -> str:
    """TorchServe's log layout, written to the run directory; ``warn`` keeps the logs quiet."""
    access = "info" if level in ("info", "debug") else "off"
    model = {"error": "error", "warn": "warn", "info": "info", "debug": "all"}[level]
    metrics = "off" if level in ("error", "warn") else "all"

    def rolling(name: str, env: str) -> str:
        return (
            f'    <RollingFile name="{name}" fileName="${{env:{env}:-logs}}/{name}.log" '
            f'filePattern="${{env:{env}:-logs}}/{name}.%d{{dd-MMM}}.log.gz">\n'
            '      <PatternLayout pattern="%d{ISO8601} [%-5p] %t %c - %m%n"/>\n'
            '      <Policies><SizeBasedTriggeringPolicy size="20 MB"/><TimeBasedTriggeringPolicy/></Policies>\n'
            '      <DefaultRolloverStrategy max="3"/>\n    </RollingFile>\n'
        )

    appenders = "".join(rolling(n, "LOG_LOCATION") for n in ("ts_log", "model_log", "access_log"))
    appenders += "".join(rolling(n, "METRICS_LOCATION") for n in ("ts_metrics", "model_metrics"))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!-- written by `affectlens serve` -->\n<Configuration>\n'
        f"  <Appenders>\n{appenders}  </Appenders>\n  <Loggers>\n"
        f'    <Logger name="ACCESS_LOG" level="{access}" additivity="false"><AppenderRef ref="access_log"/></Logger>\n'
        '    <Logger name="io.netty" level="error"/>\n    <Logger name="org.apache" level="off"/>\n'
        f'    <Logger name="MODEL_LOG" level="{model}" additivity="false"><AppenderRef ref="model_log"/></Logger>\n'
        f'    <Logger name="MODEL_METRICS" level="{metrics}" additivity="false">'
        '<AppenderRef ref="model_metrics"/></Logger>\n'
        f'    <Logger name="TS_METRICS" level="{metrics}" additivity="false"><AppenderRef ref="ts_metrics"/></Logger>\n'
        f'    <Logger name="org.pytorch.serve" level="{level}" additivity="false">'
        '<AppenderRef ref="ts_log"/></Logger>\n'
        f'    <Root level="{level}"><AppenderRef ref="ts_log"/></Root>\n'
        "  </Loggers>\n</Configuration>\n"
    )


def metrics_config() -> dict[str, Any]:
    """TorchServe's own metrics YAML plus the handler's stage timings and counters."""
    import ts
    import yaml

    default = Path(ts.__file__).resolve().parent / "configs" / "metrics.yaml"
    config = yaml.safe_load(default.read_text(encoding="utf-8"))
    model_metrics = config.setdefault("model_metrics", {}) or {}
    config["model_metrics"] = model_metrics
    for kind, entries in HANDLER_METRICS.items():
        existing = model_metrics.setdefault(kind, []) or []
        names = {m["name"] for m in existing}
        existing.extend(dict(m) for m in entries if m["name"] not in names)
        model_metrics[kind] = existing
    return dict(config)


def write_server_files(config: ServeConfig) -> dict[str, Path]:
    import yaml

    run_dir = Path(config.run_dir)
    for sub in ("logs", "tmp"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(run_dir, 0o700)  # the key file lives here
    paths = {
        "config": run_dir / "config.properties",
        "log_config": run_dir / "log4j2.xml",
        "metrics": run_dir / "metrics.yaml",
    }
    paths["config"].write_text(server_properties(config), encoding="utf-8")
    paths["log_config"].write_text(log4j_config(config.log_level), encoding="utf-8")
    paths["metrics"].write_text(yaml.safe_dump(metrics_config(), sort_keys=False), encoding="utf-8")
    return paths


def free_ports(n: int, host: str = DEFAULT_HOST) -> list[int]:
    """``n`` different ports the OS reports free on ``host`` right now (tests, benchmarks, gRPC)."""
    sockets = []
    try:
        for _ in range(n):
            sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def check_ports_free(host: str, ports: Iterable[int]) -> None:
    """Fail before starting when a port is taken: TorchServe's launcher would exit 0 and the server die."""
    for port in ports:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Netty does: TIME_WAIT is no conflict
            try:
                sock.bind((host, port))
            except OSError as exc:
                raise PortInUseError(
                    f"{host}:{port} is already in use ({exc.strerror}); stop what listens there or choose other "
                    "ports with --inference-port / --management-port / --metrics-port"
                ) from None


@dataclass
class ServerState:
    """What `serve` records in ``<run dir>/server.json`` for `stop`, `token` and the tests."""

    pid: int
    pgid: int
    run_dir: str
    model_name: str
    host: str
    inference_port: int
    management_port: int
    metrics_port: int
    token_auth: bool
    started_at: float
    ready_seconds: float | None = None

    @property
    def _client_host(self) -> str:
        """Where a client on this machine connects (a wildcard address is not a destination)."""
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        return f"[{host}]" if ":" in host else host

    @property
    def prediction_url(self) -> str:
        return f"http://{self._client_host}:{self.inference_port}/predictions/{self.model_name}"

    @property
    def management_url(self) -> str:
        return f"http://{self._client_host}:{self.management_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{self._client_host}:{self.metrics_port}/metrics"

    @classmethod
    def read(cls, run_dir: Path) -> ServerState | None:
        path = Path(run_dir) / STATE_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        except (OSError, ValueError, TypeError):
            return None

    def write(self) -> None:
        path = Path(self.run_dir) / STATE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)


def _is_torchserve(pid: int) -> bool:
    """True when ``pid`` is alive (not a zombie) and is a TorchServe frontend (guards against recycled pids)."""
    proc = Path(f"/proc/{pid}")
    if not Path("/proc/self").exists():  # no /proc (macOS): trust the pid
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    try:
        if ") Z" in (proc / "stat").read_text(errors="replace"):
            return False  # exited, not yet reaped
        cmdline = (proc / "cmdline").read_bytes()
    except OSError:
        return False
    # The command line reads empty for a moment while a process execs (the launcher reports the pid then).
    return not cmdline or b"org.pytorch.serve.ModelServer" in cmdline


def read_token(run_dir: Path | None = None, kind: str = "inference") -> str:
    """The current TorchServe key of ``kind`` (inference, management or API) from the run directory."""
    run_dir = Path(run_dir) if run_dir else default_run_dir()
    path = run_dir / KEY_FILE
    if not path.is_file():
        state = ServerState.read(run_dir)
        if state is not None and not state.token_auth:
            raise ServeError("token authorization is off for this server (--no-token-auth): no token is needed")
        raise NotRunningError(f"no key file in {run_dir}: start the server with `affectlens serve` (or pass --run-dir)")
    data = json.loads(path.read_text(encoding="utf-8"))
    key = (data.get(kind) or {}).get("key")
    if not key:
        raise ServeError(f"{path} has no {kind} key")
    return str(key)


def _http_get(url: str, token: str | None, timeout: float = 3.0) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with opener.open(request, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def model_status(state: ServerState, token: str | None = None) -> list[dict[str, Any]]:
    """``GET /models/<name>`` on the management API (the model's versions with their workers)."""
    if token is None and state.token_auth:
        token = read_token(Path(state.run_dir), "management")
    code, body = _http_get(f"{state.management_url}/models/{state.model_name}", token)
    if code != 200:
        raise ServeError(f"management API answered {code}: {body[:300]!r}")
    data = json.loads(body)
    return list(data) if isinstance(data, list) else [data]


def ready_workers(state: ServerState) -> int:
    """How many workers of the model are READY (the health check; /ping says Healthy before the model loads)."""
    versions = model_status(state)
    return sum(1 for v in versions for w in v.get("workers", []) if w.get("status") == "READY")


def _log_tail(run_dir: Path, names: Iterable[str] = ("torchserve.out", "logs/ts_log.log", "logs/model_log.log"),
              lines: int = 25) -> str:  # fmt: skip
    out = []
    for name in names:
        path = Path(run_dir) / name
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
            if text:
                out.append(f"--- {path} ---\n" + "\n".join(text))
    return "\n".join(out)


_FATAL_PATTERNS = (
    (re.compile(r"Address already in use|BindException", re.I), PortInUseError,
     "TorchServe could not bind a port (already in use); choose other ports"),
    (re.compile(r"affectlens handler failed to initialize"), ServerStartError,
     "the model failed to load in the worker"),
)  # fmt: skip


def _check_logs_for_failure(run_dir: Path) -> None:
    for name in ("torchserve.out", "logs/ts_log.log", "logs/model_log.log"):
        path = Path(run_dir) / name
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for pattern, error, message in _FATAL_PATTERNS:
            if pattern.search(text):
                where = re.search(r"Failed to bind to address: (\S+)", text)
                detail = f" ({where.group(1)})" if where else ""
                raise error(f"{message}{detail}:\n{_log_tail(run_dir)}")


def wait_until_ready(state: ServerState, timeout_s: float, poll_s: float = 0.25) -> float:
    """Wait until a worker of the model is READY on the management API; returns the seconds waited."""
    start = time.monotonic()
    run_dir = Path(state.run_dir)
    last = "the server has not answered yet"
    while True:
        if not _is_torchserve(state.pid):
            _check_logs_for_failure(run_dir)
            raise ServerStartError(f"TorchServe exited during start-up:\n{_log_tail(run_dir)}")
        _check_logs_for_failure(run_dir)
        try:
            token = read_token(run_dir, "management") if state.token_auth else None
            versions = model_status(state, token)
            workers = [w for v in versions for w in v.get("workers", [])]
            if any(w.get("status") == "READY" for w in workers):
                return time.monotonic() - start
            last = f"workers: {[w.get('status') for w in workers]}"
        except (NotRunningError, OSError, ServeError, ValueError) as exc:
            last = str(exc)
        if time.monotonic() - start > timeout_s:
            raise ServerStartError(f"the model was not READY after {timeout_s:.0f} s ({last}):\n{_log_tail(run_dir)}")
        time.sleep(poll_s)


def start_server(config: ServeConfig, *, foreground: bool = False, check_ports: bool = True,
                 rebuild: bool = False) -> tuple[ServerState, subprocess.Popen[bytes] | None]:  # fmt: skip
    """Start TorchServe for the model and wait until it is READY. Returns the state (and, in foreground mode,
    the launcher process to wait on). On any failure the half-started server is stopped."""
    _require_serve_extra()
    run_dir = Path(config.run_dir).resolve()
    config = replace(config, run_dir=run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    previous = ServerState.read(run_dir)
    if previous is not None and _is_torchserve(previous.pid):
        raise AlreadyRunningError(f"a server from {run_dir} is already running (pid {previous.pid}, "
                                  f"{previous.prediction_url}); run `affectlens stop` first")  # fmt: skip
    if check_ports:
        check_ports_free(config.host, (config.inference_port, config.management_port, config.metrics_port))
    if config.grpc_ports is None:
        grpc = free_ports(2, config.host)
        config = replace(config, grpc_ports=(grpc[0], grpc[1]))
    try:
        ensure_archive(config.archive, force=rebuild)
    except PermissionError as exc:
        if rebuild or not config.archive.archive_path.is_file():
            raise ArchiveError(f"cannot write the model archive: {exc}") from None
        log.warning("%s looks out of date but %s is read-only: serving it as it is", config.archive.archive_path,
                    config.archive.model_store)  # fmt: skip
    paths = write_server_files(config)
    for stale in (run_dir / KEY_FILE, run_dir / STATE_FILE, run_dir / "tmp" / PID_FILE):
        stale.unlink(missing_ok=True)
    for old in (run_dir / "logs").glob("*.log"):
        old.unlink(missing_ok=True)  # a fresh log per start: the failure checks read these
    env = dict(os.environ)
    env.pop("TS_CONFIG_FILE", None)  # the launcher would prefer it over --ts-config
    env.update({
        "LOG_LOCATION": str(run_dir / "logs"), "METRICS_LOCATION": str(run_dir / "logs"),
        "TEMP": str(run_dir / "tmp"), "TMPDIR": str(run_dir / "tmp"),  # extracted archives + the launcher's pid file
        "HF_HUB_OFFLINE": "1", OVERRIDES_ENV: json.dumps(dict(config.handler_overrides)),
    })  # fmt: skip
    archive_name = config.archive.archive_path.name
    cmd = [
        sys.executable, "-m", "ts.model_server", "--start", "--ncs",
        "--ts-config", str(paths["config"]), "--model-store", str(Path(config.archive.model_store).resolve()),
        "--models", f"{config.model_name}={archive_name}", "--log-config", str(paths["log_config"]),
    ]  # fmt: skip
    if not config.token_auth:
        cmd.append("--disable-token-auth")
    if foreground:
        cmd.append("--foreground")
    out = open(run_dir / "torchserve.out", "wb")  # noqa: SIM115 - handed to the child
    started = time.time()
    try:
        launcher = subprocess.Popen(cmd, cwd=run_dir, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    finally:
        out.close()
    pid_file = run_dir / "tmp" / PID_FILE
    deadline = time.monotonic() + 60
    while not pid_file.is_file() or not pid_file.read_text().strip():
        if launcher.poll() is not None and not pid_file.is_file():
            raise ServerStartError(f"the torchserve launcher exited ({launcher.returncode}):\n{_log_tail(run_dir)}")
        if time.monotonic() > deadline:
            _kill_group(launcher.pid)
            raise ServerStartError(f"TorchServe did not start within 60 s:\n{_log_tail(run_dir)}")
        time.sleep(0.05)
    pid = int(pid_file.read_text().strip())
    state = ServerState(
        pid=pid, pgid=launcher.pid, run_dir=str(run_dir), model_name=config.model_name, host=config.host,
        inference_port=config.inference_port, management_port=config.management_port,
        metrics_port=config.metrics_port, token_auth=config.token_auth, started_at=started,
    )  # fmt: skip
    state.write()
    try:
        wait_until_ready(state, config.ready_timeout_s)
    except BaseException:
        stop_server(run_dir, quiet=True)
        raise
    state.ready_seconds = round(time.time() - started, 2)
    state.write()
    return state, launcher if foreground else None


def _kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    # members may be zombies waiting for a parent that is gone; count only live ones
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return not Path("/proc/self").exists()


def stop_server(run_dir: Path | None = None, timeout_s: float = 30.0, quiet: bool = False) -> bool:
    """Stop the server started from ``run_dir``: SIGTERM to the frontend (it stops its workers), then, if
    anything of its process group is left after ``timeout_s``, SIGKILL to the group. Returns False if none ran."""
    run_dir = Path(run_dir) if run_dir else default_run_dir()
    state = ServerState.read(run_dir)
    if state is None:
        return False
    ran = _is_torchserve(state.pid)
    if ran:
        with contextlib.suppress(ProcessLookupError):
            os.kill(state.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while (_is_torchserve(state.pid) or _group_alive(state.pgid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _group_alive(state.pgid):
        if not quiet:
            log.warning("TorchServe did not stop within %.0f s: killing its process group %d", timeout_s, state.pgid)
        _kill_group(state.pgid)
        time.sleep(0.2)
    for name in (KEY_FILE, STATE_FILE, f"tmp/{PID_FILE}"):
        (run_dir / name).unlink(missing_ok=True)
    return ran


def server_processes(state: ServerState) -> dict[str, list[int]]:
    """pids of the frontend (Java) and of the Python workers of a running server."""
    workers = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            pid = int(stat.parent.name)
            if int(fields[2]) == state.pgid and pid != state.pid and fields[0] != "Z":
                cmdline = (stat.parent / "cmdline").read_bytes()
                if b"model_service_worker" in cmdline:
                    workers.append(pid)
    return {"frontend": [state.pid], "workers": sorted(workers)}


# -- command line ----------------------------------------------------------------------------------
def _add_archive_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None, help="model folder (default: the shipped default model)")
    p.add_argument("--model-store", default=None, help="where the .mar goes (default: model_store/ of the checkout)")
    p.add_argument(
        "--name", default=DEFAULT_MODEL_NAME, help="model name in TorchServe and in the URL (default: %(default)s)"
    )
    p.add_argument("--workers", type=int, default=1, help="worker processes (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=16, help="server-side batch size (default: %(default)s)")
    p.add_argument("--max-batch-delay", type=int, default=1, metavar="MS",
                   help="how long a batch waits to fill, in ms (default: %(default)s)")  # fmt: skip
    p.add_argument(
        "--response-timeout", type=int, default=60, metavar="S", help="seconds per batch (default: %(default)s)"
    )
    p.add_argument("--variants", default=None,
                   help="ONNX graphs to pack, comma-separated (default: int8; the GPU image uses fp16)")  # fmt: skip


def _archive_config(args: argparse.Namespace) -> ArchiveConfig:
    kwargs: dict[str, Any] = {
        "model_name": args.name, "workers": args.workers, "batch_size": args.batch_size,
        "max_batch_delay_ms": args.max_batch_delay, "response_timeout_s": args.response_timeout,
    }  # fmt: skip
    if args.model:
        kwargs["model_dir"] = Path(args.model).resolve()
    if args.model_store:
        kwargs["model_store"] = Path(args.model_store).resolve()
    if args.variants:
        kwargs["variants"] = tuple(v.strip() for v in args.variants.split(",") if v.strip())
    if getattr(args, "version", None):
        kwargs["version"] = args.version
    return ArchiveConfig(**kwargs)


def _handler_overrides(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if args.lexicon_only:
        out["mode"] = "lexicon"
    elif args.neural_only:
        out["mode"] = "neural"
    if args.provider != "auto":
        out["provider"] = args.provider
    if args.threads:
        out["threads"] = args.threads
    if args.no_nrc:
        out["use_nrc"] = False
    if args.no_parser:
        out["use_parser"] = False
    return out


def cmd_archive(args: argparse.Namespace) -> int:
    config = _archive_config(args)
    path, built = ensure_archive(config, force=args.force)
    info = json.loads(_build_info_path(config).read_text())
    print(json.dumps({"archive": str(path), "built": built, "model_name": info["model_name"],
                      "model_version": info["model_version"], "files": info["files"],
                      "model_config": info["model_config"]}, indent=2))  # fmt: skip
    return 0


def _serve_config(args: argparse.Namespace) -> ServeConfig:
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("listening on %s: the server is reachable from other machines; keep token auth on", args.host)
    return ServeConfig(
        run_dir=Path(args.run_dir).resolve() if args.run_dir else default_run_dir(),
        archive=_archive_config(args), host=args.host, inference_port=args.inference_port,
        management_port=args.management_port, metrics_port=args.metrics_port, token_auth=not args.no_token_auth,
        token_expiration_min=args.token_expiration, max_request_size=args.max_request_size,
        log_level=args.log_level, system_metrics=args.system_metrics, ready_timeout_s=args.timeout,
        handler_overrides=_handler_overrides(args),
    )  # fmt: skip


def _print_started(state: ServerState, foreground: bool) -> None:
    """The prediction URL on stdout (for scripts); how to call, watch and stop it on stderr."""
    run_dir = "" if Path(state.run_dir) == default_run_dir() else f" --run-dir {state.run_dir}"
    auth = f'-H "Authorization: Bearer $(affectlens token{run_dir})" ' if state.token_auth else ""
    print(state.prediction_url, flush=True)
    print(
        f"affectlens: model {state.model_name!r} READY after {state.ready_seconds:.1f} s "
        f"(TorchServe pid {state.pid}, run directory {state.run_dir})\n"
        f"  try:     curl -s {auth}-H 'Content-Type: application/json' -d '{{\"text\": \"I love it\"}}' "
        f"{state.prediction_url}\n"
        f"  metrics: {state.metrics_url}   management: {state.management_url}\n"
        f"  logs:    {state.run_dir}/logs\n"
        + ("  stop:    Ctrl-C" if foreground else f"  stop:    affectlens stop{run_dir}"),
        file=sys.stderr,
        flush=True,
    )


def cmd_serve(args: argparse.Namespace) -> int:
    config = _serve_config(args)
    state, launcher = start_server(config, foreground=args.foreground, rebuild=args.rebuild)
    _print_started(state, args.foreground)
    if launcher is None:
        return 0

    def terminate(signum: int, frame: Any) -> None:  # `docker stop` sends SIGTERM: stop TorchServe cleanly
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    try:
        launcher.wait()
        print("affectlens: TorchServe exited", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("affectlens: stopping TorchServe ...", file=sys.stderr)
        return 0
    finally:
        stop_server(config.run_dir)


def cmd_stop(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir).resolve() if args.run_dir else default_run_dir()
    if stop_server(run_dir, timeout_s=args.timeout):
        print(f"affectlens: TorchServe stopped ({run_dir})", file=sys.stderr)
    else:
        print(f"affectlens: no server was running from {run_dir}", file=sys.stderr)
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir).resolve() if args.run_dir else default_run_dir()
    print(read_token(run_dir, "management" if args.management else "inference"))
    return 0


def _add_run_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run-dir", default=None,
                   help=f"TorchServe's working directory: config, logs, key file (default: ${RUN_DIR_ENV} or "
                        "~/.cache/affectlens/run)")  # fmt: skip


def register_command(subparsers: Any, name: str, help_text: str) -> None:
    """Add the ``serve``, ``stop``, ``token`` or ``archive`` sub-command (called by ``affectlens.cli``)."""
    p = subparsers.add_parser(name, help=help_text, description=help_text)
    if name == "archive":
        _add_archive_options(p)
        p.add_argument("--version", default=None, help="model version (default: the model card's version)")
        p.add_argument("--force", action="store_true", help="rebuild even when the archive is up to date")
        p.set_defaults(func=cmd_archive)
    elif name == "serve":
        _add_run_dir(p)
        _add_archive_options(p)
        p.add_argument("--foreground", action="store_true", help="stay attached; Ctrl-C stops the server")
        p.add_argument("--rebuild", action="store_true", help="rebuild the model archive first")
        p.add_argument("--host", default=DEFAULT_HOST, help="address for all three APIs (default: %(default)s)")
        p.add_argument("--inference-port", type=int, default=DEFAULT_INFERENCE_PORT, help="(default: %(default)s)")
        p.add_argument("--management-port", type=int, default=DEFAULT_MANAGEMENT_PORT, help="(default: %(default)s)")
        p.add_argument("--metrics-port", type=int, default=DEFAULT_METRICS_PORT, help="(default: %(default)s)")
        p.add_argument("--no-token-auth", action="store_true", help="serve without token authorization (not advised)")
        p.add_argument("--token-expiration", type=int, default=24 * 60, metavar="MIN",
                       help="minutes until TorchServe's tokens expire (default: %(default)s)")  # fmt: skip
        p.add_argument("--max-request-size", type=int, default=1024 * 1024, metavar="BYTES",
                       help="larger request bodies get 413 (default: %(default)s)")  # fmt: skip
        p.add_argument(
            "--log-level", default="warn", choices=LOG_LEVELS, help="TorchServe logging (default: %(default)s)"
        )
        p.add_argument("--system-metrics", action="store_true", help="also collect host CPU/memory/disk metrics")
        p.add_argument("--timeout", type=float, default=300.0, metavar="S", help="seconds to wait for READY")
        mode = p.add_mutually_exclusive_group()
        mode.add_argument("--lexicon-only", action="store_true", help="lexicon analyzers only (no neural model)")
        mode.add_argument("--neural-only", action="store_true", help="calibrated neural model only (no lexicon)")
        p.add_argument("--provider", default="auto", choices=["auto", "cpu", "cuda"], help="ONNX Runtime provider")
        p.add_argument("--threads", type=int, default=0,
                       help="ONNX Runtime threads per worker (0 = (cores - 1) / workers, at most 8)")  # fmt: skip
        p.add_argument("--no-nrc", action="store_true", help="disable the NRC emotion lexicon (licence)")
        p.add_argument("--no-parser", action="store_true", help="negation scope by window rule, not spaCy")
        p.set_defaults(func=cmd_serve)
    elif name == "stop":
        _add_run_dir(p)
        p.add_argument("--timeout", type=float, default=30.0, metavar="S", help="seconds before the server is killed")
        p.set_defaults(func=cmd_stop)
    elif name == "token":
        _add_run_dir(p)
        p.add_argument("--management", action="store_true", help="print the management key instead")
        p.set_defaults(func=cmd_token)
    else:
        raise ValueError(f"affectlens.serving has no command {name!r}")
