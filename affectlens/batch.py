"""Batch scoring jobs: ``affectlens score INPUT -o OUTPUT`` and :func:`score_file` (local processes or REST),
:func:`ray_score` (Ray Data; see :mod:`affectlens.batch_ray`).

The job is a pipeline ``reader -> chunks -> scorer -> formatter -> sink`` with the scorer injected:

* reader: JSONL / CSV / Parquet streamed in bounded memory (:mod:`affectlens.batch_io`); bad rows become
  error records with their line number, the good ones are still scored.
* scorer: anything with ``score_batch(texts, explain=...)`` (the :class:`~affectlens.engine.Engine`, a REST
  client for TorchServe, a fake in tests), in-process or in ``--workers N`` spawned processes that each build
  their own engine once with ``cores // N`` intra-op threads. Chunks are dispatched in order with a bounded
  number in flight, so the output order is the input order and memory does not grow with the input.
* sink: ``OUTPUT.partial`` (JSONL/CSV) or ``OUTPUT.parts/`` (Parquet) plus ``OUTPUT.checkpoint.json``; after
  each chunk the output and the errors file are fsynced and then the checkpoint (input position, output byte
  offset, counts) is replaced atomically. ``--resume`` truncates the partial files to the checkpoint and
  continues from the checkpointed input position; at the end the outputs are renamed into place, so OUTPUT
  is either absent or complete, never half-written.

Exit codes of ``affectlens score``: 0 every row scored, 1 some rows failed (see the errors file), 2 usage or
I/O error (nothing is lost: ``--resume`` continues).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import IO, Any, NamedTuple

from affectlens.batch_io import (
    AppendFile,
    ChunkResult,
    Formatter,
    ParquetParts,
    Position,
    Reader,
    ReadOptions,
    Record,
    atomic_write_json,
    format_of,
    open_reader,
    parquet_schema,
)
from affectlens.errors import AffectlensError, ConfigError

__all__ = [
    "BatchError",
    "BatchOptions",
    "BatchSummary",
    "cpu_count",
    "engine_factory",
    "ray_score",
    "register_command",
    "run_score",
    "score_file",
]

CHECKPOINT_VERSION = 1
PARQUET_PART_ROWS = 16384  # Parquet output: rows per committed part file (or one part every 2 s)


class BatchError(AffectlensError):
    """The job stopped (a worker died, the server kept failing, ...); ``--resume`` continues it."""

    code = "batch_failed"


# -- options and results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchOptions:
    """How to read, chunk, parallelize and write. Validated at construction."""

    text_field: str = "text"
    id_field: str | None = "id"
    keep: tuple[str, ...] = ()
    delimiter: str | None = None
    explain: bool = False
    chunk_size: int = 256
    workers: int = 1
    max_in_flight: int | None = None  # chunks dispatched but not yet written; default 2 per worker
    resume: bool = False
    restart: bool = False
    errors_path: str | None = None  # default OUTPUT.errors.jsonl (stdout output: errors inline)
    progress: bool | None = None  # None: only when stderr is a terminal... or always lines every 10 s
    checkpoint_seconds: float = 0.0  # 0: a checkpoint after every chunk
    parquet_part_rows: int = PARQUET_PART_ROWS  # Parquet output: a checkpoint per part of this many rows

    def __post_init__(self) -> None:
        if self.chunk_size < 1 or self.parquet_part_rows < 1:
            raise ConfigError("--chunk-size (and parquet_part_rows) must be at least 1")
        if self.workers < 1:
            raise ConfigError("--workers must be at least 1")
        if self.max_in_flight is not None and self.max_in_flight < 1:
            raise ConfigError("max_in_flight must be at least 1")
        if self.resume and self.restart:
            raise ConfigError("--resume and --restart exclude each other")
        if not self.text_field:
            raise ConfigError("--text-field must not be empty")
        if len(set(self.keep)) != len(self.keep):
            raise ConfigError("--keep names a column twice")


@dataclass
class BatchSummary:
    input: str
    output: str | None
    errors_file: str | None
    rows: int = 0
    ok: int = 0
    failed: int = 0
    resumed_rows: int = 0  # rows done by earlier runs of a resumed job (included in rows/ok/failed)
    seconds: float = 0.0  # this run
    rows_per_s: float = 0.0  # rows scored by this run / seconds
    error_codes: dict[str, int] = field(default_factory=dict)
    workers: int = 1
    scorer: str = ""

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- scorers -----------------------------------------------------------------------------------------


def cpu_count() -> int:
    """CPU cores this process may use (affinity-aware)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS
        return max(1, os.cpu_count() or 1)


