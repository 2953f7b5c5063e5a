"""Ray Data engine for batch jobs (``affectlens score --engine ray``, :func:`ray_score`); needs the ``dist`` extra.

The same scorer runs as a stateful actor (:class:`EngineActor`, built once per actor in ``__init__``) in
``Dataset.map_batches`` over ``ray.data.read_json`` (JSON Lines), ``read_csv`` or ``read_parquet``. Without an
address it starts Ray locally on this machine; with ``address=`` (``--ray-address``, or ``RAY_ADDRESS``) the
same code runs on a cluster, where affectlens must be installed on the nodes (or shipped with ``runtime_env``)
and the paths must be visible to every node (shared storage, ``s3://``, ...).

Rows are checked (:func:`~affectlens.batch.readers.check_text`) and formatted
(:class:`~affectlens.batch.formatting.Formatter`) exactly as by the local engine. Output:

* a ``.jsonl`` or ``.parquet`` file: the local engine's format, rows in input order, bad rows in
  ``OUTPUT.errors.jsonl``. The rows stream through the driver, which writes the file atomically.
* a folder (a path ending in ``/`` or without an extension, with ``output_format``): Ray's own writers
  (``write_parquet`` / ``write_json``), one file per block, written by the workers (what a cluster wants). Rows
  use the flat schema plus ``error_code`` / ``error_message`` (null for scored rows).

Differences from the local engine: Ray's readers parse the file, so a malformed JSON or CSV line fails the job
instead of going to the errors file, and errors carry no line numbers (``"line": null``). ``--resume`` is not
supported (Ray re-runs failed tasks itself). Clean up dirty files with the local engine.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from affectlens.errors import AffectlensError, ConfigError, MissingDependencyError

from .checkpoint import JobPaths
from .formatting import (
    FLAT_ERROR_COLUMNS,
    Formatter,
    error_object,
    error_of,
    json_line,
    payload_of,
    stringify_for_arrow,
)
from .pools import cpu_count, describe_scorer, engine_factory, limit_threads
from .readers import MISSING, format_of, import_pyarrow_parquet, parquet_input_types, require_columns, text_record
from .sinks import commit_file, parquet_schema
from .types import BatchError, BatchSummary, ReadOptions, Record, ScorerFactory

if TYPE_CHECKING:
    from affectlens.engine import EngineConfig

JSON_COLUMN = "_json_line"
CLUSTER_THREADS_PER_ACTOR = 2  # on a cluster: engine threads (and Ray CPUs) per actor by default
ITER_BATCH_ROWS = 1024  # rows per batch the driver reads from the scored dataset (at least)


def import_ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError:
        raise MissingDependencyError.for_extra("ray", "dist") from None
    return ray


def _plain(value: Any) -> Any:
    """numpy / pandas scalars -> Python values (JSON- and Arrow-friendly); NaN -> None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    item = getattr(value, "item", None)
    if callable(item) and type(value).__module__ == "numpy":
        try:
            return item()
        except (ValueError, TypeError):
            return value
    if hasattr(value, "isoformat") and type(value).__module__.startswith("pandas"):
        return value.to_pydatetime() if hasattr(value, "to_pydatetime") else str(value)
    return value


