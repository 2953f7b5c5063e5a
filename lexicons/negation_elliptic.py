"""Elliptic negation (``..., but it wasn't``): the scope is a polar phrase before the cue's clause.

An auxiliary's negation (``wasn't``, ``is not``, ``didn't``, ``can't``) with only
fillers ("at all", "really", "anymore", "now" ...) after it in its clause, at most 4 words before
it in its clause, none a relative pronoun nor after "that" (``but it wasn't``, ``, this one is
not``, ``; these aren't``), and a sentiment word before that clause in the same sentence (or, for a sentence of
its own such as ``It wasn't.``, in the sentence before it if that one makes a claim: "promised", "said",
"expected" ...): the scope
is that last sentiment word and sentiment words coordinated with it (``I expected the update to be
awful, but it wasn't``: "awful"; ``The old model was reliable and nice, this one is not``: "nice"); after a
"do" ("..., but I didn't", "; I did not") the sentiment words of that word's clause, the verb phrase "did"
stands for (``They said I would enjoy the tour; I did not``: "enjoy", "tour"), unless already negated
(``She didn't like it and I didn't either``: "like" stays negated once).
VADER weights that phrase where the cue stands, so after "but" the elliptic clause decides
(``feared ... painful, but it was not`` is positive). The claim words framing the denied claim ("Everyone
promised ...", "I hoped ...") lose their own valence (``claim_frame``): the claim is not the writer's view.

An answer that negates a yes/no question (``Was the museum nice? No.``, ``Nope``, ``Not really``, ``Not at all``,
``Definitely not``, ``Not once``) is elliptic too: its scope is the polar words of the question just before it.
``..., which it was not`` refers back like ``..., but it was not`` ("which" and a pronoun, then a copula).

Known limit: with another subject (``The food was good, but the service wasn't``) the polar word is
negated in place, so the first clause's own polarity is lost (the "but" weighting already favours
the second clause).
"""

from __future__ import annotations

import re
from collections.abc import Container

from vaderSentiment.vaderSentiment import BOOSTER_DICT

from .base import WORD, Token
from .negation_cues import CUES, clause_start

__all__ = ["answer_antecedent", "answer_cues", "claim_frame", "elliptic_antecedent"]

# Elliptic negation ("..., but it wasn't"): an auxiliary's negation with at most these words after it in its clause.
_AUX = frozenset(
    (
        "is", "are", "was", "were", "be", "am", "do", "does", "did", "have", "has", "had", "will", "would",
        "can", "could", "shall", "should", "may", "might", "must", "'s", "'re", "'m",
    )
)  # fmt: skip
_ELLIPSIS_TAIL = frozenset(
    {"at", "all", "really", "anymore", "either", "now", "though", "so", "much", "quite", "even", "yet", "any",
     "longer", "again", "sadly", "unfortunately", "actually", "honestly", "remotely", "exactly", "then"}
)  # fmt: skip
_RELATIVE = frozenset({"which", "who", "whom", "whose", "what"})
_ELLIPSIS_SUBJECT_WORDS = 4  # at most this many words between the clause start and the elliptic cue


# Words that make a sentence a claim or an expectation a later "It wasn't." can deny.
_CLAIMS = frozenset(
    {"promised", "promise", "promises", "said", "say", "says", "claimed", "claim", "claims", "told", "expected",
     "hoped", "supposed", "meant", "advertised", "thought", "assured", "swore", "insisted", "described", "billed"}
)  # fmt: skip


_DO_SUPPORT = re.compile(r"^(do|does|did)(n't|nt)?$")  # "did not" / "didn't" stands for a verb phrase


def claim_frame(tokens: list[Token], words: list[str], antecedent: list[int]) -> list[int]:
    """The claim words (``_CLAIMS``) that frame a denied claim: in the antecedent's sentence, before it ("Everyone
    promised the bistro was worthwhile. It wasn't."). They report the claim the text denies; their own valence
    ("promised" +1.5) is not the writer's."""
    i = antecedent[0]
    while i > 0 and not tokens[i - 1].sent_end:
        i -= 1
    return [m for m in range(i, antecedent[0]) if words[m].strip(".,;:!?") in _CLAIMS]


