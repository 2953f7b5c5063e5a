"""Negation cues: which tokens negate, and the idioms in which a cue does not.

Cues (matched on the token, curly apostrophes folded): ``not``, any ``n't`` contraction and VADER's
apostrophe-less forms (``dont``, ``cant``, ``isnt`` ...), ``cannot``, ``no``, ``never``, ``nothing``,
``nobody``, ``none``, ``nowhere``, ``neither``, ``nor``, ``without``, ``hardly``, ``barely``,
``scarcely``, ``rarely``, ``seldom``; two-word cues ``far from`` and ``anything but`` (the cue token is
"far"/"anything"). Not cues: ``despite`` (concessive; VADER counts it), ``nope``.

Idioms that do not negate (the cue is inactive): ``not only/just/merely``, ``not to mention``,
``no doubt``, ``no question`` (not ``no question of``), ``no denying``, ``without (a|any) doubt``,
``without question``, ``no matter``, ``no wonder``, ``nothing but``,
``never mind``, ``or not``, ``if not``, and after ``can't/cannot/couldn't`` (or ``can/could not``):
``wait``, "enough" later in the clause (``can't recommend it enough``; not after a sentiment word:
``can't get bright enough`` negates) and "more" ending the clause within 4 words (``couldn't agree
more``). In the ``doubt`` and ``denying`` idioms that word is neutralized (its own negative valence is ignored).
``not bad`` is ordinary negation (it flips "bad").
"""

from __future__ import annotations

from collections.abc import Container

from .base import WORD, Token

__all__ = ["COGNITION", "CONTRAST", "CUES", "active_cues", "clause_start", "fold", "is_cue"]

CUES = frozenset(
    (
        "not", "no", "never", "nothing", "nobody", "none", "nowhere", "neither", "nor", "without",
        "hardly", "barely", "scarcely", "rarely", "seldom", "cannot", "aint", "arent", "cant", "couldnt",
        "darent", "didnt", "doesnt", "dont", "hadnt", "hasnt", "havent", "isnt", "mightnt", "mustnt",
        "neednt", "oughtnt", "shant", "shouldnt", "wasnt", "werent", "wont", "wouldnt",
    )
)  # fmt: skip
CONTRAST = frozenset(
    ["but", "yet", "although", "though", "however", "whereas", "except", "nevertheless", "nonetheless"]
)
_NEXT_IDIOM = {
    "not": frozenset({"only", "just", "merely"}),
    "no": frozenset({"doubt", "matter", "wonder", "question", "denying"}),
    "nothing": frozenset({"but"}),
    "never": frozenset({"mind"}),
}
_WITHOUT_IDIOM = frozenset({"doubt", "question"})  # "without (a) doubt", "without question": certainty
_NEUTRALIZED = frozenset({"doubt", "denying"})  # the idiom's own word has no valence here ("no doubt")
_WAIT_CUES = frozenset({"can't", "cant", "cannot", "couldn't", "couldnt"})
# "not" after these is an idiom with no scope: "good or not", "one of the best, if not the best".
_NOT_IDIOM_PREV = frozenset({"or", "if"})
# Two-word cues whose scope is the phrase after the second word: "far from perfect", "anything but clean".
_PHRASAL = {"far": "from", "anything": "but"}
# Negated cognition and speech verbs: their complement clause is in the scope, across commas
# ("I don't think, given the price, that it is good"). Inflected forms (the parser runs without a lemmatizer).
COGNITION = frozenset(
    (
        "think", "thinks", "thought", "believe", "believes", "believed", "say", "says", "said", "expect",
        "expects", "expected", "feel", "feels", "felt", "find", "finds", "found", "guess", "guessed", "suppose",
        "supposed", "reckon", "reckoned", "imagine", "imagined", "claim", "claimed", "consider", "considered",
    )
)  # fmt: skip
_CLAUSE_LINKS = frozenset({"and", "while", "whereas", "when", "that", "because"})


def fold(lower: str) -> str:
    return lower.replace("\u2019", "'").replace("\u2018", "'")


def is_cue(lower: str) -> bool:
    """Whether a (lowercased) token is a negation cue, ignoring idioms."""
    w = fold(lower)
    return w in CUES or "n't" in w


def active_cues(words: list[str], tokens: list[Token], senti: Container[str]) -> tuple[list[int], set[int], set[int]]:
    """Active cues (idioms removed), idiom tokens to neutralize, and the phrasal cues among the active ones."""
    cues: list[int] = []
    neutral: set[int] = set()
    phrasal: set[int] = set()
    n = len(words)
    for k, w in enumerate(words):
        if tokens[k].kind != WORD:
            continue
        nxt = words[k + 1] if k + 1 < n else ""
        if _PHRASAL.get(w) == nxt and not tokens[k].clause_end:
            cues.append(k)
            phrasal.add(k)
            continue
        if not (w in CUES or "n't" in w):
            continue
        nxt2 = words[k + 2] if k + 2 < n else ""
        prev = words[k - 1] if k else ""
        no_question_of = w == "no" and nxt == "question" and nxt2 == "of"  # "no question of a refund" negates
        if (nxt in _NEXT_IDIOM.get(w, ()) and not no_question_of) or (w == "not" and nxt == "to" and nxt2 == "mention"):
            if nxt in _NEUTRALIZED:
                neutral.add(k + 1)
            continue
        if w == "without" and (nxt in _WITHOUT_IDIOM or (nxt in ("a", "any") and nxt2 in _WITHOUT_IDIOM)):
            neutral.add(k + 1 if nxt in _WITHOUT_IDIOM else k + 2)
            continue
        if w == "not" and prev in _NOT_IDIOM_PREV:
            continue
        can_not = w in _WAIT_CUES or (w == "not" and prev in ("can", "could"))
        if can_not and (nxt == "wait" or praise_idiom(tokens, words, k, senti)):
            continue
        cues.append(k)
    return cues, neutral, phrasal


def praise_idiom(tokens: list[Token], words: list[str], k: int, senti: Container[str]) -> bool:
    """``can't recommend it enough``, ``can't thank you enough``, ``couldn't agree more``: praise, not negation.

    "enough" within the cue's clause, not right after a sentiment word (``can't get bright enough`` negates), or
    "more" ending the clause right after a verb (``couldn't agree more``, not ``couldn't be more wrong``).
    """
    if tokens[k].clause_end:
        return False
    for j in range(k + 1, min(k + 8, len(words))):
        w = words[j]
        if w == "enough" and words[j - 1] not in senti:
            return True
        if w == "more" and j - k <= 4 and (tokens[j].clause_end or j == len(words) - 1):
            return True
        if tokens[j].clause_end or w in CONTRAST:
            return False
    return False


def clause_start(tokens: list[Token], words: list[str], k: int) -> int:
    """First token of the clause of token ``k`` (after ``, ; : . ! ?``, a contrast word or a clause link)."""
    i = k
    while i > 0 and not tokens[i - 1].clause_end and words[i - 1] not in CONTRAST and words[i - 1] not in _CLAUSE_LINKS:
        i -= 1
    return i
