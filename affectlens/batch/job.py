"""The local batch job, :func:`score_file`: ``reader -> chunks -> pool of scorers -> formatter -> sinks``.

Output goes to ``OUTPUT.partial`` (JSONL/CSV) or ``OUTPUT.parts/`` (Parquet) plus ``OUTPUT.checkpoint.json``:
after each chunk the output and the errors file are fsynced, then the checkpoint (input position, output
size, counts) is replaced atomically. ``--resume`` truncates the partial files to the checkpoint and continues
from its input position; at the end the outputs are renamed into place, so OUTPUT is either absent or
complete, never half-written.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from affectlens.errors import AffectlensError, ConfigError

from .checkpoint import JobPaths, JobState, input_identity, load_checkpoint
from .formatting import Formatter
from .pools import ScorerSpec, describe, open_pool, ordered_map, resolve_scorer, worker_count
from .progress import Progress
from .readers import format_of, open_reader
from .rest import RestOptions
from .sinks import AppendFile, ParquetParts, StdoutSink, atomic_write_json, parquet_schema
from .types import (
    CHECKPOINT_VERSION,
    PARQUET_PART_SECONDS,
    BatchError,
    BatchOptions,
    BatchSummary,
    Chunk,
    Position,
    Record,
    Scorer,
    ScorerFactory,
)

if TYPE_CHECKING:
    from affectlens.engine import EngineConfig


def score_file(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str] | None = None,
    *,
    scorer: ScorerSpec | None = None,
    options: BatchOptions | None = None,
    stdout: IO[bytes] | None = None,
    progress_stream: IO[str] | None = None,
    engine: Scorer | None = None,
    factory: ScorerFactory | None = None,
    engine_config: EngineConfig | None = None,
    rest: RestOptions | None = None,
) -> BatchSummary:
    """Score a JSONL/CSV/Parquet file into ``output`` (format by extension; None: JSONL on ``stdout``).

    ``scorer``: :class:`InProcess` (an object with ``score_batch``, in this process), :class:`Workers`
    (a picklable ``factory(threads)``, built once per worker process) or :class:`RestOptions` (a running
    TorchServe); default: the hybrid Engine. ``engine=``, ``factory=``, ``engine_config=`` and ``rest=`` are
    shorthands for the same (one at most).
    """
    spec = resolve_scorer(scorer, engine=engine, factory=factory, engine_config=engine_config, rest=rest)
    job = Job(Path(input), None if output is None else Path(output), options or BatchOptions(), spec)
    return job.run(stdout or sys.stdout.buffer, progress_stream)


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


class Job:
    """One run of a job: checked and opened at construction (nothing written yet), then :meth:`run`."""

    def __init__(self, in_path: Path, out_path: Path | None, opts: BatchOptions, spec: ScorerSpec) -> None:
        in_fmt = format_of(in_path, "input")
        out_fmt = format_of(out_path, "output") if out_path is not None else "jsonl"
        if out_path is not None and out_path.exists() and in_path.exists() and out_path.resolve() == in_path.resolve():
            raise ConfigError("OUTPUT must not be the INPUT file")
        if out_path is None and (opts.resume or opts.restart):
            raise ConfigError("--resume needs an output file (-o OUTPUT); stdout cannot be resumed")
        self.opts, self.spec, self.in_path = opts, spec, in_path
        workers = worker_count(spec, opts)
        self.reader = open_reader(in_path, opts.read_options(), in_fmt)
        tsv = out_path is not None and out_path.suffix.lower() == ".tsv"
        self.formatter = Formatter(out_fmt, opts.keep, inline_errors=out_path is None and not opts.errors_path,
                                   delimiter="\t" if tsv else ",")  # fmt: skip
        self.input_types = self.reader.input_schema()
        self.formatter.set_input_types(self.input_types)
        self.paths = JobPaths.for_output(out_path, opts.errors_path) if out_path is not None else None
        self.summary = BatchSummary(input=str(in_path), output=None if out_path is None else str(out_path),
                                    errors_file=None, workers=workers, scorer=describe(spec))  # fmt: skip
        self.fingerprint = {
            "input_format": in_fmt, "output_format": out_fmt, "text_field": opts.text_field,
            "id_field": opts.id_field, "keep": list(opts.keep), "explain": opts.explain, "scorer": self.summary.scorer,
            "errors": str(self.paths.errors) if self.paths is not None else opts.errors_path,
        }  # fmt: skip
        self.schema = parquet_schema(self.formatter, self.input_types) if out_fmt == "parquet" else None
        self.state = JobState()
        self.t0 = time.monotonic()
        self.last_commit = 0.0
        self.rows_this_run = 0

    def run(self, stdout: IO[bytes], progress_stream: IO[str] | None = None) -> BatchSummary:
        resume = load_checkpoint(self.paths, self.in_path, self.fingerprint, self.opts) if self.paths else None
        if resume is not None:
            self.state = JobState.from_checkpoint(resume)
            self.summary.resumed_rows = self.state.rows
            if resume.get("state") == "done":  # killed while finishing: only the renames are left
                return self._finish(self._parts(resume.get("parts")) if self._has_parts() else None, None, None)
        data, errors = self._open_sinks(stdout, resume)
        if self.paths is not None and resume is None:
            self._commit(data, errors)  # a fresh job: the checkpoint exists from the first moment
        progress = Progress(self.reader.total, self.state.position.offset, self.opts.progress, progress_stream)
        try:
            self._score(data, errors, progress)
        except BaseException as exc:
            _close(data, errors)
            progress.close()
            error = _job_error(exc, resumable=self.paths is not None)
            if error is exc:
                raise
            raise error from exc
        progress.close()
        self._commit(data, errors, final=True)
        return self._finish(data if isinstance(data, ParquetParts) else None, data, errors)

    def _has_parts(self) -> bool:
        return self.schema is not None and self.paths is not None and self.paths.parts.is_dir()

    def _parts(self, resume_parts: int | None) -> ParquetParts:
        assert self.paths is not None
        return ParquetParts(self.paths.parts, self.schema, resume_parts)

    def _open_sinks(self, stdout: IO[bytes], resume: dict[str, Any] | None) -> tuple[Any, AppendFile | None]:
        if self.paths is None:
            return StdoutSink(stdout), AppendFile(Path(self.opts.errors_path)) if self.opts.errors_path else None
        self.paths.output.parent.mkdir(parents=True, exist_ok=True)
        at = resume or {}
        errors = AppendFile(self.paths.errors_partial, at.get("errors_bytes"))
        if self.schema is not None:
            return self._parts(at.get("parts")), errors
        return AppendFile(self.paths.partial, at.get("output_bytes"), header=self.formatter.header_bytes()), errors

    def _score(self, data: Any, errors: AppendFile | None, progress: Progress) -> None:
        pool = open_pool(self.spec, self.opts, self.formatter)
        cancel = True
        try:
            chunks = iter_chunks(self.reader.records(self.state.position), self.opts.chunk_size)
            for chunk, result in ordered_map(pool.submit, chunks, pool.in_flight):
                data.write(result.data)
                if errors is not None:
                    errors.write(result.errors)
                self.rows_this_run += len(chunk.records)
                self.state.add(len(chunk.records), result, chunk.end)
                if self._checkpoint_due(data):
                    self._commit(data, errors)
                progress.update(chunk.end.offset, self.rows_this_run, self.state.failed)
            progress.update(self.reader.total, self.rows_this_run, self.state.failed, force=True)
            cancel = False
        finally:
            pool.close(cancel=cancel)

    def _checkpoint_due(self, data: Any) -> bool:
        since = time.monotonic() - self.last_commit
        if isinstance(data, ParquetParts):
            return data.pending_rows >= self.opts.parquet_part_rows or since >= max(
                PARQUET_PART_SECONDS, self.opts.checkpoint_seconds
            )
        return since >= self.opts.checkpoint_seconds

    def _commit(self, data: Any, errors: AppendFile | None, final: bool = False) -> None:
        """Make the output durable, then (with an output file) replace the checkpoint that points into it."""
        marker = data.commit()
        errors_bytes = errors.commit() if errors is not None else None
        self.last_commit = time.monotonic()
        if self.paths is None:
            return
        parts = isinstance(data, ParquetParts)
        atomic_write_json(self.paths.checkpoint, {
            "version": CHECKPOINT_VERSION, "state": "done" if final else "running",
            "input": input_identity(self.in_path), "options": self.fingerprint,
            "output_bytes": None if parts else marker, "parts": marker if parts else None,
            "errors_bytes": errors_bytes,
            **self.state.to_checkpoint(self.state.seconds + time.monotonic() - self.t0),
        })  # fmt: skip

    def _finish(self, parts: ParquetParts | None, data: Any, errors: AppendFile | None) -> BatchSummary:
        """Rename the outputs into place, then drop the checkpoint (each step idempotent: a job killed while
        finishing completes on ``--resume``)."""
        _close(data, errors)
        st, summary, paths = self.state, self.summary, self.paths
        if paths is not None:
            if parts is not None:
                parts.finish(paths.output)
            elif paths.partial.exists():
                os.replace(paths.partial, paths.output)
            if st.failed:
                if paths.errors_partial.exists():
                    os.replace(paths.errors_partial, paths.errors)
                summary.errors_file = str(paths.errors)
            else:
                paths.errors_partial.unlink(missing_ok=True)
                paths.errors.unlink(missing_ok=True)  # a stale errors file of an earlier run of this job
            paths.checkpoint.unlink(missing_ok=True)
        elif errors is not None and st.failed:
            summary.errors_file = str(errors.path)
        summary.rows, summary.ok, summary.failed = st.rows, st.ok, st.failed
        summary.error_codes = dict(st.error_codes)
        summary.finish_timing(time.monotonic() - self.t0, self.rows_this_run)
        return summary


def _close(*sinks: Any) -> None:
    for s in sinks:
        if s is not None:
            s.close()


def _job_error(exc: BaseException, resumable: bool) -> BaseException:
    """The error to report for a job that stopped: what happened, and that ``--resume`` continues it."""
    from concurrent.futures.process import BrokenProcessPool

    again = " run again with --resume to continue" if resumable else ""
    if isinstance(exc, BrokenProcessPool):
        return BatchError(f"a worker process died (out of memory?);{again}")
    if isinstance(exc, Exception) and not isinstance(exc, AffectlensError):
        return BatchError(f"scoring failed: {type(exc).__name__}: {exc};{again}")
    return exc
