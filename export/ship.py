"""Copy an exported, calibrated model folder into the package as the shipped default model.

Shipped: what CPU serving needs (int8 ONNX, tokenizer, model config, calibration, model card, export report) and,
with ``--weights CHECKPOINT``, the network in Hugging Face format as fp16 safetensors in ``hf/`` (so the next
fine-tune, an fp16 GPU graph or transformers can start from it). fp16/fp32 ONNX graphs are rebuilt from ``hf/``.
Usage: python -m affectlens.export.ship runs/finetune/model [affectlens/default_model] [--weights runs/finetune/best]
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


HF_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")


def ship_hf_weights(checkpoint: Path, target: Path) -> Path:
    """``checkpoint`` (a fine-tuned Hugging Face folder) as ``target``: fp16 safetensors, config, tokenizer files."""
    import numpy as np
    from safetensors.numpy import load_file, save_file

    tensors = load_file(str(checkpoint / "model.safetensors"))
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    save_file(
        {k: v.astype(np.float16) if v.dtype == np.float32 else v for k, v in tensors.items()},
        str(target / "model.safetensors"),
    )
    for name in HF_FILES:
        shutil.copy2(checkpoint / name, target / name)
    config = json.loads((target / "config.json").read_text(encoding="utf-8"))
    config["torch_dtype"] = "float16"
    (target / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return target


if __name__ == "__main__":
    args = sys.argv[1:]
    weights = None
    if "--weights" in args:
        at = args.index("--weights")
        weights = Path(args[at + 1])
        del args[at : at + 2]
    if not args:
        raise SystemExit(__doc__)
    shipped = ship_default_model(Path(args[0]), Path(args[1]) if len(args) > 1 else None)
    if weights is not None:
        ship_hf_weights(weights, shipped / "hf")
    print(shipped)
