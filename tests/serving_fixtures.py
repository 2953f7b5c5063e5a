"""A real TorchServe serving the lexicon-only model, for the REST batch tests (needs the serve extra and Java)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class LocalTorchServe:
    run_dir: Path  # ``affectlens serve --run-dir``: state, tokens and logs of the server
    inference_port: int
    metrics_port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.inference_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"


@contextmanager
def lexicon_torchserve(tmp_path: Path, extra_args: Sequence[str] = ()) -> Iterator[LocalTorchServe]:
    """``affectlens serve --lexicon-only`` on free ports under ``tmp_path``, stopped on exit; ``extra_args``
    are more ``serve`` flags (e.g. ``--sample-predictions 1``).

    Skips the test without the serve extra (torchserve) or Java.
    """
    pytest.importorskip("ts", reason="needs the serve extra (torchserve)")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("TorchServe needs Java")
    from affectlens import serving
    from affectlens.cli import main

    run_dir, store = tmp_path / "run", tmp_path / "store"
    inference, management, metrics = serving.free_ports(3)
    args = ["--run-dir", str(run_dir), "--model-store", str(store), "--inference-port", str(inference),
            "--management-port", str(management), "--metrics-port", str(metrics), "--lexicon-only",
            "--timeout", "240", *extra_args]  # fmt: skip
    assert main(["serve", *args]) == 0
    try:
        yield LocalTorchServe(run_dir, inference, metrics)
    finally:
        serving.stop_server(run_dir, timeout_s=30)
