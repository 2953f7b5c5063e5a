"""``affectlens audit-labels``: rank the rows of a labelled file whose label is likely wrong.

Sentence embeddings come from the model's ONNX graph (the pooled vector its heads read); a linear probe gives
every row out-of-sample probabilities by K-fold cross-validation and cleanlab flags and ranks the suspects
(:mod:`affectlens.domain.audit_core`). Writes every suspect row (``-o suspects.csv|.jsonl``) and prints a JSON
summary. Any label set works, not only sentiment. Needs the ``domain`` extra (cleanlab, scikit-learn).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import IO, Any

import numpy as np

from affectlens.config import PROVIDERS
from affectlens.domain.audit_core import DEFAULT_FOLDS, RANK_METHODS, LabelAudit, audit_arrays
from affectlens.domain.labelled import DomainInputError, LabelledData, read_labelled, summary_of

__all__ = ["audit_file", "embed_texts", "register_command", "run", "suspect_rows", "write_rows"]

EMBED_CHUNK = 256
PROGRESS_FROM = 1024  # report embedding progress on stderr for files with more rows than this
TOP_IN_SUMMARY = 10
COLUMNS = ("rank", "line", "text", "given_label", "suggested_label", "label_quality", "p_given", "p_suggested")
OUTPUT_FORMATS = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def embed_texts(
    texts: list[str], model_dir: str | Path | None = None, provider: str = "auto", threads: int = 0,
    progress: IO[str] | None = None,
) -> np.ndarray:  # fmt: skip
    """(n, hidden) sentence embeddings of ``texts`` from the model's ONNX graph, in chunks (progress on stderr)."""
    from affectlens.engine import default_model_dir
    from affectlens.neural import NeuralConfig, NeuralModel

    model = NeuralModel(model_dir or default_model_dir(), NeuralConfig(provider=provider, intra_op_threads=threads))
    stream = progress if progress is not None else sys.stderr
    parts = []
    for start in range(0, len(texts), EMBED_CHUNK):
        parts.append(model.embeddings(texts[start : start + EMBED_CHUNK]))
        done = min(len(texts), start + EMBED_CHUNK)
        if len(texts) > PROGRESS_FROM and (done % (4 * EMBED_CHUNK) == 0 or done == len(texts)):
            print(f"audit-labels: embedded {done:,}/{len(texts):,} texts", file=stream, flush=True)
    return np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, 0), dtype=np.float32)


def suspect_rows(data: LabelledData, audit: LabelAudit) -> list[dict[str, Any]]:
    """Every suspect, most suspicious first: rank, line, text, given and suggested label, scores."""
    suggested = audit.suggested
    rows = []
    for rank, i in enumerate(audit.suspects.tolist(), start=1):
        given, best = int(audit.given[i]), int(suggested[i])
        rows.append({
            "rank": rank,
            "line": data.lines[i] if data.lines else i + 1,
            "text": data.texts[i],
            "given_label": audit.classes[given],
            "suggested_label": audit.classes[best],
            "label_quality": round(float(audit.quality[i]), 4),
            "p_given": round(float(audit.pred_probs[i, given]), 4),
            "p_suggested": round(float(audit.pred_probs[i, best]), 4),
        })  # fmt: skip
    return rows


