"""The ``serve``, ``stop``, ``token`` and ``archive`` sub-commands (registered by ``affectlens.cli``)."""

from __future__ import annotations

import argparse
import json
import logging
import re
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from affectlens.config import EngineOptions, add_engine_arguments, auto_threads
from affectlens.errors import ConfigError, ModelNotFoundError
from affectlens.serving.archive import (
    NAME_PATTERN,
    ArchiveConfig,
    build_info_path,
    ensure_archive,
    read_model_card,
)
from affectlens.serving.client import read_token
from affectlens.serving.paths import RUN_DIR_ENV, default_run_dir, run_dir_or_default
from affectlens.serving.process import start_server, stop_server
from affectlens.serving.protocol import DEFAULT_MODEL_NAME, MODEL_CARD
from affectlens.serving.server_config import (
    DEFAULT_HOST,
    DEFAULT_INFERENCE_PORT,
    DEFAULT_LOG_LEVEL,
    DEFAULT_MANAGEMENT_PORT,
    DEFAULT_MAX_REQUEST_SIZE,
    DEFAULT_METRICS_PORT,
    DEFAULT_READY_TIMEOUT_S,
    DEFAULT_TOKEN_EXPIRATION_MIN,
    LOG_LEVELS,
    ServeConfig,
)
from affectlens.serving.state import ServerState

log = logging.getLogger("affectlens.serving")
_DEFAULTS = ArchiveConfig.__dataclass_fields__


def _default(name: str) -> Any:
    return _DEFAULTS[name].default


def add_archive_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None, help="model folder (default: the shipped default model)")
    p.add_argument("--model-store", default=None, help="where the .mar goes (default: model_store/ of the checkout)")
    p.add_argument(
        "--name", default=DEFAULT_MODEL_NAME, help="model name in TorchServe and in the URL (default: %(default)s)"
    )
    p.add_argument("--workers", type=int, default=_default("workers"), help="worker processes (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=_default("batch_size"),
                   help="server-side batch size (default: %(default)s)")  # fmt: skip
    p.add_argument("--max-batch-delay", type=int, default=_default("max_batch_delay_ms"), metavar="MS",
                   help="how long a batch waits to fill, in ms (default: %(default)s)")  # fmt: skip
    p.add_argument("--response-timeout", type=int, default=_default("response_timeout_s"), metavar="S",
                   help="seconds per batch (default: %(default)s)")  # fmt: skip
    p.add_argument("--variants", default=None,
                   help="ONNX graphs to pack, comma-separated (default: int8; the GPU image uses fp16)")  # fmt: skip


def archive_config(args: argparse.Namespace) -> ArchiveConfig:
    kwargs: dict[str, Any] = {
        "model_name": args.name, "workers": args.workers, "batch_size": args.batch_size,
        "max_batch_delay_ms": args.max_batch_delay, "response_timeout_s": args.response_timeout,
    }  # fmt: skip
    if args.model:
        kwargs["model_dir"] = Path(args.model).resolve()
    if args.model_store:
        kwargs["model_store"] = Path(args.model_store).resolve()
    if args.variants:
        kwargs["variants"] = tuple(v.strip() for v in args.variants.split(",") if v.strip())
    if getattr(args, "version", None):
        kwargs["version"] = args.version
    return ArchiveConfig(**kwargs)


ALSO_SYNTAX = "NAME=DIR or NAME:VERSION=DIR"


