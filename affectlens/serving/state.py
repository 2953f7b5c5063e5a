"""``<run dir>/server.json``: what ``affectlens serve`` records about a running server."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

STATE_FILE = "server.json"


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
        """The recorded state, or None when no server was started from ``run_dir`` (or the file is unreadable)."""
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
