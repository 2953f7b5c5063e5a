#!/bin/sh
# Container entry point: TorchServe in the foreground (SIGTERM from `docker stop` stops it cleanly).
# Inside a container the APIs must listen on all interfaces to be reachable through published ports;
# token authorization stays on: `docker exec <container> affectlens token` prints the inference token.
# Extra arguments go to `affectlens serve` (e.g. --workers 2, --log-level info).
set -eu
exec affectlens serve --foreground --host "${AFFECTLENS_HOST:-0.0.0.0}" "$@"