def parse_also(value: str) -> tuple[str, str | None, Path]:
    """``--also NAME[:VERSION]=DIR`` -> (name, version or None, model folder); the folder must hold a model card."""
    target, sep, folder = value.partition("=")
    name, colon, version = target.partition(":")
    if not sep or not folder.strip():
        raise ConfigError(f"--also {value!r}: expected {ALSO_SYNTAX} (e.g. --also canary=./my-model)")
    for what, text in (("name", name), ("version", version)):
        if (what == "name" or colon) and not re.fullmatch(NAME_PATTERN, text):
            raise ConfigError(f"--also {value!r}: the model {what} {text!r} must start with a letter or digit and "
                              f"hold only letters, digits, '_', '-' and '.' ({ALSO_SYNTAX})")  # fmt: skip
    model_dir = Path(folder).expanduser().resolve()
    if not model_dir.is_dir():
        raise ModelNotFoundError(f"--also {value!r}: the model folder {model_dir} does not exist")
    if not (model_dir / MODEL_CARD).is_file():
        raise ModelNotFoundError(f"--also {value!r}: {model_dir} is not a model folder (no {MODEL_CARD}); make "
                                 "one with `affectlens export` or `affectlens adapt`")  # fmt: skip
    return name, version if colon else None, model_dir


def also_configs(values: list[str] | None, main: ArchiveConfig) -> tuple[ArchiveConfig, ...]:
    """One archive per ``--also``, with the main archive's settings (workers, batching, variants, store). A name
    already served needs a version (a second version of it, archived as ``<name>@<version>.mar``)."""
    out: list[ArchiveConfig] = []
    names = {main.model_name}
    for value in values or ():
        name, version, model_dir = parse_also(value)
        stem = None
        if name in names:
            if version is None:
                card = read_model_card(model_dir).get("version") or "VERSION"
                raise ConfigError(f"--also {value!r}: model name {name!r} is already served; to serve {model_dir} as "
                                  f"a second version of it write --also {name}:{card}={model_dir}, or give it "
                                  "another name")  # fmt: skip
            stem = f"{name}@{version}"
        names.add(name)
        config = replace(main, model_dir=model_dir, model_name=name, version=version, archive_name=stem)
        card_version = str(read_model_card(model_dir).get("version") or "")
        if version is not None and version != card_version:
            log.warning("%s is served as %s version %s, but its predictions report the model card's version %s",
                        model_dir, name, version, card_version or "(none)")  # fmt: skip
        out.append(config)
    return tuple(out)


def _threads_for(archives: tuple[ArchiveConfig, ...], overrides: dict[str, Any]) -> dict[str, Any]:
    """With several models, automatic threads share the cores among all their workers (not per model)."""
    if len(archives) > 1 and not overrides.get("threads"):
        overrides = {**overrides, "threads": auto_threads(sum(a.workers for a in archives))}
    return overrides


SAMPLE_FILE = "samples/predictions.jsonl"  # under the run directory, when --sample-file is not given


def _share(value: str) -> float:
    """argparse type of ``--sample-predictions``: a share in [0, 1]."""
    try:
        share = float(value)
    except ValueError:
        share = float("nan")
    if not 0.0 <= share <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1 (0.01 = 1%), not {value!r}")
    return share


def handler_overrides(args: argparse.Namespace, run_dir: Path | None = None) -> dict[str, Any]:
    """The engine options given on the command line that differ from the defaults, and the sampling of live
    predictions when it is on (handed to the worker in ``AFFECTLENS_HANDLER_OVERRIDES``)."""
    overrides = EngineOptions.from_args(args).overrides()
    rate = getattr(args, "sample_predictions", 0.0) or 0.0
    if rate > 0:
        path = Path(args.sample_file) if getattr(args, "sample_file", None) else None
        if path is None:
            path = Path(run_dir if run_dir is not None else run_dir_or_default(getattr(args, "run_dir", None)))
            path = path / SAMPLE_FILE
        overrides.update(sample_predictions=rate, sample_file=str(path.expanduser().resolve()))
        if getattr(args, "sample_no_text", False):
            overrides["sample_text"] = False
    return overrides


