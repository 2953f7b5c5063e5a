"""Two models in one real TorchServe (``affectlens serve --also``): two names, and two versions of one name.

One server for the module: the shipped default model as ``affectlens``, plus a copy of it whose model card
says another name and version, served as ``canary`` and as a second version of ``affectlens``. Every model runs
its own network (the prediction's ``model`` comes from the card of the folder served). Needs the serve extra,
Java and the default model.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from affectlens import serving

pytest.importorskip("ts", reason="needs the serve extra (torchserve)")
requests = pytest.importorskip("requests")
pytestmark = [pytest.mark.serve, pytest.mark.slow]
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("TorchServe needs Java", allow_module_level=True)

CANARY_NAME, CANARY_VERSION = "affectlens-minilm-canary", "0.3.0-canary"


@dataclass
class TwoModels:
    run_dir: Path
    main_card: dict[str, Any]
    canary_card: dict[str, Any]
    stdout: str
    http: Any

    @property
    def state(self) -> serving.ServerState:
        state = serving.ServerState.read(self.run_dir)
        assert state is not None
        return state

    def predict(self, path: str, text: str = "I really love this, it is wonderful!") -> Any:
        headers = {"Authorization": f"Bearer {serving.read_token(self.run_dir)}", "Content-Type": "application/json"}
        url = f"http://127.0.0.1:{self.state.inference_port}{path}"
        return self.http.post(url, data=json.dumps({"text": text}), headers=headers, timeout=60)

    def management(self, method: str, path: str) -> Any:
        headers = {"Authorization": f"Bearer {serving.read_token(self.run_dir, 'management')}"}
        return self.http.request(method, f"{self.state.management_url}{path}", headers=headers, timeout=10)


def _canary_copy(dest: Path) -> dict[str, Any]:
    """The shipped model's files (not its ``hf/`` training checkpoint) with another name and version."""
    dest.mkdir()
    for path in serving.default_model_dir().iterdir():
        if path.is_file():
            shutil.copy2(path, dest / path.name)
    card = json.loads((dest / "affectlens_model.json").read_text())
    card.update(name=CANARY_NAME, version=CANARY_VERSION)
    (dest / "affectlens_model.json").write_text(json.dumps(card, indent=2))
    return dict(card)


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoModels]:
    from affectlens.cli import main

    base = tmp_path_factory.mktemp("two-models")
    canary_dir = base / "canary-model"
    canary_card = _canary_copy(canary_dir)
    run_dir = base / "run"
    inference, management, metrics = serving.free_ports(3)
    args = ["serve", "--run-dir", str(run_dir), "--model-store", str(base / "store"),
            "--inference-port", str(inference), "--management-port", str(management), "--metrics-port", str(metrics),
            "--workers", "1", "--threads", "1", "--timeout", "300",
            "--also", f"canary={canary_dir}", "--also", f"affectlens:{CANARY_VERSION}={canary_dir}"]  # fmt: skip
    out = io.StringIO()
    http = requests.Session()
    http.trust_env = False  # loopback: never through a proxy
    try:
        with contextlib.redirect_stdout(out):
            assert main(args) == 0
        main_card = serving.read_model_card(serving.default_model_dir())
        yield TwoModels(run_dir, main_card, canary_card, out.getvalue(), http)
    finally:
        state = serving.ServerState.read(run_dir)
        serving.stop_server(run_dir, timeout_s=20)
        if state is not None:  # nothing of the server's process group may survive the tests
            serving.kill_group(state.pgid)


def test_serve_prints_and_records_every_model(two: TwoModels) -> None:
    base = f"http://127.0.0.1:{two.state.inference_port}/predictions"
    urls = [f"{base}/affectlens", f"{base}/canary", f"{base}/affectlens/{CANARY_VERSION}"]
    assert two.stdout.split() == urls
    assert two.state.prediction_urls == urls and two.state.model_name == "affectlens"
    served = [(m.name, m.version, m.archive) for m in two.state.served_models]
    assert served == [("affectlens", two.main_card["version"], "affectlens.mar"),
                      ("canary", CANARY_VERSION, "canary.mar"),
                      ("affectlens", CANARY_VERSION, f"affectlens@{CANARY_VERSION}.mar")]  # fmt: skip


def test_the_management_api_lists_both_names_and_both_versions_ready(two: TwoModels) -> None:
    listed = two.management("GET", "/models").json()["models"]
    assert sorted(m["modelName"] for m in listed) == ["affectlens", "canary"]
    versions = {m["modelVersion"]: m for m in two.management("GET", "/models/affectlens/all").json()}
    assert sorted(versions) == sorted([two.main_card["version"], CANARY_VERSION])
    for model in [*versions.values(), *two.management("GET", "/models/canary").json()]:
        assert [w["status"] for w in model["workers"]] == ["READY"]
        assert (model["minWorkers"], model["maxWorkers"]) == (1, 1)
    [default] = two.management("GET", "/models/affectlens").json()
    assert default["modelVersion"] == two.main_card["version"]  # the main model is the default version


def test_each_url_answers_with_the_model_of_its_folder(two: TwoModels) -> None:
    main = {"name": two.main_card["name"], "version": two.main_card["version"]}
    canary = {"name": CANARY_NAME, "version": CANARY_VERSION}
    expected = {
        "/predictions/affectlens": main,
        f"/predictions/affectlens/{two.main_card['version']}": main,
        "/predictions/canary": canary,
        f"/predictions/affectlens/{CANARY_VERSION}": canary,
    }
    labels = set()
    for path, model in expected.items():
        r = two.predict(path)
        assert r.status_code == 200, (path, r.text[:300])
        assert r.json()["model"] == model, path
        labels.add(r.json()["label"])
    assert labels == {"positive"}  # the same network in both folders: the same answer
    assert two.predict("/predictions/affectlens/9.9.9").status_code == 404


def test_set_default_moves_the_unversioned_url_to_the_other_version(two: TwoModels) -> None:
    r = two.management("PUT", f"/models/affectlens/{CANARY_VERSION}/set-default")
    assert r.status_code == 200, r.text  # allowed although model registration is off
    try:
        assert two.predict("/predictions/affectlens").json()["model"]["version"] == CANARY_VERSION
    finally:
        r = two.management("PUT", f"/models/affectlens/{two.main_card['version']}/set-default")
        assert r.status_code == 200, r.text
    assert two.predict("/predictions/affectlens").json()["model"]["version"] == two.main_card["version"]


def test_stop_stops_every_worker(two: TwoModels) -> None:
    from affectlens.cli import main
    from affectlens.serving.process import group_alive, is_torchserve, server_processes

    state = two.state
    assert len(server_processes(state)["workers"]) == 3  # one per model version
    assert main(["stop", "--run-dir", str(two.run_dir)]) == 0
    assert not group_alive(state.pgid) and not is_torchserve(state.pid)
    assert serving.ServerState.read(two.run_dir) is None
