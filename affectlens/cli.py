"""``affectlens`` command line: each sub-command is a thin shell over a plain function.

Sub-commands whose options belong to one module register themselves through that module's
``add_arguments(parser)`` / ``run(args)`` pair (batch scoring, serving), so the option list lives next to the
code that reads it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from affectlens import __version__
from affectlens.config import add_engine_arguments, engine_config_from_args
from affectlens.errors import AffectlensError
from affectlens.input_forms import INPUT_FORMS

log = logging.getLogger("affectlens.cli")

__all__ = ["add_engine_arguments", "build_engine", "build_parser", "engine_config_from_args", "main"]


def build_engine(args: argparse.Namespace) -> Any:
    from affectlens.engine import Engine

    return Engine(engine_config_from_args(args))


def cmd_analyze(args: argparse.Namespace) -> int:
    """Score the texts given on the command line; one JSON object per text per line.

    ``-`` reads one text per line from stdin and writes exactly one line per input line (a blank line gets an
    ``empty_text`` error line), so outputs line up with inputs; stdin is scored in batches as it arrives.
    """
    from affectlens.api import Analyzer

    analyzer = Analyzer(build_engine(args))
    explain = args.explain or bool(args.html)
    source: Iterable[str] = (line.rstrip("\r\n") for line in sys.stdin) if args.texts == ["-"] else args.texts
    pending: deque[str] = deque()

    def recorded() -> Iterator[str]:
        for text in source:
            pending.append(text)
            yield text

    failed = 0
    kept: list[tuple[str, Any]] = []
    for result in analyzer.pipe(recorded(), explain=explain):
        text = pending.popleft()
        failed += "error" in (payload := result.to_dict())
        print(json.dumps(payload, ensure_ascii=False), flush=args.texts == ["-"])
        if args.html:
            kept.append((text, result))
    if args.html:
        from affectlens.explain_html import write_html

        print(f"affectlens: wrote {write_html(kept, args.html)}", file=sys.stderr)
    return 1 if failed else 0


def cmd_train(args: argparse.Namespace) -> int:
    from affectlens.export.train import TrainConfig, train

    summary = train(
        TrainConfig(
            data_dir=args.data_dir,
            output_dir=args.output_dir,
            base_model=args.base_model or "",
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            warmup_ratio=args.warmup_ratio,
            emotion_loss_weight=args.emotion_loss_weight,
            eval_every=args.eval_every,
            max_steps=args.max_steps,
            seed=args.seed,
            threads=args.threads,
            mlflow=not args.no_mlflow,
            resume=args.resume,
            irony=args.irony,
            input_form=args.input_form,
            augment=args.augment,
            behaviour_fit=args.behaviour_fit,
            surface_variants=args.surface_variants,
            oversample=dict(args.oversample),
            irony_loss_weight=args.irony_loss_weight,
        )
    )
    print(json.dumps({"best": summary["best"], "seconds": round(summary["seconds"], 1)}, indent=2))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from affectlens.export.onnx_export import ExportConfig, export_model

    precision: dict[str, Any] = {}  # only what was given: ExportConfig holds the defaults
    if args.smooth_alpha is not None:
        precision["smooth_alpha"] = args.smooth_alpha or None
    if args.fp32_ffn_down_layers is not None:
        precision["fp32_ffn_down_layers"] = tuple(int(x) for x in args.fp32_ffn_down_layers.split(",") if x.strip())
    report = export_model(
        ExportConfig(
            checkpoint=args.checkpoint,
            output_dir=args.output_dir,
            name=args.name,
            version=args.version,
            fp16=not args.no_fp16 and args.only != "int8",
            int8=args.only != "fp16",
            calibration_from=args.calibration_from,
            reference_dir=args.reference,
            fuse=not args.no_fuse,
            calibration_file=args.calibration_file,
            keep_fp32=args.keep_fp32,
            data_dir=args.data_dir,
            **precision,
        )
    )
    print(json.dumps(report, indent=2))
    return 0


def _add_train(sub: Any) -> None:
    p = sub.add_parser("train", help="fine-tune the multi-task model (needs the train extra)")
    p.add_argument("--data-dir", required=True, help="folder with the datasets (e.g. ../shared/data)")
    p.add_argument("--output-dir", required=True, help="where checkpoints, MLflow runs and summaries go")
    p.add_argument("--base-model", default=None, help="HF model id or path (default: all-MiniLM-L6-v2)")
    p.add_argument("--epochs", type=float, default=1.6)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=8e-5)
    p.add_argument("--warmup-ratio", type=float, default=0.06, help="share of steps with a rising learning rate")
    p.add_argument(
        "--emotion-loss-weight", type=float, default=0.3, help="weight of the emotion loss against the sentiment loss"
    )
    p.add_argument("--eval-every", type=int, default=800, help="validate and checkpoint every N steps")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0 = no limit)")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--no-mlflow", action="store_true")
    p.add_argument(
        "--resume", action="store_true", help="continue an interrupted run from OUTPUT_DIR/resume/ (same options, data)"
    )
    p.add_argument("--irony", action="store_true", help="add an irony head trained on TweetEval irony")
    p.add_argument(
        "--input-form", default=None, choices=list(INPUT_FORMS), help="text form the network reads (emoji as words)"
    )
    p.add_argument(
        "--augment", action="store_true", help="counterfactual negation/contrast rows and identity-term swaps"
    )
    p.add_argument("--behaviour-fit", action="store_true", help="train on the fit half of the behavioural suite too")
    p.add_argument(
        "--surface-variants", action="store_true", help="label-keeping copies with a handle, a typo, another city"
    )
    p.add_argument(
        "--oversample",
        type=_dataset_copies,
        action="append",
        default=[],
        metavar="DATASET=COPIES",
        help="repeat a dataset's training rows, e.g. financial-phrasebank=3 (repeatable)",
    )
    p.add_argument("--irony-loss-weight", type=float, default=0.5, help="weight of the irony loss (with --irony)")
    p.set_defaults(func=cmd_train)


def _dataset_copies(value: str) -> tuple[str, int]:
    name, sep, copies = value.partition("=")
    if not sep or not copies.strip().isdigit() or int(copies) < 1:
        raise argparse.ArgumentTypeError(f"expected DATASET=COPIES with COPIES >= 1, got {value!r}")
    return name.strip(), int(copies)


def _add_export(sub: Any) -> None:
    p = sub.add_parser("export", help="export a checkpoint to ONNX (fp32 check, int8, fp16) (train extra)")
    p.add_argument("checkpoint", help="fine-tuned checkpoint folder (e.g. runs/finetune/best)")
    p.add_argument("-o", "--output-dir", required=True, help="model folder to write")
    p.add_argument("--name", default="affectlens-minilm")
    p.add_argument("--version", default=__version__)
    graphs = p.add_mutually_exclusive_group()
    graphs.add_argument("--no-fp16", action="store_true", help="skip the fp16 (GPU) graph")
    graphs.add_argument(
        "--only", choices=["int8", "fp16"], default=None, help="build one graph only (fp16: a GPU folder, no int8)"
    )
    p.add_argument(
        "--calibration-from",
        default=None,
        help="copy calibration.json from this model folder (e.g. affectlens/default_model for an fp16 rebuild)",
    )
    p.add_argument(
        "--no-fuse", action="store_true", help="quantize the plain graph, without ONNX Runtime's transformer fusions"
    )
    p.add_argument(
        "--smooth-alpha", type=float, default=None, help="SmoothQuant on feed-forward inputs (0 = off; default 0.9)"
    )
    p.add_argument(
        "--fp32-ffn-down-layers",
        default=None,
        help="layers whose feed-forward down-projection stays fp32 ('' = none; default 0,1,2,3)",
    )
    p.add_argument(
        "--calibration-file",
        default=None,
        help="texts for activation ranges: JSONL with 'text' or one per line (default: holdout.jsonl beside the "
        "checkpoint folder)",
    )
    p.add_argument(
        "--reference", default=None, help="with --data-dir: agreement of the new int8 graph with this model folder"
    )
    p.add_argument("--keep-fp32", action="store_true", help="keep the fp32 graph (~90 MB)")
    p.add_argument("--data-dir", default=None, help="also check int8 vs fp32 on the validation splits here")
    p.set_defaults(func=cmd_export)


def _optional_commands() -> list[tuple[str, str, str]]:
    """(module, command name, help) for sub-commands that register their own options."""
    return [
        ("affectlens.batch", "score", "score a JSONL/CSV/Parquet file (one prediction per line, with ids)"),
        ("affectlens.evaluation.report", "evaluate", "evaluate on labelled data and write a report folder"),
        ("affectlens.calibrate", "calibrate", "fit the calibrated ensemble on held-out data"),
        ("affectlens.behaviour.cli", "behaviour", "run the behavioural test suite (MFT/INV/DIR) on a model"),
        ("affectlens.domain.adapt", "adapt", "fine-tune the shipped model on your labelled data (train extra)"),
        ("affectlens.domain.select", "select", "pick the texts to annotate next (active learning; Label Studio)"),
        ("affectlens.domain.audit", "audit-labels", "rank likely label errors in a labelled file (cleanlab)"),
        ("affectlens.domain.compare", "compare", "compare two models on labelled data (paired bootstrap)"),
        ("affectlens.monitoring.cli", "monitor", "drift of current traffic against a reference window (Evidently)"),
        ("affectlens.serving", "serve", "start TorchServe with the model and wait until it is READY"),
        ("affectlens.serving", "stop", "stop the TorchServe started by `affectlens serve`"),
        ("affectlens.serving", "token", "print the current inference token"),
        ("affectlens.serving", "archive", "build the TorchServe model archive into model_store/"),
    ]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="affectlens", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"affectlens {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more (INFO) to stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("analyze", help="score texts given as arguments (one JSON line per text)")
    p.add_argument("texts", nargs="+", metavar="TEXT", help="texts to score ('-' reads one text per line from stdin)")
    add_engine_arguments(p)
    p.add_argument(
        "--html", metavar="OUT.html", default=None, help="also write the HTML explanation view (implies --explain)"
    )
    p.set_defaults(func=cmd_analyze)
    _add_train(sub)
    _add_export(sub)
    import importlib

    for module_name, name, help_text in _optional_commands():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        register: Callable[[Any, str, str], None] | None = getattr(module, "register_command", None)
        if register is not None:
            register(sub, name, help_text)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.func(args))
    except AffectlensError as exc:
        print(f"affectlens: error [{exc.code}]: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