def write_rows(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Write the suspect rows as CSV/TSV or JSONL (by extension)."""
    path = Path(path)
    fmt = OUTPUT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DomainInputError(f"cannot tell the output format of {path} from its extension: use .csv or .jsonl")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        if fmt == "jsonl":
            f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        else:
            writer = csv.DictWriter(f, COLUMNS, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
            writer.writeheader()
            writer.writerows(rows)
    return path


def summarize(data: LabelledData, audit: LabelAudit, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON summary: rows, suspects and their share (overall and per given label), the probe's CV metrics."""
    per_label = {name: 0 for name in audit.classes}
    for row in rows:
        per_label[row["given_label"]] += 1
    support = {name: int((audit.given == j).sum()) for j, name in enumerate(audit.classes)}
    return {
        "file": summary_of(data),
        "rows": len(data),
        "suspects": len(rows),
        "suspect_share": round(len(rows) / len(data), 4),
        "suspects_per_label": per_label,
        "suspect_share_per_label": {k: round(v / support[k], 4) if support[k] else 0.0 for k, v in per_label.items()},
        "probe": {
            "model": "logistic regression on sentence embeddings",
            "folds": audit.folds,
            **audit.probe_metrics(),
        },
        "rank_by": audit.rank_by,
        "top_suspects": rows[:TOP_IN_SUMMARY],
    }


def audit_file(
    path: str | Path, text_field: str = "text", label_field: str = "label", labels: Any = None,
    model_dir: str | Path | None = None, folds: int = DEFAULT_FOLDS, seed: int = 0,
    rank_by: str = "self_confidence", provider: str = "auto", threads: int = 0,
) -> tuple[dict[str, Any], list[dict[str, Any]], LabelAudit]:  # fmt: skip
    """Read, embed and audit a labelled file: ``(summary, suspect rows, audit)``."""
    started = time.perf_counter()
    data = read_labelled(path, text_field, label_field, labels)
    features = embed_texts(data.texts, model_dir, provider, threads)
    embedded = time.perf_counter()
    audit = audit_arrays(features, data.label_ids, data.label_set, folds=folds, seed=seed, rank_by=rank_by)
    rows = suspect_rows(data, audit)
    summary = summarize(data, audit, rows)
    summary["model"] = str(model_dir or "default")
    summary["seconds"] = {"embedding": round(embedded - started, 1), "total": round(time.perf_counter() - started, 1)}
    return summary, rows, audit


def run(args: argparse.Namespace) -> int:
    summary, rows, _ = audit_file(
        args.file, args.text_field, args.label_field, args.labels, model_dir=args.model, folds=args.folds,
        seed=args.seed, rank_by=args.rank_by, provider=args.provider, threads=args.threads,
    )  # fmt: skip
    if args.output:
        summary["output"] = str(write_rows(rows, args.output))
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    where = f"; all of them in {args.output}" if args.output else "; write them all with -o suspects.csv"
    print(f"affectlens audit-labels: {len(rows)} suspect labels in {summary['rows']} rows{where}", file=sys.stderr)
    return 0


def register_command(sub: Any, name: str, help_text: str) -> None:
    """Add ``affectlens audit-labels`` (called by :mod:`affectlens.cli`)."""
    p = sub.add_parser(name, help=help_text, description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("file", metavar="FILE", help="labelled JSONL/CSV/TSV/Parquet file or Label Studio JSON export")
    p.add_argument("--text-field", default="text", help="field or column with the text (default: text)")
    p.add_argument("--label-field", default="label", help="field or column with the label (default: label)")
    p.add_argument("--labels", default=None, metavar="A,B,C",
                   help="the label set, comma-separated (default: the labels found in the file)")  # fmt: skip
    p.add_argument("-o", "--output", default=None, metavar="suspects.csv",
                   help="write every suspect row here (.csv, .tsv or .jsonl)")  # fmt: skip
    p.add_argument("--model", default=None, help="model folder whose embeddings to use (default: the shipped one)")
    p.add_argument("--folds", type=int, default=DEFAULT_FOLDS, help=f"cross-validation folds (default {DEFAULT_FOLDS})")
    p.add_argument("--seed", type=int, default=0, help="seed of the fold assignment")
    p.add_argument("--rank-by", default=RANK_METHODS[0], choices=RANK_METHODS,
                   help="cleanlab's label quality score, used for the ranking (default: self_confidence)")  # fmt: skip
    p.add_argument("--provider", default="auto", choices=PROVIDERS, help="ONNX Runtime provider")
    p.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0 = all cores)")
    p.set_defaults(func=run)
