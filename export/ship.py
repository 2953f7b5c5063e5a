"""Copy an exported, calibrated model folder into the package as the shipped default model.

Only what CPU serving needs is shipped (int8 ONNX, tokenizer, model config, calibration, model card,
export report): the repository stays lean. fp16/fp32 graphs are rebuilt from a checkpoint.
Usage: python -m affectlens.export.ship runs/finetune/model [affectlens/default_model]
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from affectlens.engine import default_model_dir
from affectlens.neural import MODEL_CONFIG_FILE

SHIPPED = ("model_int8.onnx", "tokenizer.json", "calibration.json", "export_report.json", "MODEL_CARD.md")


def ship_default_model(source: Path, target: Path | None = None) -> Path:
    target = target or default_model_dir()
    missing = [
        name for name in ("model_int8.onnx", "tokenizer.json", "calibration.json") if not (source / name).is_file()
    ]
    if missing:
        raise SystemExit(
            f"{source} lacks {', '.join(missing)}: run `affectlens export` and `affectlens calibrate` first"
        )
    target.mkdir(parents=True, exist_ok=True)
    for name in SHIPPED:
        if (source / name).is_file():
            shutil.copy2(source / name, target / name)
    card = json.loads((source / MODEL_CONFIG_FILE).read_text(encoding="utf-8"))
    card["files"] = {"int8": "model_int8.onnx"}
    (target / MODEL_CONFIG_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return target


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args:
        raise SystemExit(__doc__)
    print(ship_default_model(Path(args[0]), Path(args[1]) if len(args) > 1 else None))
