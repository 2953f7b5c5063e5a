"""REST mode (``affectlens score --via URL``): retries, bounded concurrency, tokens, same output as local.

A small HTTP server in a thread mimics the TorchServe API (token check, 503s, dropped connections) so that
the failure handling is tested deterministically; the last test runs against a real TorchServe.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from affectlens.batch import BatchOptions, score_file
from affectlens.batch.rest import RestError, RestOptions, RestScorer, predictions_url, read_key_file
from affectlens.batch.testing import FakeEngine
from affectlens.errors import AffectlensError
from tests.serving_fixtures import lexicon_torchserve

TOKEN = "s3cret"


class FakeServe:
    """A TorchServe look-alike: ``POST /predictions/affectlens`` with ``{"texts": [...]}``."""

    def __init__(self) -> None:
        self.engine = FakeEngine()
        self.token = TOKEN
        self.fail_first = 0  # answer 503 to this many requests first
        self.drop_every = 0  # close the connection without an answer on every n-th request
        self.always_503 = False
        self.fail_status = 503  # the status of the fail_first answers (507: TorchServe's worker died)
        self.retry_after: str | None = None  # Retry-After header of those answers
        self.paths: list[str] = []  # request targets (absolute URLs when the client goes through a proxy)
        self.requests = 0
        self.in_flight = 0
        self.peak = 0
        self.batch_sizes: list[int] = []
        self.lock = threading.Lock()
        self.delay = 0.0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    outer.requests += 1
                    n = outer.requests
                    outer.in_flight += 1
                    outer.peak = max(outer.peak, outer.in_flight)
                try:
                    if outer.delay:
                        import time

                        time.sleep(outer.delay)
                    outer.paths.append(self.path)
                    if not self.path.endswith("/predictions/affectlens"):
                        return self.answer(404, {"code": 404, "type": "ModelNotFoundException"})
                    if self.headers.get("Authorization") != f"Bearer {outer.token}":
                        return self.answer(400, {"code": 400, "message": "Token Authorization failed. Token "
                                                 "either incorrect, expired, or not provided correctly"})  # fmt: skip
                    if outer.drop_every and n % outer.drop_every == 0:
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return None
                    if outer.always_503 or n <= outer.fail_first:
                        status = 503 if outer.always_503 else outer.fail_status
                        return self.answer(status, {"code": status, "message": "Model affectlens has no worker"})
                    texts = json.loads(body)["texts"]
                    outer.batch_sizes.append(len(texts))
                    return self.answer(200, [r.to_dict() for r in outer.engine.score_batch(texts)])
                finally:
                    with outer.lock:
                        outer.in_flight -= 1

            def answer(self, status: int, obj: Any) -> None:
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status != 200 and outer.retry_after is not None:
                    self.send_header("Retry-After", outer.retry_after)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeServe:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[FakeServe]:
    with FakeServe() as s:
        yield s


def write_input(path: Path, n: int) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps({"id": i, "text": "" if i == 13 else f"review {i} was {'great' if i % 2 else 'bad'}"}))
            f.write("\n")
    return path


def rest(url: str, **kw: Any) -> RestOptions:
    return RestOptions(url=url, token=TOKEN, backoff=0.01, max_backoff=0.05, **kw)


def test_predictions_url_and_key_file(tmp_path: Path) -> None:
    assert predictions_url("http://h:8080") == "http://h:8080/predictions/affectlens"
    assert predictions_url("http://h:8080/predictions/other") == "http://h:8080/predictions/other"
    (tmp_path / "key_file.json").write_text(json.dumps({"inference": {"key": "abc"}, "management": {"key": "m"}}))
    assert read_key_file(tmp_path) == "abc"


def test_rest_output_is_the_same_as_local(tmp_path: Path, serve: FakeServe) -> None:
    src = write_input(tmp_path / "in.jsonl", 300)
    local, remote = tmp_path / "local.jsonl", tmp_path / "remote.jsonl"
    opts = BatchOptions(progress=False, chunk_size=50)
    s_local = score_file(src, local, options=opts, engine=FakeEngine())
    s_remote = score_file(src, remote, options=opts, rest=rest(serve.url, request_batch=16, concurrency=3))
    assert local.read_bytes() == remote.read_bytes()
    assert (tmp_path / "local.jsonl.errors.jsonl").read_text() == (tmp_path / "remote.jsonl.errors.jsonl").read_text()
    assert (s_remote.ok, s_remote.failed) == (s_local.ok, s_local.failed) == (299, 1)
    assert max(serve.batch_sizes) <= 16 and s_remote.scorer.startswith("rest:")


def test_retries_503_and_dropped_connections_with_bounded_concurrency(tmp_path: Path, serve: FakeServe) -> None:
    serve.fail_first, serve.drop_every, serve.delay = 5, 7, 0.01
    src = write_input(tmp_path / "in.jsonl", 400)
    out = tmp_path / "out.jsonl"
    summary = score_file(src, out, options=BatchOptions(progress=False, chunk_size=40),
                         rest=rest(serve.url, request_batch=10, concurrency=3))  # fmt: skip
    assert summary.ok == 399
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [i for i in range(400) if i != 13]
    assert serve.peak <= 3  # never more requests in flight than --concurrency
    assert serve.requests > 40 + 5  # 40 batches + the 503s + the dropped ones


def test_507_is_retried_after_the_servers_retry_after(
    tmp_path: Path, serve: FakeServe, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TorchServe answers 507 when its worker dies mid-request: retried (not failed rows), after Retry-After."""
    import urllib3

    serve.fail_first, serve.fail_status, serve.retry_after = 3, 507, "1"
    waits: list[float | None] = []
    sleep_for_retry = urllib3.Retry.sleep_for_retry

    def recording(self: Any, response: Any) -> bool:
        waits.append(self.get_retry_after(response))
        return bool(sleep_for_retry(self, response))

    monkeypatch.setattr(urllib3.Retry, "sleep_for_retry", recording)
    src = write_input(tmp_path / "in.jsonl", 60)
    out = tmp_path / "out.jsonl"
    summary = score_file(src, out, options=BatchOptions(progress=False, chunk_size=20),
                         rest=rest(serve.url, concurrency=1))  # fmt: skip
    assert (summary.ok, summary.failed, summary.error_codes) == (59, 1, {"empty_text": 1})
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [i for i in range(60) if i != 13]
    assert waits == [1, 1, 1]  # each 507 waited the server's Retry-After


