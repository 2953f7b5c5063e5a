"""VADER valence with per-token contributions after its rules.

A re-implementation of ``vaderSentiment`` 3.3.2's ``polarity_scores`` that keeps each token's
valence: lexicon value, ALL-CAPS emphasis, boosters/dampeners in the 3 preceding tokens, the
"never so/this" and special-idiom rules, the "least" rule, then the contrastive "but" weighting.
Constants, booster and idiom tables are imported from ``vaderSentiment``, the lexicon is read from
its ``vader_lexicon.txt``. On text without emoji, derived words (``unhelpful``), negation cues (VADER's
``despite`` included), turns other than "but", answers to questions and equal valences around "but", tokens,
per-token valences and scores equal stock VADER's (tested against its own methods to 1e-9, on 46 sentences and a
property test; of the 3,435 TweetEval/SST-2 validation texts without emoji or cues, 16 differ (lexicon version 4):
idioms such as "no matter" and "nothing but", and turns such as "whereas" or "however"). Scores are not rounded
(stock rounds to 3/4 decimals).

Deliberate differences from stock VADER:

1. Negation: VADER's look-back (a negator among the 3 preceding tokens, and its "no" rules)
   is replaced by the scope from ``negation.py``: a token scoped by ``depth`` cues gets
   ``valence * N_SCALAR ** depth``. VADER's rule that "no" before a lexicon word scores 0 is kept.
2. "but" bug: stock finds each sentiment's position with ``sentiments.index(value)``, so equal
   values are confused (``[x, but, x/2]`` halves ``x`` twice and leaves ``x/2`` unweighted). We use
   positions: tokens before the first "but" * 0.5, after it * 1.5 (document level, as in VADER). The "but"
   of ``anything but``/``nothing but`` is no contrast and is skipped. Other turns weigh the same way
   (``contrast.py``: an opening concessive clause, "yet"/"however"/"whereas", "used to ... now ..."); on text
   with one of those, scores differ from stock VADER's. The polar phrase negated by an elliptic
   negation (``I expected it to be awful, but it wasn't``: "awful") is weighted where its cue stands, so
   the contrast makes the elliptic clause decisive.
3. Emoji: stock replaces each emoji *code point* by its description words, so emoji with U+FE0F
   or skin tones never match and many common ones get 0 or the wrong sign. Emoji tokens here take
   their valence from ``emoji.py`` as one sentiment item (then "but"-weighted like a word); their
   description words are never scored, so nothing is counted twice.
4. Whose opinion counts (``opinion.py``): in a text with a first-person opinion, clauses reporting others' views
   ("the critics called it awful; I thought ...") weigh ``REPORTED_WEIGHT``.
5. Tokens neutralized by a negation idiom ("doubt" in "no doubt"), answering a question ("Yes, very.", the
   "Definitely" of "Definitely not."; ``negation_elliptic.answer_words``), naming a protected attribute ("a blind
   nurse", ``identity_terms.py``) or inside an insert after a negation cue ("was not, as I feared, rude":
   ``negation_window.insert_scope``) score 0, and so does "no" when it
   negates something (``No one likes it``); stock only zeroes "no" before a lexicon word.
6. Words stock VADER lacks that are "un" + one of its positive words ("unhelpful") score as that word negated
   (``derived.py``; ``load_valence_lexicon``).

``valence_total`` = sum of token valences + punctuation emphasis (sign of the sum), and
``compound = normalize(valence_total)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import util

from vaderSentiment.vaderSentiment import BOOSTER_DICT, C_INCR, N_SCALAR, SPECIAL_CASES, normalize, scalar_inc_dec

from .base import EMOJI, WORD, Doc, LexiconDataError, Token, one_per_identity_span
from .contrast import turn_index
from .opinion import REPORTED_WEIGHT, reported_clauses

__all__ = [
    "VaderAnnotator",
    "VaderEvidence",
    "load_vader_lexicon",
    "load_valence_lexicon",
    "normalize",
    "punctuation_emphasis",
    "read_closed_compounds",
]


@dataclass(frozen=True, slots=True)
class VaderEvidence:
    valences: tuple[float, ...]  # per token, after all rules (emoji tokens: emoji valence, "but"-weighted)
    total: float  # sum of valences + signed punctuation emphasis
    punct_emphasis: float
    scores: dict[str, float]  # neg, neu, pos, compound (unrounded)
    contrast_index: int | None = None  # where the text turns (contrast.turn_index: a "but" ...; None: no turn)
    focus_index: int | None = None  # where the clause that decides starts: the turn, else the writer's own view


@lru_cache(maxsize=1)
def load_vader_lexicon() -> dict[str, float]:
    """``vader_lexicon.txt`` from the installed vaderSentiment package, parsed like VADER does."""
    spec = util.find_spec("vaderSentiment")
    if spec is None or not spec.submodule_search_locations:
        raise LexiconDataError("vaderSentiment is not installed: pip install vaderSentiment==3.3.2")
    path = f"{next(iter(spec.submodule_search_locations))}/vader_lexicon.txt"
    lexicon: dict[str, float] = {}
    with open(path, encoding="utf-8") as f:
        for line in f.read().rstrip("\n").split("\n"):
            if line:
                word, measure = line.strip().split("\t")[0:2]
                lexicon[word] = float(measure)
    return lexicon


def read_closed_compounds(tokens: Sequence[Token], lexicon: Mapping[str, float]) -> None:
    """A hyphenated word VADER lists without the hyphen ("warm-hearted" -> "warmhearted", "heart-warming") is read
    as that entry: its ``lower`` becomes the closed form, so the scorer and the negation rules see one polar word.
    In place, once per text, before the annotators."""
    for t in tokens:
        if "-" in t.lower and t.lower not in lexicon:
            closed = t.lower.replace("-", "")
            if closed in lexicon:
                t.lower = closed


@lru_cache(maxsize=1)
def load_valence_lexicon() -> dict[str, float]:
    """The lexicon the annotator scores with: VADER's entries plus ``derived.derived_valences`` ("unhelpful")."""
    from .derived import derived_valences

    stock = load_vader_lexicon()
    return {**derived_valences(stock), **stock}


