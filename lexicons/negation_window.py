"""Negation scope by the window rule (``use_parser=False``, no model, or no parse needed).

Up to 3 word tokens after the cue, stopping
before punctuation, emoji and contrast words and after a token followed by ``, ; : . ! ?``; other
cues inside the window are passed over without being counted. Up to 10 words (same stops) after a
cue followed by a cognition verb (``I don't think the new menu is good``; ``think, ..., that ...``
jumps to the that-clause) and after a negative quantifier opening its clause (``nobody``,
``nothing``, ``none``, ``neither``, ``no``, ``not a/every/one ...``: ``No one at the desk was
friendly``).

An insert between commas right after the cue (``was not, if I am honest, good``) is skipped whatever the parse
says: the scope is the predicate after the second comma (``insert_scope``; the small parser often attaches it to
the insert), and the insert's own words carry no valence (``was not, as my aunt feared, rude``: the aunt's fear
is not the verdict).
"""

from __future__ import annotations

from .base import WORD, Token
from .negation_cues import COGNITION, CONTRAST, clause_start

__all__ = ["insert_scope", "window", "window_scope"]

_VERB_ADVERBS = frozenset({"really", "even", "actually", "honestly", "exactly", "necessarily", "personally"})
# Window rule: a cue that opens its clause as a negative quantifier subject scopes the whole clause.
_QUANTIFIER_CUES = frozenset({"nobody", "nothing", "none", "neither", "no"})
_NOT_QUANTIFIED = frozenset({"a", "every", "everyone", "everybody", "all", "many", "one", "much", "anyone", "anybody"})
_LONG_WINDOW = 10


def window(tokens: list[Token], words: list[str], k: int, cue_set: set[int], limit: int = 3) -> list[int]:
    out: list[int] = []
    if tokens[k].clause_end:
        return out
    counted = 0
    j = k + 1
    while j < len(tokens) and counted < limit:
        t = tokens[j]
        if t.kind != WORD or words[j] in CONTRAST:
            break
        out.append(j)
        if j not in cue_set:
            counted += 1
        if t.clause_end:
            break
        j += 1
    return out


def window_scope(tokens: list[Token], words: list[str], k: int, cue_set: set[int], phrasal: set[int]) -> list[int]:
    """The window rule: 3 words after the cue; the rest of the clause after a negated cognition verb or a negative
    quantifier opening its clause; for ``far from``/``anything but`` the 3 words after the second word."""
    if k in phrasal:
        return window(tokens, words, k + 1, cue_set)
    n = len(words)
    w = words[k]
    nxt = words[k + 1] if k + 1 < n else ""
    v = k + 2 if nxt in _VERB_ADVERBS and k + 2 < n else k + 1
    if v < n and words[v] in COGNITION:
        if tokens[v].clause_end and not tokens[v].sent_end:  # "I don't think, given the price, that it is good"
            for j in range(v + 1, n):
                if words[j] in CONTRAST or tokens[j - 1].sent_end:
                    break
                if words[j] == "that" and tokens[j - 1].clause_end:
                    return [*range(k + 1, v + 1), j, *window(tokens, words, j, cue_set, _LONG_WINDOW)]
        return window(tokens, words, k, cue_set, _LONG_WINDOW)
    if (w in _QUANTIFIER_CUES or (w == "not" and nxt in _NOT_QUANTIFIED)) and clause_start(tokens, words, k) == k:
        return window(tokens, words, k, cue_set, _LONG_WINDOW)
    return window(tokens, words, k, cue_set)


_INSERT_MAX_WORDS = 8  # an insert longer than this is a clause of its own, not a parenthetical


def insert_scope(
    text: str, tokens: list[Token], words: list[str], k: int, cue_set: set[int]
) -> tuple[list[int], list[int]]:
    """For a cue followed by a comma-delimited insert (``not, despite the reviews, friendly``): (the insert's
    tokens, the window after its closing comma); else ([], [])."""
    n = len(tokens)

    def comma_after(i: int) -> bool:
        return i + 1 < n and tokens[i].clause_end and "," in text[tokens[i].end : tokens[i + 1].start]

    if not comma_after(k) or tokens[k].sent_end:
        return [], []
    for j in range(k + 1, min(n - 1, k + 1 + _INSERT_MAX_WORDS)):
        if tokens[j].sent_end or words[j] in CONTRAST or (tokens[j].clause_end and not comma_after(j)):
            return [], []
        if comma_after(j):
            first = j + 1
            if tokens[first].kind != WORD or words[first] in CONTRAST:
                return [], []
            return list(range(k + 1, first)), [first, *window(tokens, words, first, cue_set, limit=2)]
    return [], []
