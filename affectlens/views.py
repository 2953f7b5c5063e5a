"""Other readings of a text that the network gives in the same pass: the clause that decides, the affirmed text.

A small network reads words well and structure badly. The lexicon knows the structure, but only the words VADER
lists. Each *view* is a text the lexicon derives from the input, for the network to read on its own; the stacker
weighs the network's logits on it through a gate of the same name (``affectlens.evidence``):

* ``focus``: the clause that decides (``LexiconAnalysis.focus``: after a contrastive "but", a concessive clause,
  "used to ... now", the writer's own view after others'; the claim a "yes" answers: "Was it clean? Very."; or the
  situation a frame of praise frames: "Great, just great: the ferry left without us.", ``lexicons/sarcasm.py``).
  "I once enjoyed the tablet; nowadays I despise it" reads positive as a whole; "nowadays I despise it" reads
  negative.
* ``affirmed``: what the text denies: its active negation cues in affirmative form, or the claim a "no" answers
  (``LexiconAnalysis.affirmed``: ``lexicons/rephrase.py``). "I cannot honestly say that I enjoyed the gallery"
  reads positive as a whole; its counterpart "I can honestly say that I enjoyed the gallery" reads positive too,
  which is what the text denies.

The text itself the network reads in its *plain* form (``plain=True``; calibrations fitted since lexicon features
version 6): with its non-negating idioms in plain words (``LexiconAnalysis.plain``). "The camera is not just great;
it is fabulous" reads negative (the network sees "not"); "The camera is great; it is fabulous" means the same and
reads positive.

Batch is the only path: ``with_views`` appends the views to the batch of texts, the caller runs the network once
on all of them, and ``split_views`` separates the logits again. Only texts with a turn or a negation add rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from affectlens.evidence import GATE_VIEWS
from affectlens.labels import NUM_SENTIMENT

VIEWS: tuple[str, ...] = ("focus", "affirmed")


def view_text(view: str, analysis: Any) -> str | None:
    """The view's text for one input, from its lexicon analysis (the field of the view's name); None: it has none."""
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}: use one of {', '.join(VIEWS)}")
    return getattr(analysis, view) or None


def needed_views(feature_names: Sequence[str]) -> tuple[str, ...]:
    """The views a calibration's columns read (older calibrations: none, so no extra rows)."""
    read = {GATE_VIEWS.get(name.split("*", 1)[0]) for name in feature_names if "*" in name}
    return tuple(view for view in VIEWS if view in read)


def with_views(
    texts: Sequence[str], analyses: Sequence[Any], views: Sequence[str], plain: bool = False
) -> tuple[list[str], dict[str, list[int]]]:
    """The batch for one network pass (``texts``, in their plain form with ``plain``, then each view's texts) and,
    per view, the rows they belong to."""
    batch = [(a.plain or t) if plain else t for t, a in zip(texts, analyses, strict=True)]
    rows: dict[str, list[int]] = {}
    for view in views:
        rows[view] = []
        for i, analysis in enumerate(analyses):
            derived = view_text(view, analysis)
            if derived is not None:
                rows[view].append(i)
                batch.append(derived)
    return batch, rows


def split_views(
    logits: np.ndarray, n: int, rows: Mapping[str, Sequence[int]]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``(logits of the n texts, per view its sentiment logits (n, 3) with NaN rows where a text has none)``."""
    out: dict[str, np.ndarray] = {}
    at = n
    for view, view_rows in rows.items():
        values = np.full((n, NUM_SENTIMENT), np.nan)
        if view_rows:
            values[list(view_rows)] = logits[at : at + len(view_rows), :NUM_SENTIMENT]
        out[view] = values
        at += len(view_rows)
    return logits[:n], out


def view_logits(
    neural: Any, texts: Sequence[str], analyses: Sequence[Any], views: Sequence[str], plain: bool
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``(logits, view logits)`` of ``texts`` from one ``neural.logits`` pass, as ``with_views`` builds it
    (calibration)."""
    batch, rows = with_views(texts, analyses, views, plain)
    return split_views(neural.logits(batch), len(texts), rows)
