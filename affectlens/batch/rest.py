"""REST mode of batch jobs: score against a running TorchServe (``affectlens score --via URL``).

A :class:`RestScorer` is just another scorer with ``score_batch(texts, explain=...)``: the job runs it in
``concurrency`` threads, one chunk per thread, so at most ``concurrency`` requests are in flight. Each chunk is
sent as requests of ``request_batch`` texts (``POST /predictions/<model>`` with ``{"texts": [...]}``, answered by
a JSON list of prediction objects in order).

Retries are urllib3's ``Retry``: connection errors, dropped connections and HTTP 429/500/502/503/504/507 (507:
TorchServe's worker died mid-request; TorchServe restarts it) are retried with exponential backoff and jitter,
or after the server's ``Retry-After``. Scoring is a pure function of the texts, so a POST is safe to repeat.
401/403 re-read the token file once (TorchServe rotates keys) and then fail. Proxies come from the environment
(``https_proxy``, ``http_proxy``, ``no_proxy``) except for loopback addresses, which no proxy can reach.
"""

from __future__ import annotations

import ipaddress
import json
import os
import threading
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from affectlens.errors import AffectlensError, ConfigError, MissingDependencyError

RETRY_STATUS = frozenset({429, 500, 502, 503, 504, 507})
TOKEN_ENV = "AFFECTLENS_TOKEN"
MAX_EXPLAIN_TEXTS = 16  # the handler's default limit of texts per request with "explain": true


class RestError(AffectlensError):
    """The server refused or kept failing; the job stops (and ``--resume`` continues it later)."""

    code = "rest_failed"


@dataclass(frozen=True)
class RestOptions:
    """A running TorchServe to score with, and how to talk to it."""

    url: str
    token: str | None = None
    token_file: str | None = None  # re-read on 401 (TorchServe's key_file.json)
    concurrency: int = 4
    request_batch: int = 32
    retries: int = 8
    backoff: float = 0.25  # backoff factor (s): the n-th retry waits backoff * 2**(n-1) plus up to backoff jitter
    max_backoff: float = 10.0
    max_retry_after: int = 60  # a longer Retry-After from the server is cut to this (seconds)
    timeout: float = 120.0

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.request_batch < 1 or self.retries < 0:
            raise ConfigError("--concurrency and --request-batch must be >= 1, --retries >= 0")
        parsed = urllib.parse.urlsplit(self.url)
        if parsed.scheme not in {"http", "https"} or not parsed.netloc:
            raise ConfigError(f"--via must be an http(s) URL like http://127.0.0.1:8080, not {self.url!r}")


def predictions_url(url: str, model: str | None = None) -> str:
    """``http://host:8080`` -> ``http://host:8080/predictions/affectlens``; full URLs are kept."""
    from affectlens.serving.protocol import DEFAULT_MODEL_NAME

    parsed = urllib.parse.urlsplit(url)
    if "/predictions/" in parsed.path:
        return url
    path = parsed.path.rstrip("/") + f"/predictions/{model or DEFAULT_MODEL_NAME}"
    return urllib.parse.urlunsplit(parsed._replace(path=path))


def read_key_file(path: str | os.PathLike[str]) -> str:
    """The inference key in a TorchServe ``key_file.json`` (or a folder holding one)."""
    from affectlens.serving.protocol import read_key_file as read_key

    try:
        return read_key(Path(path))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the inference token from {path}: {exc}") from None
    except KeyError:
        raise ConfigError(f"{path} has no inference key (expected {{'inference': {{'key': ...}}}})") from None


def resolve_token(token: str | None = None, run_dir: str | None = None) -> str | None:
    """``--token``, else ``$AFFECTLENS_TOKEN``, else the key file of ``--run-dir``, else the key file of the
    server started by ``affectlens serve`` (its default run directory), else None (token auth off)."""
    if token:
        return token
    if os.environ.get(TOKEN_ENV):
        return os.environ[TOKEN_ENV]
    if run_dir:
        return read_key_file(run_dir)
    from affectlens.serving import read_token

    try:
        return read_token()
    except (AffectlensError, OSError, ValueError):
        return None  # no server started from the default run directory: send no token


def token_file_for(token: str | None, run_dir: str | None) -> str | None:
    """The key file to re-read when the server rotates the token (None when the token was given)."""
    from affectlens.serving import default_run_dir
    from affectlens.serving.protocol import KEY_FILE

    if token or os.environ.get(TOKEN_ENV):
        return None
    if run_dir:
        return str(Path(run_dir) / KEY_FILE) if Path(run_dir).is_dir() else run_dir
    path = default_run_dir() / KEY_FILE
    return str(path) if path.is_file() else None


