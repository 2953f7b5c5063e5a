"""Serve affectlens with TorchServe: build the model archive, write the server config, start, wait, stop.

``affectlens archive`` packs the model folder and the handler (``handlers/affectlens_handler.py``) into
``model_store/affectlens.mar``. ``affectlens serve`` builds the archive when it is missing or out of date, writes
TorchServe's config into the run directory (never the repository), starts TorchServe there (its key file, logs,
extracted models and pid file live there too) and waits until the model's worker is READY on the management API.
``affectlens stop`` stops it; ``affectlens token`` prints the inference token.

Modules: ``protocol`` (names shared with the handler), ``paths``, ``archive``, ``server_config``, ``state``,
``process`` (life cycle), ``client`` (management API), ``commands`` (the sub-commands). Importing this package is
cheap (standard library only); the ``serve`` extra (torchserve, torch-model-archiver, PyYAML) is needed only when a
command runs.
"""

from __future__ import annotations

from affectlens.errors import (
    AlreadyRunningError,
    ArchiveError,
    NotRunningError,
    PortInUseError,
    ServeError,
    ServerStartError,
)
from affectlens.serving.archive import (
    ArchiveConfig,
    archive_files,
    archive_fingerprint,
    archive_is_current,
    build_archive,
    ensure_archive,
    read_model_card,
    served_version,
)
from affectlens.serving.client import model_status, read_token, ready_workers
from affectlens.serving.commands import cmd_archive, cmd_serve, cmd_stop, cmd_token, register_command
from affectlens.serving.paths import RUN_DIR_ENV, default_model_dir, default_model_store, default_run_dir, handler_path
from affectlens.serving.process import (
    check_ports_free,
    free_ports,
    kill_group,
    server_processes,
    start_server,
    stop_server,
    wait_until_ready,
)
from affectlens.serving.protocol import DEFAULT_MODEL_NAME, KEY_FILE, OVERRIDES_ENV, read_key_file
from affectlens.serving.server_config import (
    LOG_LEVELS,
    ServeConfig,
    log4j_config,
    metrics_config,
    server_properties,
    write_server_files,
)
from affectlens.serving.state import ServedModel, ServerState

__all__ = [
    "DEFAULT_MODEL_NAME", "KEY_FILE", "LOG_LEVELS", "OVERRIDES_ENV", "RUN_DIR_ENV",
    "AlreadyRunningError", "ArchiveConfig", "ArchiveError", "NotRunningError", "PortInUseError", "ServeConfig",
    "ServeError", "ServedModel", "ServerStartError", "ServerState",
    "archive_files", "archive_fingerprint", "archive_is_current", "build_archive", "check_ports_free", "cmd_archive",
    "cmd_serve", "cmd_stop", "cmd_token", "default_model_dir", "default_model_store", "default_run_dir",
    "ensure_archive", "free_ports", "handler_path", "kill_group", "log4j_config", "metrics_config", "model_status",
    "read_key_file", "read_model_card", "read_token", "ready_workers", "register_command", "served_version",
    "server_processes", "server_properties", "start_server", "stop_server", "wait_until_ready", "write_server_files",
]  # fmt: skip
