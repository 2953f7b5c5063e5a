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

STAGE_METRIC = "affectlens_stage_latency_ms"
BATCH_METRIC = "affectlens_batch_requests"
# Dimension order must match what the handler emits.
HANDLER_METRICS = {
    "histogram": [
        {"name": STAGE_METRIC, "unit": "ms", "dimensions": ["ModelName", "Level", "Stage"]},
        {"name": BATCH_METRIC, "unit": "count", "dimensions": ["ModelName", "Level"]},
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
