"""A real TorchServe on free loopback ports, real HTTP requests, the shipped default model.

One server for the module (started through the CLI, waited on until READY, always stopped); the last test
restarts it. Needs the serve extra (torchserve, torch, PyYAML), Java and the default model.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from affectlens import serving
from affectlens.schema import json_schema
from affectlens.serving import free_ports

pytest.importorskip("ts", reason="needs the serve extra (torchserve)")
requests = pytest.importorskip("requests")
jsonschema = pytest.importorskip("jsonschema")
pytestmark = [pytest.mark.serve, pytest.mark.slow]
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("TorchServe needs Java", allow_module_level=True)

MAX_BATCH_DELAY_MS = 30  # long enough that concurrent requests reliably share a batch in this test
BATCH_SIZE = 8


class Server:
    """A TorchServe started by ``affectlens serve`` for the tests."""

    def __init__(self, run_dir: Path, model_store: Path) -> None:
        self.run_dir, self.model_store = run_dir, model_store
        self.ports = free_ports(3)
        self.http = requests.Session()
        self.http.trust_env = False  # loopback: never through a proxy
        self.http.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=32))

    def cli_args(self) -> list[str]:
        inference, management, metrics = self.ports
        return ["--run-dir", str(self.run_dir), "--model-store", str(self.model_store),
                "--inference-port", str(inference), "--management-port", str(management),
                "--metrics-port", str(metrics), "--batch-size", str(BATCH_SIZE),
                "--max-batch-delay", str(MAX_BATCH_DELAY_MS), "--timeout", "240"]  # fmt: skip

    def start(self) -> None:
        from affectlens.cli import main

        assert main(["serve", *self.cli_args()]) == 0

    def stop(self) -> None:
        from affectlens.cli import main

        assert main(["stop", "--run-dir", str(self.run_dir)]) == 0

    @property
    def state(self) -> serving.ServerState:
        state = serving.ServerState.read(self.run_dir)
        assert state is not None
        return state

    @property
    def url(self) -> str:
        return self.state.prediction_url

    def token(self, kind: str = "inference") -> str:
        return serving.read_token(self.run_dir, kind)

    def post(self, body: Any = None, *, data: bytes | None = None, content_type: str = "application/json",
             token: str | None = "default", timeout: float = 60) -> Any:  # fmt: skip
        headers = {"Content-Type": content_type}
        if token == "default":
            token = self.token()
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        payload = data if data is not None else json.dumps(body).encode() if body is not None else b""
        return self.http.post(self.url, data=payload, headers=headers, timeout=timeout)

    def management(self, path: str) -> Any:
        url = f"{self.state.management_url}{path}"
        return self.http.get(url, headers={"Authorization": f"Bearer {self.token('management')}"}, timeout=10)

    def metrics(self) -> str:
        return str(self.http.get(self.state.metrics_url, timeout=10).text)

    def worker_pids(self) -> list[int]:
        [model] = self.management(f"/models/{self.state.model_name}").json()
        return [w["pid"] for w in model["workers"] if w["status"] == "READY"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("serve")
    srv = Server(base / "run", base / "model_store")
    try:
        srv.start()
        yield srv
    finally:
        state = serving.ServerState.read(srv.run_dir)
        serving.stop_server(srv.run_dir, timeout_s=20)
        if state is not None:  # belt and braces: nothing of the server's process group may survive the tests
            serving.kill_group(state.pgid)


@pytest.fixture(scope="module")
def engine() -> Any:
    from affectlens.engine import Engine

    return Engine()


def validate(entry: dict[str, Any]) -> None:
    jsonschema.validate(entry, json_schema())


def model_card() -> dict[str, Any]:
    return serving.read_model_card(serving.default_model_dir())


# -- the server ------------------------------------------------------------------------------------
def test_server_is_ready_and_lists_the_model_with_name_version_and_batching(server: Server) -> None:
    listed = server.management("/models").json()["models"]
    assert [m["modelName"] for m in listed] == ["affectlens"]
    [model] = server.management("/models/affectlens").json()
    assert model["modelVersion"] == model_card()["version"]
    assert (model["batchSize"], model["maxBatchDelay"]) == (BATCH_SIZE, MAX_BATCH_DELAY_MS)
    assert model["minWorkers"] == model["maxWorkers"] == 1 and model["responseTimeout"] == 60
    assert [w["status"] for w in model["workers"]] == ["READY"]
    assert server.state.ready_seconds is not None and server.state.ready_seconds > 0


def test_security_defaults(server: Server) -> None:
    props = (server.run_dir / "config.properties").read_text()
    for key in ("inference_address", "management_address", "metrics_address"):
        assert f"{key}=http://127.0.0.1:" in props
    assert "enable_model_api=false" in props and "disable_token_authorization=false" in props
    assert "allowed_urls=file://" in props and "max_request_size=1048576" in props
    key_file = server.run_dir / "key_file.json"
    assert key_file.is_file() and key_file.stat().st_mode & 0o077 == 0  # only the owner may read the tokens
    # registration is off: the management API refuses to load models
    r = server.http.post(f"{server.state.management_url}/models?url=evil.mar",
                         headers={"Authorization": f"Bearer {server.token('management')}"}, timeout=10)  # fmt: skip
    assert r.status_code == 405
    # TorchServe's working files are in the run directory, not in the repository or the current directory
    repo = Path(serving.__file__).resolve().parents[2]
    assert not (repo / "logs").exists() and not (repo / "key_file.json").exists()
    assert not Path("key_file.json").exists()
    assert (server.run_dir / "logs" / "ts_log.log").is_file()


def test_missing_or_invalid_token_is_refused(server: Server) -> None:
    for token in (None, "not-the-token", server.token("management")):
        r = server.post({"text": "hello"}, token=token)
        assert r.status_code in (400, 401), (token, r.status_code)  # TorchServe 0.12 answers 400
        assert "Token Authorization failed" in r.text
    r = server.http.get(f"{server.state.management_url}/models", timeout=10)
    assert r.status_code in (400, 401)


def test_token_command_prints_the_inference_token(server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    from affectlens.cli import main

    assert main(["token", "--run-dir", str(server.run_dir)]) == 0
    assert capsys.readouterr().out.strip() == server.token()


# -- predictions -----------------------------------------------------------------------------------
def test_single_text_matches_the_in_process_engine(server: Server, engine: Any) -> None:
    r = server.post({"text": "I really love this, it is wonderful!", "id": "r-1"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    validate(body)
    assert body["id"] == "r-1"
    card = model_card()
    assert body["model"] == {"name": card["name"], "version": card["version"]}
    local = engine.score("I really love this, it is wonderful!", id="r-1").to_dict()
    assert body["label"] == local["label"]
    for name, p in local["scores"].items():
        assert body["scores"][name] == pytest.approx(p, abs=1e-5)


def test_texts_list_gives_one_entry_per_text_with_inline_errors(server: Server) -> None:
    r = server.post({"texts": ["great service", "", "awful, never again"], "ids": ["a", "b", "c"]})
    assert r.status_code == 200
    body = r.json()
    assert [e.get("id") for e in body] == ["a", "b", "c"]
    assert body[1]["error"]["code"] == "empty_text"
    assert "label" in body[0] and "label" in body[2]
    for entry in body:
        validate(entry)


def test_text_plain_body(server: Server) -> None:
    r = server.post(data="Das ist großartig, I love it 😍".encode(), content_type="text/plain; charset=utf-8")
    assert r.status_code == 200
    validate(r.json())


def test_explain_returns_token_evidence(server: Server) -> None:
    r = server.post({"text": "I do not like this movie", "explain": True})
    assert r.status_code == 200
    body = r.json()
    validate(body)
    assert [t["text"] for t in body["tokens"]][:3] == ["I", "do", "not"]
    assert any(t["attribution"] is not None for t in body["tokens"])


def test_concurrent_requests_are_batched_and_answered_like_single_ones(server: Server) -> None:
    texts = [f"request {i}: {'I love it' if i % 2 else 'this is terrible'}" for i in range(16)]
    singles = {t: server.post({"text": t}).json() for t in texts[:2]}
    before = _batch_histogram(server.metrics())
    barrier = threading.Barrier(len(texts))
    token = server.token()

    def call(i: int) -> Any:
        barrier.wait()
        return server.post({"text": texts[i], "id": str(i)}, token=token)

    with ThreadPoolExecutor(len(texts)) as pool:
        answers = list(pool.map(call, range(len(texts))))
    assert [a.status_code for a in answers] == [200] * len(texts)
    assert [a.json()["id"] for a in answers] == [str(i) for i in range(len(texts))]
    for i in range(2):  # answered like single requests
        # Not bit-identical: the int8 graph quantizes activations dynamically with one scale per batch
        # tensor, so batch composition moves probabilities by ~1e-3 (the engine shows the same in-process).
        assert answers[i].json()["label"] == singles[texts[i]]["label"]
        for name, p in singles[texts[i]]["scores"].items():
            assert answers[i].json()["scores"][name] == pytest.approx(p, abs=5e-3)
    after = _batch_histogram(server.metrics())
    batches, requests_in_batches = after[0] - before[0], after[1] - before[1]
    assert requests_in_batches == len(texts)
    assert batches < len(texts), "the server answered every request in a batch of its own"


def _batch_histogram(metrics: str) -> tuple[float, float]:
    count = total = 0.0
    for line in metrics.splitlines():
        if line.startswith("affectlens_batch_requests_count{"):
            count += float(line.rsplit(" ", 1)[1])
        elif line.startswith("affectlens_batch_requests_sum{"):
            total += float(line.rsplit(" ", 1)[1])
    return count, total


# -- bad input -------------------------------------------------------------------------------------
BAD: list[tuple[str, dict[str, Any], int, str]] = [
    ("empty body", {"data": b""}, 400, "empty_body"),
    ("invalid JSON", {"data": b'{"text": "unterminated'}, 400, "invalid_json"),
    ("missing text", {"body": {"txt": "typo"}}, 400, "missing_text"),
    ("empty text", {"body": {"text": "  "}}, 400, "empty_text"),
    ("non-UTF-8 JSON", {"data": b'{"text": "caf\xe9"}'}, 400, "invalid_utf8"),
    ("non-UTF-8 text", {"data": b"\xff\xfe\xfa", "content_type": "text/plain"}, 400, "invalid_utf8"),
    ("over-long text", {"body": {"text": "word " * 2000}}, 400, "text_too_long"),
    ("form body", {"data": b"text=hello", "content_type": "application/x-www-form-urlencoded"}, 415,
     "unsupported_media_type"),
    ("50,000 nested lists", {"data": b"[" * 50_000 + b"]" * 50_000}, 400, "invalid_json"),
    ("5000-digit number", {"data": b'{"text": "a", "id": ' + b"9" * 5000 + b"}"}, 400, "invalid_json"),
    ("binary octet-stream", {"data": bytes(range(256)), "content_type": "application/octet-stream"}, 415,
     "unsupported_media_type"),
    ("text as octet-stream", {"data": b"I love it", "content_type": "application/octet-stream"}, 415,
     "unsupported_media_type"),
    ("image", {"data": b"\x89PNG\r\n\x1a\n", "content_type": "image/png"}, 415, "unsupported_media_type"),
]  # fmt: skip


def test_bad_inputs_get_400_with_a_json_error_and_the_worker_survives(server: Server) -> None:
    workers = server.worker_pids()
    for name, kwargs, status, code in BAD:
        r = server.post(**kwargs)
        assert r.status_code == status, (name, r.status_code, r.text)
        assert r.headers["Content-Type"].startswith("application/json"), name
        body = r.json()
        validate(body)
        assert body["error"]["code"] == code, (name, body)
        assert body["error"]["message"], name
    assert server.post({"text": "still here"}).status_code == 200
    assert server.worker_pids() == workers  # no worker died (silently or not)


def test_unsupported_media_type_names_the_accepted_types(server: Server) -> None:
    from affectlens.serving.protocol import ACCEPTED_MEDIA_TYPES

    r = server.post(data=b"\x00\x01", content_type="application/octet-stream")
    assert r.status_code == 415 and all(t in r.json()["error"]["message"] for t in ACCEPTED_MEDIA_TYPES)


def test_a_body_without_content_type_is_read_as_json_or_text(server: Server) -> None:
    headers = {"Authorization": f"Bearer {server.token()}"}  # and no Content-Type
    as_json = server.http.post(server.url, data=b'{"text": "I love it", "id": "j"}', headers=headers, timeout=60)
    as_text = server.http.post(server.url, data=b"I love it", headers=headers, timeout=60)
    assert "content-type" not in {k.lower() for k in as_json.request.headers}
    assert (as_json.status_code, as_text.status_code) == (200, 200), (as_json.text, as_text.text)
    assert as_json.json()["id"] == "j" and as_text.json()["label"] == as_json.json()["label"]


def test_over_size_body_gets_413(server: Server) -> None:
    r = server.post(data=b"a" * (1024 * 1024 + 10), content_type="text/plain")
    assert r.status_code == 413
    assert server.post({"text": "fine"}).status_code == 200


def test_one_bad_request_in_a_server_side_batch_does_not_fail_the_others(server: Server) -> None:
    payloads: list[dict[str, Any]] = [{"body": {"text": f"good {i}"}} for i in range(6)]
    payloads[2] = {"data": b"{broken"}
    payloads[4] = {"body": {"text": ""}}
    barrier = threading.Barrier(len(payloads))
    token = server.token()

    def call(kwargs: dict[str, Any]) -> Any:
        barrier.wait()
        return server.post(**kwargs, token=token)

    with ThreadPoolExecutor(len(payloads)) as pool:
        codes = [r.status_code for r in pool.map(call, payloads)]
    assert codes == [200, 200, 400, 200, 400, 200]


# -- metrics ---------------------------------------------------------------------------------------
def test_prometheus_metrics_include_torchserve_and_stage_timings(server: Server) -> None:
    server.post({"text": "metrics please"})
    text = server.metrics()
    assert "ts_inference_requests_total{" in text
    for stage in ("tokenize", "lexicon", "neural", "ensemble"):
        assert f'affectlens_stage_latency_ms_count{{ModelName="affectlens",Level="Model",Stage="{stage}"' in text
    assert "affectlens_batch_requests_count{" in text and "Requests2XX{" in text
    for stage in ("tokenize", "lexicon", "neural", "ensemble"):  # the same timings in seconds
        assert f'affectlens_stage_latency_seconds_count{{ModelName="affectlens",Level="Model",Stage="{stage}"' in text
    label = server.post({"text": "metrics please"}).json()["label"]
    assert f'affectlens_predictions_total{{ModelName="affectlens",Level="Model",Label="{label}"' in text
    for name in ("affectlens_prediction_confidence_count{", "affectlens_input_tokens_count{",
                 "affectlens_low_confidence_total{"):  # fmt: skip
        assert name in text


# -- life cycle ------------------------------------------------------------------------------------
def test_serve_refuses_a_second_server_and_a_taken_port(server: Server, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    from affectlens.cli import main

    assert main(["serve", *server.cli_args()]) == 2
    assert "already_running" in capsys.readouterr().err
    # another run directory, but the inference port is the running server's
    args = server.cli_args()
    args[args.index("--run-dir") + 1] = str(tmp_path / "other-run")
    args[args.index("--management-port") + 1], args[args.index("--metrics-port") + 1] = map(str, free_ports(2))
    start = time.monotonic()
    assert main(["serve", *args]) == 2
    err = capsys.readouterr().err
    assert "port_in_use" in err and str(server.ports[0]) in err
    assert time.monotonic() - start < 10  # found before anything was started


def test_port_taken_after_the_check_is_still_reported(tmp_path: Path, server: Server) -> None:
    """The race the pre-check cannot see: TorchServe's launcher exits 0, the frontend fails to bind."""
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        ports = [busy.getsockname()[1], *free_ports(2)]
        config = serving.ServeConfig(
            run_dir=tmp_path / "race", archive=serving.ArchiveConfig(model_store=server.model_store),
            inference_port=ports[0], management_port=ports[1], metrics_port=ports[2], ready_timeout_s=120,
        )  # fmt: skip
        with pytest.raises(serving.PortInUseError, match=str(ports[0])):
            serving.start_server(config, check_ports=False)
        assert serving.ServerState.read(tmp_path / "race") is None  # cleaned up
    finally:
        busy.close()


