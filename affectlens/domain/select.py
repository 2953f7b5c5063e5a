"""``affectlens select``: pick the texts of a pool to annotate next (active learning), for Label Studio.

The pool (JSONL / CSV / TSV / Parquet with a text field) is scored once with the engine, in chunks, getting the
calibrated probabilities and the sentence embeddings from the same pass; a strategy of
:mod:`affectlens.domain.strategies` ranks it. Texts already labelled (``--labelled``: a Label Studio export,
which also covers tasks imported but not annotated yet, or any JSONL / CSV / Parquet with the text field) and
repeats within the pool (compared with whitespace collapsed and case folded; the first one is kept) are left
out before scoring.

Outputs, for ``-o BATCH.json``: ``BATCH.json``, the Label Studio import file (the model's label as a
pre-annotation); ``BATCH.csv`` (rank, text, predicted label, confidence, margin, entropy); ``label_config.xml``
beside them, the labeling config to create the project with; with ``--auto-accept P``, ``BATCH.weak.jsonl``:
pool texts outside the batch whose top calibrated probability is at least P, with the model's label (weak,
zero-shot labels to bootstrap with, not gold). A JSON summary goes to stdout. Asking for more texts than are
left to annotate is not an error: the batch takes all of them, with a warning on stderr.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from affectlens.batch.readers import format_of, open_reader, usable_records
from affectlens.batch.types import ReadOptions
from affectlens.config import EngineOptions, add_engine_arguments
from affectlens.domain import label_studio
from affectlens.domain.strategies import STRATEGIES, entropy, margin, needs_embeddings, rank
from affectlens.errors import AffectlensError
from affectlens.labels import SENTIMENT_LABELS

__all__ = ["SelectConfig", "SelectError", "dedupe_key", "read_texts", "register_command", "run", "select"]

DEFAULT_STRATEGY = "margin+diverse"
SCORE_CHUNK = 256
PROGRESS_EVERY = 2048


class SelectError(AffectlensError):
    """The selection cannot run as asked (bad option, unusable pool or labelled file); says what to change."""

    code = "bad_select_input"


@dataclass(frozen=True)
class SelectConfig:
    pool: str
    n: int
    output: str  # the Label Studio import file (.json); the CSV, weak labels and config go beside it
    strategy: str = DEFAULT_STRATEGY
    text_field: str = "text"
    labelled: tuple[str, ...] = ()
    auto_accept: float | None = None
    seed: int = 0
    engine: EngineOptions = field(default_factory=EngineOptions)
    model_dir: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1:
            raise SelectError(f"-n must be a whole number of texts, at least 1 (got {self.n!r})")
        if self.strategy not in STRATEGIES:
            raise SelectError(f"--strategy must be one of {', '.join(STRATEGIES)}, not {self.strategy!r}")
        if Path(self.output).suffix.lower() != ".json":
            raise SelectError(f"-o {self.output}: give a .json path (the Label Studio import file), e.g. batch.json")
        if self.auto_accept is not None and not 0.0 < self.auto_accept <= 1.0:
            raise SelectError(f"--auto-accept is a probability in (0, 1], e.g. 0.95 (got {self.auto_accept})")
        if self.engine.mode == "lexicon" and needs_embeddings(self.strategy):
            raise SelectError(
                f"--strategy {self.strategy} needs the network's embeddings, which --lexicon-only has none of: "
                "use --strategy margin or entropy, or drop --lexicon-only"
            )

    @property
    def paths(self) -> dict[str, Path]:
        out = Path(self.output)
        paths = {"tasks": out, "csv": out.with_suffix(".csv"), "label_config": out.parent / "label_config.xml"}
        if self.auto_accept is not None:
            paths["weak"] = out.with_suffix(".weak.jsonl")
        return paths


def dedupe_key(text: str) -> str:
    """What makes two texts the same for skipping: whitespace runs collapsed, ends stripped, case folded."""
    return " ".join(text.split()).casefold()


# -- reading --------------------------------------------------------------------------------------------------
def _is_json_list(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[")


def _export_rows(path: Path, text_field: str) -> list[tuple[str, str | None]]:
    """A Label Studio export's rows; by ``text_field``, else by ``text`` (what ``select`` writes its tasks with,
    whatever the pool's field was called)."""
    try:
        return label_studio.read_export(path, text_field)
    except label_studio.LabelStudioFormatError:
        if text_field == label_studio.DATA_FIELD:
            raise
        return label_studio.read_export(path, label_studio.DATA_FIELD)


