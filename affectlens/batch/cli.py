"""``affectlens score``: the command line of batch jobs (local, ``--via`` REST, ``--engine ray``).

Exit codes: 0 every row scored, 1 some rows failed (see the errors file), 2 usage or I/O error (nothing is
lost: ``--resume`` continues).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from affectlens.config import add_engine_arguments, engine_config_from_args
from affectlens.errors import ConfigError

from .job import score_file
from .pools import ScorerSpec, Workers, engine_factory
from .ray import ray_score
from .rest import RestOptions, resolve_token, token_file_for
from .types import BatchError, BatchOptions, BatchSummary


def register_command(subparsers: Any, name: str, help_text: str) -> None:
    """Add ``affectlens score`` (called by :mod:`affectlens.cli`)."""
    p = subparsers.add_parser(
        name, help=help_text, description="Score a JSONL, CSV or Parquet file (format by extension).",
        epilog="exit codes: 0 all rows scored, 1 some rows failed (see the errors file), 2 usage or I/O error",
    )  # fmt: skip
    p.add_argument("input", metavar="INPUT", help="input file: .jsonl, .csv, .tsv or .parquet ('-': JSONL on stdin)")
    p.add_argument(
        "-o",
        "--output",
        metavar="OUTPUT",
        default=None,
        help="output file: .jsonl, .csv, .tsv or .parquet (default: JSONL on stdout)",
    )
    p.add_argument("--text-field", default="text", help="field/column with the text (default: text)")
    p.add_argument(
        "--id-field",
        default="id",
        help="field/column with the row id (default: id; rows without it get their line number)",
    )
    p.add_argument("--keep", default="", metavar="COL,COL", help="input columns to copy into the output")
    p.add_argument(
        "--errors",
        default=None,
        metavar="PATH",
        help="errors file (default: OUTPUT.errors.jsonl; with stdout output, errors go inline)",
    )
    p.add_argument("--delimiter", default=None, help="CSV input delimiter (default: tab for .tsv, else comma)")
    p.add_argument(
        "--workers", type=int, default=1, help="scoring processes (each gets cores // N threads); 1 = in this process"
    )
    p.add_argument("--chunk-size", type=int, default=256, help="rows per scoring call and per checkpoint")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--resume", action="store_true", help="continue an interrupted job from its checkpoint")
    g.add_argument("--restart", action="store_true", help="discard an interrupted job's files and start over")
    p.add_argument("--no-progress", action="store_true", help="no progress on stderr")
    p.add_argument("--quiet", action="store_true", help="no progress and no summary on stderr")
    _add_rest_arguments(p.add_argument_group("REST mode (score against a running TorchServe)"))
    ray = p.add_argument_group("Ray Data (pip install 'affectlens[dist]')")
    ray.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="local processes (default) or Ray Data map_batches with engine actors",
    )
    ray.add_argument("--ray-address", default=None, help="Ray cluster address (default: local Ray)")
    ray.add_argument("--ray-actors", type=int, default=None, help="engine actors (default: --workers)")
    add_engine_arguments(p)
    p.set_defaults(func=run_score)


def _add_rest_arguments(rest: Any) -> None:
    defaults = RestOptions(url="http://127.0.0.1")
    rest.add_argument(
        "--via",
        metavar="URL",
        default=None,
        help="TorchServe inference URL, e.g. http://127.0.0.1:8080 (or .../predictions/affectlens)",
    )
    rest.add_argument(
        "--token", default=None, help="inference token (default: $AFFECTLENS_TOKEN, else the key file of --run-dir)"
    )
    rest.add_argument(
        "--run-dir",
        default=None,
        help="run directory of `affectlens serve` (key_file.json); default: its default run directory",
    )
    rest.add_argument(
        "--concurrency",
        type=int,
        default=defaults.concurrency,
        help=f"requests in flight (default {defaults.concurrency})",
    )
    rest.add_argument(
        "--request-batch",
        type=int,
        default=defaults.request_batch,
        help=f"texts per request (default {defaults.request_batch})",
    )
    rest.add_argument(
        "--retries",
        type=int,
        default=defaults.retries,
        help="retries per request on connection errors and 429/5xx answers (honours Retry-After)",
    )


def run_score(args: argparse.Namespace) -> int:
    """``affectlens score``: 0 all rows OK, 1 some rows failed, 2 usage/IO errors (raised as AffectlensError)."""
    try:
        summary = _run_ray(args) if args.engine == "ray" else _run_local(args)
    except OSError as exc:  # unreadable input, unwritable output, disk full, ...
        raise BatchError(f"I/O error: {exc}") from exc
    if not args.quiet:
        print(json.dumps(summary.to_dict()), file=sys.stderr)
    return summary.exit_code


def _keep(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(k.strip() for k in args.keep.split(",") if k.strip())


def _run_ray(args: argparse.Namespace) -> BatchSummary:
    if args.via:
        raise ConfigError("--via (REST) and --engine ray exclude each other")
    if args.input == "-":
        raise ConfigError("--engine ray reads files (Ray's readers), not stdin: save the input to a file first")
    if args.output is None:
        raise ConfigError("--engine ray needs -o OUTPUT (a .parquet/.jsonl file or a folder)")
    if args.resume or args.restart:
        raise ConfigError("--engine ray does not resume (Ray retries failed tasks itself); use the local engine")
    return ray_score(
        args.input, args.output, text_field=args.text_field, id_field=args.id_field or None, keep=_keep(args),
        engine_config=engine_config_from_args(args), explain=args.explain, address=args.ray_address,
        actors=args.ray_actors or args.workers, batch_size=args.chunk_size, errors_path=args.errors,
        delimiter=args.delimiter, progress=not (args.no_progress or args.quiet),
    )  # fmt: skip


def _run_local(args: argparse.Namespace) -> BatchSummary:
    options = BatchOptions(
        text_field=args.text_field, id_field=args.id_field or None, keep=_keep(args), delimiter=args.delimiter,
        explain=args.explain, chunk_size=args.chunk_size, workers=args.workers, resume=args.resume,
        restart=args.restart, errors_path=args.errors, progress=False if (args.no_progress or args.quiet) else None,
    )  # fmt: skip
    spec: ScorerSpec
    if args.via:
        spec = RestOptions(
            url=args.via, token=resolve_token(args.token, args.run_dir), concurrency=args.concurrency,
            token_file=token_file_for(args.token, args.run_dir), request_batch=args.request_batch,
            retries=args.retries,
        )  # fmt: skip
    else:
        spec = Workers(engine_factory(engine_config_from_args(args)))
    if args.input == "-":
        return _score_stdin(args.output, options, spec)
    return score_file(args.input, args.output, options=options, scorer=spec)


def _score_stdin(output: str | None, options: BatchOptions, spec: ScorerSpec) -> BatchSummary:
    """``score -``: JSONL on stdin, spooled to a temporary file (the reader needs a file to count and resume)."""
    if options.resume:
        raise ConfigError("--resume needs an input file: stdin cannot be read again")
    # An earlier interrupted stdin job cannot be resumed either: its leftovers are discarded (as with --restart).
    options = dataclasses.replace(options, restart=output is not None)
    with tempfile.TemporaryDirectory(prefix="affectlens-stdin-") as tmp:
        spooled = Path(tmp) / "stdin.jsonl"
        with spooled.open("wb") as sink:
            shutil.copyfileobj(sys.stdin.buffer, sink)
        return score_file(spooled, output, options=options, scorer=spec)
