"""Streaming readers for JSONL, CSV/TSV and Parquet, and the one check of a row's text (:func:`check_text`).

Readers stream in bounded memory and never raise on a bad row: a row that cannot be scored becomes a
:class:`Record` with an ``error`` and its 1-based line number (Parquet: row number). Every record carries the
input position *after* it, so a job can be resumed from a committed position without reading the rows
before it again (JSONL/CSV: a byte offset; Parquet: a row count).
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from affectlens.errors import ConfigError, MissingDependencyError

from .types import START, InputFormatError, Position, ReadOptions, Record

FORMATS = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".csv": "csv", ".tsv": "csv",
    ".parquet": "parquet", ".pq": "parquet",
}  # fmt: skip
MISSING: Any = object()  # the value of a field the row does not have
UTF8_HINT = "re-encode the file as UTF-8"


def format_of(path: str | os.PathLike[str], kind: str = "input") -> str:
    """``jsonl``, ``csv`` or ``parquet`` by the extension of ``path`` (``kind``: input or output, for messages)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".gz":
        raise ConfigError(f"{path}: compressed {kind} is not supported; decompress it first")
    fmt = FORMATS.get(suffix)
    if fmt is None:
        raise ConfigError(
            f"cannot tell the {kind} format of {path!s} from its extension: use .jsonl, .csv/.tsv or .parquet"
        )
    return fmt


def type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def check_text(value: Any, field: str) -> tuple[str | None, tuple[str, str] | None]:
    """``(text, None)`` for a scorable value, ``(None, (code, message))`` otherwise; every reader uses this.

    Bytes must be UTF-8; a missing field, null (or NaN) is ``missing_field``; other non-strings
    ``not_a_string``. Empty or too long texts are the engine's to judge."""
    if value is MISSING:
        return None, ("missing_field", f"no {field!r} field (set --text-field to the field with the text)")
    if isinstance(value, bytes | bytearray):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, ("invalid_utf8", f"text is not valid UTF-8 (byte {exc.start}); {UTF8_HINT}")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None, ("missing_field", f"{field!r} is null")
    if not isinstance(value, str):
        return None, ("not_a_string", f"field {field!r} is {type_name(value)}, expected a string")
    return value, None


def text_record(line: int | None, rid: Any, value: Any, keep: tuple[Any, ...], field: str) -> Record:
    """The record of one row whose structure is fine: scorable, or an error from :func:`check_text`."""
    text, error = check_text(value, field)
    return Record(line, rid, text, keep, error)


def _surrogates(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)


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

    def records(self, start: Position = START) -> Iterator[tuple[Record, Position]]:  # pragma: no cover
        raise NotImplementedError

    def input_schema(self) -> dict[str, Any]:
        """Arrow types of the id/keep columns where the input has them (Parquet), else empty."""
        return {}

    def _require_columns(self, names: list[str], what: str) -> None:
        require_columns(self.path, names, self.options, what)


