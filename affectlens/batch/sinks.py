"""Crash-safe sinks: files committed by fsync, atomic renames, Parquet part files; the flat Arrow schema.

A sink's ``commit()`` makes what was written durable and returns its marker (bytes written, or parts
committed) for the checkpoint; resuming opens the sink at that marker and drops whatever came after it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

from affectlens.errors import ConfigError

from .formatting import FLAT_COLUMNS, Formatter
from .readers import import_pyarrow_parquet

RESTART_HINT = "start over with --restart"


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


def commit_file(tmp: Path, target: Path) -> None:
    """fsync ``tmp``, rename it to ``target`` and fsync the folder: ``target`` is then the whole file or absent."""
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, target)
    fsync_dir(target.parent)


def atomic_write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, default=str)
    commit_file(tmp, path)


class AppendFile:
    """A file written by appending and committed by fsync; ``resume_at`` rolls back uncommitted bytes."""

    def __init__(self, path: Path, resume_at: int | None = None, header: bytes = b"") -> None:
        self.path = path
        self.f: IO[bytes]
        if resume_at is None:
            self.f = open(path, "wb")  # noqa: SIM115 - closed in close()
            self.f.write(header)
        else:
            if not path.exists():
                raise ConfigError(f"cannot resume: {path} is missing ({RESTART_HINT})")
            if path.stat().st_size < resume_at:
                raise ConfigError(f"cannot resume: {path} is shorter than its checkpoint ({RESTART_HINT})")
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


class StdoutSink(AppendFile):
    """Output to a stream (stdout): flushed on commit, nothing to resume."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.path = Path("-")
        self.f = stream
        self.offset = 0

    def commit(self) -> int:
        self.f.flush()
        return self.offset

    def close(self) -> None:
        self.f.flush()


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
                raise ConfigError(f"cannot resume: {folder} is missing ({RESTART_HINT})")
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
        self.parts += 1
        path = self.folder / f"part-{self.parts:06d}.parquet"
        tmp = path.with_name(path.name + ".tmp")
        pq.write_table(pa.Table.from_pydict(merged, schema=self.schema), tmp)
        commit_file(tmp, path)
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
        commit_file(tmp, target)
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