def _claim_before(tokens: list[Token], words: list[str], start: int) -> bool:
    """Whether the sentence before token ``start`` (which opens a sentence) makes a claim (``_CLAIMS``)."""
    i = start - 1
    while i > 0 and not tokens[i - 1].sent_end:
        i -= 1
    return any(words[m].strip(".,;:!?") in _CLAIMS for m in range(i, start))


def elliptic_antecedent(
    tokens: list[Token], words: list[str], k: int, senti: Container[str], cue_set: set[int]
) -> list[int]:
    """For an elliptic negation (``..., but it wasn't``), the polar phrase it refers back to; else [].

    The cue is an auxiliary's negation (``wasn't``, ``is not``, ``didn't``) with only fillers such as "at all",
    "really", "anymore" after it in its clause and at most 4 words before it in its clause; the polar phrase is
    the last sentiment word before that clause in the same sentence, with sentiment words coordinated with it
    (``clean and quiet``).
    """
    w = words[k]
    if not (
        "n't" in w or (w in CUES and w.endswith("nt")) or w == "cannot" or (w == "not" and k and words[k - 1] in _AUX)
    ):
        return []
    n = len(tokens)
    j = k
    while not tokens[j].clause_end and j + 1 < n:
        j += 1
        if tokens[j].kind == WORD and words[j] not in _ELLIPSIS_TAIL:
            return []
    start = clause_start(tokens, words, k)
    if start == 0:
        return []  # nothing before it to refer back to
    # A sentence of its own refers back to a claim in the sentence before it ("Everyone promised it was great. It
    # wasn't."), not to a plain statement ("The room was great. It wasn't." says nothing clear).
    own_sentence = tokens[start - 1].sent_end
    if own_sentence and not ((tokens[j].sent_end or j == n - 1) and _claim_before(tokens, words, start)):
        return []
    subject = [words[i] for i in range(start, k) if tokens[i].kind == WORD]
    which_it = _which_it_was_not(subject, words[k])
    if not which_it and (
        len(subject) > _ELLIPSIS_SUBJECT_WORDS or not _RELATIVE.isdisjoint(subject) or words[start - 1] == "that"
    ):
        return []  # "privileges that you don't", "an offer which I didn't": a noun phrase, not a polar predicate
    first = start - 1 if own_sentence else start
    while first > 0 and not tokens[first - 1].sent_end:
        first -= 1

    def polar(i: int) -> bool:
        return tokens[i].kind == WORD and words[i] in senti and i not in cue_set and words[i] not in BOOSTER_DICT

    last = start - 1
    while last >= first and not polar(last):
        last -= 1
    if last < first:
        return []
    if _DO_SUPPORT.match(w if "n't" in w else words[k - 1]):  # "..., but I didn't": the whole verb phrase
        verb_phrase = [i for i in range(max(first, clause_start(tokens, words, last)), last + 1) if polar(i)]
        return verb_phrase[-4:]
    phrase = [last]
    for i in range(last - 1, first - 1, -1):
        if len(phrase) == 4:
            break
        if polar(i):
            phrase.append(i)
        elif words[i] not in ("and", "or") and words[i] not in BOOSTER_DICT:
            break
    return sorted(phrase)


_WHICH_PRONOUNS = frozenset({"it", "they", "he", "she", "this", "that"})
_BE = frozenset({"is", "are", "was", "were", "am", "be", "'s", "'re", "'m"})


def _which_it_was_not(subject: list[str], cue: str) -> bool:
    """``..., which it was not`` / ``which they aren't``: "which" stands for the polar predicate before it."""
    if len(subject) < 2 or subject[0] != "which" or subject[1] not in _WHICH_PRONOUNS:
        return False
    copula = cue.replace("n't", "") in _BE or cue in ("isnt", "wasnt", "arent", "werent")
    return set(subject[2:]) <= _BE and (copula or (cue == "not" and subject[-1] in _BE))


_ANSWER_WORDS = frozenset({"no", "nope", "nah", "not", "never"})
_ANSWER_LEAD = frozenset({"definitely", "certainly", "absolutely", "probably", "honestly", "sadly", "of", "course"})
_ANSWER_TAIL = frozenset(
    {"really", "at", "all", "quite", "exactly", "particularly", "so", "much", "sadly", "way", "once", "ever", "again"}
)
_ANSWER_MAX_POLAR = 4