def proxy_for(url: str) -> str | None:
    """The proxy the environment names for ``url`` (None: connect directly; always for loopback)."""
    parsed = urllib.parse.urlsplit(url)
    host = parsed.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback or urllib.request.proxy_bypass(parsed.netloc):
        return None
    return urllib.request.getproxies().get(parsed.scheme)


def import_urllib3() -> Any:
    try:
        import urllib3
    except ImportError:  # pragma: no cover - a dependency of affectlens
        raise MissingDependencyError("urllib3 is not installed: run `pip install 'urllib3>=2.8,<3'`") from None
    return urllib3


def _pool_manager(urllib3: Any, url: str, options: RestOptions) -> Any:
    """A thread-safe connection pool for ``url``, through the environment's proxy where there is one."""
    kwargs: dict[str, Any] = {"maxsize": options.concurrency, "timeout": urllib3.Timeout(options.timeout)}
    proxy = proxy_for(url)
    if proxy is None:
        return urllib3.PoolManager(**kwargs)
    parsed = urllib.parse.urlsplit(proxy)
    if parsed.username:  # credentials in the proxy URL go into Proxy-Authorization
        auth = f"{urllib.parse.unquote(parsed.username)}:{urllib.parse.unquote(parsed.password or '')}"
        kwargs["proxy_headers"] = urllib3.make_headers(proxy_basic_auth=auth)
        proxy = urllib.parse.urlunsplit(parsed._replace(netloc=parsed.netloc.rsplit("@", 1)[1]))
    return urllib3.ProxyManager(proxy, **kwargs)


def _root_cause(exc: BaseException) -> str:
    """``SomeError: message`` of the innermost cause (urllib3 wraps socket errors twice)."""
    inner: BaseException = getattr(exc, "reason", None) or exc
    while inner.__cause__ is not None or inner.__context__ is not None:
        inner = inner.__cause__ or inner.__context__  # type: ignore[assignment]
    return f"{type(inner).__name__}: {inner}"


class RestScorer:
    """``score_batch`` over HTTP; thread-safe (one urllib3 pool of ``concurrency`` connections)."""

    def __init__(self, options: RestOptions) -> None:
        urllib3 = import_urllib3()
        self.options = options
        self.url = predictions_url(options.url)
        self._errors = urllib3.exceptions.HTTPError
        self._http = _pool_manager(urllib3, self.url, options)
        self._retry = urllib3.Retry(
            total=options.retries, status_forcelist=RETRY_STATUS, allowed_methods=None, raise_on_status=False,
            backoff_factor=options.backoff, backoff_jitter=options.backoff, backoff_max=options.max_backoff,
            retry_after_max=options.max_retry_after, redirect=0,
        )  # fmt: skip
        self._token = options.token
        self._lock = threading.Lock()
        self.retried = 0  # retries done (for reports and tests)

    def score_batch(self, texts: Sequence[object], *, explain: bool = False, **_: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        step = min(self.options.request_batch, MAX_EXPLAIN_TEXTS) if explain else self.options.request_batch
        for i in range(0, len(texts), step):
            out.extend(self._request(list(texts[i : i + step]), explain))
        return out

    def _request(self, texts: list[object], explain: bool) -> list[dict[str, Any]]:
        payload: dict[str, Any] = {"texts": texts, **({"explain": True} if explain else {})}
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8", "backslashreplace")
        reread_token = bool(self.options.token_file)
        while True:
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
            if self._token:
                headers["Authorization"] = f"Bearer {self._token}"
            try:
                resp = self._http.request("POST", self.url, body=body, headers=headers, retries=self._retry)
            except self._errors as exc:  # connection errors after the last retry
                raise RestError(self._gave_up(_root_cause(exc))) from None
            with self._lock:
                self.retried += len(resp.retries.history) if resp.retries else 0
            status, data = resp.status, resp.data
            if status == 200:
                return self._parse(data, len(texts))
            if status in (401, 403) or (status == 400 and b"Token Authorization failed" in data):
                if reread_token and self.options.token_file:
                    reread_token = False
                    self._token = read_key_file(self.options.token_file)
                    continue
                status = 401
            if status in RETRY_STATUS:
                raise RestError(self._gave_up(f"HTTP {status}: {data[:200].decode('utf-8', 'replace')}"))
            raise RestError(self._explain_status(status, data))

    def _gave_up(self, what: str) -> str:
        return (f"{self.url} kept failing after {self.options.retries} retries ({what}); check the server, then "
                "run again with --resume")  # fmt: skip

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
