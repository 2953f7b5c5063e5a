"""Shared internals: the token and document containers, the annotator Protocol, coded errors.

Every lexicon feature is one small module with one annotator class that implements
:class:`TokenAnnotator`: ``annotate(docs)`` takes a batch of :class:`Doc` and returns one typed
evidence object per doc (per-token evidence plus doc-level numbers), in the spirit of asent's
getters. The pipeline stores each result on the doc (``doc.emoji``, ``doc.negation`` ...) so that
later annotators can read earlier ones (VADER reads emoji and negation evidence).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from .emoji import EmojiEvidence
    from .negation import NegationEvidence
    from .nrc import NrcEvidence
    from .vader import VaderEvidence

__all__ = [
    "EMOJI",
    "PUNCT",
    "WORD",
    "Doc",
    "LexiconConfigError",
    "LexiconDataError",
    "LexiconError",
    "LexiconInputError",
    "Token",
    "TokenAnnotator",
    "one_per_identity_span",
    "word_count",
]

# Token kinds.
WORD = 0  # contains at least one letter or digit
PUNCT = 1  # no letter or digit: punctuation runs, emoticons such as ":)"
EMOJI = 2  # one emoji (ZWJ sequence, skin tone and variation selectors included)


class LexiconError(Exception):
    """Base class. ``code`` is a stable machine-readable name; the message says what to do."""

    code = "lexicon"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class LexiconConfigError(LexiconError, ValueError):
    """A :class:`LexiconConfig` field has a wrong type or value."""

    code = "config"


class LexiconInputError(LexiconError, TypeError):
    """A text is not a ``str``."""

    code = "invalid_input"


class LexiconDataError(LexiconError):
    """A lexicon data file (or the package that ships it) is missing."""

    code = "missing_dependency"


@dataclass(slots=True)
class Token:
    """One VADER-compatible token. ``text == doc.text[start:end]``.

    ``clause_end``: the token is followed by (or ends with) clause punctuation ``, ; : . ! ?``;
    ``sent_end``: by ``. ! ?``. Both bound negation scopes; ``sent_end`` bounds parsed sentences.
    """

    text: str
    start: int
    end: int
    lower: str
    kind: int
    clause_end: bool
    sent_end: bool


@dataclass(slots=True)
class Doc:
    """A text, its tokens, and the evidence each annotator attached to it."""

    text: str
    tokens: list[Token]
    emoji: EmojiEvidence | None = None
    negation: NegationEvidence | None = None
    vader: VaderEvidence | None = None
    nrc: NrcEvidence | None = None
    identity: frozenset[int] = frozenset()  # tokens that name a protected attribute: no valence, no emotion


E = TypeVar("E")


class TokenAnnotator(Protocol[E]):
    """One lexicon feature: a batch of docs in, one evidence object per doc out (same order)."""

    @property
    def name(self) -> str: ...

    def annotate(self, docs: Sequence[Doc]) -> list[E]: ...


def one_per_identity_span(values: Sequence[float], identity: frozenset[int]) -> list[float]:
    """``values`` (one per token) with each protected-attribute span down to its first token: "visually impaired"
    counts as one word as "deaf" does, so proportions and word counts do not move when one attribute replaces
    another."""
    return [v for i, v in enumerate(values) if not (i in identity and i - 1 in identity)]


def word_count(doc: Doc) -> int:
    """The number of word tokens, a protected-attribute span counting as one (``one_per_identity_span``)."""
    return int(sum(one_per_identity_span([float(t.kind == WORD) for t in doc.tokens], doc.identity)))
