"""Whose opinion counts: where the writer states their own view, views they report of others weigh less.

``The critics called the concert awful; I thought it was wonderful`` is positive: the writer reports the critics'
view and then gives their own. ``reported_clauses`` finds, in a text that has a first-person opinion ("I think",
"I thought", "I found", "in my opinion", "personally", "for me"), the clauses that report someone else's view (a
subject such as "critics", "everyone", "my friends", "they" followed by a reporting verb such as "said",
"called", "raved", "claim"); VADER's sentiment in those clauses is multiplied by ``REPORTED_WEIGHT``. Without a
first-person opinion nothing changes (``Everyone says the food is great`` stays positive: the only view given).

A clause runs from the reported subject to the next clause punctuation (``, ; : . ! ?``), a contrast word or the
first-person opinion, whichever comes first. Word lists are ours; they name common cases, not every way of
reporting speech.
"""

from __future__ import annotations

from .base import WORD, Token
from .negation_cues import CONTRAST

__all__ = ["REPORTED_WEIGHT", "reported_clauses"]

REPORTED_WEIGHT = 0.25

_OTHERS = frozenset(
    {
        "critics", "critic", "reviewers", "reviewer", "reviews", "people", "everyone", "everybody", "others", "they",
        "some", "many", "most", "friends", "friend", "colleagues", "colleague", "he", "she", "fans", "experts",
        "customers", "users", "guests", "folks", "internet", "press", "media", "parents", "sister", "brother",
        "mother", "father", "mom", "dad", "wife", "husband", "partner", "boss", "neighbours", "neighbors", "coworkers",
        "teacher", "doctor", "online", "articles", "article", "ads", "advert", "commercials", "hype",
    }
)  # fmt: skip
_REPORTING = frozenset(
    {
        "say", "says", "said", "call", "calls", "called", "claim", "claims", "claimed", "think", "thinks",
        "thought", "rave", "raves", "raved", "praise", "praises", "praised", "insist", "insists", "insisted",
        "swear", "swears", "swore", "told", "tell", "tells", "describe", "describes", "described", "complain",
        "complains", "complained", "hyped", "hype", "reckon", "reckons", "believe", "believes", "believed",
        "promised", "promise", "promises", "warned", "warn", "warns", "find", "finds", "found", "love", "loves",
        "loved", "hate", "hates", "hated", "suggested", "suggest", "suggests", "consider", "considers",
        "considered", "recommended", "recommend", "recommends", "gushed", "gush", "rated", "rate", "rates",
        "slammed", "panned", "trashed", "adored", "adore", "adores",
    }
)  # fmt: skip
_FIRST_PERSON_VERBS = frozenset(
    {
        "think", "thought", "believe", "believed", "found", "find", "feel", "felt", "reckon", "consider",
        "considered", "say", "loved", "love", "liked", "like", "hated", "hate", "enjoyed", "enjoy",
        "disliked", "dislike", "adored", "adore", "guess", "suppose", "would", "despise", "despised", "detest",
        "detested", "loathe", "loathed", "admire", "admired", "appreciate", "appreciated", "prefer", "preferred",
    }
)  # fmt: skip
_FIRST_PERSON_FILLERS = frozenset({"personally", "honestly", "really", "actually", "myself", "just", "still", "do"})
_OWN_VIEW_PHRASES = (("in", "my", "opinion"), ("in", "my", "view"), ("for", "me"), ("to", "me"), ("imo",),
                     ("imho",), ("personally",))  # fmt: skip
_SUBJECT_GAP = 3  # words allowed between an "others" subject and its reporting verb ("my friends all said")


def _words(tokens: list[Token]) -> list[str]:
    return [t.lower.strip(".,;:!?\"'()") for t in tokens]


def _own_view_at(words: list[str], i: int) -> bool:
    if words[i] in ("i", "i'd", "i've"):
        j = i + 1
        while j < len(words) and words[j] in _FIRST_PERSON_FILLERS:
            j += 1
        return j < len(words) and (words[j] in _FIRST_PERSON_VERBS or words[i] == "i'd")
    return any(tuple(words[i : i + len(p)]) == p for p in _OWN_VIEW_PHRASES)


def reported_clauses(tokens: list[Token]) -> set[int]:
    """Token indices inside clauses that report others' views, in a text with a first-person opinion; else empty."""
    words = _words(tokens)
    n = len(tokens)
    own = [i for i in range(n) if tokens[i].kind == WORD and _own_view_at(words, i)]
    if not own:
        return set()
    out: set[int] = set()
    for s in range(n):
        if words[s] not in _OTHERS or s in out:
            continue
        verb = next((j for j in range(s + 1, min(n, s + 2 + _SUBJECT_GAP)) if words[j] in _REPORTING), None)
        if verb is None or any(s <= o <= verb for o in own) or any(tokens[j].clause_end for j in range(s, verb)):
            continue
        end = verb
        while not tokens[end].clause_end and end + 1 < n and words[end + 1] not in CONTRAST and end + 1 not in own:
            end += 1
        out.update(range(s, end + 1))
    out.update(_according_to(words, tokens, own))
    return out if any(o not in out for o in own) else set()


def _according_to(words: list[str], tokens: list[Token], own: list[int]) -> set[int]:
    """ "According to my sister, the film is great; ...": the source's phrase and the clause it introduces."""
    n = len(tokens)
    out: set[int] = set()
    for a in range(n - 1):
        if words[a] != "according" or words[a + 1] != "to":
            continue
        source_end = next((j for j in range(a, n) if tokens[j].clause_end), n - 1)
        end = source_end + 1
        while end < n - 1 and not tokens[end].clause_end and end + 1 not in own and words[end + 1] not in CONTRAST:
            end += 1
        if not any(a <= o <= end for o in own):
            out.update(range(a, min(end, n - 1) + 1))
    return out
