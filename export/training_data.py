"""What a fine-tune trains on: the dataset mix, the hash-based hold-out, and the optional extra rows.

``load_training_data(cfg)`` returns (train rows, hold-out rows, validation sets). The hold-out (a hash of the text
decides, so duplicates land on one side) is never trained on: the calibrated ensemble is fitted on it. Extra
rows, each switched on by the training config:

* ``irony``: TweetEval irony train (its own head; hold-out split like every other set);
* ``augment``: counterfactual negation and contrast rows made from the training rows (``export/augment.py``),
  plus identity-term swaps for fairness; the same recipe applied to the hold-out rows goes into the hold-out as
  a domain of its own (``source="augment:..."``), so the ensemble is fitted where negation decides;
* ``surface_variants``: copies of the training rows with a handle added or removed, a typo, another city
  (``export/augment.surface_variants``), labels kept; training only (the hold-out measures the network as it
  meets text);
* ``behaviour_fit``: the *fit* half of our behavioural suite (``affectlens.behaviour``), single-label cases
  only; a third of its templates are held out whole for the ensemble, filled with the suite's calibration
  vocabulary; its *check* half is never trained on;
* ``oversample``: dataset name -> copies of its training rows (after augmentation, so augmented rows are not
  repeated), for a small domain (Financial PhraseBank, TweetEval irony) that the mix drowns out.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from affectlens.datasets import IRONY_DATASET, SENTIMENT_NAMES, LabeledText, load_named, split_holdout

# (name, train split, validation split, max rows used for training (None = all))
DEFAULT_MIX: tuple[tuple[str, str, str, int | None], ...] = (
    ("tweeteval-sentiment", "train", "val", None),
    ("goemotions", "train", "dev", None),
    ("sst2", "train", "validation", 20000),
    ("financial-phrasebank", "train", "validation", None),
)
IRONY_SPLITS = ("train", "val")
BEHAVIOUR_SOURCE = "behaviour-fit"


def _mix_rows(cfg: Any, name: str, split: str, rng: random.Random) -> list[LabeledText]:
    rows = load_named(name, cfg.data_dir, split)
    if name == "sst2":
        rows = [r for r in rows if len(r.text.split()) >= cfg.min_words_polarity]
        rng.shuffle(rows)
        rows = rows[: cfg.sst2_max_rows]
    return rows


BEHAVIOUR_HOLDOUT_EVERY = 3  # every third fit template of a test (index 2, 5, ...) is held out whole


def _single_label(expected: frozenset[str] | None, two_label: bool) -> str | None:
    """A case's one label: its gold label; with ``two_label``, "neutral" for {positive, neutral} (a negated
    negative, "not bad": the augmenter's convention, ``export/augment.negated_label``); else None."""
    if expected is None:
        return None
    if len(expected) == 1:
        return next(iter(expected))
    return "neutral" if two_label and expected == {"positive", "neutral"} else None


def behaviour_rows(seed: int) -> tuple[list[LabeledText], list[LabeledText]]:
    """Cases of the behavioural suite's fit half as sentiment rows (deduplicated): (training rows,
    hold-out rows). Every ``BEHAVIOUR_HOLDOUT_EVERY``-th template of a test is held out whole and filled with the
    suite's *calibration* vocabulary (words neither half uses); the others, filled with the fit vocabulary, are
    trained on. A text-level hold-out would show the ensemble a network that has learnt each template's wording
    and words from a few fillings and is right on every one: the stacker would learn to ignore the lexicon exactly
    where the network meets phrasing and words it has not seen, as in the check half and in anyone's data. The
    suite's calibration templates (``affectlens.behaviour.templates_calibration``: shapes no network weights have
    seen, as the shipped weights saw all fit templates) are all held out. The hold-out also takes the two-label
    cases ({positive, neutral}: negated negatives) as neutral, so the ensemble sees where a network reads "not
    bad" as negative; training takes single-label cases only."""
    from affectlens.behaviour import generate
    from affectlens.behaviour.vocab import CALIBRATION_SET

    def held(template: str) -> bool:
        _, half, index = template.split("/")
        return half == CALIBRATION_SET or int(index) % BEHAVIOUR_HOLDOUT_EVERY == BEHAVIOUR_HOLDOUT_EVERY - 1

    def rows(cases: list[Any], keep: bool) -> list[LabeledText]:
        seen: set[str] = set()
        out = []
        for case in cases:
            label = _single_label(case.expected, two_label=keep)
            if label is None or case.text in seen or held(case.template) != keep:
                continue
            seen.add(case.text)
            out.append(LabeledText(case.text, sentiment=SENTIMENT_NAMES[label], source=BEHAVIOUR_SOURCE))
        return out

    train = rows(generate(half="fit", seed=seed), keep=False)
    holdout = rows(generate(half="fit", seed=seed, vocabulary=CALIBRATION_SET), keep=True)
    holdout += rows(generate(half=CALIBRATION_SET, seed=seed), keep=True)  # the calibration templates, all held
    return train, holdout


def augmented_rows(rows: Sequence[LabeledText], cfg: Any, nlp: Any) -> list[LabeledText]:
    """Negation, contrast and identity-swap rows made from ``rows`` (the originals not included)."""
    from affectlens.export.augment import AugmentConfig, augment, identity_swaps

    config = AugmentConfig(
        negation_share=cfg.augment_negation_share, contrast_share=cfg.augment_contrast_share, seed=cfg.seed
    )
    return augment(rows, nlp, config) + identity_swaps(rows, config)


def load_training_data(cfg: Any) -> tuple[list[LabeledText], list[LabeledText], dict[str, list[LabeledText]]]:
    """Return (train rows, held-out calibration rows, validation sets by name) for a ``TrainConfig``."""
    train: list[LabeledText] = []
    holdout: list[LabeledText] = []
    validation: dict[str, list[LabeledText]] = {}
    rng = random.Random(cfg.seed)
    sets = [m for m in DEFAULT_MIX if m[0] in cfg.datasets]
    if getattr(cfg, "irony", False):
        sets.append((IRONY_DATASET, *IRONY_SPLITS, None))
    repeated: list[LabeledText] = []  # oversampled copies, added after augmentation (which sees each row once)
    for name, train_split, val_split, _ in sets:
        fit, held = split_holdout(_mix_rows(cfg, name, train_split, rng), cfg.holdout_percent)
        train += fit
        repeated += fit * (dict(getattr(cfg, "oversample", {})).get(name, 1) - 1)
        holdout += held
        val = load_named(name, cfg.data_dir, val_split)
        validation[name] = val[: cfg.eval_max_rows] if cfg.eval_max_rows else val
    if getattr(cfg, "behaviour_fit", False):
        fit, held = behaviour_rows(cfg.seed)
        train += fit
        holdout += held
    variants: list[LabeledText] = []
    if getattr(cfg, "surface_variants", False):
        from affectlens.export.augment import AugmentConfig, surface_variants

        variants = surface_variants(train, AugmentConfig(seed=cfg.seed))
    if getattr(cfg, "augment", False):
        from affectlens.export.augment import load_parser

        nlp = load_parser()
        train += augmented_rows(train, cfg, nlp)
        holdout += augmented_rows(holdout, cfg, nlp)
    return train + variants + repeated, holdout, validation
