"""TorchServe's configuration for ``affectlens serve``: ``ServeConfig`` and the files written from it.

``config.properties``, ``log4j2.xml`` and ``metrics.yaml`` go into the run directory (never the repository).
Security defaults: every address on 127.0.0.1, token authorization on (key file in the run directory), the
model registration API off, ``allowed_urls`` limited to the model store, request and response sizes limited.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from affectlens.errors import ConfigError
from affectlens.serving.archive import ArchiveConfig, served_version
from affectlens.serving.paths import default_run_dir
from affectlens.serving.protocol import HANDLER_METRICS
from affectlens.serving.state import ServedModel

DEFAULT_HOST = "127.0.0.1"
DEFAULT_INFERENCE_PORT, DEFAULT_MANAGEMENT_PORT, DEFAULT_METRICS_PORT = 8080, 8081, 8082
DEFAULT_TOKEN_EXPIRATION_MIN = 24 * 60  # TorchServe's default (60) would lock clients out after an hour
DEFAULT_MAX_REQUEST_SIZE = 1024 * 1024  # bytes; larger bodies get 413 from TorchServe
DEFAULT_READY_TIMEOUT_S = 300.0
LOG_LEVELS = ("error", "warn", "info", "debug")
DEFAULT_LOG_LEVEL = "warn"


@dataclass(frozen=True)
class ServeConfig:
    """How ``affectlens serve`` runs TorchServe; validated at construction."""

    run_dir: Path = field(default_factory=default_run_dir)
    archive: ArchiveConfig = field(default_factory=ArchiveConfig)
    # more archives served next to the main one (``serve --also``): other names, or other versions of a name
    also: tuple[ArchiveConfig, ...] = ()
    host: str = DEFAULT_HOST
    inference_port: int = DEFAULT_INFERENCE_PORT
    management_port: int = DEFAULT_MANAGEMENT_PORT
    metrics_port: int = DEFAULT_METRICS_PORT
    token_auth: bool = True
    token_expiration_min: int = DEFAULT_TOKEN_EXPIRATION_MIN
    max_request_size: int = DEFAULT_MAX_REQUEST_SIZE
    max_response_size: int = 16 * 1024 * 1024
    job_queue_size: int = 512
    log_level: str = DEFAULT_LOG_LEVEL
    system_metrics: bool = False  # TorchServe's host CPU/memory/disk metrics (a collector process per minute)
    ready_timeout_s: float = DEFAULT_READY_TIMEOUT_S
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
        if self.also:
            check_models(self.archives)

    @property
    def archives(self) -> tuple[ArchiveConfig, ...]:
        """Every archive served, the main one first."""
        return (self.archive, *self.also)

    def served_models(self) -> tuple[ServedModel, ...]:
        """Name, version (reads the model cards), archive file and folder of each archive, the main one first."""
        seen: set[str] = set()
        out = []
        for archive in self.archives:
            out.append(ServedModel(archive.model_name, served_version(archive), archive.archive_path.name,
                                   str(archive.model_dir), default=archive.model_name not in seen))  # fmt: skip
            seen.add(archive.model_name)
        return tuple(out)

    @property
    def model_name(self) -> str:
        return self.archive.model_name

    def url(self, port: int) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}"

    @property
    def prediction_url(self) -> str:
        return f"{self.url(self.inference_port)}/predictions/{self.model_name}"


def check_models(archives: tuple[ArchiveConfig, ...]) -> None:
    """Several archives in one server: one model store, one archive file each, each name+version once."""
    stores = {Path(a.model_store).resolve() for a in archives}
    if len(stores) > 1:
        raise ConfigError(f"all served archives must be in one model store, got {', '.join(map(str, sorted(stores)))}")
    files: dict[str, ArchiveConfig] = {}
    served: dict[tuple[str, str], ArchiveConfig] = {}
    for archive in archives:
        other = files.setdefault(archive.archive_path.name, archive)
        if other is not archive:
            raise ConfigError(f"{archive.model_dir} and {other.model_dir} would both be archived as "
                              f"{archive.archive_path.name}: give one another archive_name")  # fmt: skip
        key = (archive.model_name, served_version(archive))
        other = served.setdefault(key, archive)
        if other is not archive:
            raise ConfigError(
                f"model {key[0]!r} version {key[1]} is served twice ({other.model_dir} and {archive.model_dir}): "
                f"give the second one another version (--also {key[0]}:VERSION=DIR) or another name"
            )


def _escape_property(value: str) -> str:
    """Java .properties values treat backslashes as escapes."""
    return value.replace("\\", "\\\\")


def server_properties(config: ServeConfig) -> str:
    """``config.properties``: addresses, security, limits, metrics and workers."""
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
    """Write the three files into the run directory (made private to the user); returns their paths."""
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
