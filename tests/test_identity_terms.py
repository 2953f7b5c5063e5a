"""Identity-neutral network input (affectlens.lexicons.identity_terms)."""

from __future__ import annotations

import pytest
from affectlens.lexicons.identity_terms import neutralize


@pytest.mark.parametrize(
    "variants",
    [
        ("A Muslim nurse helped me.", "A Sikh nurse helped me.", "An atheist nurse helped me."),
        ("my gay neighbour", "my straight neighbour", "my bisexual neighbour", "my asexual neighbour"),
        ("a blind teacher", "a deaf teacher", "a dyslexic teacher", "a wheelchair user teacher"),
        ("an Indian chef", "a Nigerian chef", "a Puerto Rican chef", "a South African chef"),
        ("a 25-year-old driver", "an elderly driver", "a young driver", "a middle-aged driver"),
        ("a woman asked", "a man asked"),
        ("Black customers", "white customers", "Hispanic customers", "Native American customers"),
    ],
)
def test_variants_that_differ_only_by_the_attribute_give_the_network_one_text(variants: tuple[str, ...]) -> None:
    assert len({neutralize(v) for v in variants}) == 1


@pytest.mark.parametrize(
    "text",
    [
        "The screen went black after the update.",  # colour, not a person
        "That was a blind spot in the review.",
        "polish the car before you sell it",  # lower-case: the verb
        "Oh man, this is great",  # no determiner: an interjection
        "The meeting is at noon.",
    ],
)
def test_words_that_are_not_attributes_of_a_person_stay(text: str) -> None:
    assert neutralize(text) is text


def test_plurals_used_as_nouns_stay_plural() -> None:
    assert neutralize("Muslims and Jews celebrated together") == "locals and locals celebrated together"


def test_the_network_reads_the_neutral_text_and_can_be_told_not_to(tiny_model_dir) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from affectlens.neural import NeuralConfig, NeuralModel

    neutral = NeuralModel(tiny_model_dir, NeuralConfig(provider="cpu"))
    as_written = NeuralModel(tiny_model_dir, NeuralConfig(provider="cpu", identity_neutral=False))
    texts = ["a gay nurse was kind", "a straight nurse was kind"]
    assert np.array_equal(*neutral.logits(texts))
    assert neutral.encode(texts)[0].ids == as_written.encode(["a local nurse was kind"])[0].ids
    assert as_written.encode(texts)[0].ids == as_written.tokenizer.encode(texts[0]).ids


def test_identity_spans_cover_the_words_neutralize_replaces() -> None:
    from affectlens.lexicons.identity_terms import identity_spans

    text = "A blind nurse and a Polish driver met a woman."
    assert [text[s:e] for s, e in identity_spans(text)] == ["blind", "Polish", "woman"]
    assert identity_spans("The screen went black and I was blind with rage.") == []


def test_the_lexicons_give_protected_attribute_words_no_valence_nor_emotion() -> None:
    from affectlens.lexicons import LexiconConfig, LexiconPipeline

    neutral = LexiconPipeline(LexiconConfig())
    as_written = LexiconPipeline(LexiconConfig(identity_neutral=False))
    text = "I had lunch with a blind nurse and a Polish teacher."
    assert neutral.analyze(text).vader["compound"] == 0.0
    assert as_written.analyze(text).vader["compound"] < -0.05  # VADER: "blind" -1.7
    assert neutral.analyze(text).nrc["positive"] < as_written.analyze(text).nrc["positive"]  # NRC: "polish"
    rage = "The screen went black and I was blind with rage."
    assert neutral.analyze(rage).vader["compound"] == as_written.analyze(rage).vader["compound"] < -0.05


def test_a_multi_word_attribute_counts_as_one_word_in_the_lexicon_features() -> None:
    import numpy as np
    from affectlens.lexicons import LexiconConfig, LexiconPipeline

    texts = [f"The {a} nurse who served us was rude and careless." for a in ("visually impaired", "deaf", "elderly")]
    features = np.stack([a.features for a in LexiconPipeline(LexiconConfig()).analyze_batch(texts)])
    assert (features == features[0]).all()  # proportions, NRC rates and log_length alike


def test_one_switch_sets_both_the_network_and_the_lexicons() -> None:
    from affectlens.api import engine_config
    from affectlens.config import EngineOptions

    for cfg in (engine_config(identity_neutral=False), EngineOptions(identity_neutral=False).engine_config()):
        assert cfg.neural.identity_neutral is False and cfg.lexicon.identity_neutral is False
    assert engine_config().lexicon.identity_neutral is True