def answer_cues(text: str, tokens: list[Token], words: list[str]) -> list[int]:
    """Tokens that answer "no" to the question just before them: in a sentence that follows a "?", a first word
    "no"/"nope"/"nah"/"not"/"never" (after a lead such as "definitely", "of course") with only fillers after it
    ("No.", "Nope!", "Not really.", "Not at all", "Definitely not.", "Not once.", "Never again")."""
    out = []
    n = len(tokens)

    def bare(i: int) -> str:
        return words[i].rstrip(".!,")

    for first in range(1, n):
        if not tokens[first - 1].sent_end or "?" not in text[tokens[first - 1].start : tokens[first].start]:
            continue
        k = first
        while bare(k) in _ANSWER_LEAD and not tokens[k].sent_end and k + 1 < n:
            k += 1
        if bare(k) not in _ANSWER_WORDS or tokens[k].kind != WORD:
            continue
        j = k
        while not tokens[j].sent_end and j + 1 < n:
            j += 1
            if tokens[j].kind == WORD and bare(j) not in _ANSWER_TAIL:
                break
        else:
            if bare(k) != "not" or j > k or k > first:  # a bare "Not." answers nothing
                out.append(k)
    return out


_AFFIRMATIONS = frozenset({"yes", "yeah", "yep", "yup"})
# An answer made of these alone is a yes that praises nothing ("Definitely.", "Of course!"); "sadly" is the writer's
# own feeling ("Is it raining again? Sadly.") and keeps its valence.
_YES_LEADS = (_ANSWER_LEAD - {"sadly"}) | _AFFIRMATIONS


def answer_words(text: str, tokens: list[Token], words: list[str], answers: list[int]) -> set[int]:
    """Answer words that carry no sentiment of their own, in a sentence right after a "?": a first "yes" ("Was it
    dull? Yes, very.": the question's words say what is affirmed; VADER scores "yes" +1.7), an answer of leads only
    ("Definitely.", "Of course!"; VADER scores "definitely" +1.7) and the leads of the
    "no" answers ``answers`` (``answer_cues``; "Definitely not.": "definitely" strengthens the no, it praises
    nothing)."""
    out: set[int] = set()
    for first in range(1, len(tokens)):
        if not tokens[first - 1].sent_end or "?" not in text[tokens[first - 1].start : tokens[first].start]:
            continue
        if words[first].rstrip(".!,") in _AFFIRMATIONS:
            out.add(first)
        sentence = _sentence_words(tokens, first)
        if all(words[j].rstrip(".!,") in _YES_LEADS for j in sentence):
            out.update(sentence)  # "Was it dull? Definitely.": a yes, however strong, praises nothing
    for k in answers:
        j = k - 1
        while j >= 0 and not tokens[j].sent_end and words[j].rstrip(".!,") in _ANSWER_LEAD:
            out.add(j)
            j -= 1
    return out


def _sentence_words(tokens: list[Token], first: int) -> list[int]:
    """The word tokens of the sentence that starts at ``first``."""
    out = []
    for j in range(first, len(tokens)):
        if tokens[j].kind == WORD:
            out.append(j)
        if tokens[j].sent_end:
            break
    return out


def answer_antecedent(
    tokens: list[Token], words: list[str], k: int, senti: Container[str], cue_set: set[int]
) -> list[int]:
    """The polar words (at most 4, the last ones) of the question that the answer at ``k`` negates (``k`` may
    follow a lead such as "Definitely": the question is the sentence before the answer's)."""
    answer = k
    while answer > 0 and not tokens[answer - 1].sent_end:
        answer -= 1
    first = answer - 1
    while first > 0 and not tokens[first - 1].sent_end:
        first -= 1
    polar = [
        i for i in range(first, answer)
        if tokens[i].kind == WORD and words[i] in senti and i not in cue_set and words[i] not in BOOSTER_DICT
    ]  # fmt: skip
    return polar[-_ANSWER_MAX_POLAR:]