def punctuation_emphasis(text: str) -> float:
    """VADER's emphasis from "!" (up to 4) and "?" (2 or more)."""
    ep = min(text.count("!"), 4) * 0.292
    qm = text.count("?")
    return ep + (0.0 if qm <= 1 else qm * 0.18 if qm <= 3 else 0.96)


def _special_idioms(valence: float, w: list[str], i: int) -> float:
    """VADER's ``_special_idioms_check`` (called only when i >= 3)."""
    onezero = f"{w[i - 1]} {w[i]}"
    twoonezero = f"{w[i - 2]} {w[i - 1]} {w[i]}"
    twoone = f"{w[i - 2]} {w[i - 1]}"
    threetwoone = f"{w[i - 3]} {w[i - 2]} {w[i - 1]}"
    threetwo = f"{w[i - 3]} {w[i - 2]}"
    for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
        if seq in SPECIAL_CASES:
            valence = SPECIAL_CASES[seq]
            break
    n = len(w)
    if n - 1 > i:
        zeroone = f"{w[i]} {w[i + 1]}"
        if zeroone in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroone]
    if n - 1 > i + 1:
        zeroonetwo = f"{w[i]} {w[i + 1]} {w[i + 2]}"
        if zeroonetwo in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroonetwo]
    for n_gram in (threetwoone, threetwo, twoone):
        if n_gram in BOOSTER_DICT:
            valence = valence + BOOSTER_DICT[n_gram]
    return valence


def _scores(sentiments: list[float], punct: float) -> tuple[float, dict[str, float]]:
    """VADER's ``score_valence`` without rounding; returns (total, scores)."""
    if not sentiments:
        return 0.0, {"neg": 0.0, "neu": 0.0, "pos": 0.0, "compound": 0.0}
    sum_s = float(sum(sentiments))
    if sum_s > 0:
        sum_s += punct
    elif sum_s < 0:
        sum_s -= punct
    pos_sum = neg_sum = 0.0
    neu = 0
    for s in sentiments:
        if s > 0:
            pos_sum += s + 1
        elif s < 0:
            neg_sum += s - 1
        else:
            neu += 1
    if pos_sum > math.fabs(neg_sum):
        pos_sum += punct
    elif pos_sum < math.fabs(neg_sum):
        neg_sum -= punct
    total = pos_sum + math.fabs(neg_sum) + neu
    return sum_s, {
        "neg": math.fabs(neg_sum / total),
        "neu": math.fabs(neu / total),
        "pos": math.fabs(pos_sum / total),
        "compound": normalize(sum_s),
    }


