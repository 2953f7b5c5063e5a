"""A job's files and its checkpoint: what was committed (input position, output size, counts), and the
checks that refuse to resume a different job (changed input, other options, another version)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from affectlens.errors import ConfigError

from .types import CHECKPOINT_VERSION, START, BatchOptions, ChunkResult, Position


@dataclass(frozen=True)
class JobPaths:
    """OUTPUT and the files beside it: ``.partial`` / ``.parts/`` while running, the checkpoint, the errors."""

    output: Path
    partial: Path
    checkpoint: Path
    errors: Path
    errors_partial: Path
    parts: Path

    @classmethod
    def for_output(cls, output: Path, errors: str | None) -> JobPaths:
        err = Path(errors) if errors else output.with_name(output.name + ".errors.jsonl")
        return cls(
            output=output,
            partial=output.with_name(output.name + ".partial"),
            checkpoint=output.with_name(output.name + ".checkpoint.json"),
            errors=err,
            errors_partial=err.with_name(err.name + ".partial"),
            parts=output.with_name(output.name + ".parts"),
        )


def input_identity(path: Path) -> dict[str, Any]:
    st = path.stat()
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


@dataclass
class JobState:
    """The counts and input position of a job (over all its runs); what a checkpoint commits."""

    rows: int = 0
    ok: int = 0
    failed: int = 0
    error_codes: dict[str, int] = field(default_factory=dict)
    position: Position = START
    seconds: float = 0.0  # scoring time of earlier runs

    @classmethod
    def from_checkpoint(cls, data: dict[str, Any]) -> JobState:
        return cls(rows=data["rows"], ok=data["ok"], failed=data["failed"], error_codes=dict(data["error_codes"]),
                   position=Position(**data["position"]), seconds=float(data.get("seconds", 0.0)))  # fmt: skip

    def add(self, rows: int, result: ChunkResult, end: Position) -> None:
        self.rows += rows
        self.ok += result.ok
        self.failed += result.failed
        for code, count in result.error_codes.items():
            self.error_codes[code] = self.error_codes.get(code, 0) + count
        self.position = end

    def to_checkpoint(self, seconds: float) -> dict[str, Any]:
        return {"position": {"offset": self.position.offset, "line": self.position.line}, "seconds": seconds,
                "ok": self.ok, "failed": self.failed, "rows": self.rows, "error_codes": self.error_codes}  # fmt: skip


def discard_leftovers(paths: JobPaths) -> None:
    """Temporary files without a checkpoint cannot be resumed: they are this job's own, from a killed start."""
    for p in (paths.checkpoint, paths.partial, paths.errors_partial):
        p.unlink(missing_ok=True)


def load_checkpoint(
    paths: JobPaths, input_path: Path, fingerprint: dict[str, Any], opts: BatchOptions
) -> dict[str, Any] | None:
    """The checkpoint to resume from (None: a fresh job). Refuses to mix two different jobs."""
    if opts.restart or not paths.checkpoint.exists():
        discard_leftovers(paths)
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
        return dict(data)
    identity = input_identity(input_path)
    if data["input"]["size"] != identity["size"] or data["input"]["mtime_ns"] != identity["mtime_ns"]:
        raise ConfigError(
            f"cannot resume: {input_path} changed since the job started (size or modification time); "
            "pass --restart to score it from the beginning"
        )
    if data["options"] != fingerprint:
        changed = sorted(k for k in fingerprint if data["options"].get(k) != fingerprint[k])
        raise ConfigError(
            f"cannot resume with different options ({', '.join(changed)}): use the options of the interrupted "
            "run, or --restart"
        )
    return dict(data)
