"""A TorchServe worker killed in the middle of a REST batch job (``affectlens score --via``): no row is lost.

TorchServe answers 507 to the requests the dead worker held and 503 until it has restarted the worker; the
client retries both, so the job finishes with every row once, in order. Needs the serve extra and Java.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from affectlens.batch import BatchOptions, RestOptions, score_file
from tests.serving_fixtures import lexicon_torchserve

pytestmark = [pytest.mark.slow, pytest.mark.serve]


def worker_pids(run_dir: Path) -> list[int]:
    from affectlens import serving

    state = serving.ServerState.read(run_dir)
    assert state is not None
    request = urllib.request.Request(
        f"{state.management_url}/models/{state.model_name}",
        headers={"Authorization": f"Bearer {serving.read_token(run_dir, 'management')}"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as resp:
        [model] = json.loads(resp.read())
    return [w["pid"] for w in model["workers"] if w["status"] == "READY" and w.get("pid")]  # fmt: skip


def test_a_worker_killed_mid_job_loses_no_row(tmp_path: Path) -> None:
    from affectlens import serving

    with lexicon_torchserve(tmp_path) as served:
        run_dir = served.run_dir
        src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
        n = 3000
        with open(src, "w", encoding="utf-8") as f:
            for i in range(n):
                f.write(json.dumps({"id": f"x{i}", "text": f"review {i} was {'great' if i % 2 else 'awful'}"}) + "\n")
        rest = RestOptions(url=served.url, token=serving.read_token(run_dir), concurrency=4, request_batch=8,
                           retries=12, backoff=0.5)  # fmt: skip
        result: dict[str, Any] = {}

        def job() -> None:
            try:
                result["summary"] = score_file(src, out, options=BatchOptions(progress=False, chunk_size=40), rest=rest)
            except BaseException as exc:  # reported by the assertion below
                result["error"] = exc

        thread = threading.Thread(target=job)
        thread.start()
        checkpoint = tmp_path / "out.jsonl.checkpoint.json"
        while thread.is_alive():  # kill the worker once the job has committed some rows
            try:
                if json.loads(checkpoint.read_text())["rows"] >= 400:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.02)
        [pid] = worker_pids(run_dir)
        os.kill(pid, signal.SIGKILL)
        thread.join(timeout=300)
        assert not thread.is_alive() and "error" not in result, result.get("error")
        summary = result["summary"]
        assert (summary.rows, summary.ok, summary.failed) == (n, n, 0)
        ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
        assert ids == [f"x{i}" for i in range(n)]  # every row once, in order: none lost, none failed
        assert worker_pids(run_dir) != [pid]  # the job really outlived the worker
