"""``affectlens behaviour``: run the behavioural suite on the shipped model or yours (``--model DIR``).

Writes ``behaviour.json`` (failure rates, a few failing examples per test and system) and ``behaviour.md``
(the tables) into the output folder, and prints the tables.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from affectlens.behaviour.runner import SYSTEMS, build_systems, markdown, run_behaviour
from affectlens.behaviour.suite import DEFAULT_LIMIT
from affectlens.behaviour.vocab import TEMPLATE_SETS
from affectlens.errors import ConfigError


def _engine_config(args: argparse.Namespace) -> Any:
    from affectlens.engine import EngineConfig
    from affectlens.lexicons import LexiconConfig
    from affectlens.neural import NeuralConfig

    return EngineConfig(
        model_dir=args.model,
        lexicon=LexiconConfig(use_nrc=not args.no_nrc, use_parser=not args.no_parser),
        neural=NeuralConfig(provider=args.provider, intra_op_threads=args.threads),
    )


def run(args: argparse.Namespace) -> int:
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    if not systems:
        raise ConfigError(f"--systems is empty: give a comma-separated list of {', '.join(SYSTEMS)}")
    if args.limit_per_test < 1:
        raise ConfigError("--limit-per-test must be at least 1")
    halves = ["check", "fit"] if args.half == "both" else [args.half]
    built = build_systems(systems, _engine_config(args))
    engines = [s for s in built.values() if hasattr(s, "model_info") and getattr(s, "neural", None) is not None]
    model = f"{engines[0].model_info.name} {engines[0].model_info.version}" if engines else None
    report = run_behaviour(built, halves, seed=args.seed, limit_per_test=args.limit_per_test, model=model)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "behaviour.json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    text = markdown(report)
    (out / "behaviour.md").write_text(text, encoding="utf-8")
    print(text)
    print(f"written to {out}/ (behaviour.json, behaviour.md) in {report['seconds']} s")
    return 0


def register_command(sub: Any, name: str, help_text: str) -> None:
    """Add ``affectlens behaviour`` (called by :mod:`affectlens.cli`)."""
    p = sub.add_parser(name, help=help_text, description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--model", default=None, help="model folder (default: the shipped default model)")
    p.add_argument(
        "--half",
        choices=[*TEMPLATE_SETS, "both"],
        default="check",
        help="which half (only check is claimed; calibration = the fit half's templates the ensemble is fitted on)",
    )
    p.add_argument(
        "--systems",
        default=",".join(SYSTEMS),
        help=f"comma-separated, from {', '.join(SYSTEMS)} (vader = stock VADER with its ±0.05 rule)",
    )
    p.add_argument("-o", "--output", default="reports/behaviour", help="folder for behaviour.json and behaviour.md")
    p.add_argument(
        "--limit-per-test", type=int, default=DEFAULT_LIMIT, help="cases (MFT) or groups (INV, DIR) per test"
    )
    p.add_argument("--seed", type=int, default=0, help="which fillings of the templates (deterministic)")
    p.add_argument("--provider", default="auto", choices=["auto", "cpu", "cuda"], help="ONNX Runtime provider")
    p.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0 = all cores)")
    p.add_argument("--no-nrc", action="store_true", help="disable the NRC emotion lexicon (licence)")
    p.add_argument("--no-parser", action="store_true", help="negation scope by window rule, not spaCy")
    p.set_defaults(func=run)
