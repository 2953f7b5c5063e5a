"""REST mode of batch jobs: score against a running TorchServe (``affectlens score --via URL``).

A :class:`RestScorer` is just another scorer with ``score_batch(texts, explain=...)``: the batch job runs it in
``concurrency`` threads, one chunk per thread, so at most ``concurrency`` requests are in flight. Each chunk is
sent as requests of ``request_batch`` texts (``POST /predictions/<model>`` with ``{"texts": [...]}``, answered by
a JSON list of prediction objects in order). Connection errors and 429/500/502/503/504 answers are retried
with exponential backoff and jitter; 401/403 re-read the token file once (TorchServe rotates keys) and then
fail. Standard library only (``http.client``): no extra dependency.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import threading
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from affectlens.errors import AffectlensError, ConfigError

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
DEFAULT_MODEL = "affectlens"
TOKEN_ENV = "AFFECTLENS_TOKEN"
MAX_EXPLAIN_TEXTS = 16  # the handler's default limit of texts per request with "explain": true


class RestError(AffectlensError):
    """The server refused or kept failing; the job stops (and ``--resume`` continues it later)."""

    code = "rest_failed"


@dataclass(frozen=True)
class RestOptions:
    url: str
    token: str | None = None
    token_file: str | None = None  # re-read on 401 (TorchServe's key_file.json)
    concurrency: int = 4
    request_batch: int = 32
    retries: int = 8
    backoff: float = 0.25  # first retry delay (seconds), doubled each retry, with jitter
    max_backoff: float = 10.0
    timeout: float = 120.0

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.request_batch < 1 or self.retries < 0:
            raise ConfigError("--concurrency and --request-batch must be >= 1, --retries >= 0")
        parsed = urllib.parse.urlsplit(self.url)
        if parsed.scheme not in {"http", "https"} or not parsed.netloc:
            raise ConfigError(f"--via must be an http(s) URL like http://127.0.0.1:8080, not {self.url!r}")


def predictions_url(url: str, model: str = DEFAULT_MODEL) -> str:
    """``http://host:8080`` -> ``http://host:8080/predictions/affectlens``; full URLs are kept."""
    parsed = urllib.parse.urlsplit(url)
    if "/predictions/" in parsed.path:
        return url
    return urllib.parse.urlunsplit(parsed._replace(path=parsed.path.rstrip("/") + f"/predictions/{model}"))


def read_key_file(path: str | os.PathLike[str]) -> str:
    """The inference key in a TorchServe ``key_file.json`` (or a folder holding one)."""
    p = Path(path)
    if p.is_dir():
        p = p / "key_file.json"
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the inference token from {p}: {exc}") from None
    key = (data.get("inference") or {}).get("key") if isinstance(data, dict) else None
    if not key:
        raise ConfigError(f"{p} has no inference key (expected {{'inference': {{'key': ...}}}})")
    return str(key)


def resolve_token(token: str | None = None, run_dir: str | None = None) -> str | None:
    """``--token``, else ``$AFFECTLENS_TOKEN``, else the key file of ``--run-dir``, else the key file of the
    server started by ``affectlens serve`` (its default run directory), else None (token auth off)."""
    if token:
        return token
    if os.environ.get(TOKEN_ENV):
        return os.environ[TOKEN_ENV]
    if run_dir:
        return read_key_file(run_dir)
    try:
        from affectlens.serving import read_token
    except ImportError:  # pragma: no cover - serving is part of the package
        return None
    try:
        return read_token()
    except (AffectlensError, OSError, ValueError):
        return None  # no server started from the default run directory: send no token


def token_file_for(token: str | None, run_dir: str | None) -> str | None:
    """The key file to re-read when the server rotates the token (None when the token was given)."""
    if token or os.environ.get(TOKEN_ENV):
        return None
    if run_dir:
        return str(Path(run_dir) / "key_file.json") if Path(run_dir).is_dir() else run_dir
    try:
        from affectlens.serving import KEY_FILE, default_run_dir
    except ImportError:  # pragma: no cover
        return None
    path = default_run_dir() / KEY_FILE
    return str(path) if path.is_file() else None