def test_restart_loses_nothing(server: Server) -> None:
    text = {"texts": ["I love this place", "not good, not good at all"], "ids": ["x", "y"]}
    before = server.post(text).json()
    old_token, old_pid = server.token(), server.state.pid
    server.stop()
    assert serving.ServerState.read(server.run_dir) is None
    with pytest.raises(requests.ConnectionError):
        server.http.post(f"http://127.0.0.1:{server.ports[0]}/predictions/affectlens", data=b"{}", timeout=2)
    server.start()
    assert server.state.pid != old_pid
    after = server.post(text).json()
    assert [e["label"] for e in after] == [e["label"] for e in before]
    for a, b in zip(after, before, strict=True):
        assert a["model"] == b["model"]
        for name, p in b["scores"].items():
            assert a["scores"][name] == pytest.approx(p, abs=1e-6)
    [model] = server.management("/models/affectlens").json()
    assert model["modelVersion"] == model_card()["version"] and model["batchSize"] == BATCH_SIZE
    # TorchServe makes new tokens at every start: clients read them again (`affectlens token`)
    assert server.token() != old_token
    assert server.post({"text": "old token"}, token=old_token).status_code == 400


def test_docker_entrypoint_serves_in_the_foreground_is_healthy_and_stops_on_sigterm(server: Server) -> None:
    """The image's ENTRYPOINT and HEALTHCHECK, run outside Docker (on loopback)."""
    import signal
    import subprocess
    import sys

    repo = Path(serving.__file__).resolve().parents[2]
    health = [sys.executable, str(repo / "docker" / "healthcheck.py"), "--run-dir", str(server.run_dir)]
    assert subprocess.run(health, capture_output=True, check=False).returncode == 0
    server.stop()
    assert subprocess.run(health, capture_output=True, check=False).returncode == 1
    env = {**os.environ, "AFFECTLENS_HOST": "127.0.0.1", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    proc = subprocess.Popen([str(repo / "docker" / "entrypoint.sh"), *server.cli_args()], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()  # printed once the model is READY
        assert url == server.url, proc.stderr.read() if proc.poll() is not None and proc.stderr else url
        assert subprocess.run(health, capture_output=True, check=False).returncode == 0
        assert server.post({"text": "served from the entrypoint"}).status_code == 200
        proc.send_signal(signal.SIGTERM)  # what `docker stop` does
        assert proc.wait(timeout=60) == 0
        assert serving.ServerState.read(server.run_dir) is None
        assert subprocess.run(health, capture_output=True, check=False).returncode == 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
