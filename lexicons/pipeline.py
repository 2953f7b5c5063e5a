"""The lexicon pipeline: tokenize -> emoji -> negation -> VADER -> NRC -> features.

``analyze_batch`` is the only code path (``analyze`` is a batch of one) and each text's result
depends on that text alone. Lexicon files are loaded once per process on first use; the spaCy
parser is loaded lazily, once per pipeline, and only runs on sentences with a negation cue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from .base import WORD, Doc, LexiconConfigError, LexiconInputError, word_count
from .emoji import EmojiAnnotator
from .features import build_features
from .identity_terms import identity_spans
from .negation import NegationAnnotator, is_cue
from .nrc import NRC_CATEGORIES, NrcAnnotator, nrc_data_path
from .rephrase import affirmed_text, answered_question, plain_text
from .sarcasm import praise_frame
from .tokenize import tokenize
from .vader import VaderAnnotator, load_valence_lexicon, normalize, read_closed_compounds

if TYPE_CHECKING:
    import numpy as np

    from .base import TokenAnnotator
    from .emoji import EmojiEvidence
    from .negation import NegationEvidence
    from .nrc import NrcEvidence
    from .vader import VaderEvidence

    # Static check (mypy) that every annotator implements the Protocol.
    _ANNOTATORS: tuple[
        TokenAnnotator[EmojiEvidence],
        TokenAnnotator[NegationEvidence],
        TokenAnnotator[VaderEvidence],
        TokenAnnotator[NrcEvidence],
    ] = (EmojiAnnotator(), NegationAnnotator(), VaderAnnotator(), NrcAnnotator())

__all__ = ["LexToken", "LexiconAnalysis", "LexiconConfig", "LexiconPipeline"]


@dataclass(frozen=True)
class LexiconConfig:
    """Which lexicons run. ``use_nrc=False`` for commercial use (NRC's licence is non-commercial)."""

    use_vader: bool = True
    use_nrc: bool = True
    use_emoji: bool = True
    use_parser: bool = True  # spaCy negation scope; False (or model missing) -> window rule
    identity_neutral: bool = True  # protected-attribute words carry no valence nor emotion (identity_terms.py)
    spacy_model: str = "en_core_web_sm"

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "spacy_model":
                if not isinstance(value, str) or not value.strip():
                    raise LexiconConfigError(f"LexiconConfig.spacy_model must be a non-empty string, got {value!r}")
            elif not isinstance(value, bool):
                raise LexiconConfigError(f"LexiconConfig.{f.name} must be True or False, got {value!r}")


@dataclass(frozen=True, init=False)
class LexToken:
    text: str
    start: int  # character offsets into the analyzed text: text[start:end] == self.text
    end: int
    valence: float  # VADER valence after all rules (0.0 for non-sentiment tokens)
    negated: bool  # inside at least one negation scope (double negation: valence sign restored)
    negation_cue: str | None  # text of the innermost cue scoping the token
    emotions: tuple[str, ...]  # NRC categories (8 emotions + positive/negative), () when none or NRC off
    emoji: str | None  # CLDR emoji name, e.g. ":thumbs_up:", if the token is an emoji
    emoji_valence: float | None  # table valence (-4..4, 0.0 if not in the table); None if not an emoji

    def __init__(
        self,
        text: str,
        start: int,
        end: int,
        valence: float,
        negated: bool,
        negation_cue: str | None,
        emotions: tuple[str, ...],
        emoji: str | None,
        emoji_valence: float | None,
    ) -> None:
        # What the generated frozen __init__ does (one object.__setattr__ per field), at half the
        # cost: this runs once per token.
        self.__dict__.update(
            text=text,
            start=start,
            end=end,
            valence=valence,
            negated=negated,
            negation_cue=negation_cue,
            emotions=emotions,
            emoji=emoji,
            emoji_valence=emoji_valence,
        )


@dataclass(frozen=True, eq=False)  # eq would compare the features array elementwise
class LexiconAnalysis:
    tokens: tuple[LexToken, ...]
    vader: dict[str, float]  # neg, neu, pos, compound (unrounded; after our negation and fixes)
    valence_total: float  # sum(token.valence) + signed punctuation emphasis; compound = normalize(it)
    nrc: dict[str, float]  # rate per NRC category: matched word tokens / word tokens
    emoji: dict[str, float]  # count, valence (mean table valence over emoji tokens; 0.0 if none)
    negation: dict[str, float]  # cues, negated_tokens, parsed (1.0 if the parser ran for this text)
    features: np.ndarray  # float32, FEATURE_NAMES order
    focus: str | None = None  # the clause that decides (VaderEvidence.focus_index), the claim a "yes" answers, or
    # the situation a frame of praise frames (sarcasm.py)
    affirmed: str | None = None  # what the text denies: its negation cues affirmative, or the claim a "no" answers
    plain: str | None = None  # the text with its non-negating idioms in plain words (rephrase.py); None: no idiom


_DEFAULT_CONFIG = LexiconConfig()
_ZERO_VADER = {"neg": 0.0, "neu": 0.0, "pos": 0.0, "compound": 0.0}


def identity_tokens(doc: Doc) -> frozenset[int]:
    """Indices of the tokens inside a protected-attribute span of ``doc`` (``identity_terms.identity_spans``)."""
    spans = identity_spans(doc.text)
    if not spans:
        return frozenset()
    return frozenset(i for i, t in enumerate(doc.tokens) if any(s < t.end and t.start < e for s, e in spans))


def _after_contrast(doc: Doc, valences: Sequence[float], neg: Any) -> float:
    """Sum of the valences after the text's turn (a contrastive "but", a concessive clause, "used to ... now": see
    ``contrast.py``; 0.0 without one, or without VADER); a phrase negated by an elliptic negation ("it was awful,
    but it wasn't") counts where its cue stands, as in VADER's rule."""
    index = doc.vader.contrast_index if doc.vader is not None else None
    if index is None:
        return 0.0
    where = [c if c is not None and c in neg.elliptic else i for i, c in enumerate(neg.cue)]
    return float(sum(v for v, at in zip(valences, where, strict=True) if at >= index))


def _focus(doc: Doc) -> str | None:
    """The clause that decides the text's opinion, from its turn to the end (None: the whole text decides, or the
    clause ends in a bare negation, "..., but they were not", which means nothing without what it refers to)."""
    index = doc.vader.focus_index if doc.vader is not None else None
    if index is None or index == 0:
        return None
    words = [t for t in doc.tokens[index:] if t.kind == WORD]
    if len(words) < 2 or is_cue(words[-1].lower.rstrip(".!?,;:")):
        return None  # "I love it but": the turn word alone
    return doc.text[doc.tokens[index].start :]


class LexiconPipeline:
    """VADER + NRC + emoji + negation scope for batches of texts."""

    def __init__(self, config: LexiconConfig = _DEFAULT_CONFIG) -> None:
        if not isinstance(config, LexiconConfig):
            raise LexiconConfigError(f"config must be a LexiconConfig, got {type(config).__name__}")
        self.config = config
        if config.use_nrc:
            nrc_data_path()  # fail now, with the install hint, rather than on the first text
        self._emoji: EmojiAnnotator | None = EmojiAnnotator() if config.use_emoji else None
        self._vader: VaderAnnotator | None = None
        self._nrc: NrcAnnotator | None = None
        self._negation: NegationAnnotator | None = None

    def _annotators(self) -> tuple[NegationAnnotator, VaderAnnotator | None, NrcAnnotator | None]:
        if self._negation is None:
            cfg = self.config
            if cfg.use_vader:
                self._vader = VaderAnnotator(load_valence_lexicon())
            if cfg.use_nrc:
                self._nrc = NrcAnnotator()
            self._negation = NegationAnnotator(
                use_parser=cfg.use_parser,
                spacy_model=cfg.spacy_model,
                sentiment_words=self._vader.lexicon if self._vader is not None else frozenset(),
            )
        return self._negation, self._vader, self._nrc

    def analyze(self, text: str) -> LexiconAnalysis:
        return self.analyze_batch([text])[0]

    def analyze_batch(self, texts: Sequence[str], parsed: Sequence[Any | None] | None = None) -> list[LexiconAnalysis]:
        """One analysis per text. ``parsed``: per text, a spaCy Doc/Span with a dependency parse of it, or None.

        A given parse is where negation scope is read from instead of running our own parser (``negation.py``).
        """
        if isinstance(texts, str):
            raise LexiconInputError("analyze_batch takes a sequence of texts; use analyze(text) for one text")
        texts = list(texts)
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise LexiconInputError(f"text {i} is {type(t).__name__}, not str: decode bytes before scoring")
        if parsed is not None and len(parsed) != len(texts):
            raise LexiconInputError(f"got {len(texts)} texts but {len(parsed)} parses: pass one (or None) per text")
        negation, vader, nrc = self._annotators()
        docs = [Doc(t, tokenize(t)) for t in texts]
        if vader is not None:
            for doc in docs:
                read_closed_compounds(doc.tokens, vader.lexicon)
        if self.config.identity_neutral:
            for doc in docs:
                doc.identity = identity_tokens(doc)
        if self._emoji is not None:
            for doc, e in zip(docs, self._emoji.annotate(docs), strict=True):
                doc.emoji = e
        for doc, ng in zip(docs, negation.annotate(docs, parsed), strict=True):
            doc.negation = ng
        if vader is not None:
            for doc, v in zip(docs, vader.annotate(docs), strict=True):
                doc.vader = v
        if nrc is not None:
            for doc, r in zip(docs, nrc.annotate(docs), strict=True):
                doc.nrc = r
        return [self._result(doc) for doc in docs]

    @staticmethod
    def _result(doc: Doc) -> LexiconAnalysis:
        tokens = doc.tokens
        n = len(tokens)
        neg = doc.negation
        assert neg is not None
        vals = doc.vader.valences if doc.vader is not None else (0.0,) * n
        emos = doc.nrc.emotions if doc.nrc is not None else ((),) * n
        matches = doc.emoji.matches if doc.emoji is not None else (None,) * n
        negated = [d > 0 for d in neg.depth]
        cue_text = [tokens[c].text if c is not None else None for c in neg.cue]
        out = tuple(
            map(
                LexToken,
                [t.text for t in tokens],
                [t.start for t in tokens],
                [t.end for t in tokens],
                vals,
                negated,
                cue_text,
                emos,
                [m.name if m is not None else None for m in matches],
                [m.valence if m is not None else None for m in matches],
            )
        )
        negated_tokens = sum(negated)
        neg_vals = [v for v, flag in zip(vals, negated, strict=True) if flag and v]
        negated_sentiment, negated_valence = len(neg_vals), float(sum(neg_vals))
        polar = sum(1 for v in vals if v)
        vader_scores = dict(doc.vader.scores) if doc.vader is not None else dict(_ZERO_VADER)
        nrc_rates = dict(doc.nrc.rates) if doc.nrc is not None else dict.fromkeys(NRC_CATEGORIES, 0.0)
        e_count = doc.emoji.count if doc.emoji is not None else 0
        e_val = doc.emoji.valence_mean if doc.emoji is not None else 0.0
        n_words = doc.nrc.n_words if doc.nrc is not None else word_count(doc)
        claim, denied = answered_question(doc.text, tokens) or (None, False)
        plain = plain_text(doc.text, tokens, neg.cues)
        focus = claim if claim is not None and not denied else _focus(doc)
        situation = praise_frame(doc.text, tokens, vals) if focus is None else None
        if situation is not None:
            first, last = situation
            focus = doc.text[tokens[first].start : tokens[last - 1].end]
        return LexiconAnalysis(
            tokens=out,
            vader=vader_scores,
            valence_total=doc.vader.total if doc.vader is not None else 0.0,
            nrc=nrc_rates,
            emoji={"count": float(e_count), "valence": e_val},
            negation={
                "cues": float(len(neg.cues)),
                "negated_tokens": float(negated_tokens),
                "parsed": float(neg.parsed),
            },
            features=build_features(
                vader_scores,
                nrc_rates,
                e_count,
                e_val,
                len(neg.cues),
                negated_sentiment,
                negated_valence,
                n_words,
                elliptic_negations=len(neg.elliptic),
                negated_polar_share=negated_sentiment / polar if polar else 0.0,
                post_contrast_valence=_after_contrast(doc, vals, neg),
                word_compound=normalize(sum(v for v, m in zip(vals, matches, strict=True) if m is None)),
                irony_emoji=doc.emoji.irony_count if doc.emoji is not None else 0,
                plain_idiom=plain is not None,
                answered_question=claim is not None,
                praise_frame=situation is not None,
            ),
            focus=focus,
            affirmed=claim if denied else affirmed_text(doc.text, tokens, neg.cues) if neg.cues else None,
            plain=plain,
        )
