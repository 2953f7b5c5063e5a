"""LexiconPipeline: config, tokenizer offsets, batch invariance, locality, emoji, NRC, features, hygiene."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from affectlens.lexicons import (
    FEATURE_NAMES,
    FEATURE_VERSION,
    LexiconAnalysis,
    LexiconConfig,
    LexiconConfigError,
    LexiconDataError,
    LexiconInputError,
    LexiconPipeline,
)
from affectlens.lexicons import nrc as nrc_module
from affectlens.lexicons.emoji import load_emoji_valence, normalize_emoji
from affectlens.lexicons.nrc import NRC_CATEGORIES, candidate_lemmas
from affectlens.lexicons.tokenize import tokenize
from affectlens.lexicons.vader import normalize as vader_normalize
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

LEXICONS = Path(__file__).resolve().parents[1] / "lexicons"


@pytest.fixture(scope="module")
def pipe() -> LexiconPipeline:
    return LexiconPipeline()


TEXTS = [
    "I don't think it's good 👎🏽",
    "Nobody hates this movie!!",
    "The food was nice but the service was okay",
    "GREAT job everyone, really proud of you 🎉🎉",
    "I hated the ending and the babies were crying",
    "None of the songs were good. At least the venue was fine?",
    "ok",
    "🤦🏻‍♂️🙄️",
    "Café crème… très bon 😍",
]


def same(a: LexiconAnalysis, b: LexiconAnalysis) -> bool:
    return (
        a.tokens == b.tokens
        and a.vader == b.vader
        and a.valence_total == b.valence_total
        and a.nrc == b.nrc
        and a.emoji == b.emoji
        and a.negation == b.negation
        and np.array_equal(a.features, b.features)
    )


# --- config and inputs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs", [{"use_vader": 1}, {"use_parser": "yes"}, {"spacy_model": ""}, {"spacy_model": None}]
)
def test_config_is_validated(kwargs: dict[str, object]) -> None:
    with pytest.raises(LexiconConfigError) as err:
        LexiconConfig(**kwargs)  # type: ignore[arg-type]
    assert err.value.code == "config"


def test_pipeline_rejects_bad_inputs(pipe: LexiconPipeline) -> None:
    with pytest.raises(LexiconConfigError):
        LexiconPipeline({"use_nrc": False})  # type: ignore[arg-type]
    with pytest.raises(LexiconInputError, match="decode bytes"):
        pipe.analyze_batch([b"bytes"])  # type: ignore[list-item]
    with pytest.raises(LexiconInputError):
        pipe.analyze_batch("not a list")
    assert pipe.analyze_batch([]) == []


def test_empty_and_blank_text(pipe: LexiconPipeline) -> None:
    for text in ["", "   \n\t"]:
        a = pipe.analyze(text)
        assert a.tokens == ()
        assert a.vader == {"neg": 0.0, "neu": 0.0, "pos": 0.0, "compound": 0.0}
        assert a.features.shape == (len(FEATURE_NAMES),)


# --- tokenizer ---------------------------------------------------------------------------------


def test_tokenizer_offsets_and_emoji_split() -> None:
    text = '"Great👍🏽!!" she said… ok, :) 🤦🏻‍♂️ the end.'
    toks = tokenize(text)
    assert [t.text for t in toks] == ["Great", "👍🏽", '!!"', "she", "said…", "ok,", ":)", "🤦🏻‍♂️", "the", "end"]
    for t in toks:
        assert text[t.start : t.end] == t.text
    assert toks[-1].sent_end and toks[5].clause_end and not toks[3].clause_end


def test_tokenizer_absorbs_stray_variation_selector() -> None:
    toks = tokenize("so annoying 🙄\ufe0f")
    assert toks[-1].text == "🙄\ufe0f"


# --- invariants --------------------------------------------------------------------------------


def test_batch_equals_single(pipe: LexiconPipeline) -> None:
    batch = pipe.analyze_batch(TEXTS)
    for text, b in zip(TEXTS, batch, strict=True):
        assert same(pipe.analyze(text), b), text
    shuffled = pipe.analyze_batch(TEXTS[::-1] + TEXTS[:2])
    for b, s in zip(batch[::-1], shuffled, strict=False):
        assert same(b, s)


SENTENCES = [
    "I don't think it's good.",
    "The staff was VERY friendly!",
    "Nobody hates this movie.",
    "None of the songs were good.",
    "Not bad, really good 👍",
]
CONTEXTS = [("", ""), ("We went there on Monday. ", ""), ("", " Then we went home."), ("Well. ", " The end.")]


@pytest.mark.parametrize("sentence", SENTENCES)
@pytest.mark.parametrize(("before", "after"), CONTEXTS)
def test_sentence_alone_equals_sentence_in_context(
    pipe: LexiconPipeline, sentence: str, before: str, after: str
) -> None:
    """Token valences and negation are local to a sentence. What does not hold (VADER's
    document-level rules): the first "but" of the text weights every token, ALL-CAPS emphasis
    depends on whether the whole text is capitalized, and "!"/"?" emphasis is added to the total."""
    alone = pipe.analyze(sentence)
    inside = pipe.analyze(before + sentence + after)
    shift = len(before)
    part = [t for t in inside.tokens if shift <= t.start < shift + len(sentence)]
    assert [(t.text, t.start - shift, t.valence, t.negated, t.negation_cue, t.emotions) for t in part] == [
        (t.text, t.start, t.valence, t.negated, t.negation_cue, t.emotions) for t in alone.tokens
    ]


def test_document_level_but_rule_is_not_local(pipe: LexiconPipeline) -> None:
    alone = pipe.analyze("The staff was friendly.")
    inside = pipe.analyze("It was cold but fine. The staff was friendly.")
    assert inside.tokens[-1].valence == pytest.approx(alone.tokens[-1].valence * 1.5)


_ODD = st.lists(
    st.characters(blacklist_categories=("Cs",))
    | st.sampled_from(["👍🏽", "🙄\ufe0f", "\u200d", "\ufe0f", "n't", " not "]),
    max_size=30,
).map("".join)
_WORDS = st.lists(
    st.sampled_from(
        ["not", "never", "no", "good", "bad", "but", "VERY", "hate", "nobody", "!", "??", "👎", "😂", ",", "."]
    ),
    max_size=20,
).map(" ".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(_ODD, _WORDS, st.text()))
def test_never_raises_and_stays_consistent(pipe: LexiconPipeline, text: str) -> None:
    a = pipe.analyze(text)
    assert -1.0 <= a.vader["compound"] <= 1.0
    for t in a.tokens:
        assert text[t.start : t.end] == t.text
    starts = [t.start for t in a.tokens]
    assert starts == sorted(starts)
    assert a.features.dtype == np.float32 and np.isfinite(a.features).all()
    assert a.vader["compound"] == pytest.approx(a.features[FEATURE_NAMES.index("vader_compound")], abs=1e-6)


# --- emoji -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("emoji", "sign"),
    [
        ("👍", 1), ("👍🏻", 1), ("👍🏿", 1), ("👍\ufe0f", 1),
        ("👎", -1), ("👎🏽", -1),
        ("😡", -1), ("😡\ufe0f", -1),
        ("🙄", -1), ("🙄\ufe0f", -1),
        ("❤", 1), ("❤️", 1), ("😂", 1), ("😭", -1), ("💔", -1), ("🤬", -1), ("🎉", 1),
        ("🤦🏻‍♂️", -1),  # ZWJ sequence -> its base 🤦
    ],
)  # fmt: skip
def test_emoji_valence_sign(pipe: LexiconPipeline, emoji: str, sign: int) -> None:
    a = pipe.analyze(f"today {emoji}")
    tok = a.tokens[-1]
    assert tok.text == emoji
    assert tok.emoji is not None and tok.emoji.startswith(":")
    assert tok.emoji_valence is not None and (tok.emoji_valence > 0) - (tok.emoji_valence < 0) == sign
    assert (a.vader["compound"] > 0) - (a.vader["compound"] < 0) == sign
    assert a.emoji["count"] == 1.0 and a.emoji["valence"] == tok.emoji_valence


def test_emoji_names_and_stats(pipe: LexiconPipeline) -> None:
    a = pipe.analyze("yes 👍🏽 👍 💀")
    assert [t.emoji for t in a.tokens] == [None, ":thumbs_up_medium_skin_tone:", ":thumbs_up:", ":skull:"]
    assert a.emoji["count"] == 3.0
    assert a.emoji["valence"] == pytest.approx(sum(t.emoji_valence or 0.0 for t in a.tokens) / 3)
    assert a.tokens[0].emoji_valence is None


def test_emoji_off(pipe: LexiconPipeline) -> None:
    a = LexiconPipeline(LexiconConfig(use_emoji=False, use_nrc=False)).analyze("great 👍")
    assert a.tokens[1].emoji is None and a.tokens[1].valence == 0.0 and a.emoji["count"] == 0.0


def test_emoji_table() -> None:
    import emoji

    table = load_emoji_valence()
    assert len(table) >= 80
    known = {normalize_emoji(e) for e in emoji.EMOJI_DATA}
    assert set(table) <= known
    assert all(-4.0 <= v <= 4.0 for v in table.values())
    readme = (LEXICONS / "data" / "README.md").read_text(encoding="utf-8")
    assert "emoji_valence.tsv" in readme and "Apache-2.0" in readme


# --- NRC ---------------------------------------------------------------------------------------


def test_nrc_tokens_lemmas_and_rates(pipe: LexiconPipeline) -> None:
    a = pipe.analyze("I hated the babies crying, but loved the party")
    emo = {t.text: t.emotions for t in a.tokens}
    assert emo["hated"] == ("anger", "disgust", "fear", "sadness", "negative")  # lemma "hate"
    assert emo["babies"] == ("joy", "positive")  # lemma "baby"
    assert emo["loved"] == ("joy", "positive")  # lemma "love"
    assert emo["the"] == ()
    assert set(a.nrc) == set(NRC_CATEGORIES)
    n_words = 9
    assert a.nrc["joy"] == pytest.approx(sum("joy" in t.emotions for t in a.tokens) / n_words)
    assert a.nrc["anger"] == pytest.approx(1 / n_words)


def test_candidate_lemmas() -> None:
    assert "baby" in candidate_lemmas("babies")
    assert candidate_lemmas("hated")[0] == "hate"
    assert candidate_lemmas("stopped")[0] == "stop"
    assert "love" in candidate_lemmas("loving")
    assert "happy" in candidate_lemmas("happier")
    assert candidate_lemmas("sad") == []


def test_nrc_off() -> None:
    a = LexiconPipeline(LexiconConfig(use_nrc=False)).analyze("I hate this terrible, awful day")
    assert all(t.emotions == () for t in a.tokens)
    assert set(a.nrc.values()) == {0.0}
    assert a.vader["compound"] < 0  # the rest still works


def test_nrc_missing_data_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nrc_module.util, "find_spec", lambda name: None)
    with pytest.raises(LexiconDataError, match="use_nrc=False") as err:
        LexiconPipeline(LexiconConfig(use_nrc=True))
    assert "pip install nrclex" in err.value.message
    LexiconPipeline(LexiconConfig(use_nrc=False))  # works without it


# --- features ----------------------------------------------------------------------------------


def test_feature_vector(pipe: LexiconPipeline) -> None:
    assert isinstance(FEATURE_VERSION, str) and FEATURE_VERSION
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES) == 28
    assert FEATURE_NAMES[:4] == ("vader_neg", "vader_neu", "vader_pos", "vader_compound")
    assert all(f"nrc_{c}" in FEATURE_NAMES for c in NRC_CATEGORIES)
    a = pipe.analyze("I don't think it's good 👎🏽 😡")
    f = dict(zip(FEATURE_NAMES, a.features.tolist(), strict=True))
    assert a.features.dtype == np.float32
    assert f["vader_compound"] == pytest.approx(a.vader["compound"], abs=1e-6)
    assert f["nrc_joy"] == pytest.approx(a.nrc["joy"], abs=1e-6)
    assert f["emoji_count"] == 2.0
    assert f["emoji_valence"] == pytest.approx(a.emoji["valence"], abs=1e-6)
    assert f["negation_cues"] == 1.0
    assert f["negated_sentiment_tokens"] == 1.0  # "good"
    assert f["negated_valence"] == pytest.approx(a.tokens[4].valence, abs=1e-6) and f["negated_valence"] < 0
    assert f["log_length"] == pytest.approx(np.log1p(5), abs=1e-6)
    assert f["negated_polar_share"] == pytest.approx(1 / 3)  # "good" negated; the two emoji are polar, not negated
    assert (f["elliptic_negations"], f["post_contrast_valence"]) == (0.0, 0.0)
    assert f["word_compound"] == pytest.approx(vader_normalize(a.tokens[4].valence), abs=1e-6)  # the emoji left out
    assert (f["irony_emoji"], f["plain_idiom"]) == (1.0, 0.0)  # the thumbs-down marks the words; the 😡 does not
    m = dict(zip(FEATURE_NAMES, pipe.analyze("No doubt a great fix 🙄 🤦🏽‍♀️").features.tolist(), strict=True))
    assert (m["irony_emoji"], m["plain_idiom"]) == (2.0, 1.0)  # a ZWJ sequence counts by its first component
    assert (f["answered_question"], m["answered_question"]) == (0.0, 0.0)
    q = dict(zip(FEATURE_NAMES, pipe.analyze("Was the room quiet? Not really.").features.tolist(), strict=True))
    assert q["answered_question"] == 1.0
    g = dict(
        zip(FEATURE_NAMES, pipe.analyze("I expected it to be awful, but it wasn't").features.tolist(), strict=True)
    )
    assert g["elliptic_negations"] == 1.0 and g["post_contrast_valence"] > 0  # "awful", negated where "wasn't" is
    h = dict(
        zip(FEATURE_NAMES, pipe.analyze("Nice screen, but the battery is terrible").features.tolist(), strict=True)
    )
    assert h["post_contrast_valence"] < 0 and h["negated_polar_share"] == 0.0
    doc = (LEXICONS / "features.py").read_text(encoding="utf-8")
    for name in FEATURE_NAMES:
        assert name in doc or name.startswith("nrc_"), name


# --- hygiene -----------------------------------------------------------------------------------


def test_lexicons_never_import_core_or_torch() -> None:
    for path in LEXICONS.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in {"affectlens", "torch", "transformers", "nltk", "textblob"}, path


def test_import_is_cheap() -> None:
    code = (
        "import sys, affectlens.lexicons as L; "
        "print(sorted(m for m in ('spacy', 'emoji', 'numpy', 'torch', 'nrclex') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