class RestScorer:
    """``score_batch`` over HTTP; thread-safe (one persistent connection per thread)."""

    def __init__(self, options: RestOptions) -> None:
        self.options = options
        self.url = predictions_url(options.url)
        parsed = urllib.parse.urlsplit(self.url)
        self._https = parsed.scheme == "https"
        self._host = parsed.netloc
        self._path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        self._token = options.token
        self._local = threading.local()
        self.retried = 0  # retries done (for reports)
        self._lock = threading.Lock()

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            conn = cls(self._host, timeout=self.options.timeout)
            self._local.conn = conn
        return conn

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
        self._local.conn = None

    def score_batch(self, texts: Sequence[object], *, explain: bool = False, **_: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        step = min(self.options.request_batch, MAX_EXPLAIN_TEXTS) if explain else self.options.request_batch
        for i in range(0, len(texts), step):
            out.extend(self._request(list(texts[i : i + step]), explain))
        return out

    def _request(self, texts: list[object], explain: bool) -> list[dict[str, Any]]:
        payload: dict[str, Any] = {"texts": texts}
        if explain:
            payload["explain"] = True
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8", "backslashreplace")
        attempt = 0
        reread_token = bool(self.options.token_file)
        while True:
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
            if self._token:
                headers["Authorization"] = f"Bearer {self._token}"
            status, data, problem = None, b"", ""
            try:
                conn = self._connection()
                conn.request("POST", self._path, body=body, headers=headers)
                resp = conn.getresponse()
                status, data = resp.status, resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self._drop_connection()
            except (TimeoutError, OSError, http.client.HTTPException) as exc:
                self._drop_connection()
                problem = f"{type(exc).__name__}: {exc}"
            if status == 200:
                return self._parse(data, len(texts))
            auth_failed = status in (401, 403) or (status == 400 and b"Token Authorization failed" in data)
            if auth_failed and reread_token and self.options.token_file:
                reread_token = False
                self._token = read_key_file(self.options.token_file)
                continue
            if auth_failed:
                raise RestError(self._explain_status(401, data))
            if status is not None and status not in RETRY_STATUS:
                raise RestError(self._explain_status(status, data))
            if attempt >= self.options.retries:
                what = problem or f"HTTP {status}: {data[:200].decode('utf-8', 'replace')}"
                raise RestError(f"{self.url} kept failing after {attempt} retries ({what}); "
                                "check the server, then run again with --resume")  # fmt: skip
            delay = min(self.options.max_backoff, self.options.backoff * 2**attempt)
            time.sleep(delay * (0.5 + random.random() / 2))
            attempt += 1
            with self._lock:
                self.retried += 1

    def _parse(self, data: bytes, n: int) -> list[dict[str, Any]]:
        try:
            parsed = json.loads(data)
        except ValueError:
            raise RestError(f"{self.url} answered with invalid JSON: {data[:200]!r}") from None
        if isinstance(parsed, dict) and n == 1 and "texts" not in parsed:
            parsed = [parsed]
        if isinstance(parsed, dict):
            for key in ("predictions", "results"):
                if isinstance(parsed.get(key), list):
                    parsed = parsed[key]
                    break
        if not isinstance(parsed, list) or len(parsed) != n or not all(isinstance(p, dict) for p in parsed):
            raise RestError(f"{self.url} answered {type(parsed).__name__} for {n} texts; expected a list of {n} "
                            "prediction objects")  # fmt: skip
        return parsed

    def _explain_status(self, status: int, data: bytes) -> str:
        text = data[:300].decode("utf-8", "replace")
        if status in (401, 403):
            return (f"{self.url} refused the token (HTTP {status}): pass --token, --run-dir of the server, or "
                    f"${TOKEN_ENV} (`affectlens token` prints it)")  # fmt: skip
        if status == 404:
            return f"{self.url}: no such model (HTTP 404): is the model registered? ({text})"
        if status == 413:
            return f"{self.url}: request too large (HTTP 413): lower --request-batch"
        return f"{self.url} answered HTTP {status}: {text}"
