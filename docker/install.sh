#!/bin/sh
# Install affectlens (editable, from the source folder it runs in) into the active Python environment.
#   cpu | gpu: the serving extras (onnxruntime or onnxruntime-gpu with its nvidia-* CUDA/cuDNN wheels).
#   export:    the build tooling for `docker/model.sh gpu` (train extra, CPU onnxruntime); the image's model
#              stage only: the runtime image does not carry the training stack.
# The image's build stages run this; so can you, in a fresh virtual environment.
# Usage: docker/install.sh [cpu|gpu|export] [torch index URL]
set -eu
accelerator="${1:-cpu}"
torch_index="${2:-https://download.pytorch.org/whl/cpu}"
case "$accelerator" in
  cpu) extras="cpu,serve" ;;
  gpu) extras="gpu,serve" ;;  # onnxruntime-gpu; never together with onnxruntime (same module)
  export) extras="cpu,train" ;;  # the fp16 graph is exported and checked on CPU
  *) echo "install.sh: accelerator must be cpu or gpu (or export), not '$accelerator'" >&2; exit 2 ;;
esac
# TorchServe's worker imports torch, but inference runs on ONNX Runtime: the small CPU build of torch is enough,
# on GPU too (an unpinned torch would pull a multi-GB CUDA build). The export runs on CPU as well.
python -m pip install "torch==2.13.0" --index-url "$torch_index"
python -m pip install -e ".[${extras}]"
if [ "$accelerator" = gpu ]; then
  # CUDA and cuDNN from NVIDIA's pip wheels (also in the gpu extra); NeuralModel preloads them
  python -m pip install "onnxruntime-gpu[cuda,cudnn]>=1.21"
fi