def test_proxies_come_from_the_environment_except_for_loopback(
    tmp_path: Path, serve: FakeServe, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("http_proxy", serve.url)  # the fake server doubles as a forward proxy
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    scorer = RestScorer(rest("http://scoring.invalid:8080"))
    assert scorer.score_batch(["through the proxy"])[0]["label"]
    assert serve.paths == ["http://scoring.invalid:8080/predictions/affectlens"]  # an absolute URI: proxied
    assert RestScorer(rest(serve.url)).score_batch(["direct"])[0]["label"]
    assert serve.paths[-1] == "/predictions/affectlens"  # loopback: never through a proxy


def test_a_server_that_keeps_failing_stops_the_job_resumably(tmp_path: Path, serve: FakeServe) -> None:
    src = write_input(tmp_path / "in.jsonl", 100)
    out = tmp_path / "out.jsonl"
    serve.always_503 = True
    with pytest.raises(RestError, match=r"kept failing after 2 retries.*--resume"):
        score_file(src, out, options=BatchOptions(progress=False), rest=rest(serve.url, retries=2))
    serve.always_503 = False
    summary = score_file(src, out, options=BatchOptions(progress=False, resume=True), rest=rest(serve.url))
    assert summary.rows == 100 and len(out.read_text().splitlines()) == 99


def test_token_problems(tmp_path: Path, serve: FakeServe) -> None:
    scorer = RestScorer(RestOptions(url=serve.url, token="wrong"))
    with pytest.raises(RestError, match="refused the token"):
        scorer.score_batch(["hello"])
    # the key file is re-read once when the server rotated the token
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "key_file.json").write_text(json.dumps({"inference": {"key": TOKEN}}))
    scorer = RestScorer(RestOptions(url=serve.url, token="expired", token_file=str(run_dir / "key_file.json")))
    assert scorer.score_batch(["hello"])[0]["label"]
    with pytest.raises(RestError, match="no such model"):
        RestScorer(rest(serve.url + "/predictions/nope")).score_batch(["x"])


def test_connection_refused_is_retried_then_reported() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(RestError, match="ConnectionRefused"):
        RestScorer(rest(f"http://127.0.0.1:{port}", retries=1)).score_batch(["x"])


def test_cli_via(tmp_path: Path, serve: FakeServe, capsys: pytest.CaptureFixture[str]) -> None:
    from affectlens.cli import main

    src = write_input(tmp_path / "in.jsonl", 30)
    out = tmp_path / "out.parquet"
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "key_file.json").write_text(json.dumps({"inference": {"key": TOKEN}}))
    assert main(["score", str(src), "-o", str(out), "--via", serve.url, "--run-dir", str(run_dir),
                 "--concurrency", "2", "--no-progress"]) == 1  # fmt: skip
    summary = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert (summary["ok"], summary["failed"]) == (29, 1)
    assert main(["score", str(src), "-o", str(out), "--via", serve.url, "--token", "bad", "--quiet"]) == 2
    assert "refused the token" in capsys.readouterr().err
    assert main(["score", str(src), "-o", str(out), "--via", "ftp://x", "--token", "t", "--quiet"]) == 2


# -- a real TorchServe ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.serve
def test_rest_mode_against_a_real_torchserve(tmp_path: Path) -> None:
    from affectlens import serving
    from affectlens.cli import main
    from affectlens.engine import Engine, EngineConfig

    with lexicon_torchserve(tmp_path) as served:
        src = tmp_path / "in.jsonl"
        texts = [f"this is {w} news, number {i}" for i, w in enumerate(["great", "terrible", "ordinary"] * 70)]
        texts[17] = "   "
        with open(src, "w", encoding="utf-8") as f:
            for i, t in enumerate(texts):
                f.write(json.dumps({"id": f"x{i}", "text": t}) + "\n")
        out = tmp_path / "out.jsonl"
        code = main(["score", str(src), "-o", str(out), "--via", served.url, "--run-dir", str(served.run_dir),
                     "--concurrency", "4", "--request-batch", "16", "--quiet"])  # fmt: skip
        assert code == 1  # the blank text
        got = [json.loads(line) for line in out.read_text().splitlines()]
        local = Engine(EngineConfig(mode="lexicon")).score_batch([t for i, t in enumerate(texts) if i != 17])
        assert [g["id"] for g in got] == [f"x{i}" for i in range(len(texts)) if i != 17]
        for g, e in zip(got, local, strict=True):
            assert g["label"] == e.to_dict()["label"]
            assert g["valence"] == pytest.approx(e.to_dict()["valence"], abs=1e-6)
        [err] = [json.loads(line) for line in (tmp_path / "out.jsonl.errors.jsonl").read_text().splitlines()]
        assert (err["line"], err["id"], err["error"]["code"]) == (18, "x17", "empty_text")
        assert serving.read_token(served.run_dir)  # the token came from the run directory
    with pytest.raises(AffectlensError):  # stopped: nothing is listening any more
        RestScorer(RestOptions(url=served.url, retries=0)).score_batch(["x"])
