"""The TorchServe model archive: ``<model store>/<name>.mar`` built with torch-model-archiver.

It packs the model folder (ONNX graph, tokenizer, calibration, model card) and the handler; its model config
carries the batch size, batch delay, workers and response timeout, and the handler's own section. A build
records a fingerprint beside the archive, so ``ensure_archive`` rebuilds only when something changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from affectlens.errors import ArchiveError, ConfigError, ModelNotFoundError
from affectlens.serving.paths import default_model_dir, default_model_store, handler_path, require_serve_extra
from affectlens.serving.protocol import DEFAULT_MODEL_NAME, MODEL_CARD

log = logging.getLogger("affectlens.serving")

NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"  # TorchServe model names and versions (they go into URLs)
_ARCHIVE_NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.@\-]*"  # '@' joins a name and a version: never in a name


@dataclass(frozen=True)
class ArchiveConfig:
    """What goes into the model archive. ``variants``: ONNX graphs to pack (model card keys, e.g. int8, fp16)."""

    model_dir: Path = field(default_factory=default_model_dir)
    model_store: Path = field(default_factory=default_model_store)
    model_name: str = DEFAULT_MODEL_NAME
    version: str | None = None  # None: the model card's version
    archive_name: str | None = None  # file name (without .mar) in the store; None: the model name
    variants: tuple[str, ...] = ()  # () = int8 if the model has it, else fp32 (CPU serving)
    batch_size: int = 16
    max_batch_delay_ms: int = 1  # a lone request waits this long for company: keep it small
    workers: int = 1
    response_timeout_s: int = 60
    handler: Mapping[str, Any] = field(default_factory=dict)  # the handler section (mode, limits, threads)

    def __post_init__(self) -> None:
        if not re.fullmatch(NAME_PATTERN, self.model_name):
            raise ConfigError(f"model name {self.model_name!r}: use letters, digits, '_', '-' and '.'")
        if self.version is not None and (not re.fullmatch(NAME_PATTERN, self.version) or ".." in self.version):
            raise ConfigError(f"model version {self.version!r}: use letters, digits, '_', '-' and '.' (e.g. 0.3.0)")
        stem = self.archive_stem
        if not re.fullmatch(_ARCHIVE_NAME_PATTERN, stem) or ".." in stem:  # TorchServe refuses '..' in a file name
            raise ConfigError(f"archive name {stem!r}: use letters, digits, '_', '-', '.' and '@' (no '..')")
        for name in ("batch_size", "workers", "response_timeout_s"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name.replace('_', '-')} must be at least 1")
        if self.max_batch_delay_ms < 1:  # TorchServe treats 0 as "use the default" (100 ms)
            raise ConfigError("max-batch-delay must be at least 1 millisecond")

    @property
    def archive_stem(self) -> str:
        return self.archive_name or self.model_name

    @property
    def archive_path(self) -> Path:
        return Path(self.model_store) / f"{self.archive_stem}.mar"

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
    """The model card (``affectlens_model.json``) of a model folder."""
    path = Path(model_dir) / MODEL_CARD
    if not path.is_file():
        raise ModelNotFoundError(f"{path} not found: point --model at a folder made by `affectlens export`")
    return dict(json.loads(path.read_text(encoding="utf-8")))


def served_version(config: ArchiveConfig) -> str:
    """The version TorchServe serves the archive under: the one given, else the model card's."""
    if config.version:
        return config.version
    return str(read_model_card(Path(config.model_dir)).get("version") or "0.0.0")


def archive_files(config: ArchiveConfig) -> tuple[dict[str, Path], dict[str, Any]]:
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
    files, card = archive_files(config)
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


def build_info_path(config: ArchiveConfig) -> Path:
    """Where the build record (fingerprint, files, model config) of the archive is kept."""
    return Path(config.model_store) / f"{config.archive_stem}.build.json"


def archive_is_current(config: ArchiveConfig) -> bool:
    """Whether the archive exists and was built from exactly these files and settings."""
    info = build_info_path(config)
    if not config.archive_path.is_file() or not info.is_file():
        return False
    try:
        return bool(json.loads(info.read_text())["fingerprint"] == archive_fingerprint(config))
    except (OSError, ValueError, KeyError):
        return False


def build_archive(config: ArchiveConfig) -> Path:
    """Build ``<model_store>/<name>.mar`` with torch-model-archiver; returns its path."""
    require_serve_extra(java=False)
    import yaml

    files, card = archive_files(config)
    version = served_version(config)
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
    build_info_path(config).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    log.info("built %s (%s %s) in %.1f s", config.archive_path, config.model_name, version, time.perf_counter() - start)
    return config.archive_path


def ensure_archive(config: ArchiveConfig, force: bool = False) -> tuple[Path, bool]:
    """Build the archive unless an up-to-date one is there. Returns (path, built)."""
    if not force and archive_is_current(config):
        return config.archive_path, False
    return build_archive(config), True
