#!/bin/sh
# Install affectlens (editable, from the source folder it runs in) with the serving extras into the active
# Python environment. The image's build stage runs this; so can you, in a fresh virtual environment.
# Usage: docker/install.sh [cpu|gpu] [torch index URL]
set -eu
accelerator="${1:-cpu}"
torch_index="${2:-https://download.pytorch.org/whl/cpu}"
case "$accelerator" in
  cpu) runtime="cpu" ;;
  gpu) runtime="gpu" ;;  # onnxruntime-gpu; never together with onnxruntime (same module)
  *) echo "install.sh: accelerator must be cpu or gpu, not '$accelerator'" >&2; exit 2 ;;
esac
# TorchServe's worker imports torch, but inference runs on ONNX Runtime: the small CPU build of torch is enough,
# on GPU too (an unpinned torch would pull a multi-GB CUDA build).
python -m pip install "torch==2.13.0" --index-url "$torch_index"
python -m pip install -e ".[${runtime},serve]"
if [ "$accelerator" = gpu ]; then
  # CUDA and cuDNN from NVIDIA's pip wheels; the handler preloads them (onnxruntime.preload_dlls)
  python -m pip install "onnxruntime-gpu[cuda,cudnn]"
fi