class EngineActor:
    """Ray Data callable class: builds the scorer once, then scores one batch per call."""

    def __init__(self, factory: ScorerFactory, threads: int, options: ReadOptions, explain: bool, out_format: str,
                 schema_bytes: bytes, with_json: bool) -> None:  # fmt: skip
        import pyarrow as pa

        limit_threads(threads)
        self.scorer = factory(threads)
        self.options, self.explain, self.with_json = options, explain, with_json
        self.formatter = Formatter(out_format, options.keep)
        self.schema = pa.ipc.read_schema(pa.py_buffer(schema_bytes))
        self.text_columns = [n for n, f in zip(self.schema.names, self.schema, strict=True)
                             if pa.types.is_string(f.type) and n in ("id", *self.formatter.keep_out)]  # fmt: skip

    def __call__(self, batch: Any) -> Any:
        """One batch (``pyarrow.Table`` or pandas) -> the output columns (a ``pyarrow.Table`` of the output schema)."""
        import pyarrow as pa

        records = self._records(batch)
        good = [r.text for r in records if r.error is None]
        results = iter(self.scorer.score_batch(good, explain=self.explain) if good else [])
        rows: dict[str, list[Any]] = {name: [] for name in self.schema.names}
        for rec in records:
            payload = None if rec.error is not None else payload_of(next(results))
            error = rec.error or (error_of(payload) if payload is not None else None)
            if error is None and payload is not None:
                row = self.formatter.flat(rec, payload)
                if self.with_json:
                    row[JSON_COLUMN] = json_line(self.formatter.output_object(rec, payload)).decode("utf-8")
            else:
                row = {**self.formatter.base_row(rec), **dict(zip(FLAT_ERROR_COLUMNS, error or ("error", ""),
                                                                  strict=True))}  # fmt: skip
            for name, col in rows.items():
                col.append(row.get(name))
        stringify_for_arrow(rows, self.text_columns)
        return pa.Table.from_pydict(rows, schema=self.schema)

    def _records(self, batch: Any) -> list[Record]:
        import pyarrow as pa

        arrow = isinstance(batch, pa.Table)
        n = batch.num_rows if arrow else len(batch)
        present = set(batch.column_names if arrow else batch.columns)

        def col(name: str | None, default: Any = None) -> list[Any]:
            if not name or name not in present:
                return [default] * n
            return list(batch.column(name).to_pylist() if arrow else batch[name].tolist())

        opts = self.options
        texts, ids, keeps = col(opts.text_field, MISSING), col(opts.id_field), [col(k) for k in opts.keep]
        return [text_record(None, _plain(ids[i]), texts[i], tuple(_plain(c[i]) for c in keeps), opts.text_field)
                for i in range(n)]  # fmt: skip


def ray_score(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    text_field: str = "text",
    id_field: str | None = "id",
    keep: Sequence[str] = (),
    engine_config: EngineConfig | None = None,
    factory: ScorerFactory | None = None,
    explain: bool = False,
    address: str | None = None,
    actors: int = 1,
    batch_size: int = 256,
    errors_path: str | None = None,
    output_format: str | None = None,
    delimiter: str | None = None,
    num_cpus: int | None = None,
    shutdown: bool | None = None,
    progress: bool = True,
    actor_cpus: float | None = None,
    threads_per_actor: int | None = None,
) -> BatchSummary:
    """Score ``input`` with Ray Data into ``output``; returns a :class:`~affectlens.batch.BatchSummary`.

    ``factory(threads)`` builds the scorer in each actor (default: ``Engine(engine_config)``). Ray is started
    locally (``num_cpus`` cores, default all) unless it is running already or ``address`` names a cluster;
    ``shutdown`` (default: only if this call started Ray) stops it at the end.
    """
    ray = import_ray()
    if actors < 1 or batch_size < 1:
        raise ConfigError("actors and batch_size must be at least 1")
    out = str(output)
    to_folder = out.endswith(("/", os.sep)) or not Path(out).suffix
    out_fmt = output_format or ("parquet" if to_folder else format_of(out, "output"))
    if out_fmt not in ("parquet", "jsonl"):
        raise ConfigError("Ray output must be .parquet or .jsonl (or a folder with output_format)")
    job = _RayJob(str(input), out, to_folder, out_fmt, ReadOptions(text_field, id_field, tuple(keep), delimiter),
                  factory or engine_factory(engine_config), explain, errors_path)  # fmt: skip
    address = address or os.environ.get("RAY_ADDRESS") or None
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, num_cpus=None if address else (num_cpus or cpu_count()), ignore_reinit_error=True,
                 include_dashboard=False, log_to_driver=False, configure_logging=False)  # fmt: skip
    try:
        threads, cpus = _actor_resources(ray, address, actors, actor_cpus, threads_per_actor)
        return job.run(ray, actors, threads, cpus, batch_size, progress)
    finally:
        if shutdown or (shutdown is None and started):
            ray.shutdown()


