"""Streaming readers, row formatting and crash-safe sinks for batch scoring (``affectlens score``).

Nothing here knows how texts are scored: :mod:`affectlens.batch` wires a reader, a scorer and a sink.

Readers stream in bounded memory and never raise on a bad row: a row that cannot be scored becomes a
:class:`Record` with an ``error`` and its 1-based line number (Parquet: row number). Every record carries the
input position *after* it, so a job can be resumed from a committed position without reading the rows
before it again (JSONL/CSV: a byte offset; Parquet: a row count).

Output formats (by extension of OUTPUT):

* ``.jsonl`` / ``.json`` / ``.ndjson``: one prediction object per line (the JSON contract of
  ``Prediction.to_dict()``), with the input ``id`` and the ``--keep`` columns at the top level.
* ``.csv`` / ``.tsv`` and ``.parquet``: the *flat* schema (:data:`FLAT_COLUMNS`): scores and emotions as
  one float column each; ``components``, ``tokens`` and ``warnings`` as JSON text; ``emotions_predicted`` a
  list (Parquet) or ``;``-joined text (CSV).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NamedTuple

from affectlens.errors import AffectlensError, ConfigError, MissingDependencyError
from affectlens.labels import EMOTION_LABELS, SENTIMENT_LABELS

INPUT_FORMATS = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".csv": "csv", ".tsv": "csv",
    ".parquet": "parquet", ".pq": "parquet",
}  # fmt: skip
OUTPUT_FORMATS = INPUT_FORMATS

# Keys of a prediction / error object; a --keep column with one of these names is written as input_<name>.
PREDICTION_KEYS = frozenset(
    {"id", "label", "scores", "valence", "emotions", "emotions_predicted", "components", "model", "tokens",
     "warnings", "error", "line"}
)  # fmt: skip
FLAT_COLUMNS: tuple[str, ...] = (
    "label",
    *(f"score_{name}" for name in SENTIMENT_LABELS),
    "valence",
    "emotions_predicted",
    *(f"emotion_{name}" for name in EMOTION_LABELS),
    "components",
    "tokens",
    "warnings",
    "model_name",
    "model_version",
)
FLAT_ERROR_COLUMNS: tuple[str, ...] = ("error_code", "error_message")


class InputFormatError(AffectlensError):
    """The input file cannot be read as a whole (unknown format, missing column, unreadable file)."""

    code = "bad_input_file"


def format_of(path: str | os.PathLike[str], kind: str = "input") -> str:
    suffix = Path(path).suffix.lower()
    if suffix == ".gz":
        raise ConfigError(f"{path}: compressed {kind} is not supported; decompress it first")
    fmt = INPUT_FORMATS.get(suffix)
    if fmt is None:
        raise ConfigError(
            f"cannot tell the {kind} format of {path!s} from its extension: use .jsonl, .csv/.tsv or .parquet"
        )
    return fmt


def keep_names(keep: Sequence[str], reserved: frozenset[str] | set[str] = PREDICTION_KEYS) -> list[str]:
    """Output names of the passthrough columns (``input_<name>`` where the name is taken)."""
    return [f"input_{k}" if k in reserved else k for k in keep]


class Record(NamedTuple):
    """One input row. ``error`` is ``(code, message)`` for a row that cannot be scored (``text`` is None)."""

    line: int
    id: Any
    text: Any
    keep: tuple[Any, ...]
    error: tuple[str, str] | None = None


@dataclass(frozen=True)
class Position:
    """Where a reader resumes: ``offset`` (bytes for JSONL/CSV, rows for Parquet) and the next line number."""

    offset: int = 0
    line: int = 1


@dataclass(frozen=True)
class ReadOptions:
    text_field: str = "text"
    id_field: str | None = "id"  # None or a missing field: the line (row) number is the id
    keep: tuple[str, ...] = ()
    delimiter: str | None = None  # CSV only; None: tab for .tsv, comma otherwise
    parquet_batch_rows: int = 4096


def _surrogates(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


class Reader:
    """Base class: ``records(start)`` yields ``(Record, Position after it)``; ``total`` is the size of the input
    in the unit of ``Position.offset`` (for progress)."""

    format = ""

    def __init__(self, path: str | os.PathLike[str], options: ReadOptions) -> None:
        self.path = Path(path)
        self.options = options
        if not self.path.is_file():
            raise InputFormatError(f"{self.path}: no such file")
        self.total = self.path.stat().st_size
        self.unit = "bytes"

    def records(self, start: Position = Position()) -> Iterator[tuple[Record, Position]]:  # pragma: no cover
        raise NotImplementedError

    def input_schema(self) -> Any:
        """Arrow types of the id/keep columns where the input has them (Parquet), else None."""
        return None


class JsonlReader(Reader):
    """JSON Lines, read in binary so that a line with invalid UTF-8 is one bad row, not a failed job."""

    format = "jsonl"

    def records(self, start: Position = Position()) -> Iterator[tuple[Record, Position]]:
        opts = self.options
        with open(self.path, "rb") as f:
            f.seek(start.offset)
            offset, line = start.offset, start.line
            for raw in f:
                offset += len(raw)
                n, line = line, line + 1
                if not raw.strip():
                    continue
                pos = Position(offset, line)
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    yield Record(n, self._salvage_id(raw, n), None, (), (
                        "invalid_utf8", f"line is not valid UTF-8 (byte {exc.start}); re-encode the file as UTF-8"
                    )), pos  # fmt: skip
                    continue
                try:
                    obj = json.loads(text)
                except ValueError as exc:
                    msg = getattr(exc, "msg", str(exc))
                    col = getattr(exc, "colno", None)
                    where = f" at column {col}" if col else ""
                    yield Record(n, n, None, (), ("malformed_json", f"malformed JSON{where}: {msg}")), pos
                    continue
                if not isinstance(obj, dict):
                    yield Record(n, n, None, (), (
                        "not_an_object", f"expected a JSON object per line, got {_type_name(obj)}"
                    )), pos  # fmt: skip
                    continue
                rid = obj.get(opts.id_field, n) if opts.id_field else n
                keep = tuple(obj.get(k) for k in opts.keep)
                if opts.text_field not in obj:
                    yield Record(n, rid, None, keep, (
                        "missing_field", f"no {opts.text_field!r} field (set --text-field to the field with the text)"
                    )), pos  # fmt: skip
                    continue
                value = obj[opts.text_field]
                if not isinstance(value, str):
                    yield Record(n, rid, None, keep, (
                        "not_a_string", f"field {opts.text_field!r} is {_type_name(value)}, expected a string"
                    )), pos  # fmt: skip
                    continue
                yield Record(n, rid, value, keep, None), pos

    def _salvage_id(self, raw: bytes, n: int) -> Any:
        if not self.options.id_field:
            return n
        try:
            obj = json.loads(raw.decode("utf-8", errors="replace"))
        except ValueError:
            return n
        return obj.get(self.options.id_field, n) if isinstance(obj, dict) else n


class CsvReader(Reader):
    """CSV/TSV with a header row (csv module, strict quoting); records may span lines (quoted newlines)."""

    format = "csv"

    def __init__(self, path: str | os.PathLike[str], options: ReadOptions) -> None:
        super().__init__(path, options)
        delimiter = options.delimiter or ("\t" if self.path.suffix.lower() == ".tsv" else ",")
        self.dialect: dict[str, Any] = {"delimiter": delimiter, "strict": True}
        self.header, self.header_end = self._read_header()
        for name in (options.text_field, *options.keep):
            if name not in self.header:
                raise InputFormatError(f"{self.path}: no column {name!r} in the header ({', '.join(self.header[:20])})")
        self.text_col = self.header.index(options.text_field)
        self.id_col = self.header.index(options.id_field) if options.id_field in self.header else None
        self.keep_cols = [self.header.index(k) for k in options.keep]
        csv.field_size_limit(max(csv.field_size_limit(), 16 * 1024 * 1024))

    def _lines(self, f: Any, state: list[int]) -> Iterator[str]:
        """Decoded lines of a binary file; ``state`` = [byte offset, lines read] after each line."""
        while True:
            raw = f.readline()
            if not raw:
                return
            state[0] += len(raw)
            state[1] += 1
            yield raw.decode("utf-8", errors="surrogateescape")

    def _read_header(self) -> tuple[list[str], int]:
        with open(self.path, "rb") as f:
            state = [0, 0]
            try:
                header = next(csv.reader(self._lines(f, state), **self.dialect))
            except StopIteration:
                raise InputFormatError(f"{self.path}: empty CSV file (a header row is needed)") from None
            except csv.Error as exc:
                raise InputFormatError(f"{self.path}: cannot read the CSV header: {exc}") from None
        if header:
            header[0] = header[0].removeprefix("\ufeff")
        if any(_surrogates(h) for h in header):
            raise InputFormatError(f"{self.path}: the CSV header is not valid UTF-8")
        return header, state[0]

    def records(self, start: Position = Position()) -> Iterator[tuple[Record, Position]]:
        if start.offset < self.header_end:
            start = Position(self.header_end, 2)
        width = len(self.header)
        with open(self.path, "rb") as f:
            f.seek(start.offset)
            state = [start.offset, start.line - 1]
            reader = csv.reader(self._lines(f, state), **self.dialect)
            while True:
                n = state[1] + 1
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    yield (
                        Record(n, n, None, (), ("malformed_csv", f"malformed CSV: {exc}")),
                        Position(state[0], state[1] + 1),
                    )
                    continue
                pos = Position(state[0], state[1] + 1)
                if not row:
                    continue
                rid: Any = row[self.id_col] if self.id_col is not None and self.id_col < len(row) else n
                if len(row) != width:
                    yield Record(n, rid, None, (), (
                        "malformed_csv", f"expected {width} fields (as in the header), got {len(row)}"
                    )), pos  # fmt: skip
                    continue
                keep = tuple(row[c] for c in self.keep_cols)
                text = row[self.text_col]
                if _surrogates(text) or any(_surrogates(str(v)) for v in (rid, *keep)):
                    if isinstance(rid, str) and _surrogates(rid):
                        rid = rid.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                    yield Record(n, rid, None, (), (
                        "invalid_utf8", "row is not valid UTF-8; re-encode the file as UTF-8"
                    )), pos  # fmt: skip
                    continue
                yield Record(n, rid, text, keep, None), pos


class ParquetReader(Reader):
    """Parquet via ``ParquetFile.iter_batches`` (one row group in memory at a time); line = row number."""

    format = "parquet"

    def __init__(self, path: str | os.PathLike[str], options: ReadOptions) -> None:
        super().__init__(path, options)
        pq = import_pyarrow_parquet()
        try:
            self.file = pq.ParquetFile(self.path)
        except Exception as exc:
            raise InputFormatError(f"{self.path}: not a readable Parquet file: {exc}") from None
        self.schema = self.file.schema_arrow
        names = self.schema.names
        for name in (options.text_field, *options.keep):
            if name not in names:
                raise InputFormatError(f"{self.path}: no column {name!r} (columns: {', '.join(names[:20])})")
        self.has_id = bool(options.id_field) and options.id_field in names
        self.total = self.file.metadata.num_rows
        self.unit = "rows"

    def input_schema(self) -> Any:
        types = {}
        if self.has_id:
            types["id"] = self.schema.field(self.options.id_field).type
        for k in self.options.keep:
            types[k] = self.schema.field(k).type
        return types

    def records(self, start: Position = Position()) -> Iterator[tuple[Record, Position]]:
        opts = self.options
        meta = self.file.metadata
        skip, groups, seen = start.offset, [], 0
        for g in range(meta.num_row_groups):
            rows = meta.row_group(g).num_rows
            if seen + rows <= start.offset:
                seen += rows
                continue
            groups.append(g)
        skip = start.offset - seen
        columns = list(dict.fromkeys([opts.text_field, *([opts.id_field] if self.has_id else []), *opts.keep]))
        row = seen
        if not groups:
            return
        for batch in self.file.iter_batches(batch_size=opts.parquet_batch_rows, row_groups=groups, columns=columns):
            if skip >= batch.num_rows:
                skip -= batch.num_rows
                row += batch.num_rows
                continue
            if skip:
                batch = batch.slice(skip)
                row += skip
                skip = 0
            texts = batch.column(opts.text_field).to_pylist()
            ids = batch.column(opts.id_field).to_pylist() if self.has_id else None
            keeps = [batch.column(k).to_pylist() for k in opts.keep]
            for i, value in enumerate(texts):
                row += 1
                pos = Position(row, row + 1)
                rid = ids[i] if ids is not None else row
                keep = tuple(col[i] for col in keeps)
                if isinstance(value, bytes):
                    try:
                        value = value.decode("utf-8")
                    except UnicodeDecodeError as exc:
                        yield Record(row, rid, None, keep, (
                            "invalid_utf8", f"text is not valid UTF-8 (byte {exc.start})"
                        )), pos  # fmt: skip
                        continue
                if value is None:
                    yield Record(row, rid, None, keep, ("missing_field", f"{opts.text_field!r} is null")), pos
                elif not isinstance(value, str):
                    yield Record(row, rid, None, keep, (
                        "not_a_string", f"column {opts.text_field!r} is {_type_name(value)}, expected a string"
                    )), pos  # fmt: skip
                else:
                    yield Record(row, rid, value, keep, None), pos


def open_reader(path: str | os.PathLike[str], options: ReadOptions, fmt: str | None = None) -> Reader:
    fmt = fmt or format_of(path)
    cls = {"jsonl": JsonlReader, "csv": CsvReader, "parquet": ParquetReader}[fmt]
    return cls(path, options)


def import_pyarrow_parquet() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is in the dev and dist extras
        raise MissingDependencyError.for_extra("pyarrow", "dist") from None
    return pq


# -- formatting (runs in worker processes) -------------------------------------------------------------


def json_line(obj: Any) -> bytes:
    """One JSON line; lone surrogates become ``\\udcXX`` escapes (still valid JSON), never invalid UTF-8."""
    return (json.dumps(obj, ensure_ascii=False, default=str) + "\n").encode("utf-8", "backslashreplace")


def error_object(record: Record, code: str, message: str) -> dict[str, Any]:
    return {"line": record.line, "id": record.id, "error": {"code": code, "message": message}}


def flat_row(payload: dict[str, Any]) -> dict[str, Any]:
    """The flat (CSV/Parquet) form of one prediction object."""
    scores = payload.get("scores") or {}
    emotions = payload.get("emotions") or {}
    model = payload.get("model") or {}
    out: dict[str, Any] = {"label": payload.get("label")}
    for name in SENTIMENT_LABELS:
        out[f"score_{name}"] = scores.get(name)
    out["valence"] = payload.get("valence")
    out["emotions_predicted"] = list(payload.get("emotions_predicted") or [])
    for name in EMOTION_LABELS:
        out[f"emotion_{name}"] = emotions.get(name)
    out["components"] = json.dumps(payload.get("components"), ensure_ascii=False, default=str)
    tokens = payload.get("tokens")
    out["tokens"] = None if tokens is None else json.dumps(tokens, ensure_ascii=False, default=str)
    warnings = payload.get("warnings")
    out["warnings"] = json.dumps(warnings, ensure_ascii=False) if warnings else None
    out["model_name"] = model.get("name")
    out["model_version"] = model.get("version")
    return out


class ChunkResult(NamedTuple):
    """What one scored chunk contributes: output ``data`` (bytes, or columns for Parquet), error lines."""

    data: Any
    errors: bytes
    ok: int
    failed: int
    error_codes: dict[str, int]


class Formatter:
    """Turns records + scorer results into output bytes/columns. Picklable: it travels to workers."""

    def __init__(self, fmt: str, keep: Sequence[str], *, inline_errors: bool = False, delimiter: str = ",") -> None:
        self.format = fmt
        self.keep = tuple(keep)
        self.inline_errors = inline_errors  # stdout mode: error objects go into the output stream
        self.delimiter = delimiter
        reserved = PREDICTION_KEYS if fmt == "jsonl" else {"id", *FLAT_COLUMNS, *FLAT_ERROR_COLUMNS}
        self.keep_out = keep_names(self.keep, reserved)
        self.arrow_text_columns: tuple[str, ...] = ()  # Parquet: id/keep columns written as text

    # header / schema -------------------------------------------------------------------------------
    def columns(self) -> list[str]:
        return ["id", *self.keep_out, *FLAT_COLUMNS]

    def header_bytes(self) -> bytes:
        if self.format != "csv":
            return b""
        return self._csv_bytes([self.columns()])

    def _csv_bytes(self, rows: list[list[Any]]) -> bytes:
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=self.delimiter, lineterminator="\n")
        writer.writerows(rows)
        return buf.getvalue().encode("utf-8", "backslashreplace")

    # rows --------------------------------------------------------------------------------------------
    def format_chunk(self, records: Sequence[Record], results: Sequence[Any]) -> ChunkResult:
        """``results`` holds one scorer result (object with ``to_dict()`` or a dict) per record without error."""
        it = iter(results)
        ok = failed = 0
        codes: dict[str, int] = {}
        out_objs: list[dict[str, Any]] = []
        err_lines: list[bytes] = []
        for rec in records:
            if rec.error is not None:
                code, message = rec.error
            else:
                res = next(it)
                payload = res if isinstance(res, dict) else res.to_dict()
                err = payload.get("error")
                if err is None:
                    ok += 1
                    out_objs.append(self._output_object(rec, payload))
                    continue
                code, message = err.get("code", "error"), err.get("message", "")
            failed += 1
            codes[code] = codes.get(code, 0) + 1
            eobj = error_object(rec, code, message)
            if self.inline_errors:
                out_objs.append(eobj)
            else:
                err_lines.append(json_line(eobj))
        return ChunkResult(self._encode(out_objs), b"".join(err_lines), ok, failed, codes)

    def _output_object(self, rec: Record, payload: dict[str, Any]) -> dict[str, Any]:
        obj: dict[str, Any] = {"id": rec.id}
        for name, value in zip(self.keep_out, rec.keep, strict=True):
            obj[name] = value
        for key, value in payload.items():
            if key != "id":
                obj[key] = value
        return obj

    def _encode(self, objs: list[dict[str, Any]]) -> Any:
        if self.format == "jsonl":
            return b"".join(json_line(o) for o in objs)
        rows = [self._flat(o) for o in objs]
        if self.format == "csv":
            cols = self.columns()
            return self._csv_bytes([[_csv_cell(r.get(c)) for c in cols] for r in rows])
        columns = {c: [r.get(c) for r in rows] for c in self.columns()}
        stringify_for_arrow(columns, self.arrow_text_columns)
        return columns

    def _flat(self, obj: dict[str, Any]) -> dict[str, Any]:
        if "error" in obj:  # inline error (stdout mode only uses JSONL, kept for completeness)
            return {"id": obj.get("id"), "label": None}
        row = {"id": obj["id"], **{k: obj.get(k) for k in self.keep_out}}
        row.update(flat_row(obj))
        return row


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(map(str, value))
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


# -- sinks (crash safety) ------------------------------------------------------------------------------


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def atomic_write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, default=str)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


class AppendFile:
    """A file written by appending and committed by fsync; ``truncate_to`` rolls back uncommitted bytes."""

    def __init__(self, path: Path, resume_at: int | None = None, header: bytes = b"") -> None:
        self.path = path
        self.f: IO[bytes]
        if resume_at is None:
            self.f = open(path, "wb")  # noqa: SIM115 - closed in close()
            self.f.write(header)
        else:
            if not path.exists():
                raise ConfigError(f"cannot resume: {path} is missing (start over with --restart)")
            size = path.stat().st_size
            if size < resume_at:
                raise ConfigError(f"cannot resume: {path} is shorter than its checkpoint (start over with --restart)")
            self.f = open(path, "r+b")  # noqa: SIM115
            self.f.truncate(resume_at)
            self.f.seek(resume_at)
        self.offset = self.f.tell()

    def write(self, data: bytes) -> None:
        if data:
            self.f.write(data)
            self.offset += len(data)

    def commit(self) -> int:
        self.f.flush()
        os.fsync(self.f.fileno())
        return self.offset

    def close(self) -> None:
        if not self.f.closed:
            self.f.close()


class ParquetParts:
    """Parquet output as committed part files (``OUTPUT.parts/part-000001.parquet``, each written to a temp
    name and renamed); ``finish`` merges them in order into one file in row groups of bounded size."""

    def __init__(self, folder: Path, schema: Any, resume_parts: int | None = None) -> None:
        self.folder = folder
        self.schema = schema
        if resume_parts is None:
            if folder.exists():
                for p in folder.iterdir():
                    p.unlink()
            folder.mkdir(parents=True, exist_ok=True)
            self.parts = 0
        else:
            if not folder.is_dir():
                raise ConfigError(f"cannot resume: {folder} is missing (start over with --restart)")
            for p in folder.iterdir():  # parts written after the last checkpoint, and temp files
                if not p.name.startswith("part-") or not p.name.endswith(".parquet") or self._index(p) > resume_parts:
                    p.unlink()
            self.parts = resume_parts
        self._pending: list[dict[str, list[Any]]] = []
        self.pending_rows = 0

    @staticmethod
    def _index(p: Path) -> int:
        try:
            return int(p.name[5:11])
        except ValueError:
            return 1 << 60

    def write(self, columns: dict[str, list[Any]]) -> None:
        n = len(next(iter(columns.values()), []))
        if n:
            self._pending.append(columns)
            self.pending_rows += n

    def commit(self) -> int:
        if not self.pending_rows:
            return self.parts
        import pyarrow as pa

        pq = import_pyarrow_parquet()
        merged = {name: [v for cols in self._pending for v in cols[name]] for name in self.schema.names}
        table = pa.Table.from_pydict(merged, schema=self.schema)
        self.parts += 1
        path = self.folder / f"part-{self.parts:06d}.parquet"
        tmp = path.with_name(path.name + ".tmp")
        pq.write_table(table, tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(self.folder)
        self._pending, self.pending_rows = [], 0
        return self.parts

    def finish(self, target: Path, row_group_rows: int = 65536) -> None:
        """Merge the parts (in order) into ``target`` atomically, then remove them."""
        import pyarrow as pa

        pq = import_pyarrow_parquet()
        tmp = target.with_name(target.name + ".tmp")
        paths = sorted(p for p in self.folder.iterdir() if p.name.endswith(".parquet"))
        with pq.ParquetWriter(tmp, self.schema) as writer:
            buffer: list[Any] = []
            rows = 0
            for p in paths:
                t = pq.read_table(p, schema=self.schema)
                buffer.append(t)
                rows += t.num_rows
                if rows >= row_group_rows:
                    writer.write_table(pa.concat_tables(buffer), row_group_size=max(rows, 1))
                    buffer, rows = [], 0
            if buffer or not paths:
                table = pa.concat_tables(buffer) if buffer else self.schema.empty_table()
                writer.write_table(table, row_group_size=max(table.num_rows, 1))
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
        fsync_dir(target.parent)
        for p in self.folder.iterdir():
            p.unlink()
        self.folder.rmdir()

    def close(self) -> None:
        pass


def parquet_schema(formatter: Formatter, input_types: dict[str, Any] | None) -> Any:
    """Arrow schema of the flat output. id/keep keep their Parquet input types; otherwise text."""
    import pyarrow as pa

    input_types = input_types or {}
    fields = [pa.field("id", input_types.get("id", pa.string()))]
    for src, name in zip(formatter.keep, formatter.keep_out, strict=True):
        fields.append(pa.field(name, input_types.get(src, pa.string())))
    for col in FLAT_COLUMNS:
        if col.startswith(("score_", "emotion_")) or col == "valence":
            fields.append(pa.field(col, pa.float64()))
        elif col == "emotions_predicted":
            fields.append(pa.field(col, pa.list_(pa.string())))
        else:
            fields.append(pa.field(col, pa.string()))
    return pa.schema(fields)


def stringify_for_arrow(columns: dict[str, list[Any]], names: Sequence[str]) -> None:
    """Id/keep columns without a Parquet input type are text: non-strings become their JSON text."""
    for name in names:
        col = columns.get(name)
        if col is None:
            continue
        columns[name] = [
            v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str) for v in col
        ]