def _build_engine(config: Any, threads: int) -> Any:
    from affectlens.engine import Engine

    if threads and config.neural.intra_op_threads == 0:
        config = replace(config, neural=replace(config.neural, intra_op_threads=threads))
    return Engine(config)


def engine_factory(config: Any = None) -> Callable[[int], Any]:
    """A picklable ``factory(threads) -> Engine`` for an ``EngineConfig`` (default: the hybrid engine)."""
    if config is None:
        from affectlens.engine import EngineConfig

        config = EngineConfig()
    return functools.partial(_build_engine, config)


def describe_scorer(factory: Any) -> str:
    args = factory.args if isinstance(factory, functools.partial) else ()
    config = args[0] if args else None
    if config is not None and hasattr(config, "mode"):
        return f"engine:{config.mode}:{config.model_dir or 'default'}:nrc={config.lexicon.use_nrc}"
    func = getattr(factory, "func", factory)
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', type(factory).__name__)}"


class Chunk(NamedTuple):
    records: list[Record]
    end: Position


def iter_chunks(records: Iterable[tuple[Record, Position]], size: int) -> Iterator[Chunk]:
    batch: list[Record] = []
    end = None
    for rec, pos in records:
        batch.append(rec)
        end = pos
        if len(batch) >= size:
            yield Chunk(batch, end)
            batch = []
    if batch and end is not None:
        yield Chunk(batch, end)


def score_records(scorer: Any, formatter: Formatter, records: Sequence[Record], explain: bool) -> ChunkResult:
    """Score the good records of a chunk with one ``score_batch`` call and format the whole chunk."""
    texts = [r.text for r in records if r.error is None]
    results = scorer.score_batch(texts, explain=explain) if texts else []
    if len(results) != len(texts):
        raise BatchError(f"the scorer returned {len(results)} results for {len(texts)} texts")
    return formatter.format_chunk(records, results)


_WORKER: dict[str, Any] = {}


def _init_worker(factory: Callable[[int], Any], threads: int, formatter: Formatter, explain: bool) -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    _WORKER.update(scorer=factory(threads), formatter=formatter, explain=explain)


def _worker_score(records: list[Record]) -> ChunkResult:
    return score_records(_WORKER["scorer"], _WORKER["formatter"], records, _WORKER["explain"])