def _actor_resources(
    ray: Any, address: str | None, actors: int, actor_cpus: float | None, threads: int | None
) -> tuple[int, float]:
    """Engine threads and Ray CPUs per actor."""
    if address:  # a cluster: each actor asks Ray for the cores its engine uses
        threads = threads or CLUSTER_THREADS_PER_ACTOR
        return threads, actor_cpus or float(threads)
    # Local: the actors share this machine's cores (actors x threads = cores); in Ray's accounting they leave
    # one CPU to the list/read/write tasks, which would otherwise wait for a free CPU forever.
    total = float(ray.cluster_resources().get("CPU", 1))
    threads = threads or max(1, min(cpu_count(), int(total)) // actors)
    return threads, actor_cpus if actor_cpus is not None else max(0.1, (total - min(1.0, total / 2)) / actors)


def _actor_pool(ray: Any, actors: int) -> dict[str, Any]:
    """``compute=ActorPoolStrategy(size=n)`` (Ray >= 2.51), else the older ``concurrency=n``."""
    strategy = getattr(ray.data, "ActorPoolStrategy", None)
    if strategy is not None:
        try:
            return {"compute": strategy(size=actors)}
        except TypeError:
            pass
    return {"concurrency": actors}


class _RayJob:
    """One Ray Data job: read, map the actors, write (one file through the driver, or a folder by Ray)."""

    def __init__(self, path: str, out: str, to_folder: bool, out_fmt: str, options: ReadOptions,
                 factory: ScorerFactory, explain: bool, errors_path: str | None) -> None:  # fmt: skip
        self.path, self.out, self.to_folder, self.out_fmt = path, out, to_folder, out_fmt
        self.options, self.factory, self.explain, self.errors_path = options, factory, explain, errors_path
        self.in_fmt = format_of(path, "input")
        self.with_json = out_fmt == "jsonl" and not to_folder
        self.formatter = Formatter("jsonl" if self.with_json else "parquet", options.keep)

    def run(self, ray: Any, actors: int, threads: int, cpus: float, batch_size: int, progress: bool) -> BatchSummary:
        # Ray's readers copy the current DataContext into the dataset: preserve_order must be set before reading
        # (set afterwards it does not apply, and rows come out of order whenever an actor finishes early).
        ctx = ray.data.DataContext.get_current()
        old_order, old_bars = ctx.execution_options.preserve_order, ctx.enable_progress_bars
        ctx.execution_options.preserve_order, ctx.enable_progress_bars = True, progress
        try:
            ds, input_types = self._read(ray)
        finally:
            ctx.execution_options.preserve_order, ctx.enable_progress_bars = old_order, old_bars
        ds.context.execution_options.preserve_order = True
        ds.context.enable_progress_bars = progress
        schema = _output_schema(self.formatter, input_types, self.with_json)
        summary = BatchSummary(input=self.path, output=self.out, errors_file=None, workers=actors,
                               scorer=f"ray:{describe_scorer(self.factory)}")  # fmt: skip
        t0 = time.monotonic()
        try:
            scored = ds.map_batches(
                EngineActor,
                fn_constructor_kwargs={
                    "factory": self.factory, "threads": threads, "options": self.options, "explain": self.explain,
                    "out_format": self.formatter.format, "schema_bytes": schema.serialize().to_pybytes(),
                    "with_json": self.with_json,
                },
                batch_size=batch_size, batch_format="pandas" if self.in_fmt == "jsonl" else "pyarrow",
                num_cpus=cpus, **_actor_pool(ray, actors),
            )  # fmt: skip
            if self.to_folder:
                (scored.write_parquet if self.out_fmt == "parquet" else scored.write_json)(self.out)
                _count_folder(self.out, self.out_fmt, summary)
            else:
                _write_single(scored, Path(self.out), self.out_fmt, schema, self.errors_path, summary, batch_size)
        except (AffectlensError, KeyboardInterrupt):
            raise
        except Exception as exc:
            raise BatchError(
                f"the Ray job failed ({_root_cause(exc)[:300]}). Ray's readers fail on malformed "
                "JSON/CSV lines and invalid UTF-8: the local engine (without --engine ray) reports such rows "
                "one by one in the errors file"
            ) from exc
        summary.finish_timing(time.monotonic() - t0, summary.rows)
        return summary

    def _read(self, ray: Any) -> tuple[Any, dict[str, Any]]:
        """The dataset and the Arrow types of the id/keep columns (Parquet input)."""
        import pyarrow as pa

        opts, path = self.options, self.path
        if self.in_fmt == "parquet":
            schema = import_pyarrow_parquet().read_schema(path)
            require_columns(path, schema.names, opts, "(columns: {})")
            input_types = parquet_input_types(schema, opts)
            columns = [opts.text_field, *([opts.id_field] if "id" in input_types and opts.id_field else []), *opts.keep]
            # select_columns: Ray pushes the projection down into the Parquet read
            return ray.data.read_parquet(path).select_columns(list(dict.fromkeys(columns))), input_types
        if self.in_fmt == "csv":
            import pyarrow.csv as pcsv

            sep = opts.delimiter or ("\t" if path.lower().endswith(".tsv") else ",")
            text_cols = [c for c in (opts.text_field, opts.id_field, *opts.keep) if c]
            return ray.data.read_csv(
                path, file_extensions=None, parse_options=pcsv.ParseOptions(delimiter=sep, newlines_in_values=True),
                convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(text_cols, pa.string())),
            ), {}  # fmt: skip
        # lines=True: pandas' chunked JSON Lines reader, which keeps a column of mixed types (a number where a text
        # should be) instead of failing the read like pyarrow's reader does
        return ray.data.read_json(path, lines=True, file_extensions=None), {}


