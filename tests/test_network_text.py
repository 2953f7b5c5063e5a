"""Handles and links as the training data wrote them (affectlens.network_text)."""

from __future__ import annotations

import pytest

from affectlens.network_text import as_trained, without_leading_handles


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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@user You will find it", "You will find it"),
        ("  @a_b, @c: fine by me", "fine by me"),
        ("@foodie_ben @user thanks a lot", "thanks a lot"),
        ("Thanks @user", None),  # a handle inside the text stays
        ("@user", None),  # nothing else is left
        ("@user @other", None),
        ("no handle", None),
    ],
)
def test_without_leading_handles(text: str, expected: str | None) -> None:
    assert without_leading_handles(text) == expected


def test_a_leading_handle_gets_the_mean_of_both_readings(tiny_model_dir) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from affectlens.neural import NeuralConfig, NeuralModel

    both = NeuralModel(tiny_model_dir, NeuralConfig(provider="cpu", average_leading_handles=True))
    one = NeuralModel(tiny_model_dir, NeuralConfig(provider="cpu"))
    texts = ["@maria_eats the soup was cold", "the soup was cold", "so good @someone"]
    plain = one.logits(texts)
    assert not np.allclose(plain[0], plain[1])  # the handle moves this network: the test can see the mean
    averaged = both.logits(texts)
    np.testing.assert_allclose(averaged[0], (plain[0] + plain[1]) / 2, atol=1e-5)
    np.testing.assert_allclose(averaged[1:], plain[1:], atol=1e-6)  # no leading handle: one reading
    assert both.logits([]).shape == (0, plain.shape[1])
