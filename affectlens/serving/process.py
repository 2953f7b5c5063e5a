"""TorchServe's life cycle: check ports, start, wait until a worker of every model is READY, stop.

``torchserve --start`` exits 0 even when a port is taken, so ports are checked before the start and the logs
are watched while waiting. ``/ping`` says Healthy before the model has loaded: readiness is a READY worker on
the management API. ``stop_server`` sends SIGTERM to the frontend and SIGKILL to what is left of its group.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, replace
from pathlib import Path

from affectlens import errors
from affectlens.serving.archive import ensure_archive
from affectlens.serving.client import read_token, worker_statuses
from affectlens.serving.paths import require_serve_extra, run_dir_or_default
from affectlens.serving.protocol import KEY_FILE, OVERRIDES_ENV
from affectlens.serving.server_config import DEFAULT_HOST, ServeConfig, write_server_files
from affectlens.serving.state import STATE_FILE, ServerState

log = logging.getLogger("affectlens.serving")

PID_FILE = ".model_server.pid"  # written by the torchserve launcher into $TMPDIR (the run directory's tmp/)
LOG_FILES = ("torchserve.out", "logs/ts_log.log", "logs/model_log.log")
_FATAL_PATTERNS = (
    (re.compile(r"Address already in use|BindException", re.I), errors.PortInUseError,
     "TorchServe could not bind a port (already in use); choose other ports"),
    (re.compile(r"affectlens handler failed to initialize"), errors.ServerStartError,
     "the model failed to load in the worker"),
    (re.compile(r"Failed to load model"), errors.ServerStartError, "TorchServe could not load a model archive"),
)  # fmt: skip


# -- ports -----------------------------------------------------------------------------------------
def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def free_ports(n: int, host: str = DEFAULT_HOST) -> list[int]:
    """``n`` different ports the OS reports free on ``host`` right now (tests, benchmarks, gRPC)."""
    sockets = []
    try:
        for _ in range(n):
            sock = socket.socket(_family(host), socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def check_ports_free(host: str, ports: Iterable[int]) -> None:
    """Fail before starting when a port is taken: TorchServe's launcher would exit 0 and the server die."""
    for port in ports:
        with socket.socket(_family(host), socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Netty does: TIME_WAIT is no conflict
            try:
                sock.bind((host, port))
            except OSError as exc:
                raise errors.PortInUseError(
                    f"{host}:{port} is already in use ({exc.strerror}); stop what listens there or choose other "
                    "ports with --inference-port / --management-port / --metrics-port"
                ) from None


# -- processes -------------------------------------------------------------------------------------
def _live_processes() -> Iterator[tuple[int, int, Path]]:
    """(pid, process group, /proc dir) of every process that is not a zombie."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                yield int(stat.parent.name), int(fields[2]), stat.parent


def is_torchserve(pid: int) -> bool:
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


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def group_alive(pgid: int) -> bool:
    """Whether a live (not zombie) process of the group is left."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    if not Path("/proc/self").exists():
        return True
    # members may be zombies waiting for a parent that is gone; count only live ones
    return any(group == pgid for _, group, _ in _live_processes())


def server_processes(state: ServerState) -> dict[str, list[int]]:
    """pids of the frontend (Java) and of the Python workers of a running server."""
    workers = [
        pid
        for pid, group, proc in _live_processes()
        if group == state.pgid and pid != state.pid and b"model_service_worker" in _cmdline(proc)
    ]
    return {"frontend": [state.pid], "workers": sorted(workers)}


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""


# -- logs ------------------------------------------------------------------------------------------
def log_tail(run_dir: Path, names: Iterable[str] = LOG_FILES, lines: int = 25) -> str:
    """The last lines of the launcher's output and TorchServe's logs (for error messages)."""
    out = []
    for name in names:
        path = Path(run_dir) / name
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
            if text:
                out.append(f"--- {path} ---\n" + "\n".join(text))
    return "\n".join(out)


def check_logs_for_failure(run_dir: Path) -> None:
    """Raise the matching error when the logs show a failure that waiting would not cure."""
    for name in LOG_FILES:
        path = Path(run_dir) / name
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for pattern, error, message in _FATAL_PATTERNS:
            if pattern.search(text):
                where = re.search(r"Failed to bind to address: (\S+)", text)
                detail = f" ({where.group(1)})" if where else ""
                raise error(f"{message}{detail}:\n{log_tail(run_dir)}")


# -- start, wait, stop -----------------------------------------------------------------------------
def _not_ready(state: ServerState, token: str | None) -> list[str]:
    """The served models (``name`` or ``name/version``) without a READY worker yet, with their workers' status."""
    waiting = []
    for model in state.served_models:
        statuses = worker_statuses(state, token, model.name, model.version or None)
        if "READY" not in statuses:
            waiting.append(f"{model.name}/{model.version or 'default'}: workers {statuses}")
    return waiting


def wait_until_ready(state: ServerState, timeout_s: float, poll_s: float = 0.25) -> float:
    """Wait until every served model has a READY worker on the management API; returns the seconds waited."""
    start = time.monotonic()
    run_dir = Path(state.run_dir)
    last = "the server has not answered yet"
    while True:
        if not is_torchserve(state.pid):
            check_logs_for_failure(run_dir)
            raise errors.ServerStartError(f"TorchServe exited during start-up:\n{log_tail(run_dir)}")
        check_logs_for_failure(run_dir)
        try:
            token = read_token(run_dir, "management") if state.token_auth else None
            waiting = _not_ready(state, token)
            if not waiting:
                return time.monotonic() - start
            last = "; ".join(waiting)
        except (errors.NotRunningError, OSError, errors.ServeError, ValueError) as exc:
            last = str(exc)
        if time.monotonic() - start > timeout_s:
            what = "the model was" if len(state.served_models) == 1 else "the models were"
            raise errors.ServerStartError(f"{what} not READY after {timeout_s:.0f} s ({last}):\n{log_tail(run_dir)}")
        time.sleep(poll_s)


def _ensure_archives(config: ServeConfig, rebuild: bool) -> None:
    """Bring every served archive up to date (each has its own fingerprint: only changed ones are rebuilt)."""
    for archive in config.archives:
        try:
            ensure_archive(archive, force=rebuild)
        except PermissionError as exc:
            if rebuild or not archive.archive_path.is_file():
                raise errors.ArchiveError(f"cannot write the model archive: {exc}") from None
            log.warning("%s looks out of date but %s is read-only: serving it as it is", archive.archive_path,
                        archive.model_store)  # fmt: skip


def _prepare(config: ServeConfig, check_ports: bool, rebuild: bool) -> tuple[ServeConfig, dict[str, Path]]:
    """Refuse a second server, check ports, pick gRPC ports, bring the archives up to date, write the files."""
    run_dir = config.run_dir
    previous = ServerState.read(run_dir)
    if previous is not None and is_torchserve(previous.pid):
        raise errors.AlreadyRunningError(f"a server from {run_dir} is already running (pid {previous.pid}, "
                                  f"{previous.prediction_url}); run `affectlens stop` first")  # fmt: skip
    if check_ports:
        check_ports_free(config.host, (config.inference_port, config.management_port, config.metrics_port))
    if config.grpc_ports is None:
        grpc = free_ports(2, config.host)
        config = replace(config, grpc_ports=(grpc[0], grpc[1]))
    _ensure_archives(config, rebuild)
    paths = write_server_files(config)
    for stale in (run_dir / KEY_FILE, run_dir / STATE_FILE, run_dir / "tmp" / PID_FILE):
        stale.unlink(missing_ok=True)
    for old in (run_dir / "logs").glob("*.log"):
        old.unlink(missing_ok=True)  # a fresh log per start: the failure checks read these
    return config, paths


def _launch(config: ServeConfig, paths: dict[str, Path], foreground: bool) -> subprocess.Popen[bytes]:
    """Run the torchserve launcher in its own process group, in the run directory."""
    run_dir = config.run_dir
    env = dict(os.environ)
    env.pop("TS_CONFIG_FILE", None)  # the launcher would prefer it over --ts-config
    env.update({
        "LOG_LOCATION": str(run_dir / "logs"), "METRICS_LOCATION": str(run_dir / "logs"),
        "TEMP": str(run_dir / "tmp"), "TMPDIR": str(run_dir / "tmp"),  # extracted archives + the launcher's pid file
        "HF_HUB_OFFLINE": "1", OVERRIDES_ENV: json.dumps(dict(config.handler_overrides)),
    })  # fmt: skip
    cmd = [
        sys.executable, "-m", "ts.model_server", "--start", "--ncs",
        "--ts-config", str(paths["config"]), "--model-store", str(Path(config.archive.model_store).resolve()),
        "--log-config", str(paths["log_config"]),
        # one name=file per archive: two versions of one name are two entries (the first is the default version)
        "--models", *(f"{a.model_name}={a.archive_path.name}" for a in config.archives),
    ]  # fmt: skip
    if not config.token_auth:
        cmd.append("--disable-token-auth")
    if foreground:
        cmd.append("--foreground")
    out = open(run_dir / "torchserve.out", "wb")  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen(cmd, cwd=run_dir, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    finally:
        out.close()


def _frontend_pid(run_dir: Path, launcher: subprocess.Popen[bytes], timeout_s: float = 60.0) -> int:
    """The frontend's pid, from the launcher's pid file."""
    pid_file = run_dir / "tmp" / PID_FILE
    deadline = time.monotonic() + timeout_s
    while not pid_file.is_file() or not pid_file.read_text().strip():
        if launcher.poll() is not None and not pid_file.is_file():
            raise errors.ServerStartError(
                f"the torchserve launcher exited ({launcher.returncode}):\n{log_tail(run_dir)}"
            )
        if time.monotonic() > deadline:
            kill_group(launcher.pid)
            raise errors.ServerStartError(f"TorchServe did not start within {timeout_s:.0f} s:\n{log_tail(run_dir)}")
        time.sleep(0.05)
    return int(pid_file.read_text().strip())


def start_server(config: ServeConfig, *, foreground: bool = False, check_ports: bool = True,
                 rebuild: bool = False) -> tuple[ServerState, subprocess.Popen[bytes] | None]:  # fmt: skip
    """Start TorchServe for the models and wait until each is READY. Returns the state (and, in foreground mode,
    the launcher process to wait on). On any failure the half-started server is stopped."""
    require_serve_extra()
    run_dir = Path(config.run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    config, paths = _prepare(replace(config, run_dir=run_dir), check_ports, rebuild)
    models = [asdict(m) for m in config.served_models()]
    started = time.time()
    launcher = _launch(config, paths, foreground)
    pid = _frontend_pid(run_dir, launcher)
    state = ServerState(
        pid=pid, pgid=launcher.pid, run_dir=str(run_dir), model_name=config.model_name, host=config.host,
        inference_port=config.inference_port, management_port=config.management_port,
        metrics_port=config.metrics_port, token_auth=config.token_auth, started_at=started, models=models,
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


def stop_server(run_dir: Path | None = None, timeout_s: float = 30.0, quiet: bool = False) -> bool:
    """Stop the server started from ``run_dir``: SIGTERM to the frontend (it stops its workers), then, if
    anything of its process group is left after ``timeout_s``, SIGKILL to the group. Returns False if none ran."""
    run_dir = run_dir_or_default(run_dir)
    state = ServerState.read(run_dir)
    if state is None:
        return False
    ran = is_torchserve(state.pid)
    if ran:
        with contextlib.suppress(ProcessLookupError):
            os.kill(state.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while (is_torchserve(state.pid) or group_alive(state.pgid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    if group_alive(state.pgid):
        if not quiet:
            log.warning("TorchServe did not stop within %.0f s: killing its process group %d", timeout_s, state.pgid)
        kill_group(state.pgid)
        time.sleep(0.2)
    for name in (KEY_FILE, STATE_FILE, f"tmp/{PID_FILE}"):
        (run_dir / name).unlink(missing_ok=True)
    return ran
