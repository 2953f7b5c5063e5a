"""A real Label Studio round trip: ``affectlens select`` writes a batch, a real server imports it, annotators
(the REST API here) agree or disagree with the pre-annotations, and ``read_export`` reads the export back.

Label Studio 1.23.2, installed by ``make label-studio`` into its own ``.venv-ls/`` (its pins clash with ours),
started with ``label-studio start --no-browser --internal-host 127.0.0.1 -p PORT`` and SQLite under
``tmp_path`` (``LABEL_STUDIO_BASE_DATA_DIR``); the first user and its API token come from
``LABEL_STUDIO_USERNAME`` / ``LABEL_STUDIO_PASSWORD`` / ``LABEL_STUDIO_USER_TOKEN``. Since 1.15 such a token
is a "legacy" token that works only with ``--enable-legacy-api-token`` (or ``LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN``);
requests send ``Authorization: Token <token>``. Endpoints used:

- ``GET /health``: readiness (``{"status": "UP"}``);
- ``POST /api/projects``: ``{"title", "label_config"}`` -> the project ``id``;
- ``POST /api/projects/{id}/import``: the JSON list of tasks ``select`` wrote (pre-annotations included);
- ``GET /api/tasks?project={id}``: the tasks (``{"tasks": [...]}``; ``total_predictions`` per task);
- ``POST /api/tasks/{id}/annotations``: ``{"result": [...], "was_cancelled": bool}``;
- ``GET /api/projects/{id}/export?exportType=JSON&download_all_tasks=true`` and ``exportType=JSON_MIN``.

The first start migrates a new SQLite database: about 1.5 minutes on 2 busy cores; the rest takes seconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from affectlens.cli import main
from affectlens.domain import label_studio
from affectlens.labels import SENTIMENT_LABELS
from affectlens.serving import free_ports

ROOT = Path(__file__).resolve().parent.parent
LABEL_STUDIO = ROOT / ".venv-ls" / "bin" / "label-studio"
TOKEN = "affectlens-roundtrip-token-0123456789"
START_TIMEOUT_S = 300

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not LABEL_STUDIO.is_file(), reason=f"Label Studio is not installed ({LABEL_STUDIO}): run `make label-studio`"
    ),
]


class Server:
    """A Label Studio process on a loopback port, and JSON requests to its API."""

    def __init__(self, data_dir: Path) -> None:
        (self.port,) = free_ports(1)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "label-studio.log"
        env = {
            **os.environ,
            "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir / "data"),
            "LABEL_STUDIO_USERNAME": "annotator@example.com",
            "LABEL_STUDIO_PASSWORD": "roundtrip-password-1",
            "LABEL_STUDIO_USER_TOKEN": TOKEN,
            "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
            "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
            "LABEL_STUDIO_LATEST_VERSION_CHECK": "false",  # no call to pypi.org at start
            "LABEL_STUDIO_COLLECT_ANALYTICS": "false",
        }
        argv = [str(LABEL_STUDIO), "start", "--no-browser", "--internal-host", "127.0.0.1", "-p", str(self.port),
                "--enable-legacy-api-token", "--log-level", "WARNING"]  # fmt: skip
        self.log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(argv, cwd=data_dir, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"label-studio exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=5) as r:
                    if json.loads(r.read()).get("status") == "UP":
                        return
            except (OSError, ValueError):
                pass
            time.sleep(1)
        pytest.fail(f"label-studio not up after {timeout_s} s:\n{self.log_tail()}")

    def api(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        request.add_header("Authorization", f"Token {TOKEN}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as exc:
            pytest.fail(f"{method} {path} -> {exc.code}: {exc.read()[:2000]!r}")

    def log_tail(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # its own session: the server and its reloader children
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()


POOL = [
    *(f"I really love this {x}" for x in ("phone", "hotel", "camera")),
    *(f"this {x} is a disaster" for x in ("phone", "hotel", "camera")),
    *(f"the {x} arrived on tuesday" for x in ("phone", "hotel", "camera")),
    "not bad, not great", "the ending was … something", "Ça marche, mais bof 🙃", "fine, I suppose",
    "great staff but the room smelled", "cheap and it shows", "could have been worse",
]  # fmt: skip


def _other(label: str) -> str:
    return next(name for name in SENTIMENT_LABELS if name != label)


def _annotate(server: Server, tasks: list[dict[str, Any]], batch: dict[str, str]) -> dict[str, str | None]:
    """Annotate in a cycle: agree; disagree; disagree then correct to agree (the latest counts); skip (cancel);
    leave alone. Returns what each text's label must read back as."""
    expected: dict[str, str | None] = {}
    for k, t in enumerate(sorted(tasks, key=lambda t: t["id"])):
        text = t["data"]["text"]
        predicted = batch[text]
        path = f"/api/tasks/{t['id']}/annotations"
        kind = k % 5
        if kind == 0:
            server.api("POST", path, {"result": label_studio.choice_result(predicted)})
            expected[text] = predicted
        elif kind == 1:
            server.api("POST", path, {"result": label_studio.choice_result(_other(predicted))})
            expected[text] = _other(predicted)
        elif kind == 2:
            server.api("POST", path, {"result": label_studio.choice_result(_other(predicted))})
            server.api("POST", path, {"result": label_studio.choice_result(predicted)})
            expected[text] = predicted
        elif kind == 3:
            server.api("POST", path, {"result": [], "was_cancelled": True})
            expected[text] = None
        else:
            expected[text] = None
    return expected