def _output_schema(formatter: Formatter, input_types: dict[str, Any], with_json: bool) -> Any:
    import pyarrow as pa

    schema = parquet_schema(formatter, input_types)
    for name in (*FLAT_ERROR_COLUMNS, *([JSON_COLUMN] if with_json else [])):
        schema = schema.append(pa.field(name, pa.string()))
    return schema


def _root_cause(exc: BaseException) -> str:
    """The innermost ``SomeError: message`` line of a (Ray-wrapped) exception."""
    while getattr(exc, "cause", None) is not None and exc.cause is not exc:  # type: ignore[attr-defined]
        exc = exc.cause  # type: ignore[attr-defined]
    while exc.__cause__ is not None:
        exc = exc.__cause__
    lines = [ln.strip() for ln in str(exc).splitlines()]
    found = [ln for ln in lines if re.match(r"^[\w.]+(Error|Exception)\b.*:", ln)]
    return found[-1] if found else f"{type(exc).__name__}: {lines[0] if lines else ''}"


def _write_single(scored: Any, out: Path, out_fmt: str, schema: Any, errors_path: str | None, summary: BatchSummary,
                  batch_size: int) -> None:  # fmt: skip
    """Stream the scored rows (in order) through the driver into one file + the errors file, atomically."""
    import pyarrow as pa

    pq = import_pyarrow_parquet()
    paths = JobPaths.for_output(out, errors_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    data_cols = [n for n in schema.names if n not in (*FLAT_ERROR_COLUMNS, JSON_COLUMN)]
    data_schema = pa.schema([schema.field(n) for n in data_cols])
    writer = pq.ParquetWriter(paths.partial, data_schema) if out_fmt == "parquet" else None
    text_path = os.devnull if writer is not None else paths.partial
    with open(paths.errors_partial, "wb") as err_out, open(text_path, "wb") as text_out:
        try:
            for batch in scored.iter_batches(batch_format="pyarrow", batch_size=max(batch_size, ITER_BATCH_ROWS)):
                table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
                ok_mask = [c is None for c in table.column("error_code").to_pylist()]
                err_out.write(_error_lines(table.filter(pa.array([not ok for ok in ok_mask])), summary))
                good = table.filter(pa.array(ok_mask))
                summary.ok += good.num_rows
                if writer is not None:
                    writer.write_table(good.select(data_cols).cast(data_schema))
                else:
                    text_out.write("".join(good.column(JSON_COLUMN).to_pylist()).encode("utf-8"))
        finally:
            if writer is not None:
                writer.close()
    commit_file(paths.partial, out)
    summary.rows = summary.ok + summary.failed
    if summary.failed:
        commit_file(paths.errors_partial, paths.errors)
        summary.errors_file = str(paths.errors)
    else:
        paths.errors_partial.unlink(missing_ok=True)
        paths.errors.unlink(missing_ok=True)


def _error_lines(bad: Any, summary: BatchSummary) -> bytes:
    """The errors-file lines of the error rows of a scored table (counted in ``summary``)."""
    lines = []
    for rid, code, message in zip(*(bad.column(c).to_pylist() for c in ("id", *FLAT_ERROR_COLUMNS)), strict=True):
        summary.failed += 1
        summary.error_codes[code] = summary.error_codes.get(code, 0) + 1
        lines.append(json_line(error_object(None, rid, code, message)))
    return b"".join(lines)


def _count_folder(folder: str, out_fmt: str, summary: BatchSummary) -> None:
    """Counts for a folder written by Ray's writers (local paths only; remote: left at 0)."""
    root = Path(folder)
    if not root.is_dir():
        return
    for p in sorted(root.iterdir()):
        if out_fmt == "parquet" and p.suffix == ".parquet":
            col = import_pyarrow_parquet().read_table(p, columns=["error_code"]).column("error_code").to_pylist()
        elif out_fmt == "jsonl" and p.suffix in (".json", ".jsonl"):
            col = [json.loads(line).get("error_code") for line in p.read_text(encoding="utf-8").splitlines() if line]
        else:
            continue
        for c in col:
            summary.rows += 1
            if c is None:
                summary.ok += 1
            else:
                summary.failed += 1
                summary.error_codes[c] = summary.error_codes.get(c, 0) + 1
