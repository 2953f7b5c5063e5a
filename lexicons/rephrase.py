"""Rephrasings of a text without its negation words, for the network to read (``affectlens.views``).

* ``affirmed_text``: the affirmative counterpart of a negated text, its active negation cues turned into their
  positive forms. ``Her tutor isn't working on Thursday`` becomes ``Her tutor is working on Thursday``; ``Nobody I
  know liked the film`` becomes ``Everybody I know liked the film``; ``I cannot honestly say I enjoyed it`` becomes
  ``I can honestly say I enjoyed it``. What the counterpart says, the negated text denies (a negated opinion
  flips or fades, a negated fact stays a fact).
* ``answered_question``: a yes/no question with its answer as the claim it asks about ("Was the hotel clean? Not
  really." -> "The hotel clean."), which a yes asserts and a no denies.
* ``plain_text``: the same meaning with a non-negating idiom in plain words: ``not just great`` -> ``great``,
  ``nothing but praise`` -> ``only praise``, ``no doubt``/``without a doubt``/``no question``/``no denying`` ->
  ``certainly``. A network that reads "not" as a negation misreads the idiom; it reads the plain form right.

A network that reads words well and negation badly reads both well. Only the cues the negation rules found active
are turned (and not a cue that emphasises: ``never seen one this good``, ``couldn't be happier``); a word is
replaced inside its token, so punctuation and the rest of the text stay as they were. The forms are ours: a
removal where English has no natural opposite (``not``, ``never``, ``hardly``, ``far from``), the universal
quantifier for the negative ones (``nobody`` -> ``everybody``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise

from .base import Token
from .negation import COMPARATIVES, INTENSIFIABLE, INTENSIFIERS, is_cue

__all__ = ["affirmed_text", "answered_question", "plain_text"]

_WHOLE = {
    "not": "", "never": "", "no": "", "hardly": "", "barely": "", "scarcely": "", "rarely": "often",
    "seldom": "often", "nobody": "everybody", "nothing": "everything", "none": "all", "nowhere": "everywhere",
    "neither": "both", "nor": "and", "without": "with", "cannot": "can", "can't": "can", "cant": "can",
    "won't": "will", "wont": "will", "shan't": "shall", "shant": "shall", "ain't": "is", "aint": "is",
}  # fmt: skip
_APOSTROPHE_LESS = {
    "dont": "do", "doesnt": "does", "didnt": "did", "isnt": "is", "arent": "are", "wasnt": "was", "werent": "were",
    "havent": "have", "hasnt": "has", "hadnt": "had", "couldnt": "could", "wouldnt": "would", "shouldnt": "should",
    "mustnt": "must", "mightnt": "might", "neednt": "need", "darent": "dare", "oughtnt": "ought",
}  # fmt: skip
_PHRASAL_SECOND = {"far": "from", "anything": "but"}  # "far from good" -> "good"
_PAIRS = {("no", "one"): "everyone", ("no", "longer"): "still"}
_WORD = re.compile(r"[A-Za-z\u2019']+")


def _positive(lower: str) -> str | None:
    """The affirmative form of one cue word (lowercase), or None when it is not a cue we turn."""
    w = lower.replace("\u2019", "'")
    if w in _WHOLE:
        return _WHOLE[w]
    if w in _APOSTROPHE_LESS:
        return _APOSTROPHE_LESS[w]
    if w.endswith("n't"):
        return w[:-3]
    return None


def _emphasises(lowers: list[str], tokens: Sequence[Token], k: int) -> bool:
    """Whether cue ``k`` emphasises in its clause (the negation rules keep such words out of its scope)."""
    if lowers[k] not in INTENSIFIABLE:
        return False
    for j in range(k + 1, len(tokens)):
        if lowers[j] in COMPARATIVES or lowers[j - 1] in INTENSIFIERS:
            return True
        if tokens[j].clause_end:
            return False
    return False


def _cased(form: str, like: str) -> str:
    return form[:1].upper() + form[1:] if form and like[:1].isupper() else form


def affirmed_text(text: str, tokens: Sequence[Token], cues: Sequence[int]) -> str | None:
    """``text`` with each cue (token indices, active cues) in its affirmative form; None if nothing was turned."""
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement) in characters
    lowers = [t.lower.strip('.,;:!?"()') for t in tokens]
    skip: set[int] = set()
    for k in sorted(cues):
        if k in skip:
            continue
        token, w = tokens[k], lowers[k]
        nxt = lowers[k + 1] if k + 1 < len(tokens) else ""
        if _PHRASAL_SECOND.get(w) == nxt:
            edits.append((token.start, tokens[k + 1].end, ""))
            skip.add(k + 1)
            continue
        if (w, nxt) in _PAIRS:
            edits.append((token.start, tokens[k + 1].end, _cased(_PAIRS[w, nxt], token.text)))
            skip.add(k + 1)
            continue
        if w == "neither":  # "neither X nor Y" -> "both X and Y": the "nor" goes with it
            nor = next((j for j in range(k + 1, len(tokens)) if lowers[j] == "nor" or tokens[j].sent_end), None)
            if nor is not None and lowers[nor] == "nor":
                skip.add(nor)
                edits.append((tokens[nor].start, tokens[nor].end, tokens[nor].text.lower().replace("nor", "and")))
        if _emphasises(lowers, tokens, k):
            continue
        match = _WORD.search(token.text)
        form = _positive(w)
        if match is None or form is None:
            continue
        edits.append((token.start + match.start(), token.start + match.end(), _cased(form, match.group())))
    return _apply(text, edits)


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str | None:
    """``text`` with the (start, end, replacement) character edits made; None without edits."""
    if not edits:
        return None
    out, at = [], 0
    for start, end, replacement in sorted(edits):
        if not replacement:  # a removed word takes one space with it: the one after it, else the one before
            if end < len(text) and text[end] == " " and (start == 0 or text[start - 1] == " "):
                end += 1
            elif start > at and text[start - 1] == " ":
                start -= 1
        out.append(text[at:start])
        out.append(replacement)
        at = end
    out.append(text[at:])
    result = "".join(out).strip()
    if not any(ch.isalpha() for ch in result):
        return None  # "Hardly." affirmed is "."
    return result[:1].upper() + result[1:] if text[:1].isupper() else result


# Non-negating idioms in plain words: (the idiom's words, the plain form); the longer match first.
_IDIOMS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("not", "only"), ""), (("not", "just"), ""), (("not", "merely"), ""), (("nothing", "but"), "only"),
    (("no", "doubt", "about", "it"), "certainly"), (("no", "doubt"), "certainly"), (("no", "question"), "certainly"),
    (("no", "denying"), "certainly"), (("without", "a", "doubt"), "certainly"),
    (("without", "any", "doubt"), "certainly"), (("without", "doubt"), "certainly"),
    (("without", "question"), "certainly"),
)  # fmt: skip


def plain_text(text: str, tokens: Sequence[Token], cues: Sequence[int]) -> str | None:
    """``text`` with its non-negating idioms in plain words (``_IDIOMS``); None if it has none. A match whose first
    word is an active cue (``cues``) is a negation, not the idiom, and stays."""
    lowers = [t.lower.strip('.,;:!?"()') for t in tokens]
    active = set(cues)
    edits: list[tuple[int, int, str]] = []
    k = 0
    while k < len(tokens):
        for words, form in _IDIOMS:
            end = k + len(words)
            inside = tokens[k : end - 1]
            if tuple(lowers[k:end]) == words and k not in active and not any(t.clause_end for t in inside):
                # the negation rules decide what is an idiom: "no question of a refund" is an active cue
                last = tokens[end - 1]
                tail = last.text[len(last.text.rstrip(".,;:!?")) :]  # the punctuation the idiom's last token carries
                edits.append((tokens[k].start, last.end, _cased(form, tokens[k].text) + tail))
                k = end - 1
                break
        k += 1
    return _apply(text, edits)


_AUXILIARIES = frozenset(
    {"is", "are", "was", "were", "am", "do", "does", "did", "would", "will", "could", "can", "should", "has", "have",
     "had", "might", "must", "shall"}
)  # fmt: skip
_NO_ANSWERS = frozenset({"no", "nope", "nah", "not", "never"})
_ANSWER_LEADS = frozenset({"definitely", "certainly", "absolutely", "probably", "honestly", "sadly", "of", "course"})
_YES_ANSWERS = frozenset(
    {"yes", "yeah", "yep", "yup", "sure", "very", "always", "totally", "indeed", "completely", "extremely", "really",
     "gladly", "happily", "undoubtedly"}
)  # fmt: skip
# Idioms that answer yes: checked before the words, since "no doubt" and "no question" start like a no.
_YES_IDIOMS: tuple[tuple[str, ...], ...] = (
    ("in", "a", "heartbeat"), ("any", "day"), ("without", "a", "doubt"), ("without", "hesitation"), ("no", "doubt"),
    ("no", "question"), ("you", "bet"), ("for", "sure"), ("hell", "yes"), ("every", "time"), ("by", "all", "means"),
)  # fmt: skip
# A question about going back, recommending or doing it again asks for the writer's endorsement: its claim ("we go
# back to the spa") states an intention, which reads neutral; the endorsement it means is said in words ("Gladly,
# ..."), so a yes asserts praise and a no denies it. "return" only where it means going back ("return to/there"),
# and only a person asks for an endorsement ("Would you buy it again?"; "Did it break again?" asks for none).
_ENDORSING_VERBS = frozenset({"recommend", "revisit", "rebook"})
_ENDORSING_PAIRS = frozenset(
    {("go", "back"), ("come", "back"), ("return", "to"), ("return", "there"), ("return", "here")}
)
_AGAIN = "again"
_ENDORSEMENT = "Gladly, "
_ENDORSERS = frozenset({"i", "we", "you", "they", "anyone", "anybody", "people", "one"})
_QUESTION_MARK = re.compile(r"\?(?=\s|$)")  # a question's end, not the "?" of a link
_MAX_ANSWER_WORDS = 6


def _starts_with_idiom(words: list[str]) -> bool:
    return any(tuple(words[: len(idiom)]) == idiom for idiom in _YES_IDIOMS)


def _asks_endorsement(words: list[str]) -> bool:
    """``words``: the question's, its auxiliary first and its subject next."""
    pairs = set(pairwise(words))
    asks = _AGAIN in words or bool(_ENDORSING_VERBS.intersection(words)) or bool(_ENDORSING_PAIRS & pairs)
    return asks and words[1] in _ENDORSERS


