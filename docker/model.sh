#!/bin/sh
# Build the model folder the image serves. cpu: nothing to build (the shipped int8 model is served as is).
# gpu: the fp16 graph (int8 does not run on the CUDA provider) exported on CPU from the shipped Hugging Face
# weights, with the shipped calibration: a folder with model_fp16.onnx, tokenizer.json, affectlens_model.json
# and calibration.json. Needs the train extra (`docker/install.sh export`); the runtime image does not.
# Usage: docker/model.sh [cpu|gpu] [output folder] [HF weights folder]
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
accelerator="${1:-cpu}"
out="${2:-$root/models/fp16}"
hf="${3:-$root/affectlens/default_model/hf}"
case "$accelerator" in
  cpu) echo "model.sh: cpu serves the shipped int8 model; nothing to build"; exit 0 ;;
  gpu) ;;
  *) echo "model.sh: accelerator must be cpu or gpu, not '$accelerator'" >&2; exit 2 ;;
esac
if [ ! -f "$hf/config.json" ]; then
  echo "model.sh: no Hugging Face weights in $hf (config.json, model.safetensors): the GPU model is built from them" >&2
  exit 1
fi
export HF_HUB_OFFLINE=1
affectlens export "$hf" -o "$out" --only fp16 --calibration-from "$root/affectlens/default_model"
