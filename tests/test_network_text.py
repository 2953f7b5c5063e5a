"""Handles and links as the training data wrote them (affectlens.network_text)."""

from __future__ import annotations

import pytest

from affectlens.network_text import as_trained


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@maria_eats great food", "@user great food"),
        ("Great 😀 @a @b", "Great 😀 @user @user"),
        ("Loved it https://t.co/abc", "Loved it"),
        ("see www.example.org/blog now", "see now"),
        ("shop.example.co/item?id=301 meh", "meh"),
    ],
)
def test_mentions_become_at_user_and_links_are_dropped(text: str, expected: str) -> None:
    assert as_trained(text) == expected


@pytest.mark.parametrize("text", ["email me at a@b.com", "3/4 of it", "and/or", "@user ok", "no links here"])
def test_other_text_stays_as_written(text: str) -> None:
    assert as_trained(text) is text


def test_a_text_that_is_only_a_link_is_kept_rather_than_emptied() -> None:
    assert as_trained("https://t.co/abc") == "https://t.co/abc"


def test_the_network_reads_the_training_convention(tiny_model_dir) -> None:  # type: ignore[no-untyped-def]
    from affectlens.neural import NeuralConfig, NeuralModel

    model = NeuralModel(tiny_model_dir, NeuralConfig(provider="cpu"))
    assert model.encode(["so good @someone"])[0].ids == model.encode(["so good @user"])[0].ids
