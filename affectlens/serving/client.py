"""The management API client: tokens from the key file, the model's workers (the real health check)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from affectlens.errors import NotRunningError, ServeError
from affectlens.serving.paths import run_dir_or_default
from affectlens.serving.protocol import KEY_FILE, read_key_file
from affectlens.serving.state import ServerState


def read_token(run_dir: Path | None = None, kind: str = "inference") -> str:
    """The current TorchServe key of ``kind`` (inference, management or API) from the run directory."""
    run_dir = run_dir_or_default(run_dir)
    path = run_dir / KEY_FILE
    if not path.is_file():
        state = ServerState.read(run_dir)
        if state is not None and not state.token_auth:
            raise ServeError("token authorization is off for this server (--no-token-auth): no token is needed")
        raise NotRunningError(f"no key file in {run_dir}: start the server with `affectlens serve` (or pass --run-dir)")
    try:
        return read_key_file(path, kind)
    except KeyError:
        raise ServeError(f"{path} has no {kind} key") from None


def http_get(url: str, token: str | None, timeout: float = 3.0) -> tuple[int, bytes]:
    """(status, body) of a GET on loopback (never through a proxy); HTTP errors are answers, not raised."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with opener.open(request, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def model_status(state: ServerState, token: str | None = None, name: str | None = None,
                 version: str | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """``GET /models/<name>[/<version>]`` on the management API: the model's default version (or the version
    asked for) with its workers. ``name`` defaults to the main model."""
    if token is None and state.token_auth:
        token = read_token(Path(state.run_dir), "management")
    path = f"/models/{name or state.model_name}" + (f"/{version}" if version else "")
    code, body = http_get(f"{state.management_url}{path}", token)
    if code != 200:
        raise ServeError(f"management API answered {code} for {path}: {body[:300]!r}")
    data = json.loads(body)
    return list(data) if isinstance(data, list) else [data]


def worker_statuses(state: ServerState, token: str | None = None, name: str | None = None,
                    version: str | None = None) -> list[str]:  # fmt: skip
    """The status of each worker of the model (READY, UNLOADING, ...); the main model unless ``name`` is given."""
    return [str(w.get("status")) for v in model_status(state, token, name, version) for w in v.get("workers", [])]


def ready_workers(state: ServerState) -> int:
    """How many workers of the main model are READY (the health check; /ping says Healthy before it loads)."""
    return worker_statuses(state).count("READY")
