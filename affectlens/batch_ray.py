"""Ray Data engine for batch jobs (``affectlens score --engine ray``, :func:`ray_score`); needs the ``dist`` extra.

The same :class:`~affectlens.engine.Engine` runs as a stateful actor (:class:`EngineActor`, built once per actor
in ``__init__``) in ``Dataset.map_batches`` over ``ray.data.read_json`` (JSON Lines), ``read_csv`` or
``read_parquet``. Without an address it starts Ray locally on this machine; with ``address=`` (``--ray-address``,
or ``RAY_ADDRESS``) the same code runs on a cluster, where affectlens must be installed on the nodes (or shipped
with ``runtime_env``) and the paths must be visible to every node (shared storage, ``s3://``, ...).

Output:

* a ``.jsonl`` or ``.parquet`` file: the same format as the local engine (JSONL: the prediction objects;
  Parquet: the flat schema), rows in input order, bad rows in ``OUTPUT.errors.jsonl``. The rows stream through
  the driver, which writes the file atomically (temporary name, then rename).
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
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from affectlens.batch_io import (
    FLAT_ERROR_COLUMNS,
    Formatter,
    atomic_write_json,  # noqa: F401 - re-exported for tests
    flat_row,
    format_of,
    fsync_dir,
    import_pyarrow_parquet,
    json_line,
    parquet_schema,
)
from affectlens.errors import AffectlensError, ConfigError, MissingDependencyError

JSON_COLUMN = "_json_line"


def import_ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError:
        raise MissingDependencyError.for_extra("ray", "dist") from None
    return ray


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _plain(value: Any) -> Any:
    """numpy / pandas scalars -> Python values (JSON- and Arrow-friendly); NaN -> None."""
    if _missing(value):
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

    def __init__(
        self,
        factory: Callable[[int], Any],
        threads: int,
        text_field: str,
        id_field: str | None,
        keep: Sequence[str],
        explain: bool,
        schema_bytes: bytes,
        with_json: bool,
    ) -> None:
        import pyarrow as pa

        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(threads)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self.scorer = factory(threads)
        self.text_field, self.id_field, self.keep, self.explain = text_field, id_field, tuple(keep), explain
        self.formatter = Formatter("jsonl", self.keep)
        self.schema = pa.ipc.read_schema(pa.py_buffer(schema_bytes))
        self.with_json = with_json

    def __call__(self, batch: Any) -> Any:
        """One batch (``pyarrow.Table`` or pandas) -> the output columns (a ``pyarrow.Table`` of the output schema)."""
        import pyarrow as pa

        arrow = isinstance(batch, pa.Table)
        n = batch.num_rows if arrow else len(batch)
        columns = set(batch.column_names if arrow else batch.columns)

        def col(name: str | None) -> list[Any]:
            if not name or name not in columns:
                return [None] * n
            return batch.column(name).to_pylist() if arrow else batch[name].tolist()

        texts, ids, keeps = col(self.text_field), col(self.id_field), [col(k) for k in self.keep]
        good: list[int] = []
        errors: dict[int, tuple[str, str]] = {}
        for i, value in enumerate(texts):
            if isinstance(value, bytes | bytearray):
                try:
                    texts[i] = value = bytes(value).decode("utf-8")
                except UnicodeDecodeError:
                    errors[i] = ("invalid_utf8", "text is not valid UTF-8")
                    continue
            if _missing(value):
                errors[i] = ("missing_field", f"no {self.text_field!r} value")
            elif not isinstance(value, str):
                errors[i] = ("not_a_string", f"{self.text_field!r} is {type(value).__name__}, expected a string")
            else:
                good.append(i)
        results = self.scorer.score_batch([texts[i] for i in good], explain=self.explain) if good else []
        payloads: list[dict[str, Any] | None] = [None] * n
        for i, res in zip(good, results, strict=True):
            payload = res if isinstance(res, dict) else res.to_dict()
            if "error" in payload:
                errors[i] = (payload["error"].get("code", "error"), payload["error"].get("message", ""))
            else:
                payloads[i] = payload
        rows: dict[str, list[Any]] = {name: [] for name in self.schema.names}
        for i in range(n):
            rid = _plain(ids[i])
            rec_keep = [_plain(col[i]) for col in keeps]
            row: dict[str, Any] = {"id": rid}
            for name, value in zip(self.formatter.keep_out, rec_keep, strict=True):
                row[name] = value
            payload = payloads[i]
            if payload is not None:
                row.update(flat_row(payload))
                if self.with_json:
                    obj = {"id": rid, **dict(zip(self.formatter.keep_out, rec_keep, strict=True))}
                    obj.update({k: v for k, v in payload.items() if k != "id"})
                    row[JSON_COLUMN] = json_line(obj).decode("utf-8")
            else:
                row["error_code"], row["error_message"] = errors[i]
            for name in rows:
                rows[name].append(row.get(name))
        for name, field in zip(self.schema.names, self.schema, strict=True):
            if pa.types.is_string(field.type) and name in ("id", *self.formatter.keep_out):
                rows[name] = [v if v is None or isinstance(v, str) else
                              json.dumps(v, ensure_ascii=False, default=str) for v in rows[name]]  # fmt: skip
        return pa.Table.from_pydict(rows, schema=self.schema)


def _actor_pool(ray: Any, actors: int) -> dict[str, Any]:
    """``compute=ActorPoolStrategy(size=n)`` (Ray >= 2.51), else the older ``concurrency=n``."""
    strategy = getattr(ray.data, "ActorPoolStrategy", None)
    if strategy is not None:
        try:
            return {"compute": strategy(size=actors)}
        except TypeError:
            pass
    return {"concurrency": actors}


def _output_schema(formatter: Formatter, input_types: dict[str, Any], with_json: bool) -> Any:
    import pyarrow as pa

    schema = parquet_schema(formatter, input_types)
    for name in FLAT_ERROR_COLUMNS:
        schema = schema.append(pa.field(name, pa.string()))
    if with_json:
        schema = schema.append(pa.field(JSON_COLUMN, pa.string()))
    return schema


def ray_score(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    text_field: str = "text",
    id_field: str | None = "id",
    keep: Sequence[str] = (),
    engine_config: Any = None,
    factory: Callable[[int], Any] | None = None,
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
) -> Any:
    """Score ``input`` with Ray Data into ``output``; returns a :class:`affectlens.batch.BatchSummary`.

    ``factory(threads)`` builds the scorer in each actor (default: ``Engine(engine_config)``). Ray is started
    locally (``num_cpus`` cores, default all) unless it is running already or ``address`` names a cluster;
    ``shutdown`` (default: only if this call started Ray) stops it at the end.
    """
    from affectlens.batch import BatchSummary, cpu_count, describe_scorer, engine_factory

    ray = import_ray()
    import pyarrow as pa

    if actors < 1 or batch_size < 1:
        raise ConfigError("actors and batch_size must be at least 1")
    in_fmt = format_of(input, "input")
    out = str(output)
    to_folder = out.endswith(("/", os.sep)) or not Path(out).suffix
    out_fmt = output_format or ("parquet" if to_folder else format_of(out, "output"))
    if out_fmt not in ("parquet", "jsonl"):
        raise ConfigError("Ray output must be .parquet or .jsonl (or a folder with output_format)")
    factory = factory or engine_factory(engine_config)
    keep = tuple(keep)

    address = address or os.environ.get("RAY_ADDRESS") or None
    started = False
    if not ray.is_initialized():
        init_args: dict[str, Any] = {"address": address,
                                     "ignore_reinit_error": True, "include_dashboard": False,
                                     "log_to_driver": False, "configure_logging": False}  # fmt: skip
        if init_args["address"] is None:
            init_args["num_cpus"] = num_cpus or cpu_count()
        ray.init(**init_args)
        started = True
    try:
        total_cpus = float(ray.cluster_resources().get("CPU", 1))
        if address:  # a cluster: each actor asks Ray for the cores its engine uses
            threads = threads_per_actor or 2
            actor_cpus = actor_cpus or float(threads)
        else:
            # Local: the actors share this machine's cores (workers x threads = cores); in Ray's accounting they
            # leave one CPU to the list/read/write tasks, which would otherwise wait for a free CPU forever.
            threads = threads_per_actor or max(1, min(cpu_count(), int(total_cpus)) // actors)
            if actor_cpus is None:
                actor_cpus = max(0.1, (total_cpus - min(1.0, total_cpus / 2)) / actors)
        io_args: dict[str, Any] = {}
        input_types: dict[str, Any] = {}
        path = str(input)
        if in_fmt == "parquet":
            pq = import_pyarrow_parquet()
            schema = pq.read_schema(path)
            if text_field not in schema.names:
                raise ConfigError(f"{path}: no column {text_field!r}")
            if id_field and id_field in schema.names:
                input_types["id"] = schema.field(id_field).type
            for k in keep:
                if k not in schema.names:
                    raise ConfigError(f"{path}: no column {k!r}")
                input_types[k] = schema.field(k).type
            columns = [text_field, *([id_field] if "id" in input_types and id_field else []), *keep]
            # select_columns: Ray pushes the projection down into the Parquet read
            ds = ray.data.read_parquet(path, **io_args).select_columns(list(dict.fromkeys(columns)))
        elif in_fmt == "csv":
            import pyarrow.csv as pcsv

            sep = delimiter or ("\t" if path.lower().endswith(".tsv") else ",")
            text_cols = [c for c in (text_field, id_field, *keep) if c]
            ds = ray.data.read_csv(
                path, file_extensions=None, parse_options=pcsv.ParseOptions(delimiter=sep, newlines_in_values=True),
                convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(text_cols, pa.string())), **io_args,
            )  # fmt: skip
        else:
            # lines=True: pandas' chunked JSON Lines reader, which keeps a column of mixed types (a number where
            # a text should be) instead of failing the read like pyarrow's reader does
            ds = ray.data.read_json(path, lines=True, file_extensions=None, **io_args)
        with_json = out_fmt == "jsonl" and not to_folder
        formatter = Formatter("parquet", keep)
        schema = _output_schema(formatter, input_types, with_json)
        schema_bytes = schema.serialize().to_pybytes()
        ctx = ray.data.DataContext.get_current()
        old_order, old_bars = ctx.execution_options.preserve_order, ctx.enable_progress_bars
        ctx.execution_options.preserve_order = True
        ctx.enable_progress_bars = progress
        t0 = time.monotonic()
        try:
            scored = ds.map_batches(
                EngineActor,
                fn_constructor_kwargs={
                    "factory": factory, "threads": threads, "text_field": text_field, "id_field": id_field,
                    "keep": keep, "explain": explain, "schema_bytes": schema_bytes, "with_json": with_json,
                },
                batch_size=batch_size, batch_format="pandas" if in_fmt == "jsonl" else "pyarrow", num_cpus=actor_cpus,
                **_actor_pool(ray, actors),
            )  # fmt: skip
            summary = BatchSummary(input=path, output=out, errors_file=None, workers=actors,
                                   scorer=f"ray:{describe_scorer(factory)}")  # fmt: skip
            if to_folder:
                writer = scored.write_parquet if out_fmt == "parquet" else scored.write_json
                writer(out)
                _count_folder(out, out_fmt, summary)
            else:
                _write_single(scored, Path(out), out_fmt, schema, formatter, errors_path, summary, batch_size)
        except (AffectlensError, KeyboardInterrupt):
            raise
        except Exception as exc:
            from affectlens.batch import BatchError

            raise BatchError(
                f"the Ray job failed ({_root_cause(exc)[:300]}). Ray's readers fail on malformed "
                "JSON/CSV lines and invalid UTF-8: the local engine (without --engine ray) reports such rows "
                "one by one in the errors file"
            ) from exc
        finally:
            ctx.execution_options.preserve_order, ctx.enable_progress_bars = old_order, old_bars
        summary.seconds = round(time.monotonic() - t0, 3)
        summary.rows_per_s = round(summary.rows / summary.seconds, 1) if summary.seconds else 0.0
        return summary
    finally:
        if shutdown or (shutdown is None and started):
            ray.shutdown()


def _root_cause(exc: BaseException) -> str:
    """The innermost ``SomeError: message`` line of a (Ray-wrapped) exception."""
    import re

    while getattr(exc, "cause", None) is not None and exc.cause is not exc:  # type: ignore[attr-defined]
        exc = exc.cause  # type: ignore[attr-defined]
    while exc.__cause__ is not None:
        exc = exc.__cause__
    lines = [ln.strip() for ln in str(exc).splitlines()]
    found = [ln for ln in lines if re.match(r"^[\w.]+(Error|Exception)\b.*:", ln)]
    return found[-1] if found else f"{type(exc).__name__}: {lines[0] if lines else ''}"


def _write_single(
    scored: Any,
    out: Path,
    out_fmt: str,
    schema: Any,
    formatter: Formatter,
    errors_path: str | None,
    summary: Any,
    batch_size: int,
) -> None:
    """Stream the scored rows (in order) through the driver into one file + the errors file, atomically."""
    import pyarrow as pa

    pq = import_pyarrow_parquet()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    err_path = Path(errors_path) if errors_path else out.with_name(out.name + ".errors.jsonl")
    err_tmp = err_path.with_name(err_path.name + ".partial")
    data_cols = [n for n in schema.names if n not in (*FLAT_ERROR_COLUMNS, JSON_COLUMN)]
    data_schema = pa.schema([schema.field(n) for n in data_cols])
    codes: dict[str, int] = {}
    writer = pq.ParquetWriter(tmp, data_schema) if out_fmt == "parquet" else None
    text_out = open(tmp, "wb") if writer is None else None  # noqa: SIM115
    with open(err_tmp, "wb") as err_out:
        try:
            for batch in scored.iter_batches(batch_format="pyarrow", batch_size=max(batch_size, 1024)):
                table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
                code_col = table.column("error_code").to_pylist()
                ok_mask = [c is None for c in code_col]
                summary.rows += table.num_rows
                nok = sum(ok_mask)
                summary.ok += nok
                summary.failed += table.num_rows - nok
                if nok < table.num_rows:
                    ids = table.column("id").to_pylist()
                    msgs = table.column("error_message").to_pylist()
                    for i, c in enumerate(code_col):
                        if c is not None:
                            codes[c] = codes.get(c, 0) + 1
                            err_out.write(json_line({"line": None, "id": ids[i],
                                                     "error": {"code": c, "message": msgs[i]}}))  # fmt: skip
                good = table.filter(pa.array(ok_mask)) if nok < table.num_rows else table
                if writer is not None:
                    writer.write_table(good.select(data_cols).cast(data_schema))
                elif text_out is not None:
                    text_out.write("".join(good.column(JSON_COLUMN).to_pylist()).encode("utf-8"))
        finally:
            if writer is not None:
                writer.close()
            if text_out is not None:
                text_out.flush()
                os.fsync(text_out.fileno())
                text_out.close()
        err_out.flush()
        os.fsync(err_out.fileno())
    os.replace(tmp, out)
    if summary.failed:
        os.replace(err_tmp, err_path)
        summary.errors_file = str(err_path)
    else:
        err_tmp.unlink(missing_ok=True)
        err_path.unlink(missing_ok=True)
    fsync_dir(out.parent)
    summary.error_codes = codes


def _count_folder(folder: str, out_fmt: str, summary: Any) -> None:
    """Counts for a folder written by Ray's writers (local paths only; remote: left at 0)."""
    root = Path(folder)
    if not root.is_dir():
        return
    codes: dict[str, int] = {}
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
                codes[c] = codes.get(c, 0) + 1
    summary.error_codes = codes