def answered_question(text: str, tokens: Sequence[Token]) -> tuple[str, bool] | None:
    """A yes/no question with a short answer after it, as ``(the question as a statement, answered no)``; else None.

    "Was the hotel clean? Not really." gives ``("The hotel clean.", True)``: the auxiliary that opens the question
    goes, its words stay in order (a network reads "the hotel clean" as a claim). The answer is "yes" when it opens
    with an idiom of assent ("In a heartbeat.", "No doubt."); it is "no" when its first word, after a lead such as
    "definitely", is no/nope/nah/not/never or the answer holds a negation ("I don't think so", "Hardly"); it is
    "yes" when that word is yes/very/always ... or the answer is only leads ("Definitely."); any other answer
    ("Meh.") gives no claim. A question asking for an endorsement ("Would we go back to the spa?", "Would you buy
    it again?") states it: ``"Gladly, we go back to the spa."``."""
    marks = [m.start() for m in _QUESTION_MARK.finditer(text)]
    mark = marks[-1] if marks else -1
    answer = [t for t in tokens if t.start > mark]
    if mark < 0 or not answer or len(answer) > _MAX_ANSWER_WORDS:
        return None
    asked = [t for t in tokens if t.end <= mark + 1]
    start = next((i for i in range(len(asked) - 1, 0, -1) if asked[i - 1].sent_end), 0)
    question = asked[start:]
    words = [t.lower.strip('.,;:!?"()') for t in answer]
    if len(question) < 3 or question[0].lower not in _AUXILIARIES:
        return None
    first = next((w for w in words if w not in _ANSWER_LEADS), None)
    assent = _starts_with_idiom([w for w in words if w])
    denied = not assent and (first in _NO_ANSWERS or any(is_cue(w) for w in words) or "far" in words)
    if not assent and not denied and first is not None and first not in _YES_ANSWERS:
        return None
    statement = text[question[1].start : mark].strip()
    if _asks_endorsement([t.lower.strip('.,;:!?"()') for t in question]):
        statement = _ENDORSEMENT + (statement if question[1].text == "I" else statement[:1].lower() + statement[1:])
    return statement[:1].upper() + statement[1:] + ".", denied