def _columns(path: Path, fmt: str) -> list[str]:
    from affectlens.monitoring.windows import columns_of

    try:
        return columns_of(str(path), fmt)
    except Exception:  # an unreadable file: the reader's own errors say more
        return []


def _field_hint(path: Path, fmt: str, text_field: str, what: str) -> SelectError:
    columns = ", ".join(_columns(path, fmt)[:20]) or "none"
    return SelectError(
        f"{what} {path} has no usable {text_field!r} text (fields: {columns}); set --text-field to the field "
        "with the text"
    )


def read_texts(path: str | Path, text_field: str, what: str, skipped: Counter[str]) -> Iterator[tuple[int, str]]:
    """``(line, text)`` of every row of ``path`` with a non-empty text; other rows are counted in ``skipped``.

    A ``.json`` file holding a JSON list is read as a Label Studio export (every task, annotated or not)."""
    path = Path(path)
    if not path.is_file():
        raise SelectError(f"{what} {path}: no such file")
    if path.suffix.lower() == ".json" and _is_json_list(path):
        for n, (text, _) in enumerate(_export_rows(path, text_field), start=1):
            if text.strip():
                yield n, text
            else:
                skipped["empty_text"] += 1
        return
    fmt = format_of(path)
    if fmt != "jsonl" and text_field not in _columns(path, fmt):
        raise _field_hint(path, fmt, text_field, what)
    found = 0
    reader = open_reader(path, ReadOptions(text_field=text_field, id_field=None), fmt)
    for record in usable_records(reader, skipped):
        found += 1
        yield int(record.line or 0), record.text
    if not found and skipped.get("missing_field"):
        raise _field_hint(path, fmt, text_field, what)


def labelled_keys(paths: Sequence[str], text_field: str) -> tuple[set[str], list[dict[str, Any]]]:
    """The dedupe keys of every text in the ``--labelled`` files, and a description of each file."""
    keys: set[str] = set()
    described = []
    for path in paths:
        skipped: Counter[str] = Counter()
        texts = [dedupe_key(text) for _, text in read_texts(path, text_field, "--labelled file", skipped)]
        keys.update(texts)
        described.append({"path": str(path), "texts": len(texts), "skipped": dict(skipped)})
    return keys, described


@dataclass
class Pool:
    """The pool's texts to choose from, after skips, and once scored their probabilities and embeddings."""

    path: str
    texts: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    rows: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    labels: list[str] = field(default_factory=list)
    probs: np.ndarray = field(default_factory=lambda: np.zeros((0, len(SENTIMENT_LABELS))))
    vectors: np.ndarray | None = None
    model_version: str = "affectlens"


def read_pool(path: str, text_field: str, skip: set[str]) -> Pool:
    """The pool's unique texts that are not in ``skip`` (dedupe keys), in file order."""
    pool = Pool(path)
    seen = set(skip)
    for line, text in read_texts(path, text_field, "pool", pool.skipped):
        key = dedupe_key(text)
        if key in seen:
            pool.skipped["labelled" if key in skip else "duplicate"] += 1
            continue
        seen.add(key)
        pool.texts.append(text)
        pool.lines.append(line)
    pool.rows = len(pool.texts) + sum(pool.skipped.values())
    if pool.rows == 0:
        raise SelectError(f"pool {path} is empty: give a file with one text per row")
    if not pool.texts:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(pool.skipped.items()))
        raise SelectError(
            f"nothing left to select in pool {path}: all {pool.rows} rows are skipped ({reasons}); add new texts "
            "to the pool, or check --text-field and --labelled"
        )
    return pool


