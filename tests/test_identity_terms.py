"""Identity-neutral network input (affectlens.identity_terms)."""

from __future__ import annotations

import pytest

from affectlens.identity_terms import neutralize


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
