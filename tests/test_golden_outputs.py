"""The shipped model's JSON on fixed texts, in every mode (hybrid with explanations): a refactor must not move it.

``tests/data/golden_predictions.jsonl`` is regenerated on purpose when the model, the calibration or a lexicon rule
changes (say so in the CHANGELOG): ``python tests/test_golden_outputs.py --write``. Labels, codes and token
evidence must match exactly; probabilities to 1e-4 (ONNX Runtime may round differently on another CPU).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

GOLDEN = Path(__file__).resolve().parent / "data" / "golden_predictions.jsonl"
MODES = ("hybrid", "neural", "lexicon")


def _outputs(mode: str, texts: list[str]) -> list[dict[str, Any]]:
    from affectlens.engine import Engine, EngineConfig

    engine = Engine(EngineConfig(mode=mode))
    return [r.to_dict() for r in engine.score_batch(texts, explain=mode == "hybrid")]


def _close(got: Any, want: Any, path: str = "") -> None:
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), f"{path}: keys {sorted(got)} != {sorted(want)}"
        for key in want:
            _close(got[key], want[key], f"{path}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{path}: {got!r} != {want!r}"
        for k, (g, w) in enumerate(zip(got, want, strict=True)):
            _close(g, w, f"{path}[{k}]")
    elif isinstance(want, float) and not isinstance(want, bool):
        assert got == pytest.approx(want, abs=1e-4), f"{path}: {got} != {want}"
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"


@pytest.mark.parametrize("mode", MODES)
def test_the_shipped_model_gives_the_recorded_json(mode: str) -> None:
    rows = [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r["mode"] == mode]
    assert rows, f"no golden rows for {mode}"
    for row, got in zip(rows, _outputs(mode, [r["text"] for r in rows]), strict=True):
        _close(got, row["output"], f"{mode}:{row['text']!r}")


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:  # pragma: no cover - regeneration on purpose
    old = [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines()]
    out = []
    for mode in MODES:
        texts = [r["text"] for r in old if r["mode"] == mode]
        out += [{"mode": mode, "text": t, "output": o} for t, o in zip(texts, _outputs(mode, texts), strict=True)]
    GOLDEN.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out), encoding="utf-8")
