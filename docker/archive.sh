#!/bin/sh
# Build the model archive the image serves: the shipped int8 graph for CPU; for GPU the fp16 model folder
# that `docker/model.sh gpu` builds (int8 does not run on the CUDA provider).
# Usage: docker/archive.sh [cpu|gpu] [model store] [model folder]
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
accelerator="${1:-cpu}"
store="${2:-model_store}"
case "$accelerator" in
  cpu) set -- --model-store "$store" --variants int8 ${3:+--model "$3"} ;;
  gpu) set -- --model-store "$store" --variants fp16 --model "${3:-$root/models/fp16}" ;;
  *) echo "archive.sh: accelerator must be cpu or gpu, not '$accelerator'" >&2; exit 2 ;;
esac
exec affectlens archive "$@"
