"""Fit the calibrated ensemble (``calibration.json``) on held-out labelled rows.

The rows must be data that the fine-tune neither trained on nor selected checkpoints on: ``affectlens
train`` writes such a hash-based hold-out of every training set to ``OUTPUT_DIR/holdout.jsonl``. The
neural logits come from the exported ONNX model that is served (int8 on CPU), so calibration fits what
users get.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from affectlens import __version__
from affectlens.datasets import DatasetError, LabeledText, reddit_sentiment_rows
from affectlens.ensemble import IRONY_FEATURE, Calibration, EmotionCalibrator, fit_temperature, stacker_features
from affectlens.evidence import EVIDENCE_FEATURES, GATE_ONLY_FEATURES, NEGATION_GATES, evidence_names, view_blocks
from affectlens.labels import EMOTION_LABELS, EMOTION_SLICE, IRONY_INDEX, NUM_SENTIMENT
from affectlens.lexicons import LexiconConfig, LexiconPipeline
from affectlens.lexicons.features import FEATURE_NAMES, FEATURE_VERSION
from affectlens.neural import NeuralConfig, NeuralModel
from affectlens.stacker_choice import (
    STACKER_ALPHAS,
    STACKER_CLASS_WEIGHT_POWERS,
    STACKER_DOMAIN_WEIGHT_POWER,
    STACKER_EVIDENCE_ALPHA,
    STACKER_NEGATION_EVIDENCE_ALPHA,
    choose_stacker,
)
from affectlens.views import needed_views, view_logits

log = logging.getLogger("affectlens.calibrate")


def read_holdout(path: Path | str) -> list[LabeledText]:
    """Read ``holdout.jsonl`` rows written by ``affectlens train``."""
    rows = []
    with Path(path).open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                emotions = data.get("emotions")
                rows.append(
                    LabeledText(
                        text=data["text"],
                        sentiment=data.get("sentiment"),
                        polarity_only=bool(data.get("polarity_only", False)),
                        emotions=None if emotions is None else tuple(emotions),
                        source=data.get("source", ""),
                        irony=data.get("irony"),
                    )
                )
            except (json.JSONDecodeError, KeyError) as exc:
                raise DatasetError(f"{path}:{line_no}: not a hold-out row ({exc})") from exc
    return rows


def stacker_feature_names(has_irony: bool, evidence: bool = True) -> tuple[str, ...]:
    """The columns a new calibration is fitted on: the lexicon features (but those only the gates read), the irony
    logit (with the head) and, with ``evidence``, the gated decisive-evidence columns."""
    lexicon = tuple(n for n in FEATURE_NAMES if n not in GATE_ONLY_FEATURES)
    names = (*lexicon, IRONY_FEATURE) if has_irony else lexicon
    return (*names, *evidence_names(has_irony)) if evidence else names


# Generated kinds that count as one domain: the contrast recipe makes too few rows (~20 in a hold-out) for a
# domain of its own, and like the negation rows they are counterfactual polarity rewrites.
_DOMAIN_OF_KIND = {"negation": "augment:polarity", "contrast": "augment:polarity", "identity": "augment:identity"}


def calibration_domain(source: str) -> str:
    """The domain a hold-out row counts for in the stacker's cross-validation: its dataset, except that generated
    rows form a domain per kind ("augment:polarity" for negation and contrast rewrites, "augment:identity",
    "behaviour-fit"), weighed like the datasets, so the stacker is chosen where negation and contrast decide as
    well as on ordinary text."""
    parts = source.split(":")
    if parts[0] != "augment" or len(parts) < 2:
        return source
    return _DOMAIN_OF_KIND.get(parts[1], ":".join(parts[:2]))


def fit_calibration(
    rows: Sequence[LabeledText],
    neural: NeuralModel,
    lexicon: LexiconPipeline,
    *,
    class_weight_power: float | None = None,
    alpha: float | None = None,
    fallback: Calibration | None = None,
    evidence: bool = True,
    domain_weight_power: float = STACKER_DOMAIN_WEIGHT_POWER,
    evidence_alpha: float | None = STACKER_EVIDENCE_ALPHA,
    negation_evidence_alpha: float | None = STACKER_NEGATION_EVIDENCE_ALPHA,
) -> Calibration:
    """Fit temperature, sentiment stacker and emotion calibrator on ``rows``.

    ``alpha`` and ``class_weight_power`` left as None are chosen by 5-fold cross-validation on ``rows``
    (a given value is the only candidate; the CV score is still reported). ``fallback``: a calibration whose
    emotion calibrator (and irony temperature) is kept when ``rows`` have fewer than 50 emotion (irony) rows,
    e.g. sentiment-only rows of a user's domain (``affectlens adapt``). ``evidence``: fit the gated
    decisive-evidence columns (``affectlens.evidence``) too: in a second stage with the penalty ``evidence_alpha``
    (None: jointly with the other columns, one penalty for all), ``negation_evidence_alpha`` for the columns of
    ``evidence.NEGATION_GATES`` (None: ``evidence_alpha``).
    """
    sent_rows = [r for r in rows if r.sentiment is not None and not r.polarity_only]
    polarity_rows = [r for r in rows if r.sentiment is not None and r.polarity_only]  # scored in the CV only
    emo_rows = [r for r in rows if r.emotions is not None]
    keep_emotions = fallback is not None and len(emo_rows) < 50
    if len(sent_rows) < 50 or (len(emo_rows) < 50 and not keep_emotions):
        raise DatasetError(f"need at least 50 sentiment and 50 emotion rows, got {len(sent_rows)} and {len(emo_rows)}")
    names = stacker_feature_names(neural.has_irony, evidence)
    sent_texts = [r.text for r in sent_rows]
    sent_analyses = lexicon.analyze_batch(sent_texts)
    sent_all, sent_views = view_logits(neural, sent_texts, sent_analyses, needed_views(names), plain=True)
    sent_logits = sent_all[:, :NUM_SENTIMENT]
    raw_logits = sent_logits.copy()  # neural-only mode reads the text as written, not its plain form (views.py)
    rewritten = [i for i, a in enumerate(sent_analyses) if a.plain]
    if rewritten:
        raw_logits[rewritten] = neural.logits([sent_texts[i] for i in rewritten])[:, :NUM_SENTIMENT]
    features = stacker_features(sent_all, sent_analyses, names, sent_views)
    y = np.array([r.sentiment for r in sent_rows], dtype=int)
    emo_logits = neural.logits([r.text for r in emo_rows])[:, EMOTION_SLICE] if emo_rows else None
    polarity = None
    if polarity_rows:
        pol_texts = [r.text for r in polarity_rows]
        pol_analyses = lexicon.analyze_batch(pol_texts)
        pol_all, pol_views = view_logits(neural, pol_texts, pol_analyses, needed_views(names), plain=True)
        polarity = (
            pol_all[:, :NUM_SENTIMENT],
            stacker_features(pol_all, pol_analyses, names, pol_views),
            np.array([r.sentiment for r in polarity_rows], dtype=int),
        )
    emo_y = np.zeros((len(emo_rows), len(EMOTION_LABELS)), dtype=int)
    for i, r in enumerate(emo_rows):
        emo_y[i, list(r.emotions or ())] = 1
    negation_alphas = {  # read only by a two-stage stacker
        j: negation_evidence_alpha
        for j, name in enumerate(names)
        if negation_evidence_alpha is not None and name.split("*", 1)[0] in NEGATION_GATES
    }
    stacker, cv_table = choose_stacker(
        sent_logits,
        features,
        y,
        alphas=STACKER_ALPHAS if alpha is None else (alpha,),
        class_weight_powers=STACKER_CLASS_WEIGHT_POWERS if class_weight_power is None else (class_weight_power,),
        domains=[calibration_domain(r.source) for r in sent_rows],
        polarity_rows=polarity,
        domain_weight_power=domain_weight_power,
        evidence_columns=[j for j, name in enumerate(names) if name in EVIDENCE_FEATURES],
        evidence_alpha=evidence_alpha,
        view_blocks=view_blocks(names),
        evidence_column_alpha=negation_alphas,
    )
    info: dict[str, Any] = {
        "fitted_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "affectlens_version": __version__,
        "model": {"name": neural.card.name, "version": neural.card.version, "variant": neural.variant},
        "sentiment_rows": len(sent_rows),
        "polarity_rows_scored": len(polarity_rows),
        "emotion_rows": len(emo_rows),
        "sources": sorted({r.source for r in rows}),
        "stacker_choice": {
            "alpha": stacker.alpha,
            "class_weight_power": stacker.class_weight_power,
            "domain_weight_power": domain_weight_power,
            "evidence_alpha": stacker.evidence_alpha if stacker.evidence_columns else None,
            "negation_evidence_alpha": negation_evidence_alpha if stacker.evidence_alpha is not None else None,
        },
        # per candidate: domain-balanced CV score (macro metrics per 3-class source, polarity accuracy on
        # the polarity-only rows, averaged) and its standard error over the folds
        "stacker_cv": cv_table,
        "lexicon": {"use_nrc": lexicon.config.use_nrc, "use_parser": lexicon.config.use_parser},
    }
    irony_temperature = None
    irony_rows = [r for r in rows if r.irony is not None]
    if neural.has_irony and len(irony_rows) >= 50:
        z = neural.logits([r.text for r in irony_rows])[:, IRONY_INDEX]
        y_irony = np.array([r.irony for r in irony_rows], dtype=int)
        irony_temperature = fit_temperature(np.stack([np.zeros_like(z), z], axis=1), y_irony)
        info["irony_rows"] = len(irony_rows)
    elif neural.has_irony and fallback is not None and fallback.irony_temperature is not None:
        irony_temperature = fallback.irony_temperature
        info["irony_calibration"] = "kept from the fallback calibration"
    elif neural.has_irony:
        log.warning("only %d irony rows in the hold-out: irony probabilities stay uncalibrated", len(irony_rows))
    if keep_emotions:
        assert fallback is not None
        emotions = fallback.emotions
        info["emotion_calibration"] = "kept from the fallback calibration"
    else:
        assert emo_logits is not None
        emotions = EmotionCalibrator().fit(emo_logits, emo_y)
    return Calibration(
        feature_version=FEATURE_VERSION,
        feature_names=names,
        neural_temperature=fit_temperature(raw_logits, y),
        stacker=stacker,
        emotions=emotions,
        info=info,
        irony_temperature=irony_temperature,
        plain_input=True,  # view_logits(plain=True): the texts in their plain form
    )


def rebuilt_holdout(data_dir: str) -> list[LabeledText]:
    """The hold-out rows of the shipped recipe (``make model``: irony, augmentation, behaviour fit half; the same
    hash split ``affectlens train`` writes), rebuilt from the training splits, e.g. to recalibrate a shipped model
    whose training run is gone."""
    from affectlens.export.train import TrainConfig
    from affectlens.export.training_data import load_training_data

    recipe = TrainConfig(data_dir=data_dir, output_dir="", irony=True, augment=True, behaviour_fit=True)
    _, holdout, _ = load_training_data(recipe)
    return holdout


def run(args: argparse.Namespace) -> int:
    model_dir = Path(args.model)
    neural = NeuralModel(model_dir, NeuralConfig(provider="cpu"))
    lexicon = LexiconPipeline(LexiconConfig(use_nrc=not args.no_nrc))
    if args.holdout is None and args.data_dir is None:
        raise DatasetError("give the hold-out rows: --holdout FILE (written by `affectlens train`) or --data-dir DIR")
    rows = read_holdout(args.holdout) if args.holdout else rebuilt_holdout(args.data_dir)
    if args.reddit_sentiment:  # the GoEmotions rows' sentiment: Reddit text (and its emoji) as a domain
        if args.data_dir is None:
            raise DatasetError("--reddit-sentiment reads GoEmotions' sentiment mapping: give --data-dir DIR too")
        rows = [*rows, *reddit_sentiment_rows(rows, args.data_dir)]
    calibration = fit_calibration(
        rows,
        neural,
        lexicon,
        class_weight_power=args.class_weight_power,
        alpha=args.alpha,
        evidence=not args.no_evidence,
        domain_weight_power=args.domain_weight_power,
        evidence_alpha=None if args.evidence_alpha < 0 else args.evidence_alpha,
        negation_evidence_alpha=None if args.negation_evidence_alpha < 0 else args.negation_evidence_alpha,
    )
    path = calibration.save(model_dir)
    print(json.dumps({"written": str(path), **calibration.info}, indent=2))
    return 0


def register_command(sub: Any, name: str, help_text: str) -> None:
    p = sub.add_parser(name, help=help_text)
    p.add_argument("--model", required=True, help="model folder (calibration.json is written there)")
    p.add_argument("--holdout", default=None, help="held-out rows, e.g. runs/finetune/holdout.jsonl")
    p.add_argument(
        "--data-dir",
        default=None,
        help="instead of --holdout: rebuild the default recipe's hash-based hold-out from these training splits "
        "(with --holdout and --reddit-sentiment: where GoEmotions' sentiment mapping is read)",
    )
    p.add_argument(
        "--reddit-sentiment",
        action="store_true",
        help="also fit on the hold-out's GoEmotions comments as Reddit sentiment rows (goemotions-sentiment, "
        "derived from their emotions): for Reddit-like text; the shipped model does not (README, Accuracy)",
    )
    p.add_argument(
        "--class-weight-power",
        type=float,
        default=None,
        help="0 = data prior, 1 = balanced classes (default: chosen by cross-validation on the hold-out)",
    )
    p.add_argument(
        "--alpha",
        type=float,
        default=None,
        help="L2 penalty on the lexicon weights (default: chosen by cross-validation on the hold-out)",
    )
    p.add_argument(
        "--domain-weight-power",
        type=float,
        default=STACKER_DOMAIN_WEIGHT_POWER,
        help="how the stacker's fit weighs the hold-out's domains: 1 = each domain alike, 0 = each row alike",
    )
    p.add_argument(
        "--evidence-alpha",
        type=float,
        default=STACKER_EVIDENCE_ALPHA,
        help="L2 penalty of the stacker's second stage, on the gated evidence features only (-1: one stage, "
        "the evidence fitted jointly with the other features under --alpha)",
    )
    p.add_argument(
        "--negation-evidence-alpha",
        type=float,
        default=STACKER_NEGATION_EVIDENCE_ALPHA,
        help="the second stage's penalty on the negation gates' columns (full/elliptic negation, affirmed, idiom; "
        "-1: --evidence-alpha for them too)",
    )
    p.add_argument("--no-nrc", action="store_true", help="fit without the NRC lexicon (licence)")
    p.add_argument(
        "--no-evidence",
        action="store_true",
        help="fit without the gated decisive-evidence features (affectlens.evidence): the plain linear stacker",
    )
    p.set_defaults(func=run)