class VaderAnnotator:
    """Per-token VADER valences; reads ``doc.negation`` and ``doc.emoji`` when present."""

    name = "vader"

    def __init__(self, lexicon: dict[str, float] | None = None) -> None:
        self.lexicon = lexicon if lexicon is not None else load_valence_lexicon()

    def annotate(self, docs: Sequence[Doc]) -> list[VaderEvidence]:
        return [self.score(doc) for doc in docs]

    def score(self, doc: Doc) -> VaderEvidence:
        tokens = doc.tokens
        words = [t.text for t in tokens]
        lowers = [t.lower for t in tokens]
        n = len(tokens)
        n_upper = sum(1 for w in words if w.isupper())
        is_cap_diff = 0 < n - n_upper < n
        neg = doc.negation
        emo = doc.emoji
        lex = self.lexicon
        # "no" that negates something carries no valence of its own (VADER's rule, extended to any scope).
        silent = (set(neg.neutral) if neg is not None else set()) | doc.identity  # + protected attributes
        if neg is not None:
            silent.update(k for k, sc in zip(neg.cues, neg.scopes, strict=True) if sc and lowers[k] == "no")
        sentiments: list[float] = []
        for i in range(n):
            if tokens[i].kind == EMOJI:
                m = emo.matches[i] if emo is not None else None
                sentiments.append(m.valence if m is not None else 0.0)
                continue
            v = self._word_valence(i, words, lowers, is_cap_diff) if lowers[i] in lex else 0.0
            if v and i in silent:
                v = 0.0
            elif v and neg is not None and neg.depth[i]:
                v *= N_SCALAR ** neg.depth[i]
            sentiments.append(v)
        bi = turn_index(lowers, tokens)
        if bi is not None:  # fixed "but" rule, for every turn (contrast.py): by position, not by value
            pos = list(range(n))
            if neg is not None and neg.elliptic:  # the polar phrase an elliptic negation negates counts where it does
                pos = [c if c is not None and c in neg.elliptic else i for i, c in enumerate(neg.cue)]
            sentiments = [s * 0.5 if pos[si] < bi else s * 1.5 for si, s in enumerate(sentiments)]
        reported = reported_clauses(tokens)  # others' views, where the writer gives their own: weigh less
        if reported:
            sentiments = [s * REPORTED_WEIGHT if i in reported else s for i, s in enumerate(sentiments)]
        punct = punctuation_emphasis(doc.text)
        total, scores = _scores(one_per_identity_span(sentiments, doc.identity), punct)
        return VaderEvidence(tuple(sentiments), total, punct, scores, bi, _focus_index(bi, reported, tokens))

    def _word_valence(self, i: int, words: list[str], lowers: list[str], is_cap_diff: bool) -> float:
        """``sentiment_valence`` for token i, without VADER's negation look-back."""
        lex = self.lexicon
        item = lowers[i]
        if item in BOOSTER_DICT:
            return 0.0
        n = len(words)
        if item == "kind" and i < n - 1 and lowers[i + 1] == "of":
            return 0.0
        valence = lex.get(item)
        if valence is None:
            return 0.0
        if item == "no" and i != n - 1 and lowers[i + 1] in lex:
            valence = 0.0
        if is_cap_diff and words[i].isupper():
            valence = valence + C_INCR if valence > 0 else valence - C_INCR
        for start_i in range(3):
            if i > start_i and lowers[i - (start_i + 1)] not in lex:
                s = scalar_inc_dec(words[i - (start_i + 1)], valence, is_cap_diff)
                if start_i == 1 and s != 0:
                    s = s * 0.95
                if start_i == 2 and s != 0:
                    s = s * 0.9
                valence = valence + s
                # The non-negating parts of VADER's _negation_check ("never so/this" emphasis).
                if start_i == 1:
                    if lowers[i - 2] == "never" and lowers[i - 1] in ("so", "this"):
                        valence = valence * 1.25
                elif start_i == 2:
                    if (lowers[i - 3] == "never" and lowers[i - 2] in ("so", "this")) or lowers[i - 1] in (
                        "so",
                        "this",
                    ):
                        valence = valence * 1.25
                    valence = _special_idioms(valence, lowers, i)
        # VADER's "least" rule ("the least compelling" negates; "at least" does not).
        if i > 1 and lowers[i - 1] not in lex and lowers[i - 1] == "least":
            if lowers[i - 2] not in ("at", "very"):
                valence = valence * N_SCALAR
        elif i > 0 and lowers[i - 1] not in lex and lowers[i - 1] == "least":
            valence = valence * N_SCALAR
        return valence


def _focus_index(turn: int | None, reported: set[int], tokens: list[Token]) -> int | None:
    """The token where the clause that decides the text's opinion starts: the turn (``contrast.turn_index``),
    else the first word after the last clause that reports others' views (the writer's own view), else None."""
    if turn is not None:
        return turn
    start = max(reported) + 1 if reported else len(tokens)
    return next((i for i in range(start, len(tokens)) if tokens[i].kind == WORD), None)
