"""spaCy component: ``nlp.add_pipe("affectlens")`` -> ``doc._.affect`` (a thin adapter over ``Engine.score_batch``).

Example::

    nlp = spacy.load("en_core_web_sm")           # or spacy.blank("en") (+ "sentencizer")
    nlp.add_pipe("affectlens", config={"mode": "hybrid", "explain": True})
    doc = nlp("I do not like it. The ending is great.")
    doc._.affect.label, [s._.affect.label for s in doc.sents], [t._.affect for t in doc]

The factory is found through the ``spacy_factories`` entry point: ``add_pipe`` works without importing
affectlens, and a saved pipeline loads again. What the component sets:

- ``doc._.affect``: the ``Prediction`` for the doc text, or the ``ScoreError`` of a doc that cannot be scored
  (``code`` "empty_text" for an empty or blank doc): a bad doc never stops the pipeline, it carries its error.
  None until the component has run.
- ``span._.affect``: for each sentence, when the doc has sentence boundaries (a sentencizer, senter or parser
  ran earlier) and ``sentences`` is "auto" (or true); None for spans that are not such sentences.
- ``token._.affect``: with ``explain``, the ``TokenEvidence`` (from the doc's prediction) whose characters
  overlap the token most (``do`` and ``n't`` both get ``don't``), or None.

Docs and their sentences go through one engine call per batch (``pipe``; ``__call__`` is a batch of one), so
results equal ``Engine.score_batch`` on the same texts. When a dependency parser ran earlier in the pipeline
(``doc.has_annotation("DEP")``), negation scope is read from that parse (``parsed_docs``) and the lexicon's own
parser is never loaded; ``parser=False`` keeps the window rule instead. With ``explain`` the occlusion variants
are new texts, which the lexicon parses itself.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from affectlens.errors import ConfigError, MissingDependencyError
from affectlens.schema import Prediction, Result, TokenEvidence

try:
    from spacy.language import Language
    from spacy.tokens import Doc, Span, Token
except ImportError as exc:  # spaCy is a core dependency; a broken environment gets the reinstall hint
    raise MissingDependencyError("spaCy is not installed: run `pip install affectlens` (or `make install`)") from exc

if TYPE_CHECKING:
    from affectlens.api import Analyzer

__all__ = [
    "FACTORY",
    "AffectComponent",
    "SpacyComponentConfig",
    "align_tokens",
    "make_affectlens",
    "register_extensions",
]

FACTORY = "affectlens"
DEFAULT_BATCH_SIZE = 32


@dataclass(frozen=True)
class SpacyComponentConfig:
    """The component's settings (the ``config`` of ``add_pipe``).

    ``mode``/``model``/``nrc``/``parser``: as in ``affectlens.load``. ``explain``: token evidence (occlusion
    attribution: slower). ``batch_size``: at most this many docs per engine call. ``sentences``: "auto" (or
    true) scores each sentence of a doc that has sentence boundaries; false never does.
    """

    mode: str = "hybrid"
    model: str | None = None
    explain: bool = False
    batch_size: int = DEFAULT_BATCH_SIZE
    sentences: bool | str = "auto"
    nrc: bool = True
    parser: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError(f"batch_size must be an integer >= 1, not {self.batch_size!r}")
        if not (self.sentences == "auto" or isinstance(self.sentences, bool)):
            raise ConfigError(f"sentences must be 'auto', true or false, not {self.sentences!r}")
        for name in ("explain", "nrc", "parser"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, not {getattr(self, name)!r}")


@Language.factory(
    FACTORY,
    default_config={
        "mode": "hybrid",
        "model": None,
        "explain": False,
        "batch_size": DEFAULT_BATCH_SIZE,
        "sentences": "auto",
        "nrc": True,
        "parser": True,
    },
    assigns=["doc._.affect", "span._.affect", "token._.affect"],
)
def make_affectlens(
    nlp: Language,
    name: str,
    mode: str,
    model: str | None,
    explain: bool,
    batch_size: int,
    sentences: bool | str,
    nrc: bool,
    parser: bool,
) -> AffectComponent:
    """The ``affectlens`` factory (entry point ``spacy_factories``); loads the model once per configuration."""
    config = SpacyComponentConfig(mode, model, explain, batch_size, sentences, nrc, parser)
    return AffectComponent(config, name=name)


def _sentence_affect(span: Span) -> Result | None:
    found: dict[tuple[int, int], Result] | None = span.doc._.affect_sentences
    return None if found is None else found.get((span.start, span.end))


def _token_affect(token: Token) -> TokenEvidence | None:
    evidence: tuple[TokenEvidence | None, ...] | None = token.doc._.affect_tokens
    return None if evidence is None or len(evidence) != len(token.doc) else evidence[token.i]


def register_extensions() -> None:
    """Add ``Doc/Span/Token._.affect`` (and the doc's per-sentence and per-token stores) once per process."""
    extensions: list[tuple[Any, str, dict[str, Callable[..., Any] | None]]] = [
        (Doc, "affect", {"default": None}),
        (Doc, "affect_sentences", {"default": None}),  # (start, end) token indices -> Result
        (Doc, "affect_tokens", {"default": None}),  # per spaCy token: TokenEvidence | None
        (Span, "affect", {"getter": _sentence_affect}),
        (Token, "affect", {"getter": _token_affect}),
    ]
    for cls, attr, kwargs in extensions:
        if not cls.has_extension(attr):
            cls.set_extension(attr, **kwargs)


def align_tokens(doc: Doc, evidence: Sequence[TokenEvidence]) -> tuple[TokenEvidence | None, ...]:
    """Per spaCy token, the evidence whose characters overlap it most (ties: the first), or None.

    Evidence whose offsets do not match ``doc.text`` (normalization changed the text there) is left out.
    """
    text = doc.text
    items = [e for e in evidence if text[e.start : e.end] == e.text]
    out: list[TokenEvidence | None] = []
    k = 0
    for token in doc:
        start, end = token.idx, token.idx + len(token.text)
        while k < len(items) and items[k].end <= start:
            k += 1
        best, overlap = None, 0
        j = k
        while j < len(items) and items[j].start < end:
            size = min(end, items[j].end) - max(start, items[j].start)
            if size > overlap:
                best, overlap = items[j], size
            j += 1
        out.append(best)
    return tuple(out)


class AffectComponent:
    """Sets ``doc._.affect`` (and sentence/token evidence) with one engine call per batch of docs."""

    def __init__(self, config: SpacyComponentConfig | None = None, *, name: str = FACTORY) -> None:
        from affectlens.api import load

        self.config = cfg = config or SpacyComponentConfig()
        self.name = name
        # Loaded now, so that a bad mode or model fails at add_pipe; load() shares it between pipelines.
        self.analyzer: Analyzer = load(cfg.mode, cfg.model, nrc=cfg.nrc, parser=cfg.parser)
        register_extensions()

    def __call__(self, doc: Doc) -> Doc:
        self._score([doc])
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int | None = None) -> Iterator[Doc]:
        """Docs in order, scored ``batch_size`` at a time (capped by the config's ``batch_size``)."""
        size = min(batch_size, self.config.batch_size) if batch_size else self.config.batch_size
        iterator = iter(docs)
        while batch := list(itertools.islice(iterator, size)):
            self._score(batch)
            yield from batch

    def _score(self, docs: Sequence[Doc]) -> None:
        """One engine call for the docs and their sentences (with ``explain``: a second one for the sentences)."""
        cfg = self.config
        split = [bool(cfg.sentences) and doc.has_annotation("SENT_START") for doc in docs]
        parsed = [doc.has_annotation("DEP") for doc in docs]
        sentences: list[tuple[int, Span]] = [
            (d, sent)
            for d, doc in enumerate(docs)
            if split[d]
            for sent in doc.sents
            if sent.text != doc.text  # a one-sentence doc: its sentence takes the doc's result
        ]
        doc_items: list[tuple[str, Doc | Span | None]] = [
            (doc.text, doc if parsed[d] else None) for d, doc in enumerate(docs)
        ]
        sent_items: list[tuple[str, Doc | Span | None]] = [
            (sent.text, sent if parsed[d] else None) for d, sent in sentences
        ]
        if cfg.explain:  # token evidence comes from the docs; the sentences need no occlusion passes
            results = self._engine_call(doc_items, True) + self._engine_call(sent_items, False)
        else:
            results = self._engine_call(doc_items + sent_items, False)
        by_doc: list[dict[tuple[int, int], Result]] = [{} for _ in docs]
        for (d, sent), result in zip(sentences, results[len(docs) :], strict=True):
            by_doc[d][(sent.start, sent.end)] = result
        for d, doc in enumerate(docs):
            result = results[d]
            doc._.affect = result
            if split[d]:
                for sent in doc.sents:
                    by_doc[d].setdefault((sent.start, sent.end), result)
            doc._.affect_sentences = by_doc[d] if split[d] else None  # a re-run replaces an earlier run's
            evidence = result.tokens if isinstance(result, Prediction) else None
            doc._.affect_tokens = None if evidence is None else align_tokens(doc, evidence)

    def _engine_call(self, items: Sequence[tuple[str, Doc | Span | None]], explain: bool) -> list[Result]:
        if not items:
            return []
        parses = [p for _, p in items]
        return self.analyzer.engine.score_batch(
            [t for t, _ in items],
            explain=explain,
            parsed_docs=parses if any(p is not None for p in parses) else None,
        )
