#!/bin/sh
# Container entry point: TorchServe in the foreground (SIGTERM from `docker stop` stops it cleanly).
# Inside a container the APIs must listen on all interfaces to be reachable through published ports;
# token authorization stays on: `docker exec <container> affectlens token` prints the inference token.
# AFFECTLENS_ACCELERATOR (set by the image) picks the model the archive step built: gpu serves the fp16
# folder on the CUDA provider when `docker run --gpus all` gives it a GPU (else on CPU, with a warning;
# AFFECTLENS_PROVIDER=cuda makes that an error). Extra arguments go to `affectlens serve` (e.g. --workers 2).
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
case "${AFFECTLENS_ACCELERATOR:-cpu}" in
  cpu) set -- --variants int8 "$@" ;;
  gpu) set -- --variants fp16 --model "${AFFECTLENS_GPU_MODEL:-$root/models/fp16}" "$@" ;;
  *) echo "entrypoint.sh: AFFECTLENS_ACCELERATOR must be cpu or gpu" >&2; exit 2 ;;
esac
exec affectlens serve --foreground --host "${AFFECTLENS_HOST:-0.0.0.0}" --provider "${AFFECTLENS_PROVIDER:-auto}" "$@"