class JsonlReader(Reader):
    """JSON Lines, read in binary so that a line with invalid UTF-8 is one bad row, not a failed job."""

    format = "jsonl"

    def records(self, start: Position = START) -> Iterator[tuple[Record, Position]]:
        with open(self.path, "rb") as f:
            f.seek(start.offset)
            offset, line = start.offset, start.line
            for raw in f:
                offset += len(raw)
                n, line = line, line + 1
                if raw.strip():
                    yield self._record(raw, n), Position(offset, line)

    def _record(self, raw: bytes, n: int) -> Record:
        opts = self.options
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return Record(n, self._salvage_id(raw, n), None, (), (
                "invalid_utf8", f"line is not valid UTF-8 (byte {exc.start}); {UTF8_HINT}"
            ))  # fmt: skip
        try:
            obj = json.loads(text)
        except ValueError as exc:
            col = getattr(exc, "colno", None)
            where = f" at column {col}" if col else ""
            return Record(n, n, None, (), ("malformed_json", f"malformed JSON{where}: {getattr(exc, 'msg', exc)}"))
        if not isinstance(obj, dict):
            return Record(n, n, None, (), ("not_an_object", f"expected a JSON object per line, got {type_name(obj)}"))
        rid = obj.get(opts.id_field, n) if opts.id_field else n
        keep = tuple(obj.get(k) for k in opts.keep)
        return text_record(n, rid, obj.get(opts.text_field, MISSING), keep, opts.text_field)

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
        self._require_columns(self.header, "in the header ({})")
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

    def records(self, start: Position = START) -> Iterator[tuple[Record, Position]]:
        if start.offset < self.header_end:
            start = Position(self.header_end, 2)
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
                    record = Record(n, n, None, (), ("malformed_csv", f"malformed CSV: {exc}"))
                else:
                    if not row:
                        continue
                    record = self._record(row, n)
                yield record, Position(state[0], state[1] + 1)

    def _record(self, row: list[str], n: int) -> Record:
        rid: Any = row[self.id_col] if self.id_col is not None and self.id_col < len(row) else n
        if len(row) != len(self.header):
            return Record(n, rid, None, (), (
                "malformed_csv", f"expected {len(self.header)} fields (as in the header), got {len(row)}"
            ))  # fmt: skip
        keep = tuple(row[c] for c in self.keep_cols)
        if any(_surrogates(str(v)) for v in (row[self.text_col], rid, *keep)):
            if isinstance(rid, str) and _surrogates(rid):
                rid = rid.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            return Record(n, rid, None, (), ("invalid_utf8", f"row is not valid UTF-8; {UTF8_HINT}"))
        return text_record(n, rid, row[self.text_col], keep, self.options.text_field)


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
        self._require_columns(self.schema.names, "(columns: {})")
        self.has_id = bool(options.id_field) and options.id_field in self.schema.names
        self.total = self.file.metadata.num_rows

    def input_schema(self) -> dict[str, Any]:
        return parquet_input_types(self.schema, self.options)

    def records(self, start: Position = START) -> Iterator[tuple[Record, Position]]:
        opts = self.options
        meta = self.file.metadata
        groups: list[int] = []
        row = 0
        for g in range(meta.num_row_groups):
            if not groups and row + meta.row_group(g).num_rows <= start.offset:
                row += meta.row_group(g).num_rows
            else:
                groups.append(g)
        if not groups:
            return
        skip = start.offset - row
        columns = list(dict.fromkeys([opts.text_field, *([opts.id_field] if self.has_id else []), *opts.keep]))
        for batch in self.file.iter_batches(batch_size=opts.parquet_batch_rows, row_groups=groups, columns=columns):
            if skip >= batch.num_rows:
                skip, row = skip - batch.num_rows, row + batch.num_rows
                continue
            if skip:
                batch, row, skip = batch.slice(skip), row + skip, 0
            texts = batch.column(opts.text_field).to_pylist()
            ids = batch.column(opts.id_field).to_pylist() if self.has_id else None
            keeps = [batch.column(k).to_pylist() for k in opts.keep]
            for i, value in enumerate(texts):
                row += 1
                rid = ids[i] if ids is not None else row
                keep = tuple(col[i] for col in keeps)
                yield text_record(row, rid, value, keep, opts.text_field), Position(row, row + 1)


def require_columns(path: str | os.PathLike[str], names: list[str], options: ReadOptions, what: str) -> None:
    """The text and kept columns must be in ``names`` (``what``: how the names are listed in the message)."""
    for name in (options.text_field, *options.keep):
        if name not in names:
            raise InputFormatError(f"{path}: no column {name!r} {what.format(', '.join(names[:20]))}")


def parquet_input_types(schema: Any, options: ReadOptions) -> dict[str, Any]:
    """Arrow types of the id (as ``"id"``) and the kept columns in a Parquet input schema."""
    types = {}
    if options.id_field and options.id_field in schema.names:
        types["id"] = schema.field(options.id_field).type
    for k in options.keep:
        types[k] = schema.field(k).type
    return types


def usable_records(reader: Reader, skipped: dict[str, int]) -> Iterator[Record]:
    """The reader's records with a non-blank text; every other row is counted in ``skipped`` by its reason
    (its error code, or ``empty_text``). For commands that read texts to analyse rather than to score."""
    for record, _ in reader.records():
        if record.error is not None:
            skipped[record.error[0]] = skipped.get(record.error[0], 0) + 1
        elif not isinstance(record.text, str) or not record.text.strip():
            skipped["empty_text"] = skipped.get("empty_text", 0) + 1
        else:
            yield record


def open_reader(path: str | os.PathLike[str], options: ReadOptions, fmt: str | None = None) -> Reader:
    fmt = fmt or format_of(path)
    cls = {"jsonl": JsonlReader, "csv": CsvReader, "parquet": ParquetReader}[fmt]
    return cls(path, options)


def import_pyarrow_parquet() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is in the parquet, dev and dist extras
        raise MissingDependencyError.for_extra("pyarrow", "parquet") from None
    return pq