# -- scoring --------------------------------------------------------------------------------------------------
def score_pool(pool: Pool, engine: Any, with_embeddings: bool, progress: IO[str]) -> None:
    """Probabilities, labels (and embeddings) for the pool, in place; texts the engine refuses are dropped."""
    keep: list[int] = []
    probs: list[list[float]] = []
    vectors: list[np.ndarray] = []
    total = len(pool.texts)
    for start in range(0, total, SCORE_CHUNK):
        chunk = pool.texts[start : start + SCORE_CHUNK]
        embeddings: list[Any] | None = [] if with_embeddings else None
        results = engine.score_batch(chunk, embeddings=embeddings)
        for k, result in enumerate(results):
            payload = result.to_dict()
            if "error" in payload:
                pool.skipped[payload["error"]["code"]] += 1
                continue
            keep.append(start + k)
            probs.append([float(payload["scores"][name]) for name in SENTIMENT_LABELS])
            pool.labels.append(payload["label"])
            if embeddings is not None:
                vectors.append(np.asarray(embeddings[k], dtype=np.float32))
            if "model" in payload and pool.model_version == "affectlens":
                pool.model_version = "-".join(str(v) for v in payload["model"].values())
        done = min(total, start + SCORE_CHUNK)
        if total > PROGRESS_EVERY and (done % PROGRESS_EVERY < SCORE_CHUNK or done == total):
            print(f"select: scored {done:,}/{total:,} texts of the pool", file=progress, flush=True)
    pool.texts = [pool.texts[i] for i in keep]
    pool.lines = [pool.lines[i] for i in keep]
    pool.probs = np.asarray(probs, dtype=np.float64).reshape(-1, len(SENTIMENT_LABELS))
    pool.vectors = np.stack(vectors) if vectors else None
    if not pool.texts:
        raise SelectError(f"no text of pool {pool.path} could be scored (errors: {dict(pool.skipped)})")