class _Done:
    """A finished future (in-process scoring)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def result(self) -> Any:
        return self.value


def ordered_map(
    submit: Callable[[list[Record]], Any], chunks: Iterable[Chunk], max_in_flight: int
) -> Iterator[tuple[Chunk, ChunkResult]]:
    """Submit chunks with at most ``max_in_flight`` unfinished; yield results in input order."""
    pending: deque[tuple[Chunk, Any]] = deque()
    for chunk in chunks:
        pending.append((chunk, submit(chunk.records)))
        while len(pending) >= max_in_flight or (pending and _is_done(pending[0][1])):
            done_chunk, fut = pending.popleft()
            yield done_chunk, fut.result()
    while pending:
        done_chunk, fut = pending.popleft()
        yield done_chunk, fut.result()


def _is_done(fut: Any) -> bool:
    return isinstance(fut, _Done) or (isinstance(fut, Future) and fut.done())


# -- progress -------------------------------------------------------------------------------------------


def _hms(seconds: float) -> str:
    s = int(max(0, seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class Progress:
    """Progress with rate and ETA on stderr: in place on a terminal, a line every 10 s otherwise."""

    def __init__(self, total: int, start: int, enabled: bool | None, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = True if enabled is None else enabled
        self.inplace = tty
        self.interval = 0.25 if tty else 10.0
        self.total, self.start = total, start
        self.t0 = time.monotonic()
        self.last = 0.0 if tty else self.t0
        self.drawn = False

    def update(self, offset: int, rows: int, failed: int, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self.last < self.interval:
            return
        self.last = now
        elapsed = now - self.t0
        rate = rows / elapsed if elapsed > 0 else 0.0
        span = max(1, self.total - self.start)
        frac = min(1.0, max(0.0, (offset - self.start) / span))
        eta = elapsed * (1 - frac) / frac if frac > 0 else float("nan")
        pct = 100.0 * (offset / self.total if self.total else 1.0)
        msg = (
            f"scoring {pct:5.1f}% | {rows:,} rows | {rate:,.0f} rows/s | "
            f"elapsed {_hms(elapsed)} | ETA {_hms(eta) if eta == eta else '?'}"
            + (f" | {failed:,} failed" if failed else "")
        )
        if self.inplace:
            self.stream.write("\r" + msg.ljust(100))
            self.drawn = True
        else:
            self.stream.write(msg + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.drawn:
            self.stream.write("\n")
            self.stream.flush()


# -- the job -------------------------------------------------------------------------------------------


class _StdoutSink:
    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.offset = 0

    def write(self, data: bytes) -> None:
        if data:
            self.stream.write(data)
            self.offset += len(data)

    def commit(self) -> int:
        self.stream.flush()
        return self.offset

    def close(self) -> None:
        self.stream.flush()


@dataclass
class _Paths:
    output: Path
    partial: Path
    checkpoint: Path
    errors: Path
    errors_partial: Path
    parts: Path

    @classmethod
    def for_output(cls, output: Path, errors: str | None) -> _Paths:
        err = Path(errors) if errors else output.with_name(output.name + ".errors.jsonl")
        return cls(
            output=output,
            partial=output.with_name(output.name + ".partial"),
            checkpoint=output.with_name(output.name + ".checkpoint.json"),
            errors=err,
            errors_partial=err.with_name(err.name + ".partial"),
            parts=output.with_name(output.name + ".parts"),
        )


def _input_identity(path: Path) -> dict[str, Any]:
    st = path.stat()
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def score_file(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str] | None = None,
    *,
    options: BatchOptions | None = None,
    engine: Any = None,
    factory: Callable[[int], Any] | None = None,
    engine_config: Any = None,
    rest: Any = None,
    stdout: IO[bytes] | None = None,
    progress_stream: IO[str] | None = None,
) -> BatchSummary:
    """Score a JSONL/CSV/Parquet file into ``output`` (format by extension; None: JSONL on stdout).

    The scorer is one of: ``engine`` (any object with ``score_batch``, in this process), ``factory``
    (picklable ``factory(threads)`` building one per worker process), ``engine_config`` (an ``EngineConfig``),
    ``rest`` (:class:`affectlens.batch_rest.RestOptions`: a running TorchServe). Default: the hybrid Engine.
    """
    opts = options or BatchOptions()
    in_path = Path(input)
    in_fmt = format_of(in_path, "input")
    out_path = Path(output) if output is not None else None
    out_fmt = format_of(out_path, "output") if out_path is not None else "jsonl"
    if out_path is not None and out_path.exists() and in_path.exists() and out_path.resolve() == in_path.resolve():
        raise ConfigError("OUTPUT must not be the INPUT file")
    if out_path is None and (opts.resume or opts.restart):
        raise ConfigError("--resume needs an output file (-o OUTPUT); stdout cannot be resumed")

    reader = open_reader(in_path, ReadOptions(opts.text_field, opts.id_field, opts.keep, opts.delimiter), in_fmt)
    delimiter = "\t" if out_path is not None and out_path.suffix.lower() == ".tsv" else ","
    formatter = Formatter(out_fmt, opts.keep, inline_errors=out_path is None and not opts.errors_path,
                          delimiter=delimiter)  # fmt: skip
    input_types = reader.input_schema() or {}
    formatter.arrow_text_columns = tuple(
        name for src, name in [("id", "id"), *zip(opts.keep, formatter.keep_out, strict=True)] if src not in input_types
    )

    # the scorer
    scorer_desc: str
    workers = opts.workers
    if rest is not None:
        from affectlens.batch_rest import RestScorer

        rest_scorer = RestScorer(rest)
        scorer_desc = f"rest:{rest_scorer.url}"
        workers = 1
    else:
        if engine is None and factory is None:
            factory = engine_factory(engine_config)
        if engine is not None and workers > 1:
            raise ConfigError("an engine object runs in this process: pass a factory or engine_config for workers")
        scorer_desc = describe_scorer(factory) if engine is None else type(engine).__name__

    summary = BatchSummary(
        input=str(in_path), output=str(out_path) if out_path else None, errors_file=None, workers=workers,
        scorer=scorer_desc,
    )  # fmt: skip
    fingerprint = {
        "input_format": in_fmt, "output_format": out_fmt, "text_field": opts.text_field, "id_field": opts.id_field,
        "keep": list(opts.keep), "explain": opts.explain, "scorer": scorer_desc,
        "errors": str(_Paths.for_output(out_path, opts.errors_path).errors) if out_path else opts.errors_path,
    }  # fmt: skip

    # the sinks (and resume state)
    start = Position()
    paths: _Paths | None = None
    resume_state: dict[str, Any] | None = None
    schema = parquet_schema(formatter, input_types) if out_fmt == "parquet" else None
    state: dict[str, Any] = {"ok": 0, "failed": 0, "rows": 0, "error_codes": {}}
    if out_path is None:
        sink: Any = _StdoutSink(stdout or sys.stdout.buffer)
        err_sink: Any = AppendFile(Path(opts.errors_path)) if opts.errors_path else None
        parts = None
    else:
        paths = _Paths.for_output(out_path, opts.errors_path)
        resume_state = _load_checkpoint(paths, reader, fingerprint, opts)
        if resume_state is not None and resume_state.get("state") == "done":
            done_parts = (
                ParquetParts(paths.parts, schema, resume_parts=resume_state["parts"])
                if (schema is not None and paths.parts.is_dir())
                else None
            )
            return _finish(paths, resume_state, summary, parts=done_parts, t0=time.monotonic(), resumed=True)
        if resume_state is not None:
            start = Position(**resume_state["position"])
            for key in state:
                state[key] = resume_state[key]
            summary.resumed_rows = state["rows"]
        paths.output.parent.mkdir(parents=True, exist_ok=True)
        if out_fmt == "parquet":
            parts = ParquetParts(paths.parts, schema, None if resume_state is None else resume_state["parts"])
            sink = parts
        else:
            parts = None
            sink = AppendFile(paths.partial, None if resume_state is None else resume_state["output_bytes"],
                              header=formatter.header_bytes())  # fmt: skip
        err_sink = AppendFile(paths.errors_partial, None if resume_state is None else resume_state["errors_bytes"])

    t0 = time.monotonic()
    seconds_before = float((resume_state or {}).get("seconds", 0.0))
    position = start
    last_commit = 0.0

    def checkpoint(final: bool = False) -> None:
        nonlocal last_commit
        if paths is None:
            sink.commit()
            if err_sink is not None:
                err_sink.commit()
            return
        out_marker = sink.commit()
        errors_bytes = err_sink.commit()
        atomic_write_json(paths.checkpoint, {
            "version": CHECKPOINT_VERSION, "state": "done" if final else "running",
            "input": _input_identity(in_path), "options": fingerprint,
            "position": {"offset": position.offset, "line": position.line},
            "output_bytes": out_marker if parts is None else None, "parts": out_marker if parts is not None else None,
            "errors_bytes": errors_bytes, "seconds": seconds_before + time.monotonic() - t0, **state,
        })  # fmt: skip
        last_commit = time.monotonic()

    if paths is not None and resume_state is None:
        checkpoint()  # a fresh job: the checkpoint exists from the first moment (so --resume always works)

    progress = Progress(reader.total, start.offset, opts.progress, progress_stream)
    rows_this_run = 0
    executor: Any = None
    try:
        chunks = iter_chunks(reader.records(start), opts.chunk_size)
        if rest is not None:
            from concurrent.futures import ThreadPoolExecutor

            executor = ThreadPoolExecutor(max_workers=rest.concurrency, thread_name_prefix="affectlens-rest")
            submit: Callable[[list[Record]], Any] = functools.partial(
                executor.submit, score_records, rest_scorer, formatter, explain=opts.explain
            )
            in_flight = opts.max_in_flight or rest.concurrency * 2
        elif workers > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            assert factory is not None  # an engine object with workers > 1 was refused above
            threads = max(1, cpu_count() // workers)
            executor = ProcessPoolExecutor(
                max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker, initargs=(factory, threads, formatter, opts.explain),
            )  # fmt: skip
            submit = functools.partial(executor.submit, _worker_score)
            in_flight = opts.max_in_flight or workers * 2
        else:
            assert engine is not None or factory is not None
            scorer = engine if engine is not None else factory(0)  # type: ignore[misc]
            submit = lambda recs: _Done(score_records(scorer, formatter, recs, opts.explain))  # noqa: E731
            in_flight = 1
        for chunk, result in ordered_map(submit, chunks, in_flight):
            if parts is not None:
                parts.write(result.data)
            else:
                sink.write(result.data)
            if err_sink is not None:
                err_sink.write(result.errors)
            n = len(chunk.records)
            rows_this_run += n
            state["rows"] += n
            state["ok"] += result.ok
            state["failed"] += result.failed
            for code, count in result.error_codes.items():
                state["error_codes"][code] = state["error_codes"].get(code, 0) + count
            position = chunk.end
            since = time.monotonic() - last_commit
            if (
                since >= opts.checkpoint_seconds
                if parts is None
                else parts.pending_rows >= opts.parquet_part_rows or since >= max(2.0, opts.checkpoint_seconds)
            ):
                checkpoint()
            progress.update(position.offset, rows_this_run, state["failed"])
        progress.update(reader.total, rows_this_run, state["failed"], force=True)
    except BaseException as exc:
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
            executor = None
        _close(sink, err_sink)
        progress.close()
        from concurrent.futures.process import BrokenProcessPool

        again = " run again with --resume to continue" if paths is not None else ""
        if isinstance(exc, BrokenProcessPool):
            raise BatchError(f"a worker process died (out of memory?);{again}") from exc
        if isinstance(exc, Exception) and not isinstance(exc, AffectlensError):
            raise BatchError(f"scoring failed: {type(exc).__name__}: {exc};{again}") from exc
        raise
    finally:
        if executor is not None:
            executor.shutdown(wait=True)
    progress.close()
    return _finish(paths, state, summary, parts=parts, sink=sink, err_sink=err_sink, checkpoint=checkpoint, t0=t0,
                   rows_this_run=rows_this_run)  # fmt: skip


def _close(*sinks: Any) -> None:
    for s in sinks:
        if s is not None:
            s.close()


def _finish(
    paths: _Paths | None,
    st: dict[str, Any],
    summary: BatchSummary,
    *,
    t0: float,
    parts: ParquetParts | None = None,
    sink: Any = None,
    err_sink: Any = None,
    checkpoint: Callable[..., None] | None = None,
    rows_this_run: int = 0,
    resumed: bool = False,
) -> BatchSummary:
    """Commit, mark the checkpoint done, rename the outputs into place, then drop the checkpoint.

    Every step is idempotent: a job killed while finishing completes on ``--resume``."""
    if checkpoint is not None:
        checkpoint(final=True)
    _close(sink, err_sink)
    if paths is not None:
        if parts is not None:
            parts.finish(paths.output)
        elif paths.partial.exists():
            os.replace(paths.partial, paths.output)
        if st["failed"]:
            if paths.errors_partial.exists():
                os.replace(paths.errors_partial, paths.errors)
            summary.errors_file = str(paths.errors)
        else:
            paths.errors_partial.unlink(missing_ok=True)
            paths.errors.unlink(missing_ok=True)  # a stale errors file of an earlier run of this job
        paths.checkpoint.unlink(missing_ok=True)
    elif err_sink is not None and st["failed"]:
        summary.errors_file = str(err_sink.path)
    summary.rows, summary.ok, summary.failed = st["rows"], st["ok"], st["failed"]
    summary.error_codes = dict(st["error_codes"])
    if resumed:
        summary.resumed_rows = st["rows"]
    summary.seconds = round(time.monotonic() - t0, 3)
    summary.rows_per_s = round(rows_this_run / summary.seconds, 1) if summary.seconds > 0 else 0.0
    return summary


def _load_checkpoint(paths: _Paths, reader: Reader, fingerprint: dict[str, Any], opts: BatchOptions) -> Any:
    """The checkpoint to resume from (None: a fresh job). Refuses to mix two different jobs."""
    exists = paths.checkpoint.exists()
    if opts.restart or not exists:
        # leftovers without a checkpoint cannot be resumed: they are this job's own temporary files
        for p in (paths.checkpoint, paths.partial, paths.errors_partial):
            p.unlink(missing_ok=True)
        if opts.resume:
            print(f"affectlens score: no checkpoint at {paths.checkpoint}; starting from the beginning",
                  file=sys.stderr)  # fmt: skip
        return None
    if not opts.resume:
        raise ConfigError(
            f"an interrupted job left {paths.checkpoint}: pass --resume to continue it, or --restart to start over"
        )
    try:
        data = json.loads(paths.checkpoint.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {paths.checkpoint} ({exc}); pass --restart to start over") from None
    if data.get("version") != CHECKPOINT_VERSION:
        raise ConfigError(f"{paths.checkpoint} was written by another affectlens version; pass --restart")
    if data.get("state") == "done":
        return data
    identity = _input_identity(reader.path)
    if data["input"]["size"] != identity["size"] or data["input"]["mtime_ns"] != identity["mtime_ns"]:
        raise ConfigError(
            f"cannot resume: {reader.path} changed since the job started (size or modification time); "
            "pass --restart to score it from the beginning"
        )
    if data["options"] != fingerprint:
        changed = sorted(k for k in fingerprint if data["options"].get(k) != fingerprint[k])
        raise ConfigError(
            f"cannot resume with different options ({', '.join(changed)}): use the options of the interrupted "
            "run, or --restart"
        )
    return data


# -- command line ------------------------------------------------------------------------------------


def register_command(subparsers: Any, name: str, help_text: str) -> None:
    """Add ``affectlens score`` (called by :mod:`affectlens.cli`)."""
    from affectlens.cli import add_engine_arguments

    p = subparsers.add_parser(
        name, help=help_text, description="Score a JSONL, CSV or Parquet file (format by extension).",
        epilog="exit codes: 0 all rows scored, 1 some rows failed (see the errors file), 2 usage or I/O error",
    )  # fmt: skip
    p.add_argument("input", metavar="INPUT", help="input file: .jsonl, .csv, .tsv or .parquet")
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
    rest = p.add_argument_group("REST mode (score against a running TorchServe)")
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
    rest.add_argument("--concurrency", type=int, default=4, help="requests in flight (default 4)")
    rest.add_argument("--request-batch", type=int, default=32, help="texts per request (default 32)")
    rest.add_argument("--retries", type=int, default=8, help="retries per request on 503/connection errors")
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


def run_score(args: argparse.Namespace) -> int:
    """``affectlens score``: 0 all rows OK, 1 some rows failed, 2 usage/IO errors (raised as AffectlensError)."""
    try:
        return _run_score(args)
    except OSError as exc:  # unreadable input, unwritable output, disk full, ...
        raise BatchError(f"I/O error: {exc}") from exc


def _run_score(args: argparse.Namespace) -> int:
    from affectlens.cli import engine_config_from_args

    keep = tuple(k.strip() for k in args.keep.split(",") if k.strip())
    quiet = args.quiet
    if args.via and args.engine == "ray":
        raise ConfigError("--via (REST) and --engine ray exclude each other")
    if args.engine == "ray":
        from affectlens.batch_ray import ray_score as _ray_score

        if args.output is None:
            raise ConfigError("--engine ray needs -o OUTPUT (a .parquet/.jsonl file or a folder)")
        if args.resume or args.restart:
            raise ConfigError("--engine ray does not resume (Ray retries failed tasks itself); use the local engine")
        summary = _ray_score(
            args.input, args.output, text_field=args.text_field, id_field=args.id_field or None, keep=keep,
            engine_config=engine_config_from_args(args), explain=args.explain, address=args.ray_address,
            actors=args.ray_actors or args.workers, batch_size=args.chunk_size, errors_path=args.errors,
            delimiter=args.delimiter, progress=not (args.no_progress or quiet),
        )  # fmt: skip
    else:
        options = BatchOptions(
            text_field=args.text_field, id_field=args.id_field or None, keep=keep, delimiter=args.delimiter,
            explain=args.explain, chunk_size=args.chunk_size, workers=args.workers, resume=args.resume,
            restart=args.restart, errors_path=args.errors, progress=False if (args.no_progress or quiet) else None,
        )  # fmt: skip
        rest = None
        config = None
        if args.via:
            from affectlens.batch_rest import RestOptions, resolve_token, token_file_for

            rest = RestOptions(
                url=args.via, token=resolve_token(args.token, args.run_dir), concurrency=args.concurrency,
                token_file=token_file_for(args.token, args.run_dir),
                request_batch=args.request_batch, retries=args.retries,
            )  # fmt: skip
        else:
            config = engine_config_from_args(args)
        summary = score_file(args.input, args.output, options=options, engine_config=config, rest=rest)
    if not quiet:
        print(json.dumps(summary.to_dict()), file=sys.stderr)
    return summary.exit_code


def ray_score(*args: Any, **kwargs: Any) -> Any:
    """Score with Ray Data (see :func:`affectlens.batch_ray.ray_score`; needs the ``dist`` extra)."""
    from affectlens.batch_ray import ray_score as _ray_score

    return _ray_score(*args, **kwargs)