def serve_config(args: argparse.Namespace) -> ServeConfig:
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("listening on %s: the server is reachable from other machines; keep token auth on", args.host)
    run_dir = run_dir_or_default(args.run_dir)
    main = archive_config(args)
    also = also_configs(getattr(args, "also", None), main)
    return ServeConfig(
        run_dir=run_dir, archive=main, also=also, host=args.host,
        inference_port=args.inference_port, management_port=args.management_port, metrics_port=args.metrics_port,
        token_auth=not args.no_token_auth, token_expiration_min=args.token_expiration,
        max_request_size=args.max_request_size, log_level=args.log_level, system_metrics=args.system_metrics,
        ready_timeout_s=args.timeout, handler_overrides=_threads_for((main, *also), handler_overrides(args, run_dir)),
    )  # fmt: skip


def cmd_archive(args: argparse.Namespace) -> int:
    config = archive_config(args)
    path, built = ensure_archive(config, force=args.force)
    info = json.loads(build_info_path(config).read_text())
    print(json.dumps({"archive": str(path), "built": built, "model_name": info["model_name"],
                      "model_version": info["model_version"], "files": info["files"],
                      "model_config": info["model_config"]}, indent=2))  # fmt: skip
    return 0


def _print_started(state: ServerState, foreground: bool) -> None:
    """The prediction URLs on stdout, the main model's first (for scripts); how to call, watch and stop the
    server on stderr."""
    run_dir = "" if Path(state.run_dir) == default_run_dir() else f" --run-dir {state.run_dir}"
    auth = f'-H "Authorization: Bearer $(affectlens token{run_dir})" ' if state.token_auth else ""
    urls, models = state.prediction_urls, state.served_models
    print("\n".join(urls), flush=True)
    what = f"model {state.model_name!r}" if len(models) == 1 else f"{len(models)} models"
    lines = [f"affectlens: {what} READY after {state.ready_seconds:.1f} s (TorchServe pid {state.pid}, run directory "
             f"{state.run_dir})"]  # fmt: skip
    if len(models) > 1:
        width = max(len(f"{m.name} {m.version}") for m in models)
        lines += [f"  {'models:' if i == 0 else '':9}{f'{m.name} {m.version}':{width}}  {url}  ({m.model_dir})"
                  for i, (m, url) in enumerate(zip(models, urls, strict=True))]  # fmt: skip
    lines += [
        f"  try:     curl -s {auth}-H 'Content-Type: application/json' -d '{{\"text\": \"I love it\"}}' {urls[0]}",
        f"  metrics: {state.metrics_url}   management: {state.management_url}",
        f"  logs:    {state.run_dir}/logs",
        "  stop:    Ctrl-C" if foreground else f"  stop:    affectlens stop{run_dir}",
    ]
    print("\n".join(lines), file=sys.stderr, flush=True)


def cmd_serve(args: argparse.Namespace) -> int:
    config = serve_config(args)
    state, launcher = start_server(config, foreground=args.foreground, rebuild=args.rebuild)
    _print_started(state, args.foreground)
    if launcher is None:
        return 0

    def terminate(signum: int, frame: Any) -> None:  # `docker stop` sends SIGTERM: stop TorchServe cleanly
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    try:
        launcher.wait()
        print("affectlens: TorchServe exited", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("affectlens: stopping TorchServe ...", file=sys.stderr)
        return 0
    finally:
        stop_server(config.run_dir)


def cmd_stop(args: argparse.Namespace) -> int:
    run_dir = run_dir_or_default(args.run_dir)
    if stop_server(run_dir, timeout_s=args.timeout):
        print(f"affectlens: TorchServe stopped ({run_dir})", file=sys.stderr)
    else:
        print(f"affectlens: no server was running from {run_dir}", file=sys.stderr)
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    print(read_token(run_dir_or_default(args.run_dir), "management" if args.management else "inference"))
    return 0


def _add_run_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run-dir", default=None,
                   help=f"TorchServe's working directory: config, logs, key file (default: ${RUN_DIR_ENV} or "
                        "~/.cache/affectlens/run)")  # fmt: skip


