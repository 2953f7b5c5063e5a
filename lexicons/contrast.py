"""Where a text turns: the token after which its opinion decides (VADER's "but" rule, extended).

VADER weighs the tokens before the first contrastive "but" by 0.5 and those after it by 1.5. Other turns decide
the same way and VADER misses them:

* a concessive clause opening the text (``Although it looked nice, it was awful``, ``Even though ...``,
  ``Though ...``, ``While ...``, ``Despite ...``): the main clause after the concessive clause's comma decides;
* a sentence-level contrast word after the first clause (``..., yet ...``, ``...; however, ...``,
  ``..., whereas I ...``, ``nevertheless``, ``nonetheless``);
* a change over time (``I used to love it; now I hate it``, ``At first ..., today ...``): a clause with a
  present-time marker (``now``, ``nowadays``, ``today``, ``lately``, ``these days``, ``since``) after a clause
  with a past-time one (``used to``, ``once``, ``at first``, ``back then``, ``initially``, ``in the beginning``,
  ``ago``) decides.

``turn_index`` gives the index of the token the turn stands at (the "but", the comma's next word, the marker's
clause start): tokens before it weigh 0.5, after it 1.5, as in VADER. The "but" of ``anything but`` /
``nothing but`` is no contrast. The first turn found counts (a "but" first, as in VADER).
"""

from __future__ import annotations

from .base import WORD, Token

__all__ = ["turn_index"]

_NOT_CONTRAST_BEFORE = frozenset({"anything", "nothing"})  # "anything but clean", "nothing but praise"
_CONCESSIVE_OPENERS = frozenset({"although", "though", "while", "despite", "whilst"})
_CONTRAST_WORDS = frozenset({"yet", "however", "whereas", "nevertheless", "nonetheless"})
_PRESENT = frozenset({"now", "nowadays", "today", "lately", "since", "anymore"})
_PRESENT_PAIRS = frozenset({("these", "days")})
_PAST = frozenset({"once", "initially", "ago", "originally", "formerly"})
_PAST_PAIRS = frozenset({("used", "to"), ("at", "first"), ("back", "then")})
_PAST_TRIPLES = frozenset({("in", "the", "beginning"), ("at", "the", "start")})


def turn_index(lowers: list[str], tokens: list[Token]) -> int | None:
    """Index of the token where the text turns (see module docstring), or None."""
    for i, w in enumerate(lowers):
        if w == "but" and not (i and lowers[i - 1] in _NOT_CONTRAST_BEFORE and not tokens[i - 1].clause_end):
            return i
    n = len(tokens)
    words = [i for i in range(n) if tokens[i].kind == WORD]
    if not words:
        return None
    first = words[0]
    if lowers[first] in _CONCESSIVE_OPENERS or (lowers[first] == "even" and first + 1 < n and lowers[first + 1] in (
        "though", "if"
    )):  # fmt: skip
        end = next((i for i in range(first, n - 1) if tokens[i].clause_end and not tokens[i].sent_end), None)
        if end is not None and tokens[end + 1].kind == WORD:
            return end + 1
    for i in range(1, n):
        if lowers[i] in _CONTRAST_WORDS and (tokens[i - 1].clause_end or lowers[i] == "whereas"):
            return i
    return _temporal_turn(lowers, tokens)


def _temporal_turn(lowers: list[str], tokens: list[Token]) -> int | None:
    """The start of the first clause with a present-time marker that follows a clause with a past-time one."""
    n = len(tokens)
    past_seen = False
    clause = 0
    for i in range(n):
        if i and tokens[i - 1].clause_end:
            clause = i
        w = lowers[i]
        nxt = lowers[i + 1] if i + 1 < n else ""
        nxt2 = lowers[i + 2] if i + 2 < n else ""
        if past_seen and clause > 0 and (w in _PRESENT or (w, nxt) in _PRESENT_PAIRS):
            return clause
        if w in _PAST or (w, nxt) in _PAST_PAIRS or (w, nxt, nxt2) in _PAST_TRIPLES:
            past_seen = True
    return None
