"""Output rows: prediction objects (JSONL) and the flat schema (CSV/TSV, Parquet); the one error payload.

* ``.jsonl``: one prediction object per line (the JSON contract of ``Prediction.to_dict()``), with the input
  ``id`` and the ``--keep`` columns at the top level.
* ``.csv`` / ``.tsv`` and ``.parquet``: the *flat* schema (:data:`FLAT_COLUMNS`): scores and emotions as one
  float column each; ``components``, ``tokens`` and ``warnings`` as JSON text; ``emotions_predicted`` a list
  (Parquet) or ``;``-joined text (CSV).

Runs in worker processes (the :class:`Formatter` is picklable) and in Ray actors.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from affectlens.labels import EMOTION_LABELS, SENTIMENT_LABELS

from .types import ChunkResult, Record

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


def keep_names(keep: Sequence[str], reserved: frozenset[str] | set[str] = PREDICTION_KEYS) -> list[str]:
    """Output names of the passthrough columns (``input_<name>`` where the name is taken)."""
    return [f"input_{k}" if k in reserved else k for k in keep]


def json_line(obj: Any) -> bytes:
    """One JSON line; lone surrogates become ``\\udcXX`` escapes (still valid JSON), never invalid UTF-8."""
    return (json.dumps(obj, ensure_ascii=False, default=str) + "\n").encode("utf-8", "backslashreplace")


def json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def error_object(line: int | None, rid: Any, code: str, message: str) -> dict[str, Any]:
    """The error record of a row (errors file, inline errors): ``{"line", "id", "error": {code, message}}``."""
    return {"line": line, "id": rid, "error": {"code": code, "message": message}}


def payload_of(result: Any) -> dict[str, Any]:
    """A scorer result as its JSON object (results are dicts or have ``to_dict()``)."""
    return result if isinstance(result, dict) else dict(result.to_dict())


def error_of(payload: dict[str, Any]) -> tuple[str, str] | None:
    """``(code, message)`` of an error payload, None for a prediction."""
    err = payload.get("error")
    return None if err is None else (err.get("code", "error"), err.get("message", ""))


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
    out["components"] = json_text(payload.get("components"))
    tokens = payload.get("tokens")
    out["tokens"] = None if tokens is None else json_text(tokens)
    warnings = payload.get("warnings")
    out["warnings"] = json.dumps(warnings, ensure_ascii=False) if warnings else None
    out["model_name"] = model.get("name")
    out["model_version"] = model.get("version")
    return out


def stringify_for_arrow(columns: dict[str, list[Any]], names: Sequence[str]) -> None:
    """Id/keep columns without a Parquet input type are text: non-strings become their JSON text."""
    for name in names:
        col = columns.get(name)
        if col is not None:
            columns[name] = [v if v is None or isinstance(v, str) else json_text(v) for v in col]


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

    def set_input_types(self, input_types: dict[str, Any]) -> None:
        """Id/keep columns that have no Arrow type in the input are written as text (Parquet)."""
        pairs = [("id", "id"), *zip(self.keep, self.keep_out, strict=True)]
        self.arrow_text_columns = tuple(name for src, name in pairs if src not in input_types)

    def columns(self) -> list[str]:
        return ["id", *self.keep_out, *FLAT_COLUMNS]

    def header_bytes(self) -> bytes:
        return self._csv_bytes([self.columns()]) if self.format == "csv" else b""

    def _csv_bytes(self, rows: list[list[Any]]) -> bytes:
        buf = io.StringIO()
        csv.writer(buf, delimiter=self.delimiter, lineterminator="\n").writerows(rows)
        return buf.getvalue().encode("utf-8", "backslashreplace")

    def base_row(self, rec: Record) -> dict[str, Any]:
        """``id`` and the kept columns of a record (under their output names)."""
        return {"id": rec.id, **dict(zip(self.keep_out, rec.keep, strict=True))}

    def output_object(self, rec: Record, payload: dict[str, Any]) -> dict[str, Any]:
        """The JSON output object of a scored record: id, kept columns, then the prediction."""
        obj = self.base_row(rec)
        obj.update((k, v) for k, v in payload.items() if k != "id")
        return obj

    def flat(self, rec: Record, payload: dict[str, Any]) -> dict[str, Any]:
        """The flat output row of a scored record."""
        return {**self.base_row(rec), **flat_row(payload)}

    def format_chunk(self, records: Sequence[Record], results: Sequence[Any]) -> ChunkResult:
        """``results`` holds one scorer result (object with ``to_dict()`` or a dict) per record without error."""
        it = iter(results)
        ok = failed = 0
        codes: dict[str, int] = {}
        scored: list[tuple[Record, dict[str, Any]]] = []
        inline: list[dict[str, Any]] = []
        err_lines: list[bytes] = []
        for rec in records:
            error = rec.error
            if error is None:
                payload = payload_of(next(it))
                error = error_of(payload)
                if error is None:
                    ok += 1
                    scored.append((rec, payload))
                    if self.inline_errors:
                        inline.append(self.output_object(rec, payload))
                    continue
            failed += 1
            codes[error[0]] = codes.get(error[0], 0) + 1
            eobj = error_object(rec.line, rec.id, *error)
            if self.inline_errors:
                inline.append(eobj)
            else:
                err_lines.append(json_line(eobj))
        data = b"".join(json_line(o) for o in inline) if self.inline_errors else self._encode(scored)
        return ChunkResult(data, b"".join(err_lines), ok, failed, codes)

    def _encode(self, scored: list[tuple[Record, dict[str, Any]]]) -> Any:
        if self.format == "jsonl":
            return b"".join(json_line(self.output_object(rec, p)) for rec, p in scored)
        rows = [self.flat(rec, p) for rec, p in scored]
        cols = self.columns()
        if self.format == "csv":
            return self._csv_bytes([[_csv_cell(r.get(c)) for c in cols] for r in rows])
        columns = {c: [r.get(c) for r in rows] for c in cols}
        stringify_for_arrow(columns, self.arrow_text_columns)
        return columns


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(map(str, value))
    if isinstance(value, dict):
        return json_text(value)
    return value
