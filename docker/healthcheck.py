"""Health check: exit 0 when a worker of the served model is READY on the management API, 1 otherwise.

TorchServe's /ping says Healthy before the model has loaded, so the check asks the management API (with the
management token from the run directory). Used by the image's HEALTHCHECK; works the same outside Docker:
    python docker/healthcheck.py [--run-dir DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from affectlens import serving

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", default=None, help="the run directory of `affectlens serve`")
    args = parser.parse_args(argv)
    run_dir = Path(args.run_dir) if args.run_dir else serving.default_run_dir()
    state = serving.ServerState.read(run_dir)
    if state is None:
        print(f"unhealthy: no server started from {run_dir}")
        return 1
    try:
        ready = serving.ready_workers(state)
    except Exception as exc:  # connection refused, token missing, ...
        print(f"unhealthy: {exc}")
        return 1
    print(f"{'healthy' if ready else 'unhealthy'}: {ready} worker(s) of {state.model_name} READY")
    return 0 if ready else 1


if __name__ == "__main__":
    sys.exit(main())
