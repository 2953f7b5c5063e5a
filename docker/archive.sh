#!/bin/sh
# Build the model archive the image serves: the int8 graph for CPU, the fp16 graph for GPU
# (int8 does not run on the CUDA provider; the model folder needs an fp16 graph: `affectlens export`).
# Usage: docker/archive.sh [cpu|gpu] [model store] [model folder]
set -eu
accelerator="${1:-cpu}"
store="${2:-model_store}"
case "$accelerator" in
  cpu) variants="int8" ;;
  gpu) variants="fp16" ;;
  *) echo "archive.sh: accelerator must be cpu or gpu, not '$accelerator'" >&2; exit 2 ;;
esac
set -- --model-store "$store" --variants "$variants" ${3:+--model "$3"}
exec affectlens archive "$@"
