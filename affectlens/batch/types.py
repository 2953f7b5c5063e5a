"""The vocabulary of batch jobs: options, summary, input records and positions, chunk results, the scorer protocol."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple, Protocol

from affectlens.errors import AffectlensError, ConfigError

CHECKPOINT_VERSION = 1
PARQUET_PART_ROWS = 16384  # Parquet output: rows per committed part file (or one part every 2 s)
PARQUET_PART_SECONDS = 2.0  # Parquet output: the longest a part stays uncommitted (unless checkpoint_seconds is longer)
PARQUET_BATCH_ROWS = 4096  # Parquet input: rows per batch read


class BatchError(AffectlensError):
    """The job stopped (a worker died, the server kept failing, ...); ``--resume`` continues it."""

    code = "batch_failed"


class InputFormatError(AffectlensError):
    """The input file cannot be read as a whole (unknown format, missing column, unreadable file)."""

    code = "bad_input_file"


class Scorer(Protocol):
    """Anything that scores a batch of texts: the Engine, the REST client, a fake in tests.

    One result per text, in order: a ``Prediction``/``ScoreError`` (anything with ``to_dict()``) or a dict."""

    def score_batch(self, texts: Sequence[object], *, explain: bool = False) -> Sequence[Any]: ...


ScorerFactory = Callable[[int], Scorer]  # factory(threads) -> scorer; picklable to run in worker processes


@dataclass(frozen=True)
class InProcess:
    """Score with this scorer object, in this process (``workers`` must be 1)."""

    scorer: Scorer


@dataclass(frozen=True)
class Workers:
    """Build a scorer with ``factory(threads)``: once in this process (``workers=1``) or once per worker process."""

    factory: ScorerFactory


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
    progress: bool | None = None  # None: in place on a terminal, else a line every 10 s; False: none
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

    def read_options(self) -> ReadOptions:
        return ReadOptions(self.text_field, self.id_field, self.keep, self.delimiter)


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

    def finish_timing(self, seconds: float, rows_this_run: int) -> None:
        self.seconds = round(seconds, 3)
        self.rows_per_s = round(rows_this_run / self.seconds, 1) if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class ReadOptions:
    text_field: str = "text"
    id_field: str | None = "id"  # None or a missing field: the line (row) number is the id
    keep: tuple[str, ...] = ()
    delimiter: str | None = None  # CSV only; None: tab for .tsv, comma otherwise
    parquet_batch_rows: int = PARQUET_BATCH_ROWS


class Record(NamedTuple):
    """One input row. ``error`` is ``(code, message)`` for a row that cannot be scored (``text`` is None).

    ``line`` is the 1-based line (Parquet: row) number; None where the reader does not know it (Ray)."""

    line: int | None
    id: Any
    text: Any
    keep: tuple[Any, ...]
    error: tuple[str, str] | None = None


@dataclass(frozen=True)
class Position:
    """Where a reader resumes: ``offset`` (bytes for JSONL/CSV, rows for Parquet) and the next line number."""

    offset: int = 0
    line: int = 1


START = Position()  # the beginning of an input


class Chunk(NamedTuple):
    records: list[Record]
    end: Position  # the input position after the chunk's last record


class ChunkResult(NamedTuple):
    """What one scored chunk contributes: output ``data`` (bytes, or columns for Parquet), error lines."""

    data: Any
    errors: bytes
    ok: int
    failed: int
    error_codes: dict[str, int]
