#!/bin/sh
# GPU proof on a machine with an NVIDIA GPU, from the repository root: a fresh virtual environment with the
# gpu, serve and train extras, (a) the fp16 model folder built from the shipped Hugging Face weights (the
# Docker GPU build's own step, docker/model.sh), then bench/gpu_check.py: (b) fp16 on CUDA against fp32 on
# CPU, (c) latency and throughput on CUDA and CPU int8, (d) serving through TorchServe on the GPU, (e) a JSON
# of the figures. Without a working `nvidia-smi` it prints "skipped: no NVIDIA GPU" and exits 0.
# Usage: bench/gpu_check.sh [output JSON]     (default: $OUT/gpu_check.json if OUT is set, else in the work dir)
# Environment (all optional):
#   GPU_CHECK_INDEX_URL        pip index for everything but torch (default: pip's own, i.e. PyPI)
#   GPU_CHECK_TORCH_INDEX_URL  index for torch==2.13.0 (default: https://download.pytorch.org/whl/cpu)
#   GPU_CHECK_FIND_LINKS       a folder of wheels to install from as well (offline: also PIP_NO_INDEX=1)
#   GPU_CHECK_WORKDIR          where the venv, the model and the logs go (default: /tmp/affectlens-gpu-check)
#   GPU_CHECK_REUSE_VENV=1     keep an existing venv from an earlier run (faster reruns)
#   GPU_CHECK_N                validation texts for the parity check (default 2000)
#   GPU_CHECK_SKIP_SERVE=1     leave out (d), e.g. where no Java runtime is installed
#   GPU_CHECK_BUDGET_S         seconds for the whole run before steps are cut off (default 450)
#   PYTHON                     the interpreter for the venv (default: python3)
set -eu
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu_check: skipped: no NVIDIA GPU (nvidia-smi is missing or fails)"
  exit 0
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${GPU_CHECK_WORKDIR:-/tmp/affectlens-gpu-check}"
out="${1:-${OUT:+$OUT/gpu_check.json}}"
out="${out:-$work/gpu_check.json}"
budget="${GPU_CHECK_BUDGET_S:-450}"
started="$(date +%s)"
left() { r=$((budget - ($(date +%s) - started))); [ "$r" -gt 1 ] && echo "$r" || echo 1; }
step() { echo "gpu_check: [$(($(date +%s) - started)) s] $*"; }
mkdir -p "$work"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader

venv="$work/venv"
pip_opts=""
[ -n "${GPU_CHECK_INDEX_URL:-}" ] && pip_opts="$pip_opts --index-url $GPU_CHECK_INDEX_URL"
[ -n "${GPU_CHECK_FIND_LINKS:-}" ] && pip_opts="$pip_opts --find-links $GPU_CHECK_FIND_LINKS"
torch_index="${GPU_CHECK_TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}"
if [ "${GPU_CHECK_REUSE_VENV:-0}" != 1 ] || [ ! -x "$venv/bin/python" ]; then
  step "installing into a fresh $venv (log: $work/install.log)"
  rm -rf "$venv"
  "${PYTHON:-python3}" -m venv "$venv"
  {
    # torch only because TorchServe's worker and the fp32 reference import it: the small CPU build, pinned
    # shellcheck disable=SC2086
    timeout "$(left)" "$venv/bin/python" -m pip install -q ${GPU_CHECK_FIND_LINKS:+--find-links "$GPU_CHECK_FIND_LINKS"} \
      "torch==2.13.0" --index-url "$torch_index" &&
    # shellcheck disable=SC2086
    timeout "$(left)" "$venv/bin/python" -m pip install -q $pip_opts -e "$root[gpu,serve,train]" \
      "onnxruntime-gpu[cuda,cudnn]>=1.21"
  } >"$work/install.log" 2>&1 || { tail -30 "$work/install.log"; echo "gpu_check: install failed" >&2; exit 1; }
fi
if "$venv/bin/python" -m pip show -q onnxruntime >/dev/null 2>&1; then
  echo "gpu_check: the CPU onnxruntime is installed beside onnxruntime-gpu (same module): uninstall it" >&2
  exit 1
fi
export PATH="$venv/bin:$PATH" HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1

step "(a) building the fp16 model folder from the shipped weights"
rm -rf "$work/model_fp16"
timeout "$(left)" sh "$root/docker/model.sh" gpu "$work/model_fp16" >"$work/export.log" 2>&1 \
  || { tail -30 "$work/export.log"; echo "gpu_check: the fp16 export failed" >&2; exit 1; }

step "(b-e) parity, speed and serving on CUDA"
serve="--serve"
[ "${GPU_CHECK_SKIP_SERVE:-0}" = 1 ] && serve=""
cd "$root"
status=0
# shellcheck disable=SC2086
timeout "$(left)" "$venv/bin/python" bench/gpu_check.py --model "$work/model_fp16" --provider cuda \
  --n "${GPU_CHECK_N:-2000}" $serve --out "$out" || status=$?
step "done (exit $status)"
exit "$status"
