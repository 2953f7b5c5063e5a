"""``affectlens monitor``: drift of a current window of traffic against a reference window.

Exit status: 0 no drift, 1 drift detected, 2 usage or input error (so cron / Airflow can act on it).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from affectlens.config import EngineOptions, add_engine_arguments
from affectlens.monitoring.checks import DriftThresholds
from affectlens.monitoring.monitor import DEFAULT_EMBEDDING_SAMPLE, MonitorConfig, monitor

__all__ = ["register_command", "run"]

EXIT_NO_DRIFT, EXIT_DRIFT = 0, 1  # usage and input errors exit 2 (argparse and affectlens.cli.main)


def register_command(sub: Any, name: str, help_text: str) -> None:
    """Add ``affectlens monitor`` (called by :mod:`affectlens.cli`)."""
    p = sub.add_parser(name, help=help_text, description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--reference", required=True, metavar="REF",
                   help="reference window: raw texts or `affectlens score` output (JSONL/CSV/TSV/Parquet)")  # fmt: skip
    p.add_argument("--current", required=True, metavar="CUR", help="current window (same kinds of file)")
    p.add_argument("-o", "--output", default=None, metavar="report.html", help="write the Evidently HTML report")
    p.add_argument("--json", default=None, metavar="summary.json", help="write the JSON summary (also on stdout)")
    p.add_argument("--text-field", default="text", help="field or column with the text (default: text)")
    p.add_argument(
        "--embedding-sample", type=int, default=DEFAULT_EMBEDDING_SAMPLE,
        help=f"rows per window for the embedding check (default {DEFAULT_EMBEDDING_SAMPLE}; 0 = off)",
    )  # fmt: skip
    defaults = DriftThresholds()
    p.add_argument("--numeric-threshold", type=float, default=defaults.numeric,
                   help=f"normed Wasserstein distance that counts as drift (default {defaults.numeric})")  # fmt: skip
    p.add_argument("--categorical-threshold", type=float, default=defaults.categorical,
                   help=f"Jensen-Shannon distance that counts as drift (default {defaults.categorical})")  # fmt: skip
    p.add_argument("--embedding-threshold", type=float, default=defaults.embedding,
                   help=f"domain-classifier ROC AUC that counts as drift (default {defaults.embedding})")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="seed of the embedding samples")
    add_engine_arguments(p, explain=False)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = MonitorConfig(
        reference=args.reference,
        current=args.current,
        html_path=args.output,
        json_path=args.json,
        text_field=args.text_field,
        engine=EngineOptions.from_args(args),
        model_dir=args.model,
        embedding_sample=args.embedding_sample,
        thresholds=DriftThresholds(args.numeric_threshold, args.categorical_threshold, args.embedding_threshold),
        seed=args.seed,
    )
    summary = monitor(config)
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    drifted = [c["name"] for c in summary["checks"] if c["drifted"]]
    verdict = f"drift detected in {len(drifted)} checks: {', '.join(drifted)}" if drifted else "no drift detected"
    print(f"affectlens monitor: {verdict}", file=sys.stderr)
    return EXIT_DRIFT if summary["drift_detected"] else EXIT_NO_DRIFT
