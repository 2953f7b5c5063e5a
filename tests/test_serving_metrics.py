"""The handler's prediction metrics and prediction sample, end to end.

* the ``serve`` flags that turn sampling on (fast);
* the metrics of a batch through TorchServe's own Python metrics cache, loaded from the YAML ``affectlens serve``
  writes, checked against the frontend's line format (fast; needs the serve extra);
* a real TorchServe (``lexicon_torchserve``): the new metrics on ``/metrics`` with the right counts, and the
  sample file filled (slow; needs the serve extra and Java).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from affectlens.serving import protocol

ROOT = Path(__file__).resolve().parent.parent
# The frontend's parser of the worker's metric lines (org.pytorch.serve.metrics.Metric in TorchServe 0.12)
FRONTEND_LINE = re.compile(
    r"\s*([\w\s]+)\.([\w\s]+):([0-9\-,.e]+)\|#([^|]*)(\|#type:([^|,]+))?\|#hostname:([^,]+),([^,]+)(,(.*))?"
)
NEW_METRICS = (protocol.PREDICTIONS_METRIC, protocol.CONFIDENCE_METRIC, protocol.INPUT_TOKENS_METRIC,
               protocol.LOW_CONFIDENCE_METRIC, protocol.ERRORS_METRIC, protocol.STAGE_SECONDS_METRIC)  # fmt: skip


def _handler() -> Any:
    spec = importlib.util.spec_from_file_location("affectlens_handler_metrics_test", ROOT / "handlers" /
                                                  "affectlens_handler.py")  # fmt: skip
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# -- serve flags -----------------------------------------------------------------------------------
def test_serve_sampling_flags_become_handler_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from affectlens.cli import build_parser
    from affectlens.serving import commands

    parser = build_parser()
    run_dir = tmp_path / "run"
    args = parser.parse_args(["serve", "--run-dir", str(run_dir)])
    assert "sample_predictions" not in commands.serve_config(args).handler_overrides  # off by default
    args = parser.parse_args(["serve", "--run-dir", str(run_dir), "--sample-predictions", "0.05", "--lexicon-only"])
    assert commands.serve_config(args).handler_overrides == {
        "mode": "lexicon", "sample_predictions": 0.05, "sample_file": str((run_dir / commands.SAMPLE_FILE).resolve()),
    }  # fmt: skip
    monkeypatch.chdir(tmp_path)
    args = parser.parse_args(["serve", "--sample-predictions", "1", "--sample-file", "s.jsonl", "--sample-no-text"])
    overrides = commands.handler_overrides(args, run_dir)
    assert overrides == {"sample_predictions": 1.0, "sample_file": str(tmp_path / "s.jsonl"), "sample_text": False}
    h = _handler()
    assert h.HandlerConfig.from_mapping(overrides).sample_text is False  # what the worker will build
    for bad in ("2", "-0.1", "often"):
        with pytest.raises(SystemExit):
            parser.parse_args(["serve", "--sample-predictions", bad])


# -- TorchServe's metrics cache --------------------------------------------------------------------
def test_a_batch_emits_lines_the_frontend_parses_into_the_declared_metrics(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("ts", reason="needs the serve extra (torchserve)")
    yaml = pytest.importorskip("yaml")
    from ts.metrics.metric_cache_yaml_impl import MetricsCacheYamlImpl

    from affectlens.engine import Engine, EngineConfig
    from affectlens.serving.server_config import metrics_config
    from tests.test_handler import Context, req, run

    path = tmp_path / "metrics.yaml"
    path.write_text(yaml.safe_dump(metrics_config(), sort_keys=False), encoding="utf-8")
    cache = MetricsCacheYamlImpl(config_file_path=str(path))
    cache.initialize_cache()
    cache.model_name = "affectlens"
    cache.set_request_ids("req-1")
    declared = {name for kind in cache.cache.values() for name in kind}
    h = _handler()
    service = h.AffectlensService(engine=Engine(EngineConfig(mode="lexicon")))
    caplog.set_level(logging.INFO, logger="ts.metrics")
    answers, _ = run(service, req({"texts": ["I love it", "", "awful, just awful"]}), req(b"{x", "application/json"),
                     ctx=Context(metrics=cache))  # fmt: skip
    assert [a[0] for a in answers] == [200, 400]
    assert "Failed to update metric" not in caplog.text
    assert {name for kind in cache.cache.values() for name in kind} == declared  # no metric of another type added
    spec = {m["name"]: (kind, m["dimensions"]) for kind, ms in protocol.HANDLER_METRICS.items() for m in ms}
    seen: dict[str, list[tuple[str, float]]] = {}
    for record in caplog.records:
        message = record.getMessage()
        if not message.startswith("[METRICS]"):
            continue
        match = FRONTEND_LINE.match(message.removeprefix("[METRICS]"))
        assert match, message
        name, dims, kind = match.group(1), match.group(4), match.group(6)
        if name not in spec:
            continue
        assert kind == spec[name][0].upper()
        assert [d.split(":", 1)[0] for d in dims.split(",")] == spec[name][1]
        seen.setdefault(name, []).append((dims.split(",")[-1], float(match.group(3))))
    assert set(NEW_METRICS) - {protocol.LOW_CONFIDENCE_METRIC} <= set(seen)
    assert sorted(seen[protocol.PREDICTIONS_METRIC]) == [("Label:negative", 1.0), ("Label:positive", 1.0)]
    assert sorted(seen[protocol.ERRORS_METRIC]) == [("Code:empty_text", 1.0), ("Code:invalid_json", 1.0)]
    assert [v for _, v in seen[protocol.INPUT_TOKENS_METRIC]] == [3.0, 3.0]


# -- a real TorchServe -----------------------------------------------------------------------------
def _samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    """``(name, labels, value)`` of each sample of a Prometheus text exposition."""
    out = []
    for line in text.splitlines():
        match = re.match(r"^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$", line)
        if match and not line.startswith("#"):
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
            out.append((match.group(1), labels, float(match.group(3))))
    return out


def _total(samples: list[tuple[str, dict[str, str], float]], name: str, **labels: str) -> float:
    return sum(v for n, ls, v in samples if n == name and all(ls.get(k) == x for k, x in labels.items()))


@pytest.mark.slow
@pytest.mark.serve
def test_real_torchserve_exposes_the_prediction_metrics_and_fills_the_sample(tmp_path: Path) -> None:
    requests = pytest.importorskip("requests")
    from affectlens import serving
    from tests.serving_fixtures import lexicon_torchserve

    sample_file = tmp_path / "sample" / "live.jsonl"
    flags = ["--sample-predictions", "1", "--sample-file", str(sample_file)]
    with lexicon_torchserve(tmp_path, flags) as served:
        http = requests.Session()
        http.trust_env = False
        headers = {"Authorization": f"Bearer {serving.read_token(served.run_dir)}"}
        url = f"{served.url}/predictions/affectlens"
        bodies = [
            ({"text": "I love this, it is wonderful!"}, "application/json"),
            ({"texts": ["This is terrible and I hate it", "", "The meeting is at noon", "x" * 5001]},
             "application/json"),
            ("not bad at all, actually quite good", "text/plain"),
            ("{broken", "application/json"),
            ("\x00\x01", "application/octet-stream"),
        ]  # fmt: skip
        predictions: list[tuple[str, dict[str, Any]]] = []
        for body, content_type in bodies:
            data = json.dumps(body) if isinstance(body, dict) else body
            answer = http.post(url, data=data.encode(), headers={**headers, "Content-Type": content_type}, timeout=60)
            payload = answer.json()
            entries = payload if isinstance(payload, list) else [payload]
            texts = body.get("texts", [body.get("text")]) if isinstance(body, dict) else [body]
            predictions += [(t, e) for t, e in zip(texts, entries, strict=True) if "label" in e]
        assert len(predictions) == 4
        labels: dict[str, int] = {}
        for _, e in predictions:
            labels[e["label"]] = labels.get(e["label"], 0) + 1
        confidences = [max(e["scores"].values()) for _, e in predictions]
        expected_errors = {"empty_text": 1, "text_too_long": 1, "invalid_json": 1, "unsupported_media_type": 1}

        deadline = time.monotonic() + 30  # the frontend reads the worker's metric lines asynchronously
        while True:
            samples = _samples(http.get(served.metrics_url, timeout=10).text)
            counts = {k: _total(samples, protocol.PREDICTIONS_METRIC, Label=k) for k in labels}
            errors = {k: _total(samples, protocol.ERRORS_METRIC, Code=k) for k in expected_errors}
            if (counts == labels and errors == expected_errors) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert counts == labels
        assert errors == expected_errors
        model = {"ModelName": "affectlens", "Level": "Model"}
        assert _total(samples, f"{protocol.CONFIDENCE_METRIC}_count", **model) == 4
        assert _total(samples, f"{protocol.CONFIDENCE_METRIC}_sum") == pytest.approx(sum(confidences), abs=1e-4)
        assert _total(samples, f"{protocol.CONFIDENCE_METRIC}_bucket", le="+Inf") == 4
        assert _total(samples, f"{protocol.INPUT_TOKENS_METRIC}_sum") == sum(len(t.split()) for t, _ in predictions)
        assert _total(samples, protocol.LOW_CONFIDENCE_METRIC) == sum(c < 0.5 for c in confidences)
        assert _total(samples, f"{protocol.STAGE_SECONDS_METRIC}_count", Stage="lexicon") == 3  # 3 batches scored
        assert _total(samples, f"{protocol.STAGE_METRIC}_count", Stage="lexicon") == 3  # the old name stays

        rows = [json.loads(line) for line in sample_file.read_text(encoding="utf-8").splitlines()]
        assert [(r["text"], r["label"]) for r in rows] == [(t, e["label"]) for t, e in predictions]
        for row, (_, entry) in zip(rows, predictions, strict=True):
            assert (row["scores"], row["model"]) == (entry["scores"], entry["model"])
