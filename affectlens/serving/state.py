"""``<run dir>/server.json``: what ``affectlens serve`` records about a running server."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATE_FILE = "server.json"


@dataclass(frozen=True)
class ServedModel:
    """One model archive of a server: TorchServe's name and version, the archive file and the model folder.
    ``default``: the first version given of its name (answers ``/predictions/<name>``)."""

    name: str
    version: str
    archive: str
    model_dir: str
    default: bool = True

    @property
    def path(self) -> str:
        """The prediction path: ``/predictions/<name>``, or ``/predictions/<name>/<version>`` for a second version."""
        return f"/predictions/{self.name}" if self.default else f"/predictions/{self.name}/{self.version}"


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
    models: list[dict[str, Any]] = field(default_factory=list)  # every ServedModel, the main one first

    @property
    def served_models(self) -> list[ServedModel]:
        """The served models (the main one first); a state written before there were several: the main one."""
        if not self.models:
            return [ServedModel(self.model_name, "", f"{self.model_name}.mar", "")]
        names = ServedModel.__dataclass_fields__
        return [ServedModel(**{k: v for k, v in m.items() if k in names}) for m in self.models]

    @property
    def _client_host(self) -> str:
        """Where a client on this machine connects (a wildcard address is not a destination)."""
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        return f"[{host}]" if ":" in host else host

    @property
    def prediction_url(self) -> str:
        return f"{self.inference_url}/predictions/{self.model_name}"

    @property
    def inference_url(self) -> str:
        return f"http://{self._client_host}:{self.inference_port}"

    @property
    def prediction_urls(self) -> list[str]:
        """One prediction URL per served model, the main one first."""
        return [f"{self.inference_url}{m.path}" for m in self.served_models]

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
