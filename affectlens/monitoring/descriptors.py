"""Text descriptors for drift checks: numbers per text that move when the traffic changes (pure, no model).

Each descriptor is cheap, defined on the lexicon's tokens (:func:`affectlens.lexicons.tokenize.tokenize`: words,
punctuation, emoji) and bounded or countable, so a reference and a current window compare directly:

* ``chars``, ``words``: length in characters and in word tokens;
* ``emoji_share``: emoji among all tokens;
* ``unknown_token_share``: word pieces the network's tokenizer maps to ``[UNK]`` (in the network's input form,
  e.g. emoji as words) among all its pieces: a new script or alphabet shows here first;
* ``negation_cue_rate``: negation cues (``not``, ``never``, ``n't`` ...) per word;
* ``lexicon_coverage``: words found in VADER's or NRC's lexicon, per word (a new jargon lowers it);
* ``ascii_letter_share``: ASCII letters among all letters (1 when the text has none): a language-ish signal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import numpy as np

from affectlens.lexicons.base import EMOJI, WORD
from affectlens.lexicons.negation_cues import fold, is_cue
from affectlens.lexicons.nrc import load_nrc_lexicon
from affectlens.lexicons.tokenize import tokenize
from affectlens.lexicons.vader import load_vader_lexicon

__all__ = ["DESCRIPTORS", "describe_texts"]

DESCRIPTORS: tuple[str, ...] = (
    "chars",
    "words",
    "emoji_share",
    "unknown_token_share",
    "negation_cue_rate",
    "lexicon_coverage",
    "ascii_letter_share",
)


@cache
def _lexicon_words() -> frozenset[str]:
    return frozenset(load_vader_lexicon()) | frozenset(load_nrc_lexicon())


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _token_descriptors(text: str, known: frozenset[str]) -> tuple[float, float, float, float, float, float]:
    tokens = tokenize(text)
    words = [t for t in tokens if t.kind == WORD]
    emoji = sum(t.kind == EMOJI for t in tokens)
    cues = sum(is_cue(fold(t.lower)) for t in words)
    covered = sum(t.lower.strip("'") in known for t in words)
    letters = [c for c in text if c.isalpha()]
    ascii_letters = sum(c.isascii() for c in letters)
    return (
        float(len(text)),
        float(len(words)),
        _share(emoji, len(tokens)),
        _share(cues, len(words)),
        _share(covered, len(words)),
        _share(ascii_letters, len(letters)) if letters else 1.0,
    )


def describe_texts(
    texts: Sequence[str], unknown_share: Callable[[Sequence[str]], np.ndarray] | None = None
) -> dict[str, np.ndarray]:
    """Descriptor name -> one float per text. ``unknown_share(texts)``: the network's ``[UNK]`` share per text
    (:func:`unknown_share_of`); without it that descriptor is left out."""
    known = _lexicon_words()
    rows = np.array([_token_descriptors(t, known) for t in texts], dtype=float).reshape(len(texts), 6)
    out = {
        "chars": rows[:, 0],
        "words": rows[:, 1],
        "emoji_share": rows[:, 2],
        "negation_cue_rate": rows[:, 3],
        "lexicon_coverage": rows[:, 4],
        "ascii_letter_share": rows[:, 5],
    }
    if unknown_share is not None:
        out["unknown_token_share"] = np.asarray(unknown_share(texts), dtype=float)
    return {name: out[name] for name in DESCRIPTORS if name in out}


def unknown_share_of(neural: Any) -> Callable[[Sequence[str]], np.ndarray]:
    """The ``[UNK]`` share per text as the network's tokenizer sees it (special tokens excluded)."""
    tokenizer = neural.tokenizer
    unk = tokenizer.token_to_id("[UNK]")
    special = {tokenizer.token_to_id(t) for t in ("[CLS]", "[SEP]", "[PAD]")} - {None}

    def share(texts: Sequence[str]) -> np.ndarray:
        out = np.zeros(len(texts))
        for i, encoding in enumerate(neural.encode(texts)):
            pieces = [p for p in encoding.ids if p not in special]
            out[i] = _share(sum(p == unk for p in pieces), len(pieces))
        return out

    return share