def _add_serve_options(p: argparse.ArgumentParser) -> None:
    _add_run_dir(p)
    add_archive_options(p)
    p.add_argument("--foreground", action="store_true", help="stay attached; Ctrl-C stops the server")
    p.add_argument("--rebuild", action="store_true", help="rebuild the model archives first")
    p.add_argument("--also", action="append", default=None, metavar="NAME[:VERSION]=DIR",
                   help="serve another model folder next to the main one (repeatable): NAME=DIR at "
                        "/predictions/NAME (version from its card), NAME:VERSION=DIR as a version of a served "
                        "name at /predictions/NAME/VERSION; same workers, batching and engine options")  # fmt: skip
    p.add_argument("--host", default=DEFAULT_HOST, help="address for all three APIs (default: %(default)s)")
    p.add_argument("--inference-port", type=int, default=DEFAULT_INFERENCE_PORT, help="(default: %(default)s)")
    p.add_argument("--management-port", type=int, default=DEFAULT_MANAGEMENT_PORT, help="(default: %(default)s)")
    p.add_argument("--metrics-port", type=int, default=DEFAULT_METRICS_PORT, help="(default: %(default)s)")
    p.add_argument("--no-token-auth", action="store_true", help="serve without token authorization (not advised)")
    p.add_argument("--token-expiration", type=int, default=DEFAULT_TOKEN_EXPIRATION_MIN, metavar="MIN",
                   help="minutes until TorchServe's tokens expire (default: %(default)s)")  # fmt: skip
    p.add_argument("--max-request-size", type=int, default=DEFAULT_MAX_REQUEST_SIZE, metavar="BYTES",
                   help="larger request bodies get 413 (default: %(default)s)")  # fmt: skip
    p.add_argument("--log-level", default=DEFAULT_LOG_LEVEL, choices=LOG_LEVELS,
                   help="TorchServe logging (default: %(default)s)")  # fmt: skip
    p.add_argument("--system-metrics", action="store_true", help="also collect host CPU/memory/disk metrics")
    p.add_argument("--timeout", type=float, default=DEFAULT_READY_TIMEOUT_S, metavar="S",
                   help="seconds to wait for READY")  # fmt: skip
    p.add_argument("--sample-predictions", type=_share, default=0.0, metavar="RATE",
                   help="append this share of the predictions (0.01 = 1%%) to --sample-file, one `affectlens "
                        "score` JSONL row each, with the text (default: 0 = off)")  # fmt: skip
    p.add_argument("--sample-file", default=None, metavar="PATH",
                   help=f"where sampled predictions go (default: <run dir>/{SAMPLE_FILE})")  # fmt: skip
    p.add_argument(
        "--sample-no-text",
        action="store_true",
        help="sample the predictions without their texts (the monitor then has no text descriptors)",
    )
    add_engine_arguments(p, model=False, explain=False,
                         threads_help="ONNX Runtime threads per worker (0 = all cores for one worker, "
                                      "cores / workers for several, at most 8)")  # fmt: skip


def register_command(subparsers: Any, name: str, help_text: str) -> None:
    """Add the ``serve``, ``stop``, ``token`` or ``archive`` sub-command (called by ``affectlens.cli``)."""
    p = subparsers.add_parser(name, help=help_text, description=help_text)
    if name == "archive":
        add_archive_options(p)
        p.add_argument("--version", default=None, help="model version (default: the model card's version)")
        p.add_argument("--force", action="store_true", help="rebuild even when the archive is up to date")
        p.set_defaults(func=cmd_archive)
    elif name == "serve":
        _add_serve_options(p)
        p.set_defaults(func=cmd_serve)
    elif name == "stop":
        _add_run_dir(p)
        p.add_argument("--timeout", type=float, default=30.0, metavar="S", help="seconds before the server is killed")
        p.set_defaults(func=cmd_stop)
    elif name == "token":
        _add_run_dir(p)
        p.add_argument("--management", action="store_true", help="print the management key instead")
        p.set_defaults(func=cmd_token)
    else:
        raise ValueError(f"affectlens.serving has no command {name!r}")