def test_select_import_annotate_export_read_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in POOL), encoding="utf-8")
    out = tmp_path / "batch.json"
    server = Server(tmp_path)  # start first: its migrations take the longest
    try:
        assert main(["select", str(pool), "-n", "10", "-o", str(out)]) == 0
        capsys.readouterr()
        import_tasks = json.loads(out.read_text(encoding="utf-8"))
        batch = {t["data"]["text"]: t["predictions"][0]["result"][0]["value"]["choices"][0] for t in import_tasks}
        assert len(batch) == 10

        server.wait_ready()
        config = (tmp_path / "label_config.xml").read_text(encoding="utf-8")
        project = server.api("POST", "/api/projects", {"title": "affectlens round trip", "label_config": config})
        pid = project["id"]
        imported = server.api("POST", f"/api/projects/{pid}/import", import_tasks)
        assert (imported["task_count"], imported["prediction_count"]) == (10, 10)
        listed = server.api("GET", f"/api/tasks?project={pid}&page_size=100")
        tasks = listed["tasks"] if isinstance(listed, dict) else listed
        assert sorted(t["data"]["text"] for t in tasks) == sorted(batch)
        assert all(t["total_predictions"] == 1 for t in tasks)  # the pre-annotations were accepted
        expected = _annotate(server, tasks, batch)

        export = server.api("GET", f"/api/projects/{pid}/export?exportType=JSON&download_all_tasks=true")
        (tmp_path / "export.json").write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
        back = label_studio.read_export(tmp_path / "export.json")
        assert [text for text, _ in back] == [t["data"]["text"] for t in import_tasks]  # every text, exactly
        assert dict(back) == expected
        assert sum(label is not None for label in expected.values()) == 6

        minimal = server.api("GET", f"/api/projects/{pid}/export?exportType=JSON_MIN")
        (tmp_path / "export_min.json").write_text(json.dumps(minimal, ensure_ascii=False), encoding="utf-8")
        assert dict(label_studio.read_export(tmp_path / "export_min.json")) == {
            text: label for text, label in expected.items() if label is not None
        }
    finally:
        server.stop()

    # the export as --labelled: the next round skips everything already in the project
    nxt = tmp_path / "round2.json"
    argv = ["select", str(pool), "-n", "3", "-o", str(nxt), "--labelled", str(tmp_path / "export.json")]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["pool"]["skipped"] == {"labelled": 10}
    assert not {t["data"]["text"] for t in json.loads(nxt.read_text(encoding="utf-8"))} & set(batch)
