"""What ``affectlens serve`` and the TorchServe handler (``handlers/affectlens_handler.py``) both rely on.

Names, file names, the environment variable that carries serve-time engine options, the custom metrics (the
handler emits them; ``affectlens serve`` declares them in TorchServe's metrics YAML), the media types the
handler accepts and its limits on JSON bodies. Standard library only: the handler imports this in the worker.
"""

from __future__ import annotations

import json
from pathlib import Path

DEFAULT_MODEL_NAME = "affectlens"  # the model's name in TorchServe and in /predictions/<name>
HANDLER_FILE = "affectlens_handler.py"
MODEL_CARD = "affectlens_model.json"
KEY_FILE = "key_file.json"  # written by TorchServe into its working directory (the run directory)
OVERRIDES_ENV = "AFFECTLENS_HANDLER_OVERRIDES"  # JSON object: engine options chosen at serve time

JSON_TYPE = "application/json"
TEXT_TYPE = "text/plain"
ACCEPTED_MEDIA_TYPES = (JSON_TYPE, "application/*+json", TEXT_TYPE, "text/*")
# JSON bodies: nesting deeper than this, or a number with more digits, is refused (400 invalid_json) before
# json.loads, which would recurse without bound or spend quadratic time converting huge integers.
MAX_JSON_DEPTH = 32
MAX_NUMBER_CHARS = 100

# Custom metrics: names as they appear on /metrics (TorchServe 0.12's Prometheus client exposes counters and
# histograms under the declared name; histograms add _bucket / _sum / _count and use the client's default
# buckets 0.005 .. 10). Every one also gets TorchServe's Hostname label. Documented in docs/serving.md.
STAGE_METRIC = "affectlens_stage_latency_ms"  # kept for existing dashboards; the _seconds one is the same timing
STAGE_SECONDS_METRIC = "affectlens_stage_latency_seconds"
BATCH_METRIC = "affectlens_batch_requests"
PREDICTIONS_METRIC = "affectlens_predictions_total"  # counter per predicted sentiment label
CONFIDENCE_METRIC = "affectlens_prediction_confidence"  # max calibrated sentiment probability per prediction
INPUT_TOKENS_METRIC = "affectlens_input_tokens"  # whitespace tokens (str.split()) of each scored text
LOW_CONFIDENCE_METRIC = "affectlens_low_confidence_total"  # predictions whose confidence < the threshold
ERRORS_METRIC = "affectlens_errors_total"  # error objects answered, by error code (inline ones included)
LOW_CONFIDENCE_THRESHOLD = 0.5  # default of the handler config's low_confidence

_MODEL_DIMS = ["ModelName", "Level"]
# Dimension order must match what the handler emits (affectlens.serving.metrics).
HANDLER_METRICS = {
    "histogram": [
        {"name": STAGE_METRIC, "unit": "ms", "dimensions": [*_MODEL_DIMS, "Stage"]},
        {"name": STAGE_SECONDS_METRIC, "unit": "seconds", "dimensions": [*_MODEL_DIMS, "Stage"]},
        {"name": BATCH_METRIC, "unit": "count", "dimensions": list(_MODEL_DIMS)},
        {"name": CONFIDENCE_METRIC, "unit": "probability", "dimensions": list(_MODEL_DIMS)},
        {"name": INPUT_TOKENS_METRIC, "unit": "tokens", "dimensions": list(_MODEL_DIMS)},
    ],
    "counter": [
        {"name": PREDICTIONS_METRIC, "unit": "count", "dimensions": [*_MODEL_DIMS, "Label"]},
        {"name": LOW_CONFIDENCE_METRIC, "unit": "count", "dimensions": list(_MODEL_DIMS)},
        {"name": ERRORS_METRIC, "unit": "count", "dimensions": [*_MODEL_DIMS, "Code"]},
    ],
}


def read_key_file(path: str | Path, kind: str = "inference") -> str:
    """The ``kind`` key (inference, management or API) from TorchServe's key file, or from the run directory
    holding it. Raises ``OSError`` / ``ValueError`` / ``KeyError`` as the file is missing or malformed."""
    path = Path(path)
    if path.is_dir():
        path = path / KEY_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    key = (data.get(kind) or {}).get("key") if isinstance(data, dict) else None
    if not key:
        raise KeyError(f"{path} has no {kind} key")
    return str(key)