# -- writing --------------------------------------------------------------------------------------------------
def _write(path: Path, write: Any) -> None:
    """Write through a temporary file and rename, so a failed run leaves no half-written output."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        write(f)
    os.replace(tmp, path)


def write_outputs(config: SelectConfig, pool: Pool, order: np.ndarray) -> dict[str, Any]:
    """The batch files (see the module docstring); returns the weak-label counts (empty without --auto-accept)."""
    paths = config.paths
    margins, entropies = margin(pool.probs), entropy(pool.probs)
    confidence = pool.probs.max(axis=1)
    predictions = [{"label": pool.labels[i], "scores": dict(zip(SENTIMENT_LABELS, pool.probs[i], strict=True))}
                   for i in order]  # fmt: skip
    import_json = label_studio.tasks([pool.texts[i] for i in order], predictions, pool.model_version)
    _write(paths["tasks"], lambda f: json.dump(import_json, f, ensure_ascii=False, indent=1))
    _write(paths["label_config"], lambda f: f.write(label_studio.label_config(SENTIMENT_LABELS)))

    def rows(f: IO[str]) -> None:
        out = csv.writer(f)
        out.writerow(["rank", "line", "text", "predicted_label", "confidence", "margin", "entropy"])
        for r, i in enumerate(order, start=1):
            out.writerow([r, pool.lines[i], pool.texts[i], pool.labels[i], round(float(confidence[i]), 6),
                          round(float(margins[i]), 6), round(float(entropies[i]), 6)])  # fmt: skip

    _write(paths["csv"], rows)
    if config.auto_accept is None:
        return {}
    chosen = set(order.tolist())
    weak = [i for i in range(len(pool.texts)) if i not in chosen and confidence[i] >= config.auto_accept]

    def lines(f: IO[str]) -> None:
        for i in weak:
            row = {"text": pool.texts[i], "label": pool.labels[i], "confidence": round(float(confidence[i]), 6),
                   "model_version": pool.model_version, "weak": True}  # fmt: skip
            f.write(json.dumps(row, ensure_ascii=False) + "\n")

    _write(paths["weak"], lines)
    return {"threshold": config.auto_accept, "rows": len(weak), "labels": dict(Counter(pool.labels[i] for i in weak))}


# -- the command ----------------------------------------------------------------------------------------------
def select(config: SelectConfig, progress: IO[str] | None = None) -> dict[str, Any]:
    """Run the selection and write its files; returns the JSON summary."""
    from affectlens.engine import Engine

    stream = progress if progress is not None else sys.stderr
    started = time.perf_counter()
    skip, described = labelled_keys(config.labelled, config.text_field)
    pool = read_pool(config.pool, config.text_field, skip)
    engine = Engine(config.engine.engine_config(config.model_dir))
    score_pool(pool, engine, needs_embeddings(config.strategy), stream)
    if config.n > len(pool.texts):
        print(f"select: warning: asked for {config.n} texts but only {len(pool.texts)} are left to annotate; "
              "the batch has all of them", file=stream)  # fmt: skip
    order = rank(config.strategy, pool.probs, pool.vectors, config.n, seed=config.seed)
    weak = write_outputs(config, pool, order)
    margins = margin(pool.probs)
    summary: dict[str, Any] = {
        "pool": {
            "path": config.pool,
            "rows": pool.rows,
            "candidates": len(pool.texts),
            "skipped": dict(sorted(pool.skipped.items())),
        },
        "labelled": described,
        "strategy": config.strategy,
        "seed": config.seed,
        "requested": config.n,
        "selected": len(order),
        "model_version": pool.model_version,
        "mode": config.engine.mode,
        "batch": {
            "predicted_labels": dict(Counter(pool.labels[i] for i in order)),
            "mean_margin": round(float(margins[order].mean()), 4),
            "mean_confidence": round(float(pool.probs[order].max(axis=1).mean()), 4),
        },
        "pool_mean_margin": round(float(margins.mean()), 4),
        "outputs": {name: str(p) for name, p in config.paths.items()},
    }
    if weak:
        summary["weak_labels"] = weak
    summary["seconds"] = round(time.perf_counter() - started, 2)
    return summary


def register_command(sub: Any, name: str, help_text: str) -> None:
    """Add ``affectlens select`` (called by :mod:`affectlens.cli`)."""
    p = sub.add_parser(name, help=help_text, description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("pool", metavar="POOL", help="texts to choose from (JSONL / CSV / TSV / Parquet)")
    p.add_argument(
        "-n",
        type=int,
        required=True,
        metavar="N",
        help="how many texts to pick (more than are left: all of them, with a warning)",
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="BATCH.json",
        help="the Label Studio import file; BATCH.csv and label_config.xml go beside it",
    )
    p.add_argument(
        "--strategy",
        default=DEFAULT_STRATEGY,
        choices=STRATEGIES,
        help="margin: closest calls; entropy: most uncertain; diverse: k-center on embeddings; "
        f"margin+diverse: k-center among the most uncertain (default {DEFAULT_STRATEGY})",
    )
    p.add_argument("--text-field", default="text", help="field or column with the text (default: text)")
    p.add_argument(
        "--labelled",
        nargs="+",
        action="extend",
        default=[],
        metavar="FILE",
        help="texts to skip: Label Studio JSON exports, or JSONL/CSV/Parquet files with the text",
    )
    p.add_argument(
        "--auto-accept",
        type=float,
        default=None,
        metavar="P",
        help="also write BATCH.weak.jsonl: the model's label for pool texts outside the batch whose top "
        "probability is >= P (weak zero-shot labels to bootstrap with, NOT gold labels)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the diverse strategy's first pick (default 0)")
    add_engine_arguments(p, explain=False)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = SelectConfig(
        pool=args.pool,
        n=args.n,
        output=args.output,
        strategy=args.strategy,
        text_field=args.text_field,
        labelled=tuple(args.labelled),
        auto_accept=args.auto_accept,
        seed=args.seed,
        engine=EngineOptions.from_args(args),
        model_dir=args.model,
    )
    summary = select(config)
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0
