"""City names read as one phrase by the network (lexicons/place_names.py)."""

from __future__ import annotations

import pytest
from affectlens.lexicons.place_names import NOT_PLACES, load_places, neutralize_places


@pytest.mark.parametrize(
    "variants",
    [
        ("The tutor comes from Lisbon.", "The tutor comes from Nairobi.", "The tutor comes from Gdańsk."),
        ("Our week in Osaka was lovely", "Our week in Gdansk was lovely", "Our week in São Paulo was lovely"),
        ("Toronto was cold. Flights to Lima?", "Seoul was cold. Flights to Cairo?"),
    ],
)
def test_texts_that_differ_only_by_the_city_give_the_network_one_text(variants: tuple[str, ...]) -> None:
    assert len({neutralize_places(t) for t in variants}) == 1


def test_the_phrase_fits_the_sentence() -> None:
    assert neutralize_places("Lisbon was sunny.") == "The city was sunny."
    assert neutralize_places("I love Lisbon's trams") == "I love the city's trams"
    assert neutralize_places("summoned by a Delhi court") == "summoned by a city court"
    assert neutralize_places("In Chicago, it rained") == "In the city, it rained"


@pytest.mark.parametrize(
    "text",
    [
        "New York is great",  # part of a longer name
        "Real Madrid won",
        "the Boston Globe says so",
        "@london hi #Paris",  # handles and hashtags
        "paris in lower case",
        "Jackson and Charlotte came",  # first names first
        "a nice mobile phone while reading",  # English words
        "Lisbonite",  # inside a word
    ],
)
def test_names_that_are_not_a_city_here_stay(text: str) -> None:
    assert neutralize_places(text) == text


def test_the_shipped_list_leaves_out_words_and_first_names() -> None:
    places = set(load_places())
    assert {"Lisbon", "Nairobi", "Gdansk", "Gdańsk", "Kyoto"} <= places
    assert not places & NOT_PLACES
    assert not places & {"Nice", "Mobile", "Reading", "Phoenix"}  # English words (VADER, NRC, stop words)


def test_the_network_reads_the_neutral_text_when_told_to(tiny_model_dir) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from affectlens.neural import NeuralConfig, NeuralModel

    neutral = NeuralModel(tiny_model_dir, NeuralConfig(provider="cpu", place_neutral=True))
    as_written = NeuralModel(tiny_model_dir, NeuralConfig(provider="cpu"))
    texts = ["our trip to Quito was fun", "our trip to Kyoto was fun"]
    assert np.array_equal(*neutral.logits(texts))
    assert neutral.encode(texts)[0].ids == as_written.encode(["our trip to the city was fun"])[0].ids
    assert as_written.encode(texts)[0].ids == as_written.tokenizer.encode(texts[0]).ids
